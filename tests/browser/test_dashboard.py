"""The dashboard in a real browser against a real Voila server (see conftest.py)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

import evidence
from evidence.app.state import ALLOWED
from evidence.compare import Question, effects, pool

from .conftest import NAV_TIMEOUT, POOL_SIZE, ROOT, Server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

FOREST = ".ev-forest .js-plotly-plot .main-svg"
# a test's screenshot is an artifact; the README's come from docs/screenshots/make.py
SCREENSHOT = ROOT / "tests" / "artifacts" / "dashboard.png"
JS_FOREST = """() => {
  const gd = document.querySelector('.ev-forest .js-plotly-plot');
  if (!gd || !gd.data) return null;
  const studies = gd.data.find(t => t.name === 'studies');
  const empty = gd.data.find(t => t.name === 'empty');
  return {
    studies: studies ? studies.x.length : -1,
    points: gd.querySelectorAll('.subplot.xy .scatterlayer .trace:nth-child(2) .point').length,
    empty: empty ? empty.text : [],
    ticks: gd.layout.yaxis.ticktext,
    title: gd.layout.title.text,
  };
}"""


def open_dashboard(page: Page, url: str, selector: str = FOREST, state: str = "visible") -> float:
    """Navigate (Voila streams the page: wait for a selector, not for 'load'); one retry for
    the intermittent Voila hang noted in stack.md. Returns seconds until the selector."""
    for attempt in (1, 2):
        start = time.monotonic()
        try:
            page.goto(url, wait_until="commit", timeout=NAV_TIMEOUT)
            page.wait_for_selector(selector, state=state, timeout=NAV_TIMEOUT)
            return time.monotonic() - start
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            print(f"retrying {url}: no {selector} after {NAV_TIMEOUT / 1000:.0f} s")
    raise AssertionError("unreachable")


def show_more(page: Page) -> None:
    """Unfold the sidebar's "More settings" (estimator, filters, ...) if it is folded."""
    page.wait_for_selector(".ev-more", timeout=NAV_TIMEOUT)
    if not page.locator(".ev-more-settings").is_visible():
        page.click(".ev-more")
    page.wait_for_selector(".ev-estimator select", state="visible", timeout=NAV_TIMEOUT)


def select_outcome(page: Page, code: str) -> None:
    """Choose the outcome ``code`` by its value (its place in the menu): its label also says
    what it holds ("Albumin: 2 studies"), which changes with the other settings."""
    page.select_option(".ev-outcome select", index=ALLOWED["outcome"].index(code))


def forest(page: Page) -> dict:
    return page.evaluate(JS_FOREST)


def wait_title(page: Page, text: str) -> None:
    page.wait_for_function(
        "(text) => { const gd = document.querySelector('.ev-forest .js-plotly-plot');"
        " return gd && gd.layout.title.text.includes(text); }",
        arg=text,
        timeout=NAV_TIMEOUT,
    )


@pytest.fixture(scope="module")
def expected_rows() -> tuple[int, int]:
    """Included arms of the default view and groups without a result, as the stages compute
    them (the curated numbers are asserted in tests/bundled/)."""
    q = Question()
    frame = effects(evidence.load(ROOT), q)
    empty = sum(r is None for r in pool(frame, q).groups.values())
    return int(frame["included"].sum()), empty


def test_page_loads_with_one_row_per_included_study(page: Page, server: Server, expected_rows):
    seconds = open_dashboard(page, server.url)
    page.wait_for_selector(".ev-summary li", timeout=NAV_TIMEOUT)
    info = forest(page)
    rows, empty = expected_rows
    assert info["studies"] == rows
    assert info["points"] == rows  # drawn, not only in the data
    # every group is present; the empty ones as a labelled row with the reason
    for group in ("MSC+HSC", "MSC", "HSC", "BM-MNC"):
        assert any(f"<b>{group}</b>" in t for t in info["ticks"])
    assert any("not reported" in t for t in info["empty"])  # the reason, in the plot
    assert sum("<i>no usable numbers</i>" in t for t in info["ticks"]) == empty
    summary = page.inner_text(".ev-summary")
    assert "MSC+HSC: no usable" in summary and "indirect" in summary
    assert "not reported" in page.inner_text(".ev-excluded")
    # stable hooks on every control; the folded ones join the page when "More settings" opens
    for name in ("outcome", "effect", "window", "groups"):
        assert page.locator(f".ev-{name}").count() == 1, name
    assert page.locator(".ev-estimator").count() == 0  # folded: not drawn until asked for
    show_more(page)
    for name in ("estimator", "test", "design", "confidence", "corr"):
        assert page.locator(f".ev-{name}").count() == 1, name
    assert page.locator(".ev-sidebar").is_visible()
    print(f"forest drawn {seconds:.2f} s after navigation")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(500)  # let the plot settle after its resize
    page.screenshot(path=str(SCREENSHOT), full_page=False)


def test_controls_update_plot_and_summary(page: Page, server: Server):
    open_dashboard(page, server.url)
    wait_title(page, "MELD score")
    select_outcome(page, "albumin")
    wait_title(page, "Albumin")
    page.wait_for_function(
        "() => document.querySelector('.ev-summary').innerText.includes('Albumin')",
        timeout=NAV_TIMEOUT,
    )
    show_more(page)
    page.select_option(".ev-estimator select", label="DL (DerSimonian-Laird, RevMan 5)")
    wait_title(page, "DL estimator")
    page.select_option(".ev-test select", label="Knapp-Hartung (t, k\u22121 df)")
    wait_title(page, "Knapp-Hartung")
    # the plot and the summary are separate widget messages: on a busy machine the browser may
    # draw one before the other, so wait for each rather than read the summary at once
    wait_summary(page, "s.includes('DL estimator')")
    page.uncheck(".ev-group-bm-mnc input")
    page.wait_for_function(
        "() => !document.querySelector('.ev-forest .js-plotly-plot').layout.yaxis.ticktext"
        ".some(t => t.includes('BM-MNC'))",
        timeout=NAV_TIMEOUT,
    )
    wait_summary(page, "!s.includes('BM-MNC:')")
    # the address bar holds a link to this view
    page.wait_for_function("() => location.search.includes('groups=')", timeout=NAV_TIMEOUT)
    assert page.url.endswith("?outcome=albumin&estimator=DL&test=knha&groups=MSC%2BHSC,MSC,HSC")


def wait_summary(page: Page, condition: str) -> None:
    """Wait until the summary's text `s` meets a JS condition."""
    page.wait_for_function(
        "() => { const s = document.querySelector('.ev-summary').innerText; "
        f"return {condition}; }}",
        timeout=NAV_TIMEOUT,
    )


def test_deep_link_opens_the_right_view(page: Page, server: Server):
    url = server.url + "?tab=robustness&outcome=meld&estimator=PM&test=knha&scope=HSC"
    open_dashboard(page, url, ".ev-grid .js-plotly-plot .main-svg")
    assert page.inner_text(".ev-tab .lm-TabBar-tab.lm-mod-current").strip() == "Robustness"
    assert page.locator(".ev-estimator select").input_value() != ""
    shown = page.eval_on_selector(".ev-estimator select", "s => s.selectedOptions[0].text")
    assert shown.replace("\u00a0", " ") == "PM (Paule-Mandel)"  # ipywidgets uses nbsp
    test = page.eval_on_selector(".ev-test select", "s => s.selectedOptions[0].text")
    assert test.replace("\u00a0", " ") == "Knapp-Hartung (t, k\u22121 df)"
    summary = page.inner_text(".ev-robustness-summary")
    assert "Reference model (PM, knha) on 2 study arms (HSC only)" in summary
    # the (hidden) forest plot was drawn for the linked question too
    assert "PM estimator, Knapp-Hartung" in forest(page)["title"]
    assert "fewer than 10" in summary
    page.wait_for_selector(".ev-funnel .js-plotly-plot .main-svg", timeout=NAV_TIMEOUT)
    page.wait_for_selector(".ev-loo .js-plotly-plot .main-svg", timeout=NAV_TIMEOUT)
    # then the Studies tab, and a study's numbers with their locators
    page.click(".ev-tab .lm-TabBar-tab >> text=Studies")
    page.wait_for_selector(".ev-studies table", timeout=NAV_TIMEOUT)
    page.wait_for_selector(".ev-map .js-plotly-plot .main-svg", timeout=NAV_TIMEOUT)
    page.select_option(".ev-study select", label="Kharaziha 2009 \u00b7 single-arm")
    page.wait_for_function(
        "() => document.querySelector('.ev-study-detail').innerText.includes('Table')",
        timeout=NAV_TIMEOUT,
    )
    page.wait_for_function(
        "() => location.search.includes('study=kharaziha2009_ejgh')", timeout=NAV_TIMEOUT
    )
    assert page.locator(".ev-study-detail a[href^='https://doi.org/']").count() == 1


def test_deep_link_to_the_compare_view(page: Page, server: Server):
    open_dashboard(page, server.url + "?outcome=albumin&estimator=DL&groups=MSC,HSC")
    wait_title(page, "Albumin")
    assert "DL estimator" in forest(page)["title"]
    assert not any("BM-MNC" in t for t in forest(page)["ticks"])
    assert "Albumin" in page.inner_text(".ev-summary")


def test_bad_query_value_shows_a_notice(page: Page, server: Server):
    url = server.url + "?outcome=bogus&estimator=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&x=1"
    open_dashboard(page, url)
    notice = page.inner_text(".ev-notice")
    assert "Unknown value for outcome" in notice and "showing the default (meld)" in notice
    assert "Unknown value for estimator" in notice and "<img" in notice  # shown as text
    assert page.locator(".ev-notice img").count() == 0
    assert "Unknown setting 'x'" in notice
    wait_title(page, "MELD score")
    assert "REML" in forest(page)["title"]
    page.wait_for_function("() => location.search === ''", timeout=NAV_TIMEOUT)


def test_idle_kernels_are_culled(browser, server: Server):
    """A closed page's kernel is culled once idle; the preheated pool is kept."""
    context = browser.new_context()
    page = context.new_page()
    open_dashboard(page, server.url)
    context.close()
    deadline = time.monotonic() + 90
    while "Culling" not in server.log_text() or len(server.kernels()) > POOL_SIZE:
        assert time.monotonic() < deadline, (
            f"kernels not culled: {server.kernels()}\n{server.log_text()[-3000:]}"
        )
        time.sleep(1)
    assert len(server.kernels()) == POOL_SIZE


JS_BAYES_TITLE = """(text) => {
  const gd = document.querySelector('.ev-bayes-forest .js-plotly-plot');
  return gd && gd.layout.title.text.includes(text);
}"""


def test_bayesian_choice_and_prior_scale_in_the_browser(page: Page, server: Server):
    open_dashboard(page, server.url)
    wait_title(page, "MELD score")
    show_more(page)
    page.select_option(".ev-estimator select", label="Bayesian (half-normal prior on tau)")
    page.wait_for_function(JS_BAYES_TITLE, arg="median of the", timeout=NAV_TIMEOUT)
    # the Bayesian summary is its own widget message: wait for it rather than read it at once
    page.wait_for_function(
        "() => (document.querySelector('.ev-bayes-summary') || {innerText: ''})"
        ".innerText.includes('P(benefit')",
        timeout=NAV_TIMEOUT,
    )
    box = page.locator(".ev-prior input")
    box.fill("20")
    box.press("Enter")
    page.wait_for_function(JS_BAYES_TITLE, arg="Half-normal(20)", timeout=NAV_TIMEOUT)
    page.wait_for_function("() => location.search.includes('prior=20')", timeout=NAV_TIMEOUT)
    assert "model=bayes" in page.url


JS_OUTCOME_MENU = """() => {
  const select = document.querySelector('.ev-outcome select');
  if (!select) return null;
  return {texts: [...select.options].map((o) => o.text.replace(/\\u00a0/g, ' ')),
          chosen: select.selectedIndex};
}"""


def _outcome_menu(effect: str) -> list[str]:
    """The outcome menu's labels for an effect type, as the stages count them (the curated
    facts, Child-Pugh empty in both modes, are asserted in tests/bundled/)."""
    from evidence.analysis.arm_effects import studies_per_outcome
    from evidence.analysis.words import outcome_choice
    from evidence.vocab import OUTCOME_MENU_NAMES

    counts = studies_per_outcome(evidence.load(ROOT), Question(effect=effect))  # no rob filter
    return [outcome_choice(OUTCOME_MENU_NAMES[code], counts[code]) for code in ALLOWED["outcome"]]


def test_outcome_choices_say_what_they_hold(page: Page, server: Server):
    """Each outcome says what its plot holds under the chosen effect; a change of effect
    relabels them without moving the choice, and an empty one, when chosen, shows the plot's
    own explanation of its empty groups."""
    from evidence.analysis.words import NONE_USABLE
    from evidence.app.controls import EFFECT_LABELS
    from evidence.compare import OUTCOME_LABELS

    within, versus = _outcome_menu("change"), _outcome_menu("control")
    assert within != versus and any(t.endswith(NONE_USABLE) for t in versus)
    open_dashboard(page, server.url)
    wait_title(page, "MELD score")
    page.wait_for_function(
        f"(want) => {{ const m = ({JS_OUTCOME_MENU})(); "
        "return m && JSON.stringify(m.texts) === JSON.stringify(want); }",
        arg=within,
        timeout=NAV_TIMEOUT,
    )
    select_outcome(page, "albumin")
    wait_title(page, "Albumin")
    page.select_option(".ev-effect select", label=EFFECT_LABELS["control"])
    albumin = ALLOWED["outcome"].index("albumin")
    page.wait_for_function(
        f"([want, chosen]) => {{ const m = ({JS_OUTCOME_MENU})(); "
        "return m && JSON.stringify(m.texts) === JSON.stringify(want) && m.chosen === chosen; }",
        arg=[versus, albumin],
        timeout=NAV_TIMEOUT,
    )
    # an outcome marked empty: choosing it still shows the plot and why its groups are empty
    code = next(c for c, t in zip(ALLOWED["outcome"], versus, strict=True) if NONE_USABLE in t)
    select_outcome(page, code)
    wait_title(page, OUTCOME_LABELS[code])
    wait_summary(page, "s.includes('no usable')")
    chosen = page.evaluate(JS_OUTCOME_MENU)
    assert chosen["chosen"] == ALLOWED["outcome"].index(code)
    assert chosen["texts"][chosen["chosen"]].endswith(NONE_USABLE)
