"""Issue 14 in a real browser: a click on a study's square in the forest plot opens its record
beside the plot (visible at 1600x1000 without scrolling), with its DOI/PubMed/PMC links only;
the record is in the page's address, and a fresh page at that address shows it."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import Page

import evidence
from evidence.app.views.record import RECORD_LINK
from evidence.compare import Question, effects

from .conftest import ROOT, Server
from .test_dashboard import open_dashboard, wait_title

pytestmark = [pytest.mark.browser, pytest.mark.timeout(400)]

WAIT = 120_000  # ms: two busy cores; the record arrives as its own widget message
#: The first study square of the forest plot: its centre and its [citekey, arm].
JS_POINT = """() => {
  const gd = document.querySelector('.ev-forest .js-plotly-plot');
  if (!gd || !gd.data) return null;
  const i = gd.data.findIndex(t => t.name === 'studies');
  const layer = Array.from(gd.querySelectorAll('g.trace.scatter')).find(
    g => g.__data__ && g.__data__[0] && g.__data__[0].trace.index === i);
  const path = layer && layer.querySelector('.points path');
  if (!path) return null;
  const r = path.getBoundingClientRect();
  return {x: r.x + r.width / 2, y: r.y + r.height / 2, key: gd.data[i].customdata[0],
          hover: gd.data[i].hovertext};
}"""
JS_BOXES = """() => {
  const box = e => { const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const panel = document.querySelector('.ev-record-panel');
  return {plot: box(document.querySelector('.ev-forest .js-plotly-plot')), panel: box(panel),
          heading: box(panel.querySelector('h3')),
          links: Array.from(panel.querySelectorAll('a')).map(a => a.getAttribute('href')),
          scrollY: window.scrollY};
}"""


def test_a_click_on_a_study_row_opens_its_record_beside_the_plot(page: Page, server: Server):
    page.set_viewport_size({"width": 1600, "height": 1000})
    open_dashboard(page, server.url)
    wait_title(page, "MELD score")
    page.wait_for_function(f"() => ({JS_POINT})() !== null", timeout=WAIT)
    page.wait_for_timeout(800)  # the plot settles after its first resize
    point = page.evaluate(JS_POINT)
    key, arm = point["key"]
    # the hover cites where the numbers were read and says a click opens the record; it no
    # longer cites lines of data/outcomes.csv, which a viewer cannot open
    assert all("click for the record" in h and "outcomes.csv" not in h for h in point["hover"])

    page.mouse.move(point["x"], point["y"])
    page.wait_for_timeout(300)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function(
        "(key) => { const p = document.querySelector('.ev-record-panel .ev-record');"
        " return p && p.dataset.citekey === key && p.querySelector('a'); }",
        arg=key,
        timeout=WAIT,
    )
    study = evidence.load(ROOT).studies.set_index("citekey").loc[key]
    boxes = page.evaluate(JS_BOXES)
    assert boxes["links"], "the record links to the study"
    for href in boxes["links"]:
        assert RECORD_LINK.fullmatch(href), href
    if isinstance(study["doi"], str) and study["doi"]:
        assert any(h.startswith("https://doi.org/") for h in boxes["links"])
    text = page.inner_text(".ev-record-panel")
    assert key in text and arm in text and "Risk of bias" in text
    # beside the plot, in the 1600x1000 window, without scrolling
    plot, panel, heading = boxes["plot"], boxes["panel"], boxes["heading"]
    assert boxes["scrollY"] == 0
    assert panel["left"] >= plot["right"] - 4, boxes
    assert panel["top"] < plot["bottom"] and panel["bottom"] > plot["top"], boxes
    assert heading["top"] >= 0 and heading["bottom"] <= 1000 and panel["right"] <= 1600, boxes

    # the record is part of the view: the address and the copy-link field carry it, and a
    # fresh page (a new kernel) opened at that address shows the same record
    wanted = "record=" + quote(f"{key}~{arm}", safe="~")
    page.wait_for_function("(q) => window.location.search.includes(q)", arg=wanted, timeout=WAIT)
    address = page.url
    assert page.input_value(".ev-link-url") == address
    shown = page.inner_text(".ev-record-panel")
    fresh = page.context.new_page()
    try:
        open_dashboard(fresh, address)
        fresh.wait_for_function(
            "([key, arm]) => { const p = document.querySelector('.ev-record-panel .ev-record');"
            " return p && p.dataset.citekey === key && p.dataset.arm === arm"
            " && p.querySelector('a'); }",
            arg=[key, arm],
            timeout=WAIT,
        )
        assert fresh.inner_text(".ev-record-panel") == shown
        assert fresh.url == address
    finally:
        fresh.close()


def test_a_number_in_the_studies_view_opens_its_record_beside_the_plot(page: Page, server: Server):
    """The Studies view's numbers link to their record (not to lines of data/outcomes.csv);
    one click opens it beside the forest plot, in place, and the address carries it."""
    frame = effects(evidence.load(ROOT), Question())
    row = frame[frame["included"]].iloc[0]
    key, arm = str(row["citekey"]), str(row["arm"])
    page.set_viewport_size({"width": 1600, "height": 1000})
    open_dashboard(page, f"{server.url}?tab=studies&study={quote(key)}", ".ev-study-detail table")
    link = (
        f".ev-study-detail a.ev-record-link[data-ev-record='{key}~{arm}'][data-ev-effect='change']"
    )
    page.wait_for_selector(link, timeout=WAIT)
    assert "outcomes.csv" not in page.inner_text(".ev-study-detail")
    page.locator(link).first.click()
    page.wait_for_function(
        "([key, arm]) => { const p = document.querySelector('.ev-record-panel .ev-record');"
        " return p && p.dataset.citekey === key && p.dataset.arm === arm"
        " && p.getBoundingClientRect().width > 0; }",
        arg=[key, arm],
        timeout=WAIT,
    )
    wanted = "record=" + quote(f"{key}~{arm}", safe="~")
    page.wait_for_function("(q) => window.location.search.includes(q)", arg=wanted, timeout=WAIT)
    assert "tab=studies" not in page.url  # the Compare view (the default tab) is shown
