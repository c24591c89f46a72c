"""Compatibility re-exports: unit normalisation now lives in :mod:`evidence.data.units`."""

from __future__ import annotations

from evidence.data.units import (
    SCALED_STATISTICS,
    TO_CANONICAL,
    canonical_unit,
    convert,
    factor,
    normalise,
)

__all__ = [
    "SCALED_STATISTICS",
    "TO_CANONICAL",
    "canonical_unit",
    "convert",
    "factor",
    "normalise",
]
