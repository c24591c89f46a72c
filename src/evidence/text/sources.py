"""Where a number was read, as text: the one place the effects frame's ``source_file`` and
``source_lines`` (data, never re-parsed) become words."""

from __future__ import annotations

from collections.abc import Iterable

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


__all__ = ["source_text", "with_source_text"]
