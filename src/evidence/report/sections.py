"""The report's sections: the studies, one per outcome x effect (forest plot, Bayesian
subsection, robustness), the appraisal (claims, risk of bias, GRADE, flow) and the external
benchmarks. Each writes into a :class:`~evidence.report.page.Page` and adds its tables."""

from __future__ import annotations

import re

import pandas as pd

from evidence import inventory
from evidence.compare import (
    MEASURE_LABELS,
    OUTCOME_LABELS,
    Question,
    effect_title,
    effects,
    pool,
    summary,
)
from evidence.dataset import Dataset
from evidence.escaping import html_text
from evidence.report.page import Page
from evidence.report.settings import Settings
from evidence.schema import split_list
from evidence.text import with_read_in, with_source_text

_e = html_text  # every data value goes through the one escaping helper


def _slug(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", "_".join(parts).lower()).strip("_")


def cite(cited: list[str], key: str) -> int:
    if key not in cited:
        cited.append(key)
    return cited.index(key) + 1


def studies_section(
    page: Page, data: Dataset, tables: dict[str, pd.DataFrame], cited: list[str]
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
    studies["ref"] = [f"[{cite(cited, k)}]" for k in studies["citekey"]]
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


def outcome_section(
    page: Page,
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
    # where each effect's numbers were read (hover: "read in: Table 2"), not data-file lines
    frame = with_read_in(effects(data, q), data.outcomes)
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
        cite(cited, key)
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
    page: Page,
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


def appraisal_section(
    page: Page, data: Dataset, settings: Settings, tables: dict[str, pd.DataFrame]
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
    base = settings.base
    counts = flow.counts(
        data,
        confidence=base.confidence,
        design=base.design,
        population=base.population,
        window=base.window,
    )
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


def external_section(
    page: Page, data: Dataset, tables: dict[str, pd.DataFrame], cited: list[str]
) -> None:
    page.heading(2, "Published meta-analyses (external benchmarks)", "external")
    ext = data.external.copy()
    if ext.empty:
        page.para("No published pooled results are recorded.")
        return
    labels = data.studies.set_index("citekey")["label"]
    ext["source"] = [f"{labels[k]} [{cite(cited, k)}]" for k in ext["citekey"]]
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
