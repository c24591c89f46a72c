"""A self-contained HTML report (plotly inlined once, no network, no server) and its tables.

:func:`build` runs the same stages the dashboard runs (compare -> pool -> robustness ->
appraisal -> figures) for the chosen settings and returns a :class:`Report`: the page and every
analysis table, which :func:`write_tables` saves as CSV files and one XLSX workbook.

One module per concern: :mod:`~evidence.report.settings` (Settings, Report),
:mod:`~evidence.report.page` (the HTML page), :mod:`~evidence.report.sections` (what each section
shows) and :mod:`~evidence.report.files` (the HTML file and the tables folder); this module
builds the report and re-exports every public name the former report.py had.
"""

from __future__ import annotations

import pandas as pd

from evidence.compare import OUTCOME_LABELS, effect_title
from evidence.dataset import Dataset
from evidence.escaping import html_text
from evidence.report.files import (
    TABLES_MARKER,
    recover_outputs,
    tables_folder_problem,
    write_html,
    write_tables,
)
from evidence.report.page import Page, document
from evidence.report.sections import (
    appraisal_section,
    external_section,
    outcome_section,
    studies_section,
)
from evidence.report.settings import (
    DEFAULT_SETTINGS,
    REPORT_OUTCOMES,
    TEST_NAMES,
    Progress,
    Report,
    Settings,
)

_e = html_text  # every data value goes through the one escaping helper


def build(
    data: Dataset, settings: Settings = DEFAULT_SETTINGS, progress: Progress = lambda _: None
) -> Report:
    """Build the report for ``data`` with ``settings``; ``progress`` hears each step."""
    from evidence.citations import bibliography

    page = Page()
    tables: dict[str, pd.DataFrame] = {}
    cited: list[str] = []
    steps = 4 + len(settings.outcomes) * len(settings.effects)
    done = 0

    def step(text: str) -> None:
        nonlocal done
        done += 1
        progress(f"[{done}/{steps}] {text}")

    step("studies")
    studies_section(page, data, tables, cited)
    for outcome in settings.outcomes:
        for effect in settings.effects:
            step(f"{OUTCOME_LABELS[outcome]}, {effect_title(effect, outcome)}")
            outcome_section(page, data, settings, outcome, effect, tables, cited)
    step("appraisal")
    appraisal_section(page, data, settings, tables)
    step("external benchmarks")
    external_section(page, data, tables, cited)
    step("references")
    page.heading(2, "References", "references")
    # citeproc's HTML, sanitised: its own <i>/<b>... tags, every data character escaped
    refs = bibliography(data.studies, cited, style=settings.style, output="html")
    page.raw(
        '<ol class="refs">'
        + "".join(f'<li id="ref-{_e(k)}">{text}</li>' for k, text in refs)
        + "</ol>"
    )
    return Report(document(page, data, settings.describe()), tables)


__all__ = [
    "REPORT_OUTCOMES",
    "TABLES_MARKER",
    "TEST_NAMES",
    "Progress",
    "Report",
    "Settings",
    "build",
    "recover_outputs",
    "tables_folder_problem",
    "write_html",
    "write_tables",
]
