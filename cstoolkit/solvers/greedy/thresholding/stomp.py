"""Stagewise orthogonal matching pursuit, StOMP (Donoho, Tsaig, Drori & Starck 2012)."""

from __future__ import annotations

import numpy as np
from scipy.special import erfc
from scipy.stats import norm

from ...._validation import Interval, Options
from ....linalg import lstsq_on_support
from ....prox import topk_mask
from ....registry import register
from ....studies import StudySettings
from ._base import _Thresholding

__all__ = ["StOMP"]


@register("stomp")
class StOMP(_Thresholding):
    r"""Stagewise orthogonal matching pursuit (Donoho, Tsaig, Drori & Starck 2012), vectorised.

    Approximates a sparse solution of ``Ax = y`` (objective in ``history``: ½‖Ax − y‖²). At
    stage s, with residual r and formal noise level ``σ̂ = ‖r‖/√m``, every atom with
    ``|a_jᵀ r| > t_s·σ̂`` joins the support, and x is re-fitted by least squares on it. The
    threshold ``t_s`` comes from one of two rules on the Gaussian null law of ``a_jᵀr/σ̂``:

    * ``"cfar"`` — constant false-alarm rate: ``t = Φ⁻¹(1 − α/2)``, so a null coordinate is
      selected with probability α per stage;
    * ``"cfdr"`` — constant false-discovery rate: Benjamini–Hochberg at level q on the
      two-sided p-values of the coordinates not yet selected.

    A signal stops when no atom is added, after ``n_stages`` stages, or when
    ‖r‖ ≤ tol·‖y‖. The support is capped at m atoms (the largest new correlations win).

    Parameters
    ----------
    threshold : {"cfar", "cfdr"}, default="cfar"
    false_alarm_rate : float or None, default=None
        α for CFAR; None uses ``δ/(2·n_stages)`` (about m/2 false alarms over all stages,
        Donoho et al.'s ``δ(1 − ρ)/S`` with ρ = ½).
    fdr : float, default=0.5
        q for CFDR.
    n_stages : int, default=10
    tol : float, default=1e-10

    References
    ----------
    Donoho, Tsaig, Drori & Starck, "Sparse solution of underdetermined systems of linear
    equations by stagewise orthogonal matching pursuit", IEEE Trans. Inf. Theory 58 (2012).
    Benjamini & Hochberg, "Controlling the false discovery rate", JRSS B 57 (1995).
    """

    study_settings = StudySettings(family="greedy", phase={}, embedding={})

    _sparsity_budget = False
    _certificate_param = "tol"  # its tol is a relative residual
    supports_x0 = False  # the stages grow a support from the empty set
    _parameter_constraints = {
        "threshold": [Options("cfar", "cfdr")],
        "false_alarm_rate": [Interval("real", 0, 1, closed="neither"), None],
        "fdr": [Interval("real", 0, 1, closed="neither")],
        "n_stages": [Interval("integral", 1, None)],
        "tol": [Interval("real", 0, None, closed="left")],
    }

    def __init__(self, *, threshold="cfar", false_alarm_rate=None, fdr=0.5, n_stages=10, tol=1e-10):
        self.threshold = threshold
        self.false_alarm_rate = false_alarm_rate
        self.fdr = fdr
        self.n_stages = n_stages
        self.tol = tol
        self._validate_params()

    def _max_iterations(self, st):
        return self.n_stages

    def _setup(self, A, Y, X0):
        st = self._base_setup(A, Y, sparsity=False)
        st.S = np.zeros(st.X.shape, dtype=bool)
        m, n = st.m, st.n
        alpha = self.false_alarm_rate if self.false_alarm_rate is not None else (m / n) / (2 * self.n_stages)
        st.t_cfar = float(norm.isf(alpha / 2))
        return st

    def _select(self, st, C, S):
        """New atoms per column (bool (n, B')) from correlations C = Aᵀr and the support S."""
        m = st.m
        sigma = np.linalg.norm(st.R[:, st.active], axis=0) / np.sqrt(m)
        z = np.abs(C) / np.maximum(sigma, np.finfo(float).tiny)
        if self.threshold == "cfar":
            J = (z > st.t_cfar) & ~S
        else:
            p = np.where(S, np.inf, erfc(z / np.sqrt(2)))  # two-sided p-values
            n_cand = np.maximum((~S).sum(axis=0), 1)
            ps = np.sort(p, axis=0)
            ranks = np.arange(1, p.shape[0] + 1)[:, None]
            ok = ps <= self.fdr * ranks / n_cand
            last = np.where(ok.any(axis=0), p.shape[0] - 1 - np.argmax(ok[::-1], axis=0), -1)
            cut = np.where(last >= 0, ps[np.maximum(last, 0), np.arange(p.shape[1])], -1.0)
            J = (p <= cut) & ~S
        # cap the support at m atoms, keeping the strongest new ones
        room = m - S.sum(axis=0)
        over = J.sum(axis=0) > room
        if over.any():
            cols = np.flatnonzero(over)
            for r in np.unique(room[cols]):  # loop over distinct room sizes, not over signals
                cc = cols[room[cols] == r]
                J[:, cc] = topk_mask(np.where(J[:, cc], z[:, cc], -np.inf), int(r)) & J[:, cc]
        return J

    def _step(self, st, it):
        act = np.flatnonzero(st.active)
        X, S = st.X[:, act], st.S[:, act]
        AtY = st.AtY[:, act]
        C = AtY - st.G @ X
        J = self._select(st, C, S)
        S = S | J
        Xn = lstsq_on_support(st.G, AtY, S)
        st.X[:, act], st.S[:, act] = Xn, S
        Rn = st.Y[:, act] - st.D @ Xn
        st.R[:, act] = Rn
        done = ~J.any(axis=0) | (np.linalg.norm(Rn, axis=0) <= self.tol * st.ynorm[act])
        return self._finish(st, done, "solved")

    @classmethod
    def _conformance_params(cls, k):
        return {}
