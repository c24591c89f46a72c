"""The layout's words and wiring on the small fixture dataset (no browser): the claim panel's
text comes from the claims audit and the inventory, the arms not in the plot are counted with
their reasons, the sidebar sits beside the views that use it, and "More settings" counts what
it hides. The boxes on screen are measured in tests/browser/test_layout.py."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

import evidence
from evidence import inventory
from evidence.analysis.words import left_out_line, rests_on
from evidence.app import App
from evidence.app.cache import Analysis
from evidence.app.views.claim_panel import panel_html
from evidence.appraisal.schema import GRADE_GROUPS

CLAIMS_HEADER = "claim_id,topic,claim,seed_ref,cites,reports,verdict,reason,basis,source\n"
CENTRAL = (
    "C1,central,The combination works better than either cell type alone.,,alpha2010_trial,"
    "An RCT of MSC only.,does not support,No arm had the combination.,abstract,"
    "abstract https://example.org/alpha\n"
)


def _arms(root: Path) -> list[dict[str, str]]:
    with (root / "data" / "arms.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _expected_lines(root: Path) -> list[str]:
    """Studies and patients per group counted straight from the fixture's arms.csv."""
    arms = _arms(root)
    lines = []
    for group in GRADE_GROUPS:
        rows = [a for a in arms if a["group"] == group]
        k = len({a["citekey"] for a in rows})
        n = sum(int(a["n"]) for a in rows if a["n"])
        at_least = "\u2265" if any(not a["n"] for a in rows) else ""
        word = "patient" if n == 1 and not at_least else "patients"
        lines.append(f"{group}: {k} {'study' if k == 1 else 'studies'}, {at_least}{n} {word}")
    return lines


def test_rests_on_counts_studies_and_patients_per_group(valid_copy: Path):
    data = evidence.load(valid_copy)
    lines = rests_on(inventory.by_group(data), GRADE_GROUPS)
    assert lines == _expected_lines(valid_copy)
    assert "MSC: 1 study, 20 patients" in lines  # the fixture's one MSC arm of 20


def test_rests_on_says_at_least_when_an_arm_has_no_size(valid_copy: Path):
    path = valid_copy / "data" / "arms.csv"
    with path.open("a", newline="") as f:
        f.write("gamma2012_series,BM-MNC late,BM-MNC,,treated,Table 1,verified,\n")
    data = evidence.load(valid_copy)
    lines = rests_on(inventory.by_group(data), GRADE_GROUPS)
    assert lines == _expected_lines(valid_copy)
    assert "BM-MNC: 1 study, \u226510 patients" in lines


def test_claim_panel_without_a_claims_audit_says_so(valid_copy: Path):
    text = panel_html(Analysis(evidence.load(valid_copy)))
    assert "No claims audit in this dataset." in text
    for line in _expected_lines(valid_copy):
        assert line in text


def test_claim_panel_takes_claim_and_verdict_from_the_audit(valid_copy: Path):
    (valid_copy / "data" / "claims.csv").write_text(CLAIMS_HEADER + CENTRAL, encoding="utf-8")
    text = panel_html(Analysis(evidence.load(valid_copy)))
    assert "The combination works better than either cell type alone." in text
    assert "does not support" in text and "No arm had the combination." in text  # its reason
    for line in _expected_lines(valid_copy):
        assert line in text


def test_claim_panel_with_a_broken_audit_names_the_file(valid_copy: Path):
    broken = CENTRAL.replace("does not support", "sort of")
    (valid_copy / "data" / "claims.csv").write_text(CLAIMS_HEADER + broken, encoding="utf-8")
    text = panel_html(Analysis(evidence.load(valid_copy)))
    assert "data/claims.csv has 1 error(s)" in text
    assert "sort of" not in text  # a rejected verdict is never shown


def test_left_out_line_counts_arms_and_their_commonest_reasons():
    frame = pd.DataFrame(
        {
            "included": [True, False, False, False, False, False],
            "reason": [
                "",
                "no numbers: directions only",
                "no numbers: cut off",
                "MELD score not reported",
                "no baseline",
                "single-arm design: excluded",
            ],
        }
    )
    assert left_out_line(frame) == (
        "5 of 6 study arms are not in the plot: no numbers (2), MELD score not reported (1), "
        "no baseline (1), other reasons (1)."
    )
    assert left_out_line(frame.iloc[:1]) == "Every one of the 1 study arms is in the plot."


@pytest.fixture
def app(valid_copy: Path) -> App:
    (valid_copy / "data" / "claims.csv").write_text(CLAIMS_HEADER + CENTRAL, encoding="utf-8")
    return App(evidence.load(valid_copy))


def test_app_shows_the_panel_and_its_button_opens_the_claims_audit(app: App):
    assert app.claim.text.value == panel_html(app.analysis)
    assert app.claim.box in app.widget.children
    assert app.url in app.claim.actions.children  # the link beside the claim
    app.change("section", "rob")
    app.claim.button.click()
    assert (app.state.tab, app.state.section) == ("appraisal", "claims")
    assert app.appraisal.tabs.selected_index == 0  # the Claims section
    assert app.notices == []


def test_one_sidebar_beside_the_views_that_use_it(app: App):
    def holders() -> list[str]:
        return [name for name, pane in app.panes.items() if app.sidebar in pane.children]

    assert holders() == ["compare"]
    app.change("tab", "studies")  # a view without analysis controls: no sidebar, the room
    assert holders() == []
    app.change("tab", "robustness")
    assert holders() == ["robustness"]
    assert app.panes["robustness"].children == (app.sidebar, app.robustness.box)


def test_more_settings_counts_what_it_folds_and_a_link_unfolds_it(app: App):
    button, folded = app.controls.more_button, app.controls.more
    assert button.description == "More settings" and folded.layout.display == "none"
    assert folded.children == ()  # not in the page until opened: no browser views for them
    app.change("estimator", "DL")
    app.change("design", "rct")
    assert button.description == "More settings (2 changed)"
    assert folded.layout.display == "none"  # a count, not a jump
    app.apply_url("outcome=meld")
    assert button.description == "More settings" and button.value is False
    app.apply_url("rob=exclude-high")
    assert button.value is True and folded.layout.display is None
    assert app.controls.widgets["rob"] in folded.children
