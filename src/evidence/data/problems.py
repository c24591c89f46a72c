"""Problem records, the file-bound :class:`Reporter` that rules use to make them, and hints."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the data, located as precisely as the input allows."""

    file: str
    line: int | None
    citekey: str | None
    field: str | None
    message: str
    expected: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        who = f" {self.citekey}" if self.citekey else ""
        what = f" [{self.field}]" if self.field else ""
        hint = f"; expected {self.expected}" if self.expected else ""
        return f"{where}: {self.severity}:{who}{what} {self.message}{hint}"

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "citekey": self.citekey,
            "field": self.field,
            "message": self.message,
            "expected": self.expected,
        }


class DatasetError(Exception):
    """Raised by :func:`evidence.load` when the data has errors; carries every problem."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=_problem_order)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = "\n".join(str(p) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s) in the dataset:\n{lines}{more}")


def file_order(p: Problem) -> tuple[str, int, str, str, str, str, str]:
    """Sort key: by file and line, then every other field, so that the order never varies."""
    return (
        p.file,
        p.line or 0,
        p.field or "",
        p.message,
        p.citekey or "",
        p.expected or "",
        p.severity,
    )


def _problem_order(p: Problem) -> tuple[int, str, int, str]:
    return (0 if p.severity == "error" else 1, p.file, p.line or 0, p.field or "")


class Reporter:
    """Collects the problems of one file: ``report.error(line, citekey, field, message, ...)``."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def error(
        self,
        line: int | None,
        citekey: str | None,
        field: str | None,
        message: str,
        expected: str | None = None,
    ) -> None:
        self.problems.append(Problem(self.file, line, citekey, field, message, expected))

    def warning(
        self,
        line: int | None,
        citekey: str | None,
        field: str | None,
        message: str,
        expected: str | None = None,
    ) -> None:
        self.problems.append(Problem(self.file, line, citekey, field, message, expected, "warning"))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The first candidate close enough to ``word`` to be a likely typo of it, if any."""
    return next(
        (c for c in candidates if difflib.SequenceMatcher(None, c, word).ratio() > 0.8), None
    )
