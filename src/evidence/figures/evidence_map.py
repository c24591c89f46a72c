"""Evidence map: every clinical study by publication year and cell group; marker area =
patients, colour and symbol = design. A study with arms in two cell groups appears in both rows.

Takes the dataset's ``studies`` and ``arms`` frames (tidy, as loaded); one trace per design, in
a fixed order, so filters update it in place.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from evidence.figures.palette import design_colour, design_symbol
from evidence.figures.style import SMALL_SIZE, base_layout, esc, fmt_n
from evidence.schema import CELL_GROUPS, DESIGNS
from evidence.vocab import PLANNED

#: Human designs, one trace each (animal studies are not on the map).
MAP_DESIGNS = tuple(d for d in DESIGNS if d != "animal")


def _treated(patients: float) -> str:
    # NaN when no arm's size is given, or the arms are only planned (nobody treated yet)
    if math.isfinite(patients):
        return f"{fmt_n(patients)} treated"
    return "patients treated: not reported"


def map_frame(studies: pd.DataFrame, arms: pd.DataFrame) -> pd.DataFrame:
    """One row per (study, cell group): year, design, patients treated in the group.

    ``studies`` and ``arms`` are :attr:`Dataset.clinical_studies` and
    :attr:`Dataset.treated_arms`: the arms' ``n`` must be real (a planned size is NaN there, so
    a study whose arms are only planned shows no patients).
    """
    if "n_basis" in arms and arms["n"].notna().where(arms["n_basis"] == PLANNED, False).any():
        raise ValueError("arms with a planned n: pass Dataset.treated_arms (real n only)")
    clinical = studies
    cell_arms = arms[arms["group"].isin(CELL_GROUPS) & arms["citekey"].isin(clinical["citekey"])]
    patients = cell_arms.groupby(["citekey", "group"], sort=False)["n"].sum(min_count=1)
    info = clinical.set_index("citekey")
    records = []
    for (key, group), n in patients.items():
        study = info.loc[key]
        records.append(
            {
                "citekey": key,
                "label": study["label"],
                "year": study["year"],
                "group": group,
                "design": study["design"],
                "patients": math.nan if pd.isna(n) else float(n),
                "n_total": math.nan if pd.isna(study["n"]) else float(study["n"]),
                "country": study["country"],
                "route": study["route"],
                "dose": study["dose"],
                "follow_up": study["follow_up"],
                "confidence": study["confidence"],
            }
        )
    return pd.DataFrame.from_records(
        records,
        columns=[
            "citekey",
            "label",
            "year",
            "group",
            "design",
            "patients",
            "n_total",
            "country",
            "route",
            "dose",
            "follow_up",
            "confidence",
        ],
    )


def _size(patients: float) -> float:
    """Marker diameter with area proportional to patients; unknown n gets a small marker."""
    if not math.isfinite(patients) or patients <= 0:
        return 8.0
    return 8.0 + 4.0 * math.sqrt(patients)


def evidence_map_plot(
    frame: pd.DataFrame,
    *,
    highlight: str | None = None,
    title: str = "Evidence map: clinical studies by year and cell group",
) -> go.Figure:
    """The map of ``frame`` (as from :func:`map_frame`, possibly filtered)."""
    groups = [g for g in CELL_GROUPS if g in set(frame["group"])] or list(CELL_GROUPS[:4])
    y_of = {g: i for i, g in enumerate(groups)}
    # Small vertical offsets keep studies of the same year and group apart.
    offsets = frame.groupby(["group", "year"]).cumcount() if len(frame) else pd.Series([])
    traces = []
    for design in MAP_DESIGNS:
        part = frame[frame["design"] == design]
        off = offsets.loc[part.index] if len(part) else []
        ys = [
            y_of[g] + (0.18 * ((o + 1) // 2) * (1 if o % 2 else -1))
            for g, o in zip(part["group"], off, strict=True)
        ]
        hover = [
            f"<b>{esc(r.label)}</b> \u00b7 {esc(r.design)}<br>cell group {esc(r.group)}: "
            f"{_treated(r.patients)} (study {fmt_n(r.n_total)})<br>"
            f"country: {esc(r.country or 'not reported')}<br>"
            f"route: {esc(r.route or 'not reported')}<br>"
            f"dose: {esc(r.dose or 'not reported')}<br>"
            f"follow-up: {esc(r.follow_up or 'not reported')}<br>"
            f"descriptors: {esc(r.confidence)}"
            for r in part.itertuples()
        ]
        traces.append(
            go.Scatter(
                name=design,
                x=part["year"].astype(float).tolist(),
                y=ys,
                mode="markers",
                marker={
                    "size": [_size(p) for p in part["patients"]],
                    "color": design_colour(design),
                    "symbol": design_symbol(design),
                    "opacity": 0.85,
                    "line": {
                        "color": [
                            "#000000" if k == highlight else "white" for k in part["citekey"]
                        ],
                        "width": [4 if k == highlight else 1 for k in part["citekey"]],
                    },
                },
                customdata=part["citekey"].tolist(),
                hovertext=hover,
                hoverinfo="text",
            )
        )
    years = frame["year"].dropna().astype(float)
    x_range = [years.min() - 1, years.max() + 1] if len(years) else [2000, 2025]
    layout = base_layout(title, "marker area = patients treated in the group; symbol = design", 480)
    layout |= {
        "showlegend": True,
        "legend": {
            "title": {"text": "design"},
            "orientation": "h",
            "y": -0.2,
            "x": 0.0,
            "font": {"size": SMALL_SIZE + 1},
            "itemsizing": "constant",
        },
        "margin": {"l": 100, "r": 30, "t": 95, "b": 110},
        "xaxis": {
            "title": {"text": "year of publication"},
            "range": x_range,
            "dtick": 2,
            "showline": True,
            "linecolor": "#333",
            "ticks": "outside",
        },
        "yaxis": {
            "title": {"text": "cell group"},
            "tickmode": "array",
            "tickvals": list(range(len(groups))),
            "ticktext": [f"<b>{esc(g)}</b>" for g in groups],
            "range": [len(groups) - 0.4, -0.6],
            "autorange": False,
            "fixedrange": True,
            "zeroline": False,
        },
        "meta": {"points": len(frame)},
    }
    return go.Figure(data=traces, layout=layout)
