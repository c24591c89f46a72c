"""The files around ``evidence export-r``'s analyses: a folder's ``run_all.R``, README and
``export.json``, and one analysis as a zip (the dashboard's download).

Works on anything shaped like :class:`evidence.export.rscript.Analysis` (:class:`Exported`), so
that this module needs nothing from the one that computes the analyses.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from typing import Protocol

from evidence import __version__
from evidence.compare import Question
from evidence.export import MANIFEST
from evidence.export.rcode import r_string


class Exported(Protocol):
    """What the folder's files need of an analysis."""

    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def test(self) -> str: ...
    @property
    def k(self) -> int: ...
    @property
    def question(self) -> Question: ...
    def files(self) -> dict[str, str]: ...


def files(analyses: Sequence[Exported]) -> dict[str, str]:
    """Every file of an export folder: the analyses, ``run_all.R``, README.md, export.json."""
    out: dict[str, str] = {}
    for a in analyses:
        out |= a.files()
    out["run_all.R"] = run_all(analyses)
    out["README.md"] = readme(analyses)
    out[MANIFEST] = manifest(analyses)
    return out


def manifest(analyses: Sequence[Exported]) -> str:
    """``export.json``: what wrote the folder and each analysis' question, estimator and test."""
    record = {
        "written_by": f"evidence {__version__} export-r",
        "analyses": [
            {
                "name": a.name,
                "title": a.title,
                "method": a.method,
                "test": a.test,
                "k": a.k,
                "question": {
                    k: (list(v) if isinstance(v, tuple) else v)
                    for k, v in a.question.__dict__.items()
                },
            }
            for a in analyses
        ],
    }
    return json.dumps(record, indent=2) + "\n"


def run_all(analyses: Sequence[Exported]) -> str:
    scripts = ",\n  ".join(r_string(f"{a.name}.R") for a in analyses)
    return f"""\
# Run every analysis of this folder in one R session (R and metafor load once), each script in
# an environment of its own so that no analysis sees another's objects.
#     Rscript run_all.R
scripts <- c(
  {scripts}
)
for (script in scripts) {{
  cat("\\n==", script, "==\\n")
  sys.source(script, envir = new.env())
}}
"""


def readme(analyses: Sequence[Exported]) -> str:
    lines = [
        "# The product's pooled results, reproducible with R and metafor",
        "",
        f"Written by `evidence export-r` (evidence {__version__}). Each analysis has three "
        "files: `NAME.R` (the script), `NAME.data.csv` (every number it uses, with citekey, arm, "
        "locator and confidence) and `NAME.expected.csv` (the product's own results). "
        "`Rscript NAME.R`, run in this folder, writes `NAME.metafor.csv` (metafor's results, same "
        "columns), prints a summary with the largest difference from the product, and draws "
        "`NAME.pdf` (metafor's forest plot). `Rscript run_all.R` runs them all. Needs base R and "
        "metafor (written for 3.8.1).",
        "",
        "| analysis | file | study arms | estimator | test |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {a.title} | `{a.name}.R` | {a.k} | {a.method} | {a.test} |" for a in analyses]
    lines += [
        "",
        "Columns of the results: `group, k, estimate, ci_lb, ci_ub, tau2, pi_lb, pi_ub`, on the "
        "analysis scale of the measure (log odds ratios, logits). NA where a group has no study "
        "arm with usable numbers, and for tau2 and the prediction interval of a single study "
        "(heterogeneity is undefined; metafor would say tau2 = 0).",
        "",
        "Not here: the report's Bayesian results (evidence.bayesian). metafor has no Bayesian "
        "model, so there is nothing for it to reproduce; R's bayesmeta package fits the same "
        "normal-normal model.",
        "",
    ]
    return "\n".join(lines)


def zipped(folder: str, contents: Mapping[str, str]) -> bytes:
    """``contents`` (relative path -> text) as a zip whose files sit in ``folder/``; the
    manifest stays out (a download is not an export folder to replace)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative, content in contents.items():
            if relative == MANIFEST:
                continue
            archive.writestr(f"{folder}/{relative}", content)
    return buffer.getvalue()
