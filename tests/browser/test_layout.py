"""The layout on a projector (1280x720) and a desk (1600x1000), measured in a real browser.

Element boxes, not pixels: the forest plot and every control a presenter uses are inside the
viewport together without scrolling; the tab bar is in the same place on every tab; nothing
reaches beyond the right edge; no control's label or shown choice is cut off; the arms not in
the plot are listed below it at full width with their reasons; the claim panel states the
claims audit's verdict and what each group rests on, and its button opens the audit.

Layout settles after the widgets arrive (plotly re-measures its container), so every check
waits for its condition (generously: the machine is busy) and reports the boxes it saw.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

import evidence
from evidence import inventory
from evidence.analysis.words import rests_on
from evidence.appraisal import claims
from evidence.appraisal.schema import GRADE_GROUPS

from .conftest import NAV_TIMEOUT, ROOT, Server
from .test_dashboard import open_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

SIZES = [(1280, 720), (1600, 1000)]
#: What a presenter reaches for while talking (CSS selectors), the plot's Download menu and
#: the copy-link button included.
PRESENTER = {
    "outcome": ".ev-outcome select",
    "effect": ".ev-effect select",
    "window": ".ev-window select",
    "groups": ".ev-groups",
    "more settings": ".ev-more",
    "download": ".ev-forest .ev-download summary",
    "copy link": ".ev-copy-link",
    "claims audit": ".ev-open-claims",
}
#: Boxes of the plot and the presenter's controls, the tab bar, the rightmost edge of every
#: visible element outside the plots' own drawings, and cut-off labels and choices.
JS_LAYOUT = """(presenter) => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width}; };
  const visible = (el) => el.getClientRects().length > 0 && !el.closest('.lm-mod-hidden');
  const out = {w: window.innerWidth, h: window.innerHeight, controls: {}, cut: [], beyond: []};
  out.plot = box(document.querySelector('.ev-forest .js-plotly-plot'));
  for (const [name, sel] of Object.entries(presenter))
    out.controls[name] = box(document.querySelector(sel));
  out.tabbar = box(document.querySelector('.ev-tab > .lm-TabBar'));
  for (const el of document.querySelectorAll('.ev-app *')) {
    if (!visible(el) || (el.parentElement && el.parentElement.closest('svg'))) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > window.innerWidth + 0.5)
      out.beyond.push(String(el.className.baseVal ?? el.className).slice(0, 60)
                      + ' ' + Math.round(r.right));
  }
  // a label cut off (ellipsis), or a choice wider than its select can show
  const labels = document.querySelectorAll('.ev-app .widget-label, .ev-app .widget-label-basic');
  for (const el of labels) {
    if (visible(el) && el.scrollWidth > el.clientWidth + 1)
      out.cut.push('label: ' + el.textContent);
  }
  const ctx = document.createElement('canvas').getContext('2d');
  for (const sel of document.querySelectorAll('.ev-sidebar select')) {
    if (!visible(sel)) continue;
    const cs = getComputedStyle(sel);
    ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const room = sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20;
    for (const o of sel.options) {
      if (ctx.measureText(o.text).width > room) out.cut.push('choice: ' + o.text);
    }
  }
  return out;
}"""


def layout_problems(m: dict) -> list[str]:
    """Every rule of the landing view that the measured boxes break."""
    problems = []
    w, h = m["w"], m["h"]

    def inside(name: str, b: dict | None) -> None:
        if b is None:
            problems.append(f"{name}: not on the page")
        elif b["top"] < -0.5 or b["bottom"] > h + 0.5 or b["left"] < -0.5 or b["right"] > w + 0.5:
            problems.append(f"{name} outside the {w}x{h} viewport: {b}")

    inside("forest plot", m["plot"])
    for name, b in m["controls"].items():
        inside(name, b)
    problems += [f"beyond the right edge: {e}" for e in m["beyond"]]
    problems += [f"cut off: {c}" for c in m["cut"]]
    return problems


def measure(page: Page) -> dict:
    return page.evaluate(JS_LAYOUT, PRESENTER)


def wait_layout(page: Page, check, timeout: float = NAV_TIMEOUT) -> dict:
    """Wait until ``check(measured)`` lists no problem; fail with the boxes if it never does."""
    deadline = timeout / 1000
    waited = 0.0
    while True:
        m = measure(page)
        problems = check(m)
        if not problems:
            return m
        if waited >= deadline:
            pytest.fail("\n".join(problems) + "\n" + json.dumps(m, indent=1)[:4000])
        page.wait_for_timeout(1000)  # layout settles after the widgets arrive
        waited += 1.0


def open_landing(page: Page, server: Server, size: tuple[int, int]) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_dashboard(page, server.url)
    page.wait_for_function(
        "() => { const s = document.querySelector('.ev-summary');"
        " return s && s.innerText.includes('What this shows'); }",
        timeout=NAV_TIMEOUT,
    )
    page.wait_for_function(
        "() => { const c = document.querySelector('.ev-claim-panel');"
        " return c && c.innerText.includes('Rests on'); }",
        timeout=NAV_TIMEOUT,
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_plot_and_presenter_controls_fit_together(page: Page, server: Server, size):
    open_landing(page, server, size)
    wait_layout(page, layout_problems)
    # the folded settings unfold without pushing the plot or the main controls away
    page.click(".ev-more")
    page.wait_for_selector(".ev-estimator select", state="visible", timeout=NAV_TIMEOUT)
    wait_layout(page, layout_problems)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_tab_bar_stays_put_and_nothing_is_cut_on_any_tab(page: Page, server: Server, size):
    open_landing(page, server, size)
    first = wait_layout(page, layout_problems)["tabbar"]
    # what each tab shows once it is built (the Appraisal tab opens on its claims)
    ready = {
        "Studies": ".ev-studies, .ev-study",
        "Compare": ".ev-forest .js-plotly-plot",
        "Robustness": ".ev-grid .js-plotly-plot",
        "Appraisal": ".ev-central",
    }
    titles = page.locator(".ev-tab > .lm-TabBar .lm-TabBar-tab")
    names = [titles.nth(i).inner_text().strip() for i in range(titles.count())]
    assert set(ready) <= set(names), names
    for name in (*names, names[0]):
        titles.nth(names.index(name)).click()
        page.wait_for_selector(
            f".lm-TabBar-tab.lm-mod-current:has-text('{name}')", timeout=NAV_TIMEOUT
        )
        page.wait_for_selector(
            f".ev-tab > .widget-tab-contents > :not(.lm-mod-hidden) :is({ready[name]})",
            timeout=NAV_TIMEOUT,
        )

        def same_place(m: dict, name: str = name) -> list[str]:
            bar = m["tabbar"]
            moved = (
                []
                if bar is not None
                and abs(bar["top"] - first["top"]) < 0.5
                and abs(bar["left"] - first["left"]) < 0.5
                else [f"tab bar on {name} at {bar}, on the first tab at {first}"]
            )
            return moved + [f"{name}: beyond the right edge: {e}" for e in m["beyond"]]

        wait_layout(page, same_place)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_arms_not_in_the_plot_are_listed_below_it_at_full_width(page: Page, server: Server, size):
    open_landing(page, server, size)
    line = page.locator(".ev-excluded-line")
    page.wait_for_function(
        "() => document.querySelector('.ev-excluded-line').innerText.includes('not in the plot')",
        timeout=NAV_TIMEOUT,
    )
    data = evidence.load(ROOT)
    from evidence.compare import Question, effects

    frame = effects(data, Question())
    left = int((~frame["included"]).sum())
    assert f"{left} of {len(frame)} study arms" in line.inner_text()
    page.click(".ev-excluded-toggle")
    page.wait_for_selector(".ev-excluded-table", state="visible", timeout=NAV_TIMEOUT)

    def below_and_wide(m: dict) -> list[str]:
        boxes = page.evaluate(
            """() => { const b = (s) => { const e = document.querySelector(s);
                 const r = e.getBoundingClientRect(); return {left: r.left, right: r.right,
                 top: r.top, bottom: r.bottom}; };
               const reason = Array.from(document.querySelectorAll('.ev-excluded-table th'))
                 .find(th => th.innerText.trim() === 'reason');
               const r = reason.getBoundingClientRect();
               return {plot: b('.ev-forest'), row: b('.ev-plot-row'),
                       table: b('.ev-excluded-table'),
                       reason: {left: r.left, right: r.right, width: r.width}}; }"""
        )
        plot, row, table, reason = boxes["plot"], boxes["row"], boxes["table"], boxes["reason"]
        problems = []
        if table["top"] < plot["bottom"] - 0.5:
            problems.append(f"the list starts above the plot's bottom: {boxes}")
        # as wide as the plot's row, but for the widgets' 2 px margins
        if table["left"] > row["left"] + 4 or table["right"] < row["right"] - 4:
            problems.append(f"the list is narrower than the plot's row: {boxes}")
        if reason["width"] < 200 or reason["right"] > m["w"]:
            problems.append(f"the reason column is hidden or squeezed: {boxes}")
        return problems + [f"beyond the right edge: {e}" for e in m["beyond"]]

    wait_layout(page, below_and_wide)
    reasons = page.inner_text(".ev-excluded-table")
    for reason in set(frame.loc[~frame["included"], "reason"]):
        assert reason.split(";")[0] in reasons


def test_claim_panel_states_the_audit_and_opens_it(page: Page, server: Server):
    data = evidence.load(ROOT)
    audit = claims.load(ROOT, data)
    central = audit[audit["topic"] == "central"].iloc[0]
    open_landing(page, server, SIZES[0])
    panel = page.inner_text(".ev-claim-panel").replace("\u00a0", " ")
    assert central["claim"] in panel
    assert str(central["verdict"]) in panel  # the audit's own word, not a new one
    for line in rests_on(inventory.by_group(data), GRADE_GROUPS):
        assert line in panel
    page.click(".ev-open-claims")
    page.wait_for_function("() => location.search.includes('tab=appraisal')", timeout=NAV_TIMEOUT)
    page.wait_for_function(
        "() => { const c = document.querySelector('.ev-central'); return c &&"
        " c.getClientRects().length > 0 && c.innerText.includes('The central claim'); }",
        timeout=NAV_TIMEOUT,
    )
    current = page.inner_text(".ev-appraisal-tab .lm-TabBar-tab.lm-mod-current").strip()
    assert current == "Claims"


#: A window narrower than the forest plot's measured columns: the page itself, the plot's
#: pane, the plot's drawing and its text.
JS_NARROW = """() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, width: r.width}; };
  const pane = document.querySelector('.ev-forest-scroll');
  const gd = pane && pane.querySelector('.ev-forest .js-plotly-plot');
  const menu = document.querySelector('.ev-forest .ev-download summary');
  const svg = gd && gd.querySelector('svg.main-svg');
  if (!gd || !svg || !gd.layout || !gd.layout.meta) return null;
  const s = svg.getBoundingClientRect();
  const texts = Array.from(gd.querySelectorAll('svg.main-svg text'))
    .filter(t => t.textContent.trim() && t.getClientRects().length);
  const cut = texts.filter(t => { const r = t.getBoundingClientRect();
    return r.width > 0 && (r.left < s.left - 0.5 || r.right > s.right + 0.5); })
    .map(t => t.textContent.slice(0, 40));
  const page = document.scrollingElement;
  return {w: window.innerWidth, pageScroll: page.scrollWidth - page.clientWidth,
          minWidth: gd.layout.meta.min_width, svg: s.width, texts: texts.length, cut,
          pane: box(pane), paneScroll: pane.scrollWidth - pane.clientWidth,
          menu: menu ? box(menu) : null, sidebar: box(document.querySelector('.ev-sidebar')),
          header: box(document.querySelector('.ev-claim-panel')),
          tabbar: box(document.querySelector('.ev-tab > .lm-TabBar'))};
}"""


def test_a_narrow_window_scrolls_the_plot_in_its_pane_not_the_page(page: Page, server: Server):
    """At 1024x700 the forest plot (about 870 px of measured columns) does not fit beside the
    sidebar: it scrolls sideways inside its own pane, whole; the page does not scroll
    sideways, so the sidebar, the header and the tabs stay put; the plot's Download menu
    stays in view."""
    open_landing(page, server, (1024, 700))

    def problems(m: dict | None) -> list[str]:
        if m is None:
            return ["the forest plot is not drawn yet"]
        out = []
        if m["pageScroll"] > 0:
            out.append(f"the page scrolls sideways by {m['pageScroll']} px")
        if m["svg"] < m["minWidth"] - 0.5:
            out.append(f"the plot is drawn {m['svg']} px wide, under its {m['minWidth']} px")
        if m["paneScroll"] <= 0:
            out.append("the plot's pane does not scroll: the plot is squeezed or the page moves")
        if m["pane"]["right"] > m["w"] + 0.5:
            out.append(f"the plot's pane reaches beyond the window: {m['pane']}")
        for name in ("sidebar", "header", "tabbar", "menu"):
            if m[name] is None:
                out.append(f"no {name}")
            elif m[name]["left"] < -0.5 or m[name]["right"] > m["w"] + 0.5:
                out.append(f"the {name} is outside the window: {m[name]}")
        if not m["texts"] or m["cut"]:
            out.append(f"text clipped by the plot's edge: {m['cut']}")
        return out

    def check(_m: dict) -> list[str]:
        return problems(page.evaluate(JS_NARROW))

    wait_layout(page, check)
    # the pane scrolls to the plot's right edge (its numbers and RoB column), the page stays
    before = page.evaluate(JS_NARROW)
    page.eval_on_selector(".ev-forest-scroll", "p => { p.scrollLeft = p.scrollWidth; }")
    after = page.evaluate(JS_NARROW)
    assert after["sidebar"] == before["sidebar"] and after["header"] == before["header"]
    assert after["menu"] == before["menu"]  # pinned to the frame's visible corner
    assert page.evaluate("() => window.scrollX") == 0
    assert page.eval_on_selector(".ev-forest-scroll", "p => p.scrollLeft") > 0


#: The forest plot drawn as wide as its frame (at 1600 px the row has room for its measured
#: columns, so nothing scrolls; a change of outcome can change the room the plot has).
JS_FITS = """() => { const svg = document.querySelector('.ev-forest .main-svg');
  const frame = document.querySelector('.ev-forest-scroll');
  if (!svg || !frame) return false;
  return Math.abs(svg.getBoundingClientRect().width - frame.clientWidth) <= 1; }"""


def test_the_plot_follows_its_pane_after_in_place_changes(page: Page, server: Server):
    """Each outcome, changed in place, is drawn at its pane's width, as a fresh page draws it:
    a plot kept at the previous figure's width was cut at the frame's edge (RoB column)."""
    open_landing(page, server, (1600, 1000))
    count = page.eval_on_selector(".ev-outcome select", "s => s.options.length")
    for index in [i for other in range(1, count) for i in (other, 0)]:  # each from the first
        before = page.evaluate(
            "() => document.querySelector('.ev-forest .js-plotly-plot').layout.title.text"
        )
        if page.eval_on_selector(".ev-outcome select", "s => s.selectedIndex") == index:
            continue
        page.select_option(".ev-outcome select", index=index)
        page.wait_for_function(
            "(t) => document.querySelector('.ev-forest .js-plotly-plot').layout.title.text != t",
            arg=before,
            timeout=NAV_TIMEOUT,
        )
        try:
            page.wait_for_function(JS_FITS, timeout=NAV_TIMEOUT)
        except Exception as exc:  # say which outcome, with the widths seen
            widths = page.evaluate(
                "() => [document.querySelector('.ev-forest .main-svg').getBoundingClientRect()"
                ".width, document.querySelector('.ev-forest-scroll').clientWidth]"
            )
            raise AssertionError(f"outcome #{index}: plot and frame widths {widths}") from exc
