"""evidence.figures.text_width: text widths from the fonts' metrics, plotly's markup, wrapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evidence.figures.text_width import line_width, markup_width, plain_width, wrap

from .conftest import ROOT

FONTS = Path("/usr/share/fonts/truetype")


def test_widths_follow_arial_metrics():
    # Arial's (Liberation Sans') advance widths: digits 0.556 em, space 0.278, M 0.833
    assert plain_width("0", 1000) == pytest.approx(557, abs=1)
    assert plain_width(" ", 100) == pytest.approx(27.8, abs=0.1)
    assert plain_width("M", 10) == pytest.approx(8.34, abs=0.01)
    assert plain_width("Estimate", 15, bold=True) > plain_width("Estimate", 15)
    assert plain_width("ab", 15) == plain_width("a", 15) + plain_width("b", 15)
    # a character outside the table counts as 1 em: never narrower than drawn
    assert plain_width("\u4e2d", 20) == 20


def test_markup_is_measured_as_plotly_draws_it():
    size = 15
    assert line_width("<b>MSC</b>", size) == plain_width("MSC", size, bold=True)
    assert line_width("<i>a</i>b", size) == plain_width("a", size, italic=True) + plain_width(
        "b", size
    )
    span = "<span style='font-size:13px'>n=5</span>"
    assert line_width(span, size) == pytest.approx(plain_width("n=5", 13))
    assert line_width("a &amp; b", size) == plain_width("a & b", size)
    assert line_width("a  b", size) == plain_width("a b", size)  # SVG draws one space
    assert markup_width("short<br>a longer line", size) == line_width("a longer line", size)


def test_wrap_breaks_between_parts_then_words_never_inside_a_word():
    parts = ["MELD score not reported", "no baseline to compute a change from baseline"]
    lines = wrap(parts, 250, 14, "; ")
    assert len(lines) >= 2 and all(line_width(t, 14) <= 250 for t in lines)
    assert " ".join(lines).split() == "; ".join(parts).split()  # every word, whole, in order
    assert wrap(parts, 10_000, 14, "; ") == ["; ".join(parts)]
    assert wrap(["a \u00b7 b"], 5, 14) == ["a", "\u00b7", "b"]  # words, whole
    assert wrap(["a", "b"], 5, 14, " \u00b7 ") == ["a", "b"]  # no dangling middle dot
    assert wrap(["unbreakable"], 5, 14) == ["unbreakable"]  # the caller makes room


@pytest.mark.skipif(
    not (FONTS / "liberation2").is_dir() or not (FONTS / "dejavu").is_dir(),
    reason="the metrics table is generated from fonts-liberation2 and fonts-dejavu-core",
)
def test_metrics_table_is_generated_from_the_fonts():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "font_metrics.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
