"""Risk of bias: RoB 2 for randomised trials, ROBINS-I for non-randomised comparisons.

``data/rob.csv`` holds one row per study and domain (``D1``..``D5`` or ``D1``..``D7``, then
``overall``); uncontrolled series and animal studies have one ``overall`` row with tool ``none``
and judgement ``not applicable``. This module validates those rows against the registry and the
tools' algorithms, and gives the views what they need: the overall judgement per study (a column
for the forest plot), robvis-style weighted summaries and the list of studies to keep in a
sensitivity analysis that leaves out high risk of bias.

How "no information" propagates to the overall judgement (documented in docs/appraisal.md):

- RoB 2: any ``high`` -> high; else any ``some concerns`` or ``no information`` -> some
  concerns (RoB 2's algorithms turn "no information" answers into some concerns); else low. The
  overall is ``no information`` only when every domain is.
- ROBINS-I: any ``critical`` -> critical; else any ``serious`` -> serious; else any ``no
  information`` -> no information; else any ``moderate`` -> moderate; else low (the tool's own
  definition of an overall "no information").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from evidence.appraisal import schema as aschema
from evidence.appraisal.schema import (
    DOMAINS,
    JUDGEMENTS,
    NO_INFORMATION,
    NO_TOOL,
    NOT_APPLICABLE,
    ROB2,
    ROB_TABLE,
    ROBINS_I,
    TOOL_FOR_DESIGN,
)
from evidence.dataset import BIB_FILE, Dataset, Table
from evidence.registry import Registry
from evidence.schema import DatasetError, Problem, split_list
from evidence.vocab import ROB_SYMBOLS

#: Judgements that count as "high risk" when a sensitivity analysis leaves studies out.
HIGH_RISK = ("high", "serious", "critical")
#: robvis' symbols, so a judgement never rests on colour alone.
SYMBOLS = ROB_SYMBOLS
NOT_ASSESSED = "not assessed"
#: Risk-of-bias filters of a sensitivity analysis (the value is the dashboard's URL value):
#: a label and the overall judgements whose studies are left out. Studies that no tool applies
#: to (uncontrolled series) or that have no record are kept by every filter: there is no
#: judgement to act on, and leaving them out would change the question, not its risk of bias.
ROB_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "all": ("all studies", ()),
    "exclude-high": ("without high risk of bias", HIGH_RISK),
    "exclude-high-unclear": (
        "without high risk or no information",
        (*HIGH_RISK, NO_INFORMATION),
    ),
}

# Severity used to compare a stated overall with the algorithm's (higher is worse).
_RANK: dict[str, dict[str, float]] = {
    ROB2: {"low": 0, "some concerns": 1, NO_INFORMATION: 1, "high": 2},
    ROBINS_I: {"low": 0, "moderate": 1, NO_INFORMATION: 1.5, "serious": 2, "critical": 3},
}


# --- the tools' algorithms ----------------------------------------------------------------------


def algorithm(tool: str, judgements: Iterable[str]) -> str:
    """The overall judgement the tool's algorithm gives for these domain judgements."""
    values = list(judgements)
    if tool == NO_TOOL:
        return NOT_APPLICABLE
    if tool == ROB2:
        if "high" in values:
            return "high"
        if values and all(v == NO_INFORMATION for v in values):
            return NO_INFORMATION
        if any(v in ("some concerns", NO_INFORMATION) for v in values):
            return "some concerns"
        return "low"
    if tool == ROBINS_I:
        for level in ("critical", "serious", NO_INFORMATION, "moderate"):
            if level in values:
                return level
        return "low"
    raise ValueError(f"unknown tool {tool!r}")


def _escalation_allowed(tool: str, judgements: list[str], stated: str, computed: str) -> bool:
    """RoB 2 lets reviewers call a study high when several domains raise some concerns."""
    if tool == ROB2 and computed == "some concerns" and stated == "high":
        return sum(v in ("some concerns", NO_INFORMATION) for v in judgements) >= 2
    return False


# --- validation ---------------------------------------------------------------------------------


def check(table: Table, registry: Registry) -> list[Problem]:
    """Rules that span rows or need the registry (field rules are in appraisal.schema)."""
    if not table.present:
        return []
    file = table.display
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    by_study: dict[str, list] = defaultdict(list)
    for row in table.rows:
        key, tool, domain, judgement = row["citekey"], row["tool"], row["domain"], row["judgement"]
        if not key:
            continue  # reported by the field rules ("is missing")
        entry = registry.get(key)
        if entry is None:
            problems.append(aschema.unknown_citekey(file, row.line, key, "citekey", registry))
            continue
        if entry is not None and entry.get("kind") != "study":
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "citekey",
                    f"{key} is a {entry.get('kind') or 'entry without kind'}, not a study",
                    "a kind = {study} entry",
                )
            )
            continue
        design = entry.get("design") if entry is not None else ""
        expected_tool = TOOL_FOR_DESIGN.get(design)
        if expected_tool and tool in DOMAINS and tool != expected_tool:
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "tool",
                    f"tool {tool!r} does not fit the study's design ({design})",
                    repr(expected_tool),
                )
            )
        if tool in DOMAINS and domain and domain not in DOMAINS[tool]:
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "domain",
                    f"{tool} has no domain {domain!r}",
                    "one of " + ", ".join(map(repr, DOMAINS[tool])),
                )
            )
        if tool in JUDGEMENTS and judgement and judgement not in JUDGEMENTS[tool]:
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "judgement",
                    f"{tool} has no judgement {judgement!r}",
                    "one of " + ", ".join(map(repr, JUDGEMENTS[tool])),
                )
            )
        if "none" in split_list(row["basis"]) and judgement not in (NO_INFORMATION, ""):
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "basis",
                    f"judgement {judgement!r} with basis 'none'",
                    "'no information', or the source the judgement rests on",
                )
            )
        if (key, domain) in seen:
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "domain",
                    f"domain {domain!r} already judged on line {seen[(key, domain)]}",
                    "one row per study and domain",
                )
            )
            continue
        seen[(key, domain)] = row.line
        by_study[key].append(row)
    for key, rows in by_study.items():
        problems += _study_problems(file, key, rows, registry)
    problems += _coverage(file, by_study, registry)
    return problems


def _study_problems(file: str, key: str, rows: list, registry: Registry) -> list[Problem]:
    entry = registry[key]
    tool = TOOL_FOR_DESIGN.get(entry.get("design"), rows[0]["tool"])
    if tool not in DOMAINS:
        return []
    judged = {r["domain"]: r for r in rows}
    problems = []
    missing = [d for d in DOMAINS[tool] if d not in judged]
    for domain in missing:
        problems.append(
            Problem(
                file,
                rows[0].line,
                key,
                "domain",
                f"{tool} record has no row for {domain} ({DOMAINS[tool][domain]})",
                "rows " + ", ".join(DOMAINS[tool]),
            )
        )
    if missing or tool == NO_TOOL:
        return problems
    domains = [judged[d]["judgement"] for d in DOMAINS[tool] if d != "overall"]
    if any(j not in JUDGEMENTS[tool] for j in [*domains, judged["overall"]["judgement"]]):
        return problems  # reported above as an unknown judgement
    stated, computed = judged["overall"]["judgement"], algorithm(tool, domains)
    if stated == computed or _escalation_allowed(tool, domains, stated, computed):
        return problems
    rank = _RANK[tool]
    line = judged["overall"].line
    if tool == ROBINS_I and computed == NO_INFORMATION and stated == "moderate":
        problems.append(
            Problem(
                file,
                line,
                key,
                "judgement",
                "overall 'moderate' although a domain has no information",
                "'no information', unless the domain is not a key one (say so in the rationale)",
                "warning",
            )
        )
    elif rank[stated] > rank[computed]:
        problems.append(
            Problem(
                file,
                line,
                key,
                "judgement",
                f"overall {stated!r} is more severe than the {tool} algorithm gives ({computed!r})",
                f"{computed!r}, or a rationale that says why the study is worse",
                "warning",
            )
        )
    else:
        problems.append(
            Problem(
                file,
                line,
                key,
                "judgement",
                f"overall {stated!r} contradicts the {tool} algorithm, which gives {computed!r} "
                f"for domains {', '.join(domains)}",
                repr(computed),
            )
        )
    return problems


def _coverage(file: str, by_study: Mapping[str, list], registry: Registry) -> list[Problem]:
    """Every controlled study needs a record; uncontrolled ones should say 'not applicable'."""
    problems = []
    for entry in registry.entries:
        if entry.get("kind") != "study" or entry.key in by_study:
            continue
        tool = TOOL_FOR_DESIGN.get(entry.get("design"))
        if tool is None:
            continue
        controlled = tool != NO_TOOL
        problems.append(
            Problem(
                file,
                None,
                entry.key,
                None,
                f"{entry.get('design')} study has no risk-of-bias record",
                f"{tool} rows " + ", ".join(DOMAINS[tool])
                if controlled
                else "one row: tool none, domain overall, judgement 'not applicable'",
                "error" if controlled else "warning",
            )
        )
    return problems


def problems(root: Path, registry: Registry) -> list[Problem]:
    """Every problem in ``data/rob.csv`` (none when the file does not exist)."""
    table, found = aschema.read(root, ROB_TABLE)
    return found + check(table, registry)


# --- loading ------------------------------------------------------------------------------------

COLUMNS = (
    "citekey",
    "label",
    "design",
    "tool",
    "domain",
    "domain_name",
    "judgement",
    "symbol",
    "rationale",
    "basis",
    "source",
    "source_file",
    "source_line",
)


def load(root: Path | str, dataset: Dataset | None = None) -> pd.DataFrame:
    """``data/rob.csv`` as a validated frame, one row per study and domain.

    Raises :class:`~evidence.schema.DatasetError` when the file has errors. ``dataset`` supplies
    labels and designs (loaded from ``root`` when not given).
    """
    from evidence.dataset import load as load_dataset
    from evidence.registry import read_registry

    root = Path(root)
    registry = read_registry(root / BIB_FILE, BIB_FILE)
    table, found = aschema.read(root, ROB_TABLE)
    found += check(table, registry)
    if any(p.severity == "error" for p in found):
        raise DatasetError(found)
    data = dataset if dataset is not None else load_dataset(root)
    return frame(table, data)


def frame(table: Table, dataset: Dataset) -> pd.DataFrame:
    studies = dataset.studies.set_index("citekey")
    records = []
    for row in table.rows:
        key, tool, domain = row["citekey"], row["tool"], row["domain"]
        records.append(
            {
                "citekey": key,
                "label": studies.at[key, "label"],
                "design": studies.at[key, "design"],
                "tool": tool,
                "domain": domain,
                "domain_name": DOMAINS[tool][domain],
                "judgement": row["judgement"],
                "symbol": SYMBOLS[row["judgement"]],
                "rationale": row["rationale"],
                "basis": row["basis"],
                "source": row["source"],
                "source_file": table.display,
                "source_line": row.line,
            }
        )
    out = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    out["source_line"] = out["source_line"].astype("Int64")
    return out


# --- views --------------------------------------------------------------------------------------


def overall(rob: pd.DataFrame) -> pd.DataFrame:
    """One row per study: citekey, label, design, tool and its overall judgement."""
    rows = rob[rob["domain"] == "overall"]
    return rows[["citekey", "label", "design", "tool", "judgement", "symbol"]].reset_index(
        drop=True
    )


def overall_column(rob: pd.DataFrame, citekeys: Iterable[str]) -> pd.Series:
    """The overall judgement for each citekey, for a column beside the forest plot.

    Citekeys without a record read "not assessed"; the Series is indexed like ``citekeys``.
    """
    keys = list(citekeys)
    lookup = dict(zip(*(overall(rob)[c] for c in ("citekey", "judgement")), strict=True))
    return pd.Series([lookup.get(k, NOT_ASSESSED) for k in keys], index=keys, name="rob_overall")


def forest_columns(rob: pd.DataFrame, citekeys: Iterable[str]) -> pd.DataFrame:
    """Tool, each domain's symbol and the overall judgement per citekey (robvis' rob_forest)."""
    keys = list(citekeys)
    wide = rob.pivot_table(index="citekey", columns="domain", values="symbol", aggfunc="first")
    tools = rob.drop_duplicates("citekey").set_index("citekey")["tool"]
    out = pd.DataFrame(index=pd.Index(keys, name="citekey"))
    out["tool"] = [tools.get(k, NOT_ASSESSED) for k in keys]
    for domain in aschema.ALL_DOMAINS[:-1]:
        symbols = wide[domain].dropna().to_dict() if domain in wide else {}
        out[domain] = [symbols.get(k, "") for k in keys]
    out["overall"] = overall_column(rob, keys).to_numpy()
    return out


def summary_weights(
    rob: pd.DataFrame,
    dataset: Dataset | None = None,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Share of weight per tool, domain and judgement: the data of robvis' summary plot.

    Weights are, in order of preference, ``weights`` (e.g. meta-analysis weights by citekey),
    the number of patients from ``dataset`` (``studies.n``), or one per study. Studies of tool
    ``none`` are left out. Columns: tool, domain, domain_name, judgement, studies, weight, share
    (percent of the domain's total weight). ``attrs['weighting']`` says which weights were used
    and ``attrs['unweighted']`` lists studies whose weight was missing (weight 0).
    """
    assessed = rob[rob["tool"] != NO_TOOL]
    keys = assessed["citekey"].unique()
    if weights is not None:
        weight_of = {k: float(weights.get(k, 0.0)) for k in keys}
        how = "given weights"
    elif dataset is not None:
        n = dataset.studies.set_index("citekey")["n"]
        weight_of = {k: float(n.get(k)) if pd.notna(n.get(k)) else 0.0 for k in keys}
        how = "patients per study"
    else:
        weight_of = {k: 1.0 for k in keys}
        how = "one per study"
    records = []
    for (tool, domain), part in assessed.groupby(["tool", "domain"], sort=False):
        total = sum(weight_of[k] for k in part["citekey"])
        for judgement in JUDGEMENTS[tool]:
            chosen = part[part["judgement"] == judgement]
            weight = sum(weight_of[k] for k in chosen["citekey"])
            records.append(
                {
                    "tool": tool,
                    "domain": domain,
                    "domain_name": DOMAINS[tool][domain],
                    "judgement": judgement,
                    "studies": len(chosen),
                    "weight": weight,
                    "share": 100.0 * weight / total if total > 0 else 0.0,
                }
            )
    out = pd.DataFrame.from_records(
        records,
        columns=["tool", "domain", "domain_name", "judgement", "studies", "weight", "share"],
    )
    order = {d: i for i, d in enumerate(aschema.ALL_DOMAINS)}
    out = out.sort_values(
        ["tool", "domain"], key=lambda c: c.map(order) if c.name == "domain" else c
    )
    out = out.reset_index(drop=True)
    out.attrs["weighting"] = how
    out.attrs["unweighted"] = sorted(k for k, w in weight_of.items() if w <= 0)
    return out


def sensitivity_filter(
    rob: pd.DataFrame,
    citekeys: Iterable[str] | None = None,
    exclude: Iterable[str] = HIGH_RISK,
    keep_not_assessed: bool = True,
) -> list[str]:
    """Citekeys to keep when studies at high risk of bias are left out.

    A study is left out when its overall judgement is in ``exclude`` (RoB 2 high, ROBINS-I
    serious or critical by default). Studies without a record, or whose tool does not apply
    (uncontrolled series), are kept unless ``keep_not_assessed`` is False. Order follows
    ``citekeys`` (default: every study in ``rob``).
    """
    dropped = set(exclude)
    judgement = dict(zip(*(overall(rob)[c] for c in ("citekey", "judgement")), strict=True))
    keys = list(dict.fromkeys(citekeys if citekeys is not None else rob["citekey"]))
    kept = []
    for key in keys:
        value = judgement.get(key)
        if value is None or value == NOT_APPLICABLE:
            if keep_not_assessed:
                kept.append(key)
        elif not left_out(value, dropped):
            kept.append(key)
    return kept


def left_out(judgement: str | None, dropped: set[str]) -> bool:
    """Whether a study judged ``judgement`` (None: no record) is left out by a filter that drops
    ``dropped``: the one rule of :func:`sensitivity_filter` and :func:`filter_effects`. Studies
    without a judgement, or whose tool does not apply, are never left out by it."""
    return judgement is not None and judgement != NOT_APPLICABLE and judgement in dropped


def kept_studies(rob: pd.DataFrame, citekeys: Iterable[str], level: str = "all") -> set[str]:
    """The studies of ``citekeys`` that the risk-of-bias filter ``level`` keeps (what
    :func:`filter_effects` keeps in a plot)."""
    return set(sensitivity_filter(rob, citekeys, exclude=ROB_FILTERS[level][1]))


def filter_effects(effects: pd.DataFrame, rob: pd.DataFrame, level: str = "all") -> pd.DataFrame:
    """``effects`` (a frame of :func:`evidence.compare.effects`) under a risk-of-bias filter.

    Rows are never dropped: an included row whose study the filter ``level`` (a key of
    :data:`ROB_FILTERS`) leaves out gets ``included`` False and a ``reason`` that names the
    judgement, the tool and the filter, so the views can list it with the other rows not in the
    plot. Rows already excluded keep their first reason. Every row gets ``rob`` (the study's
    overall judgement, "not applicable" or "not assessed"); ``attrs['rob_filter']`` is ``level``
    and ``attrs['rob_left_out']`` the number of rows this filter took out.
    """
    if level not in ROB_FILTERS:
        raise ValueError(f"rob filter: {level!r} is not one of {', '.join(map(repr, ROB_FILTERS))}")
    label, exclude = ROB_FILTERS[level]
    # Plain lists and dicts: this runs on most control changes, and pandas' per-call cost
    # (two overall() tables and an isin) was most of its time.
    is_overall = (rob["domain"] == "overall").to_numpy()
    keys = rob["citekey"].to_numpy()[is_overall].tolist()
    judgement = dict(zip(keys, rob["judgement"].to_numpy()[is_overall].tolist(), strict=True))
    tool = dict(zip(keys, rob["tool"].to_numpy()[is_overall].tolist(), strict=True))
    out = effects.copy()
    citekeys = out["citekey"].tolist()
    out["rob"] = [judgement.get(k, NOT_ASSESSED) for k in citekeys]
    dropped = set(exclude)
    hit = out["included"].to_numpy() & np.array(
        [left_out(judgement.get(k), dropped) for k in citekeys], dtype=bool
    )
    if hit.any():
        out.loc[hit, "included"] = False
        out.loc[hit, "reason"] = [
            f"risk of bias {judgement[k]} ({tool[k]}): left out by the filter ({label})"
            for k, h in zip(citekeys, hit, strict=True)
            if h
        ]
    out.attrs["rob_filter"] = level
    out.attrs["rob_left_out"] = int(hit.sum())
    return out


def filter_lines(filtered: pd.DataFrame) -> list[str]:
    """Plain-language sentences about a frame of :func:`filter_effects` (for the summary)."""
    level = filtered.attrs.get("rob_filter", "all")
    label = ROB_FILTERS[level][0]
    used = filtered["included"].to_numpy(dtype=bool)
    lines = []
    if level != "all":
        out = filtered[filtered["reason"].str.contains("left out by the filter", regex=False)]
        if len(out):
            who = ", ".join(dict.fromkeys(f"{r.label} ({r.rob})" for r in out.itertuples()))
            lines.append(
                f"Risk of bias filter ({label}): {len(out)} study "
                f"{'arm' if len(out) == 1 else 'arms'} left out: {who}."
            )
        else:
            lines.append(
                f"Risk of bias filter ({label}): no study arm of this comparison is left out."
            )
    for value, why in (
        (NOT_APPLICABLE, "uncontrolled, so neither RoB 2 nor ROBINS-I applies"),
        (NOT_ASSESSED, "no record in data/rob.csv"),
    ):
        rows = used & (filtered["rob"].to_numpy() == value)
        keys = filtered["citekey"].to_numpy()[rows].tolist()
        n = len({k for k in keys if k is not None and k == k})  # nunique: NaN not counted
        if n:
            lines.append(
                f"{n} {'study' if n == 1 else 'studies'} in the plot "
                f"{'has' if n == 1 else 'have'} no risk-of-bias judgement ({why}); no filter "
                "leaves them out."
            )
    return lines


def counts(rob: pd.DataFrame) -> pd.DataFrame:
    """Studies by tool and overall judgement (for reports)."""
    table = overall(rob).groupby(["tool", "judgement"]).size().rename("studies").reset_index()
    return table
