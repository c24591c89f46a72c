"""Internal-consistency checks of extracted numbers (warnings), the checks research-integrity
tools run on a paper's numbers:

- **p vs summary statistics**: a stored two-group p value against the p recomputed from the two
  arms' means, SDs and n at the same visit (Student and Welch t tests, over the rounding of the
  printed values), with the n per arm that would make them agree;
- **GRIM** (Brown and Heathers 2017): a mean of whole-number scores (MELD, MELD-Na, Child-Pugh) is
  a whole total divided by n, so not every printed mean is possible for a given n;
- **SD and range**: an SD larger than a bounded score allows for its mean (or than a reported
  min-max allows), or smaller than a reported min-max allows;
- **percentages vs counts**: a printed percentage against events over the denominator in use.

Each finding is a warning naming file:line, citekey and field, with what would agree: a reader
decides what to do (the numbers are never changed here).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable

from evidence.data.grammar import parse_number
from evidence.data.problems import Problem, Reporter
from evidence.data.tables import Row, Table
from evidence.data.vocabulary import PLAUSIBLE
from evidence.distributions import stdtr
from evidence.vocab import OUTCOME_RECORDS, PLANNED

#: Scores that are whole numbers per patient (GRIM applies to their means).
WHOLE_NUMBER_SCORES = tuple(o.code for o in OUTCOME_RECORDS if o.whole_number)

Key = tuple[str, str, str, str, str]  # citekey, arm, outcome, quantity, timepoint


def consistency_problems(outcomes: Table, arms: Table) -> list[Problem]:
    """Every consistency warning of data/outcomes.csv (arms.csv gives n and comparators)."""
    report = Reporter(outcomes.display)
    arm_rows = {(r["citekey"], r["arm"]): r for r in arms.rows}
    cells: dict[Key, dict[str, Row]] = defaultdict(dict)
    for row in outcomes.rows:
        if parse_number(row["value"]) is None:
            continue  # malformed values are reported by their field's spec
        key = (row["citekey"], row["arm"], row["outcome"], row["quantity"], row["timepoint"])
        cells[key][row["statistic"]] = row
    for key, stats in cells.items():
        n, n_from = _n_of(stats, arm_rows.get(key[:2]))
        _grim(report, key, stats, n, n_from)
        _sd_range(report, key, stats, n)
        _percent(report, key, stats, n, n_from)
        if "p" in stats:
            _p_value(report, key, stats, cells, arm_rows)
    return report.problems


def _n_of(stats: dict[str, Row], arm: Row | None) -> tuple[float | None, str]:
    """The n behind a cell: a number's own n, else the arm's n (never a planned one)."""
    for row in stats.values():
        n = parse_number(row["n"])
        if n is not None:
            return n, "the number's own n"
    if arm is None or arm["n_basis"] == PLANNED:
        return None, ""
    return parse_number(arm["n"]), f"the arm's n ({arm['n_basis'] or 'basis not stated'})"


def _decimals(text: str) -> int:
    _, _, frac = text.strip().lstrip("+-").partition(".")
    return len(re.sub(r"[eE].*", "", frac))


def _rounds_to(x: float, printed: float, decimals: int) -> bool:
    """True if ``x`` prints as ``printed`` at ``decimals`` places, rounding half up or down."""
    half = 0.5 * 10.0**-decimals
    return printed - half - 1e-9 <= x <= printed + half + 1e-9


# --- GRIM ---------------------------------------------------------------------------------------


def grim_consistent(mean: float, decimals: int, n: int) -> bool:
    """Whether some whole total T gives a mean T / n that prints as ``mean``."""
    total = mean * n
    return any(_rounds_to(t / n, mean, decimals) for t in (math.floor(total), math.ceil(total)))


def _grim(report: Reporter, key: Key, stats: dict[str, Row], n: float | None, n_from: str) -> None:
    row = stats.get("mean")
    if row is None or key[2] not in WHOLE_NUMBER_SCORES or n is None:
        return
    mean, decimals = float(row["value"]), _decimals(row["value"])
    if decimals == 0 or n >= 10**decimals or grim_consistent(mean, decimals, int(n)):
        return  # with n >= 10^decimals every printed mean is possible
    fits = [m for m in range(2, int(2 * n) + 1) if grim_consistent(mean, decimals, m)]
    near = sorted(fits, key=lambda m: (abs(m - n), m))[:3]
    report.warning(
        row.line,
        key[0],
        "value",
        f"GRIM: a mean {key[2]} of {row['value']} ({key[4]}, arm {key[1]!r}) is not possible "
        f"for {int(n)} whole-number scores ({n_from}), if each patient's score was a whole "
        "number",
        "n = " + ", ".join(map(str, sorted(near))) + " would fit"
        if near
        else "no n up to twice the arm's fits",
    )


# --- SD against the range -----------------------------------------------------------------------


def max_sd(mean: float, low: float, high: float, n: float) -> float:
    """The largest SD n values in [low, high] with this mean can have (half at each bound)."""
    if not low <= mean <= high or n < 2:
        return math.nan
    return math.sqrt((mean - low) * (high - mean) * n / (n - 1))


def min_sd(mean: float, low: float, high: float, n: float) -> float:
    """The smallest SD of n values whose minimum is ``low`` and maximum ``high`` (the others
    equal, at the value that keeps the mean)."""
    if n < 3:
        return math.nan if n < 2 else math.sqrt(((low - mean) ** 2 + (high - mean) ** 2) / (n - 1))
    c = (n * mean - low - high) / (n - 2)
    return math.sqrt(((low - mean) ** 2 + (high - mean) ** 2 + (n - 2) * (c - mean) ** 2) / (n - 1))


def _sd_range(report: Reporter, key: Key, stats: dict[str, Row], n: float | None) -> None:
    if "sd" not in stats or "mean" not in stats or n is None or key[3] != "level":
        return
    sd, mean = float(stats["sd"]["value"]), float(stats["mean"]["value"])
    bounds: list[tuple[float, float, str]] = []
    if "min" in stats and "max" in stats:
        bounds.append((float(stats["min"]["value"]), float(stats["max"]["value"]), "min-max"))
    if key[2] in WHOLE_NUMBER_SCORES and key[2] in PLAUSIBLE:
        low, high = PLAUSIBLE[key[2]]
        bounds.append((low, high, f"the score's range {low:g}-{high:g}"))
    for low, high, what in bounds:
        most = max_sd(mean, low, high, n)
        if math.isfinite(most) and sd > most * (1 + 1e-9) + 0.5 * 10.0 ** -_decimals(
            stats["sd"]["value"]
        ):
            report.warning(
                stats["sd"].line,
                key[0],
                "value",
                f"SD {stats['sd']['value']} is larger than {what} allows for a mean of "
                f"{stats['mean']['value']} with n = {int(n)} "
                f"({key[2]} at {key[4]}, arm {key[1]!r})",
                f"an SD of at most {most:.3g}",
            )
        least = min_sd(mean, low, high, n) if what == "min-max" else math.nan
        if math.isfinite(least) and sd < least - 0.5 * 10.0 ** -_decimals(stats["sd"]["value"]):
            report.warning(
                stats["sd"].line,
                key[0],
                "value",
                f"SD {stats['sd']['value']} is smaller than a minimum of {low:g} and a maximum "
                f"of {high:g} allow with n = {int(n)} ({key[2]} at {key[4]}, arm {key[1]!r})",
                f"an SD of at least {least:.3g}",
            )


# --- percentages against counts -----------------------------------------------------------------


def _percent(
    report: Reporter, key: Key, stats: dict[str, Row], n: float | None, n_from: str
) -> None:
    row = stats.get("percent")
    if row is None or "events" not in stats:
        return
    events = float(stats["events"]["value"])
    total = parse_number(stats["total"]["value"]) if "total" in stats else None
    denominator, whose = (total, "the reported total") if total is not None else (n, n_from)
    if not denominator:
        return
    percent, decimals = float(row["value"]), _decimals(row["value"])
    if _rounds_to(100 * events / denominator, percent, decimals):
        return
    fits = [m for m in range(max(1, int(events)), int(3 * denominator) + 1)
            if _rounds_to(100 * events / m, percent, decimals)]  # fmt: skip
    report.warning(
        row.line,
        key[0],
        "value",
        f"{row['value']}% does not fit {events:g} events of {denominator:g} ({whose}; "
        f"{100 * events / denominator:.1f}%) ({key[2]} at {key[4]}, arm {key[1]!r})",
        ("a denominator of " + _span(fits) + " would fit") if fits else None,
    )


def _span(values: list[int]) -> str:
    if not values:
        return ""
    return str(values[0]) if values[0] == values[-1] else f"{values[0]}-{values[-1]}"


# --- a stored p value against the summary statistics --------------------------------------------


def t_test_p(
    m1: float, s1: float, n1: float, m2: float, s2: float, n2: float
) -> tuple[float, float]:
    """Two-sided p values of Student's (pooled SD) and Welch's t test."""
    diff = abs(m1 - m2)
    pooled = ((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2)
    se_s = math.sqrt(pooled * (1 / n1 + 1 / n2))
    a, b = s1**2 / n1, s2**2 / n2
    se_w = math.sqrt(a + b)
    df_w = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
    student = 2 * stdtr(n1 + n2 - 2, -diff / se_s) if se_s > 0 else 0.0
    welch = 2 * stdtr(df_w, -diff / se_w) if se_w > 0 else 0.0
    return float(student), float(welch)


def p_range(
    pair: tuple[dict[str, Row], dict[str, Row]], n1: float, n2: float
) -> tuple[float, float]:
    """The smallest and largest p the printed means and SDs allow (each value anywhere in its
    rounding interval; Student or Welch)."""
    (a, b) = pair
    m1, m2 = float(a["mean"]["value"]), float(b["mean"]["value"])
    h = [0.5 * 10.0 ** -_decimals(x[s]["value"]) for x in (a, b) for s in ("mean", "sd")]
    s1, s2 = float(a["sd"]["value"]), float(b["sd"]["value"])
    wide = abs(m1 - m2) + h[0] + h[2]
    narrow = max(0.0, abs(m1 - m2) - h[0] - h[2])
    low = t_test_p(wide, max(s1 - h[1], 1e-12), n1, 0.0, max(s2 - h[3], 1e-12), n2)
    high = t_test_p(narrow, s1 + h[1], n1, 0.0, s2 + h[3], n2)
    return min(low), max(high)


def _p_value(
    report: Reporter,
    key: Key,
    stats: dict[str, Row],
    cells: dict[Key, dict[str, Row]],
    arm_rows: dict[tuple[str, str], Row],
) -> None:
    row = stats["p"]
    other = _comparator(key, arm_rows)
    if other is None:
        return
    theirs = cells.get((key[0], other, *key[2:]), {})
    if not all(s in x for x in (stats, theirs) for s in ("mean", "sd")):
        return
    n1, _ = _n_of(stats, arm_rows.get(key[:2]))
    n2, _ = _n_of(theirs, arm_rows.get((key[0], other)))
    if not n1 or not n2 or n1 < 2 or n2 < 2:
        return
    stored, decimals = float(row["value"]), _decimals(row["value"])
    lo, hi = stored - 0.5 * 10.0**-decimals, stored + 0.5 * 10.0**-decimals
    p_lo, p_hi = p_range((stats, theirs), n1, n2)
    if p_lo <= hi and p_hi >= lo:
        return
    # which n per arm (both arms scaled alike) would give the stored p
    fits = []
    for m in range(2, int(3 * max(n1, n2)) + 1):
        scale = m / max(n1, n2)
        a, b = p_range((stats, theirs), max(2.0, n1 * scale), max(2.0, n2 * scale))
        if a <= hi and b >= lo:
            fits.append(m)
    recomputed = f"{p_lo:.2g}" if f"{p_lo:.2g}" == f"{p_hi:.2g}" else f"{p_lo:.2g}-{p_hi:.2g}"
    report.warning(
        row.line,
        key[0],
        "value",
        f"p = {row['value']} does not fit the means, SDs and n it compares ({key[2]} {key[3]} at "
        f"{key[4]}, arm {key[1]!r} n {n1:g} versus {other!r} n {n2:g}: t tests give p = "
        f"{recomputed})",
        (f"about {_span(fits)} patients in the larger arm would fit" if fits else None),
    )


def _comparator(key: Key, arm_rows: dict[tuple[str, str], Row]) -> str | None:
    arm = arm_rows.get(key[:2])
    if arm is None:
        return None
    if arm["comparator"]:
        return arm["comparator"]
    controls = _controls(key[0], arm_rows.values())
    return controls[0] if len(controls) == 1 and key[1] not in controls else None


def _controls(citekey: str, rows: Iterable[Row]) -> list[str]:
    return [r["arm"] for r in rows if r["citekey"] == citekey and r["group"] == "control"]
