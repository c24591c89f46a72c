"""The data stage: ``references.bib`` + ``data/*.csv`` -> validated pandas frames.

Where things live:

- :mod:`.problems`: :class:`Problem`, :class:`DatasetError`, the file-bound :class:`Reporter`
  every rule reports through, and ``did_you_mean``;
- :mod:`.vocabulary`: the allowed values (designs, groups, outcomes, units, plausible ranges);
- :mod:`.grammar`: how a number, a timepoint and a ';'-list are written;
- :mod:`.fields`: declarative specs of each bib field and CSV column (rules on one field);
- :mod:`.tables`: CSVs read with the line of each record, and the per-field check;
- :mod:`.rules`: rules spanning rows or files, one module per file (bib, arms, outcomes,
  external, usage);
- :mod:`.units`: conversion to one canonical unit per outcome;
- :mod:`.frames`: :func:`validate` (every problem) and :func:`load` (the :class:`Dataset`).

``evidence.dataset``, ``evidence.schema`` and ``evidence.units`` re-export these names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evidence.data.frames import Dataset, load, validate

__all__ = ["Dataset", "load", "validate"]


def __getattr__(name: str) -> Any:
    # Lazy so that importing the vocabulary does not pay for pandas + bibtexparser.
    if name in __all__:
        from evidence.data import frames

        return getattr(frames, name)
    raise AttributeError(f"module 'evidence.data' has no attribute {name!r}")
