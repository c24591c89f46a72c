"""evidence: an interactive, reproducible evidence review of cell therapy for cirrhosis.

Data flows one way: ``references.bib`` + ``data/*.csv`` -> :mod:`evidence.registry` ->
:mod:`evidence.dataset` (validated frames) -> :mod:`evidence.effects` -> :mod:`evidence.meta`
-> figures -> app -> notebooks. A stage never imports a later one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from evidence.dataset import Dataset, load

__all__ = ["Dataset", "__version__", "load"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import evidence.meta` does not pay for pandas + bibtexparser.
    if name in ("Dataset", "load"):
        from evidence import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'evidence' has no attribute {name!r}")
