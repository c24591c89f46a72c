"""The record of one study arm of the forest plot (issue 14), shown beside the plot when its
row is clicked: the numbers the effect uses, each with its locator and confidence; where they
were read; the study's DOI, PubMed and PMC pages; its risk-of-bias judgement.

Links go only to the study's own record at doi.org, PubMed or PMC (:func:`record_link`), built
from the identifiers in references.bib: an address a number was read on that is anything else
(a journal copy, a mirror, a search page, an IP address) is named in words, not linked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from evidence.app.html import cell, escape, external_link, is_missing
from evidence.app.views.links import RECORD_LINK, record_link, study_links
from evidence.compare import MEASURE_LABELS, OUTCOME_LABELS, to_display
from evidence.data.rules.urls import url_kind
from evidence.dataset import Dataset
from evidence.figures.style import fmt
from evidence.vocab import NO_TOOL

HINT = (
    "<p class='ev-muted'>Click a study's square in the plot to see its record here: the "
    "numbers it rests on, where each was read, its DOI and PubMed links and its risk of bias.</p>"
)


def read_on(url: object) -> str:
    """Where a number was read, as markup: a link if the address is a record link, else its
    host in words (and why it is not linked)."""
    if is_missing(url):
        return "<span class='ev-muted'>address not recorded</span>"
    url = str(url).strip()
    if record_link(url):
        return external_link(url, url.split("://", 1)[1].rstrip("/"))
    kind = url_kind(url)
    if kind:
        return f"<span class='ev-muted'>{escape(kind)} (not linked)</span>"
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return (
        f"a copy at {escape(host)} <span class='ev-muted'>(not linked)</span>" if host else cell("")
    )


def absent_html(data: Dataset, key: str, arm: str, rows: pd.DataFrame, outcome: str) -> str:
    """The panel for a chosen study arm (from a click or a link) that has no effect in the
    plot on screen: which arm, why (the effects frame's reason, when it lists the arm), and
    the hint. The choice stays in the link: back at a question that has it, it shows."""
    studies = data.studies.set_index("citekey")
    label = str(studies.at[key, "label"]) if key in studies.index else key
    reasons = [str(r) for r in rows.get("reason", pd.Series(dtype=object)) if not is_missing(r)]
    why = (
        escape("; ".join(dict.fromkeys(reasons)))
        if reasons
        else "it is not an arm of the chosen cell groups with "
        + escape(OUTCOME_LABELS.get(outcome, outcome))
        + " numbers"
    )
    return (
        f"<div class='ev-record-absent' data-citekey='{escape(key)}' data-arm='{escape(arm)}'>"
        f"<p><b>{escape(label)}: arm {escape(arm)}</b> is not in this plot: {why}.</p></div>" + HINT
    )


def record_html(
    data: Dataset, effect: pd.Series, rob: pd.DataFrame | None = None, unit: str = ""
) -> str:
    """The record of the effects-frame row ``effect`` (one study arm under one question);
    ``rob`` the risk-of-bias frame (:func:`evidence.appraisal.rob.load`), ``unit`` the
    outcome's unit for the effect's line."""
    key, arm = str(effect["citekey"]), str(effect["arm"])
    studies = data.studies.set_index("citekey")
    if key not in studies.index:
        return HINT
    study = studies.loc[key]
    links = study_links(study)
    link_text = (
        " \u00b7 ".join(external_link(href, label) for href, label in links)
        if links
        else "<span class='ev-muted'>no DOI, PubMed or PMC record in references.bib</span>"
    )
    measure = str(effect.get("measure") or "")
    estimate = ""
    if measure and bool(effect.get("included")):
        est, lb, ub = (float(to_display(measure, effect[c])) for c in ("yi", "ci_lb", "ci_ub"))
        estimate = (
            f"<p><b>{escape(MEASURE_LABELS.get(measure, measure))}</b>: {fmt(est)} "
            f"(95% CI {fmt(lb)} to {fmt(ub)}) {escape(unit)}</p>"
        )
    comparator = effect.get("comparator")
    versus = f" vs {escape(comparator)}" if isinstance(comparator, str) and comparator else ""
    return (
        f"<div class='ev-record' data-citekey='{escape(key)}' data-arm='{escape(arm)}'>"
        f"<h3>{escape(study['label'])}: arm {escape(arm)}{versus}</h3>"
        f"<p class='ev-record-id'><code>{escape(key)}</code> \u00b7 {cell(study['design'])} "
        f"\u00b7 {escape(effect['group'])}</p>"
        f"<p class='ev-record-title'>{cell(study['title'])}. <i>{cell(study['journal'])}</i> "
        f"{cell(study['year'])}.</p>"
        f"<p class='ev-record-links'>{link_text}</p>"
        + estimate
        + _numbers(data, effect)
        + _rob(rob, key)
        + "</div>"
    )


def _numbers(data: Dataset, effect: pd.Series) -> str:
    lines = tuple(effect.get("source_lines") or ())
    rows = data.outcomes[data.outcomes["source_line"].isin(lines)]
    if rows.empty:
        reason = effect.get("reason")
        return f"<p>No numbers used: {cell(reason, 'not reported')}.</p>"
    body = []
    for o in rows.sort_values("source_line").itertuples(index=False):
        body.append(
            f"<tr><td>{escape(o.arm)}, {escape(o.timepoint)}</td><td>{escape(o.statistic)}</td>"
            f"<td class='ev-num'>{_value(o)}</td>"
            f"<td>{escape(o.locator)}<br><span class='ev-muted'>{escape(o.confidence)}</span>"
            "</td></tr>"
        )
    places = "".join(f"<li>{read_on(u)}</li>" for u in dict.fromkeys(rows["source_url"]))
    derived = effect.get("derived")
    note = (
        f"<p class='ev-muted'>Derived: {escape(derived)}</p>"
        if isinstance(derived, str) and derived
        else ""
    )
    return (
        f"<h4>Numbers used ({escape(OUTCOME_LABELS.get(str(rows['outcome'].iat[0]), ''))})</h4>"
        "<table class='ev-table ev-record-numbers'><thead><tr><th>arm, time</th>"
        "<th>statistic</th><th>value</th><th>read in, confidence</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{note}"
        f"<p>Read on:</p><ul class='ev-record-read'>{places}</ul>"
    )


def _value(o: Any) -> str:
    """The number as the paper printed it, and in the unit analysed when it was converted."""
    text = f"{o.value_reported:g} {escape(o.unit_reported)}"
    if o.unit_reported != o.unit:
        text += f" <span class='ev-muted'>(= {o.value:.4g} {escape(o.unit)})</span>"
    return text


def _rob(rob: pd.DataFrame | None, key: str) -> str:
    rows = rob[rob["citekey"] == key] if rob is not None and len(rob) else None
    if rows is None or rows.empty:
        return "<h4>Risk of bias</h4><p class='ev-muted'>not assessed</p>"
    tool = str(rows["tool"].iat[0])
    named = f" ({escape(tool)})" if tool != NO_TOOL else ""
    overall = rows[rows["domain"] == "overall"]
    head = ""
    if not overall.empty:
        o = overall.iloc[0]
        why = ""
        if o["rationale"]:
            why = f"<br><span class='ev-muted'>{escape(o['rationale'])}</span>"
        head = f"<p><b>{escape(o['judgement'])}</b> overall{named}{why}</p>"
    domains = "".join(
        f"<li>{escape(r.domain)} {escape(r.domain_name)}: {escape(r.judgement)}</li>"
        for r in rows[rows["domain"] != "overall"].itertuples(index=False)
    )
    listed = f"<ul class='ev-record-rob'>{domains}</ul>" if domains else ""
    return f"<h4>Risk of bias</h4>{head}{listed}"


__all__ = [
    "HINT",
    "RECORD_LINK",
    "absent_html",
    "read_on",
    "record_html",
    "record_link",
    "study_links",
]
