"""The ``evidence`` command line.

Exit codes: 0 clean, 1 errors in the data, 2 bad usage or unreadable files. A data error never
prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2

Command = Callable[[argparse.Namespace], int]


def _validate(args: argparse.Namespace) -> int:
    from evidence.dataset import validate

    problems = validate(args.root)
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


def _serve(args: argparse.Namespace) -> int:
    from evidence.serve import serve

    return serve(port=args.port, open_browser=not args.no_browser, root=args.root)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the dashboard with Voila on 127.0.0.1",
        description="Serve the dashboard (notebooks/app.ipynb) with Voila.",
        epilog="example: evidence serve --port 8866 --no-browser",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--root", type=Path, default=Path("."), help="project folder (default: .)")
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
    for add in (_add_validate, _add_serve):
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
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
