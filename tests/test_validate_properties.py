"""Property: whatever `validate` accepts, the later stages can read (issue 13).

Hypothesis builds small datasets inside the documented format (values at the edges of their
grammar and ranges: counts up to the bound, plausible extremes, unit conversions, quartiles,
changes, counts without totals, odd but printable text) and checks that `load()` and
`compare.effects`/`pool` run without an exception on every one `validate` calls clean.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import evidence
from evidence import compare
from evidence.data.fields import ARMS_TABLE, EXTERNAL_TABLE, OUTCOMES_TABLE
from evidence.data.grammar import MAX_COUNT, timepoint_months
from evidence.data.units import factor
from evidence.data.vocabulary import BINARY_OUTCOMES, PLAUSIBLE, POPULATIONS, UNITS
from evidence.dataset import validate

from .conftest import examples

CONTINUOUS = ("meld", "albumin", "bilirubin", "creatinine", "inr", "child_pugh")
COUNTED = ("deaths", "sae")
GROUPS = ("MSC+HSC", "MSC", "HSC", "BM-MNC")
DESIGNS = ("RCT", "non-randomised controlled", "single-arm", "case series")
FOLLOW_UPS = ("1 mo", "3 mo", "6 mo", "24 wk", "12 mo", "1 yr", "2 yr")
TIMEPOINTS = ("7 d", "4 wk", "1 mo", "3 mo", "12 wk", "6 mo", "26 wk", "12 mo", "1 yr", "2 yr")
# Printable text with commas, quotes, braces-free punctuation and non-ASCII letters.
TEXT = st.text(
    alphabet=st.characters(
        whitelist_categories=("L", "N", "P", "S", "Zs"), blacklist_characters="{}\\@%#~"
    ),
    max_size=12,
).map(str.strip)


@st.composite
def decimal_in(draw: st.DrawFn, low: float, high: float) -> str:
    """A number written with 0-3 decimals that lies in [low, high]."""
    places = draw(st.integers(0, 3))
    scale = 10**places
    first, last = math.ceil(low * scale * (1 + 1e-12)), math.floor(high * scale * (1 - 1e-12))
    if low < 0:
        first = math.ceil(low * scale * (1 - 1e-12))
    assume(first <= last)
    m = draw(st.integers(first, last) | st.sampled_from((first, last)))
    return f"{m / scale:.{places}f}"


@st.composite
def continuous_rows(draw: st.DrawFn, outcome: str, arm_n: int | None, tp: str) -> list[dict]:
    unit = draw(st.sampled_from(UNITS[outcome]))
    low, high = (v / factor(outcome, unit) for v in PLAUSIBLE[outcome])
    width = high - low
    quantity = draw(st.sampled_from(("level", "change")))
    location = (low, high) if quantity == "level" else (-width, width)
    times = ("baseline", tp) if quantity == "level" else (tp,)
    rows = []
    for t in times:
        if draw(st.booleans()):
            stats = {"mean": draw(decimal_in(*location))}
            stats[draw(st.sampled_from(("sd", "se")))] = draw(decimal_in(0, width))
        else:
            q = sorted((draw(decimal_in(*location)) for _ in range(3)), key=float)
            stats = dict(zip(("q1", "median", "q3"), q, strict=True))
        n = draw(st.none() | st.integers(1, arm_n)) if arm_n else None
        for statistic, value in stats.items():
            rows.append(
                dict(outcome=outcome, quantity=quantity, timepoint=t, statistic=statistic)
                | dict(value=value, unit=unit, n="" if n is None else str(n))
            )
    if draw(st.booleans()):
        p = draw(decimal_in(0, 1))
        rows.append(
            dict(outcome=outcome, quantity=quantity, timepoint=tp, statistic="p", value=p)
            | dict(unit="p", n="")
        )
    return rows


@st.composite
def counted_rows(draw: st.DrawFn, outcome: str, limit: int | None, arm_n: int | None, tp: str):
    base = dict(outcome=outcome, quantity="level", timepoint=tp, unit="patients", n="")
    if arm_n is not None and draw(st.booleans()):
        events = draw(st.integers(0, arm_n))  # no total: the arm's n is the denominator
        return [base | dict(statistic="events", value=str(events))]
    total = draw(st.integers(1, arm_n or limit or MAX_COUNT))
    events = draw(st.integers(0, total) | st.sampled_from((0, total)))
    return [
        base | dict(statistic="events", value=str(events)),
        base | dict(statistic="total", value=str(total)),
    ]


@st.composite
def studies(draw: st.DrawFn, i: int) -> tuple[str, list[dict], list[dict]]:
    key = f"s{i}_study"
    design = draw(st.sampled_from(DESIGNS))
    group = draw(st.sampled_from(GROUPS))
    follow_up = draw(st.none() | st.sampled_from(FOLLOW_UPS))
    counts = st.none() | st.integers(1, MAX_COUNT) | st.integers(1, 60)
    arms = [("T", group, draw(counts))]
    if design in ("RCT", "non-randomised controlled"):
        arms.append(("C", "control", draw(counts)))
    given_n = [n for _, _, n in arms if n is not None]
    n_total = None
    if sum(given_n) <= MAX_COUNT and draw(st.booleans()):
        n_total = draw(st.integers(max(sum(given_n), 1), MAX_COUNT))
    bib = {
        "author": "Studier, Sam",
        "title": draw(TEXT) or "A study",
        "journal": "Reports",
        "year": str(draw(st.integers(1990, 2025))),
        "doi": f"10.1000/s{i}",
        "kind": "study",
        "design": design,
        "species": "human",
        "population": draw(st.sampled_from([p for p in POPULATIONS if p != "animal model"])),
        "cell_groups": group,
        "confidence": "verified",
        "source": "abstract",
    }
    if follow_up:
        bib["follow_up"] = follow_up
    if n_total is not None:
        bib["n_total"] = str(n_total)
    ends = timepoint_months(follow_up) if follow_up else math.inf
    fits = [t for t in TIMEPOINTS if timepoint_months(t) <= ends] + ["end"]
    outcomes = draw(
        st.lists(st.sampled_from(CONTINUOUS + COUNTED), min_size=1, max_size=3, unique=True)
    )
    arm_records, rows = [], []
    for label, arm_group, n in arms:
        arm_records.append(
            dict(citekey=key, arm=label, group=arm_group, n="" if n is None else str(n))
            | dict(n_basis="randomised", locator="Table 1", confidence="verified", note=draw(TEXT))
        )
        for outcome in outcomes:
            tp = draw(st.sampled_from(fits))
            made = (
                draw(counted_rows(outcome, n_total, n, tp))
                if outcome in BINARY_OUTCOMES
                else draw(continuous_rows(outcome, n, tp))
            )
            for row in made:
                rows.append(
                    dict(citekey=key, arm=label, **row)
                    | dict(locator="Table 2", confidence="verified", source_url="", note=draw(TEXT))
                )
    return render_entry(key, bib), arm_records, rows


def render_entry(key: str, fields: dict[str, str]) -> str:
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields.items())
    return f"@article{{{key},\n{body}}}\n"


def render_csv(columns, rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@st.composite
def datasets(draw: st.DrawFn) -> dict[str, str]:
    k = draw(st.integers(1, 3))
    drawn = [draw(studies(i)) for i in range(k)]
    bib = "\n".join(entry for entry, _, _ in drawn)
    external = []
    if draw(st.booleans()):
        bib += render_entry(
            "m0_review",
            dict(author="Reviewer, Rae", title="A review", year="2020", doi="10.1000/m0")
            | dict(kind="meta-analysis", scope="cells", confidence="verified", source="abstract"),
        )
        width = PLAUSIBLE["meld"][1] - PLAUSIBLE["meld"][0]
        lb, est, ub = sorted((draw(decimal_in(-width, width)) for _ in range(3)), key=float)
        external.append(
            dict(citekey="m0_review", group="MSC", outcome="meld", comparison="versus control")
            | dict(timepoint="6 mo", measure="MD", estimate=est, ci_lb=lb)
            | dict(ci_ub=ub, unit="points", k=str(draw(st.integers(1, 50))))
            | dict(locator="Figure 2", confidence="verified", note="")
        )
    return {
        "references.bib": bib,
        ARMS_TABLE.path: render_csv(ARMS_TABLE.columns, [a for _, arms, _ in drawn for a in arms]),
        OUTCOMES_TABLE.path: render_csv(
            OUTCOMES_TABLE.columns, [r for *_, rows in drawn for r in rows]
        ),
        EXTERNAL_TABLE.path: render_csv(EXTERNAL_TABLE.columns, external),
    }


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(files=datasets())
def test_what_validate_accepts_the_later_stages_can_read(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "data").mkdir()
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8")
        errors = [p for p in validate(root) if p.severity == "error"]
        assume(not errors)
        data = evidence.load(root)
        for outcome in sorted(set(data.outcomes["outcome"])):
            for effect in ("change", "control"):
                question = compare.Question(outcome=outcome, effect=effect, confidence="seed-only")
                with warnings.catch_warnings():
                    # Degenerate inputs (an SD of 0, say) may warn; they must not raise.
                    warnings.simplefilter("ignore", RuntimeWarning)
                    frame = compare.effects(data, question)
                    compare.pool(frame, question)
