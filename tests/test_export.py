"""`evidence export-r` and `evidence export --format datapackage`.

The R tests run every exported script with the real Rscript and metafor and compare metafor's
results with the product's to 1e-6. Without R they are skipped, saying why (never passed
silently); `./dev setup` installs r-base-core and r-cran-metafor with apt.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import evidence
import evidence.compare
from evidence import report
from evidence.appraisal import validate as validate_appraisal
from evidence.cli import main
from evidence.compare import Question
from evidence.data import validate
from evidence.data.vocabulary import ARM_GROUPS, CONFIDENCES, OUTCOMES
from evidence.export import datapackage, rscript

from .conftest import FIXTURES, ROOT

EXPORT_FIXTURE = FIXTURES / "export"  # synthetic: every conversion path, several arms per group
TOLERANCE = 1e-6


def _r_problem() -> str | None:
    """Why the R tests cannot run here, or None."""
    if shutil.which("Rscript") is None:
        return "Rscript not found: install r-base-core and r-cran-metafor (./dev setup does)"
    probe = subprocess.run(
        ["Rscript", "-e", "library(metafor)"], capture_output=True, text=True, timeout=120
    )
    if probe.returncode != 0:
        return "R has no metafor package: install r-cran-metafor (./dev setup does)"
    return None


def _agree(folder: Path, name: str) -> None:
    """NAME.metafor.csv equals NAME.expected.csv: same rows, same missing cells, 1e-6."""
    expected = pd.read_csv(folder / f"{name}.expected.csv", keep_default_na=True)
    got = pd.read_csv(folder / f"{name}.metafor.csv", keep_default_na=True)
    assert list(got.columns) == list(rscript.RESULT_COLUMNS), name
    assert list(got["group"]) == list(expected["group"]), name
    for column in rscript.RESULT_COLUMNS[1:]:
        for group, a, b in zip(expected["group"], expected[column], got[column], strict=True):
            where = f"{name} {group} {column}: product {a}, metafor {b}"
            assert math.isnan(a) == math.isnan(b), where
            if not math.isnan(a):
                assert abs(a - b) <= TOLERANCE * max(1.0, abs(a)), where


def _export(args: list[str], out: Path) -> dict:
    assert main(["export-r", *args, "--out", str(out)]) == 0
    return json.loads((out / "export.json").read_text(encoding="utf-8"))


# --- R reproduces the product -----------------------------------------------------------------

#: Estimator and test pairs run on the synthetic data (the default export runs REML and z).
CONFIGURATIONS = (("REML", "z"), ("DL", "knha"), ("FE", "z"), ("PM", "adhoc"))
_ZIP_QUESTION = Question(outcome="meld", effect="control", confidence="seed-only", ri=0.7)

# Every folder's run_all.R in one R session: R and metafor start once for the whole module.
_DRIVER = """\
for (folder in commandArgs(trailingOnly = TRUE)) {
  setwd(folder)
  cat("\\n@@", folder, "\\n")
  sys.source("run_all.R", envir = new.env())
}
"""


@pytest.fixture(scope="module")
def r_runs(tmp_path_factory) -> dict[str, tuple[Path, dict, str]]:
    """Exports of every kind, each run with Rscript: name -> (folder, manifest, R output)."""
    why = _r_problem()
    if why:
        pytest.skip(why)
    base = tmp_path_factory.mktemp("r")
    runs: dict[str, tuple[Path, dict]] = {"default": (base / "default", {})}
    runs["default"] = (base / "default", _export(["--root", str(ROOT)], base / "default"))
    for estimator, test in CONFIGURATIONS:
        folder = base / f"{estimator}-{test}"
        args = ["--root", str(EXPORT_FIXTURE), "--estimator", estimator, "--test", test]
        args += ["--confidence", "seed-only", "--outcome", "meld", "--outcome", "albumin"]
        runs[folder.name] = (folder, _export([*args, "--outcome", "deaths"], folder))
    data = evidence.load(EXPORT_FIXTURE)
    blob = rscript.zip_bytes(_ZIP_QUESTION, "ML", "knha", data=data)
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        archive.extractall(base / "zip")
    runs["zip"] = (base / "zip" / "meld_control", {"names": sorted(archive.namelist())})
    driver = base / "driver.R"
    driver.write_text(_DRIVER, encoding="utf-8")
    done = subprocess.run(
        ["Rscript", str(driver), *(str(folder) for folder, _ in runs.values())],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = dict(zip(runs, done.stdout.split("\n@@ ")[1:], strict=True))
    return {name: (folder, manifest, outputs[name]) for name, (folder, manifest) in runs.items()}


def test_every_analysis_of_the_report_reproduces_in_r(r_runs):
    """The default export (every analysis the default report contains), run with Rscript."""
    out, manifest, stdout = r_runs["default"]
    names = [a["name"] for a in manifest["analyses"]]
    settings = report.Settings()
    assert names == [
        rscript.slug(settings.question(o, e)) for o in settings.outcomes for e in settings.effects
    ]
    assert any(a["k"] > 0 for a in manifest["analyses"])
    for name in names:
        _agree(out, name)
        assert (out / f"{name}.pdf").read_bytes().startswith(b"%PDF"), name
        assert f"== {name}.R ==" in stdout
    assert stdout.count("Largest difference from the product's results") == len(names)


@pytest.mark.parametrize(("estimator", "test"), CONFIGURATIONS)
def test_every_conversion_path_reproduces_in_r(r_runs, estimator, test):
    """Synthetic data that takes every path: SE, median with quartiles/range/all five, pre-post
    levels, g/dL, zero events, counts without a total, a three-arm trial; k up to 3."""
    out, manifest, stdout = r_runs[f"{estimator}-{test}"]
    assert max(a["k"] for a in manifest["analyses"]) >= 7
    for analysis in manifest["analyses"]:
        _agree(out, analysis["name"])
    assert f"{estimator} estimator, {test} test" in stdout


def test_the_dashboard_zip_runs_in_r(r_runs):
    folder, manifest, stdout = r_runs["zip"]
    assert manifest["names"] == [
        "meld_control/README.md",
        "meld_control/meld_control.R",
        "meld_control/meld_control.data.csv",
        "meld_control/meld_control.expected.csv",
        "meld_control/run_all.R",
    ]
    assert "ML estimator, knha test" in stdout
    _agree(folder, "meld_control")


# --- what the export holds (no R needed) ------------------------------------------------------


def test_data_file_traces_every_number_to_its_row():
    """Every exported number is a row of data/outcomes.csv, as reported, with its locator; the
    numbers an effect uses (its sources) are marked."""
    data = evidence.load(EXPORT_FIXTURE)
    source = list(csv.DictReader((EXPORT_FIXTURE / "data/outcomes.csv").open(encoding="utf-8")))
    for effect in ("change", "control"):
        question = Question(outcome="meld", effect=effect, confidence="seed-only")
        a = rscript.analysis(data, question)
        assert list(a.numbers.columns) == list(rscript.DATA_COLUMNS)
        assert a.numbers["effect"].nunique() == a.k > 0
        for row in a.numbers.itertuples(index=False):
            original = source[int(row.source.rsplit(":", 1)[1]) - 2]  # line 1 is the header
            assert (original["citekey"], original["arm"]) == (row.citekey, row.arm)
            assert (original["statistic"], original["timepoint"]) == (row.statistic, row.timepoint)
            assert float(original["value"]) == row.value_reported
            assert original["unit"] == row.unit_reported
            assert original["locator"] == row.locator and row.locator
            assert original["confidence"] == row.confidence
            assert (row.n_reported == "TRUE") == bool(original["n"])
        effects = evidence.compare.effects(data, question)
        used = a.numbers[a.numbers["used"] == "TRUE"]
        included = effects[effects["included"]]
        for i, (file, rows) in enumerate(
            zip(included["source_file"], included["source_lines"], strict=True), start=1
        ):
            assert isinstance(rows, tuple) and rows and all(isinstance(x, int) for x in rows)
            lines = {f"{file}:{x}" for x in rows}
            assert set(used.loc[used["effect"] == i, "source"]) == lines
    control = rscript.analysis(data, Question(outcome="meld", effect="control"))
    assert set(control.numbers["role"]) == {"treated", "control"}


def test_script_says_what_it_assumes():
    data = evidence.load(EXPORT_FIXTURE)
    change = rscript.analysis(data, Question(outcome="meld", confidence="seed-only", ri=0.3))
    script = change.script()
    assert "r <- 0.3" in script and "pre-post correlation r = 0.3" in script
    assert "fivenum_mean_sd" in script and "Luo" in script and "Wan" in script
    assert "sqrt(cells$n" in script  # SE to SD
    assert 'method <- "REML"' in script and 'test <- "z"' in script
    assert "library(metafor)" in script and "forest(" in script
    for line in script.splitlines():
        assert "@" not in line, line  # no placeholder left over
    deaths = rscript.analysis(data, Question(outcome="deaths", effect="control")).script()
    assert "fivenum_mean_sd" not in deaths and "r <- " not in deaths
    assert 'escalc("OR"' in deaths and "atransf = exp" in deaths


def test_estimators_without_metafor_equivalent_are_refused():
    assert rscript.unsupported("REML", "z") is None
    why = rscript.unsupported("bayes", "z")
    assert why is not None and "no metafor equivalent" in why
    data = evidence.load(EXPORT_FIXTURE)
    with pytest.raises(ValueError, match="no metafor equivalent"):
        rscript.analysis(data, Question(), method="bayes")


def test_every_estimator_and_test_of_the_engine_is_exported_and_described():
    """The export's estimators and tests are the engine's (evidence.meta), not a copy, and
    every one has the words its script's header uses."""
    from evidence.export import rcode
    from evidence.meta import METHODS
    from evidence.meta.inference import TESTS

    assert rscript.METAFOR_METHODS == METHODS and rscript.METAFOR_TESTS == TESTS
    assert set(rcode.METHOD_WORDS) == set(METHODS)
    assert set(rcode.TEST_WORDS) == set(TESTS)
    data = evidence.load(EXPORT_FIXTURE)
    question = Question(outcome="meld", confidence="seed-only")
    for method in METHODS:
        assert rscript.unsupported(method, "knha") is None
        script = rscript.analysis(data, question, method=method, test="knha").script()
        assert f'method <- "{method}"' in script and rcode.METHOD_WORDS[method] in script


def test_export_r_refuses_a_folder_of_other_files(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["export-r", "--root", str(EXPORT_FIXTURE), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "other files" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_export_r_replaces_its_own_folder_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "r"
    _export(["--root", str(EXPORT_FIXTURE)], out)
    (out / "meld_change.metafor.csv").write_text("stale", encoding="utf-8")
    _export(["--root", str(EXPORT_FIXTURE), "--outcome", "meld", "--effect", "control"], out)
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "export.json",
        "meld_control.R",
        "meld_control.data.csv",
        "meld_control.expected.csv",
        "run_all.R",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_export_r_with_broken_data_writes_nothing(valid_copy, tmp_path, capsys):
    arms = valid_copy / "data" / "arms.csv"
    arms.write_text(arms.read_text(encoding="utf-8").replace(",MSC,20,", ",MCS,20,", 1))
    out = tmp_path / "r"
    assert main(["export-r", "--root", str(valid_copy), "--out", str(out)]) == 1
    assert "MCS" in capsys.readouterr().err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["dataset"]


def test_export_r_bad_usage_is_one_line(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["export-r", "--root", str(EXPORT_FIXTURE), "--out", str(out), "--corr", "2"]) == 2
    assert "ri must be a correlation" in capsys.readouterr().err
    assert not out.exists()


# --- the data package -------------------------------------------------------------------------


def _check_value(field: dict, value: str) -> str | None:
    """Why ``value`` breaks a Table Schema field (the subset of the spec the package uses)."""
    constraints = field.get("constraints", {})
    if value == "":
        return "required" if constraints.get("required") else None
    if field["type"] == "integer":
        if not re.fullmatch(r"[+-]?\d+", value):
            return "not an integer"
        number: float = int(value)
    elif field["type"] == "number":
        try:
            number = float(value)
        except ValueError:
            return "not a number"
    else:
        number = math.nan
    if "minimum" in constraints and number < constraints["minimum"]:
        return "below minimum"
    if "maximum" in constraints and number > constraints["maximum"]:
        return "above maximum"
    if "enum" in constraints and value not in constraints["enum"]:
        return "not in enum"
    if "pattern" in constraints and not re.fullmatch(constraints["pattern"], value):
        return "does not match pattern"
    return None


def _schema_problems(package: Path) -> list[str]:
    """Check every CSV of a package against its table schema, keys included."""
    descriptor = json.loads((package / datapackage.DESCRIPTOR).read_text(encoding="utf-8"))
    problems = []
    rows_of: dict[str, list[dict[str, str]]] = {}
    for resource in descriptor["resources"]:
        data = (package / resource["path"]).read_bytes()
        assert resource["bytes"] == len(data)
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        if "schema" not in resource:
            continue
        schema = resource["schema"]
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
        assert reader.fieldnames == [f["name"] for f in schema["fields"]], resource["path"]
        rows = list(reader)
        rows_of[resource["name"]] = rows
        for i, row in enumerate(rows, start=2):
            for field in schema["fields"]:
                why = _check_value(field, row[field["name"]].strip())
                if why:
                    problems.append(f"{resource['path']}:{i} {field['name']}: {why}")
        if "primaryKey" in schema:
            keys = [tuple(r[k] for k in schema["primaryKey"]) for r in rows]
            if len(set(keys)) != len(keys):
                problems.append(f"{resource['path']}: duplicate primary key")
    for resource in descriptor["resources"]:
        for fk in resource.get("schema", {}).get("foreignKeys", []):
            ref = fk["reference"]
            targets = {tuple(r[k] for k in ref["fields"]) for r in rows_of[ref["resource"]]}
            for i, row in enumerate(rows_of[resource["name"]], start=2):
                if tuple(row[k] for k in fk["fields"]) not in targets:
                    problems.append(f"{resource['path']}:{i}: foreign key not found")
    return problems


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package") / "pkg"
    assert main(["export", "--format", "datapackage", "--root", str(ROOT), "--out", str(out)]) == 0
    return out


def test_data_package_round_trip(package):
    """The package is a dataset root: validate finds what it finds at home, load reads it equal."""
    assert (package / "references.bib").read_bytes() == (ROOT / "references.bib").read_bytes()
    assert validate(package) == validate(ROOT)
    assert validate_appraisal(package) == validate_appraisal(ROOT)
    home, away = evidence.load(ROOT), evidence.load(package)
    for name in ("studies", "arms", "outcomes", "external"):
        pd.testing.assert_frame_equal(getattr(home, name), getattr(away, name), check_like=False)
    assert main(["validate", "--root", str(package), "--quiet"]) == 0


def test_data_package_schemas_hold_and_come_from_the_rules(package):
    assert _schema_problems(package) == []
    descriptor = json.loads((package / datapackage.DESCRIPTOR).read_text(encoding="utf-8"))
    assert descriptor["profile"] == "data-package"
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert {"references", "arms", "outcomes", "external", "claims", "rob", "grade"} <= set(
        resources
    )
    fields = {f["name"]: f for f in resources["arms"]["schema"]["fields"]}
    assert fields["group"]["constraints"] == {"required": True, "enum": list(ARM_GROUPS)}
    assert fields["confidence"]["constraints"]["enum"] == list(CONFIDENCES)
    assert fields["n"]["type"] == "integer" and fields["n"]["constraints"] == {"minimum": 1}
    outcome_fields = {f["name"]: f for f in resources["outcomes"]["schema"]["fields"]}
    assert outcome_fields["outcome"]["constraints"]["enum"] == list(OUTCOMES)
    assert outcome_fields["value"]["type"] == "number"
    pattern = outcome_fields["timepoint"]["constraints"]["pattern"]
    for good in ("baseline", "end", "3 mo", "24 wk", "1.5 yr"):
        assert re.fullmatch(pattern, good), good
    for bad in ("3mo", "three months", "6 months"):
        assert not re.fullmatch(pattern, bad), bad


def test_data_package_schema_catches_a_broken_value(package, tmp_path):
    """The schema check is not vacuous: an unknown group and a bad timepoint are caught."""
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    for name, old, new in (
        ("arms.csv", ",MSC,8,", ",MCS,8,"),
        ("outcomes.csv", ",baseline,", ",base line,"),
    ):
        path = copy / "data" / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    descriptor = json.loads((copy / datapackage.DESCRIPTOR).read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:  # the hashes would flag the edit first
        data = (copy / resource["path"]).read_bytes()
        resource["bytes"] = len(data)
        resource["hash"] = "sha256:" + hashlib.sha256(data).hexdigest()
    (copy / datapackage.DESCRIPTOR).write_text(json.dumps(descriptor), encoding="utf-8")
    found = _schema_problems(copy)
    assert any("arms.csv" in p and "group: not in enum" in p for p in found), found
    assert any("outcomes.csv" in p and "timepoint: does not match pattern" in p for p in found)


def test_data_package_of_a_dataset_without_appraisal_files(tmp_path):
    out = tmp_path / "pkg"
    root = FIXTURES / "valid"
    assert main(["export", "--root", str(root), "--out", str(out)]) == 0
    names = [r["name"] for r in json.loads((out / "datapackage.json").read_text())["resources"]]
    assert names == ["references", "arms", "outcomes", "external"]
    assert _schema_problems(out) == []
    assert validate(out) == validate(root)
