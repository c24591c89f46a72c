"""The commands that write the analyses out: ``evidence report``, ``evidence export-r`` and
``evidence export`` (the data package)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evidence.cli.common import EXIT_DATA, EXIT_OK, EXIT_USAGE, locked, unwritable


def _report(args: argparse.Namespace) -> int:
    import time

    from evidence import report
    from evidence.dataset import load
    from evidence.schema import DatasetError

    problem = _correlation_problem(args.corr)
    if problem:
        print(f"evidence report: {problem}", file=sys.stderr)
        return EXIT_USAGE
    for message in report.recover_outputs(args.out, args.tables):
        print(f"evidence report: {message}", file=sys.stderr)
    tables_problem = args.tables and (
        unwritable(args.tables, True) or report.tables_folder_problem(args.tables)
    )
    for problem in (unwritable(args.out), tables_problem):
        if problem:
            print(f"evidence report: {problem}", file=sys.stderr)
            return EXIT_USAGE
    try:
        with locked(args.root, "report"):
            data = load(args.root)
    except DatasetError as exc:
        print(f"evidence report: {exc}", file=sys.stderr)
        return EXIT_DATA
    settings = _settings(args)
    start = time.perf_counter()
    built = report.build(data, settings, progress=lambda m: print(m, file=sys.stderr))
    report.write_html(built, args.out)
    print(
        f"evidence report: {args.out} ({len(built.html.encode()) / 1e6:.1f} MB, "
        f"{time.perf_counter() - start:.1f} s)",
        file=sys.stderr,
    )
    if args.tables:
        paths = report.write_tables(built, args.tables)
        print(f"evidence report: {len(paths)} table files in {args.tables}", file=sys.stderr)
    return EXIT_OK


def _correlation_problem(value: float) -> str | None:
    """Why ``--corr`` cannot be used: the dashboard's range, and never nan or inf."""
    from evidence.app.state import CORR_MAX, CORR_MIN

    if not CORR_MIN <= value <= CORR_MAX:  # False for nan too
        return (
            f"argument --corr: {value!r} is not a pre-post correlation in [{CORR_MIN}, {CORR_MAX}]"
        )
    return None


def _settings(args: argparse.Namespace):  # -> report.Settings (imported late: the CLI starts fast)
    from evidence import report
    from evidence.compare import Question

    return report.Settings(
        outcomes=tuple(args.outcome) if args.outcome else report.REPORT_OUTCOMES,
        effects=("change", "control") if args.effect == "both" else (args.effect,),
        method=args.estimator,
        test=args.test,
        base=Question(
            design=args.design, confidence=args.confidence, window=args.window, ri=args.corr
        ),
    )


def _view_options(p: argparse.ArgumentParser, what: str = "report") -> None:
    """The options that select the views: the same for the report and the R export."""
    from evidence.compare import (
        CONFIDENCE_FILTERS,
        DESIGN_FILTERS,
        OUTCOME_LABELS,
        POOL_TESTS,
        WINDOWS,
    )
    from evidence.meta.estimators import METHODS
    from evidence.vocab import DEFAULT_CONFIDENCE

    p.add_argument(
        "--outcome",
        action="append",
        choices=sorted(OUTCOME_LABELS),
        help=f"an outcome to {what} (repeat; default: the main outcomes)",
    )
    p.add_argument("--effect", choices=("change", "control", "both"), default="both")
    p.add_argument("--estimator", choices=METHODS, default="REML")
    p.add_argument(
        "--test",
        choices=POOL_TESTS,
        default="z",
        help="z (Wald), knha (Knapp-Hartung) or adhoc (Knapp-Hartung, scale factor at least 1)",
    )
    p.add_argument("--design", choices=sorted(DESIGN_FILTERS), default="all")
    p.add_argument(
        "--confidence",
        choices=sorted(CONFIDENCE_FILTERS),
        default=DEFAULT_CONFIDENCE,
        help=f"weakest confidence included (default: {DEFAULT_CONFIDENCE})",
    )
    p.add_argument("--window", choices=sorted(WINDOWS), default="latest")
    p.add_argument("--corr", type=float, default=0.5, help="pre-post correlation (default 0.5)")


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write one self-contained HTML report (and CSV/XLSX tables)",
        description=(
            "One HTML file that opens anywhere without a server or network: the study table, a "
            "forest plot per outcome with the subgroup comparison, the robustness views, the "
            "appraisal (claims, risk of bias, GRADE, study flow) and the reference list "
            "(Vancouver, via citeproc-py). The options select the same views as the dashboard."
        ),
        epilog="example: evidence report --out report.html --tables tables/ --outcome meld",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--root", type=Path, default=Path("."), help="dataset folder (default: .)")
    p.add_argument("--out", type=Path, default=Path("report.html"))
    p.add_argument("--tables", type=Path, help="also write every table as CSV and tables.xlsx here")
    _view_options(p)
    p.set_defaults(run=_report)


def _export_r(args: argparse.Namespace) -> int:
    from evidence.compare import Question
    from evidence.data import load
    from evidence.data.problems import DatasetError
    from evidence.export import ExportError, check_target, rscript, write_folder

    why = rscript.unsupported(args.estimator, args.test)
    if why:
        print(f"evidence export-r: {why}", file=sys.stderr)
        return EXIT_USAGE
    try:
        check_target(args.out)
    except ExportError as exc:
        print(f"evidence export-r: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        # The same questions as the report: every outcome x effect of the settings.
        settings = _settings(args)
    except ValueError as exc:  # e.g. a correlation outside [-1, 1]
        print(f"evidence export-r: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        data = load(args.root)
    except DatasetError as exc:
        print(f"evidence export-r: {exc}", file=sys.stderr)
        return EXIT_DATA
    questions: list[Question] = [
        settings.question(outcome, effect)
        for outcome in settings.outcomes
        for effect in settings.effects
    ]
    analyses = [rscript.analysis(data, q, settings.method, settings.test) for q in questions]
    try:
        write_folder(rscript.files(analyses), args.out)
    except ExportError as exc:
        print(f"evidence export-r: {exc}", file=sys.stderr)
        return EXIT_USAGE
    arms = sum(a.k for a in analyses)
    print(
        f"evidence export-r: {len(analyses)} {'analysis' if len(analyses) == 1 else 'analyses'} "
        f"({arms} study arms in all) written to "
        f"{args.out}; run them with: cd {args.out} && Rscript run_all.R",
        file=sys.stderr,
    )
    return EXIT_OK


def _add_export_r(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-r",
        help="write R (metafor) scripts that reproduce every pooled result",
        description=(
            "For each analysis of the report (outcome x effect, with the same view options): "
            "NAME.R, NAME.data.csv (the arm-level numbers, with citekey, arm, locator and "
            "confidence) and NAME.expected.csv (the product's per-group results). `Rscript "
            "NAME.R` in the folder needs only base R and metafor: it computes the effect sizes "
            "with escalc, fits each group with rma, writes NAME.metafor.csv (same columns), "
            "prints a summary and draws forest() to NAME.pdf. run_all.R runs every script in "
            "one R session. The folder is written whole or not at all."
        ),
        epilog="example: evidence export-r --out r/ --outcome meld --estimator DL --test knha",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--root", type=Path, default=Path("."), help="dataset folder (default: .)")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder to write (new, empty, or an earlier export-r folder, which is replaced)",
    )
    _view_options(p, "export")
    p.set_defaults(run=_export_r)


def _export(args: argparse.Namespace) -> int:
    from evidence.export import ExportError, datapackage, write_folder

    try:
        write_folder(datapackage.files(args.root), args.out, marker=datapackage.DESCRIPTOR)
    except ExportError as exc:
        print(f"evidence export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"evidence export: data package written to {args.out} ({datapackage.DESCRIPTOR} and the "
        f"dataset's files); check it with: evidence validate --root {args.out}",
        file=sys.stderr,
    )
    return EXIT_OK


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write the dataset as a Frictionless Data package",
        description=(
            "A Frictionless Data package, ready to deposit: datapackage.json (a table schema "
            "for every CSV, generated from the project's field rules and vocabularies) with "
            "references.bib and data/*.csv copied byte for byte. The folder is itself a "
            "dataset root: `evidence validate --root DIR` checks it."
        ),
        epilog="example: evidence export --format datapackage --out package/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--root", type=Path, default=Path("."), help="dataset folder (default: .)")
    p.add_argument("--format", choices=("datapackage",), default="datapackage")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder to write (new, empty, or an earlier data package, which is replaced)",
    )
    p.set_defaults(run=_export)


def register(sub: argparse._SubParsersAction) -> None:
    """Add report, export-r and export to the command line."""
    _add_report(sub)
    _add_export_r(sub)
    _add_export(sub)
