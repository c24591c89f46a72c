"""Issue 14: one click from a forest-plot row to its record. The record's content, built from
fixture data; its links (DOI, PubMed, PMC only); the validate warning for addresses that name
no record (an IP address, a search page). The click itself in chromium: tests/browser."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import evidence
from evidence.app.views.record import HINT, read_on, record_html, record_link, study_links
from evidence.appraisal import rob as rob_module
from evidence.compare import Question, effects
from evidence.data.rules.urls import url_kind
from evidence.dataset import validate

from .conftest import FIXTURES, click_point

APPRAISAL = FIXTURES / "appraisal" / "valid"
MELD_CONTROL = Question(outcome="meld", effect="control", groups=("MSC",))
HREF = re.compile(r"href='([^']*)'")


def effect_row(data, question: Question, key: str, arm: str):
    frame = effects(data, question)
    (match,) = frame.index[(frame["citekey"] == key) & (frame["arm"] == arm)]
    return frame.loc[match]


def hrefs(html: str) -> list[str]:
    return HREF.findall(html)


@pytest.fixture(scope="module")
def appraisal_data():
    return evidence.load(APPRAISAL)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(APPRAISAL, root)
    return root


def test_record_shows_each_number_with_its_locator_confidence_and_links(appraisal_data):
    row = effect_row(appraisal_data, MELD_CONTROL, "alpha2010_trial", "MSC")
    rob = rob_module.load(APPRAISAL, appraisal_data)
    html = record_html(appraisal_data, row, rob, unit="points")
    assert "data-citekey='alpha2010_trial'" in html and "<code>alpha2010_trial</code>" in html
    # the four numbers of the MD (MSC and control, 6 mo mean and SD), read in Table 2
    used = appraisal_data.outcomes[appraisal_data.outcomes["source_line"].isin(row.source_lines)]
    assert len(used) == 4 and set(used["locator"]) == {"Table 2"}
    numbers = html.split("ev-record-numbers", 1)[1].split("</table>", 1)[0]
    assert numbers.count("<tr>") == 1 + 4  # header and one row per number
    for o in used.itertuples():
        assert f"<td>{o.statistic}</td>" in numbers
    assert numbers.count("<td>Table 2<br><span class='ev-muted'>verified</span></td>") == 4
    assert "<td class='ev-num'>12.1 points</td>" in numbers  # as printed
    assert "https://doi.org/10.1000/alpha.2010" in hrefs(html)
    assert "outcomes.csv" not in html  # a viewer cannot open the data file
    # the effect, and the risk-of-bias judgement with its domains
    assert "mean difference (cells minus control)</b>: \u22123.90 (95% CI" in html
    assert "overall (RoB 2)" in html and "D2" in html and "some concerns" in html
    assert all(record_link(h) for h in hrefs(html))


def test_record_links_only_doi_pubmed_and_pmc():
    import pandas as pd

    study = pd.Series({"doi": "10.1000/x y", "pmid": "PMID: 123", "pmcid": "PMC42"})
    assert study_links(study) == [
        ("https://doi.org/10.1000/x%20y", "doi:10.1000/x y"),
        ("https://pubmed.ncbi.nlm.nih.gov/123/", "PubMed 123"),
        ("https://pmc.ncbi.nlm.nih.gov/articles/PMC42/", "PMC42"),
    ]
    assert study_links(pd.Series({"doi": None, "pmid": float("nan"), "pmcid": "42"})) == []
    for good in (
        "https://doi.org/10.1371/journal.pone.0053719",
        "https://pubmed.ncbi.nlm.nih.gov/23341981/",
        "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC3544843/",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC7782109",
    ):
        assert record_link(good), good
    for bad in (
        "http://47.251.13.51:8081/23341981",
        "https://pesquisa.bvsalud.org/brasil/?lang=pt&q=au%3A%22Hollyman%2C+Dan%22",
        "https://pubmed.ncbi.nlm.nih.gov/?term=Hollyman",
        "http://doi.org/10.1/x",  # not https
        "https://doi.org.evil.example/10.1/x",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC1/'onmouseover='x",
        "javascript:alert(1)",
    ):
        assert not record_link(bad), bad
    # an address a number was read on is linked only if it is one of those
    assert "href=" not in read_on("http://47.251.13.51:8081/23341981")
    assert "an IP address (not linked)" in read_on("http://47.251.13.51:8081/23341981")
    assert "a search page (not linked)" in read_on("https://pesquisa.bvsalud.org/?q=au%3AX")
    assert "a copy at journals.lww.com" in read_on("https://journals.lww.com/x/Abstract/1.aspx")
    assert "href='https://pmc.ncbi.nlm.nih.gov/articles/PMC1'" in read_on(
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC1"
    )


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_ip_addresses_and_search_pages_are_not_linked_and_validate_warns(copy: Path):
    outcomes = copy / "data" / "outcomes.csv"
    ip, search = "http://47.251.13.51:8081/11111111", "https://example.org/find?q=au%3AAlpha"
    lines = outcomes.read_text(encoding="utf-8").splitlines(keepends=True)
    for i in (3, 4):  # file lines 4 and 5: alpha's 6-month MSC mean and SD
        assert lines[i].rstrip("\r\n").endswith(",verified,,") or ",verified,," in lines[i]
        lines[i] = lines[i].replace(",verified,,", f",verified,{ip},", 1)
    lines[5] = lines[5].replace(",verified,,", f",verified,{search},", 1)
    outcomes.write_text("".join(lines), encoding="utf-8")
    _rewrite(
        copy / "references.bib",
        "doi = {10.1000/alpha.2010},",
        ("doi = {10.1000/alpha.2010},\n  url = {https://www.google.com/search?q=alpha+2010},"),
    )
    found = [str(p) for p in validate(copy) if p.severity == "warning"]
    ours = [p for p in found if "does not name the record" in p]
    assert len(ours) == 3, ours
    bib_line = next(
        i
        for i, line in enumerate((copy / "references.bib").read_text().splitlines(), 1)
        if line.startswith("  url = {https://www.google")
    )
    assert any(
        p.startswith(f"references.bib:{bib_line}: warning: alpha2010_trial [url] ")
        and "a search page" in p
        for p in ours
    )
    # one warning per study and address, at its first row, counting the others
    assert any(
        p.startswith("data/outcomes.csv:4: warning: alpha2010_trial [source_url] ")
        and "an IP address" in p
        and "(and 1 more row of alpha2010_trial)" in p
        for p in ours
    )
    at_6 = "data/outcomes.csv:6: warning: alpha2010_trial [source_url] "
    assert any(p.startswith(at_6) and "a search page" in p for p in ours)
    assert not [p for p in validate(copy) if p.severity == "error"]
    data = evidence.load(copy)
    html = record_html(data, effect_row(data, MELD_CONTROL, "alpha2010_trial", "MSC"))
    assert ip not in html and "47.251.13.51" not in html and "google" not in html
    assert "an IP address (not linked)" in html and "a search page (not linked)" in html
    assert all(record_link(h) for h in hrefs(html)) and hrefs(html)


def test_url_kind():
    assert url_kind("http://47.251.13.51:8081/23341981") == "an IP address"
    assert url_kind("http://[2001:db8::1]/x") == "an IP address"
    assert url_kind("https://pesquisa.bvsalud.org/brasil/?lang=pt&q=au%3A%22Hollyman%22") == (
        "a search page"
    )
    assert url_kind("https://pubmed.ncbi.nlm.nih.gov/?term=x") == "a search page"
    assert url_kind("https://example.org/search/results?x=1") == "a search page"
    for fine in (
        "https://searchworks.jioinstitute.edu.in/articles/cmedm__27339398",  # a record
        "http://www.biomedsearch.com/nih/Autologous-bone-marrow/23341981.html",
        "https://www.scienceopen.com/document?vid=734e2967",
        "https://doi.org/10.1/x",
        "http://[::1",  # malformed: not this rule's business
    ):
        assert url_kind(fine) == "", fine


def test_record_text_is_escaped(copy: Path):
    _rewrite(
        copy / "data" / "outcomes.csv",
        "alpha2010_trial,MSC,meld,level,6 mo,mean,12.1,points,18,Table 2,",
        "alpha2010_trial,MSC,meld,level,6 mo,mean,12.1,points,18,<img src=x onerror=alert(1)>,",
    )
    _rewrite(copy / "references.bib", "doi = {10.1000/alpha.2010},", "doi = {10.1000/a'><b>x},")
    data = evidence.load(copy)
    html = record_html(data, effect_row(data, MELD_CONTROL, "alpha2010_trial", "MSC"))
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "'><b>" not in html and all(record_link(h) for h in hrefs(html))


def test_a_click_on_a_forest_row_opens_its_record_beside_the_plot(appraisal_data):
    from evidence.app import App

    app = App(appraisal_data)
    app.apply_url("outcome=meld&effect=control&groups=MSC")
    view = app.compare
    assert view.record.value == HINT
    studies = next(t for t in view.forest.data if t.name == "studies")
    keys = [tuple(k) for k in studies.customdata]
    i = keys.index(("alpha2010_trial", "MSC"))
    click_point(view.forest, "studies", i)  # the message the browser's click sends
    assert "data-citekey='alpha2010_trial'" in view.record.value
    assert "Table 2" in view.record.value
    # the record sits beside the plot (same row), above the list of arms not in the plot
    # (the plot sits in its frame, where it scrolls sideways in a narrow window)
    assert view.forest_scroll.children == (view.forest_box,)
    assert view.forest_frame.children == (view.forest_scroll,)
    (row,) = [c for c in view.box.children if view.forest_frame in getattr(c, "children", ())]
    side = row.children[row.children.index(view.forest_frame) + 1]
    assert view.record in side.children
    # a point index that is not a study row, or no point, leaves the record alone
    click_point(view.forest, "studies", 999)
    assert "data-citekey='alpha2010_trial'" in view.record.value
    # another question that has no row for the arm says so, with the hint
    app.change("groups", "BM-MNC")
    assert "is not in this plot" in view.record.value and view.record.value.endswith(HINT)
    # a link without a record shows the hint alone
    app.apply_url("outcome=albumin&effect=change&groups=BM-MNC")
    assert view.record.value == HINT


def test_the_open_record_is_in_the_link_and_a_fresh_page_shows_it(appraisal_data):
    """The record is part of the view state: the click goes through the app's one change
    path, the link carries record=citekey~arm, and a new app at that link shows it."""
    from evidence.app import App

    app = App(appraisal_data)
    app.apply_url("outcome=meld&effect=control&groups=MSC")
    studies = next(t for t in app.compare.forest.data if t.name == "studies")
    i = [tuple(k) for k in studies.customdata].index(("alpha2010_trial", "MSC"))
    click_point(app.compare.forest, "studies", i)  # the message the browser's click sends
    assert app.state.record_key == ("alpha2010_trial", "MSC")
    assert app.url.query == "effect=control&groups=MSC&record=alpha2010_trial~MSC"
    shown = app.compare.record.value
    assert "data-citekey='alpha2010_trial'" in shown and "Table 2" in shown

    fresh = App(appraisal_data)
    fresh.apply_url("?" + app.url.query)
    assert fresh.state == app.state and fresh.notices == []
    assert fresh.compare.record.value == shown

    # under a question where the arm has no effect: the reason and the hint; the link keeps
    # the record, so back at a question that has the arm it shows again
    app.change("outcome", "albumin")
    absent = app.compare.record.value
    assert "Alpha 2010: arm MSC</b> is not in this plot: Albumin not reported" in absent
    assert absent.endswith(HINT) and "record=alpha2010_trial~MSC" in app.url.query
    app.change("outcome", "meld")
    assert app.compare.record.value == shown

    # a record that is not a study arm of the dataset: a notice (escaped), no record
    for bad in ("alpha2010_trial~HSC", "nosuch~MSC", "alpha2010_trial~<img src=x>"):
        fresh.apply_url("effect=control&record=" + bad)
        assert fresh.state.record == "" and fresh.compare.record.value == HINT
        assert "Unknown value for record" in fresh.notice.value
        assert "<img" not in fresh.notice.value


def test_the_studies_view_links_each_number_to_its_record_not_to_a_data_file_line(
    appraisal_data,
):
    """The Studies view's numbers say where in the paper each was read and link to the
    record that uses them (a click is handled in place, validated by the App); the lines
    of data/outcomes.csv are for authors (evidence validate), not on the viewer's page."""
    from evidence.app import App

    app = App(appraisal_data)
    app.apply_url("tab=studies&study=alpha2010_trial")
    detail = app.studies.detail.value
    assert "outcomes.csv" not in detail and "<th>read in</th>" in detail
    assert "<td>Table 2</td>" in detail  # the locator in the paper
    # a treated arm's numbers open its own record; the control arm's, the record of the arm
    # compared with it (versus control)
    assert (
        "<a href='?record=alpha2010_trial~MSC' class='ev-record-link' "
        "data-ev-record='alpha2010_trial~MSC' data-ev-outcome='meld' data-ev-effect='change'>"
        "open the record</a>"
    ) in detail
    assert (
        "<a href='?effect=control&amp;record=alpha2010_trial~MSC' class='ev-record-link' "
        "data-ev-record='alpha2010_trial~MSC' data-ev-outcome='meld' data-ev-effect='control'>"
        "record of arm MSC</a>"
    ) in detail
    # what the page sends on a click (url_sync.js): the record opens beside the forest plot
    app._url_message(
        app.url, {"open_record": "alpha2010_trial~MSC", "outcome": "meld", "effect": "control"}, []
    )
    assert app.state.tab == "compare" and app.state.question.effect == "control"
    # (the Studies view keeps its study: back on that tab, it is still open)
    assert app.url.query == "effect=control&study=alpha2010_trial&record=alpha2010_trial~MSC"
    assert app.notices == []
    assert "data-citekey='alpha2010_trial'" in app.compare.record.value
    # crafted messages change nothing and say why, escaped
    before = app.state
    for message in (
        {"open_record": "alpha2010_trial~<img src=x>", "outcome": "meld"},
        {"open_record": "alpha2010_trial~MSC", "outcome": "__import__('os')"},
        {"open_record": "alpha2010_trial~MSC", "effect": ["control"]},
        {"open_record": ["alpha2010_trial", "MSC", "x"]},
    ):
        app._url_message(app.url, message, [])
        assert app.state == before and len(app.notices) == 1, message
        assert "Ignored a record link" in app.notices[0] and "<img" not in app.notice.value


def test_appraisal_sources_that_name_no_record_are_warned_about(copy: Path):
    from evidence.appraisal import validate as validate_appraisal

    assert not [p for p in validate_appraisal(copy) if "does not name the record" in str(p)]
    rob = copy / "data" / "rob.csv"
    rob.write_text(
        rob.read_text(encoding="utf-8").replace(
            ",https://example.org/alpha", ",abstract http://10.0.0.7/alpha"
        ),
        encoding="utf-8",
    )
    found = [str(p) for p in validate_appraisal(copy) if "does not name the record" in str(p)]
    assert len(found) == 1, found  # one per study and address, counting its other rows
    assert found[0].startswith("data/rob.csv:2: warning: alpha2010_trial [source] ")
    assert "an IP address" in found[0] and "more rows of alpha2010_trial" in found[0]
