"""The review's vocabulary, written once: outcomes, cell groups, designs, confidences, risk-of-bias
tools and judgements, and the named defaults.

Every other list derives from here (``schema.OUTCOMES``, ``units.TO_CANONICAL``,
``compare.OUTCOME_LABELS``, ``appraisal.schema.GRADE_OUTCOMES``, ...). Adding an outcome is one
:class:`Outcome` record below plus its data; ``docs/extending.md`` has the recipe and
``tests/test_vocab.py`` adds a toy outcome this way and finds it in the dashboard, the report and
the validator. This module imports nothing from the project: it is the first stage.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """One outcome: its code in ``data/outcomes.csv`` and everything the stages need to know."""

    code: str
    #: Name in controls, tables and figure titles ("MELD score").
    label: str
    #: Name inside a sentence ("the MELD score"), as GRADE's statements use it.
    words: str
    #: Counted: events among patients (statistics ``events``/``total``); else continuous.
    counted: bool
    #: Lower values are better for patients (points the forest plot's "favours" labels).
    lower_is_better: bool
    #: Units as reported, canonical first, each with the factor taking it to the canonical unit
    #: (exact definitions or molar masses).
    units: tuple[tuple[str, float], ...]
    #: Plausible range of a level in the canonical unit (None for counted outcomes).
    plausible: tuple[float, float] | None = None
    #: A main outcome: in the report, tracked by ``evidence diff``, GRADE-rated.
    main: bool = False
    #: A score that is a whole number per patient (a mean of n patients is a multiple of 1/n:
    #: the GRIM check applies).
    whole_number: bool = False
    #: For a counted outcome: what a patient with the event did, in a sentence ("died").
    event: str = ""
    #: Default half-normal prior scale for the heterogeneity tau in the Bayesian model
    #: (evidence.bayesian). Counted outcomes: the scale itself, on the log odds / log risk ratio
    #: scale (0.5: Röver et al. 2021, Res Synth Methods 12:448-474). Continuous outcomes: a
    #: fraction of the median SD the dataset reports for the outcome (0.5: half that SD).
    tau_prior_scale: float = 0.5
    #: Name in the dashboard's outcome menu, where it is followed by what the outcome holds
    #: ("...: 3 studies") in a sidebar about 265 px wide ("" = ``label``).
    menu: str = ""

    @property
    def canonical_unit(self) -> str:
        return self.units[0][0]


_COUNT = (("patients", 1.0),)

#: The outcomes in the order the dashboard offers them.
OUTCOME_RECORDS: tuple[Outcome, ...] = (
    Outcome(
        "meld",
        "MELD score",
        "the MELD score",
        False,
        True,
        (("points", 1.0),),
        (6, 40),
        True,
        whole_number=True,
    ),
    Outcome(
        "child_pugh",
        "Child-Pugh score",
        "the Child-Pugh score",
        False,
        True,
        (("points", 1.0),),
        (5, 15),
        True,
        whole_number=True,
    ),
    Outcome(
        "albumin",
        "Albumin",
        "serum albumin",
        False,
        False,
        (("g/L", 1.0), ("g/dL", 10.0)),  # 1 g/dL = 10 g/L
        (10, 60),
        True,
    ),
    Outcome(
        "bilirubin",
        "Bilirubin",
        "serum bilirubin",
        False,
        True,
        (("mg/dL", 1.0), ("umol/L", 1 / 17.104)),  # molar mass 584.66 g/mol
        (0.1, 50),
        True,
    ),
    Outcome("inr", "INR", "the INR", False, True, (("ratio", 1.0),), (0.8, 10), True),
    Outcome(
        "creatinine",
        "Creatinine",
        "serum creatinine",
        False,
        True,
        (("mg/dL", 1.0), ("umol/L", 1 / 88.42)),  # molar mass 113.12 g/mol
        (0.1, 15),
    ),
    Outcome(
        "meld_na",
        "MELD-Na score",
        "the MELD-Na score",
        False,
        True,
        (("points", 1.0),),
        (6, 40),
        whole_number=True,
    ),
    Outcome("deaths", "Mortality", "mortality", True, True, _COUNT, main=True, event="died"),
    Outcome(
        "sae",
        "Serious adverse events",
        "serious adverse events",
        True,
        True,
        _COUNT,
        main=True,
        event="had a serious adverse event",
    ),
    Outcome("ascites", "Ascites events", "ascites events", True, True, _COUNT),
    Outcome(
        "he",
        "Hepatic encephalopathy events",
        "hepatic encephalopathy events",
        True,
        True,
        _COUNT,
        menu="Encephalopathy events",  # in cirrhosis, hepatic: the plot's title says so
    ),
    Outcome("meld_response", "MELD responders", "MELD responders", True, False, _COUNT),
)

OUTCOMES: tuple[str, ...] = tuple(o.code for o in OUTCOME_RECORDS)
OUTCOME_BY_CODE: dict[str, Outcome] = {o.code: o for o in OUTCOME_RECORDS}
#: Names in the dashboard's outcome menu (short enough for the sidebar with a count).
OUTCOME_MENU_NAMES: dict[str, str] = {o.code: o.menu or o.label for o in OUTCOME_RECORDS}
COUNTED_OUTCOMES: tuple[str, ...] = tuple(o.code for o in OUTCOME_RECORDS if o.counted)
#: Reported, tracked and GRADE-rated, in the dashboard's order.
MAIN_OUTCOMES: tuple[str, ...] = tuple(o.code for o in OUTCOME_RECORDS if o.main)


def outcome(code: str) -> Outcome:
    """The record of ``code`` (KeyError names the code when it is not in the vocabulary)."""
    return OUTCOME_BY_CODE[code]


# --- studies ------------------------------------------------------------------------------------

KINDS = ("study", "meta-analysis")
DESIGNS = ("RCT", "non-randomised controlled", "single-arm", "case series", "animal")
CONTROLLED_DESIGNS = ("RCT", "non-randomised controlled")
SPECIES = ("human", "rat", "mouse")
#: A clinical study: ``kind`` study and ``species`` human (Dataset.clinical_studies selects it).
CLINICAL_KIND, CLINICAL_SPECIES = "study", "human"
POPULATIONS = (
    "decompensated cirrhosis",
    "compensated cirrhosis",
    "cirrhosis (stage mixed or not stated)",
    "end-stage liver disease",
    "liver failure",
    "ACLF",
    "animal model",
)

# --- cell groups and arms -----------------------------------------------------------------------

#: Cell groups; the combination first.
CELL_GROUPS = ("MSC+HSC", "MSC", "HSC", "BM-MNC", "BM")
#: Arm groups: the cell groups, mobilisation alone and controls.
ARM_GROUPS = (*CELL_GROUPS, "G-CSF", "control")
CELL_ORIGINS = ("autologous", "allogeneic")
CELL_TISSUES = ("bone marrow", "peripheral blood", "umbilical cord", "adipose")
ROUTES = (
    "hepatic artery",
    "portal vein",
    "peripheral vein",
    "intrasplenic",
    "intrahepatic",
    "subcutaneous",
)
#: What an arm's n counts; a ``planned`` n is a target, not patients (never counted as treated).
N_BASES = ("randomised", "enrolled", "treated", "analysed", "completed", "planned")
PLANNED = "planned"

# --- confidence ---------------------------------------------------------------------------------

#: How a number was read, surest first: own abstract or full text, a review's table, a
#: third-party copy of the study's text (e.g. a machine-rewritten mirror of its abstract, where
#: signs, units and decimal points may be lost), the seed article only.
CONFIDENCES = ("verified", "secondary", "third-party", "seed-only")
THIRD_PARTY = "third-party"

# --- risk of bias -------------------------------------------------------------------------------

ROB2 = "RoB 2"
ROBINS_I = "ROBINS-I"
NO_TOOL = "none"
TOOLS = (ROB2, ROBINS_I, NO_TOOL)
NO_INFORMATION = "no information"
NOT_APPLICABLE = "not applicable"
#: Judgements each tool allows, least to most severe ("no information" apart).
JUDGEMENTS: dict[str, tuple[str, ...]] = {
    ROB2: ("low", "some concerns", "high", NO_INFORMATION),
    ROBINS_I: ("low", "moderate", "serious", "critical", NO_INFORMATION),
    NO_TOOL: (NOT_APPLICABLE,),
}
ALL_JUDGEMENTS = (
    "low",
    "some concerns",
    "moderate",
    "high",
    "serious",
    "critical",
    NO_INFORMATION,
    NOT_APPLICABLE,
)
#: robvis' symbols, so a judgement never rests on colour alone (a typographic minus, U+2212,
#: as in the figures' legends).
ROB_SYMBOLS = {
    "low": "+",
    "some concerns": "\u2212",
    "moderate": "\u2212",
    "high": "X",
    "serious": "X",
    "critical": "!",
    NO_INFORMATION: "?",
    NOT_APPLICABLE: "NA",
}
#: The tool a study's design calls for.
TOOL_FOR_DESIGN = {
    "RCT": ROB2,
    "non-randomised controlled": ROBINS_I,
    "single-arm": NO_TOOL,
    "case series": NO_TOOL,
    "animal": NO_TOOL,
}

# --- named defaults -----------------------------------------------------------------------------

#: The groups the review compares by default (whole bone marrow, one study, is left out).
DEFAULT_GROUPS = ("MSC+HSC", "MSC", "HSC", "BM-MNC")
DEFAULT_OUTCOME = "meld"
#: Numbers of this confidence or surer are used by default.
DEFAULT_CONFIDENCE = "secondary"
