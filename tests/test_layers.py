"""Data flows one way: no module imports a later stage, and no import cycle exists.

The stages are the README's Layout arrow list (parsed from README.md, so the README is what this
checks). Imports are read with ``ast``, deferred ones inside functions and ``TYPE_CHECKING``
blocks included: a deferred import hides a cycle from Python, not from this test.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from .conftest import ROOT

SRC = ROOT / "src"
PACKAGE = "evidence"

#: Cycles that another change is removing right now; each entry names the change. Empty is the
#: goal: an entry here is a debt, not a permission.
TEMPORARY_CYCLES: dict[frozenset[str], str] = {}

_ARROW = re.compile(r"^\s*->\s*(evidence(?:\.\w+)*)\b")
_BESIDE = re.compile(r"^\s+(evidence\.\w+(?:\.\w+)*)\b")


def readme_stages(readme: str) -> list[list[str]]:
    """Stages in order: each ``-> evidence.x`` line opens one; an indented ``evidence.y`` line
    without an arrow sits beside it (same stage)."""
    match = re.search(r"## Layout\n(.*?)\n## ", readme, re.S)
    assert match, "README.md has no '## Layout' section"
    block = re.search(r"```\n(.*?)```", match.group(1), re.S)
    assert block, "README.md's Layout section has no code block with the arrow list"
    stages: list[list[str]] = []
    for line in block.group(1).splitlines():
        if m := _ARROW.match(line):
            stages.append([m.group(1)])
        elif (m := _BESIDE.match(line)) and stages:
            stages[-1].append(m.group(1))
    return stages


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[tuple[str, int]]:
    """The project modules ``name`` imports, each with the line of its first import."""
    is_package = path.name == "__init__.py"
    found: dict[str, int] = {}

    def add(target: str, line: int) -> None:
        if target.split(".")[0] == PACKAGE and target != name:
            found.setdefault(target, line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                add(sub if sub in known else module, node.lineno)
    return set(found.items())


def import_graph() -> dict[str, dict[str, int]]:
    """Module -> {imported module: line}. The root package is a facade of lazy re-exports
    (``evidence.load``): an import of it counts as an import of what it re-exports."""
    mods = modules()
    known = set(mods)
    graph = {name: dict(imports_of(name, path, known)) for name, path in mods.items()}
    facade = graph.pop(PACKAGE)
    for edges in graph.values():
        if PACKAGE in edges:
            line = edges.pop(PACKAGE)
            for target in facade:
                edges.setdefault(target, line)
    return graph


def stage_of(module: str, stages: list[list[str]]) -> int | None:
    """Index of the stage whose listed name is the longest prefix of ``module``."""
    best: tuple[int, int] | None = None
    for i, names in enumerate(stages):
        for listed in names:
            inside = module == listed or module.startswith(listed + ".")
            if inside and (best is None or len(listed) > best[0]):
                best = (len(listed), i)
    return None if best is None else best[1]


def find_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def stages() -> list[list[str]]:
    return readme_stages((ROOT / "README.md").read_text(encoding="utf-8"))


def test_readme_lists_stages_that_exist(stages):
    known = set(modules())
    listed = [name for names in stages for name in names]
    assert len(stages) >= 5, f"README.md's Layout list parsed to too few stages: {stages}"
    assert [n for n in listed if n not in known] == [], "README.md lists modules that do not exist"
    assert len(listed) == len(set(listed)), "README.md lists a module twice"


def test_every_module_belongs_to_a_stage(stages):
    missing = [m for m in modules() if m != PACKAGE and stage_of(m, stages) is None]
    assert missing == [], (
        f"modules in no stage of README.md's Layout arrow list: {missing}; add each to the list"
        " (a '-> evidence.x' line for a new stage, an indented 'evidence.x' line beside one)"
    )


def test_no_import_from_a_later_stage(stages):
    paths = modules()
    backward = []
    for module, edges in import_graph().items():
        own = stage_of(module, stages)
        for target, line in sorted(edges.items()):
            theirs = stage_of(target, stages)
            if own is not None and theirs is not None and theirs > own:
                where = paths[module].relative_to(ROOT)
                backward.append(
                    f"{where}:{line}: {module} (stage {stages[own][0]}) imports {target}"
                    f" (later stage {stages[theirs][0]})"
                )
    assert backward == [], "imports against the data flow:\n" + "\n".join(backward)


def test_no_import_cycle():
    cycles = [c for c in find_cycles(import_graph()) if frozenset(c) not in TEMPORARY_CYCLES]
    assert cycles == [], f"import cycles (deferred imports included): {cycles}"


def test_temporary_exceptions_are_still_needed():
    # An exception outlives its cycle only by mistake: remove it once the cycle is gone.
    cycles = {frozenset(c) for c in find_cycles(import_graph())}
    stale = [sorted(c) for c in TEMPORARY_CYCLES if c not in cycles]
    assert stale == [], f"remove these from TEMPORARY_CYCLES, the cycle is gone: {stale}"


def test_the_checker_sees_deferred_imports_and_cycles(tmp_path):
    graph = {"a": {"b": 1}, "b": {"c": 3}, "c": {"a": 7}, "d": {"a": 2}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from evidence.meta import model\n    from . import x\n")
    known = {"evidence.meta", "evidence.meta.model", "evidence.app.x"}
    assert imports_of("evidence.app.m", module, known) == {
        ("evidence.meta.model", 2),
        ("evidence.app.x", 3),
    }
    stages = readme_stages(
        "## Layout\n```\nx\n  -> evidence.a   one\n                 evidence.b: two\n"
        "  -> evidence.c   three -> not.a.stage\n```\n## Next\n"
    )
    assert stages == [["evidence.a", "evidence.b"], ["evidence.c"]]
    assert stage_of("evidence.c.sub", stages) == 1 and stage_of("evidence.z", stages) is None


def test_extending_recipes_name_files_that_exist():
    # docs/extending.md names every file a recipe touches: a renamed file must not leave it stale
    text = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:src|tests|docs|data)/[^`\s]+\.(?:py|md|toml|css|csv|R))`", text))
    assert len(paths) >= 15, sorted(paths)
    missing = sorted(p for p in paths if "<" not in p and not any(ROOT.glob(p)))
    assert missing == [], f"docs/extending.md names files that do not exist: {missing}"
