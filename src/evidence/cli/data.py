"""The dataset's commands: ``evidence validate``, ``evidence add`` and ``evidence diff``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evidence.cli.common import EXIT_DATA, EXIT_OK, EXIT_USAGE, locked, unwritable


def _validate(args: argparse.Namespace) -> int:
    from evidence import appraisal
    from evidence.data.problems import file_order
    from evidence.dataset import validate

    # The dataset first (an unreadable file stops here with exit 2), then the appraisal files.
    with locked(args.root, "validate"):
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
    from evidence.storage import UnreadableFile

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
    from evidence.storage import ChangedUnderneath, read_text

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
    with locked(args.root, "add", write=not args.dry_run):
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

    problem = unwritable(args.html) if args.html else None
    if problem:
        print(f"evidence diff: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with locked(args.root, "diff"):
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
        from evidence.storage import write_atomic

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


def register(sub: argparse._SubParsersAction) -> None:
    """Add validate, add and diff to the command line."""
    _add_validate(sub)
    _add_add(sub)
    _add_diff(sub)
