"""evidence.text: source lines travel as data (a tuple per effect) and become text only here."""

from __future__ import annotations

import evidence
from evidence.compare import Question, effects
from evidence.text import read_in, source_text, with_read_in, with_source_text

from .conftest import FIXTURES


def test_source_text_names_the_file_and_its_lines():
    assert source_text("data/outcomes.csv", (2, 3, 5)) == "data/outcomes.csv:2,3,5"
    assert source_text("data/outcomes.csv", ()) == ""
    assert source_text("data/outcomes.csv", None) == ""  # a hand-built frame's empty cell
    assert source_text(None, (2,)) == ""


def test_effects_carry_source_lines_as_tuples_of_rows_of_their_file():
    data = evidence.load(FIXTURES / "valid")
    frame = effects(data, Question(outcome="meld", groups=("MSC", "BM-MNC", "control")))
    lines = set(data.outcomes["source_line"])
    for file, rows, included in frame[["source_file", "source_lines", "included"]].itertuples(
        index=False
    ):
        assert file == "data/outcomes.csv"
        assert isinstance(rows, tuple) and all(type(x) is int for x in rows)
        assert set(rows) <= lines and list(rows) == sorted(set(rows))
        assert bool(rows) or not included  # an included effect rests on numbers
    assert "sources" not in frame


def test_files_for_readers_get_the_text_in_place_of_the_data():
    data = evidence.load(FIXTURES / "valid")
    frame = effects(data, Question(outcome="meld", groups=("MSC", "BM-MNC", "control")))
    out = with_source_text(frame)
    assert "source_lines" not in out and "source_file" not in out
    columns = list(frame.columns)
    assert list(out.columns).index("sources") == columns.index("source_file")
    for text, rows in zip(out["sources"], frame["source_lines"], strict=True):
        assert text == (f"data/outcomes.csv:{','.join(map(str, rows))}" if rows else "")


def test_read_in_names_each_locator_once_in_order():
    locator_of = {2: "Table 2", 3: "Table 2", 4: "abstract", 5: ""}
    assert read_in((2, 3, 4), locator_of) == "Table 2; abstract"
    assert read_in((5, 9), locator_of) == ""  # no locator (or a line not in the file): nothing
    assert read_in(None, locator_of) == ""
    data = evidence.load(FIXTURES / "valid")
    q = Question(outcome="meld", effect="control", groups=("MSC",))
    frame = with_read_in(effects(data, q), data.outcomes)
    (alpha,) = frame.loc[frame["citekey"] == "alpha2010_trial", "locators"]
    assert alpha == "Table 2"


def test_the_reports_forest_hover_cites_locators_not_data_file_lines():
    from evidence import report
    from evidence.compare import pool
    from evidence.figures import forest_plot

    data = evidence.load(FIXTURES / "valid")
    built = report.build(data, report.Settings(outcomes=("meld",), effects=("control",)))
    assert "read in: Table 2" in built.html
    q = Question(outcome="meld", effect="control", groups=("MSC",))
    fig = forest_plot(pool(with_read_in(effects(data, q), data.outcomes), q))
    hovers = next(t for t in fig.data if t.name == "studies").hovertext
    assert hovers and all("outcomes.csv" not in h for h in hovers)
