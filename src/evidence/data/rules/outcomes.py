"""Rules of data/outcomes.csv: rows link to arms, units and statistics fit the outcome, values are
plausible, and the numbers of one cell (arm x outcome x timepoint) agree with each other."""

from __future__ import annotations

from collections import defaultdict

from evidence.data import units
from evidence.data.grammar import TIMEPOINT, parse_number, timepoint_months
from evidence.data.problems import Problem, Reporter
from evidence.data.rules.links import report_orphan, study_entry
from evidence.data.tables import Row, Table
from evidence.data.vocabulary import (
    BINARY_OUTCOMES,
    LOCATION_STATISTICS,
    PLAUSIBLE,
    SPREAD_STATISTICS,
    UNITS,
)
from evidence.registry import BibEntry, Registry
from evidence.vocab import PLANNED, THIRD_PARTY

# (citekey, arm, outcome, quantity, timepoint): the numbers that describe one arm at one time.
Cell = tuple[str, str, str, str, str]


def outcome_problems(outcomes: Table, arms: Table, registry: Registry) -> list[Problem]:
    report = Reporter(outcomes.display)
    arm_rows = {(r["citekey"], r["arm"]): r for r in arms.rows}
    # An arms.csv without its key columns is reported there; one error, not one per row here.
    arms_readable = {"citekey", "arm"} <= set(arms.columns)
    seen: dict[tuple[str, ...], int] = {}
    cells: dict[Cell, dict[str, tuple[float, Row]]] = defaultdict(dict)
    limits: dict[Cell, tuple[float, str] | None] = {}
    for row in outcomes.rows:
        key, arm = row["citekey"], row["arm"]
        entry = study_entry(registry, key)
        if key and entry is None:
            report_orphan(report, row, registry)
            continue
        arm_row = arm_rows.get((key, arm))
        if key and arm and arm_row is None and arms_readable:
            known = sorted(a for (k, a) in arm_rows if k == key)
            report.error(
                row.line,
                key,
                "arm",
                f"arm {arm!r} is not in data/arms.csv",
                "one of " + ", ".join(map(repr, known))
                if known
                else "an arm defined in data/arms.csv",
            )
        value = _unit_and_statistic(report, row)
        statistic = row["statistic"]
        ident = (key, arm, row["outcome"], row["quantity"], row["timepoint"], statistic)
        if ident in seen:
            report.error(
                row.line,
                key,
                "statistic",
                f"{row['outcome']} {statistic} at {row['timepoint']} for arm {arm!r} "
                f"already given on line {seen[ident]}",
                "one row per number",
            )
        seen[ident] = row.line
        limit = _patient_limit(arm_row, entry)
        _provenance(report, row, registry)
        if arm_row is not None and arm_row["n_basis"] == PLANNED and not row["n"]:
            report.error(
                row.line,
                key,
                "arm",
                f"arm {arm!r} has only a planned size (n_basis planned): a number on it would "
                "take a target for a count of patients",
                "the arm's actual n and n_basis in data/arms.csv, or this number's own n",
            )
        if value is not None:
            _value_problems(report, row, value)
            cells[ident[:5]][statistic] = (value, row)
            limits[ident[:5]] = limit
        _n_and_source(report, row, limit)
        if entry is not None:
            _within_follow_up(report, row, entry)
    for cell, stats in cells.items():
        _consistency_problems(report, cell, stats, limits[cell])
    return report.problems


def _patient_limit(arm_row: Row | None, entry: BibEntry | None) -> tuple[float, str] | None:
    """The most patients a row can count, and whose number that is: the arm's n, else n_total."""
    arm_n = parse_number(arm_row["n"]) if arm_row else None
    if arm_n is not None:
        return arm_n, "the arm's n"
    n_total = parse_number(entry.get("n_total")) if entry else None
    return None if n_total is None else (n_total, "the study's n_total")


def _within_follow_up(report: Reporter, row: Row, entry: BibEntry) -> None:
    """A number cannot be measured after the study's follow-up ended."""
    follow_up, timepoint = entry.get("follow_up"), row["timepoint"]
    if not (TIMEPOINT.match(follow_up) and TIMEPOINT.match(timepoint)):
        return  # malformed values are reported by their field's spec
    ends, at = timepoint_months(follow_up), timepoint_months(timepoint)
    # 2% leeway: '26 wk' is the same follow-up as '6 mo'.
    if at > ends * 1.02:
        report.error(
            row.line,
            row["citekey"],
            "timepoint",
            f"timepoint {timepoint} is after the study's follow-up of {follow_up}",
            f"a timepoint up to {follow_up} (or correct follow_up in references.bib)",
        )


def _unit_and_statistic(report: Reporter, row: Row) -> float | None:
    """Check the unit and statistic fit the outcome; the value if it can be range-checked."""
    key, outcome, statistic, unit = row["citekey"], row["outcome"], row["statistic"], row["unit"]
    value = parse_number(row["value"])
    if outcome in UNITS and unit:
        allowed = (
            ("p",) if statistic == "p" else ("%",) if statistic == "percent" else UNITS[outcome]
        )
        if unit not in allowed:
            report.error(
                row.line,
                key,
                "unit",
                f"unit {unit!r} does not fit {outcome} {statistic}",
                "one of " + ", ".join(map(repr, allowed)),
            )
            value = None  # cannot range-check a number whose unit we do not know
    if outcome in BINARY_OUTCOMES and statistic not in ("events", "total", "percent", "p"):
        report.error(
            row.line,
            key,
            "statistic",
            f"{outcome} is counted, not measured: {statistic!r}",
            "'events', 'total', 'percent' or 'p'",
        )
    if (
        outcome in UNITS
        and outcome not in BINARY_OUTCOMES
        and statistic in ("events", "total", "percent")
    ):
        report.error(
            row.line,
            key,
            "statistic",
            f"{outcome} is measured, not counted: {statistic!r}",
            "mean, sd, se, median, q1, q3, min, max or p",
        )
    return value


def _n_and_source(report: Reporter, row: Row, limit: tuple[float, str] | None) -> None:
    """The row's own n fits in its arm (or study); secondary and seed-only numbers say so."""
    key = row["citekey"]
    n = parse_number(row["n"])
    if n is not None and limit is not None and n > limit[0]:
        most, whose = limit
        report.error(
            row.line,
            key,
            "n",
            f"n {int(n)} is above {whose} of {int(most)}",
            f"at most {int(most)}",
        )
    if row["confidence"] == "seed-only":
        report.warning(row.line, key, "confidence", "number stated only by the source article")


def _provenance(report: Reporter, row: Row, registry: Registry) -> None:
    """``secondary`` means read in a review's table: the locator names that review (a
    meta-analysis of the registry). A number read on a third-party copy of a study's own text
    is ``third-party`` and says where the copy is (``source_url``)."""
    key, confidence, locator = row["citekey"], row["confidence"], row["locator"]
    if confidence == "secondary":
        after = locator.removeprefix("secondary:") if locator.startswith("secondary:") else ""
        named = after.split()[:1]
        review = registry.get(named[0]) if named else None
        if review is None or review.get("kind") != "meta-analysis":
            report.error(
                row.line,
                key,
                "locator",
                "a secondary number must name the review it was read in"
                + (f" ({named[0]!r} is not a meta-analysis of references.bib)" if named else ""),
                "'secondary: <citekey of a review> <table>', or confidence third-party for a "
                "copy of the study's own text",
            )
    if confidence == THIRD_PARTY and not row["source_url"]:
        report.warning(
            row.line,
            key,
            "source_url",
            "a third-party number should say which copy it was read on",
            "the copy's URL",
        )


def _value_problems(report: Reporter, row: Row, value: float) -> None:
    statistic, outcome, key = row["statistic"], row["outcome"], row["citekey"]
    if statistic in SPREAD_STATISTICS and value < 0:
        report.error(row.line, key, "value", f"negative {statistic} {value:g}", f"{statistic} >= 0")
    if statistic == "p" and not 0 <= value <= 1:
        report.error(row.line, key, "value", f"p value {value:g} outside [0, 1]", "0 <= p <= 1")
    if statistic == "percent" and not 0 <= value <= 100:
        report.error(
            row.line, key, "value", f"percentage {value:g} outside [0, 100]", "0 <= percent <= 100"
        )
    if statistic in ("events", "total") and (value < 0 or not float(value).is_integer()):
        report.error(
            row.line,
            key,
            "value",
            f"{statistic} {value:g} is not a count",
            "a whole number >= 0",
        )
    if outcome in PLAUSIBLE and row["unit"] in UNITS.get(outcome, ()):
        _plausible(report, row, value)


def _plausible(report: Reporter, row: Row, value: float) -> None:
    """Levels within the outcome's plausible range; changes and spreads within its width."""
    outcome, statistic, quantity = row["outcome"], row["statistic"], row["quantity"]
    low, high = PLAUSIBLE[outcome]
    width = high - low
    canonical = value * units.factor(outcome, row["unit"])
    unit = units.canonical_unit(outcome)
    shown = f"{value:g} {row['unit']}" + (
        f" (= {canonical:.3g} {unit})" if row["unit"] != unit else ""
    )
    if statistic in LOCATION_STATISTICS and quantity == "level":
        if not low <= canonical <= high:
            report.error(
                row.line,
                row["citekey"],
                "value",
                f"{outcome} {statistic} {shown} is implausible",
                f"{low:g}-{high:g} {unit}",
            )
    elif statistic in LOCATION_STATISTICS and quantity == "change":
        if not -width <= canonical <= width:
            report.error(
                row.line,
                row["citekey"],
                "value",
                f"{outcome} change {statistic} {shown} is implausible",
                f"a change between -{width:g} and {width:g} {unit}",
            )
    elif statistic in SPREAD_STATISTICS and canonical > width:
        report.error(
            row.line,
            row["citekey"],
            "value",
            f"{outcome} {statistic} {shown} is implausible",
            f"at most {width:g} {unit} (the width of the plausible range)",
        )


# Statistics of one cell that must not exceed another: (low, high).
_ORDERED = (
    ("q1", "median"),
    ("median", "q3"),
    ("q1", "q3"),
    ("min", "max"),
    ("min", "q1"),
    ("q3", "max"),
    ("events", "total"),
)


def _consistency_problems(
    report: Reporter,
    cell: Cell,
    stats: dict[str, tuple[float, Row]],
    limit: tuple[float, str] | None,
) -> None:
    key, arm, outcome, _quantity, timepoint = cell
    for low, high in _ORDERED:
        if low in stats and high in stats and stats[low][0] > stats[high][0]:
            report.error(
                stats[high][1].line,
                key,
                "value",
                f"{high} {stats[high][0]:g} is below {low} {stats[low][0]:g} "
                f"({outcome} at {timepoint}, arm {arm!r})",
                f"{low} <= {high}",
            )
    # The count of patients is bounded by the arm (or the study); events by the total if given.
    counted = "total" if "total" in stats else "events"
    if counted in stats and limit is not None and stats[counted][0] > limit[0]:
        most, whose = limit
        report.error(
            stats[counted][1].line,
            key,
            "value",
            f"{counted} {stats[counted][0]:g} is above {whose} of {most:g}",
            f"at most {most:g}",
        )
    for spread in ("sd", "se"):
        if spread in stats and "mean" not in stats:
            report.warning(
                stats[spread][1].line,
                key,
                "statistic",
                f"{spread} without a mean ({outcome} at {timepoint})",
                "a mean row beside it",
            )
    if "events" in stats and "total" not in stats and (limit is None or limit[1] != "the arm's n"):
        report.warning(
            stats["events"][1].line,
            key,
            "statistic",
            f"events without a total or an arm n ({outcome} at {timepoint})",
            "a total row or the arm's n",
        )
