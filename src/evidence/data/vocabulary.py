"""The dataset's vocabularies: kinds, designs, groups, outcomes, units, plausible ranges."""

from __future__ import annotations

KINDS = ("study", "meta-analysis")
DESIGNS = ("RCT", "non-randomised controlled", "single-arm", "case series", "animal")
CONTROLLED_DESIGNS = ("RCT", "non-randomised controlled")
SPECIES = ("human", "rat", "mouse")
POPULATIONS = (
    "decompensated cirrhosis",
    "compensated cirrhosis",
    "cirrhosis (stage mixed or not stated)",
    "end-stage liver disease",
    "liver failure",
    "ACLF",
    "animal model",
)
CELL_GROUPS = ("MSC+HSC", "MSC", "HSC", "BM-MNC", "BM")
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
CONFIDENCES = ("verified", "secondary", "seed-only")
N_BASES = ("randomised", "enrolled", "treated", "analysed", "completed", "planned")
OUTCOMES = (
    "meld",
    "meld_na",
    "child_pugh",
    "albumin",
    "bilirubin",
    "inr",
    "creatinine",
    "deaths",
    "sae",
    "ascites",
    "he",
    "meld_response",
)
BINARY_OUTCOMES = ("deaths", "sae", "ascites", "he", "meld_response")
QUANTITIES = ("level", "change")
STATISTICS = ("mean", "sd", "se", "median", "q1", "q3", "min", "max", "events", "total", "p")
COMPARISONS = ("before-after", "versus control")
EXTERNAL_GROUPS = (*CELL_GROUPS, "any")
MEASURES = ("MD",)

# Units as reported, canonical first (the loader converts to the canonical unit).
UNITS: dict[str, tuple[str, ...]] = {
    "meld": ("points",),
    "meld_na": ("points",),
    "child_pugh": ("points",),
    "albumin": ("g/L", "g/dL"),
    "bilirubin": ("mg/dL", "umol/L"),
    "creatinine": ("mg/dL", "umol/L"),
    "inr": ("ratio",),
    **{o: ("patients",) for o in BINARY_OUTCOMES},
}

# Plausible ranges of a level (mean, median, quartiles, extremes) in the canonical unit.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "meld": (6, 40),
    "meld_na": (6, 40),
    "child_pugh": (5, 15),
    "albumin": (10, 60),
    "bilirubin": (0.1, 50),
    "inr": (0.8, 10),
    "creatinine": (0.1, 15),
}
LOCATION_STATISTICS = ("mean", "median", "q1", "q3", "min", "max")
SPREAD_STATISTICS = ("sd", "se")
