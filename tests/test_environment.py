"""environment.yml (conda) and the pip requirement files pin the same packages and versions."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import ROOT


def pip_pins(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            pins |= pip_pins(line[3:].strip())
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{name}: {line} is not an exact pin"
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def conda_pins() -> dict[str, str]:
    # A deliberately small reader for our own environment.yml (no YAML dependency needed).
    pins: dict[str, str] = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        conda = re.match(r"^\s+- ([A-Za-z0-9_.-]+)=([^=\s]+)\s*$", line)
        pip = re.match(r"^\s+- ([A-Za-z0-9_.-]+)==([^=\s]+)\s*$", line)
        if conda and conda.group(1) != "python":
            pins[canonicalize_name(conda.group(1))] = conda.group(2)
        elif pip:
            pins[canonicalize_name(pip.group(1))] = pip.group(2)
    return pins


# Not a Python package: pip users get it from npm (`./dev test` installs it), conda users here.
CONDA_ONLY = {"configurable-http-proxy"}


def test_conda_and_pip_pin_the_same_versions():
    conda = {k: v for k, v in conda_pins().items() if k not in CONDA_ONLY}
    assert conda == pip_pins("requirements-test.txt")


def test_dev_installs_the_conda_only_pins():
    dev = (ROOT / "dev").read_text()
    for name in CONDA_ONLY:
        assert f"CHP_VERSION={conda_pins()[name]}" in dev


def test_pins_satisfy_pyproject_ranges():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [
        d for extra in project["optional-dependencies"].values() for d in extra
    ]
    pins = pip_pins("requirements-test.txt")
    for line in declared:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not pinned"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"pin {req.name}=={pins[name]} is outside pyproject's {req.specifier}"
        )


def test_constraints_agree_with_pins():
    frozen = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            frozen[canonicalize_name(name)] = version
    for name, version in pip_pins("requirements-test.txt").items():
        assert frozen.get(name) == version, f"constraints.txt has {name}=={frozen.get(name)}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "./dev test" in readme.split("\n## ")[0], "the README opens with the test command"
    assert "./dev serve" in readme.split("\n## ")[0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "exec ./dev test" in ci
