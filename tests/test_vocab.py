"""One vocabulary: every copy derives from ``evidence.vocab``, and adding an outcome is one record.

The toy-outcome test does what ``docs/extending.md`` tells a developer to do: it adds one
``Outcome`` record to a copy of ``src/evidence/vocab.py`` (nothing else in the package changes),
adds rows to a copy of the fixture data, and finds the outcome in the dashboard's choices, the
report and the validator, in a fresh interpreter that imports the copied package.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evidence import vocab
from evidence.appraisal import rob
from evidence.appraisal.grade import OUTCOME_WORDS
from evidence.appraisal.schema import GRADE_GROUPS, GRADE_OUTCOMES, JUDGEMENTS, TOOLS
from evidence.changes import TRACKED_GROUPS, TRACKED_OUTCOMES
from evidence.compare import LOWER_IS_BETTER, OUTCOME_LABELS, Question
from evidence.figures.palette import GROUP_COLOURS, ROB_SYMBOLS
from evidence.report import REPORT_OUTCOMES, Settings
from evidence.schema import BINARY_OUTCOMES, OUTCOMES, PLAUSIBLE, UNITS
from evidence.units import TO_CANONICAL, convert

from .conftest import FIXTURES, ROOT

TOY = (
    '    Outcome("toy_platelets", "Toy platelet count", "the toy platelet count", False, False,'
    ' (("10^9/L", 1.0), ("10^3/uL", 1.0)), (5, 1000), True),\n'
)
TOY_ROWS = [
    "alpha2010_trial,MSC,toy_platelets,level,baseline,mean,80,10^9/L,,Table 3,verified,,",
    "alpha2010_trial,MSC,toy_platelets,level,baseline,sd,20,10^9/L,,Table 3,verified,,",
    "alpha2010_trial,MSC,toy_platelets,level,6 mo,mean,95,10^3/uL,,Table 3,verified,,",
    "alpha2010_trial,MSC,toy_platelets,level,6 mo,sd,25,10^3/uL,,Table 3,verified,,",
]
PROBE = """
import json, sys
from pathlib import Path

import pytest
import evidence
from evidence.app.controls import Controls
from evidence.app.state import DEFAULT, parse_query
from evidence.dataset import validate
from evidence import report

good, bad = Path(sys.argv[1]), Path(sys.argv[2])
controls = Controls(DEFAULT)
state, notices = parse_query("outcome=toy_platelets")
html = report.build(evidence.load(good)).html
print(json.dumps({
    "module": evidence.__file__,
    "choices": [v for _, v in controls.widgets["outcome"].options],
    "state": state.question.outcome, "notices": notices,
    "report": "Toy platelet count" in html,
    "good": [str(p) for p in validate(good) if p.severity == "error"],
    "bad": [str(p) for p in validate(bad) if p.severity == "error"],
}))
"""


def test_derived_tables_agree_with_the_records():
    records = vocab.OUTCOME_RECORDS
    assert tuple(OUTCOME_LABELS) == OUTCOMES == tuple(o.code for o in records)
    assert {o.code for o in records if o.lower_is_better} == LOWER_IS_BETTER
    assert tuple(o.code for o in records if o.counted) == BINARY_OUTCOMES
    assert {o.code: tuple(u for u, _ in o.units) for o in records} == UNITS
    assert {o.code: o.plausible for o in records if o.plausible} == PLAUSIBLE
    assert GRADE_OUTCOMES == REPORT_OUTCOMES == TRACKED_OUTCOMES == vocab.MAIN_OUTCOMES
    assert set(OUTCOME_WORDS) == set(vocab.MAIN_OUTCOMES)
    assert GRADE_GROUPS == TRACKED_GROUPS == Question().groups == Settings().base.groups
    assert Question().confidence == Settings().base.confidence == vocab.DEFAULT_CONFIDENCE
    assert TOOLS == vocab.TOOLS and JUDGEMENTS == vocab.JUDGEMENTS
    assert rob.SYMBOLS is ROB_SYMBOLS is vocab.ROB_SYMBOLS
    assert set(vocab.ARM_GROUPS) <= set(GROUP_COLOURS)


def test_unit_factors_come_from_the_records():
    assert convert(1.0, "albumin", "g/dL", "g/L") == 10.0
    assert TO_CANONICAL[("bilirubin", "umol/L")] == 1 / 17.104
    for o in vocab.OUTCOME_RECORDS:
        assert o.units[0][1] == 1.0, f"{o.code}: the canonical unit's factor is 1"
        assert (o.plausible is None) == o.counted, f"{o.code}: a level range iff continuous"


def test_every_outcome_has_words_and_known_defaults():
    assert vocab.DEFAULT_OUTCOME in vocab.OUTCOMES
    assert set(vocab.DEFAULT_GROUPS) <= set(vocab.CELL_GROUPS)
    assert vocab.DEFAULT_CONFIDENCE in vocab.CONFIDENCES
    assert set(vocab.ROB_SYMBOLS) == set(vocab.ALL_JUDGEMENTS)
    assert set(vocab.TOOL_FOR_DESIGN) == set(vocab.DESIGNS)
    for o in vocab.OUTCOME_RECORDS:
        assert o.label and o.words and o.units


@pytest.mark.slow  # a copy of the package in a fresh interpreter: app, report and validator
def test_a_toy_outcome_added_to_the_vocabulary_alone_reaches_app_report_and_validator(
    tmp_path: Path,
):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
    module = src / "evidence" / "vocab.py"
    text = module.read_text(encoding="utf-8")
    end = "\n)\n\nOUTCOMES: tuple[str, ...]"
    assert text.count(end) == 1, "the OUTCOME_RECORDS tuple's end moved: update this test"
    module.write_text(text.replace(end, "\n" + TOY.rstrip("\n") + end, 1), encoding="utf-8")

    good, bad = tmp_path / "good", tmp_path / "bad"
    shutil.copytree(FIXTURES / "valid", good)
    with (good / "data" / "outcomes.csv").open("a", encoding="utf-8") as f:
        f.write("\n".join(TOY_ROWS) + "\n")
    shutil.copytree(good, bad)
    rows = (bad / "data" / "outcomes.csv").read_text(encoding="utf-8")
    (bad / "data" / "outcomes.csv").write_text(
        rows.replace("6 mo,mean,95,10^3/uL", "6 mo,mean,95000,10^3/uL"), encoding="utf-8"
    )

    env = {**os.environ, "PYTHONPATH": str(src)}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(good), str(bad)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["module"].startswith(str(src)), "the probe must import the copied package"
    assert "toy_platelets" in seen["choices"]
    assert seen["state"] == "toy_platelets" and seen["notices"] == []
    assert seen["report"]
    assert seen["good"] == []
    assert len(seen["bad"]) == 1 and "toy_platelets" in seen["bad"][0], seen["bad"]
    assert "95000" in seen["bad"][0] and "plausible" in seen["bad"][0], seen["bad"]


# --- docs/data-format.md is tested against the vocabulary ---------------------------------------

DATA_FORMAT = ROOT / "docs" / "data-format.md"
#: (section heading, field) -> the vocabulary the table row must list, in order.
DOC_ROWS = {
    ("references.bib", "kind"): vocab.KINDS,
    ("references.bib", "design"): vocab.DESIGNS,
    ("references.bib", "species"): vocab.SPECIES,
    ("references.bib", "population"): vocab.POPULATIONS,
    ("references.bib", "cell_groups"): vocab.CELL_GROUPS,
    ("references.bib", "cell_origin"): vocab.CELL_ORIGINS,
    ("references.bib", "cell_tissue"): vocab.CELL_TISSUES,
    ("references.bib", "route"): vocab.ROUTES,
    ("references.bib", "confidence"): vocab.CONFIDENCES,
    ("data/arms.csv", "group"): vocab.ARM_GROUPS,
    ("data/arms.csv", "n_basis"): vocab.N_BASES,
    ("data/arms.csv", "confidence"): vocab.CONFIDENCES,
    ("data/outcomes.csv", "outcome"): vocab.OUTCOMES,
    ("data/outcomes.csv", "confidence"): vocab.CONFIDENCES,
}


def _doc_sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## `([^`]+)`\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _factor_note(canonical: str, unit: str, factor: float) -> str:
    if factor >= 1:
        return f"1 {unit} = {factor:.6g} {canonical}"
    return f"1 {canonical} = {1 / factor:.6g} {unit}"


def units_table() -> str:
    """The units table of docs/data-format.md, as the Outcome records give it."""
    rows: dict[tuple[str, str], list[str]] = {}
    for o in vocab.OUTCOME_RECORDS:
        canonical = o.canonical_unit
        units = ", ".join(f"`{u}`" for u, _ in o.units)
        notes = [_factor_note(canonical, u, f) for u, f in o.units[1:]]
        if o.counted:
            units += " (statistics `events` and `total`)"
        elif notes:
            units += f" ({'; '.join(notes)})"
        low, high = o.plausible or (None, None)
        plausible = f"{low:g} to {high:g}" if o.plausible else "(counts)"
        rows.setdefault((units, plausible), []).append(f"`{o.code}`")
    lines = ["| outcome | units (canonical first) | plausible level (canonical unit) |"]
    lines.append("|---|---|---|")
    lines += [f"| {', '.join(codes)} | {u} | {p} |" for (u, p), codes in rows.items()]
    lines.append("| any outcome, statistic `p` | `p` | 0 to 1 |")
    return "\n".join(lines) + "\n"


def test_data_format_tables_list_the_vocabulary():
    sections = _doc_sections(DATA_FORMAT.read_text(encoding="utf-8"))
    wrong = []
    for (section, name), expected in DOC_ROWS.items():
        row = re.search(rf"^\| `{re.escape(name)}` \|[^|]*\|([^\n]*)\|$", sections[section], re.M)
        assert row, f"docs/data-format.md: no row for `{name}` under {section}"
        listed = tuple(v for v in re.findall(r"`([^`]+)`", row.group(1)) if v != ";")
        if listed != tuple(expected):
            wrong.append(f"{section} `{name}`: docs list {listed}, the vocabulary {expected}")
    assert wrong == [], "docs/data-format.md disagrees with evidence.vocab:\n" + "\n".join(wrong)


def test_data_format_units_table_is_generated_from_the_records():
    text = DATA_FORMAT.read_text(encoding="utf-8")
    begin, end = "<!-- units:begin (tests/test_vocab.py) -->\n", "<!-- units:end -->"
    assert begin in text and end in text, "docs/data-format.md lost its units markers"
    current = text[text.index(begin) + len(begin) : text.index(end)]
    assert current == units_table(), (
        "docs/data-format.md's units table is stale; between the markers it should read:\n"
        + units_table()
    )


def test_outcome_facts_used_by_rules_and_sentences_come_from_the_records():
    from evidence.appraisal.grade.words import OUTCOME_EVENTS
    from evidence.data.rules.consistency import WHOLE_NUMBER_SCORES

    assert WHOLE_NUMBER_SCORES == ("meld", "child_pugh", "meld_na")
    assert OUTCOME_EVENTS == {"deaths": "died", "sae": "had a serious adverse event"}
    assert all(vocab.outcome(code).counted for code in OUTCOME_EVENTS)
