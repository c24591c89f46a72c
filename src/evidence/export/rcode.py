"""The R script of one ``evidence export-r`` analysis: the blocks of
:mod:`evidence.export.r_templates` chosen for the view and filled in with its words and values.

:func:`script` takes plain values (the question, estimator, test, counts and the statistics the
data file uses), so it knows nothing of how :mod:`evidence.export.rscript` gathered them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Set

from evidence import __version__
from evidence.compare import (
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    MEASURE_LABELS,
    OUTCOME_LABELS,
    POPULATION_FILTERS,
    WINDOWS,
    Question,
    unit_of,
)
from evidence.export import r_templates as R

TEST_WORDS = {
    "z": "Wald-type z test and 95% confidence interval",
    "knha": "Knapp-Hartung t test and 95% confidence interval (df = k - 1)",
    "adhoc": 'Knapp-Hartung t test with its scale factor at least 1 (metafor\'s "adhoc"), 95% CI',
}
METHOD_WORDS = {
    "FE": "common-effect (FE) model",
    "DL": "random effects, DerSimonian-Laird estimator of tau^2",
    "REML": "random effects, REML estimator of tau^2",
    "ML": "random effects, maximum-likelihood estimator of tau^2",
    "PM": "random effects, Paule-Mandel estimator of tau^2",
    "EB": "random effects, empirical Bayes estimator of tau^2",
    "HS": "random effects, Hunter-Schmidt estimator of tau^2",
    "SJ": "random effects, Sidik-Jonkman estimator of tau^2",
    "HE": "random effects, Hedges estimator of tau^2",
}

#: metafor's analysis scale of the measures shown back-transformed, and how they are shown.
ANALYSIS_SCALE = {"OR": "log odds ratio", "RR": "log risk ratio", "PLO": "logit"}
DISPLAY = {
    "OR": ("exp", "odds ratio"),
    "RR": ("exp", "risk ratio"),
    "PLO": ("plogis", "proportion"),
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def r_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid R string literal


def _r_number(x: float) -> str:
    return repr(float(x))


def _effect_sizes(q: Question, k: int, statistics: Set[str]) -> list[str]:
    """The blocks that read the numbers and compute ``es`` for this measure."""
    if k == 0:
        return [R.EMPTY]
    return [
        R.CELLS_BINARY if q.binary else R.CELLS,
        "" if q.binary or "se" not in statistics else R.SE,
        "" if q.binary or "median" not in statistics else R.FIVENUM,
        {
            ("change", False): R.EFFECTS_MC,
            ("control", False): R.EFFECTS_MD,
            ("change", True): R.EFFECTS_PLO,
            ("control", True): R.EFFECTS_2X2,
        }[(q.effect, q.binary)],
    ]


def _scale_words(q: Question) -> dict[str, str]:
    """The placeholders that depend on the measure's display scale and axis."""
    unit = unit_of(q.outcome)
    display = DISPLAY.get(q.measure)
    label = MEASURE_LABELS[q.measure]
    return {
        "@TRANSF@": display[0] if display else "identity",
        "@XLAB_Q@": r_string(label[0].upper() + label[1:] + (f" ({unit})" if unit else "")),
        "@FOREST_TRANSF@": {"exp": ", atransf = exp", "plogis": ", transf = plogis"}.get(
            display[0] if display else "", ""
        ),
        "@SCALE_NOTE@": "#\n# Estimates are on metafor's analysis scale "
        f"({ANALYSIS_SCALE[q.measure]}); the summary and\n# the forest plot show them as "
        f"{_article(display[1])}.\n"
        if display
        else "",
        "@SCALE_LINE@": f'cat("shown as {_article(display[1])}, back-transformed from the '
        f'{ANALYSIS_SCALE[q.measure]}\\n")\n'
        if display
        else "",
    }


def _analysis_words(
    q: Question, method: str, test: str, name: str, title: str, k: int, excluded: int
) -> dict[str, str]:
    """The placeholders that describe the analysis as the product ran it."""
    unit = unit_of(q.outcome)
    return {
        "@TITLE@": title,
        "@VERSION@": __version__,
        "@DATE@": dt.date.today().isoformat(),
        "@NAME@": name,
        "@NAME_Q@": r_string(name),
        "@OUTCOME@": OUTCOME_LABELS[q.outcome] + (f" ({unit})" if unit else ""),
        "@WINDOW@": "the latest reported timepoint of each arm"
        if q.window == "latest"
        else f"the latest timepoint {WINDOWS[q.window][0]} after the infusion",
        "@MEASURE@": f'{MEASURE_LABELS[q.measure]}; metafor measure "{q.measure}"',
        "@MEASURE_Q@": r_string(q.measure),
        "@FILTERS@": f"{DESIGN_FILTERS[q.design][0]}, {POPULATION_FILTERS[q.population][0]}; "
        f"numbers: {CONFIDENCE_FILTERS[q.confidence][0]}",
        "@GROUPS@": ", ".join(q.groups),
        "@GROUPS_R@": "c(" + ", ".join(r_string(g) for g in q.groups) + ")",
        "@MODEL@": METHOD_WORDS[method],
        "@TESTS@": TEST_WORDS[test],
        "@METHOD_Q@": r_string(method),
        "@TEST_Q@": r_string(test),
        "@RI@": _r_number(q.ri),
        "@RI_TEXT@": f"{q.ri:g}",
        "@K@": _count(k, "study arm"),
        "@EXCLUDED@": f"{_count(excluded, 'other arm')} of these groups "
        f"{'was' if excluded == 1 else 'were'}",
    }


def script(
    q: Question,
    method: str,
    test: str,
    *,
    name: str,
    title: str,
    k: int,
    excluded: int,
    statistics: Set[str],
) -> str:
    """The R script reproducing one analysis: ``k`` study arms pooled (``excluded`` others of
    these groups left out), whose data file uses the ``statistics`` (mean, sd, se, median...)."""
    parts = [
        R.HEADER,
        *_effect_sizes(q, k, statistics),
        R.FIT,
        R.FE_PI if method == "FE" else "",
        R.FIT_END,
        R.SUMMARY,
        R.FOREST,
    ]
    text = "".join(p for p in parts if p)
    # Blocks inside blocks first, then the words (which may themselves hold @RI@).
    text = text.replace("@ASSUMED@", R.ASSUMED_R if q.measure == "MC" else "")
    text = text.replace("@CELL_N@", R.CELL_N).replace("@SHARED@", R.SHARED)
    ratio = q.measure in ("OR", "RR")
    text = text.replace("@TICKS@", R.RATIO_TICKS if ratio else "")
    text = text.replace("@AT@", ", at = log(ticks)" if ratio else "")
    text = text.replace("@SPLIT@", "events and patients are" if q.binary else "n is")
    text = text.replace(
        "@R_LINE@", "r <- @RI@  # assumed pre-post correlation\n" if q.measure == "MC" else ""
    )
    words = _analysis_words(q, method, test, name, title, k, excluded) | _scale_words(q)
    for key, value in words.items():
        text = text.replace(key, value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    assert not leftover, leftover
    return text
