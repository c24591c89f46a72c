"""Figures of the Bayesian model (evidence.bayesian): a forest plot of posteriors and a small plot
of the prior and posterior of tau.

Forest rows per cell group: each study's observed estimate with its 95% CI (grey) and its
shrunken estimate (posterior median and interval of theta_i, in the group's colour) beside it;
the group's diamond is the posterior median and central credible interval of mu, the bar under it
the predictive interval of a new study's effect. The prior is stated in the subtitle.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evidence.bayesian import BayesPooled
from evidence.compare import NULL_VALUE, to_display
from evidence.figures.axes import RATIO_MEASURES, measure_axis_title
from evidence.figures.palette import GREY, group_colour
from evidence.figures.style import (
    SMALL_SIZE,
    TITLE_SIZE,
    base_layout,
    esc,
    figure,
    fmt,
    trace,
    vline,
)
from evidence.figures.text_width import wrap
from evidence.meta import BayesResult

#: px a subtitle line may take: the plot pane is about 880 px wide beside the sidebar at a
#: 1280 px projector, and the title starts at the pane's left edge.
SUBTITLE_WIDTH = 760
#: px a further subtitle line adds above the plot: plotly spaces a title's lines by 1.3 of the
#: title's font size, whatever the size of the line's own text.
SUBTITLE_LINE = math.ceil(1.3 * TITLE_SIZE)

_Z95 = 1.959963984540054


def _pct(p: float | None) -> str:
    return "NA" if p is None or not math.isfinite(p) else f"{100 * p:.0f}%"


def bayes_forest_plot(bp: BayesPooled, title: str = "") -> Any:
    """Forest plot of a :class:`~evidence.bayesian.BayesPooled` (display scale)."""
    q = bp.question
    measure = q.measure
    disp = lambda v: float(to_display(measure, v))  # noqa: E731
    ys: list[float] = []
    labels: list[str] = []
    obs_x, obs_lo, obs_hi, obs_y, obs_hover = [], [], [], [], []
    data: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    row = 0.0
    for name, g in bp.groups.items():
        if g is None:
            continue
        r: BayesResult = g.result
        colour = group_colour(name)
        sh_x, sh_lo, sh_hi, sh_y, sh_hover = [], [], [], [], []
        for i, study in enumerate(r.studies):
            se = math.sqrt(r.vi[i])
            y_obs = r.yi[i]
            obs_x.append(disp(y_obs))
            obs_lo.append(disp(y_obs - _Z95 * se))
            obs_hi.append(disp(y_obs + _Z95 * se))
            obs_y.append(row)
            obs_hover.append(
                f"<b>{esc(study)}</b> ({esc(name)})<br>observed {fmt(disp(y_obs))} "
                f"(95% CI {fmt(disp(y_obs - _Z95 * se))} to {fmt(disp(y_obs + _Z95 * se))})"
            )
            sh_x.append(disp(r.theta_median[i]))
            sh_lo.append(disp(r.theta_ci_lb[i]))
            sh_hi.append(disp(r.theta_ci_ub[i]))
            sh_y.append(row - 0.3)
            sh_hover.append(
                f"<b>{esc(study)}</b>, shrunken estimate<br>posterior median "
                f"{fmt(disp(r.theta_median[i]))} (95% CrI {fmt(disp(r.theta_ci_lb[i]))} to "
                f"{fmt(disp(r.theta_ci_ub[i]))})"
            )
            ys.append(row)
            labels.append(esc(study))
            row -= 1
        data.append(
            trace(
                "scatter",
                x=sh_x,
                y=sh_y,
                mode="markers",
                marker={"color": colour, "size": 8, "symbol": "diamond-open"},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": list(np.subtract(sh_hi, sh_x)),
                    "arrayminus": list(np.subtract(sh_x, sh_lo)),
                    "color": colour,
                    "thickness": 1.2,
                    "width": 0,
                },
                hovertext=sh_hover,
                hoverinfo="text",
                name=f"{name} shrunken",
            )
        )
        lo, med, hi = disp(r.mu_ci_lb), disp(r.mu_median), disp(r.mu_ci_ub)
        plo, phi = disp(r.pred_lb), disp(r.pred_ub)
        benefit = (
            ""
            if g.p_benefit is None
            else f"<br>P(benefit) {_pct(g.p_benefit)}; {esc(bp.threshold_label)} "
            f"{_pct(g.p_threshold)}"
        )
        hover = (
            f"<b>{esc(name)}</b> (k={r.k})<br>posterior median {fmt(med)} (95% CrI {fmt(lo)} to "
            f"{fmt(hi)})<br>predictive interval {fmt(plo)} to {fmt(phi)}<br>tau median "
            f"{fmt(r.tau_median, 3)}{benefit}"
        )
        data.append(
            trace(
                "scatter",
                x=[lo, med, hi, med, lo],
                y=[row, row + 0.3, row, row - 0.3, row],
                fill="toself",
                fillcolor=colour,
                mode="lines",
                line={"color": colour},
                hovertext=hover,
                hoveron="fills",
                hoverinfo="text",
                name=f"{name} posterior",
            )
        )
        data.append(
            trace(
                "scatter",
                x=[plo, phi],
                y=[row - 0.45, row - 0.45],
                mode="lines",
                line={"color": colour, "width": 3},
                hovertext=[hover, hover],
                hoverinfo="text",
                name=f"{name} predictive",
            )
        )
        ys.append(row)
        labels.append(f"<i>{esc(name)} posterior (k={r.k})</i>")
        row -= 1.5
    data.insert(
        0,
        trace(
            "scatter",
            x=obs_x,
            y=obs_y,
            mode="markers",
            marker={"color": GREY, "size": 8, "symbol": "square"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": list(np.subtract(obs_hi, obs_x)),
                "arrayminus": list(np.subtract(obs_x, obs_lo)),
                "color": GREY,
                "thickness": 1.2,
                "width": 0,
            },
            hovertext=obs_hover,
            hoverinfo="text",
            name="observed",
        ),
    )
    null = NULL_VALUE.get(measure, math.nan)
    if math.isfinite(null):
        shapes.append(vline(null, GREY, "dot"))
    # Plotly never wraps a title: lines that fit the narrowest pane it is drawn in.
    subtitle = wrap(
        [
            bp.prior.text,
            "Diamond: posterior median and 95% credible interval; bar: predictive interval; "
            "grey: observed; open diamonds: shrunken estimates.",
        ],
        SUBTITLE_WIDTH,
        SMALL_SIZE + 1,
    )
    layout = base_layout(
        title or "Bayesian random-effects model",
        subtitle,
        height=max(320, 60 * len(ys) + 160) + SUBTITLE_LINE * (len(subtitle) - 1),
    )
    layout["shapes"] = shapes
    layout["xaxis"] = {
        "title": {"text": measure_axis_title(measure, q.outcome)},
        "type": "log" if measure in RATIO_MEASURES else "linear",
        "zeroline": False,
    }
    layout["yaxis"] = {"tickvals": ys, "ticktext": labels, "showgrid": False, "zeroline": False}
    layout["margin"] = {"l": 220, "r": 30, "t": 110 + SUBTITLE_LINE * (len(subtitle) - 1), "b": 60}
    # From the top down, so that the lines keep their distance from the plot however many.
    layout["title"] |= {"y": 1.0, "yref": "container", "yanchor": "top", "pad": {"t": 34}}
    return figure(data, layout)


def tau_prior_posterior_plot(
    results: BayesResult | dict[str, BayesResult], title: str = "Heterogeneity tau"
) -> Any:
    """Small plot: the prior (dashed grey) and the posterior of tau (solid; one line per group
    when given a mapping of group to result, in the group's colour)."""
    named = results if isinstance(results, dict) else {"posterior": results}
    data = []
    hi = 0.0
    first: BayesResult | None = None
    for name, result in named.items():
        first = first or result
        grid = result.tau_grid
        hi = max(hi, float(grid["tau"].iloc[-1]))
        colour = "#0072B2" if name == "posterior" else group_colour(name)
        data.append(
            trace(
                "scatter",
                x=grid["tau"].tolist(),
                y=grid["posterior"].tolist(),
                mode="lines",
                line={"color": colour, "width": 2.5},
                name=name if name == "posterior" else f"{name} posterior",
                hovertemplate=f"{esc(name)}: tau %{{x:.3g}}, density %{{y:.3g}}<extra></extra>",
            )
        )
    if first is not None and first.tau_prior != "uniform":
        x = np.linspace(0.0, hi, 201)
        data.append(
            trace(
                "scatter",
                x=x.tolist(),
                y=np.asarray(first.tau_prior_pdf(x)).tolist(),
                mode="lines",
                line={"color": GREY, "width": 2, "dash": "dash"},
                name="prior",
                hovertemplate="prior: tau %{x:.3g}, density %{y:.3g}<extra></extra>",
            )
        )
    layout = base_layout(title, first.prior_label() if first is not None else "", height=280)
    layout["showlegend"] = True
    layout["legend"] = {"font": {"size": SMALL_SIZE}, "x": 1, "xanchor": "right", "y": 1}
    layout["xaxis"] = {"title": {"text": "tau (between-study SD)"}, "rangemode": "tozero"}
    layout["yaxis"] = {"title": {"text": "density"}, "rangemode": "tozero"}
    layout["margin"] = {"l": 60, "r": 20, "t": 70, "b": 50}
    return figure(data, layout)
