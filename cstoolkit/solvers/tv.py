r"""Total-variation minimisation under exact data consistency (Candès, Romberg & Tao 2006), by primal–dual iterations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._validation import InstanceOf, Interval
from ..base import IterativeRecoverer
from ..operators import explicit_matrix
from ..registry import register
from ..studies import StudySettings

__all__ = ["TVMinimization"]


def gradient(X: np.ndarray, shape: tuple) -> np.ndarray:
    """Forward differences with Neumann boundary of every column of ``X`` (n, B) seen as ``shape``.

    Returns shape ``(d, n, B)`` (d = len(shape)); the last difference along each axis is zero.
    """
    B = X.shape[1]
    U = X.reshape(*shape, B)
    G = np.zeros((len(shape),) + U.shape, dtype=X.dtype)
    for a in range(len(shape)):
        d = np.diff(U, axis=a)
        G[a][tuple(slice(0, s - 1) if i == a else slice(None) for i, s in enumerate(shape))] = d
    return G.reshape(len(shape), -1, B)


def gradient_adjoint(P: np.ndarray, shape: tuple) -> np.ndarray:
    """Adjoint of :func:`gradient` (minus the discrete divergence), shape ``(n, B)``."""
    d, n, B = P.shape
    out = np.zeros((*shape, B), dtype=P.dtype)
    for a in range(d):
        p = P[a].reshape(*shape, B)
        lead = [slice(None)] * (len(shape) + 1)
        # (Dᵀp)_i = p_{i−1} − p_i along axis a, with p at the last index equal to zero
        lead[a] = slice(0, shape[a] - 1)
        pa = p[tuple(lead)]
        sl_lo = list(lead)
        sl_hi = [slice(None)] * (len(shape) + 1)
        sl_hi[a] = slice(1, shape[a])
        out[tuple(sl_lo)] -= pa
        out[tuple(sl_hi)] += pa
    return out.reshape(n, B)


def total_variation(X: np.ndarray, shape: tuple) -> np.ndarray:
    """Isotropic TV of every column: Σ_pixels ‖(∇x)_pixel‖₂, shape (B,)."""
    G = gradient(X, shape)
    return np.sum(np.sqrt(np.sum(G**2, axis=0)), axis=0)


@dataclass
class _TVState:
    A: object
    Y: np.ndarray
    X: np.ndarray
    Xbar: np.ndarray
    P: np.ndarray
    project: Callable[[np.ndarray], np.ndarray]
    tau: float
    sigma: float
    done: np.ndarray
    shape: tuple


@register("tv")
class TVMinimization(IterativeRecoverer):
    r"""Minimum total variation subject to the measurements, for signals and images.

    For every column ``y`` of the batch solves

    .. math:: \min_x \ \mathrm{TV}(x) = \sum_i \|(\nabla x)_i\|_2 \quad \text{s.t.} \quad A x = y

    (isotropic TV, forward differences with Neumann boundary; ``x`` reshaped to ``shape``) by
    the primal–dual algorithm of Chambolle & Pock (2011): a dual ascent step on ∇ with
    projection onto the unit ℓ2 balls, a primal step projected onto ``{x : Ax = y}``, and
    over-relaxation, with τσ‖∇‖² < 1. The projection is ``x − Aᵀ(Ax − y)`` when the operator
    has orthonormal rows (``A.orthonormal_rows``, e.g.
    :class:`cstoolkit.imaging.FourierSampling2D`), uses a QR factorisation of ``Aᵀ`` for an
    explicit matrix or a small operator (n ≤ 2048, formed once), and conjugate gradients on
    ``AAᵀ`` otherwise. Started from the
    minimum-energy solution ``Aᵀ(AAᵀ)⁻¹y``. A 1-D ``shape`` (the default) is TV of a signal:
    ℓ1 of its differences — piecewise-constant signals are its sparse ones.

    Parameters
    ----------
    shape : tuple of int or None, default=None
        Shape of each signal as an image, e.g. ``(256, 256)``; None is a 1-D signal of length n.
    max_iter : int, default=5000
    tol : float, default=1e-8
        A signal is done when its relative primal–dual gap is ≤ tol (checked every
        ``check_every`` iterations; see ``_gap``).
    check_every : int, default=10

    References
    ----------
    Candès, Romberg & Tao, "Robust uncertainty principles: exact signal reconstruction from
    highly incomplete frequency information", IEEE Trans. Inf. Theory 52 (2006).
    Rudin, Osher & Fatemi, "Nonlinear total variation based noise removal algorithms",
    Physica D 60 (1992).
    Chambolle & Pock, "A first-order primal-dual algorithm for convex problems with
    applications to imaging", J. Math. Imaging Vis. 40 (2011).
    """

    study_settings = StudySettings(
        family="other", phase=dict(max_iter=20000, tol=1e-10), embedding={}, studies=(),
        note="total variation models piecewise-constant signals and images, not sparse coefficient vectors")

    objective_kind = "tv"
    _parameter_constraints = {
        "shape": [InstanceOf((tuple, list)), None],
        "max_iter": [Interval("integral", 1, None)],
        "tol": [Interval("real", 0, None, closed="left")],
        "check_every": [Interval("integral", 1, None)],
    }

    def __init__(self, *, shape=None, max_iter=5000, tol=1e-8, check_every=10):
        self.shape = shape
        self.max_iter = max_iter
        self.tol = tol
        self.check_every = check_every
        self._validate_params()

    def _projector(self, A, Y):
        g = 1.0 if getattr(A, "orthonormal_rows", False) else getattr(A, "row_gram_scale", None)
        if g is not None:  # AAᵀ = g·I (orthonormal rows, possibly rescaled by the contract's normalisation)
            def project(X):
                return X - A.rmatmat(A.matmat(X) - Y) / X.dtype.type(g)
            return project
        M = explicit_matrix(A)
        if M is None and A.shape[1] <= 2048:
            # a small operator without orthonormal rows: n products once, then the QR projection
            # (conjugate gradients inside every iteration would cost far more)
            M = A.matmat(np.eye(A.shape[1], dtype=Y.dtype))
        if M is not None and A.shape[0] <= 4096:
            M = M.toarray() if hasattr(M, "toarray") else np.asarray(M)
            # Aᵀ = U S Vᵀ with the rank cut at rounding level: Q = U_r spans the row space, and
            # X_ls = A⁺Y is the minimum-norm point of {x : Ax = y} (its least-squares point when
            # a rank-deficient A makes Ax = y infeasible — the certificate then reports the residual)
            U, sv, Vt = np.linalg.svd(M.T, full_matrices=False)
            r = int(np.count_nonzero(sv > max(M.shape) * np.finfo(float).eps * sv[0])) if sv.size and sv[0] > 0 else 0
            Q = U[:, :r]
            X_ls = (Q @ ((Vt[:r] @ Y) / sv[:r, None])).astype(Y.dtype, copy=False)
            Q = Q.astype(Y.dtype, copy=False)
            return lambda X: X - Q @ (Q.T @ X) + X_ls
        from scipy.sparse.linalg import LinearOperator, cg

        m = A.shape[0]
        G = LinearOperator((m, m), matvec=lambda z: A.matvec(A.rmatvec(z)), dtype=Y.dtype)

        def project(X):
            R = A.matmat(X) - Y
            Z = np.column_stack([cg(G, R[:, b], rtol=1e-12, maxiter=500)[0] for b in range(R.shape[1])])
            return X - A.rmatmat(Z)
        return project

    def _setup(self, A, Y, X0):
        n, B = A.shape[1], Y.shape[1]
        shape = (n,) if self.shape is None else tuple(int(s) for s in self.shape)
        if int(np.prod(shape)) != n:
            raise ValueError(f"TVMinimization: shape {shape} has {int(np.prod(shape))} pixels but A has {n} columns.")
        project = self._projector(A, Y)
        X = project(np.zeros((n, B), dtype=Y.dtype) if X0 is None else np.array(X0, dtype=Y.dtype))
        step = float(0.99 / np.sqrt(4.0 * len(shape)))  # ‖∇‖² ≤ 4d; a Python float keeps float32 data float32
        # τσ‖∇‖² < 1 fixes only the product of the steps: balance them by the scale of x (its largest
        # modulus at the minimum-energy point, whatever x0), so that the iterates are the same for (A, t·y) as for (A, y) —
        # the primal variable carries the units of x, the dual one (‖p_i‖ ≤ 1) none
        s = float(np.max(np.abs(project(np.zeros((n, B), dtype=Y.dtype))), initial=0.0)) or 1.0
        return _TVState(A=A, Y=Y, X=X, Xbar=X.copy(), P=np.zeros((len(shape), n, B), dtype=Y.dtype),
                        project=project, tau=step * s, sigma=step / s, done=np.zeros(B, dtype=bool), shape=shape)

    def _step(self, st: _TVState, it: int):
        P = st.P + st.sigma * gradient(st.Xbar, st.shape)
        P /= np.maximum(1.0, np.sqrt(np.sum(P**2, axis=0)))[None]
        st.P = P
        Xn = st.project(st.X - st.tau * gradient_adjoint(P, st.shape))
        st.Xbar = 2 * Xn - st.X
        st.X = Xn
        if it % self.check_every == 0:
            # the gap cannot go below the working precision (float32: ~1e-5)
            st.done = self._gap(st) <= max(self.tol, 100 * np.finfo(st.X.dtype).eps)
        return "tol" if st.done.all() else None

    def _gap(self, st: _TVState) -> np.ndarray:
        """Relative primal–dual gap per signal (0 exactly at a saddle point).

        With q = ∇ᵀp (‖p_i‖ ≤ 1), TV(x) ≥ ⟨q, x⟩ for every x, with equality at the optimum,
        and q must lie in the row space of A (its null-space part N q = project(q) −
        project(0) vanishes). The gap adds both defects: (TV(x) − ⟨q, x⟩ + ‖N q‖·‖x‖)/TV(x).
        """
        q = gradient_adjoint(st.P, st.shape)
        Nq = st.project(q) - st.project(np.zeros_like(q))
        tv = total_variation(st.X, st.shape)
        defect = tv - np.sum(q * st.X, axis=0) + np.linalg.norm(Nq, axis=0) * np.linalg.norm(st.X, axis=0)
        return np.abs(defect) / np.maximum(tv, np.finfo(float).tiny)


    def _monitor(self, st: _TVState):
        return total_variation(st.X, st.shape), np.linalg.norm(st.A.matmat(st.X) - st.Y, axis=0)

    def _coef(self, st: _TVState):
        return st.X

    @classmethod
    def _conformance_params(cls, k):
        return dict(max_iter=20000, tol=1e-10)

    _conformance_tol = 1e-4
