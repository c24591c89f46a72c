"""Hostile strings in every text field never run in the outputs we write (issue 13).

The report (``evidence report``) and the change page (``evidence diff --html``) are built from
a dataset whose text fields hold tests/fixtures/hostile/corpus.json, opened from disk in headless
chromium, and checked: no dialog, no console mark, the window flag untouched, no element with an
event-handler attribute or a ``javascript:`` URL, every figure drawn despite the CSP.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence import report
from evidence.changes import compare_datasets
from evidence.figures.changes import change_page

from ..hostile import corpus, hostile_dataset

pytestmark = pytest.mark.browser

REVISION = "v1.0 <script>window.__pwned=1</script>"

# What any injected markup would leave in the DOM; our own pages have none of it.
PROBE = r"""() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const v = a.value.replace(/[\s\x00-\x1f]/g, '').toLowerCase();
      if (a.name.startsWith('on')) bad.push(el.tagName + ' ' + a.name);
      if (v.startsWith('javascript:')) bad.push(el.tagName + ' ' + a.name + '=' + v);
    }
    if (['IFRAME', 'OBJECT', 'EMBED', 'BASE', 'FORM', 'INPUT', 'TEXTAREA', 'IMG', 'MATH',
         'NOSCRIPT'].includes(el.tagName) && !el.closest('.js-plotly-plot'))
      bad.push('element ' + el.tagName);
    if (el.tagName === 'STYLE' && el.closest('body')) bad.push('style in the body');
  }
  // plotly's figure JSON holds the strings as data; an injected script would start with one
  for (const s of document.scripts)
    if (/^\s*(window\.__pwned|alert)/.test(s.text)) bad.push('script');
  return {pwned: window.__pwned, bad: bad,
          plots: document.querySelectorAll('.js-plotly-plot .main-svg').length,
          csp: !!document.querySelector('meta[http-equiv="Content-Security-Policy"]')};
}"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("hostile")
    data = hostile_dataset()
    built = report.build(data, report.Settings(outcomes=("meld", "deaths")))
    (out / "report.html").write_text(built.html, encoding="utf-8")
    log = compare_datasets(hostile_dataset(shift=5), data, REVISION)
    page = change_page(log.studies, log.numbers, log.pooled, log.revision)
    (out / "changes.html").write_text(page, encoding="utf-8")
    return {"report": out / "report.html", "changes": out / "changes.html"}


@pytest.mark.parametrize("name", ["report", "changes"])
def test_hostile_text_never_runs(chromium, pages, name):
    path = pages[name]
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    outside: list[str] = []

    def guard(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    dialogs: list[str] = []
    marks: list[str] = []
    errors: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.on("console", lambda m: marks.append(m.text) if "HOSTILE" in m.text else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        pg.goto(path.as_uri(), wait_until="load", timeout=120_000)
        pg.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
        # hover and click what a reader would: event handlers need a user to fire
        for selector in ("td", "li", "summary", "h1"):
            for el in pg.query_selector_all(selector)[:40]:
                el.hover(timeout=5_000)
                if selector == "summary":
                    el.click(timeout=5_000)
        pg.wait_for_timeout(500)
        result = pg.evaluate(PROBE)
        text = pg.inner_text("body")
    finally:
        context.close()
    assert result["csp"], "no content-security-policy meta tag"
    assert result["pwned"] is None, "a hostile string ran"
    assert not dialogs, dialogs
    assert not marks, marks
    assert not result["bad"], result["bad"][:10]
    assert result["plots"] >= 1, "the CSP kept plotly from drawing"
    assert not errors, errors
    assert not outside, outside
    # the markup is shown as text, not rendered or dropped
    shown = "<i>Italic</i> and <b>bold</b> publisher markup" if name == "report" else REVISION
    assert shown in text
    assert "<script>window.__pwned=1" in text


def test_corpus_covers_the_classes():
    strings = corpus()
    assert any("<script>" in s for s in strings)
    assert any("onerror=" in s for s in strings)
    assert any(s.lower().startswith("javascript:") for s in strings)
    assert any("\u202e" in s for s in strings)
    assert any("\x00" in s for s in strings)
    assert any(len(s) > 50_000 for s in strings)
