"""Text at the edge: data the earlier stages keep as data (an effect's source lines) written
for people, in one place."""

from __future__ import annotations

from evidence.text.sources import read_in, source_text, with_read_in, with_source_text

__all__ = ["read_in", "source_text", "with_read_in", "with_source_text"]
