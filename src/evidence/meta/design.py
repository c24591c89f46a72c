"""Weighted least squares for a batch of meta-analytic models sharing one set of studies.

Every estimator in :mod:`evidence.meta.estimators` is written against :class:`Design`, which
holds ``B`` models at once: model ``b`` uses the studies where ``mask[b] == 1``. A single
``rma()`` fit is ``B = 1`` without a mask; leave-one-out, cumulative and per-subgroup fits are
batches. Everything metafor builds from the k x k matrix ``P = W - W X (X'WX)^-1 X'W`` is
computed from p x p Gram matrices and length-k vectors: no k x k matrix is ever formed.

Speed: a fit evaluates weights and residuals a few dozen times. Those ``(B, k)`` arrays are
written into scratch buffers that a ``Design`` borrows from a per-thread pool and gives back on
``release()`` (or at the end of a ``with`` block), so a fit allocates no large arrays. On this
project's machines a fresh 800 kB array costs ~0.7 ms in page faults, more than the arithmetic.
Methods return views into those buffers: use a result before the next call on the same design.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

_N_BUFFERS = 4
_POOL_MAX_CELLS = 1 << 22  # larger buffers are not pooled (32 MB each)
_POOL_MAX_SHAPES = 8
_pool = threading.local()


def _free_lists() -> dict[tuple[int, int], list[list[Array]]]:
    """This thread's free buffer sets, by shape."""
    shapes = getattr(_pool, "shapes", None)
    if shapes is None:
        shapes = _pool.shapes = {}
    return shapes


def _acquire(shape: tuple[int, int]) -> list[Array]:
    free = _free_lists().get(shape) if shape[0] * shape[1] <= _POOL_MAX_CELLS else None
    if free:
        return free.pop()
    return [np.empty(shape) for _ in range(_N_BUFFERS)]


def _release(shape: tuple[int, int], bufs: list[Array]) -> None:
    if shape[0] * shape[1] > _POOL_MAX_CELLS:
        return
    shapes = _free_lists()
    if shape not in shapes and len(shapes) >= _POOL_MAX_SHAPES:
        shapes.pop(next(iter(shapes)))  # forget the oldest shape
    free = shapes.setdefault(shape, [])
    if len(free) < 2:
        free.append(bufs)


class CommonEffect(NamedTuple):
    """Quantities at tau2 = 0 (weights ``1/v``), shared by DL, HS, PM, Q and I^2."""

    q: Array  # Cochran's Q (QE)
    sum_w: Array
    tr_p: Array
    tr_pp: Array
    logdet: Array  # log det(X'WX), for the REML likelihood at tau2 = 0


class Design:
    """A batch of ``B`` mixed-effects models ``y = X beta + u + e`` over the same ``k`` studies.

    ``X=None`` is the intercept-only model (``rma`` without moderators). ``mask`` is a
    ``(B, k)`` 0/1 array; ``None`` means one model using every study. ``replicate=n`` stacks
    ``n`` copies of every model (to solve for several values of tau2 in one loop).
    """

    def __init__(
        self,
        y: Array,
        v: Array,
        X: Array | None = None,
        mask: Array | None = None,
        *,
        replicate: int = 1,
    ) -> None:
        k = y.shape[0]
        self.y = y
        self.v_raw = v
        self.intercept_only = X is None
        self.X = X
        self.p = 1 if X is None else X.shape[1]
        p = self.p
        if X is not None:
            # Row i of XX is vec(x_i x_i'), so X' diag(w) X for every model is one product.
            self.XX = (X[:, :, None] * X[:, None, :]).reshape(k, p * p)
            self.Xy = X * y[:, None]
        if mask is not None and replicate > 1:
            mask = np.repeat(mask, replicate, axis=0)
        self.mask = mask
        if mask is None:
            self.B = replicate
            self.v = v[None, :] if replicate == 1 else np.broadcast_to(v, (replicate, k))
            self.k = np.full(replicate, float(k))
        else:
            self.B = mask.shape[0]
            # A study outside a model gets a harmless variance; the mask zeroes its weight.
            self.v = np.where(mask > 0, v, 1.0)
            self.k = mask.sum(axis=1)
        self.df = self.k - p
        self._shape = (self.B, k)
        self._bufs: list[Array] | None = _acquire(self._shape)
        self._w, self._r, self._t, self._u = self._bufs
        self._fe: CommonEffect | None = None
        self._centred_ss: Array | None = None

    def scratch(self) -> tuple[Array, Array]:
        """Two ``(B, k)`` work arrays for estimators (overwritten by ``q``/``traces``/``rss``)."""
        return self._t, self._u

    def release(self) -> None:
        """Return the scratch buffers to the pool (the design must not be used afterwards)."""
        if self._bufs is not None:
            _release(self._shape, self._bufs)
            self._bufs = None

    def __enter__(self) -> Design:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # -- weights -------------------------------------------------------------------------

    def weights(self, tau2: Array) -> Array:
        """Inverse-variance weights ``1 / (v_i + tau2_b)``, zero outside each model."""
        w = self._w
        np.add(self.v, tau2[:, None], out=w)
        np.divide(1.0, w, out=w)
        if self.mask is not None:
            np.multiply(w, self.mask, out=w)
        return w

    def gram(self, w: Array) -> Array:
        """``X' diag(w) X`` for every model, shape ``(B, p, p)``."""
        if self.intercept_only:
            return np.add.reduce(w, axis=1).reshape(self.B, 1, 1)
        return (w @ self.XX).reshape(self.B, self.p, self.p)

    # -- weighted least squares ----------------------------------------------------------

    def solve(self, w: Array) -> tuple[Array, Array, Array]:
        """Return ``beta (B, p)``, residuals ``y - X beta (B, k)`` and ``(X'WX)^-1 (B, p, p)``."""
        r = self._r
        if self.intercept_only:
            sw = np.add.reduce(w, axis=1)
            beta = ((w @ self.y) / sw)[:, None]
            C = (1.0 / sw).reshape(self.B, 1, 1)
            np.subtract(self.y, beta, out=r)
            return beta, r, C
        A = self.gram(w)
        b = w @ self.Xy
        C = np.linalg.inv(A)
        beta = np.einsum("bij,bj->bi", C, b)
        np.subtract(self.y, beta @ self.X.T, out=r)  # type: ignore[union-attr]
        return beta, r, C

    def q(self, tau2: Array) -> tuple[Array, Array]:
        """Generalised Q ``sum w r^2`` at ``tau2`` and the magnitude of its slope ``sum w^2 r^2``.

        ``Q(tau2)`` is convex and decreasing; by the envelope theorem its derivative is
        ``-sum w^2 r^2`` (moving beta does not contribute at the weighted least-squares fit).
        """
        w = self.weights(tau2)
        _, r, _ = self.solve(w)
        wr = np.multiply(w, r, out=self._t)
        return np.vecdot(wr, r), np.vecdot(wr, wr)

    def common_effect(self) -> CommonEffect:
        """Statistics of the common-effect fit (tau2 = 0), computed once per design."""
        if self._fe is None:
            w = self.weights(np.zeros(self.B))
            _, r, C = self.solve(w)
            q = self.rss(w, r)
            tr_p, tr_pp = self.traces(w, C)
            c = C[:, 0, 0]
            logdet = -np.log(c) if self.intercept_only else -np.linalg.slogdet(C)[1]
            self._fe = CommonEffect(q, np.add.reduce(w, axis=1), tr_p, tr_pp, logdet)
        return self._fe

    def rss(self, w: Array, r: Array) -> Array:
        """``sum w r^2`` per model."""
        return np.vecdot(np.multiply(w, r, out=self._t), r)

    def traces(self, w: Array, C: Array) -> tuple[Array, Array]:
        """``tr(P)`` and ``tr(PP)`` for the weights ``w`` (``C`` is ``(X'WX)^-1``)."""
        w2 = np.multiply(w, w, out=self._t)
        s1 = np.add.reduce(w, axis=1)
        s2 = np.vecdot(w, w)
        if self.intercept_only:
            s3 = np.vecdot(w2, w)
            c = C[:, 0, 0]
            return s1 - s2 * c, s2 - 2.0 * s3 * c + (s2 * c) ** 2
        CA2 = C @ self.gram(w2)
        CA3 = C @ self.gram(np.multiply(w2, w, out=self._u))
        tr_p = s1 - np.trace(CA2, axis1=1, axis2=2)
        tr_pp = s2 - 2.0 * np.trace(CA3, axis1=1, axis2=2) + np.einsum("bij,bji->b", CA2, CA2)
        return tr_p, tr_pp

    def sum_log_variance(self, tau2: Array) -> Array:
        """``sum log(v_i + tau2)`` within each model (the likelihood's determinant term)."""
        t = np.add(self.v, tau2[:, None], out=self._u)
        np.log(t, out=t)
        if self.mask is not None:
            np.multiply(t, self.mask, out=t)
        return np.add.reduce(t, axis=1)

    def logdet_gram(self, w: Array) -> Array:
        """``log det(X'WX)`` (the REML likelihood's extra term)."""
        A = self.gram(w)
        if self.p == 1:
            return np.log(A[:, 0, 0])
        return np.linalg.slogdet(A)[1]

    # -- unweighted pieces (Hedges and Sidik-Jonkman) -------------------------------------

    def unit_weights(self) -> Array:
        """Weights of ordinary least squares: 1 inside each model, 0 outside."""
        if self.mask is not None:
            return self.mask
        w = self._w
        w.fill(1.0)
        return w

    def replicated(self, n: int) -> Design:
        """``n`` stacked copies of every model, rows ``b*n ... b*n + n - 1`` copying model ``b``.

        The copies share the cached common-effect statistics. Release the new design after use.
        """
        d = Design(self.y, self.v_raw, self.X, self.mask, replicate=n)
        if self._fe is not None:
            d._fe = CommonEffect(*(np.repeat(f, n) for f in self._fe))
        return d

    def masked_sum(self, x: Array) -> Array:
        """``sum x`` over each model's studies (``x`` has length k)."""
        if self.mask is None:
            return np.full(self.B, np.add.reduce(x))
        return self.mask @ x

    def centred_ss(self) -> Array:
        """``sum (y - mean(y))^2`` within each model (metafor's ``var(ymci) * (k - 1)``)."""
        if self._centred_ss is not None:
            return self._centred_ss
        mean = self.masked_sum(self.y) / self.k
        d = np.subtract(self.y, mean[:, None], out=self._r)
        if self.mask is None:
            self._centred_ss = np.vecdot(d, d)
        else:
            self._centred_ss = np.vecdot(np.multiply(self.mask, d, out=self._t), d)
        return self._centred_ss
