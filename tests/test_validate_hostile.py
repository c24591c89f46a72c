"""Hostile input that the one-edit variants of broken.toml cannot express (issue 13): byte-order
marks, empty files, several edits at once, appraisal files, and the order of messages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import evidence
from evidence import appraisal, compare
from evidence.cli import main
from evidence.data.grammar import TIMEPOINT, parse_number, timepoint_months
from evidence.dataset import validate

from .conftest import FIXTURES


def _data_file(path: Path) -> bool:
    """A file of the dataset; the lock file a writer takes (empty, gitignored) is not data."""
    return path.is_file() and path.name != ".evidence.lock"


BOM = b"\xef\xbb\xbf"
SNIPPET = (
    "@article{zeta2019_trial,\n  author = {Zeta, Zoe},\n  title = {A pilot trial},\n"
    "  journal = {Reports},\n  year = {2019},\n  doi = {10.1000/zeta.2019},\n}\n"
)
ADD_OPTIONS = (
    *("--design", "RCT", "--species", "human", "--population", "decompensated cirrhosis"),
    *("--cell-groups", "MSC", "--confidence", "verified", "--source", "abstract"),
    *("--arm", "MSC=MSC:15"),
)


@pytest.fixture
def appraisal_copy(tmp_path: Path) -> Path:
    target = tmp_path / "appraised"
    shutil.copytree(FIXTURES / "appraisal" / "valid", target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def errors(root: Path) -> list[str]:
    return [str(p) for p in validate(root) + appraisal.validate(root) if p.severity == "error"]


@pytest.mark.parametrize(
    "name",
    ["arms.csv", "outcomes.csv", "external.csv", "claims.csv", "rob.csv", "grade.csv"],
)
def test_a_byte_order_mark_is_accepted_in_every_csv(appraisal_copy, name, capsys):
    path = appraisal_copy / "data" / name
    path.write_bytes(BOM + path.read_bytes())
    assert main(["validate", "--root", str(appraisal_copy), "-q"]) == 0, capsys.readouterr().out
    data = evidence.load(appraisal_copy)
    assert "citekey" in data.arms.columns and len(data.arms) > 0


def test_an_empty_arms_file_is_one_clear_error(valid_copy, capsys):
    (valid_copy / "data" / "arms.csv").write_text("", encoding="utf-8")
    assert main(["validate", "--root", str(valid_copy)]) == 1
    out = capsys.readouterr().out
    assert "Traceback" not in out
    # One error that says what is wrong, not one per outcome row about missing arms.
    assert [line for line in out.splitlines() if ": error:" in line] == [
        "data/arms.csv:1: error: file is empty; expected a header row: "
        "citekey,arm,group,n,n_basis,locator,confidence,note,comparator"
    ]


def test_add_refuses_an_empty_arms_file_without_a_traceback(valid_copy, capsys):
    (valid_copy / "data" / "arms.csv").write_text("", encoding="utf-8")
    snippet = valid_copy / "new.bib"
    snippet.write_text(SNIPPET, encoding="utf-8")
    before = {p: p.read_bytes() for p in valid_copy.rglob("*") if _data_file(p)}
    code = main(["add", str(snippet), "--root", str(valid_copy), *ADD_OPTIONS])
    captured = capsys.readouterr()
    assert code == 1
    assert "data/arms.csv:1: error: file is empty" in captured.out
    assert {p: p.read_bytes() for p in valid_copy.rglob("*") if _data_file(p)} == before


def test_add_appends_to_a_csv_that_starts_with_a_byte_order_mark(valid_copy, capsys):
    arms = valid_copy / "data" / "arms.csv"
    arms.write_bytes(BOM + arms.read_bytes())
    snippet = valid_copy / "new.bib"
    snippet.write_text(SNIPPET, encoding="utf-8")
    code = main(["add", str(snippet), "--root", str(valid_copy), *ADD_OPTIONS])
    assert code == 0, capsys.readouterr()
    data = arms.read_bytes()
    assert data.startswith(BOM) and data.count(BOM) == 1
    assert data.endswith(b"zeta2019_trial,MSC,MSC,15,,,,\n")


def test_an_outcome_n_is_bounded_by_n_total_when_the_arm_has_no_n(valid_copy):
    edit(valid_copy / "data/arms.csv", "BM-MNC,BM-MNC,10,treated,Table 1", "BM-MNC,BM-MNC,,,")
    edit(valid_copy / "data/outcomes.csv", "4 mo,mean,3.73,g/dL,,", "4 mo,mean,3.73,g/dL,11,")
    assert errors(valid_copy) == [
        "data/outcomes.csv:17: error: gamma2012_series [n] n 11 is above the study's n_total "
        "of 10; expected at most 10"
    ]


def test_a_total_is_bounded_by_n_total_when_the_arm_has_no_n(valid_copy):
    edit(
        valid_copy / "data/arms.csv",
        "alpha2010_trial,MSC,MSC,20,randomised",
        "alpha2010_trial,MSC,MSC,,",
    )
    edit(
        valid_copy / "data/outcomes.csv",
        "MSC,deaths,level,6 mo,total,20,",
        "MSC,deaths,level,6 mo,total,41,",
    )
    assert errors(valid_copy) == [
        "data/outcomes.csv:12: error: alpha2010_trial [value] total 41 is above the study's "
        "n_total of 40; expected at most 40"
    ]


def test_a_control_character_in_an_appraisal_file_is_refused(appraisal_copy):
    edit(appraisal_copy / "data/grade.csv", "sicker than", "sicker\x0cthan")
    assert errors(appraisal_copy) == [
        "data/grade.csv:2: error: [reason] control character U+000C in the text; "
        "expected printable text"
    ]


@pytest.mark.parametrize(
    ("row", "what"),
    [
        ("meld,HSC,control", "meld numbers for HSC versus control"),
        ("albumin,MSC,control", "albumin numbers for MSC versus control"),
    ],
)
def test_a_grade_override_for_a_comparison_the_data_lacks_is_refused(appraisal_copy, row, what):
    edit(appraisal_copy / "data/grade.csv", "meld,MSC,control,", row + ",")
    assert errors(appraisal_copy) == [
        f"data/grade.csv:2: error: [group] no {what} in data/outcomes.csv: the override applies "
        "to nothing; expected an outcome, group and effect the data has"
    ]


def test_a_grade_override_for_a_change_the_data_has_is_accepted(appraisal_copy):
    edit(appraisal_copy / "data/grade.csv", "meld,MSC,control,", "albumin,MSC,change,")
    assert errors(appraisal_copy) == []


@pytest.mark.slow  # six fresh interpreters: the full run only
def test_messages_come_in_the_same_order_on_every_run(appraisal_copy):
    # Two controlled studies without a risk-of-bias record: same file, line, field and message,
    # told apart only by citekey (their order used to follow Python's string hashing).
    edit(
        appraisal_copy / "references.bib", "design = {non-randomised controlled}", "design = {RCT}"
    )
    rob = appraisal_copy / "data" / "rob.csv"
    rob.write_text(rob.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    code = "import sys; from evidence.cli import main; main(['validate', '--root', sys.argv[1]])"
    # Six hash seeds, six interpreters run side by side (validate only reads the copy).
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(appraisal_copy)],
            env=os.environ | {"PYTHONHASHSEED": str(seed)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(6)
    ]
    outputs = {run.communicate(timeout=300)[0] for run in runs}
    assert len(outputs) == 1
    (out,) = outputs
    lines = [line for line in out.splitlines() if "RCT study has no risk-of-bias record" in line]
    assert [line.split()[2] for line in lines] == ["alpha2010_trial", "beta2014_cohort"]


@pytest.mark.parametrize(
    "text", ["6 mo\n", "\uff16 mo", "6\u00a0mo", "1_2 mo", "6 mo ", "6 MO", "6.mo", "6. mo"]
)
def test_the_timepoint_grammar_is_strict(text):
    assert TIMEPOINT.match(text) is None
    with pytest.raises(ValueError):
        timepoint_months(text)


@pytest.mark.parametrize(
    "text", ["1_7.9", "1e3", "8e0", "inf", "nan", "\uff11", "0x10", "1.", "--1", "1,5", "½"]
)
def test_the_number_grammar_is_strict(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "value"), [("17.9", 17.9), ("-0.5", -0.5), ("+2", 2.0), (".5", 0.5)]
)
def test_the_number_grammar_reads_plain_decimals(text, value):
    assert parse_number(f" {text} ") == value


def test_a_zero_sd_is_left_out_with_a_reason_instead_of_crashing_the_pooling(valid_copy):
    # Found by test_validate_properties: validate accepts an SD of 0 (an IQR of 0 is honest for
    # a small group's integer score), and rma raised on its infinite weight.
    outcomes = valid_copy / "data/outcomes.csv"
    edit(outcomes, "MSC,meld,level,6 mo,sd,4.0,", "MSC,meld,level,6 mo,sd,0,")
    edit(outcomes, "control,meld,level,6 mo,sd,5.0,", "control,meld,level,6 mo,sd,0,")
    assert errors(valid_copy) == []
    data = evidence.load(valid_copy)
    question = compare.Question(outcome="meld", effect="control", groups=("MSC",))
    frame = compare.effects(data, question)
    row = frame[frame["citekey"] == "alpha2010_trial"].iloc[0]
    assert not row["included"] and "no sampling variance" in row["reason"]
    assert compare.pool(frame, question).groups["MSC"] is None


@pytest.mark.parametrize("timepoint", ["6 mo\n", "99999999999 yr", "\uff16 mo"])
def test_add_refuses_a_timepoint_outside_the_grammar(valid_copy, timepoint, capsys):
    snippet = valid_copy / "new.bib"
    snippet.write_text(SNIPPET, encoding="utf-8")
    before = {p: p.read_bytes() for p in valid_copy.rglob("*") if _data_file(p)}
    args = ["add", str(snippet), "--root", str(valid_copy), *ADD_OPTIONS, "--timepoint", timepoint]
    assert main(args) == 1
    assert "is not a follow-up timepoint" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in valid_copy.rglob("*") if _data_file(p)} == before


def test_the_data_package_timepoint_pattern_has_no_python_only_anchor():
    from evidence.export.datapackage import field_schema
    from evidence.schema import OUTCOMES_SPEC

    pattern = field_schema(OUTCOMES_SPEC["timepoint"])["constraints"]["pattern"]
    assert "\\Z" not in pattern and "$" not in pattern and not pattern.startswith("^")


@pytest.mark.parametrize(
    ("key", "message"),
    [("Alpha2010_trial", "only in case"), ("zeta 2019", "contains ' '")],
)
def test_add_refuses_a_citekey_bibtex_would_reject_or_confuse(valid_copy, key, message, capsys):
    snippet = valid_copy / "new.bib"
    snippet.write_text(SNIPPET.replace("zeta2019_trial", key), encoding="utf-8")
    before = {p: p.read_bytes() for p in valid_copy.rglob("*") if _data_file(p)}
    assert main(["add", str(snippet), "--root", str(valid_copy), *ADD_OPTIONS]) == 1
    assert message in capsys.readouterr().out
    assert {p: p.read_bytes() for p in valid_copy.rglob("*") if _data_file(p)} == before


def _fields(text: str) -> tuple[dict[str, str], list[str]]:
    from evidence.registry import parse_registry

    registry = parse_registry(text, Path("x.bib"), "x.bib")
    return registry.entries[-1].fields, [str(p) for p in registry.problems]


def test_string_macros_chain_and_concatenate_as_bibtex_does():
    fields, problems = _fields(
        '@string{a = {Alpha}}\n@string{b = a # { Beta}}\n@string{c = "Q " # b}\n'
        '@article{k, title = c # {: C# {and} x#y}, note = {a} # " b " # 2010}\n'
    )
    assert problems == []
    assert fields["title"] == "Q Alpha Beta: C# {and} x#y"
    assert fields["note"] == "a b 2010"


def test_a_macro_used_before_its_definition_or_in_a_loop_is_refused():
    _, problems = _fields(
        "@string{l1 = l2}\n@string{l2 = l1}\n@article{k, title = {T}, journal = l2}\n"
    )
    assert problems == [
        "x.bib:1: error: @string{l1}: undefined @string macro 'l2'; expected a value in {braces}"
        " or a defined @string (a macro is defined before it is used)"
    ]


def test_add_refuses_a_note_that_would_break_the_bibtex(valid_copy, capsys):
    snippet = valid_copy / "new.bib"
    snippet.write_text(SNIPPET, encoding="utf-8")
    before = {p: p.read_bytes() for p in valid_copy.rglob("*") if _data_file(p)}
    args = ["add", str(snippet), "--root", str(valid_copy), *ADD_OPTIONS, "--note", "ends in \\"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    # refused as an option value, naming the field, before the entry is even built
    assert "[note] ends with a backslash" in captured.out
    assert {p: p.read_bytes() for p in valid_copy.rglob("*") if _data_file(p)} == before


def test_add_from_stdin_that_is_not_utf8_exits_2_in_one_line(valid_copy):
    before = {p: p.read_bytes() for p in valid_copy.rglob("*") if _data_file(p)}
    code = "import sys; from evidence.cli import main; sys.exit(main(sys.argv[1:]))"
    run = subprocess.run(
        [sys.executable, "-c", code, "add", "-", "--root", str(valid_copy), *ADD_OPTIONS],
        input=SNIPPET.replace("A pilot trial", "\u00e9t\u00e9").encode("latin-1"),
        capture_output=True,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.decode().strip() == (
        "evidence: <stdin>:3: cannot read: not valid UTF-8 (byte 0xe9); send UTF-8"
    )
    assert {p: p.read_bytes() for p in valid_copy.rglob("*") if _data_file(p)} == before
