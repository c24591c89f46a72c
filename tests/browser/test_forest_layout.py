"""The forest plot's text as chromium draws it: no two texts overlap and none is clipped, in
the dashboard at 1280x720 and 1600x1000, and in the Download menu's SVG at its narrowest and
widest widths (issue 14: the columns used to collide and reasons were cut with an ellipsis).
The same rule is checked without a browser, from the figure's layout, in
tests/test_forest_layout.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from .conftest import NAV_TIMEOUT, Server
from .test_dashboard import open_dashboard, wait_title

pytestmark = [pytest.mark.browser, pytest.mark.timeout(400)]

#: Boxes (px, relative to the figure) of every visible text under ``sel``: invisible hover
#: marks (transparent text) are left out, and so are texts with nothing to draw.
JS_BOXES = """(sel) => {
  const root = document.querySelector(sel);
  const svg = root.tagName.toLowerCase() === 'svg' ? root : root.querySelector('.main-svg');
  const frame = svg.getBoundingClientRect();
  const boxes = [];
  for (const t of root.querySelectorAll('text')) {
    const s = t.textContent.trim();
    const style = getComputedStyle(t);
    if (!s || style.fillOpacity === '0' || /rgba\\(.*,\\s*0\\)$/.test(style.fill)) continue;
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const r = t.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    boxes.push({text: s, left: r.left - frame.left, right: r.right - frame.left,
                top: r.top - frame.top, bottom: r.bottom - frame.top});
  }
  return {width: frame.width, height: frame.height, boxes};
}"""
#: The forest plot is drawn with its text columns and risk-of-bias circles (not mid-render).
JS_READY = """() => {
  const gd = document.querySelector('.ev-forest .js-plotly-plot');
  return gd && gd._fullLayout && gd.querySelectorAll('.ytick text').length > 3 &&
    gd.querySelectorAll('.y2tick text').length > 0 &&
    gd.querySelectorAll('.annotation-text').length > 3 &&
    Math.abs(gd._fullLayout.width - gd.getBoundingClientRect().width) < 2;
}"""


def problems(drawn: dict) -> list[str]:
    """Overlapping pairs (more than 1 px both ways), texts outside the figure, cut texts."""
    boxes, out = drawn["boxes"], []
    for i, a in enumerate(boxes):
        if (
            a["left"] < -0.5
            or a["top"] < -0.5
            or a["right"] > drawn["width"] + 0.5
            or a["bottom"] > drawn["height"] + 0.5
        ):
            out.append(f"clipped: {a}")
        if "\u2026" in a["text"]:
            out.append(f"cut with an ellipsis: {a['text']!r}")
        for b in boxes[i + 1 :]:
            dx = min(a["right"], b["right"]) - max(a["left"], b["left"])
            dy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if dx > 1 and dy > 1:
                out.append(f"overlap: {a['text']!r} and {b['text']!r}")
    return out


@pytest.mark.parametrize("viewport", [(1280, 720), (1600, 1000)])
def test_forest_text_never_overlaps_or_is_clipped(page: Page, server: Server, viewport):
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    open_dashboard(page, server.url)
    wait_title(page, "MELD score")
    page.wait_for_function(JS_READY, timeout=NAV_TIMEOUT)
    drawn = page.evaluate(JS_BOXES, ".ev-forest .js-plotly-plot")
    texts = [b["text"] for b in drawn["boxes"]]
    # the columns are all there: labels, estimates, weights, risk of bias, headers, reasons
    for text in ("Estimate [95% CI]", "Weight", "RoB", "no usable numbers", "MELD score not"):
        assert any(text in t for t in texts), text
    print(f"{viewport}: {len(texts)} texts in a {drawn['width']:.0f} px plot")
    assert problems(drawn) == []


@pytest.mark.parametrize("width", ["1280", "2400"])
def test_forest_svg_export_never_overlaps(page: Page, server: Server, width, tmp_path: Path):
    """The Download menu draws the plot off-screen at the chosen width: the columns keep
    their px offsets from the plot area, which takes the rest."""
    open_dashboard(page, server.url)
    wait_title(page, "MELD score")
    page.wait_for_function(JS_READY, timeout=NAV_TIMEOUT)
    page.click(".ev-forest .ev-download summary")
    page.select_option(".ev-forest .ev-download-width", width)
    with page.expect_download(timeout=60_000) as info:
        page.click(".ev-forest .ev-download-svg")
    svg = Path(info.value.path()).read_text(encoding="utf-8")
    assert f'width="{width}"' in svg
    viewer = page.context.new_page()
    viewer.set_content(f"<html><body style='margin:0'>{svg}</body></html>")
    drawn = viewer.evaluate(JS_BOXES, "svg")
    viewer.close()
    assert drawn["width"] == pytest.approx(int(width), abs=1)
    assert len(drawn["boxes"]) > 20
    assert problems(drawn) == []
