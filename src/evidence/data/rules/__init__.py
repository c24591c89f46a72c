"""Rules that span rows or files, one module per file of the dataset.

- :mod:`.bib`: references.bib (fields by kind, entry types, DOIs/PMIDs/registrations);
- :mod:`.arms`: data/arms.csv (link to a study, once each, groups, n against n_total);
- :mod:`.outcomes`: data/outcomes.csv (link to an arm, units, values, one cell's consistency);
- :mod:`.consistency`: data/outcomes.csv numbers against each other (p vs means, GRIM, SD
  range, percentages; warnings);
- :mod:`.external`: data/external.csv (link to a meta-analysis, unit, estimate inside its CI);
- :mod:`.usage`: across files (studies without numbers say why, clinical studies have arms);
- :mod:`.links`: the shared citekey-link rule;
- :mod:`.urls`: addresses that name no record (an IP address, a search page; warnings).

Rules on a single field are declared in :mod:`evidence.data.fields`.
"""

from __future__ import annotations

from evidence.data.problems import Problem
from evidence.data.rules.arms import arm_problems
from evidence.data.rules.bib import bib_problems
from evidence.data.rules.consistency import consistency_problems
from evidence.data.rules.external import external_problems
from evidence.data.rules.outcomes import outcome_problems
from evidence.data.rules.urls import link_problems
from evidence.data.rules.usage import usage_problems
from evidence.data.tables import Table
from evidence.registry import Registry


def cross_file_problems(
    registry: Registry, arms: Table, outcomes: Table, external: Table
) -> list[Problem]:
    """Every rule that reads more than one field, in the order of the files."""
    return [
        *arm_problems(arms, registry),
        *outcome_problems(outcomes, arms, registry),
        *consistency_problems(outcomes, arms),  # warnings: numbers that disagree with each other
        *external_problems(external, registry),
        *usage_problems(registry, outcomes, arms),
        *link_problems(registry, outcomes),  # warnings: URLs that are IP addresses or searches
    ]


__all__ = [
    "arm_problems",
    "bib_problems",
    "consistency_problems",
    "cross_file_problems",
    "external_problems",
    "link_problems",
    "outcome_problems",
    "usage_problems",
]
