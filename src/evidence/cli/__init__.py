"""The ``evidence`` command line: one module per group of commands.

* :mod:`evidence.cli.data` - ``validate``, ``add``, ``diff`` (the dataset);
* :mod:`evidence.cli.outputs` - ``report``, ``export-r``, ``export`` (what the analyses write);
* :mod:`evidence.cli.serve` - ``serve`` (the dashboard);
* :mod:`evidence.cli.common` - exit codes, the dataset lock, output checks.

Exit codes: 0 clean, 1 errors in the data, 2 bad usage or unreadable files. A data error never
prints a traceback. Each module imports what a command needs inside the command, so that
``evidence --help`` starts fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from evidence.cli import data, outputs, serve
from evidence.cli.common import EXIT_DATA, EXIT_OK, EXIT_USAGE, Command


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evidence",
        description="Evidence review of cell therapy for decompensated cirrhosis.",
        epilog="example: evidence validate",
    )
    from evidence import __version__

    p.add_argument("--version", action="version", version=f"evidence {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (data, outputs, serve):
        group.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from evidence.storage import UnreadableFile

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


__all__ = ["EXIT_DATA", "EXIT_OK", "EXIT_USAGE", "Command", "main", "parser"]
