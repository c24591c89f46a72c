"""Whole-dataset invariants of the bundled data: every entry loads, formats and analyses."""

from __future__ import annotations

import numpy as np
import pandas as pd

import evidence
from evidence import inventory, vocab
from evidence.appraisal import validate as validate_appraisal
from evidence.citations import bibliography
from evidence.cli import main
from evidence.compare import Question, effects, pool

from ..conftest import ROOT


def test_bundled_dataset_has_no_errors(capsys):
    """`evidence validate` on the curated data: exit 0, no error line (dataset and appraisal)."""
    assert main(["validate", "--root", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert ": error:" not in out


def test_bundled_appraisal_has_no_errors():
    problems = validate_appraisal(ROOT)
    assert [str(p) for p in problems if p.severity == "error"] == []


def test_readme_inventory_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    data = evidence.load(ROOT)
    assert inventory.update_readme(readme, data) == readme, (
        "README.md counts are stale: run `python -m evidence.inventory --write`"
    )


def test_bundled_dataset_loads():
    data = evidence.load(ROOT)
    assert data.studies["citekey"].is_unique
    assert not data.outcomes.empty
    assert set(data.outcomes["citekey"]) <= set(data.studies["citekey"])
    assert data.outcomes["locator"].notna().all() and data.outcomes["confidence"].notna().all()


def test_every_bundled_entry_formats():
    data = evidence.load(ROOT)
    refs = bibliography(data.studies, data.studies["citekey"], output="html")
    assert [k for k, _ in refs] == list(data.studies["citekey"])
    assert all(isinstance(text, str) and len(text) > 20 for _, text in refs)
    assert isinstance(data.studies, pd.DataFrame)


def test_bundled_data_every_outcome_and_effect_runs():
    data = evidence.load(ROOT)
    for outcome in vocab.MAIN_OUTCOMES:
        for effect in ("change", "control"):
            q = Question(
                outcome=outcome,
                effect=effect,
                confidence="seed-only",
                groups=(*vocab.DEFAULT_GROUPS, "control"),
            )
            frame = effects(data, q)
            assert (frame["reason"] != "").sum() + frame["included"].sum() == len(frame)
            included = frame[frame["included"]]
            assert np.isfinite(included[["yi", "vi"]].to_numpy()).all()
            pool(frame, q)
