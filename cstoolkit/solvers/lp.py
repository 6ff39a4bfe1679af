r"""Exact basis pursuit as a linear program solved by HiGHS (no cvxpy).

Two equivalent LPs (real data):

* primal, split ``x = u − v``: ``min 1ᵀ(u + v)`` s.t. ``[A, −A][u; v] = y``, ``u, v ≥ 0``
  (2n variables, m equality rows);
* dual: ``max yᵀλ`` s.t. ``−1 ≤ Aᵀλ ≤ 1`` (m free variables, 2n inequality rows); the basis
  pursuit solution is read off the multipliers of the two inequality blocks,
  ``x = μ₋ − μ₊`` (scipy's ``ineqlin.marginals``).

The nonnegative problem (``x ≥ 0``) is ``min 1ᵀx`` s.t. ``Ax = y, x ≥ 0`` with dual
``max yᵀλ`` s.t. ``Aᵀλ ≤ 1``.
"""

from __future__ import annotations

import logging

import numpy as np

from .._validation import Options
from ..base import Recoverer
from ..registry import register
from ._l1 import bp_objective
from .greedy import _dictionary

__all__ = ["BasisPursuitLP", "basis_pursuit_lp"]

logger = logging.getLogger(__name__)


def basis_pursuit_lp(A, Y, *, formulation="primal", method="highs-ds", presolve=True, positive=False):
    r"""Basis pursuit for every column of ``Y`` by HiGHS (``scipy.optimize.linprog``).

    .. math:: \min_x \|x\|_1 \quad\text{s.t.}\quad A x = y \quad(\text{and } x \ge 0 \text{ if positive})

    Parameters
    ----------
    A : ndarray, shape (m, n)
        Real dense matrix.
    Y : ndarray, shape (m, B)
    formulation : {"primal", "dual"}, default="primal"
        Which LP to hand to HiGHS (see the module docstring); both give the same x.
    method : {"highs", "highs-ds", "highs-ipm"}, default="highs-ds"
        HiGHS algorithm: automatic choice, dual simplex, or interior point (with crossover).
    presolve : bool, default=True
    positive : bool, default=False
        Nonnegative basis pursuit.

    Returns
    -------
    X : ndarray, shape (n, B)
    status : ndarray of int, shape (B,)
        ``linprog`` status per signal (0 = optimal).

    References
    ----------
    Chen, Donoho & Saunders, "Atomic decomposition by basis pursuit", SIAM J. Sci. Comput. 20
    (1998). Huangfu & Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp. 10
    (2018) (HiGHS).
    """
    from scipy.optimize import linprog

    A = np.asarray(A, dtype=np.float64)
    m, n = A.shape
    B = Y.shape[1]
    X = np.zeros((n, B))
    status = np.zeros(B, dtype=int)
    opts = {"presolve": bool(presolve)}
    if formulation == "primal":
        Aeq = A if positive else np.hstack([A, -A])
        c = np.ones(Aeq.shape[1])
    else:
        Aub = A.T if positive else np.vstack([A.T, -A.T])
        bub = np.ones(Aub.shape[0])
    for b in range(B):  # one LP per signal: HiGHS has no batched mode
        y = np.asarray(Y[:, b], dtype=np.float64)
        if formulation == "primal":
            res = linprog(c, A_eq=Aeq, b_eq=y, bounds=(0, None), method=method, options=opts)
            if res.x is not None:
                X[:, b] = res.x if positive else res.x[:n] - res.x[n:]
        else:
            res = linprog(-y, A_ub=Aub, b_ub=bub, bounds=(None, None), method=method, options=opts)
            if res.x is not None:
                mu = res.ineqlin.marginals  # ≤ 0: sensitivities of the minimised −yᵀλ
                X[:, b] = -mu if positive else mu[n:] - mu[:n]
        status[b] = res.status
    return X, status


@register("bp-lp")
class BasisPursuitLP(Recoverer):
    r"""Exact basis pursuit as a linear program (HiGHS through ``scipy.optimize.linprog``).

    .. math:: \min_x \|x\|_1 \quad\text{s.t.}\quad A x = y

    The λ → 0 limit of ½‖Ax − y‖² + λ‖x‖₁; ``history["objective"]`` holds ‖x‖₁. A simplex
    vertex: the solution is exact to rounding error (no tolerance to tune). Real data only
    (complex basis pursuit is a second-order cone program: use ``"admm-bp"`` or ``"bp"``).

    Parameters
    ----------
    formulation : {"primal", "dual"}, default="primal"
        ``"primal"``: split ``x = u − v`` (2n variables, m equalities); ``"dual"``:
        ``max yᵀλ`` s.t. ``‖Aᵀλ‖∞ ≤ 1`` (m variables, 2n inequalities), x from the multipliers.
        On 128×256 Gaussian problems the primal with dual simplex was the faster one
        (bench/bench_bp.py).
    method : {"highs", "highs-ds", "highs-ipm"}, default="highs-ds"
        HiGHS algorithm (dual simplex is fastest here).
    presolve : bool, default=True
    positive : bool, default=False
        Nonnegative basis pursuit (``x ≥ 0``).

    References
    ----------
    Chen, Donoho & Saunders, "Atomic decomposition by basis pursuit", SIAM J. Sci. Comput. 20
    (1998). Huangfu & Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp.
    10 (2018).
    """

    objective_kind = "bp"
    _parameter_constraints = {
        "formulation": [Options("primal", "dual")],
        "method": [Options("highs", "highs-ds", "highs-ipm")],
        "presolve": [bool],
        "positive": [bool],
    }

    def __init__(self, *, formulation="primal", method="highs-ds", presolve=True, positive=False):
        self.formulation = formulation
        self.method = method
        self.presolve = presolve
        self.positive = positive
        self._validate_params()

    def _setup(self, A, Y, X0):
        return dict(D=_dictionary(A), Y=Y)

    def _max_iterations(self, st):
        return 1

    def _step(self, st, it):
        X, status = basis_pursuit_lp(st["D"], st["Y"], formulation=self.formulation, method=self.method,
                                     presolve=self.presolve, positive=self.positive)
        st["X"] = X.astype(st["Y"].dtype, copy=False)
        bad = np.flatnonzero(status != 0)
        if bad.size:
            logger.warning("%s: %d of %d LPs not solved (linprog status %d; 2 = infeasible: y not in the "
                           "range of A%s)", type(self).__name__, bad.size, status.size, status[bad[0]],
                           ", or no x ≥ 0 fits" if self.positive else "")
            return None
        return "solved"

    def _monitor(self, st):
        return bp_objective(st["D"], st["X"], st["Y"])

    def _coef(self, st):
        return st["X"]

    _conformance_tol = 1e-8
