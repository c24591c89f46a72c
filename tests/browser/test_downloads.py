"""Downloads and the link, in a real browser: each plot's Download menu gives an SVG and a PNG
drawn off-screen at the chosen size (the plot on screen does not change) and the plot's data
as CSV, each named after what it shows; no button sends anything off the machine; the link to
the view is the full address and is copied with one click."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from playwright.sync_api import Page

from .conftest import Server
from .test_dashboard import open_dashboard, select_outcome, wait_title

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PLOT = ".ev-forest .js-plotly-plot"
NAME = r"forest_meld-score_change-from-baseline_\d{4}-\d\d-\d\d"
#: What the plot on screen is: compared before and after the downloads.
JS_SCREEN = """() => {
  const gd = document.querySelector('.ev-forest .js-plotly-plot');
  const r = gd.getBoundingClientRect();
  return {width: r.width, height: r.height, svg: gd.querySelector('.main-svg').outerHTML};
}"""
#: The estimates column: tick labels of the forest plot's yaxis2 (evidence.figures.forest.columns).
JS_NUMBERS = """() => Array.from(document.querySelectorAll(
  '.ev-forest .y2tick text')).map(t => t.textContent)"""


def _download(page: Page, item: str) -> tuple[str, bytes]:
    page.click(".ev-forest .ev-download summary")
    with page.expect_download(timeout=60_000) as info:
        page.click(f".ev-forest .ev-download-{item}")
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_download_menu_gives_svg_png_and_csv_without_touching_the_plot(page: Page, server: Server):
    open_dashboard(page, server.url)
    wait_title(page, "MELD score")
    page.wait_for_timeout(800)  # the plot settles after its first resize
    before = page.evaluate(JS_SCREEN)
    numbers = page.evaluate(JS_NUMBERS)
    assert numbers and all(numbers)

    page.click(".ev-forest .ev-download summary")
    page.select_option(".ev-forest .ev-download-width", "1920")
    page.select_option(".ev-forest .ev-download-scale", "2")
    page.click(".ev-forest .ev-download summary")  # closed again; the sizes stay chosen

    name, svg = _download(page, "svg")
    assert re.fullmatch(NAME + r"\.svg", name), name
    text = svg.decode("utf-8")
    assert text.startswith("<svg") and 'width="1920"' in text
    for number in numbers:  # every number of the plot is in the file
        assert number.replace(" ", "") in re.sub(r"<[^>]+>|\s", "", text).replace("&nbsp;", "")

    name, png = _download(page, "png")
    assert re.fullmatch(NAME + r"\.png", name), name
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert width == 1920 * 2 and height == round(before["height"]) * 2

    name, csv = _download(page, "csv")
    assert re.fullmatch(NAME + r"\.csv", name), name
    lines = csv.decode("utf-8").splitlines()
    assert lines[0].startswith("row,group,study,citekey,arm")
    assert any(line.startswith("study arm,MSC,Kharaziha 2009") for line in lines)
    assert any(line.startswith("pooled,HSC,") for line in lines)

    assert page.evaluate(JS_SCREEN) == before  # the plot on screen never changed
    # no modebar button sends the figure or its data anywhere
    assert (
        page.evaluate(f"() => document.querySelector('{PLOT}')._context.showSendToCloud") is False
    )
    titles = page.eval_on_selector_all(
        f"{PLOT} .modebar-btn", "bs => bs.map(b => b.getAttribute('data-title'))"
    )
    assert not [t for t in titles if re.search(r"cloud|chart studio|share|edit", t or "", re.I)]


def test_copy_link_gives_the_full_address(page: Page, server: Server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_dashboard(page, server.url)
    select_outcome(page, "albumin")
    wait_title(page, "Albumin")
    page.wait_for_function("() => location.search.includes('outcome=albumin')")
    page.click(".ev-copy-link")
    page.wait_for_selector(".ev-copied:has-text('copied')")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == page.url and copied.startswith(server.url) and "outcome=albumin" in copied
    assert page.input_value(".ev-link-url") == copied
    again = page.context.new_page()
    open_dashboard(again, copied)
    wait_title(again, "Albumin")  # the link reproduces the view
    again.close()


def test_reproduce_in_r_gives_the_views_script_data_and_results(page: Page, server: Server):
    """The forest plot's "Reproduce in R" item: a zip with the script, the numbers and the
    product's results of the view on screen (here after a change of estimator and test)."""
    import io
    import zipfile

    open_dashboard(page, server.url + "?estimator=DL&test=knha")
    wait_title(page, "MELD score")
    name, blob = _download(page, "r")
    assert re.fullmatch(NAME + r"\.zip", name), name
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        files = {n: archive.read(n).decode("utf-8") for n in archive.namelist()}
    assert sorted(files) == [
        "meld_change/README.md",
        "meld_change/meld_change.R",
        "meld_change/meld_change.data.csv",
        "meld_change/meld_change.expected.csv",
        "meld_change/run_all.R",
    ]
    script = files["meld_change/meld_change.R"]
    assert "library(metafor)" in script and "rma(" in script and "forest(" in script
    assert 'method <- "DL"' in script and 'test <- "knha"' in script
    assert "kharaziha2009_ejgh" in files["meld_change/meld_change.data.csv"]
    expected = files["meld_change/meld_change.expected.csv"].splitlines()
    assert expected[0] == "group,k,estimate,ci_lb,ci_ub,tau2,pi_lb,pi_ub"
    assert any(line.startswith("MSC,1,") for line in expected)


def test_modebar_camera_names_the_plot_shown_after_a_change(page: Page, server: Server):
    """The modebar's camera downloads a file named after the plot on screen, also after an
    in-place change (the name reaches plotly.js without redrawing the plot, plot_view.js)."""
    open_dashboard(page, server.url)
    wait_title(page, "MELD score")
    # plotly.js builds a plot's SVG anew only for a new config (newPlot): the file name is
    # not one, so the plot is updated in place (one Plotly.react), its SVG element kept
    page.evaluate(f"() => {{ document.querySelector('{PLOT} .main-svg').dataset.evKept = '1'; }}")
    select_outcome(page, "albumin")
    wait_title(page, "Albumin")
    assert page.evaluate(f"() => document.querySelector('{PLOT} .main-svg').dataset.evKept") == "1"
    page.hover(PLOT)  # the modebar shows on hover
    with page.expect_download(timeout=60_000) as info:
        page.click(f'{PLOT} .modebar-btn[data-title^="Download plot"]')
    assert info.value.suggested_filename == "forest_albumin_change-from-baseline.svg"
