"""Basis pursuit and basis-pursuit denoising through cvxpy — the reference answers."""

from __future__ import annotations

import abc
import logging

import numpy as np

from ..._validation import Interval, InstanceOf
from ...base import DirectRecoverer, DirectSolution
from ...registry import register
from ...linalg import dense_matrix
from ...studies import StudySettings

__all__ = ["BasisPursuit", "BasisPursuitDenoising"]

logger = logging.getLogger(__name__)


class _CvxpyRecoverer(DirectRecoverer):
    """Solve one small convex program per signal; the problem is compiled once (DPP parameters)."""

    supports_complex = True
    _parameter_constraints = {
        "solver": [InstanceOf(str), None],
        "solver_options": [InstanceOf(dict), None],
    }

    @abc.abstractmethod
    def _build(self, cp, A, y_param, x):
        """The cvxpy problem in variable ``x`` with measurement parameter ``y_param``."""

    def _check_params(self):
        if self.solver is not None:
            import cvxpy as cp

            if self.solver not in cp.installed_solvers():
                raise ValueError(f"{type(self).__name__}: solver={self.solver!r} is not an installed cvxpy "
                                 f"solver; installed: {', '.join(cp.installed_solvers())}.")

    def _solve(self, A, Y, X0):
        try:
            import cvxpy as cp
        except ImportError as exc:  # pragma: no cover - cvxpy is a runtime dependency
            raise ImportError("cvxpy is required for basis pursuit: pip install cvxpy") from exc
        D = dense_matrix(A)
        cplx = np.iscomplexobj(D) or np.iscomplexobj(Y)
        n = D.shape[1]
        x = cp.Variable(n, complex=cplx)
        y_param = cp.Parameter(D.shape[0], complex=cplx)
        prob = self._build(cp, D, y_param, x)
        opts = dict(self.solver_options or {})
        B = Y.shape[1]
        X = np.zeros((n, B), dtype=Y.dtype)
        status, nit = [], np.ones(B, dtype=np.int64)
        for b in range(B):  # one small program per signal, compiled once (DPP parameter y)
            y_param.value = Y[:, b]
            try:
                prob.solve(solver=self.solver, **opts)
            except cp.error.SolverError as exc:
                raise RuntimeError(f"{type(self).__name__}: cvxpy solver {self.solver!r} failed: {exc}") from exc
            val = x.value
            X[:, b] = 0 if val is None else val
            stats = prob.solver_stats
            nit[b] = int(getattr(stats, "num_iters", None) or 1)
            status.append({"optimal": "solved", "optimal_inaccurate": "solved", "infeasible": "infeasible",
                           "infeasible_inaccurate": "infeasible"}.get(prob.status, "failed"))
        bad = [s for s in status if s != "solved"]
        if bad:
            logger.warning("%s: %d of %d problems ended with status %s", type(self).__name__, len(bad), B, bad[0])
        return DirectSolution(X, nit, status)


@register("bp")
class BasisPursuit(_CvxpyRecoverer):
    r"""Basis pursuit by cvxpy: the ℓ1-minimal solution of ``A x = y``.

    .. math:: \min_x \|x\|_1 \quad\text{s.t.}\quad A x = y

    The λ → 0 limit of ½‖Ax − y‖² + λ‖x‖₁; ‖x‖₁ is ``history["l1_norm"]``. Real or
    complex data (complex uses the modulus, i.e. a second-order cone program).

    Parameters
    ----------
    solver : str or None, default=None
        cvxpy solver name ("CLARABEL", "ECOS", "SCS", "HIGHS", ...); None lets cvxpy choose.
    solver_options : dict or None, default=None
        Passed to ``Problem.solve``.

    References
    ----------
    Chen, Donoho & Saunders, "Atomic decomposition by basis pursuit", SIAM J. Sci. Comput.
    20 (1998). Diamond & Boyd, "CVXPY", JMLR 17 (2016).
    """

    study_settings = StudySettings(
        family="bp", phase={}, embedding={}, studies={"embedding"}, slow=True,
        note="one cvxpy program per signal (~100 ms each): the ℓ1 reference solved slowly")

    def __init__(self, *, solver=None, solver_options=None):
        self.solver = solver
        self.solver_options = solver_options
        self._validate_params()

    objective_kind = "bp"

    def _build(self, cp, D, y, x):
        return cp.Problem(cp.Minimize(cp.norm1(x)), [D @ x == y])


@register("bpdn")
class BasisPursuitDenoising(_CvxpyRecoverer):
    r"""Basis-pursuit denoising by cvxpy (the constrained form).

    .. math:: \min_x \|x\|_1 \quad\text{s.t.}\quad \|A x - y\|_2 \le \epsilon

    Equivalent to the Lasso ½‖Ax − y‖² + λ‖x‖₁ for some λ(ε); ‖x‖₁ is ``history["l1_norm"]``.

    Parameters
    ----------
    epsilon : float, default=1e-3
        Noise level ε ≥ 0 (absolute ℓ2 norm of the allowed residual).
    solver : str or None, default=None
    solver_options : dict or None, default=None

    References
    ----------
    Chen, Donoho & Saunders (1998); Candès, Romberg & Tao, "Stable signal recovery from
    incomplete and inaccurate measurements", CPAM 59 (2006).
    """

    study_settings = StudySettings(
        family="l1", phase=dict(epsilon=1e-7), embedding={}, studies={"embedding"}, slow=True,
        note="one cvxpy program per signal (~100 ms each)")

    _parameter_constraints = {
        **_CvxpyRecoverer._parameter_constraints,
        "epsilon": [Interval("real", 0, None, closed="left")],
    }

    def __init__(self, *, epsilon=1e-3, solver=None, solver_options=None):
        self.epsilon = epsilon
        self.solver = solver
        self.solver_options = solver_options
        self._validate_params()

    objective_kind = "bpdn"
    _param_units = {"epsilon": "y"}

    def _build(self, cp, D, y, x):
        return cp.Problem(cp.Minimize(cp.norm1(x)), [cp.norm2(D @ x - y) <= self.epsilon])

    @classmethod
    def _conformance_params(cls, k):
        return dict(epsilon=1e-7)

