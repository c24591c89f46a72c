"""The ``evidence`` command line.

Exit codes: 0 clean, 1 errors in the data, 2 bad usage or unreadable files. A data error never
prints a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2

Command = Callable[[argparse.Namespace], int]


def _unwritable(path: Path, directory: bool = False) -> str | None:
    """Why ``path`` (a file to write, or a folder to create) cannot be written, checked before
    the work starts: a report that takes seconds to build should not fail at its last step."""
    import os

    path = Path(path)
    if directory and path.is_dir():
        return None if os.access(path, os.W_OK) else f"cannot write into {path}: permission denied"
    if path.is_dir():
        return f"cannot write {path}: it is a folder"
    parent = path.parent
    while not parent.exists() and directory and parent != parent.parent:
        parent = parent.parent  # a folder to create: its nearest existing ancestor decides
    if not parent.is_dir():
        return f"cannot write {path}: no folder {path.parent}"
    if not os.access(parent, os.W_OK):
        return f"cannot write {path}: permission denied in {parent}"
    return None


@contextlib.contextmanager
def _locked(root: Path, command: str, *, write: bool = False) -> Iterator[None]:
    """Hold the dataset's lock (a writer from its first read to its last rename; a reader while
    it reads, so it never sees half of another command's change), after finishing or undoing
    what an interrupted command left, and saying so."""
    from evidence.registry import dataset_lock, recover

    with dataset_lock(root, required=write) as held:
        if held:
            for message in recover(root):
                print(f"evidence {command}: {message}", file=sys.stderr)
        yield


def _validate(args: argparse.Namespace) -> int:
    from evidence import appraisal
    from evidence.data.problems import file_order
    from evidence.dataset import validate

    # The dataset first (an unreadable file stops here with exit 2), then the appraisal files.
    with _locked(args.root, "validate"):
        problems = validate(args.root)
    problems = sorted(problems + appraisal.validate(args.root), key=file_order)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    if args.format == "json":
        print(
            json.dumps(
                {
                    "root": str(args.root),
                    "errors": [p.as_dict() for p in errors],
                    "warnings": [p.as_dict() for p in warnings],
                },
                indent=2,
            )
        )
    else:
        for problem in errors:
            print(problem)
        if warnings and not args.quiet:
            if errors:
                print()
            for problem in warnings:
                print(problem)
        verdict = "clean" if not errors else "has errors"
        print(
            f"\n{args.root}: dataset {verdict}: {len(errors)} error(s), {len(warnings)} warning(s)",
            file=sys.stderr,
        )
    if errors or (args.strict and warnings):
        return EXIT_DATA
    return EXIT_OK


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check references.bib and data/*.csv against every rule",
        description="Check the dataset: one line per problem naming file, line, citekey and field.",
        epilog="example: evidence validate --root . --format json > problems.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--root", type=Path, default=Path("."), help="dataset folder (default: .)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--quiet", "-q", action="store_true", help="print errors only")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 1)")
    p.set_defaults(run=_validate)


def _read_stdin() -> str:
    """Standard input as UTF-8; undecodable bytes are an unreadable input (exit 2), not text
    with surrogates that fails when the bib is written."""
    from evidence.registry import UnreadableFile

    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # already text (a test's StringIO)
        return sys.stdin.read()
    data = buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableFile(
            "<stdin>", f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); send UTF-8", line
        ) from None


def _add(args: argparse.Namespace) -> int:
    from evidence import authoring
    from evidence.dataset import validate
    from evidence.registry import ChangedUnderneath, read_text

    if args.snippet == "-":
        snippet, source = _read_stdin(), "<stdin>"
    else:
        snippet, source = read_text(Path(args.snippet)), args.snippet
    descriptors = {
        name: getattr(args, name)
        for name in authoring.DESCRIPTOR_ORDER
        if getattr(args, name, None) is not None
    }
    try:
        arms = [authoring.Arm.parse(text) for text in args.arm]
    except ValueError as exc:
        print(f"evidence add: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # The lock is held from the first read to the last rename: two adds at once both land.
    with _locked(args.root, "add", write=not args.dry_run):
        try:
            change = authoring.plan_add(
                args.root,
                snippet,
                source=source,
                descriptors=descriptors,
                arms=arms,
                outcomes=[o.strip() for o in args.outcomes.split(",") if o.strip()],
                timepoint=args.timepoint,
                force=args.force,
            )
        except authoring.AddRefused as refused:
            for problem in refused.problems:
                print(problem)
            print("\nevidence add: nothing was written", file=sys.stderr)
            return EXIT_DATA
        if args.dry_run:
            print(change.diff(), end="")
            print("\n".join(change.summary), file=sys.stderr)
            print("evidence add: dry run, nothing was written", file=sys.stderr)
            return EXIT_OK
        try:
            authoring.apply(change)
        except ChangedUnderneath as exc:
            print(f"evidence add: {exc}", file=sys.stderr)
            return EXIT_USAGE
    print("\n".join(change.summary))
    todo = [p for p in validate(args.root) if p.citekey == change.citekey]
    if todo:
        print(f"\nTo do for {change.citekey} (from evidence validate):")
        for problem in todo:
            print(f"  {problem}")
    return EXIT_OK


def _add_add(sub: argparse._SubParsersAction) -> None:
    from evidence import authoring, schema
    from evidence.vocab import DEFAULT_OUTCOME

    p = sub.add_parser(
        "add",
        help="add a study from a BibTeX snippet, with template rows to fill in",
        description=(
            "Append one study to references.bib (no other byte changes) and template rows to "
            "data/arms.csv and data/outcomes.csv. The snippet's fields and the options below "
            "are checked first: a duplicate DOI, PMID, citekey, trial registration or a "
            "near-identical title refuses the add (exit 1), and nothing is written."
        ),
        epilog=(
            "example:\n  evidence add new.bib --design RCT --species human \\\n"
            "    --population 'decompensated cirrhosis' --cell-groups MSC \\\n"
            "    --confidence verified \\\n"
            "    --source 'abstract https://pubmed.ncbi.nlm.nih.gov/12345678/' \\\n"
            "    --arm MSC=MSC:20 --arm control=control:20 --outcomes meld,albumin "
            "--timepoint '6 mo' --dry-run"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("snippet", help="a .bib file with one entry, or - for standard input")
    p.add_argument("--root", type=Path, default=Path("."), help="dataset folder (default: .)")
    p.add_argument(
        "--dry-run", action="store_true", help="show the change as a diff; write nothing"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="add even when the title or registration matches an existing study",
    )
    specs = schema.BIB_COMMON | schema.BIB_STUDY
    for name in authoring.DESCRIPTOR_ORDER:
        if name in ("kind", "no_numbers"):
            continue
        spec, flag = specs[name], "--" + name.replace("_", "-")
        if spec.kind == "vocab":
            p.add_argument(flag, dest=name, choices=spec.vocabulary, metavar=name.upper())
        elif spec.kind == "vocab_list":
            p.add_argument(
                flag,
                dest=name,
                metavar=name.upper(),
                help="';'-separated: " + ", ".join(spec.vocabulary),
            )
        else:
            p.add_argument(flag, dest=name, metavar=name.upper())
    p.add_argument(
        "--no-numbers",
        dest="no_numbers",
        metavar="REASON",
        help="the paper gives no usable numbers (no outcome template is written)",
    )
    p.add_argument(
        "--arm",
        action="append",
        default=[],
        metavar="LABEL=GROUP[:N]",
        help="an arm, e.g. MSC=MSC:20 or placebo=control (repeat for each arm)",
    )
    p.add_argument(
        "--outcomes",
        default=DEFAULT_OUTCOME,
        help=f"comma-separated outcomes for the template (default: {DEFAULT_OUTCOME})",
    )
    p.add_argument(
        "--timepoint", default="6 mo", help="follow-up timepoint for the template (default: '6 mo')"
    )
    p.set_defaults(run=_add)


def _diff(args: argparse.Namespace) -> int:
    from evidence import changes
    from evidence.schema import DatasetError

    problem = _unwritable(args.html) if args.html else None
    if problem:
        print(f"evidence diff: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with _locked(args.root, "diff"):
            log = changes.changes_since(args.root, args.revision)
    except changes.RevisionError as exc:
        print(f"evidence diff: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DatasetError as exc:
        print(f"evidence diff: {exc}", file=sys.stderr)
        return EXIT_DATA
    if args.format == "json":
        print(
            json.dumps(
                {
                    "revision": log.revision,
                    "studies": log.studies.to_dict(orient="records"),
                    "numbers": log.numbers.to_dict(orient="records"),
                    "pooled": json.loads(log.pooled.to_json(orient="records")),
                },
                indent=2,
            )
        )
    else:
        print(changes.markdown(log), end="")
    if args.html:
        from evidence.figures.changes import change_page
        from evidence.registry import write_atomic

        html = change_page(log.studies, log.numbers, log.pooled, log.revision)
        write_atomic(args.html, html)
        print(
            f"evidence diff: forest plot of before and after written to {args.html}",
            file=sys.stderr,
        )
    return EXIT_OK


def _add_diff(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff",
        help="what changed since a git revision: studies, numbers and every pooled estimate",
        description=(
            "A living-review change log: studies and numbers added, removed or changed since "
            "REV, and how each pooled estimate (outcome x effect x cell group, REML) moved."
        ),
        epilog="example: evidence diff HEAD~3 --html changes.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("revision", metavar="REV", help="a git revision: a commit, tag or HEAD~1")
    p.add_argument("--root", type=Path, default=Path("."), help="dataset folder (default: .)")
    p.add_argument("--format", choices=("markdown", "json"), default="markdown")
    p.add_argument("--html", type=Path, help="also write a before/after forest plot to this file")
    p.set_defaults(run=_diff)


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
        _unwritable(args.tables, True) or report.tables_folder_problem(args.tables)
    )
    for problem in (_unwritable(args.out), tables_problem):
        if problem:
            print(f"evidence report: {problem}", file=sys.stderr)
            return EXIT_USAGE
    try:
        with _locked(args.root, "report"):
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

    return report.Settings(
        outcomes=tuple(args.outcome) if args.outcome else report.REPORT_OUTCOMES,
        effects=("change", "control") if args.effect == "both" else (args.effect,),
        method=args.estimator,
        test=args.test,
        design=args.design,
        confidence=args.confidence,
        window=args.window,
        ri=args.corr,
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
    settings = _settings(args)
    try:
        # The same questions as the report: every outcome x effect of the settings.
        settings.question(settings.outcomes[0], settings.effects[0])
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


def _serve(args: argparse.Namespace) -> int:
    from evidence.serve import serve

    # None, not False, for options not given: the environment variables then apply.
    return serve(
        port=args.port,
        open_browser=not args.no_browser,
        root=args.root,
        pool_size=args.pool_size,
        max_kernels=args.max_kernels,
        ip=args.ip,
        token=args.token,
        insecure_no_token=args.insecure_no_token or None,
        base_url=args.base_url,
        hub=args.hub or None,
    )


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the dashboard with Voila on 127.0.0.1",
        description=(
            "Serve the dashboard (notebooks/app.ipynb) with Voila: only the app, sources "
            "stripped, no tracebacks for viewers, a preheated kernel pool, idle kernels culled, "
            "a cap on kernels with a 'room is full' page. See docs/serving.md."
        ),
        epilog="example: evidence serve --port 8866 --no-browser --pool-size 20 --max-kernels 24",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--root", type=Path, default=Path("."), help="project folder (default: .)")
    p.add_argument(
        "--ip", help="address to listen on (default 127.0.0.1; beyond loopback needs --token)"
    )
    p.add_argument(
        "--token",
        help="'auto' or a secret of 16+ characters (prefer auto or "
        "$EVIDENCE_TOKEN: the command line shows in ps)",
    )
    p.add_argument(
        "--insecure-no-token",
        action="store_true",
        help="listen beyond loopback without a token (only behind a proxy that "
        "authenticates viewers)",
    )
    p.add_argument(
        "--pool-size", type=int, help="preheated kernels (default $EVIDENCE_POOL_SIZE or 2)"
    )
    p.add_argument(
        "--max-kernels",
        type=int,
        help="most kernels at once, pool included (default $EVIDENCE_MAX_KERNELS or 20; 0: no cap)",
    )
    p.add_argument("--base-url", help="serve under this URL prefix (behind a reverse proxy)")
    p.add_argument(
        "--hub",
        action="store_true",
        help="viewers log in with JupyterHub (run by the hub; see deploy/)",
    )
    p.set_defaults(run=_serve)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evidence",
        description="Evidence review of cell therapy for decompensated cirrhosis.",
        epilog="example: evidence validate",
    )
    from evidence import __version__

    p.add_argument("--version", action="version", version=f"evidence {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_validate,
        _add_add,
        _add_diff,
        _add_report,
        _add_export_r,
        _add_export,
        _add_serve,
    ):
        add(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from evidence.registry import UnreadableFile

    try:
        return args.run(args)
    except UnreadableFile as exc:
        print(f"evidence: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a file that cannot be read or written: a message, not a traceback
        where = f" {exc.filename}" if exc.filename else ""
        print(f"evidence {args.command}: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
