"""A self-contained HTML report (plotly inlined once, no network, no server) and its tables.

:func:`build` runs the same stages the dashboard runs (compare -> pool -> robustness ->
appraisal -> figures) for the chosen settings and returns a :class:`Report`: the page and every
analysis table, which :func:`write_tables` saves as CSV files and one XLSX workbook.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evidence import __version__, inventory
from evidence.compare import (
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    MEASURE_LABELS,
    OUTCOME_LABELS,
    WINDOWS,
    Question,
    effect_title,
    effects,
    pool,
    summary,
)
from evidence.dataset import Dataset
from evidence.escaping import html_text, spreadsheet_text, with_csp
from evidence.schema import split_list
from evidence.text import with_source_text
from evidence.vocab import MAIN_OUTCOMES

Progress = Callable[[str], None]

REPORT_OUTCOMES = MAIN_OUTCOMES
TEST_NAMES = {"z": "Wald z", "knha": "Knapp-Hartung", "adhoc": "Knapp-Hartung (ad hoc)"}


@dataclass(frozen=True)
class Settings:
    """What the report shows: the dashboard's :class:`Question` (filters, cell groups, pre-post
    correlation) asked of every outcome x effect, and the estimator and test to pool with."""

    outcomes: tuple[str, ...] = REPORT_OUTCOMES
    effects: tuple[str, ...] = ("change", "control")
    method: str = "REML"
    test: str = "z"
    # The question asked of each outcome x effect above (its outcome and effect are replaced).
    base: Question = field(default_factory=Question)
    style: str = "vancouver"

    def question(self, outcome: str, effect: str) -> Question:
        return self.base.with_(outcome=outcome, effect=effect)

    def describe(self) -> str:
        q = self.base
        return (
            f"{self.method} estimator, {TEST_NAMES.get(self.test, self.test)} "
            f"confidence intervals, {DESIGN_FILTERS[q.design][0]}, "
            f"{CONFIDENCE_FILTERS[q.confidence][0]}, time window "
            f"{WINDOWS[q.window][0]}, pre-post correlation r = {q.ri:g}"
        )


@dataclass
class Report:
    html: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


class _Page:
    """Collects sections; inlines plotly.js with the first figure only."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self._plotly_included = False
        self._figures = 0

    def heading(self, level: int, text: str, anchor: str | None = None) -> None:
        if anchor:
            self.toc.append((anchor, text))
        attr = f' id="{anchor}"' if anchor else ""
        self.parts.append(f"<h{level}{attr}>{_e(text)}</h{level}>")

    def para(self, text: str, cls: str = "") -> None:
        attr = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{attr}>{_e(text)}</p>")

    def raw(self, markup: str) -> None:
        self.parts.append(markup)

    def figure(self, fig, name: str) -> None:
        from evidence.figures.style import export_config

        self._figures += 1
        self.parts.append(
            '<div class="figure">'
            + fig.to_html(
                full_html=False,
                include_plotlyjs=not self._plotly_included,
                config=export_config(name),
                div_id=f"figure-{self._figures}",
            )
            + "</div>"
        )
        self._plotly_included = True

    def table(self, frame: pd.DataFrame, cls: str = "data") -> None:
        self.parts.append(_table(frame, cls))


_e = html_text  # every data value goes through the one escaping helper


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return '<td class="nr">not reported</td>'
    if isinstance(value, float):
        return f"<td>{value:.3g}</td>" if abs(value) < 1e4 else f"<td>{value:,.0f}</td>"
    return f"<td>{_e(value)}</td>"


def _table(frame: pd.DataFrame, cls: str = "data") -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in frame.itertuples(index=False)
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _slug(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", "_".join(parts).lower()).strip("_")


def build(
    data: Dataset, settings: Settings = Settings(), progress: Progress = lambda _: None
) -> Report:
    """Build the report for ``data`` with ``settings``; ``progress`` hears each step."""
    from evidence.citations import bibliography

    page = _Page()
    tables: dict[str, pd.DataFrame] = {}
    cited: list[str] = []
    steps = 4 + len(settings.outcomes) * len(settings.effects)
    done = 0

    def step(text: str) -> None:
        nonlocal done
        done += 1
        progress(f"[{done}/{steps}] {text}")

    step("studies")
    _studies_section(page, data, tables, cited)
    for outcome in settings.outcomes:
        for effect in settings.effects:
            step(f"{OUTCOME_LABELS[outcome]}, {effect_title(effect, outcome)}")
            _outcome_section(page, data, settings, outcome, effect, tables, cited)
    step("appraisal")
    _appraisal_section(page, data, settings, tables)
    step("external benchmarks")
    _external_section(page, data, tables, cited)
    step("references")
    page.heading(2, "References", "references")
    # citeproc's HTML, sanitised: its own <i>/<b>... tags, every data character escaped
    refs = bibliography(data.studies, cited, style=settings.style, output="html")
    page.raw(
        '<ol class="refs">'
        + "".join(f'<li id="ref-{_e(k)}">{text}</li>' for k, text in refs)
        + "</ol>"
    )
    return Report(_document(page, data, settings), tables)


def _cite(cited: list[str], key: str) -> int:
    if key not in cited:
        cited.append(key)
    return cited.index(key) + 1


def _studies_section(
    page: _Page, data: Dataset, tables: dict[str, pd.DataFrame], cited: list[str]
) -> None:
    page.heading(2, "The studies", "studies")
    page.para(
        f"{inventory.registry_counts(data)['clinical studies']} clinical studies, "
        f"{inventory.registry_counts(data)['animal studies']} animal studies and "
        f"{inventory.registry_counts(data)['meta-analyses']} published meta-analyses; "
        f"{len(data.outcomes)} numbers, each with its locator and confidence."
    )
    page.table(inventory.by_group(data))
    studies = data.studies[data.studies["kind"] == "study"].copy()
    studies["ref"] = [f"[{_cite(cited, k)}]" for k in studies["citekey"]]
    shown = studies[
        [
            "ref",
            "label",
            "design",
            "species",
            "population",
            "cell_groups",
            "route",
            "dose",
            "n",
            "follow_up",
            "country",
            "confidence",
        ]
    ].copy()
    for column in ("cell_groups", "route"):  # "a;b" as a reader writes it: "a, b"
        shown[column] = [
            ", ".join(split_list(v)) if isinstance(v, str) else v for v in shown[column]
        ]
    page.table(shown)
    tables["studies"] = data.studies


def _outcome_section(
    page: _Page,
    data: Dataset,
    settings: Settings,
    outcome: str,
    effect: str,
    tables: dict[str, pd.DataFrame],
    cited: list[str],
) -> None:
    from evidence import robustness
    from evidence.figures import (
        cumulative_plot,
        estimator_grid_plot,
        forest_plot,
        funnel_plot,
        leave_one_out_plot,
    )

    q = settings.question(outcome, effect)
    frame = effects(data, q)
    pooled = pool(frame, q, method=settings.method, test=settings.test)
    name = _slug(outcome, effect)
    anchor = f"outcome-{name}"
    page.heading(2, f"{OUTCOME_LABELS[outcome]}: {effect_title(effect, outcome)}", anchor)
    page.para(f"Effect measure: {MEASURE_LABELS[q.measure]}.")
    for sentence in summary(pooled):
        page.para(sentence, "summary")
    page.figure(forest_plot(pooled), f"forest-{name}")
    tables[f"effects_{name}"] = with_source_text(frame)
    tables[f"pooled_{name}"] = _pooled_table(pooled)
    _bayes_subsection(page, data, q, frame, name, tables)
    excluded = frame[~frame["included"]]
    if len(excluded):
        page.raw(
            f"<details><summary>Study arms not in the plot, and why ({len(excluded)})</summary>"
        )
        page.table(excluded[["label", "group", "arm", "design", "reason"]])
        page.raw("</details>")
    for key in frame.loc[frame["included"], "citekey"]:
        _cite(cited, key)
    if int(frame["included"].sum()) < 2:
        page.para("Sensitivity analyses need at least two included study arms.", "note")
        return
    method, test = settings.method, settings.test
    ref = robustness.reference(frame, method=method, test=test)
    loo = robustness.leave_one_out(frame, method=method, test=test)
    cum = robustness.cumulative(frame, method=method, test=test)
    grid = robustness.estimator_grid(frame, method=method, test=test)
    fun = robustness.funnel(frame, method=method, test=test)
    page.heading(3, "Robustness")
    page.figure(leave_one_out_plot(loo, ref, q.measure, outcome), f"leave1out-{name}")
    page.figure(cumulative_plot(cum, ref, q.measure, outcome), f"cumulative-{name}")
    page.figure(funnel_plot(fun, outcome), f"funnel-{name}")
    for note in fun.notes:
        page.para(note, "note")
    page.figure(estimator_grid_plot(grid, q.measure), f"grid-{name}")
    tables[f"leave1out_{name}"] = loo
    tables[f"cumulative_{name}"] = cum
    tables[f"grid_{name}"] = grid


def _bayes_subsection(
    page: _Page,
    data: Dataset,
    q: Question,
    frame: pd.DataFrame,
    name: str,
    tables: dict[str, pd.DataFrame],
) -> None:
    """The same groups under the Bayesian model (evidence.bayesian), prior stated."""
    from evidence.bayesian import BAYES_LABEL, default_tau_prior, pool_bayes, summary_frame
    from evidence.compare import to_display
    from evidence.figures.style import fmt

    if not frame["included"].any():
        return
    prior = default_tau_prior(data, q)
    page.heading(3, BAYES_LABEL)
    page.para(prior.text, "note")
    if prior.scale is None:
        return
    bp = pool_bayes(frame, q, prior)
    table = summary_frame(bp)
    if table.empty:
        return

    def show(col: str) -> pd.Series:
        return table[col].map(lambda v: fmt(float(to_display(q.measure, v))))

    def pct(col: str) -> pd.Series:
        return table[col].map(lambda v: "NA" if v is None or v != v else f"{100 * v:.0f}%")

    shown = pd.DataFrame(
        {
            "group": table["group"],
            "k": table["k"],
            "posterior median": show("mu_median"),
            "95% credible interval": show("mu_ci_lb") + " to " + show("mu_ci_ub"),
            "predictive interval": show("pred_lb") + " to " + show("pred_ub"),
            "P(benefit)": pct("p_benefit"),
            f"P(benefit \u2265 {fmt(bp.threshold)})": pct("p_threshold"),
        }
    )
    page.table(shown)
    page.para(f"Threshold: {bp.threshold_source}.", "note")
    for better, worse, p in bp.comparisons:
        page.para(
            f"P({better}'s mean effect more favourable than {worse}'s) = {100 * p:.0f}% "
            "(across-study, indirect comparison).",
            "note",
        )
    for note in bp.notes:
        page.para(note, "note")
    tables[f"bayes_{name}"] = table


def _pooled_table(pooled) -> pd.DataFrame:
    rows = []
    for group, result in pooled.groups.items():
        record = {"group": group}
        if result is not None:
            record |= result.to_frame().iloc[0].to_dict()
        rows.append(record)
    if pooled.overall is not None:
        rows.append({"group": "overall", **pooled.overall.to_frame().iloc[0].to_dict()})
    frame = pd.DataFrame(rows)
    if pooled.subgroups is not None:
        frame["q_between"] = pooled.subgroups.q_between
        frame["q_between_df"] = pooled.subgroups.q_between_df
        frame["q_between_pval"] = pooled.subgroups.q_between_pval
    return frame


def _appraisal_section(
    page: _Page, data: Dataset, settings: Settings, tables: dict[str, pd.DataFrame]
) -> None:
    from evidence.appraisal import claims, flow, grade, rob
    from evidence.figures.flow import flow_diagram
    from evidence.figures.rob import summary_plot, traffic_light_plot

    root = data.root
    page.heading(2, "Claims of the source article, checked", "claims")
    table = claims.load(root, data)
    if len(table):
        page.raw(_claims_table(table))
        tables["claims"] = table
    central = claims.central_claim(
        data, method=settings.method, test="knha", confidence=settings.base.confidence
    )
    for line in central.lines:
        page.para(line, "summary")

    page.heading(2, "Risk of bias", "rob")
    rob_frame = rob.load(root, data)
    if len(rob_frame):
        page.figure(traffic_light_plot(rob_frame), "rob-traffic-light")
        page.figure(summary_plot(rob.summary_weights(rob_frame, data)), "rob-summary")
        tables["risk_of_bias"] = rob_frame

    page.heading(2, "Certainty of evidence (GRADE draft)", "grade")
    sof = grade.draft(
        data,
        rob_frame if len(rob_frame) else None,
        window=settings.base.window,
        confidence=settings.base.confidence,
        method=settings.method,
    )
    # The Summary of Findings: outcome, studies, patients, effect with CI, certainty, statement.
    shown = sof[
        ["outcome_label", "comparison", "k", "n_patients", "effect_text", "certainty", "statement"]
    ].rename(
        columns={
            "outcome_label": "outcome",
            "k": "studies",
            "n_patients": "patients",
            "effect_text": "effect (95% CI)",
        }
    )
    page.table(shown.astype(object).where(shown.notna(), None), "sof")
    tables["summary_of_findings"] = sof

    page.heading(2, "Study flow", "flow")
    counts = flow.counts(data, confidence=settings.base.confidence, window=settings.base.window)
    page.figure(flow_diagram(counts.boxes, counts.per_outcome), "study-flow")
    tables["flow"] = counts.boxes


def _claims_table(table: pd.DataFrame) -> str:
    """Claims with the verdict as a coloured badge with its symbol and word (never colour
    alone), each claim expandable to what the cited work reports and why the verdict."""
    from evidence.appraisal.claims import VERDICT_STYLE

    rows = []
    for r in table.itertuples(index=False):
        cited = _e(r.cited_label) if isinstance(r.cited_label, str) else "nothing cited"
        ink = VERDICT_STYLE.get(r.verdict, {}).get("text", "#000000")
        badge = (
            f'<span class="verdict" style="background:{_e(r.colour)};color:{_e(ink)}">'
            f"{_e(r.symbol)} {_e(r.verdict)}</span>"
        )
        rows.append(
            f"<tr><td>{_e(r.claim_id)}</td><td>{badge}</td><td><details><summary>"
            f"{_e(r.claim)}</summary><p><b>Cited:</b> {cited}. <b>It reports:</b> "
            f"{_e(r.reports)}</p><p><b>Why this verdict:</b> {_e(r.reason)}</p>"
            f'<p class="note">Read in: {_e(r.basis)}; {_e(r.source)}</p></details></td>'
            f"<td>{cited}</td></tr>"
        )
    return (
        '<table class="claims"><thead><tr><th>claim</th><th>verdict</th>'
        "<th>the article's claim (click for the evidence)</th><th>cites</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _external_section(
    page: _Page, data: Dataset, tables: dict[str, pd.DataFrame], cited: list[str]
) -> None:
    page.heading(2, "Published meta-analyses (external benchmarks)", "external")
    ext = data.external.copy()
    if ext.empty:
        page.para("No published pooled results are recorded.")
        return
    labels = data.studies.set_index("citekey")["label"]
    ext["source"] = [f"{labels[k]} [{_cite(cited, k)}]" for k in ext["citekey"]]
    page.table(
        ext[
            [
                "source",
                "group",
                "outcome",
                "comparison",
                "timepoint",
                "measure",
                "estimate",
                "ci_lb",
                "ci_ub",
                "unit",
                "k",
                "locator",
                "note",
            ]
        ]
    )
    tables["external"] = data.external


_CSS = """
body{font-family:Arial,Helvetica,sans-serif;margin:2rem auto;max-width:1200px;color:#111;
 line-height:1.45;padding:0 1rem}
h1{font-size:1.8rem}h2{margin-top:2.5rem;border-bottom:2px solid #0072B2;padding-bottom:.2rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem;width:100%}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.nr{color:#6e6e6e;font-style:italic}
p.summary{background:#f7f9fc;border-left:4px solid #0072B2;padding:.4rem .8rem;margin:.3rem 0}
p.note{color:#6e6e6e}.figure{margin:1rem 0}details{margin:.5rem 0}
nav ul{columns:2}ol.refs li{margin:.3rem 0}.meta{color:#444;font-size:.9rem}
td,li,p{unicode-bidi:plaintext}
.verdict{display:inline-block;padding:0 .5rem;border-radius:.6rem;border:1px solid #444;
 font-weight:bold;white-space:nowrap}summary{cursor:pointer}
"""


def _document(page: _Page, data: Dataset, settings: Settings) -> str:
    today = dt.date.today().isoformat()
    toc = "".join(f'<li><a href="#{a}">{_e(t)}</a></li>' for a, t in page.toc)
    head = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Cell therapy for decompensated cirrhosis: evidence report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>Cell therapy for decompensated cirrhosis: evidence report</h1>"
        f'<p class="meta">Generated {today} by evidence {__version__} from '
        f"{_e(data.root.resolve().name)}. Settings: {_e(settings.describe())}. "
        "Every number comes from the dataset with its locator and confidence; "
        "values a study does not report are shown as \u201cnot reported\u201d.</p>"
        f"<nav><ul>{toc}</ul></nav>"
    )
    return with_csp(head + "\n".join(page.parts) + "</body></html>")


def write_html(report: Report, path: Path) -> None:
    from evidence.registry import write_atomic

    write_atomic(Path(path), report.html)


TABLES_MARKER = ".evidence-tables"  # in a tables folder we wrote: ours to replace
_SAFE_CELL_CHARS = 32_767  # Excel's limit for one cell


def tables_folder_problem(directory: Path) -> str | None:
    """Why ``directory`` cannot take the tables: it exists and holds files we did not write
    (replacing the folder would lose them)."""
    directory = Path(directory)
    if not directory.exists() or (directory / TABLES_MARKER).exists():
        return None
    if not directory.is_dir():
        return f"cannot write tables into {directory}: it is a file"
    if any(directory.iterdir()):
        return (
            f"{directory} holds files that evidence report did not write; "
            "give --tables a new or empty folder"
        )
    return None


def write_tables(report: Report, directory: Path) -> list[Path]:
    """Every table as ``<name>.csv`` plus all of them in ``tables.xlsx`` (one sheet each).

    All or nothing: the files are written into a temporary folder beside ``directory``, which
    then replaces it (a kill leaves the old folder or the new one; :func:`recover_outputs`
    tidies what a kill between the two renames leaves). Text cells are spreadsheet-safe.
    """
    import shutil
    import tempfile

    from evidence.registry import _sync_dir, _umask

    directory = Path(directory)
    problem = tables_folder_problem(directory)
    if problem:
        raise ValueError(problem)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's folder is private (0700)
        names = []
        for name, frame in report.tables.items():
            # CRLF rows (RFC 4180): with "\n" rows, csv leaves a lone "\r" in a field unquoted
            # and a spreadsheet starts a new row there (and a formula with it)
            _spreadsheet_safe(frame).to_csv(tmp / f"{name}.csv", index=False, lineterminator="\r\n")
            names.append(f"{name}.csv")
        with pd.ExcelWriter(tmp / "tables.xlsx", engine="openpyxl") as excel:
            for name, frame in report.tables.items():
                _excel_safe(frame).to_excel(
                    excel, sheet_name=_sheet(name, excel.sheets), index=False
                )
        names.append("tables.xlsx")
        (tmp / TABLES_MARKER).write_text("written by evidence report; replaced on each run\n")
        for path in tmp.iterdir():
            with path.open("rb+") as handle:
                os.fsync(handle.fileno())
        _sync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if directory.exists():
        old = Path(
            tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old", dir=directory.parent)
        )
        os.replace(directory, old)  # an empty folder is replaced by a rename
        os.replace(tmp, directory)
        _sync_dir(directory.parent)
        shutil.rmtree(old)
    else:
        os.replace(tmp, directory)
    _sync_dir(directory.parent)
    return [directory / name for name in names]


def recover_outputs(out: Path, tables: Path | None) -> list[str]:
    """Tidy what a killed ``evidence report`` left beside its outputs; one message per thing."""
    import shutil

    messages = []
    out = Path(out)
    for leftover in sorted(out.parent.glob(f".{out.name}.*.tmp")):
        leftover.unlink()
        messages.append(f"removed {leftover}, left by an interrupted run ({out} was not changed)")
    if tables is None:
        return messages
    tables = Path(tables)
    for leftover in sorted(tables.parent.glob(f".{tables.name}.*.tmp")):
        shutil.rmtree(leftover, ignore_errors=True)
        messages.append(f"removed {leftover}, the unfinished tables of an interrupted run")
    for old in sorted(tables.parent.glob(f".{tables.name}.*.old")):
        if tables.exists() or not (old / TABLES_MARKER).exists():
            shutil.rmtree(old, ignore_errors=True)
            messages.append(f"removed {old}, the previous tables an interrupted run replaced")
        else:
            os.replace(old, tables)
            messages.append(f"restored {tables}: an interrupted run had moved it aside")
    return messages


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)
    ]


def _spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    # '=cmd' in a CSV opened in Excel is a live formula (OWASP CSV injection): text stays text
    out = frame.copy()
    for column in _text_columns(out):
        out[column] = out[column].map(spreadsheet_text).astype(object)
    return out


def _sheet(name: str, taken: Iterable[str]) -> str:
    base = name[:31]
    taken = set(taken)
    candidate, i = base, 1
    while candidate in taken:
        suffix = f"~{i}"
        candidate, i = base[: 31 - len(suffix)] + suffix, i + 1
    return candidate


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    # openpyxl cannot store numpy arrays or tuples in a cell; strings are what a reader wants.
    # Text is spreadsheet-safe (no live formula, no control character, which openpyxl refuses)
    # and within Excel's cell limit.
    out = frame.copy()
    for column in _text_columns(out):
        out[column] = out[column].map(_excel_cell).astype(object)
    return out


def _excel_cell(value: object) -> object:
    if value is None or value is pd.NA or isinstance(value, int | float | bool):
        return value
    text = spreadsheet_text(str(value))
    if len(text) > _SAFE_CELL_CHARS:
        mark = " [cut at Excel's cell limit; full text in the CSV]"
        text = text[: _SAFE_CELL_CHARS - len(mark)] + mark
    return text
