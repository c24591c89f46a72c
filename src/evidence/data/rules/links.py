"""Links between files: a CSV row's citekey must name a bib entry of the right kind."""

from __future__ import annotations

from evidence.data.fields import BIB_FILE
from evidence.data.problems import Reporter, did_you_mean
from evidence.data.tables import Row
from evidence.registry import BibEntry, Registry


def study_entry(registry: Registry, key: str) -> BibEntry | None:
    """The bib entry of ``key`` if it is a study, else None."""
    entry = registry.get(key)
    return entry if entry is not None and entry.get("kind") == "study" else None


def report_orphan(report: Reporter, row: Row, registry: Registry) -> None:
    """Report a row whose citekey is not a study of the bib (with a likely typo's fix)."""
    key = row["citekey"]
    if key in registry:
        report.error(
            row.line,
            key,
            "citekey",
            f"{key} is a {registry[key].get('kind') or 'entry without kind'}, not a study",
            "a kind = {study} entry",
        )
        return
    close = did_you_mean(key, registry.keys)
    hint = f"a citekey of {BIB_FILE}" + (f" (did you mean {close!r}?)" if close else "")
    report.error(row.line, key, "citekey", f"no entry {key!r} in {BIB_FILE}", hint)
