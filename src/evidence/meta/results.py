"""Immutable result objects (frozen dataclasses) in metafor's vocabulary.

Field names follow metafor's output with Python spelling: ``estimate`` (metafor's ``b`` /
``beta``), ``se``, ``stat`` (``zval`` or ``tval``), ``pval``, ``ci_lb`` / ``ci_ub``, ``tau2``,
``i2`` (``I2``, percent), ``h2``, ``q`` (``QE``), ``q_pval`` (``QEp``), ``pi_lb`` / ``pi_ub``
(``predict()``'s ``pi.lb`` / ``pi.ub``). Array fields are read-only numpy arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evidence.meta.qprofile import qprofile_interval

Array = NDArray[np.float64]

#: Scalar fields of :class:`RMAResult`, in the column order of ``to_frame()``.
RMA_COLUMNS = (
    "k",
    "method",
    "test",
    "level",
    "estimate",
    "se",
    "stat",
    "pval",
    "ci_lb",
    "ci_ub",
    "df",
    "tau2",
    "se_tau2",
    "tau2_ci_lb",
    "tau2_ci_ub",
    "tau",
    "i2",
    "i2_ci_lb",
    "i2_ci_ub",
    "h2",
    "h2_ci_lb",
    "h2_ci_ub",
    "q",
    "q_df",
    "q_pval",
    "pi_lb",
    "pi_ub",
    "s2w",
    "vt",
)


def readonly(a: Any) -> Any:
    """Mark a numpy array read-only so the frozen result is immutable in depth."""
    if isinstance(a, np.ndarray):
        a.flags.writeable = False
    return a


def _fmt(x: float, digits: int = 4) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "NA"
    return f"{x:.{digits}f}"


@dataclass(frozen=True, eq=False)
class RMAResult:
    """A fitted random-effects (or common-effect) model: metafor's ``rma.uni`` object.

    ``weights`` are percent weights ``100 w_i / sum(w)`` (metafor's ``weights()``), aligned with
    ``studies``, the labels of the studies the model used. ``yi`` / ``vi`` are those studies'
    values. ``df`` is NaN for ``test="z"``. ``tau2_fixed`` is True when tau2 was supplied.
    """

    k: int
    method: str
    test: str
    level: float
    estimate: float
    se: float
    stat: float
    pval: float
    ci_lb: float
    ci_ub: float
    df: float
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    q: float
    q_df: float
    q_pval: float
    pi_lb: float
    pi_ub: float
    s2w: float
    vt: float
    tau2_fixed: bool
    studies: pd.Index
    yi: Array
    vi: Array
    _tau2_ci: tuple[float, float] | None = field(default=None, repr=False)

    # -- Q-profile interval: computed on first access (it costs two root searches) ----------

    @cached_property
    def _qprofile(self) -> tuple[float, float]:
        if self._tau2_ci is not None:
            return self._tau2_ci
        return qprofile_interval(
            self.yi, self.vi, self.k, self.method, self.level, self.tau2, self.tau2_fixed
        )

    @property
    def tau2_ci_lb(self) -> float:
        """Lower Q-profile confidence bound for tau^2 (metafor ``confint(res)``)."""
        return self._qprofile[0]

    @property
    def tau2_ci_ub(self) -> float:
        """Upper Q-profile confidence bound for tau^2 (not capped, unlike metafor's default)."""
        return self._qprofile[1]

    @property
    def i2_ci_lb(self) -> float:
        """``100 lb / (vt + lb)``: the tau^2 bound on the I^2 scale (percent)."""
        lb = self._qprofile[0]
        return 100.0 * lb / (self.vt + lb) if self.vt + lb > 0 else math.nan

    @property
    def i2_ci_ub(self) -> float:
        ub = self._qprofile[1]
        return 100.0 * ub / (self.vt + ub) if self.vt + ub > 0 else math.nan

    @property
    def h2_ci_lb(self) -> float:
        """``lb / vt + 1``: the tau^2 bound on the H^2 scale."""
        return self._qprofile[0] / self.vt + 1.0 if self.vt > 0 else math.nan

    @property
    def h2_ci_ub(self) -> float:
        return self._qprofile[1] / self.vt + 1.0 if self.vt > 0 else math.nan

    @cached_property
    def weights(self) -> Array:
        """Percent weights ``100 w_i / sum(w)``, ``w_i = 1 / (vi + tau2)`` (metafor ``weights``).

        Computed on first access (the dashboard rarely needs them at large k)."""
        tau2 = 0.0 if math.isnan(self.tau2) else self.tau2
        with np.errstate(divide="ignore", invalid="ignore"):
            w = 1.0 / (self.vi + tau2)
            return readonly(100.0 * w / w.sum())

    @property
    def tau(self) -> float:
        """Square root of tau^2 (metafor prints it as ``tau``)."""
        return math.sqrt(self.tau2) if self.tau2 >= 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Scalar fields as a plain dict (the row of :meth:`to_frame`)."""
        return {name: getattr(self, name) for name in RMA_COLUMNS}

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame view of the scalar fields."""
        return pd.DataFrame([self.to_dict()], columns=list(RMA_COLUMNS))

    def __str__(self) -> str:
        kind = "Common-effect" if self.method == "FE" else "Random-effects"
        stat = "zval" if self.test == "z" else "tval"
        lines = [
            f"{kind} model (k = {self.k}; tau^2 estimator: {self.method}; test: {self.test})",
            f"tau^2 = {_fmt(self.tau2)} [{_fmt(self.tau2_ci_lb)}, {_fmt(self.tau2_ci_ub)}], "
            f"I^2 = {_fmt(self.i2, 2)}%, H^2 = {_fmt(self.h2, 2)}",
            f"Q(df = {_fmt(self.q_df, 0)}) = {_fmt(self.q)}, p = {_fmt(self.q_pval)}",
            f"estimate = {_fmt(self.estimate)} (se = {_fmt(self.se)}), {stat} = {_fmt(self.stat)}"
            f", p = {_fmt(self.pval)}, CI [{_fmt(self.ci_lb)}, {_fmt(self.ci_ub)}]"
            f", PI [{_fmt(self.pi_lb)}, {_fmt(self.pi_ub)}]",
        ]
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """Per-subgroup fits and the test for subgroup differences.

    ``tau2="separate"``: each subgroup has its own tau^2 (RevMan, R's meta) and ``q_between`` is
    the Q statistic of a common-effect model on the subgroup estimates (chi-square, ``G - 1`` df).
    ``tau2="common"``: one tau^2 from the model with the subgroup as a factor (metafor's
    ``rma(yi, vi, mods = ~ factor(group))``) and ``q_between`` is its moderator test ``QM``
    (chi-square with ``q_between_df`` df for ``test="z"``; for ``"knha"``/``"adhoc"`` an F
    statistic with ``(q_between_df, q_between_df2)`` df). Per-group results then use that tau^2.

    ``reliable`` is False (and ``reason`` says why) when the test should not be read as evidence
    of a difference: a compared group has fewer than two studies (its "between-group" contrast is
    then one study against the rest), the test could not be computed, or the caller found that a
    group rests only on numbers computed with an assumption (``evidence.compare.pool``).
    """

    groups: tuple[Any, ...]
    results: tuple[RMAResult, ...]
    tau2_mode: str
    q_between: float
    q_between_df: float
    q_between_df2: float
    q_between_pval: float
    tau2_common: float
    reliable: bool = True
    reason: str = ""

    def __getitem__(self, group: Any) -> RMAResult:
        return self.results[self.groups.index(group)]

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup with the ``RMAResult`` columns; the test is in ``.attrs``."""
        df = pd.DataFrame([r.to_dict() for r in self.results], columns=list(RMA_COLUMNS))
        df.index = pd.Index(list(self.groups), name="group")
        df.attrs.update(
            q_between=self.q_between,
            q_between_df=self.q_between_df,
            q_between_df2=self.q_between_df2,
            q_between_pval=self.q_between_pval,
            tau2_mode=self.tau2_mode,
            reliable=self.reliable,
            reason=self.reason,
        )
        return df


@dataclass(frozen=True, eq=False)
class RegtestResult:
    """Egger's regression test (metafor ``regtest``): ``stat`` is metafor's ``zval`` (a t value
    when ``df`` is finite), ``limit_estimate`` is ``est``, the estimate as ``sei -> 0``."""

    model: str
    predictor: str
    method: str
    stat: float
    pval: float
    df: float
    limit_estimate: float
    limit_ci_lb: float
    limit_ci_ub: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{f.name: getattr(self, f.name) for f in fields(self)}])


@dataclass(frozen=True, eq=False)
class RanktestResult:
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``)."""

    tau: float
    pval: float
    exact: bool

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{f.name: getattr(self, f.name) for f in fields(self)}])


@dataclass(frozen=True, eq=False)
class TrimfillResult:
    """Duval and Tweedie's trim and fill (metafor ``trimfill``).

    ``result`` is the full model on the observed plus filled studies; ``fill`` flags the filled
    ones in ``result.studies``; ``filled_yi`` / ``filled_vi`` are the imputed studies.
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    result: RMAResult
    fill: NDArray[np.bool_]
    filled_yi: Array
    filled_vi: Array

    def to_frame(self) -> pd.DataFrame:
        df = self.result.to_frame()
        df.insert(0, "side", self.side)
        df.insert(0, "se_k0", self.se_k0)
        df.insert(0, "k0", self.k0)
        return df
