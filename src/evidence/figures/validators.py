"""plotly's validator table, read one entry at a time.

Every plotly figure object checks its properties with validators that plotly builds from one
table, ``plotly/validators/_validators.json`` (10,118 entries), which plotly parses whole on
first use and keeps: 8 MB of Python objects in every process that builds a figure, and more
resident memory than that (measured in a dashboard kernel: 7 MB less with this module). All
the dashboard's plots together use about 360 of those entries.

:func:`install` gives plotly a table with the same entries that parses each one when plotly
first asks for it: an index of where each entry sits in the file (1.3 MB, built in about 15 ms
where plotly's parse takes 20-35) and the entries asked for so far. plotly gets equal dicts
(``tests/test_figures_validators.py`` compares every entry with the parsed file), and the
same dict each time it asks for a key, as from its own table (it updates some of them in
place). A file laid out otherwise than the index expects is left to plotly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

#: A top-level key of the table: plotly writes it with ``json.dump(..., indent=4)``, so a key of
#: the outer object, and nothing else (nested keys are indented deeper, and a JSON string holds
#: no raw newline), starts a line with exactly four spaces and a quote.
_TOP_KEY = re.compile(rb'\n    "([^"\\]*)": ')
#: An entry's place in the file, packed in one int (start << _LEN_BITS | length): half the
#: index's memory of a (start, length) tuple.
_LEN_BITS = 24


class ValidatorTable:
    """The entries of plotly's validator file (``path``), parsed when first asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        raw = path.read_bytes()
        self._where: dict[str, int] = {}
        found = list(_TOP_KEY.finditer(raw))
        ends = [m.start() for m in found[1:]] + [raw.rstrip().rindex(b"}")]
        for match, end in zip(found, ends, strict=True):
            start = match.end()
            self._where[match.group(1).decode("utf-8")] = start << _LEN_BITS | (end - start)
        self._entries: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def keys(self) -> list[str]:
        return list(self._where)

    def get(self, key: str, default: Any = None) -> Any:
        """The entry ``key`` (the same dict every time), or ``default`` if the file has none."""
        entry = self._entries.get(key)
        if entry is None:
            where = self._where.get(key)
            if where is None:
                return default
            with self.path.open("rb") as f:
                f.seek(where >> _LEN_BITS)
                text = f.read(where & ((1 << _LEN_BITS) - 1)).decode("utf-8")
            entry = json.loads(text.rstrip().removesuffix(","))
            self._entries[key] = entry
        return entry

    def __getitem__(self, key: str) -> Any:
        entry = self.get(key)
        if entry is None:
            raise KeyError(key)
        return entry


def install() -> bool:
    """Give plotly's validator cache a :class:`ValidatorTable` unless it has read its table
    already; False (plotly's own table stays) if the file is not laid out as expected."""
    from plotly.validator_cache import ValidatorCache

    if ValidatorCache._json_cache is not None:  # ours, or plotly's own already read
        return isinstance(ValidatorCache._json_cache, ValidatorTable)
    import plotly.validator_cache

    path = Path(plotly.validator_cache.__file__).parent / "validators" / "_validators.json"
    try:
        table = ValidatorTable(path)
    except (OSError, ValueError):
        return False
    # The layout this index reads: the table's first entry is "layout" (checked by parsing).
    if len(table) < 1000 or not isinstance(table.get("layout"), dict):
        return False
    ValidatorCache._json_cache = table
    return True


__all__ = ["ValidatorTable", "install"]
