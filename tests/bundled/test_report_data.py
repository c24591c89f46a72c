"""What the report says of the bundled dataset's curated studies.

The report's code tests (tests/test_report.py) run on tests/fixtures/appraisal/valid; the curated
facts they used to read off the bundled report are asserted here: at the stage that computes
them (fast), and once in the whole bundled report (marked slow: the full `./dev test` builds it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import evidence
from evidence.appraisal import claims, grade
from evidence.citations import bibliography
from evidence.cli import main

from ..conftest import ROOT

KHARAZIHA = "Kharaziha P, Hellström PM"
BM_MNC_MORTALITY = "We are very uncertain about the effect of BM-MNC therapy on mortality"
COMBINATION_CLAIM = "Injecting MSC and HSC together"


@pytest.fixture(scope="module")
def data() -> evidence.Dataset:
    return evidence.load(ROOT)


def test_reference_list_names_kharaziha_and_hellstrom(data):
    ((key, text),) = bibliography(data.studies, ["kharaziha2009_ejgh"], output="html")
    assert key == "kharaziha2009_ejgh" and text.startswith(KHARAZIHA)


def test_bm_mnc_mortality_is_very_uncertain(data):
    sof = grade.draft(data).set_index(["outcome", "group", "effect"])
    row = sof.loc[("deaths", "BM-MNC", "control")]
    assert row["certainty"] == "very low"
    assert row["statement"].startswith(BM_MNC_MORTALITY)


def test_the_combination_claim_is_not_supported(data):
    table = claims.load(ROOT, data)
    combination = table[table["claim"].str.startswith(COMBINATION_CLAIM)]
    assert list(combination["verdict"]) == ["does not support"]


@pytest.mark.slow
def test_bundled_report_shows_the_curated_facts(tmp_path: Path):
    page, tables = tmp_path / "report.html", tmp_path / "tables"
    assert main(["report", "--root", str(ROOT), "--out", str(page), "--tables", str(tables)]) == 0
    text = page.read_text(encoding="utf-8")
    assert KHARAZIHA in text
    assert f"<details><summary>{COMBINATION_CLAIM}" in text
    assert "\u2717 does not support</span>" in text and "background:#E69F00" in text
    sof = text[text.index('<table class="sof">') :]
    assert BM_MNC_MORTALITY in sof[: sof.index("</table>")]
    assert "Spahr 2013" in text and "Bayesian (half-normal prior on tau)" in text
    assert text.count("Plotly.newPlot") >= 14
    assert {"summary_of_findings", "claims", "risk_of_bias"} <= {p.stem for p in tables.iterdir()}
