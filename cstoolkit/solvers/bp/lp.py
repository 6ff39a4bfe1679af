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

from ..._validation import Options
from ...base import DirectRecoverer, DirectSolution
from ...registry import register
from ...linalg import dense_matrix
from ...studies import StudySettings

__all__ = ["BasisPursuitLP", "basis_pursuit_lp", "lp_statuses"]

logger = logging.getLogger(__name__)


def basis_pursuit_lp(A, Y, *, formulation="primal", method="highs-ds", presolve=True, positive=False,
                     return_iterations=False):
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
    return_iterations : bool, default=False
        Also return HiGHS's iteration count per signal.

    Returns
    -------
    X : ndarray, shape (n, B)
        NaN columns where HiGHS did not report an optimum (``status != 0``): a failed LP never
        looks like a solution.
    status : ndarray of int, shape (B,)
        ``linprog`` status per signal: 0 optimal, 1 iteration limit, 2 infeasible (y not in the
        range of A, or no x ≥ 0 fits), 3 unbounded, 4 numerical difficulties.
    n_iter : ndarray of int, shape (B,)
        Only with ``return_iterations=True``.

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
    X = np.full((n, B), np.nan)
    status = np.zeros(B, dtype=int)
    nit = np.zeros(B, dtype=np.int64)
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
            if res.status == 0:
                X[:, b] = res.x if positive else res.x[:n] - res.x[n:]
        else:
            res = linprog(-y, A_ub=Aub, b_ub=bub, bounds=(None, None), method=method, options=opts)
            if res.status == 0:
                mu = res.ineqlin.marginals  # ≤ 0: sensitivities of the minimised −yᵀλ
                X[:, b] = -mu if positive else mu[n:] - mu[:n]
        if res.status != 0:
            logger.info("basis_pursuit_lp: signal %d: %s", b, res.message)
        status[b] = res.status
        nit[b] = int(getattr(res, "nit", 0) or 0)
    return (X, status, nit) if return_iterations else (X, status)


#: linprog status → RecoveryResult status (0 optimal, 1 iteration limit, 2 infeasible, 3 unbounded,
#: 4 numerical difficulties)
_LP_STATUS = {0: "solved", 1: "max_iter", 2: "infeasible"}


def lp_statuses(status) -> list:
    """Per-signal :data:`cstoolkit.base.STATUSES` names of ``linprog`` status codes (3, 4: "failed")."""
    return [_LP_STATUS.get(int(c), "failed") for c in np.atleast_1d(status)]


@register("bp-lp")
class BasisPursuitLP(DirectRecoverer):
    r"""Exact basis pursuit as a linear program (HiGHS through ``scipy.optimize.linprog``).

    .. math:: \min_x \|x\|_1 \quad\text{s.t.}\quad A x = y

    The λ → 0 limit of ½‖Ax − y‖² + λ‖x‖₁; ‖x‖₁ is ``history["l1_norm"]``. A simplex vertex,
    exact to HiGHS's feasibility tolerance (1e-7, absolute) — for the problem normalised by the
    base class (‖y‖ ≈ 1, unit-RMS columns), hence relative to the scale of the data.
    ``n_iter`` is HiGHS's iteration count per signal. Real data only
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

    study_settings = StudySettings(
        family="bp", phase={}, embedding={}, studies={"embedding"}, slow=True,
        note="one linear program per signal: the ℓ1 reference solved slowly")

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

    def _solve(self, A, Y, X0):
        X, status, nit = basis_pursuit_lp(dense_matrix(A), Y, formulation=self.formulation, method=self.method,
                                          presolve=self.presolve, positive=self.positive, return_iterations=True)
        bad = np.flatnonzero(status != 0)
        if bad.size:
            logger.warning("%s: %d of %d LPs not solved (linprog status %d; 2 = infeasible: y not in the "
                           "range of A%s)", type(self).__name__, bad.size, status.size, status[bad[0]],
                           ", or no x ≥ 0 fits" if self.positive else "")
        # the contract's answer for a signal without a solution is x = 0 with an honest status
        # (as for A = 0): the status says the LP failed, the coefficients do not pretend
        X[:, bad] = 0.0
        return DirectSolution(X.astype(Y.dtype, copy=False), nit, lp_statuses(status))


