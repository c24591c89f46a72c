"""The README's counts are the dataset's counts.

Regenerate them with `python -m evidence.inventory --write`.
"""

from __future__ import annotations

import evidence
from evidence import inventory

from .conftest import FIXTURES, ROOT


def test_readme_inventory_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    data = evidence.load(ROOT)
    assert inventory.update_readme(readme, data) == readme, (
        "README.md counts are stale: run `python -m evidence.inventory --write`"
    )


def test_counts_on_the_small_dataset():
    data = evidence.load(FIXTURES / "valid")
    groups = inventory.by_group(data).set_index("cell group")
    assert groups.loc["MSC", "RCT"] == 1 and groups.loc["MSC", "patients treated"] == 20
    assert groups.loc["BM-MNC", "single-arm"] == 1
    assert groups.loc["MSC+HSC", "studies"] == 0
    confidence = inventory.by_confidence(data).set_index("confidence")
    assert confidence.loc["verified", "numbers"] == 20
    assert confidence.loc["secondary", "numbers"] == 1
    assert inventory.registry_counts(data)["meta-analyses"] == 1
