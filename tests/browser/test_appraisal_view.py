"""The appraisal in a real browser: the Compare view's risk-of-bias filter and column, and the
Appraisal tab (claims, risk of bias, certainty, flow) with its links (see conftest.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

import evidence
from evidence.appraisal import claims, rob
from evidence.appraisal.schema import GRADE_EFFECTS
from evidence.compare import Question, effects

from .conftest import NAV_TIMEOUT, ROOT, Server
from .test_dashboard import FOREST, forest, open_dashboard, show_more

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

TAB = ".ev-tab > .lm-TabBar .lm-TabBar-tab.lm-mod-current"
SECTION = ".ev-appraisal-tab > .lm-TabBar .lm-TabBar-tab.lm-mod-current"
JS_ROB_COLUMN = """() => {
  // the column's circles are layout shapes, each symbol an annotation on top (with the hover)
  const gd = document.querySelector('.ev-forest .js-plotly-plot');
  const circles = gd.layout.shapes.map((s, i) => s.name === 'rob' ? i : -1).filter(i => i >= 0);
  return {
    data: gd.layout.annotations.filter(a => a.name === 'rob').map(a => a.text),
    drawn: circles.filter(i => gd.querySelector(`.shapelayer path[data-index="${i}"]`)).length,
    header: [...gd.querySelectorAll('.annotation-text')].some(a => a.textContent === 'RoB'),
  };
}"""


def wait_rows(page: Page, n: int) -> None:
    page.wait_for_function(
        "(n) => { const gd = document.querySelector('.ev-forest .js-plotly-plot');"
        " return gd && gd.data.find(t => t.name === 'studies').x.length === n; }",
        arg=n,
        timeout=NAV_TIMEOUT,
    )


@pytest.fixture(scope="module")
def stages():
    """What the stages compute for the views (the curated numbers live in tests/bundled/)."""
    data = evidence.load(ROOT)
    frame = effects(data, Question())
    out = rob.filter_effects(frame, rob.load(ROOT, data), "exclude-high")
    return {
        "rows": int(frame["included"].sum()),
        "left": int(out.attrs["rob_left_out"]),
        "claims": len(claims.load(ROOT, data)),
    }


def test_rob_filter_repools_and_the_column_is_drawn(page: Page, server: Server, stages):
    rows, left = stages["rows"], stages["left"]
    assert left >= 1, "the test needs a high-risk arm in the default view"
    plural = "" if left == 1 else "s"
    open_dashboard(page, server.url + "?rob=exclude-high")
    wait_rows(page, rows - left)
    assert f"without high risk of bias ({left} arm{plural} left out)" in forest(page)["title"]
    column = page.evaluate(JS_ROB_COLUMN)
    assert column["drawn"] == rows - left and column["header"]  # a circle per row, a header
    assert sorted(column["data"]) == ["NA", "\u2212"]
    page.click(".ev-excluded-toggle")  # the list of arms not in the plot is folded
    page.wait_for_selector(".ev-excluded-list", state="visible", timeout=NAV_TIMEOUT)
    excluded = page.inner_text(".ev-excluded")
    assert "risk of bias high (RoB 2): left out by the filter" in excluded
    line = f"Risk of bias filter (without high risk of bias): {left} study arm{plural} left out"
    assert line in page.inner_text(".ev-summary")
    show_more(page)  # a link with a folded setting unfolds them: this only checks
    page.select_option(".ev-rob select", label="all studies")
    wait_rows(page, rows)
    assert page.evaluate(JS_ROB_COLUMN)["drawn"] == rows
    assert "X" in page.evaluate(JS_ROB_COLUMN)["data"]  # Mohamadnejad 2016: RoB 2 high
    page.wait_for_function("() => location.search === ''", timeout=NAV_TIMEOUT)


def test_claims_with_verdicts_and_their_evidence(page: Page, server: Server, stages):
    open_dashboard(page, server.url + "?tab=appraisal", ".ev-claims table", "visible")
    assert page.inner_text(TAB).strip() == "Appraisal"
    assert page.inner_text(SECTION).strip() == "Claims"
    central = page.inner_text(".ev-central-claim")
    assert "C8" in central and "does not support" in central
    assert "No subgroup test can include MSC+HSC" in central
    c8 = page.locator(".ev-claims tr", has=page.locator("details[data-claim='C8']"))
    assert "\u2717 does not support" in c8.inner_text()  # symbol and word, not colour alone
    assert page.locator(".ev-claims details[data-claim]").count() == stages["claims"]
    # a claim expands to its evidence, whose link opens the study's record in place
    evidence = page.locator(".ev-claims details[data-claim='C2'] .ev-evidence")
    assert not evidence.is_visible()
    page.click(".ev-claims details[data-claim='C2'] summary")
    assert "Mis-cited" in evidence.inner_text()
    page.click(".ev-claims details[data-claim='C2'] a[data-ev-study]")
    page.wait_for_function(
        "() => document.querySelector('.ev-study-detail')"
        " && document.querySelector('.ev-study-detail').innerText.includes('Kharaziha 2009')",
        timeout=NAV_TIMEOUT,
    )
    assert page.inner_text(TAB).strip() == "Studies"
    page.wait_for_function("() => location.search === '?tab=studies&study=kharaziha2009_ejgh'")
    # back to the appraisal: the risk-of-bias plots, and a tool choice redraws them
    page.click(".ev-tab > .lm-TabBar .lm-TabBar-tab >> text=Appraisal")
    page.click(".ev-appraisal-tab .lm-TabBar-tab >> text=Risk of bias")
    page.wait_for_selector(".ev-rob-traffic .js-plotly-plot .main-svg", timeout=NAV_TIMEOUT)
    page.wait_for_selector(".ev-rob-summary .js-plotly-plot .main-svg", timeout=NAV_TIMEOUT)
    titles = ".ev-rob-traffic .js-plotly-plot .annotation-text"
    assert "ROBINS-I (non-randomised comparisons)" in page.locator(titles).all_text_contents()
    page.click(".ev-rob-tool button >> text=RoB 2")
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.ev-rob-traffic .annotation-text')]"
        ".some(a => a.textContent.startsWith('ROBINS-I'))",
        timeout=NAV_TIMEOUT,
    )
    page.wait_for_function("() => location.search.includes('section=rob&tool=rob2')")


def test_deep_link_to_certainty_and_flow(page: Page, server: Server):
    url = server.url + "?tab=appraisal&section=certainty&outcome=deaths&rob=exclude-high"
    open_dashboard(page, url, ".ev-sof table", "visible")
    assert page.inner_text(SECTION).strip() == "Certainty"
    groups = len(Question().groups)  # every default group x effect type
    assert page.locator(".ev-sof tbody.ev-sof-entry").count() == groups * len(GRADE_EFFECTS)
    shown = page.eval_on_selector(".ev-rob select", "s => s.selectedOptions[0].text")
    assert shown.replace("\u00a0", " ") == "without high risk of bias"
    row = ".ev-sof details[data-row='deaths|BM-MNC|control']"
    assert "indirectness \u22121 (author)" in page.inner_text(f"{row} summary")
    page.click(f"{row} summary")
    assert "Spahr 2013" in page.inner_text(row)
    # the (hidden) forest plot was drawn for the linked question and filter too
    page.wait_for_selector(FOREST, state="attached", timeout=NAV_TIMEOUT)
    assert "Mortality" in forest(page)["title"]
    page.click(".ev-appraisal-tab .lm-TabBar-tab >> text=Study flow")
    page.wait_for_selector(".ev-flow-plot .js-plotly-plot .main-svg", timeout=NAV_TIMEOUT)
    text = " ".join(page.locator(".ev-flow-plot .annotation-text").all_text_contents())
    assert "Records in the registry" in text and "Studies per pooled outcome" in text
    page.wait_for_function("() => location.search.includes('section=flow')")
