"""The landing claim panel: the source article's central claim, the claims audit's verdict on
it, and what each cell group rests on, above the tabs; its button opens the claims audit.

Nothing here is written by hand: the claim, its verdict and the verdict's reason are the
``central`` row of the claims audit (:mod:`evidence.appraisal.claims`, the same cached frame the
Appraisal view shows), and the studies and patients per group are the inventory's
(:func:`evidence.inventory.by_group`, the README's table); the sentences are
:func:`evidence.analysis.words.rests_on`'s.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as W

from evidence.analysis.words import rests_on
from evidence.app.cache import Analysis
from evidence.app.html import escape
from evidence.app.views.claims import problem_note, verdict_badge
from evidence.app.widgets import classed
from evidence.appraisal.schema import GRADE_GROUPS


def panel_html(analysis: Analysis) -> str:
    """The panel's text: the claim and its verdict (when the dataset has a claims audit), then
    the studies and patients each compared group rests on."""
    from evidence import inventory
    from evidence.appraisal import claims as C
    from evidence.schema import DatasetError

    data = analysis.data
    groups = analysis.cached(("inventory-by-group",), lambda: inventory.by_group(data))
    rests = (
        "<span class='ev-claim-rests' title='Clinical studies with arms in the group, and the "
        "patients in those arms (\u2265: some arm&#x27;s size is not reported)'>"
        "<b>Rests on:</b> "
        + " \u00b7 ".join(escape(line) for line in rests_on(groups, GRADE_GROUPS))
        + "</span>"
    )
    try:  # the same cache key as the Appraisal view's claims section: one load
        audit = analysis.cached(("claims-audit",), lambda: C.load(data.root, data))
    except DatasetError as exc:
        return problem_note("data/claims.csv", exc) + rests
    central = audit[audit["topic"] == "central"] if not audit.empty else audit
    if central.empty:
        return "<span class='ev-claim-text'>No claims audit in this dataset.</span> " + rests
    row = central.iloc[0]
    return (
        "<span class='ev-claim-text'><b>The article claims:</b> "
        f"\u201c{escape(row.claim)}\u201d</span> "
        f"<span class='ev-claim-verdict' title='{escape(row.reason)}'><b>Claims audit:</b> "
        f"{verdict_badge(str(row.verdict))}</span><br>" + rests
    )


class ClaimPanel:
    """The panel (``box``): its text, and a button that calls ``open_audit`` (the App opens
    the Appraisal tab's claims section), with ``beside`` above the button."""

    def __init__(
        self, analysis: Analysis, open_audit: Callable[[], None], beside: tuple[W.Widget, ...] = ()
    ) -> None:
        self.text = classed(W.HTML(panel_html(analysis)), "ev-claim-panel-text")
        self.button = classed(
            W.Button(description="Open the claims audit", tooltip="the Appraisal tab's claims"),
            "ev-open-claims",
        )
        self.button.on_click(lambda _button: open_audit())
        # the right-hand column: ``beside`` (the App's link and copy button) above the button
        self.actions = classed(W.VBox([*beside, self.button]), "ev-claim-actions")
        self.box = classed(W.HBox([self.text, self.actions]), "ev-claim-panel")


__all__ = ["ClaimPanel", "panel_html"]
