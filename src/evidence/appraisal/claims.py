"""The claims audit: what the source article claims, what its citations show, and the verdict.

``data/claims.csv`` holds one row per claim of the source article (paraphrased), the reference it
cites (``seed_ref`` 1-6 and its citekey), what that reference reports, a verdict and a one-line
reason. What the cited work *is* (design, species, cells, patients, confidence) is not repeated
in the file: :func:`load` joins it from the registry, so the two cannot disagree.

:func:`central_claim` computes what the dataset can say about the article's central claim, that
the MSC+HSC combination works better than either cell type alone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evidence.appraisal import schema as aschema
from evidence.appraisal.schema import CLAIMS_TABLE, GRADE_GROUPS, GRADE_OUTCOMES, VERDICTS
from evidence.dataset import BIB_FILE, Dataset, Table
from evidence.registry import Registry
from evidence.schema import CONTROLLED_DESIGNS, DatasetError, Problem
from evidence.vocab import DEFAULT_CONFIDENCE

#: Colour (Okabe-Ito, colour-blind safe) and a symbol per verdict, so no view relies on hue alone.
VERDICT_STYLE: dict[str, dict[str, str]] = {
    "supports": {"colour": "#0072B2", "symbol": "✓", "text": "#FFFFFF"},
    "partly supports": {"colour": "#56B4E9", "symbol": "◐", "text": "#000000"},
    "does not support": {"colour": "#E69F00", "symbol": "✗", "text": "#000000"},
    "contradicts": {"colour": "#D55E00", "symbol": "⚠", "text": "#FFFFFF"},
    "unverifiable": {"colour": "#BBBBBB", "symbol": "?", "text": "#000000"},
}


# --- validation ---------------------------------------------------------------------------------


def check(table: Table, registry: Registry) -> list[Problem]:
    """Rules that span rows or need the registry."""
    if not table.present:
        return []
    file = table.display
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    by_seed_ref = {e.get("seed_ref"): e for e in registry.entries if e.get("seed_ref")}
    cited: set[str] = set()
    central: list[int] = []
    for row in table.rows:
        claim_id, key, ref = row["claim_id"], row["cites"], row["seed_ref"]
        if claim_id in seen:
            problems.append(
                Problem(
                    file,
                    row.line,
                    key or None,
                    "claim_id",
                    f"claim {claim_id!r} already defined on line {seen[claim_id]}",
                    "each claim_id once",
                )
            )
        seen.setdefault(claim_id, row.line)
        if row["topic"] == "central":
            central.append(row.line)
        if key and key not in registry:
            problems.append(aschema.unknown_citekey(file, row.line, key, "cites", registry))
            continue
        if key:
            cited.add(key)
        if ref and not key:
            problems.append(
                Problem(
                    file,
                    row.line,
                    None,
                    "cites",
                    f"seed reference [{ref}] is given but no citekey",
                    f"the citekey of seed reference [{ref}]"
                    + (f" ({by_seed_ref[ref].key})" if ref in by_seed_ref else ""),
                )
            )
        elif ref and key and registry[key].get("seed_ref") != ref:
            actual = registry[key].get("seed_ref")
            expected = by_seed_ref[ref].key if ref in by_seed_ref else "an entry with that seed_ref"
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "seed_ref",
                    f"{key} is seed reference [{actual or 'none'}], not [{ref}]",
                    expected,
                )
            )
    if len(central) != 1:
        problems.append(
            Problem(
                file,
                central[1] if len(central) > 1 else None,
                None,
                "topic",
                f"{len(central)} claims have topic 'central'",
                "exactly one: the article's central claim",
            )
        )
    for ref in sorted(by_seed_ref):
        entry = by_seed_ref[ref]
        if entry.key not in cited:
            problems.append(
                Problem(
                    file,
                    None,
                    entry.key,
                    "cites",
                    f"seed reference [{ref}] has no audited claim",
                    "at least one claim citing each of the article's references",
                )
            )
    return problems


def problems(root: Path, registry: Registry) -> list[Problem]:
    """Every problem in ``data/claims.csv`` (none when the file does not exist)."""
    table, found = aschema.read(root, CLAIMS_TABLE, key_column="cites")
    return found + check(table, registry)


# --- loading ------------------------------------------------------------------------------------

COLUMNS = (
    "claim_id",
    "topic",
    "claim",
    "seed_ref",
    "cites",
    "cited_label",
    "cited_design",
    "cited_species",
    "cited_cells",
    "cited_n",
    "cited_confidence",
    "cited_source",
    "reports",
    "verdict",
    "reason",
    "basis",
    "source",
    "colour",
    "symbol",
    "source_file",
    "source_line",
)


def load(root: Path | str, dataset: Dataset | None = None) -> pd.DataFrame:
    """``data/claims.csv`` as a validated frame with the cited works' descriptors joined.

    Raises :class:`~evidence.schema.DatasetError` when the file has errors.
    """
    from evidence.dataset import load as load_dataset
    from evidence.registry import read_registry

    root = Path(root)
    registry = read_registry(root / BIB_FILE, BIB_FILE)
    table, found = aschema.read(root, CLAIMS_TABLE, key_column="cites")
    found += check(table, registry)
    if any(p.severity == "error" for p in found):
        raise DatasetError(found)
    data = dataset if dataset is not None else load_dataset(root)
    return frame(table, data)


def frame(table: Table, dataset: Dataset) -> pd.DataFrame:
    studies = dataset.studies.set_index("citekey")
    records = []
    for row in table.rows:
        key = row["cites"]
        study = studies.loc[key] if key in studies.index else None

        def get(column: str, study: pd.Series | None = study) -> object:
            if study is None or pd.isna(study[column]):
                return None
            return study[column]

        style = VERDICT_STYLE[row["verdict"]]
        records.append(
            {
                "claim_id": row["claim_id"],
                "topic": row["topic"],
                "claim": row["claim"],
                "seed_ref": row["seed_ref"] or None,
                "cites": key or None,
                "cited_label": get("label"),
                "cited_design": get("design") or get("kind"),
                "cited_species": get("species"),
                "cited_cells": get("cell_groups"),
                "cited_n": get("n"),
                "cited_confidence": get("confidence"),
                "cited_source": get("source"),
                "reports": row["reports"],
                "verdict": row["verdict"],
                "reason": row["reason"],
                "basis": row["basis"],
                "source": row["source"],
                "colour": style["colour"],
                "symbol": style["symbol"],
                "source_file": table.display,
                "source_line": row.line,
            }
        )
    out = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    out["cited_n"] = out["cited_n"].astype("Int64")
    out["source_line"] = out["source_line"].astype("Int64")
    return out


def verdict_counts(claims: pd.DataFrame) -> pd.Series:
    """Claims per verdict, in the vocabulary's order (zeros included)."""
    counts = Counter(claims["verdict"])
    return pd.Series({v: counts.get(v, 0) for v in VERDICTS}, name="claims")


# --- the central claim --------------------------------------------------------------------------


@dataclass(frozen=True)
class CentralClaim:
    """What the dataset can say about "the combination beats either cell type alone".

    ``groups``: one row per cell group (clinical studies, of which controlled and randomised,
    patients treated, studies whose numbers enter at least one pooled comparison).
    ``head_to_head``: studies with arms in two or more of the compared cell groups (the only
    direct comparisons; animal studies included and marked). ``tests``: for every outcome and
    effect type, which groups have pooled results and the test for subgroup differences, and
    whether MSC+HSC takes part in it. ``lines``: the same in plain language.
    """

    groups: pd.DataFrame
    head_to_head: pd.DataFrame
    tests: pd.DataFrame
    combination_testable: bool
    lines: tuple[str, ...]


def central_claim(
    dataset: Dataset,
    outcomes: Iterable[str] = GRADE_OUTCOMES,
    method: str = "REML",
    test: str = "knha",
    confidence: str = DEFAULT_CONFIDENCE,
) -> CentralClaim:
    """Studies and patients per group, direct comparisons, and every estimable subgroup test."""
    from evidence.compare import Question, effects, pool

    groups = GRADE_GROUPS
    studies = dataset.studies
    clinical = dataset.clinical_studies
    arms = dataset.arms
    test_rows = []
    pooled_keys: dict[str, set[str]] = {g: set() for g in groups}
    for outcome in outcomes:
        for effect in ("control", "change"):
            question = Question(
                outcome=outcome, effect=effect, groups=groups, confidence=confidence
            )
            frame_ = effects(dataset, question)
            result = pool(frame_, question, method=method, test=test)
            present = [g for g, r in result.groups.items() if r is not None]
            for g in present:
                used = frame_[(frame_["group"] == g) & frame_["included"]]
                pooled_keys[g] |= set(used["citekey"])
            sub = result.subgroups
            estimable = sub is not None and math.isfinite(sub.q_between)
            test_rows.append(
                {
                    "outcome": outcome,
                    "effect": effect,
                    "groups_with_results": ", ".join(present),
                    "k": ", ".join(f"{g} {result.groups[g].k}" for g in present),
                    "q_between": sub.q_between if estimable else math.nan,
                    "df": sub.q_between_df if estimable else math.nan,
                    "df2": sub.q_between_df2 if estimable else math.nan,
                    "p": sub.q_between_pval if estimable else math.nan,
                    # An unreliable test is listed with its reason, never used for a conclusion.
                    "reliable": bool(sub is not None and estimable and sub.reliable),
                    "reason": sub.reason if sub is not None else "fewer than two groups",
                    "includes_combination": "MSC+HSC" in present,
                }
            )
    tests = pd.DataFrame.from_records(test_rows)

    group_rows = []
    treated = dataset.treated_arms  # real n: a planned size is NaN, nobody was treated yet
    for g in groups:
        in_group = treated[treated["group"] == g]
        keys = set(in_group["citekey"])
        designs = clinical[clinical["citekey"].isin(keys)]["design"]
        seed_only = clinical[clinical["citekey"].isin(keys)]["confidence"].eq("seed-only").sum()
        group_rows.append(
            {
                "group": g,
                "studies": len(keys),
                "controlled": int(designs.isin(CONTROLLED_DESIGNS).sum()),
                "randomised": int((designs == "RCT").sum()),
                "patients_treated": int(in_group["n"].fillna(0).sum()),
                "studies_pooled": len(pooled_keys[g]),
                "studies_seed_only": int(seed_only),
            }
        )
    group_frame = pd.DataFrame.from_records(group_rows)

    # Direct comparisons: arms in two or more compared groups (clinical studies from arms.csv;
    # animal studies have no arms, so their cell groups come from the registry).
    h2h = []
    for study in studies[studies["kind"] == "study"].itertuples(index=False):
        if study.design == "animal":
            present_groups = set(str(study.cell_groups).split(";"))
        else:
            present_groups = set(arms.loc[arms["citekey"] == study.citekey, "group"])
        present = [g for g in groups if g in present_groups]
        if len(present) >= 2:
            h2h.append(
                {
                    "citekey": study.citekey,
                    "label": study.label,
                    "design": study.design,
                    "species": study.species,
                    "groups": ", ".join(present),
                    "combination_arm": "MSC+HSC" in present,
                    "note": study.note,
                }
            )
    head = pd.DataFrame.from_records(
        h2h,
        columns=["citekey", "label", "design", "species", "groups", "combination_arm", "note"],
    )
    testable = bool((tests["includes_combination"] & tests["reliable"]).any())
    return CentralClaim(
        groups=group_frame,
        head_to_head=head,
        tests=tests,
        combination_testable=testable,
        lines=tuple(_lines(group_frame, head, tests, testable)),
    )


def _lines(
    groups: pd.DataFrame, head: pd.DataFrame, tests: pd.DataFrame, testable: bool
) -> list[str]:
    lines = []
    for row in groups.itertuples():
        lines.append(
            f"{row.group}: {row.studies} clinical {'study' if row.studies == 1 else 'studies'} "
            f"({row.controlled} controlled, {row.randomised} randomised), "
            f"{row.patients_treated} patients treated; {row.studies_pooled} with numbers that "
            "enter a pooled comparison"
            + (
                f"; {row.studies_seed_only} known only from the source article"
                if row.studies_seed_only
                else ""
            )
            + "."
        )
    human = head[head["species"] == "human"]
    combo = head[head["combination_arm"]]
    lines.append(
        f"Direct comparisons between cell groups: {len(human)} clinical "
        f"({', '.join(f'{r.label}: {r.groups}' for r in human.itertuples()) or 'none'}); "
        f"with a combination arm: {len(combo)} "
        f"({', '.join(f'{r.label} ({r.species})' for r in combo.itertuples()) or 'none'})."
    )
    estimable = tests[tests["p"].notna()]
    reliable = tests[tests["reliable"]]
    among = (
        f"Tests among the other groups can be computed for {len(estimable)} of {len(tests)} "
        f"outcome and effect pairs, and {len(reliable)} of them can be read at all (every "
        "compared group with at least two studies, not only assumption-based within-arm "
        "changes); they compare different studies (indirect)"
    )
    if testable:
        lines.append(
            "A subgroup test that includes MSC+HSC can be read for some outcomes. " + among + "."
        )
    else:
        lines.append(
            "No subgroup test can include MSC+HSC: no study gives usable combination numbers. "
            + among
            + " and say nothing about the combination."
        )
    return lines
