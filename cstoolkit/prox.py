r"""Proximal maps: the one home of soft thresholding, group shrinkage, projections and top-k.

Every solver, :mod:`cstoolkit.sparsify` and the tests call these; nothing else writes the
formulas. Two layers:

* plain functions for the hot loops (no validation, no Python overhead beyond one or two numpy
  calls): :func:`soft_threshold`, :func:`soft_threshold_nonneg`, :func:`group_soft_threshold`,
  :func:`topk_mask`, :func:`keep_topk`;
* small classes in the PyProximal style, one per function ``f``: ``f(x)`` is the value,
  ``f.prox(x, tau)`` is :math:`\operatorname{prox}_{\tau f}(x) = \arg\min_z \tfrac12\|z - x\|^2 + \tau f(z)`
  and ``f.prox_conjugate(x, sigma)`` is :math:`\operatorname{prox}_{\sigma f^*}`, written in closed
  form (not through the Moreau identity) so that the identity

  .. math:: x = \operatorname{prox}_{\tau f}(x) + \tau\,\operatorname{prox}_{f^*/\tau}(x/\tau)

  is a real test of both (``tests/test_prox.py`` applies it to every convex class found in this
  module). ``tau <= 0`` is rejected in one place, :meth:`ProxOperator.prox`.

Arrays are ``(n,)`` or ``(n, B)`` (one signal per column); a per-signal parameter of shape
``(B,)`` broadcasts over rows.

References
----------
Parikh & Boyd, "Proximal algorithms", Found. Trends Optim. 1(3) (2014), §6.
Combettes & Wajs, "Signal recovery by proximal forward-backward splitting", Multiscale Model.
Simul. 4 (2005) (the Moreau decomposition).
"""

from __future__ import annotations

import abc
import numbers

import numpy as np

__all__ = [
    "soft_threshold", "soft_threshold_nonneg", "group_soft_threshold", "group_norms", "topk_mask", "keep_topk",
    "ProxOperator", "L1", "GroupL2", "Nonnegative", "L0Ball",
]


# --- plain functions (hot paths) -------------------------------------------------------------

def soft_threshold(X, t):
    r"""Soft thresholding :math:`\operatorname{sign}(x)\max(|x| - t, 0)`, entrywise.

    The proximal map of :math:`t\|\cdot\|_1`. Complex entries: the modulus is shrunk and the
    phase kept, :math:`x\max(1 - t/|x|, 0)` (the prox of :math:`t\sum_i |x_i|` with the complex
    modulus).

    Parameters
    ----------
    X : ndarray of any shape
        Real or complex, floating.
    t : float or ndarray broadcastable to X, >= 0
        Threshold (not checked: this is the hot path; validated callers check it).

    Returns
    -------
    ndarray of X's shape, dtype ``result_type(X, t)``

    Notes
    -----
    Real data is computed as ``x − clip(x, −t, t)``: the same values, bit for bit, as
    ``sign(x)·max(|x| − t, 0)`` (negation is exact), two temporaries instead of five, and
    shrunk entries are ``+0.0`` (never ``−0.0``).
    """
    if np.iscomplexobj(X):
        mag = np.abs(X)
        scale = np.subtract(mag, t)
        np.maximum(scale, 0, out=scale)
        # |x| = 0 has scale max(−t, 0) = 0 already; only 0/0 must be avoided
        np.divide(scale, mag, out=scale, where=mag > 0)
        return X * scale
    return X - np.clip(X, -t, t)


def soft_threshold_nonneg(X, t):
    r"""Nonnegative soft thresholding :math:`\max(x - t, 0)`: the prox of :math:`t\|x\|_1 + \iota_{x\ge 0}`.

    Parameters
    ----------
    X : ndarray, real
    t : float or ndarray broadcastable to X, >= 0

    Returns
    -------
    ndarray of X's shape
    """
    return np.maximum(X - t, 0)


def group_soft_threshold(X, t, group_size: int):
    r"""Block soft thresholding :math:`z_g = \max(1 - t/\|x_g\|_2, 0)\,x_g` on contiguous groups.

    The prox of :math:`t\sum_g \|x_g\|_2` with groups ``x[i·g:(i+1)·g]`` of each column.

    Parameters
    ----------
    X : ndarray, shape (n,) or (n, B), real or complex
    t : float or ndarray of shape (B,), >= 0
    group_size : int
        Size ``g`` of the groups; must divide ``n``.

    Returns
    -------
    ndarray of X's shape
    """
    n = X.shape[0]
    Xg = X.reshape((n // group_size, group_size) + X.shape[1:])
    nrm = np.sqrt(np.sum(np.abs(Xg) ** 2, axis=1, keepdims=True))
    scale = np.maximum(1 - t / np.maximum(nrm, np.finfo(nrm.dtype).tiny), 0)
    return (Xg * scale).reshape(X.shape)


def group_norms(X, group_size: int) -> np.ndarray:
    """ℓ2 norms of the contiguous groups of ``group_size`` rows: shape (n // g,) or (n // g, B)."""
    n = X.shape[0]
    return np.sqrt(np.sum(np.abs(X.reshape((n // group_size, group_size) + X.shape[1:])) ** 2, axis=1))


def topk_mask(V, k: int, axis: int | None = 0) -> np.ndarray:
    """Boolean mask of the ``k`` largest entries of the real array ``V`` (per column by default).

    **The tie rule** (the one rule of the package, also the documented rule of
    :func:`cstoolkit.sparsify.keep_largest`): among entries equal to the k-th largest value, those
    with the lowest index are kept (index along ``axis``; row-major linear index for
    ``axis=None``). So a signal's selection never depends on the order numpy's selection
    algorithm happens to visit ties. NaN counts as smaller than every number (never selected
    before one); ``-inf`` entries can be selected, as the smallest numbers.

    Parameters
    ----------
    V : ndarray, shape (n,) or (n, B), real
        Scores (usually magnitudes).
    k : int
        Entries to keep per slice; ``k <= 0`` keeps none, ``k >= n`` keeps all.
    axis : {0, 1, None}, default=0
        0: per column; 1: per row; None: over the whole array.

    Returns
    -------
    ndarray of bool, V's shape

    Notes
    -----
    One ``np.partition`` gives the k-th largest value ``t`` of every slice and ``V >= t`` keeps
    at least k entries; only slices with ties at the cut (or NaN) are then corrected, so
    continuous data pays for no tie handling.
    """
    V = np.asarray(V)
    if axis is None or V.ndim == 1:
        a = V.reshape(1, -1)
    else:
        a = V.T if axis == 0 else V
    n = a.shape[1]
    if k <= 0:
        return np.zeros(V.shape, dtype=bool)
    if k >= n:
        return np.ones(V.shape, dtype=bool)
    t = np.partition(a, n - k, axis=1)[:, n - k: n - k + 1]
    keep = a >= t
    surplus = np.count_nonzero(keep, axis=1) - k
    fix = np.flatnonzero(surplus != 0)
    if fix.size:
        sub = a[fix]
        tf = t[fix]
        if np.any(surplus[fix] < 0):
            # fewer than k entries >= t: NaN (partitioned as the largest value) took a place; rank
            # NaN below -inf and select again in these slices only
            sub = np.where(np.isnan(sub), -np.inf, sub)
            tf = np.partition(sub, n - k, axis=1)[:, n - k: n - k + 1]
            surplus = np.count_nonzero(sub >= tf, axis=1) - k
        else:
            surplus = surplus[fix]
        eq = sub == tf
        n_eq = np.count_nonzero(eq, axis=1, keepdims=True)
        drop = eq & (np.cumsum(eq, axis=1) > n_eq - surplus[:, None])
        keep[fix] = (sub >= tf) & ~drop
    if axis is None or V.ndim == 1:
        return keep.reshape(V.shape)
    return keep.T if axis == 0 else keep


def keep_topk(X, k: int, axis: int | None = 0):
    """``H_k``: keep the ``k`` largest-magnitude entries of each column (see :func:`topk_mask`), zero the rest.

    The Euclidean projection onto ``{x : ‖x‖₀ ≤ k}`` per column (a projection onto a nonconvex
    set: one of the nearest points, chosen by the tie rule of :func:`topk_mask`).

    Parameters
    ----------
    X : ndarray, shape (n,) or (n, B), real or complex
    k : int
    axis : {0, 1, None}, default=0

    Returns
    -------
    ndarray of X's shape and dtype
    """
    return np.where(topk_mask(np.abs(X), k, axis), X, 0)


# --- classes ---------------------------------------------------------------------------------

def _check_positive(value, name):
    v = np.asarray(value)
    if v.dtype.kind not in "biuf" or v.size == 0 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"{name} must be > 0 and finite (a number or an array of them), got {value!r}.")
    return value


class ProxOperator(abc.ABC):
    r"""A closed proper function ``f`` with its proximal map (PyProximal's interface).

    Subclasses write ``__call__`` (the value), ``_prox(x, tau)`` and, for convex ``f``,
    ``prox_conjugate(x, sigma)`` in closed form. Set ``convex = False`` for a nonconvex ``f``
    (the Moreau identity then does not apply; its prox is a set-valued projection and
    ``_prox`` returns one element of it).
    """

    #: whether f is convex (the Moreau identity holds and ``prox_conjugate`` is defined)
    convex: bool = True

    @abc.abstractmethod
    def __call__(self, x) -> float:
        """Value ``f(x)`` (``inf`` outside the domain)."""

    def prox(self, x, tau=1.0):
        r""":math:`\operatorname{prox}_{\tau f}(x) = \arg\min_z \tfrac12\|z - x\|_2^2 + \tau f(z)`.

        Parameters
        ----------
        x : ndarray, shape (n,) or (n, B)
        tau : float or ndarray of shape (B,), > 0, default=1.0

        Returns
        -------
        ndarray of x's shape
        """
        return self._prox(np.asarray(x), _check_positive(tau, "tau"))

    @abc.abstractmethod
    def _prox(self, x, tau):
        """The prox for a validated ``tau``."""

    def prox_conjugate(self, x, sigma=1.0):
        r""":math:`\operatorname{prox}_{\sigma f^*}(x)` of the convex conjugate :math:`f^*`, in closed form."""
        raise NotImplementedError(f"{type(self).__name__} is not convex: no conjugate prox.")

    def __repr__(self):
        return f"{type(self).__name__}()"


class L1(ProxOperator):
    r"""Weighted ℓ1 norm :math:`f(x) = \sum_i \sigma_i |x_i|` (complex: the modulus), optionally on ``x ≥ 0``.

    prox: soft thresholding at ``τσ`` (:func:`soft_threshold`; :func:`soft_threshold_nonneg`
    with ``positive=True``). Conjugate: the indicator of ``{|v_i| ≤ σ_i}`` (``{v_i ≤ σ_i}``
    when positive), whose prox is the projection onto it.

    Parameters
    ----------
    sigma : float or ndarray broadcastable to x, >= 0, default=1.0
        Weights (a scalar λ, per-entry weights of reweighted ℓ1, or λ per signal of shape (B,)).
    positive : bool, default=False
        Add the constraint ``x ≥ 0`` (real data).
    """

    def __init__(self, sigma=1.0, *, positive: bool = False):
        s = np.asarray(sigma)
        if s.dtype.kind not in "biuf" or np.any(~np.isfinite(s)) or np.any(s < 0):
            raise ValueError(f"sigma must be finite and >= 0, got {sigma!r}.")
        self.sigma = sigma
        self.positive = bool(positive)

    def __call__(self, x):
        x = np.asarray(x)
        if self.positive and np.any(x < 0):
            return np.inf
        return float(np.sum(self.sigma * np.abs(x)))

    def _prox(self, x, tau):
        t = tau * np.asarray(self.sigma)
        return soft_threshold_nonneg(x, t) if self.positive else soft_threshold(x, t)

    def prox_conjugate(self, x, sigma=1.0):
        x = np.asarray(x)
        s = np.asarray(self.sigma)
        if self.positive:
            return np.minimum(x, s)
        if np.iscomplexobj(x):
            mag = np.abs(x)
            return x * np.minimum(1.0, s / np.maximum(mag, np.finfo(mag.dtype).tiny))
        return np.clip(x, -s, s)

    def __repr__(self):
        return f"L1(sigma={self.sigma!r}, positive={self.positive})"


class GroupL2(ProxOperator):
    r"""Group ℓ2 norm :math:`f(x) = \sigma\sum_g \|x_g\|_2` over contiguous groups of ``group_size`` rows.

    prox: block soft thresholding (:func:`group_soft_threshold`). Conjugate: the indicator of
    ``{‖v_g‖₂ ≤ σ for every g}``, whose prox projects each group onto the ball of radius σ.

    Parameters
    ----------
    group_size : int, >= 1
    sigma : float or ndarray of shape (B,), >= 0, default=1.0
    """

    def __init__(self, group_size: int, sigma=1.0):
        if not isinstance(group_size, numbers.Integral) or isinstance(group_size, bool) or group_size < 1:
            raise ValueError(f"group_size must be an int >= 1, got {group_size!r}.")
        self.group_size = int(group_size)
        self.sigma = sigma

    def _norms(self, x):
        g = self.group_size
        xg = np.asarray(x).reshape((x.shape[0] // g, g) + x.shape[1:])
        return xg, np.sqrt(np.sum(np.abs(xg) ** 2, axis=1, keepdims=True))

    def __call__(self, x):
        return float(np.sum(np.asarray(self.sigma) * group_norms(np.asarray(x), self.group_size)))

    def _prox(self, x, tau):
        return group_soft_threshold(x, tau * np.asarray(self.sigma), self.group_size)

    def prox_conjugate(self, x, sigma=1.0):
        x = np.asarray(x)
        xg, nrm = self._norms(x)
        scale = np.minimum(1.0, np.asarray(self.sigma) / np.maximum(nrm, np.finfo(nrm.dtype).tiny))
        return (xg * scale).reshape(x.shape)

    def __repr__(self):
        return f"GroupL2(group_size={self.group_size}, sigma={self.sigma!r})"


class Nonnegative(ProxOperator):
    r"""Indicator of the nonnegative orthant :math:`\iota_{x \ge 0}`.

    prox: ``max(x, 0)``. Conjugate: the indicator of ``{v ≤ 0}`` (the polar cone), prox ``min(v, 0)``.
    """

    def __call__(self, x):
        return 0.0 if np.all(np.asarray(x) >= 0) else np.inf

    def _prox(self, x, tau):
        return np.maximum(x, 0)

    def prox_conjugate(self, x, sigma=1.0):
        return np.minimum(np.asarray(x), 0)


class L0Ball(ProxOperator):
    r"""Indicator of the k-sparse vectors :math:`\iota_{\|x\|_0 \le k}` (per column): nonconvex.

    prox (for any τ): keep the k largest magnitudes of each column (:func:`keep_topk`, ties to
    the lowest index). One of the nearest k-sparse points; the Moreau identity does not apply.

    Parameters
    ----------
    k : int, >= 0
    """

    convex = False

    def __init__(self, k: int):
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 0:
            raise ValueError(f"k must be an int >= 0, got {k!r}.")
        self.k = int(k)

    def __call__(self, x):
        return 0.0 if np.all(np.count_nonzero(np.asarray(x), axis=0) <= self.k) else np.inf

    def _prox(self, x, tau):
        return keep_topk(x, self.k, axis=0)

    def __repr__(self):
        return f"L0Ball(k={self.k})"
