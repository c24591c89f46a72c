"""Compatibility re-exports: the dataset's reader, rules and frames now live in
:mod:`evidence.data` (``tables``, ``rules``, ``frames``).

``validate(root)`` returns every :class:`~evidence.data.problems.Problem` (errors and warnings);
``load(root)`` returns a :class:`Dataset` or raises :class:`~evidence.data.problems.DatasetError`.
"""

from __future__ import annotations

from evidence.data.fields import BIB_FILE
from evidence.data.frames import (
    OUTCOME_COLUMNS,
    STUDY_COLUMNS,
    Dataset,
    first_author,
    load,
    validate,
)
from evidence.data.problems import DatasetError, Problem
from evidence.data.rules.bib import (
    ENTRY_TYPES,
    bib_problems,
    normalise_doi,
)
from evidence.data.tables import (
    Row,
    Table,
    check_fields,
    read_table,
    row_problems,
)
from evidence.storage import UnreadableFile

__all__ = [
    "BIB_FILE",
    "ENTRY_TYPES",
    "OUTCOME_COLUMNS",
    "STUDY_COLUMNS",
    "Dataset",
    "DatasetError",
    "Problem",
    "Row",
    "Table",
    "UnreadableFile",
    "bib_problems",
    "check_fields",
    "first_author",
    "load",
    "normalise_doi",
    "read_table",
    "row_problems",
    "validate",
]
