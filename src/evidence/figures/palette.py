"""One colour-blind-safe palette (Okabe and Ito, 2008) for every figure, named by what it marks.

Colours never carry meaning alone: designs also get a marker symbol and confidence a fill, so
the figures survive a greyscale projector and the common colour-vision deficiencies.
"""

from __future__ import annotations

from evidence import vocab

#: The eight Okabe-Ito colours.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
GREY = "#6E6E6E"  # darker than Okabe-Ito's grey: readable on a washed-out projector
LIGHT_GREY = "#BDBDBD"

#: One colour per arm group; the combination gets the most salient one.
GROUP_COLOURS = {
    "MSC+HSC": OKABE_ITO["vermillion"],
    "MSC": OKABE_ITO["blue"],
    "HSC": OKABE_ITO["bluish green"],
    "BM-MNC": OKABE_ITO["reddish purple"],
    "BM": OKABE_ITO["orange"],
    "G-CSF": OKABE_ITO["sky blue"],
    "control": GREY,
}
OVERALL_COLOUR = OKABE_ITO["black"]

#: Study designs: a colour and a marker symbol each.
DESIGN_COLOURS = {
    "RCT": OKABE_ITO["blue"],
    "non-randomised controlled": OKABE_ITO["sky blue"],
    "single-arm": OKABE_ITO["orange"],
    "case series": OKABE_ITO["vermillion"],
    "animal": GREY,
}
DESIGN_SYMBOLS = {
    "RCT": "circle",
    "non-randomised controlled": "square",
    "single-arm": "diamond",
    "case series": "triangle-up",
    "animal": "x",
}

#: How sure we are of a number: filled (verified), open (secondary), dotted (third-party copy),
#: crossed (seed-only).
CONFIDENCE_SYMBOLS = {
    "verified": "square",
    "secondary": "square-open",
    "third-party": "square-open-dot",
    "seed-only": "square-x-open",
}

#: Conclusion flags in the robustness views.
CHANGED_COLOUR = OKABE_ITO["vermillion"]
UNCHANGED_COLOUR = OKABE_ITO["blue"]
FILLED_COLOUR = OKABE_ITO["orange"]


def group_colour(group: str) -> str:
    return GROUP_COLOURS.get(group, OVERALL_COLOUR)


def design_colour(design: str) -> str:
    return DESIGN_COLOURS.get(design, GREY)


def design_symbol(design: str) -> str:
    return DESIGN_SYMBOLS.get(design, "circle")


#: Risk-of-bias judgements (robvis' scheme, colour-blind safe): Okabe-Ito blue, yellow and
#: vermillion, a dark red for critical (distinct by lightness, not hue alone), grey for no
#: information, white for not applicable; each with robvis' symbol, so no cell is colour alone.
ROB_COLOURS = {
    "low": OKABE_ITO["blue"],
    "some concerns": OKABE_ITO["yellow"],
    "moderate": OKABE_ITO["yellow"],
    "high": OKABE_ITO["vermillion"],
    "serious": OKABE_ITO["vermillion"],
    "critical": "#6B1A00",
    "no information": LIGHT_GREY,
    "not applicable": "#FFFFFF",
}
ROB_TEXT_COLOURS = {
    "low": "#FFFFFF",
    "high": "#000000",
    "serious": "#000000",
    "critical": "#FFFFFF",
}
ROB_SYMBOLS = vocab.ROB_SYMBOLS
