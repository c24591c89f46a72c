"""A dataset whose every text field holds a hostile string (tests/fixtures/hostile/corpus.json).

The valid fixture is loaded, then each free-text column of each frame gets corpus strings (one
per row, cycling), and the keys that join the frames (citekey, arm label) are renamed
consistently to corpus strings too. Vocabulary columns the pipeline branches on (design, group,
outcome, ...) keep their values: the validator refuses anything else there.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from evidence.dataset import Dataset, load

from .conftest import FIXTURES

CORPUS_FILE = FIXTURES / "hostile" / "corpus.json"

FREE_TEXT = {
    "studies": (
        "label",
        "author",
        "title",
        "journal",
        "volume",
        "number",
        "pages",
        "doi",
        "pmid",
        "pmcid",
        "url",
        "population",
        "population_detail",
        "aetiology",
        "country",
        "cell_type",
        "cell_origin",
        "cell_tissue",
        "dose",
        "route",
        "follow_up",
        "registration",
        "source",
        "seed_ref",
        "note",
    ),
    "arms": ("n_basis", "locator", "note"),
    "outcomes": ("label", "population", "locator", "source_url", "note"),
    "external": ("locator", "note"),
}


def corpus() -> list[str]:
    out = []
    for item in json.loads(CORPUS_FILE.read_text(encoding="utf-8"))["strings"]:
        out.append(item if isinstance(item, str) else item["repeat"] * item["times"])
    return out


def _cycle(strings: list[str], n: int, start: int) -> list[str]:
    return [strings[(start + i) % len(strings)] for i in range(n)]


def hostile_dataset(root: Path | None = None, shift: int = 0) -> Dataset:
    """The valid fixture with hostile text everywhere; ``shift`` picks other strings (a second
    revision for the change log differs in every text field)."""
    data = load(root or FIXTURES / "valid")
    strings = corpus()
    keys = {
        k: f"{k} {strings[(i + shift) % len(strings)][:200]}"
        for i, k in enumerate(data.studies["citekey"])
    }
    frames = {}
    for name, columns in FREE_TEXT.items():
        frame = getattr(data, name).copy()
        frame["citekey"] = frame["citekey"].map(keys)
        if "arm" in frame:
            frame["arm"] = frame["arm"].astype(str) + " " + strings[(shift + 3) % len(strings)]
        for j, column in enumerate(columns):
            if column in frame:
                frame[column] = pd.Series(
                    _cycle(strings, len(frame), shift + 7 * j), index=frame.index, dtype=object
                )
        frames[name] = frame
    return dataclasses.replace(data, **frames)
