"""Where a number was read, as text: the one place the effects frame's ``source_file`` and
``source_lines`` (data, never re-parsed) become words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd


def source_text(file: object, lines: object) -> str:
    """``data/outcomes.csv:2,3`` for the rows ``lines`` of ``file``; '' when there are none."""
    found = _lines(lines)
    if not found or not isinstance(file, str) or not file:
        return ""
    return f"{file}:" + ",".join(map(str, found))


def _lines(lines: object) -> tuple[int, ...]:
    # a frame built by hand may hold None or NaN where an effect has no numbers
    if not isinstance(lines, Iterable) or isinstance(lines, str):
        return ()
    return tuple(int(x) for x in lines)


def read_in(lines: object, locator_of: Mapping[int, str]) -> str:
    """Where the numbers on ``lines`` were read, each locator once, in order: "Table 2;
    abstract" (what a reader can look up, unlike a line of a data file)."""
    found = dict.fromkeys(locator_of.get(x, "") for x in _lines(lines))
    return "; ".join(loc for loc in found if loc)


def with_read_in(frame: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """An effects frame with ``locators``: :func:`read_in` of each row's ``source_lines``,
    looked up in the dataset's ``outcomes`` frame."""
    lines = outcomes["source_line"].astype(int).tolist()
    locator_of = dict(zip(lines, outcomes["locator"], strict=True))
    return frame.assign(locators=[read_in(x, locator_of) for x in frame["source_lines"]])


def with_source_text(frame: pd.DataFrame) -> pd.DataFrame:
    """An effects frame for a file a reader opens (CSV, XLSX): ``source_file`` and
    ``source_lines`` become one ``sources`` column of text, in their place."""
    if "source_lines" not in frame:
        return frame
    files = frame["source_file"] if "source_file" in frame else pd.Series("", index=frame.index)
    text = [source_text(f, x) for f, x in zip(files, frame["source_lines"], strict=True)]
    gone = [c for c in ("source_file", "source_lines") if c in frame]
    at = min(list(frame.columns).index(c) for c in gone)
    out = frame.drop(columns=gone)
    out.insert(at, "sources", text)
    return out


__all__ = ["read_in", "source_text", "with_read_in", "with_source_text"]
