"""A living review's change log: what changed in the dataset since a git revision.

:func:`dataset_at` materialises the dataset files of a revision; :func:`compare_datasets` lists
studies and numbers added, removed or changed, and how every pooled estimate moved.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evidence.compare import OUTCOME_LABELS, Question, effects, pool, to_display
from evidence.dataset import BIB_FILE, Dataset, DatasetError, load
from evidence.schema import ARMS_TABLE, EXTERNAL_TABLE, OUTCOMES_TABLE
from evidence.storage import UnreadableFile
from evidence.vocab import DEFAULT_GROUPS, MAIN_OUTCOMES

DATA_FILES = (BIB_FILE, ARMS_TABLE.path, OUTCOMES_TABLE.path, EXTERNAL_TABLE.path)
TRACKED_OUTCOMES = MAIN_OUTCOMES
TRACKED_GROUPS = DEFAULT_GROUPS
STUDY_FIELDS = (
    "title",
    "year",
    "doi",
    "pmid",
    "design",
    "species",
    "population",
    "cell_groups",
    "dose",
    "route",
    "follow_up",
    "n_total",
    "confidence",
    "no_numbers",
)
NUMBER_KEY = ["citekey", "arm", "outcome", "quantity", "timepoint", "statistic"]


class RevisionError(Exception):
    """The revision cannot be read (not a git repository, unknown revision)."""


def resolve(root: Path, revision: str) -> str:
    """The commit ``revision`` names, checked by ``git rev-parse --verify`` after
    ``--end-of-options``: a revision that looks like an option (``--output=x``) is only ever a
    revision name, never an option git would act on."""
    try:
        done = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"{revision}^{{commit}}",
            ],
            capture_output=True,
            timeout=60,
        )
    except FileNotFoundError:
        raise RevisionError("git is not installed") from None
    if done.returncode != 0:
        if subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--git-dir"], capture_output=True, timeout=60
        ).returncode:
            raise RevisionError(f"{root} is not in a git repository")
        raise RevisionError(f"{revision!r} is not a commit, tag or branch of this repository")
    return done.stdout.decode().strip()


def dataset_at(root: Path, revision: str, target: Path) -> Path:
    """Write the dataset files of ``revision`` under ``target``; returns ``target``."""
    commit = resolve(root, revision)
    for name in DATA_FILES:
        try:
            blob = subprocess.run(
                ["git", "-C", str(root), "show", f"{commit}:./{name}"],
                capture_output=True,
                check=True,
                timeout=60,
            ).stdout
        except FileNotFoundError:
            raise RevisionError("git is not installed") from None
        except subprocess.CalledProcessError as exc:
            message = exc.stderr.decode("utf-8", "replace").strip()
            if name == EXTERNAL_TABLE.path and "does not exist" in message:
                continue  # optional file, absent at that revision
            raise RevisionError(f"{revision}:{name}: {message}") from None
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    return target


@dataclass(frozen=True)
class ChangeLog:
    revision: str
    studies: pd.DataFrame  # citekey, change, detail
    numbers: pd.DataFrame  # key columns, change, before, after, locator, confidence
    pooled: pd.DataFrame  # outcome, effect, group, k/estimate/CI before and after, moved

    @property
    def empty(self) -> bool:
        return self.studies.empty and self.numbers.empty and not self.pooled["moved"].any()


def changes_since(root: Path, revision: str) -> ChangeLog:
    """Compare the dataset in ``root`` with the one at git ``revision``."""
    with tempfile.TemporaryDirectory(prefix="evidence-diff-") as tmp:
        try:
            old = load(dataset_at(Path(root), revision, Path(tmp)))
        except DatasetError as exc:  # name the revision: these are not the working tree's errors
            raise DatasetError(
                [dataclasses.replace(p, file=f"{revision}:{p.file}") for p in exc.problems]
            ) from None
        except UnreadableFile as exc:
            name = Path(exc.path).relative_to(tmp) if exc.path.startswith(tmp) else exc.path
            line = f":{exc.line}" if exc.line else ""
            raise RevisionError(f"{revision}:{name}{line}: cannot read: {exc.reason}") from None
    return compare_datasets(old, load(root), revision)


def compare_datasets(old: Dataset, new: Dataset, revision: str = "before") -> ChangeLog:
    return ChangeLog(
        revision, _study_changes(old, new), _number_changes(old, new), _pooled_changes(old, new)
    )


def _study_changes(old: Dataset, new: Dataset) -> pd.DataFrame:
    a = old.studies.set_index("citekey")
    b = new.studies.set_index("citekey")
    rows = []
    for key in b.index.difference(a.index):
        rows.append({"citekey": key, "change": "added", "detail": _describe(b.loc[key])})
    for key in a.index.difference(b.index):
        rows.append({"citekey": key, "change": "removed", "detail": _describe(a.loc[key])})
    for key in a.index.intersection(b.index):
        changed = [
            f"{f}: {_show(a.at[key, f])} -> {_show(b.at[key, f])}"
            for f in STUDY_FIELDS
            if _show(a.at[key, f]) != _show(b.at[key, f])
        ]
        if changed:
            rows.append({"citekey": key, "change": "changed", "detail": "; ".join(changed)})
    return pd.DataFrame(rows, columns=["citekey", "change", "detail"]).sort_values(
        ["change", "citekey"], ignore_index=True
    )


def _describe(study: pd.Series) -> str:
    return f"{study['label']}: {study['design']}, {study['cell_groups']}"


def _show(value: object) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value)) or (value is pd.NA)
        else str(value)
    )


def _number_changes(old: Dataset, new: Dataset) -> pd.DataFrame:
    columns = [*NUMBER_KEY, "value_reported", "unit_reported", "locator", "confidence"]
    a = old.outcomes[columns].set_index(NUMBER_KEY)
    b = new.outcomes[columns].set_index(NUMBER_KEY)
    rows = []
    for key in b.index.difference(a.index):
        rows.append(
            (
                *key,
                "added",
                "",
                _number(b.loc[key]),
                b.loc[key, "locator"],
                b.loc[key, "confidence"],
            )
        )
    for key in a.index.difference(b.index):
        rows.append(
            (
                *key,
                "removed",
                _number(a.loc[key]),
                "",
                a.loc[key, "locator"],
                a.loc[key, "confidence"],
            )
        )
    for key in a.index.intersection(b.index):
        before, after = a.loc[key], b.loc[key]
        if any(_show(before[c]) != _show(after[c]) for c in columns[len(NUMBER_KEY) :]):
            rows.append(
                (
                    *key,
                    "changed",
                    _number(before),
                    _number(after),
                    after["locator"],
                    after["confidence"],
                )
            )
    frame = pd.DataFrame(
        rows, columns=[*NUMBER_KEY, "change", "before", "after", "locator", "confidence"]
    )
    return frame.sort_values([*NUMBER_KEY], ignore_index=True)


def _number(row: pd.Series) -> str:
    return f"{row['value_reported']:g} {row['unit_reported']} ({row['confidence']})"


def standard_questions() -> Iterable[Question]:
    for outcome in TRACKED_OUTCOMES:
        for effect in ("change", "control"):
            yield Question(outcome=outcome, effect=effect, groups=TRACKED_GROUPS)


def pooled_table(data: Dataset, method: str = "REML", test: str = "z") -> pd.DataFrame:
    """Every tracked pooled estimate (outcome x effect x cell group), on the display scale."""
    rows = []
    for q in standard_questions():
        pooled = pool(effects(data, q), q, method=method, test=test)
        for group, result in pooled.groups.items():
            if result is None:
                rows.append(
                    (q.outcome, q.effect, group, q.measure, 0, math.nan, math.nan, math.nan)
                )
                continue
            est, lb, ub = to_display(q.measure, [result.estimate, result.ci_lb, result.ci_ub])
            rows.append((q.outcome, q.effect, group, q.measure, result.k, est, lb, ub))
    return pd.DataFrame(
        rows, columns=["outcome", "effect", "group", "measure", "k", "estimate", "ci_lb", "ci_ub"]
    )


def _pooled_changes(old: Dataset, new: Dataset) -> pd.DataFrame:
    keys = ["outcome", "effect", "group", "measure"]
    merged = pooled_table(old).merge(pooled_table(new), on=keys, suffixes=("_before", "_after"))
    value_columns = [
        f"{c}_{w}" for w in ("before", "after") for c in ("k", "estimate", "ci_lb", "ci_ub")
    ]

    def moved(row: pd.Series) -> bool:
        return any(
            not _same(row[f"{c}_before"], row[f"{c}_after"])
            for c in ("k", "estimate", "ci_lb", "ci_ub")
        )

    merged["moved"] = merged.apply(moved, axis=1) if len(merged) else []
    merged["outcome_label"] = merged["outcome"].map(OUTCOME_LABELS)
    return merged[[*keys, "outcome_label", *value_columns, "moved"]]


def _same(a: float, b: float) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def markdown(log: ChangeLog) -> str:
    """The change log as Markdown tables."""

    def fmt(x: float) -> str:
        return "" if isinstance(x, float) and math.isnan(x) else f"{x:.2f}"

    out = [f"# Changes since {log.revision}", ""]
    out += [f"## Studies ({len(log.studies)})", ""]
    out += [f"- {r.change}: `{r.citekey}` {r.detail}" for r in log.studies.itertuples()] or [
        "No study added, removed or changed."
    ]
    out += ["", f"## Numbers ({len(log.numbers)})", ""]
    if log.numbers.empty:
        out.append("No number added, removed or changed.")
    for r in log.numbers.itertuples():
        what = f"`{r.citekey}` {r.arm} {r.outcome} {r.quantity} {r.timepoint} {r.statistic}"
        out.append(f"- {r.change}: {what}: {r.before or '-'} -> {r.after or '-'} [{r.locator}]")
    moved = log.pooled[log.pooled["moved"]]
    out += ["", f"## Pooled estimates that moved ({len(moved)} of {len(log.pooled)})", ""]
    if moved.empty:
        out.append("No pooled estimate moved.")
    else:
        out.append(
            "| outcome | effect | group | k before | estimate before (95% CI) | k after "
            "| estimate after (95% CI) |"
        )
        out.append("|---|---|---|---|---|---|---|")
        for r in moved.itertuples():
            before = (
                f"{fmt(r.estimate_before)} ({fmt(r.ci_lb_before)} to {fmt(r.ci_ub_before)})"
                if r.k_before
                else "none"
            )
            after = (
                f"{fmt(r.estimate_after)} ({fmt(r.ci_lb_after)} to {fmt(r.ci_ub_after)})"
                if r.k_after
                else "none"
            )
            out.append(
                f"| {r.outcome_label} | {r.effect} | {r.group} | {r.k_before} | {before} "
                f"| {r.k_after} | {after} |"
            )
    return "\n".join(out) + "\n"
