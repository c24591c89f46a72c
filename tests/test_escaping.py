"""The one escaping helper and what uses it: the report's reference list (citeproc-py's HTML),
the change page, the content-security policy (issue 13). The browser test
tests/browser/test_hostile_outputs.py checks the same pages in chromium."""

from __future__ import annotations

import re

import pandas as pd

from evidence import escaping, report
from evidence.changes import compare_datasets
from evidence.citations import bibliography, safe_html
from evidence.figures.changes import change_page

from .hostile import corpus, hostile_dataset

# A tag that could only have come from data (our pages link only to their own anchors)
RAW_TAG = re.compile(
    r"<(script|img|svg|iframe|style|math|input|base|meta|noscript)"
    r"\b|<a (?!href=.#)"
)


def _study(**fields: object) -> pd.DataFrame:
    base = dict(
        citekey="k1",
        title="t",
        author="Doe, J",
        journal="J",
        year=2020,
        volume=None,
        number=None,
        pages=None,
        doi=None,
        pmid=None,
    )
    return pd.DataFrame([base | fields])


def test_html_text_escapes_markup_quotes_and_controls():
    assert escaping.html_text("<a href='x' onclick=\"y\">&") == (
        "&lt;a href=&#x27;x&#x27; onclick=&quot;y&quot;&gt;&amp;"
    )
    assert escaping.html_text("a\x00b\x1bc\x7fd\x85e\tf\n") == "a\ufffdb\ufffdc\ufffdd\ufffde\tf\n"
    assert escaping.html_text(None) == ""


def test_reference_list_escapes_data_and_keeps_citeprocs_tags():
    hostile = "<img src=x onerror=alert(1)> & <i>Rats</i>"
    studies = _study(
        title=hostile,
        author="O'Brien, <b>x</b> and Smith, J",
        journal="J <script>x</script>",
        volume='1" onmouseover="x',
        doi="10.1/<x>",
    )
    ((_, text),) = bibliography(studies, ["k1"])
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;i&gt;Rats&lt;/i&gt;" in text
    assert "&lt;script&gt;" in text and "&lt;b&gt;x&lt;/b&gt;" in text
    assert not RAW_TAG.search(text) and "<i>" not in text and "<b>" not in text
    ((_, plain),) = bibliography(studies, ["k1"], output="text")
    assert hostile in plain  # the plain-text list is the data as written
    # citeproc's own formatting survives the rebuild; its '&' term is escaped once
    assert safe_html(
        '<i>Hepatology</i> &amp; <b>x</b>, <span style="font-variant:small-caps;">'
        "ab</span> <u>u</u>"
    ) == (
        '<i>Hepatology</i> &amp; <b>x</b>, <span style="font-variant:small-caps;">ab</span> '
        "<u>u</u>"
    )
    assert safe_html("<i onclick=x>t</i>").startswith("&lt;i onclick=x&gt;")  # exact tags only


def test_private_use_characters_in_data_cannot_pose_as_markup():
    ((_, text),) = bibliography(_study(title="\ue001script\ue002"), ["k1"])
    assert "<script" not in text and "&lt;script" not in text


def test_report_and_change_page_escape_every_hostile_field():
    data = hostile_dataset()
    page = report.build(data, report.Settings(outcomes=("meld",), effects=("change",))).html
    log = compare_datasets(hostile_dataset(shift=5), data, "v1 <script>x</script>")
    diff = change_page(log.studies, log.numbers, log.pooled, log.revision)
    for document in (page, diff):
        assert '<meta http-equiv="Content-Security-Policy"' in document.split("<script", 1)[0]
        body = document.split("<body>", 1)[1]
        body = re.sub(r"<script\b.*?</script>", "", body, flags=re.DOTALL)
        assert not RAW_TAG.search(body), RAW_TAG.search(body)
        assert "\x00" not in document and "\x1b" not in document
    assert "<td>&lt;script&gt;window.__pwned=1;" in page
    assert "v1 &lt;script&gt;x&lt;/script&gt;" in diff
    assert any(len(s) > 50_000 for s in corpus())


def test_csp_allows_only_the_scripts_we_wrote():
    doc = "<html><head><title>x</title></head><body><script>ok()</script></body></html>"
    out = escaping.with_csp(doc)
    policy = re.search(r'content="([^"]*)"', out)[1]
    assert "script-src &#x27;sha256-" in policy and "unsafe-inline&#x27; ;" not in policy
    assert "'unsafe-inline'" not in escaping.csp(doc).split("script-src")[1].split(";")[0]
    assert "default-src 'none'" in escaping.csp(doc)
    assert out.index("Content-Security-Policy") < out.index("<script>")
