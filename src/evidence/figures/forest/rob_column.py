"""The forest plot's risk-of-bias column: each study row's overall judgement, as robvis'
``rob_append_to_forest`` shows it (a coloured circle with a symbol, never colour alone)."""

from __future__ import annotations

import pandas as pd

from evidence.figures.palette import ROB_COLOURS, ROB_SYMBOLS, ROB_TEXT_COLOURS
from evidence.figures.style import esc

#: The legend's risk-of-bias items (wrapped to the figure's width by the layout).
ROB_LEGEND = (
    "RoB, risk of bias (overall): + low",
    "\u2212 some concerns or moderate",
    "X high or serious",
    "! critical",
    "? no information",
    "NA not applicable (uncontrolled study)",
)
#: Fill, symbol and text colour of each judgement in the risk-of-bias column.
ROB_STYLE = {
    j: (ROB_COLOURS[j], ROB_SYMBOLS[j], ROB_TEXT_COLOURS.get(j, "#000000")) for j in ROB_COLOURS
}


def rob_records(rob: pd.DataFrame) -> dict[str, dict[str, str]]:
    """citekey -> {column: text} of the risk-of-bias columns (plain dicts: fast per row)."""
    names = [str(c) for c in rob.columns]
    return {
        str(key): dict(zip(names, map(str, values), strict=True))
        for key, values in zip(rob.index, rob.to_numpy(dtype=object).tolist(), strict=True)
    }


def rob_cell(key: str, columns: dict[str, dict[str, str]]) -> tuple[str, str] | None:
    """(overall judgement, hover text of the domains) of a study, None without a record."""
    record = columns.get(key)
    if record is None or record["overall"] not in ROB_STYLE:
        return None
    domains = " \u00b7 ".join(
        f"{d} {record[d]}" for d in ("D1", "D2", "D3", "D4", "D5", "D6", "D7") if record.get(d)
    )
    return record["overall"], f"{esc(record['tool'])}: <b>{esc(record['overall'])}</b>" + (
        f"<br>{esc(domains)}" if domains else ""
    )
