"""The selections every stage shares live on ``Dataset``: clinical studies (kind study, species
human) and arms with their real n (a planned size is a target, not patients). Checked on the
fixture data plus one study whose arms are only planned."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import evidence
from evidence import inventory
from evidence.appraisal.claims import central_claim
from evidence.figures.evidence_map import evidence_map_plot, map_frame

PLANNED_STUDY = """
@article{epsilon2021_planned,
  author = {Epsilon, Eve},
  title = {A registered trial of MSC plus HSC whose arms are only planned},
  journal = {Trials Reports},
  year = {2021},
  doi = {10.1000/epsilon.2021},
  kind = {study},
  design = {RCT},
  species = {human},
  population = {decompensated cirrhosis},
  cell_groups = {MSC+HSC},
  confidence = {verified},
  source = {registry https://example.org/epsilon},
  no_numbers = {registered protocol; no results yet},
}
"""
PLANNED_ARMS = [
    "epsilon2021_planned,cells,MSC+HSC,30,planned,registry,verified,",
    "epsilon2021_planned,control,control,30,planned,registry,verified,",
]


@pytest.fixture
def data(valid_copy: Path) -> evidence.Dataset:
    with (valid_copy / "references.bib").open("a", encoding="utf-8") as f:
        f.write(PLANNED_STUDY)
    with (valid_copy / "data" / "arms.csv").open("a", encoding="utf-8") as f:
        f.write("\n".join(PLANNED_ARMS) + "\n")
    loaded = evidence.load(valid_copy)
    assert [p for p in loaded.problems if p.severity == "error"] == []
    return loaded


def test_clinical_studies_are_human_studies(data):
    clinical = data.clinical_studies
    assert set(clinical["citekey"]) == {"alpha2010_trial", "gamma2012_series",
                                        "epsilon2021_planned"}  # fmt: skip
    assert (clinical["kind"] == "study").all() and (clinical["species"] == "human").all()


def test_planned_arms_keep_their_row_but_not_their_n(data):
    arms = data.clinical_arms.set_index(["citekey", "arm"])
    assert pd.isna(arms.loc[("epsilon2021_planned", "cells"), "n"])
    assert arms.loc[("epsilon2021_planned", "cells"), "n_basis"] == "planned"
    assert arms.loc[("alpha2010_trial", "MSC"), "n"] == 20
    assert not math.isnan(
        data.arms.set_index(["citekey", "arm"]).loc[("epsilon2021_planned", "cells"), "n"]
    )  # fmt: skip  (the raw frame keeps the number)
    treated = data.treated_arms
    assert set(treated["group"]) <= {"MSC+HSC", "MSC", "HSC", "BM-MNC", "BM"}
    assert "control" not in set(treated["arm"])


def test_evidence_map_shows_no_patients_for_a_planned_only_study(data):
    frame = map_frame(data.clinical_studies, data.treated_arms)
    row = frame.set_index("citekey").loc["epsilon2021_planned"]
    assert row["group"] == "MSC+HSC" and math.isnan(row["patients"])
    hover = " ".join(t for trace in evidence_map_plot(frame).data for t in trace.hovertext)
    assert "n=30 treated" not in hover and "patients treated: not reported" in hover
    with pytest.raises(ValueError, match="planned n"):
        map_frame(data.studies, data.arms)  # the raw arms would count the planned 30


def test_inventory_and_claims_count_no_planned_patient(data):
    groups = inventory.by_group(data).set_index("cell group")
    assert groups.loc["MSC+HSC", "studies"] == 1
    assert groups.loc["MSC+HSC", "patients treated"] == 0
    assert groups.loc["MSC+HSC", "arms without n"] == 1
    claim = central_claim(data, outcomes=("meld",))
    combo = claim.groups.set_index("group").loc["MSC+HSC"]
    assert combo["studies"] == 1 and combo["patients_treated"] == 0


def test_planned_arms_are_one_set_for_every_stage(data):
    """Dataset.planned_arms: the arms whose size is only planned, which the arm effects and the
    R export both read (an n that never stands in for a count)."""
    planned = {("epsilon2021_planned", "cells"), ("epsilon2021_planned", "control")}
    assert data.planned_arms == planned
    assert isinstance(data.planned_arms, frozenset)
