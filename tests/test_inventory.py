"""The inventory's counts, on the small dataset. (That the README's counts are the bundled
dataset's is a curated fact: tests/bundled/test_dataset_data.py.)
"""

from __future__ import annotations

import evidence
from evidence import inventory

from .conftest import FIXTURES


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
