"""Files and lines of src/evidence per stage, at any git revision (issue 11's before/after table).

    python benchmarks/layout_stats.py                 # the working tree's HEAD
    python benchmarks/layout_stats.py 5aa243d main    # one table per revision, then the change

Counts come from git (``git ls-tree`` and ``git cat-file``), so any revision works without a
checkout. Source files only: Python, and the CSS/JS/template files the dashboard and the server
ship (CSS and JS moved out of Python strings during the re-layering, so counting them keeps the
comparison honest); ``py.typed`` and the citation style are not code. A line is a newline-ended
line of the file, blank and comment lines included.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "src/evidence/"
SOURCE_SUFFIXES = (".py", ".css", ".js", ".j2")

#: The stages in the README's order, each with the paths (below src/evidence/) that belong to it.
#: A folder ends with "/"; the first matching stage wins. Former module names that survive as
#: re-exports (dataset.py, schema.py, units.py, compare.py) stay with their stage.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vocab", ("vocab.py",)),
    ("data", ("data/", "dataset.py", "schema.py", "units.py", "escaping.py", "__init__.py")),
    (
        "registry/authoring",
        ("registry.py", "storage.py", "authoring.py", "inventory.py", "citations.py", "changes.py"),
    ),
    ("effects", ("effects.py",)),
    ("meta", ("meta/",)),
    ("analysis", ("analysis/", "compare.py", "bayesian.py", "robustness.py", "text/")),
    ("appraisal", ("appraisal/",)),
    ("figures", ("figures/",)),
    ("app", ("app/",)),
    ("report/export", ("report.py", "report/", "export.py", "export/")),
    ("serving", ("serve.py", "serving/", "jupyter/")),
    ("cli", ("cli.py", "cli/")),
)


@dataclass
class Stage:
    files: int = 0
    lines: int = 0
    largest: tuple[int, str] = (0, "")
    modules: list[tuple[int, str]] = field(default_factory=list)
    functions: list[tuple[int, str]] = field(default_factory=list)  # (lines, path:name)

    def add(self, path: str, lines: int, functions: list[tuple[int, str]]) -> None:
        self.files += 1
        self.lines += lines
        self.largest = max(self.largest, (lines, path))
        self.modules.append((lines, path))
        self.functions += [(n, f"{path}:{name}") for n, name in functions]


def stage_of(relative: str) -> str:
    for name, paths in STAGES:
        for p in paths:
            if relative == p or (p.endswith("/") and relative.startswith(p)):
                return name
    return "other"


def _git(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], input=data, capture_output=True, check=True
    ).stdout


def function_lengths(text: str) -> list[tuple[int, str]]:
    """(lines, name) of every function and method of a Python module, decorators included."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found.append((node.end_lineno - first + 1, node.name))
    return found


def source_files(revision: str) -> dict[str, tuple[int, list[tuple[int, str]]]]:
    """Path below src/evidence/ -> its number of lines and its functions' lengths, at
    ``revision``."""
    listing = _git("ls-tree", "-r", "--name-only", revision, "--", PACKAGE).decode().splitlines()
    paths = [p for p in listing if p.endswith(SOURCE_SUFFIXES)]
    if not paths:
        return {}
    # One cat-file process for every blob: "<sha> blob <size>\n<content>\n" per request.
    out = _git("cat-file", "--batch", data="".join(f"{revision}:{p}\n" for p in paths).encode())
    counts: dict[str, tuple[int, list[tuple[int, str]]]] = {}
    position = 0
    for path in paths:
        header_end = out.index(b"\n", position)
        size = int(out[position:header_end].split()[2])
        blob = out[header_end + 1 : header_end + 1 + size]
        functions = function_lengths(blob.decode("utf-8")) if path.endswith(".py") else []
        counts[path[len(PACKAGE) :]] = (blob.count(b"\n"), functions)
        position = header_end + 1 + size + 1
    return counts


def table(revision: str) -> dict[str, Stage]:
    stages = {name: Stage() for name, _ in STAGES}
    for relative, (lines, functions) in sorted(source_files(revision).items()):
        stages.setdefault(stage_of(relative), Stage()).add(relative, lines, functions)
    return stages


def describe(revision: str) -> str:
    return _git("log", "-1", "--format=%h %ad %s", "--date=short", revision).decode().strip()


def markdown(revision: str, stages: dict[str, Stage], over: int, longer: int) -> str:
    rows = [
        f"Revision {describe(revision)[:100]}",
        "",
        f"| stage | files | lines | largest module (lines) | modules over {over} lines | "
        f"functions over {longer} lines |",
        "|---|---:|---:|---|---:|---:|",
    ]
    everything = Stage()
    for name, s in stages.items():
        big = sum(1 for lines, _ in s.modules if lines > over)
        long = sum(1 for lines, _ in s.functions if lines > longer)
        largest = f"{s.largest[1]} ({s.largest[0]:,})" if s.files else ""
        rows.append(f"| {name} | {s.files} | {s.lines:,} | {largest} | {big} | {long} |")
        everything.files += s.files
        everything.lines += s.lines
        everything.modules += s.modules
        everything.functions += s.functions
    big = sum(1 for lines, _ in everything.modules if lines > over)
    long = sorted((x for x in everything.functions if x[0] > longer), reverse=True)
    rows.append(f"| **all** | {everything.files} | {everything.lines:,} | | {big} | {len(long)} |")
    if long:
        rows += ["", f"Functions over {longer} lines: " + ", ".join(f"{p} ({n})" for n, p in long)]
    return "\n".join(rows)


def compare(before: str, after: str, a: dict[str, Stage], b: dict[str, Stage]) -> str:
    rows = [
        f"Change from {before} to {after}",
        "",
        "| stage | files before | files after | lines before | lines after | largest before | "
        "largest after |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys([*a, *b]):
        x, y = a.get(name, Stage()), b.get(name, Stage())
        rows.append(
            f"| {name} | {x.files} | {y.files} | {x.lines:,} | {y.lines:,} | "
            f"{x.largest[0]:,} | {y.largest[0]:,} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revisions", nargs="*", default=["HEAD"], help="git revisions")
    parser.add_argument(
        "--over", type=int, default=600, help="count modules longer than this (default 600)"
    )
    parser.add_argument(
        "--longer", type=int, default=100, help="count functions longer than this (default 100)"
    )
    args = parser.parse_args(argv)
    try:
        tables = [(rev, table(rev)) for rev in args.revisions]
    except subprocess.CalledProcessError as exc:
        print(f"layout_stats: git failed: {exc.stderr.decode().strip()}", file=sys.stderr)
        return 2
    for rev, stages in tables:
        print(markdown(rev, stages, args.over, args.longer), end="\n\n")
    if len(tables) == 2:
        (r1, t1), (r2, t2) = tables
        print(compare(r1, r2, t1, t2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
