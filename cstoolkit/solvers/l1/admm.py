r"""ADMM for basis pursuit, basis-pursuit denoising and the Lasso, batched over signals.

Every signal of a batch shares one eigendecomposition ``A Aᴴ = U diag(s) Uᴴ`` (an ``m × m``
problem, computed once), so one ADMM iteration for B signals is a couple of ``(n × m)·(m × B)``
matrix products (BLAS-3) and each signal may keep its own penalty ρ (residual balancing needs
no refactorisation). Three splittings ``x = z`` (Boyd et al. 2011, §6):

* basis pursuit — x-step: projection onto ``{A x = y}``;
* BPDN — x-step: projection onto ``{‖A x − y‖ ≤ ε}`` (a secular equation in one multiplier per
  signal, solved by batched Newton steps in the eigenbasis);
* Lasso — x-step: ``(AᴴA + ρI)⁻¹(Aᴴy + ρ(z − u))`` through the matrix-inversion lemma.

The z-step is soft thresholding (or its nonnegative version, :mod:`cstoolkit.prox`). The
base class :class:`_ADMMBase` owns the iteration; each problem is a subclass with its own
dataclass state (:class:`ADMMState` and its extensions) overriding the x-step, the threshold
and the polish. An optional *polish* step (``polish=True``; the Lasso's on real data only, BPDN's
only for ε = 0) solves the problem restricted to the current support and accepts
it only when an optimality certificate holds — for basis pursuit a dual vector λ with
``A_Sᴴλ = sign(x_S)`` and ``‖A_{Sᶜ}ᴴλ‖∞ ≤ 1``, the smallest correction of the estimate
``(AAᴴ)⁺A(ρu)`` read from ADMM's multiplier (:func:`polish_l1`); for the Lasso the signs and
``‖A_{Sᶜ}ᴴ(y − A x)‖∞ ≤ λ``. A certified signal is exact to rounding error and stops early.

References
----------
Boyd, Parikh, Chu, Peleato & Eckstein, "Distributed optimization and statistical learning via
the alternating direction method of multipliers", Found. Trends Mach. Learn. 3 (2011).

Why one file (over 400 lines): the three splittings share one eigendecomposition, one iteration
(``_ADMMBase``) and one polish (:func:`polish_l1`); only their x-steps differ.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
import scipy.sparse as sp

from ..._validation import Interval
from ...base import DirectRecoverer, DirectSolution, IterativeRecoverer
from ...linalg import (RowSpace, dense_matrix, scatter_support, solve_padded, support_columns, support_gram,
                      support_index)
from ...operators import explicit_matrix
from ...prox import soft_threshold, soft_threshold_nonneg
from ...registry import register
from ...studies import StudySettings
from ._common import L1_CONSTRAINTS, lam_vector

__all__ = ["ADMMBasisPursuit", "ADMMBPDN", "ADMMLasso", "polish_l1"]

logger = logging.getLogger(__name__)

# materialise a matrix-free operator for the polish step only when it is this small (m·n entries)
_POLISH_MAX_ENTRIES = 4_000_000
_BALANCE_EVERY = 10
_BALANCE_UNTIL = 1000


def _col_norm(X):
    return np.sqrt(np.sum(np.abs(X) ** 2, axis=0))


def polish_l1(D, Y, Z, lam=None, *, positive=False, dual=None, rtol=None):
    r"""Solve an ℓ1 problem on the support of ``Z`` and certify optimality, batched.

    For each column ``z`` with support ``S`` (``|S| ≤ m``), solve the restricted problem and
    check the optimality conditions on the whole dictionary:

    * ``lam is None`` (basis pursuit, :math:`\min \|x\|_1` s.t. :math:`Ax = y`):
      ``x_S = (A_SᴴA_S)⁻¹A_Sᴴy``; accepted when ``‖A_S x_S − y‖ ≤ rtol·‖y‖`` and the minimum-norm
      dual vector ``λ = A_S(A_SᴴA_S)⁻¹ sgn(x_S)`` has ``|a_jᴴλ| ≤ 1`` off the support
      (``a_jᵀλ ≤ 1`` when ``positive``);
    * ``lam`` given (Lasso, :math:`\tfrac12\|Ax-y\|^2 + \lambda\|x\|_1`, real data):
      ``x_S = (A_SᵀA_S)⁻¹(A_Sᵀy − λσ)`` with ``σ = sign(z_S)``; accepted when
      ``sign(x_S) = σ`` and ``|a_jᵀ(y − A x)| ≤ λ`` off the support.

    The padded normal equations of all columns are solved in one batched ``numpy.linalg.solve``.

    Parameters
    ----------
    D : ndarray, shape (m, n)
        Dictionary.
    Y : ndarray, shape (m, B)
    Z : ndarray, shape (n, B)
        Current sparse iterates (their non-zeros define the supports).
    lam : ndarray of shape (B,) or None, default=None
    positive : bool, default=False
        Nonnegative variants (``x ≥ 0``).
    dual : ndarray of shape (m, B) or None, default=None
        Basis pursuit only: a dual estimate λ₀ (e.g. from ADMM's multiplier); the certificate is
        the smallest correction of λ₀ that matches the subgradient on ``S`` (minimum-norm λ
        when None — Fuchs' condition, which holds only for quite sparse solutions).
    rtol : float or None, default=None
        Relative slack of the checks; default ``1e3·eps`` of the dtype (float64), ``1e2·eps`` (float32).

    Returns
    -------
    X : ndarray, shape (n, B)
        Polished solutions (columns that failed are copies of ``Z``).
    ok : ndarray of bool, shape (B,)
        Columns whose certificate holds (their ``X`` solves the problem exactly).

    References
    ----------
    Fuchs, "On sparse representations in arbitrary redundant bases", IEEE Trans. Inf. Theory 50
    (2004) — the support-plus-certificate characterisation of the ℓ1 solution.
    """
    m, n = D.shape
    B = Y.shape[1]
    dt = Y.dtype
    eps = np.finfo(dt).eps
    if rtol is None:
        rtol = (1e3 if eps < 1e-10 else 1e2) * eps
    mask = Z != 0
    cnt = mask.sum(axis=0)
    ok = np.zeros(B, dtype=bool)
    X = Z.copy()
    cand = np.flatnonzero(cnt <= m)
    if lam is not None and np.iscomplexobj(Z):
        return X, ok  # the complex Lasso's restricted problem is not linear in the phases
    if cand.size == 0:
        return X, ok
    order, valid = support_index(mask[:, cand])  # (kmax, b): supports, padded
    if order.shape[0] == 0:  # every support empty: one padded slot keeps the shapes
        order, valid = np.zeros((1, cand.size), dtype=np.intp), np.zeros((1, cand.size), dtype=bool)
    As = support_columns(D, order, valid)  # (b, m, kmax), padding zeroed
    AsH = np.conj(np.swapaxes(As, 1, 2))  # (b, kmax, m)
    G = support_gram(As, valid)  # batched BLAS, identity on padded coordinates
    Yc = Y[:, cand]
    rhs = (AsH @ Yc.T[:, :, None])[..., 0]
    if lam is not None:
        sig = np.take_along_axis(np.sign(Z[:, cand]), order, axis=0).T * valid.T
        rhs = rhs - lam[cand][:, None] * sig
    sol = solve_padded(G, rhs, singular="none")  # (b, kmax)
    if sol is None:
        return X, ok
    sol = sol * valid.T
    Xs = scatter_support(sol, order, valid, n, dt)
    if lam is None:
        # entries at rounding level are zeros of the solution (S is a superset of its support)
        tiny = np.sqrt(eps) * 1e-1 * np.max(np.abs(Xs), axis=0, initial=0.0)
        Xs[np.abs(Xs) <= tiny] = 0
        sol = np.take_along_axis(Xs, order, axis=0).T * valid.T
    R = D @ Xs - Yc
    if lam is None:
        good = _col_norm(R) <= rtol * np.maximum(_col_norm(Yc), np.finfo(dt).tiny)
        # target subgradient on S: sign (phase) where x ≠ 0, else the dual guess clipped to [−1, 1]
        sgn = sol / np.maximum(np.abs(sol), np.finfo(dt).tiny)
        if dual is None:
            Lam0 = np.zeros_like(Yc)
            t0 = np.zeros_like(sgn)
        else:
            Lam0 = dual[:, cand]
            t0 = (AsH @ Lam0.T[:, :, None])[..., 0]
        tgt = np.where(sol != 0, sgn, t0 / np.maximum(np.abs(t0), 1.0))
        # smallest correction of λ0 with A_Sᴴλ = target exactly
        w = np.linalg.solve(G, (tgt - t0)[..., None])[..., 0] * valid.T
        Lam = Lam0 + (As @ w[:, :, None])[..., 0].T
        C = D.conj().T @ Lam
        bound = 1.0
    else:
        good = np.all((np.sign(sol) == sig) | ~valid.T, axis=1)
        C = -(D.conj().T @ R)
        bound = lam[cand]
    inS = np.zeros((n, cand.size), dtype=bool)
    inS[order[valid], np.nonzero(valid)[1]] = True
    C = np.where(inS, 0, C)  # on S the conditions hold by construction
    viol = (np.max(C.real, axis=0) if positive else np.max(np.abs(C), axis=0)) if n else np.zeros(cand.size)
    good &= viol <= bound * (1 + rtol * 10) + rtol
    if positive:
        good &= np.all(Xs >= 0, axis=0)
    ok[cand] = good
    X[:, cand[good]] = Xs[:, good]
    return X, ok


@dataclass
class ADMMState:
    """Iteration state of the batched ADMM solvers; arrays have one column (or entry) per signal.

    Attributes
    ----------
    fwd, adj : callable
        ``X ↦ AX`` and ``R ↦ AᴴR`` (BLAS products when A is explicit).
    D : ndarray, scipy.sparse matrix or None
        The explicit matrix used by the polish step (None: matrix-free and too large).
    rows : RowSpace
        ``AAᴴ = U diag(s) Uᴴ`` at its numerical rank, with ``AU = AᴴU`` (n, r).
    Y : ndarray, shape (m, B)
    UY : ndarray, shape (r, B)
        ``UᴴY``.
    X, Z, Ud : ndarray, shape (n, B)
        Primal iterates ``x`` (the x-step) and ``z`` (the thresholded copy), scaled dual ``u``.
    Xout : ndarray, shape (n, B)
        The returned iterate: ``z``, or the polished solution once certified.
    rho : ndarray, shape (B,)
        Penalty per signal (residual balancing changes it).
    done, certified : ndarray of bool, shape (B,)
        Signals stopped (by the residual rule or a certificate); signals whose polish is certified.
    supp : ndarray of bool, shape (n, B)
        Support at the last polish check.
    next_polish, n_fail : ndarray of int, shape (B,)
        Polish back-off: earliest next attempt, failed attempts so far.
    r, sres : ndarray, shape (B,)
        Last primal and dual residual norms.
    """

    fwd: Callable
    adj: Callable
    D: object
    rows: RowSpace
    Y: np.ndarray
    UY: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    Ud: np.ndarray
    Xout: np.ndarray
    rho: np.ndarray
    done: np.ndarray
    certified: np.ndarray
    supp: np.ndarray
    next_polish: np.ndarray
    n_fail: np.ndarray
    r: np.ndarray
    sres: np.ndarray

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def B(self) -> int:
        return self.X.shape[1]

    @property
    def dt(self):
        return self.Y.dtype


@dataclass
class LassoADMMState(ADMMState):
    """:class:`ADMMState` plus λ per signal (B,)."""

    lam: np.ndarray = None


@dataclass
class BPDNADMMState(ADMMState):
    """:class:`ADMMState` plus the multiplier μ (B,) of the projection onto ``{‖Ax − y‖ ≤ ε}``."""

    mu: np.ndarray = None


@dataclass
class WeightedADMMState(ADMMState):
    """:class:`ADMMState` plus per-entry ℓ1 weights (n, B) of weighted basis pursuit."""

    weights: np.ndarray = None


class _ADMMBase(IterativeRecoverer):
    r"""The ADMM template for ``min f(x) + g(z)`` s.t. ``x = z``, batched over signals.

    The base class owns the iteration (Boyd et al. 2011, §3.1, scaled form)::

        x ← _xstep(z − u)            # problem-specific: projection or (AᴴA + ρI)⁻¹ solve
        z ← _zstep(x + u, _thresh)   # prox of the ℓ1 term: soft thresholding at 1/ρ or λ/ρ
        u ← u + x − z

    the stopping rule (primal ``‖x − z‖`` and dual ``ρ‖z − z_prev‖`` residuals), residual
    balancing of ρ and the polish bookkeeping. A subclass overrides steps, never keys: its
    state class (``_state_class``), ``_init_problem`` (λ, ε...), ``_xstep``, ``_monitor`` and,
    when it can certify a support solution, ``_polish``. Variants of the z-step or of polish
    (group shrinkage, weights, no polish) are subclasses overriding ``_zstep`` / ``_polish``.
    """

    supports_complex = True
    _parameter_constraints = {
        "rho": [Interval("real", 0, None, closed="neither"), None],
        "max_iter": [Interval("integral", 1, None)],
        "tol": [Interval("real", 0, None, closed="left")],
        "abs_tol": [Interval("real", 0, None, closed="left")],
        "balance": [bool],
        "polish": [bool],
        "check_every": [Interval("integral", 1, None)],
        "positive": [bool],
    }

    _state_class: ClassVar[type] = ADMMState
    _certificate_param = "tol"
    _precision_params = ("tol",)

    # -- setup -----------------------------------------------------------------------------
    def _setup(self, A, Y, X0):
        m, n = A.shape
        B = Y.shape[1]
        dt = Y.dtype
        rdt = np.finfo(dt).dtype
        if self.positive and np.iscomplexobj(Y):
            raise TypeError(f"{type(self).__name__}(positive=True) needs real data.")
        mat = explicit_matrix(A)
        D = None
        if mat is not None:
            D = mat.toarray() if sp.issparse(mat) and mat.nnz > 0.3 * m * n else mat
            D = D.astype(dt, copy=False) if not sp.issparse(D) else D.astype(dt)
        elif m * n <= _POLISH_MAX_ENTRIES:
            D = dense_matrix(A).astype(dt, copy=False)
        if D is not None:
            fwd, adj = (lambda X: D @ X), (lambda R: D.conj().T @ R)
            rows = RowSpace.of(D, dt, adjoint=adj, owner=type(self).__name__)
        else:
            fwd, adj = A.matmat, A.rmatmat
            rows = RowSpace.of(A, dt, adjoint=adj, owner=type(self).__name__)
        UY = rows.U.conj().T @ Y
        # least-norm solution Aᴴ(AAᴴ)⁺y sets the scale of ρ
        Xln = rows.AU @ (UY / rows.s[:, None])
        X = Xln.copy() if X0 is None else X0.astype(dt, copy=True)
        zeros_b = np.zeros(B, dtype=int)
        st = self._state_class(
            fwd=fwd, adj=adj, D=D, rows=rows, Y=Y, UY=UY, X=X, Z=X, Ud=np.zeros((n, B), dtype=dt), Xout=X,
            rho=np.zeros(B, dtype=rdt), done=np.zeros(B, dtype=bool), certified=np.zeros(B, dtype=bool),
            supp=np.zeros((n, B), dtype=bool), next_polish=zeros_b, n_fail=zeros_b.copy(),
            r=np.full(B, np.inf), sres=np.full(B, np.inf))
        self._init_problem(st)
        st.rho = np.full(B, float(self.rho), dtype=rdt) if self.rho is not None else self._auto_rho(st, Xln)
        # the first z is plain (entrywise) soft thresholding of x for every variant
        st.Z = X.copy() if X0 is not None else _ADMMBase._zstep(self, st, X, self._thresh(st, st.rho), slice(None))
        st.Xout = st.Z.copy()
        return st

    def _init_problem(self, st):
        """Problem-specific constants (λ, ε) in the state."""

    def _auto_rho(self, st, Xln):
        # threshold 1/ρ of the order of the typical entry of the least-norm solution
        scale = np.sum(np.abs(Xln), axis=0) / st.n
        scale = np.where(scale > 0, scale, 1.0)
        return (1.0 / scale).astype(np.finfo(st.dt).dtype)

    def _thresh(self, st, rho, cols=slice(None)):
        """The z-step threshold per signal: 1/ρ (λ/ρ for the Lasso)."""
        return 1.0 / rho

    # -- iteration -------------------------------------------------------------------------
    def _tols(self, st):
        # a tolerance below the working precision could never be met (float32)
        floor = 10 * np.finfo(st.dt).eps
        return max(self.tol, floor), self.abs_tol

    def _step(self, st, it):
        tol, abs_tol = self._tols(st)
        act = np.flatnonzero(~st.done)
        full = act.size == st.B
        sel = slice(None) if full else act
        Z, Ud, rho = st.Z[:, sel], st.Ud[:, sel], st.rho[sel]
        X = self._xstep(st, Z, Ud, rho, sel)
        Zn = self._zstep(st, X + Ud, self._thresh(st, rho, sel), sel)
        Ud = Ud + X - Zn
        r = _col_norm(X - Zn)
        sres = rho * _col_norm(Zn - Z)
        n = st.n
        eps_pri = np.sqrt(n) * abs_tol + tol * np.maximum(_col_norm(X), _col_norm(Zn))
        eps_dual = np.sqrt(n) * abs_tol + tol * rho * _col_norm(Ud)
        conv = (r <= eps_pri) & (sres <= eps_dual)
        if self.balance and it % _BALANCE_EVERY == 0 and it <= _BALANCE_UNTIL:
            # residual balancing on the normalised residuals (Boyd et al. §3.4.1, in the form of
            # OSQP): ρ ← ρ·√(r̂/ŝ) when that changes ρ by more than 5×; only every few iterations
            # and not after _BALANCE_UNTIL, so that the fixed-ρ convergence theory applies.
            tiny = np.finfo(float).tiny
            rh = r / np.maximum(np.maximum(_col_norm(X), _col_norm(Zn)), tiny)
            sh = sres / np.maximum(rho * _col_norm(Ud), tiny)
            fac = np.sqrt(np.maximum(rh, tiny) / np.maximum(sh, tiny))
            fac = np.where((fac > 5) | (fac < 0.2), np.clip(fac, 1e-3, 1e3), 1.0).astype(rho.dtype)
            rho = rho * fac
            Ud = Ud / fac
        st.X[:, sel], st.Z[:, sel], st.Ud[:, sel], st.rho[sel] = X, Zn, Ud, rho
        st.r[sel], st.sres[sel] = r, sres
        st.Xout[:, sel] = Zn
        newly = act[conv]
        if self.polish and st.D is not None and (it % self.check_every == 0 or conv.any()):
            trial = newly
            if it % self.check_every == 0:
                # signals whose support has not changed since the last look and whose back-off
                # (doubled after every failed attempt) has expired
                supp = Zn != 0
                stable = np.all(supp == st.supp[:, sel], axis=0) & (st.next_polish[sel] <= it)
                st.supp[:, sel] = supp
                trial = np.union1d(newly, act[stable])
            ok = self._try_polish(st, trial)
            failed = np.setdiff1d(trial, ok)
            st.next_polish[failed] = it + self.check_every * 2 ** np.minimum(st.n_fail[failed], 10)
            st.n_fail[failed] += 1
            newly = np.union1d(newly, ok)
        st.done[newly] = True
        return "tol" if st.done.all() else None

    def _zstep(self, st, V, t, sel):
        """prox of the ℓ1 term (:class:`cstoolkit.prox.L1`): soft thresholding at ``t`` per signal."""
        return soft_threshold_nonneg(V, t) if self.positive else soft_threshold(V, t)

    def _try_polish(self, st, cols):
        """Polish the signals ``cols``; return those whose certificate holds (now stopped)."""
        if cols.size == 0:
            return np.zeros(0, dtype=int)
        out = self._polish(st, cols)
        if out is None:
            return np.zeros(0, dtype=int)
        Xp, ok = out
        good = cols[ok]
        st.Xout[:, good] = Xp[:, ok]
        st.certified[good] = True
        return good

    def _polish(self, st, cols):
        """Support solution and certificate for ``cols`` (``(X, ok)``), or None when this
        problem has none. Default: basis pursuit, with the dual guess λ₀ = (AAᴴ)⁺A(ρu)
        (at the optimum ρu ∈ ∂‖z‖₁ and −ρu ∈ range(Aᴴ))."""
        D = st.D.toarray() if sp.issparse(st.D) else st.D
        rows = st.rows
        Wd = st.Ud[:, cols] * st.rho[cols]
        dual = rows.U @ ((rows.AU.conj().T @ Wd) / rows.s[:, None])
        return polish_l1(D, st.Y[:, cols], st.Z[:, cols], None, positive=self.positive, dual=dual)

    def _active(self, st):
        return ~st.done

    def _max_iterations(self, st):
        return self.max_iter

    def _coef(self, st):
        return st.Xout


class _ProjectionADMM(_ADMMBase):
    """ADMM with the projection x-step onto ``{‖Ax − y‖ ≤ ε}`` (ε = 0: the affine set)."""

    def _eps(self):
        return 0.0

    def _xstep(self, st, Z, Ud, rho, sel):
        V = Z - Ud
        AU, s = st.rows.AU, st.rows.s
        C = AU.conj().T @ V - st.UY[:, sel]  # Uᴴ(A v − y)
        eps = self._eps()
        if eps == 0.0:
            W = C / s[:, None]
        else:
            mu = _secular_mu(C, s, eps, st.mu[sel])
            st.mu[sel] = mu
            W = C * (mu[None, :] / (1.0 + mu[None, :] * s[:, None]))
        return V - AU @ W

    def _monitor(self, st):
        X = st.Xout
        R = st.fwd(X) - st.Y
        return np.sum(np.abs(X), axis=0), _col_norm(R)


def _secular_mu(C, s, eps, mu0=None, n_iter=60):
    """Per column, μ ≥ 0 with ‖c / (1 + μ s)‖ = ε (μ = 0 when ‖c‖ ≤ ε), by Newton on 1/‖·‖ − 1/ε.

    1/‖c/(1 + μs)‖ is concave and increasing in μ, so Newton's iterates approach the root from
    the left after at most one step; ``mu0`` warm-starts it (the previous ADMM iteration's μ).
    """
    c2 = np.abs(C) ** 2
    g0 = np.sqrt(c2.sum(axis=0))
    mu = np.zeros(C.shape[1])
    act = g0 > eps
    if not act.any():
        return mu.astype(s.dtype)
    c2a = c2[:, act]
    m = np.zeros(int(act.sum())) if mu0 is None else np.asarray(mu0, dtype=float)[act]
    sd = s.astype(float)[:, None]
    for _ in range(n_iter):
        d = 1.0 + m[None, :] * sd
        g2 = np.sum(c2a / d**2, axis=0)
        g = np.sqrt(g2)
        phi = 1.0 / g - 1.0 / eps
        dphi = np.sum(c2a * sd / d**3, axis=0) / (g2 * g)
        step = phi / np.maximum(dphi, np.finfo(float).tiny)
        m = np.maximum(m - step, 0.0)  # φ is concave increasing: Newton from the left is monotone
        if np.all(np.abs(g - eps) <= 1e-12 * eps):
            break
    mu[act] = m
    return mu.astype(s.dtype)


_ADMM_DOC_PARAMS = """
    rho : float or None, default=None
        Initial penalty ρ > 0. None: for basis pursuit and BPDN, ρ per signal such that the
        threshold 1/ρ is the mean |entry| of the least-norm solution ``Aᴴ(AAᴴ)⁺y``; for the Lasso,
        the mean eigenvalue of ``AAᴴ`` (keeps ``AᴴA + ρI`` well conditioned).
    max_iter : int, default=5000
    tol : float, default=1e-8
        Relative tolerance ε_rel of the primal/dual residual stopping rule
        ``‖x − z‖ ≤ √n·abs_tol + tol·max(‖x‖, ‖z‖)`` and ``ρ‖z − z_prev‖ ≤ √n·abs_tol + tol·ρ‖u‖``.
    abs_tol : float, default=0.0
        Absolute tolerance ε_abs of the same rule.
    balance : bool, default=True
        Residual balancing, per signal, every 10 iterations up to iteration 1000: with the
        relative residuals ``r̂ = ‖x − z‖/max(‖x‖, ‖z‖)`` and ``ŝ = ρ‖Δz‖/(ρ‖u‖)``, ρ is multiplied
        by ``√(r̂/ŝ)`` (clipped to [1e-3, 1e3]) when that factor is above 5 or below 1/5, and u is
        rescaled to keep ρu.
    polish : bool, default=True
        Solve on the current support and stop a signal whose optimality certificate holds
        (exact to rounding error; explicit matrices or operators with m·n ≤ 4e6 entries): tried
        when a signal meets the residual rule, and every ``check_every`` iterations for signals
        whose support did not change since the last look (a failed attempt doubles that
        signal's wait, up to 2¹⁰·check_every)."""


@register("admm-bp")
class ADMMBasisPursuit(_ProjectionADMM):
    r"""Basis pursuit by ADMM, batched over signals, with certified polishing.

    .. math:: \min_x \|x\|_1 \quad\text{s.t.}\quad A x = y

    Splitting ``x = z``: ``x ← P(z − u)`` (projection onto ``{Ax = y}`` through the cached
    eigendecomposition of ``AAᴴ``), ``z ← soft(x + u, 1/ρ)``, ``u ← u + x − z``. ρ does not enter
    the projection, so residual balancing is free. Real or complex data (complex ``A`` such as
    :class:`~cstoolkit.operators.PartialFourier`: the modulus ℓ1 norm). ``history["l1_norm"]``
    is ‖x‖₁ of the returned iterate.

    Parameters
    ----------""" + _ADMM_DOC_PARAMS + """
    check_every : int, default=5
        Iterations between polish attempts.
    positive : bool, default=False
        Nonnegative basis pursuit (``x ≥ 0``): z-step ``max(v − 1/ρ, 0)``.

    References
    ----------
    Boyd, Parikh, Chu, Peleato & Eckstein, "Distributed optimization and statistical learning
    via the alternating direction method of multipliers", Found. Trends Mach. Learn. 3 (2011), §6.2.
    Chen, Donoho & Saunders, "Atomic decomposition by basis pursuit", SIAM J. Sci. Comput. 20 (1998).
    """

    study_settings = StudySettings(
        family="bp", phase=dict(tol=1e-10), embedding=dict(max_iter=2000), studies={"embedding"}, slow=True,
        note="the ℓ1 reference solved by thousands of ADMM iterations per signal")

    objective_kind = "bp"

    def __init__(self, *, rho=None, max_iter=5000, tol=1e-8, abs_tol=0.0, balance=True, polish=True,
                 check_every=5, positive=False):
        self.rho = rho
        self.max_iter = max_iter
        self.tol = tol
        self.abs_tol = abs_tol
        self.balance = balance
        self.polish = polish
        self.check_every = check_every
        self.positive = positive
        self._validate_params()

    def solve_weighted(self, A, Y, W, X0=None):
        r"""Weighted basis pursuit for a batch, with these ADMM settings (no polish).

        .. math:: \min_x \sum_i w_i |x_i| \quad\text{s.t.}\quad A x = y

        Parameters
        ----------
        A : LinearOperator, shape (m, n)
        Y : ndarray, shape (m, B)
        W : ndarray, shape (n, B)
            Positive weights per entry and signal (``max ≤ 1`` keeps the ρ scale of plain BP).
        X0 : ndarray, shape (n, B), optional
            Warm start.

        Returns
        -------
        X : ndarray, shape (n, B)
            The projection iterate (``AX = Y`` to rounding).
        Z : ndarray, shape (n, B)
            The sparse (thresholded) iterate.
        n_iter : int
            ADMM iterations run.
        """
        solver = _WeightedBasisPursuitADMM(**self.get_params())
        st = solver._setup(A, Y, X0)
        st.weights = np.asarray(W, dtype=np.finfo(Y.dtype).dtype)
        it = 0
        for it in range(1, self.max_iter + 1):
            if solver._step(st, it) is not None:
                break
        return st.X, st.Z, it

    @classmethod
    def _conformance_params(cls, k):
        return dict(tol=1e-10)


class _WeightedBasisPursuitADMM(ADMMBasisPursuit):
    """Weighted basis pursuit ``min Σ w_i|x_i|`` s.t. ``Ax = y``: per-entry thresholds ``w/ρ``,
    no polish (the certificate of :func:`polish_l1` is for unit weights)."""

    _state_class = WeightedADMMState

    def _zstep(self, st, V, t, sel):
        if st.weights is not None:
            t = st.weights[:, sel] * t
        return super()._zstep(st, V, t, sel)

    def _polish(self, st, cols):
        return None


@register("admm-bpdn")
class ADMMBPDN(_ProjectionADMM):
    r"""Basis-pursuit denoising (constrained form) by ADMM, batched over signals.

    .. math:: \min_x \|x\|_1 \quad\text{s.t.}\quad \|A x - y\|_2 \le \epsilon

    The x-step projects onto the ellipsoidal set ``{‖Ax − y‖ ≤ ε}``:
    ``x = v − μAᴴ(I + μAAᴴ)⁻¹(Av − y)`` with the multiplier μ ≥ 0 solving the secular equation
    ``‖(I + μAAᴴ)⁻¹(Av − y)‖ = ε`` — scalar per signal, solved by Newton in the eigenbasis of AAᴴ.
    ``history["l1_norm"]`` is ‖x‖₁. Real or complex data.

    Parameters
    ----------
    epsilon : float, default=1e-3
        Noise level ε ≥ 0 (absolute ℓ2 norm of the allowed residual); ε = 0 is basis pursuit.""" + _ADMM_DOC_PARAMS + """
    check_every : int, default=5
        Iterations between polish attempts (only used when ε = 0).
    positive : bool, default=False
        Nonnegative variant (``x ≥ 0``).

    References
    ----------
    Boyd et al., Found. Trends Mach. Learn. 3 (2011). Candès, Romberg & Tao, "Stable signal
    recovery from incomplete and inaccurate measurements", CPAM 59 (2006).
    """

    study_settings = StudySettings(
        family="l1", phase=dict(epsilon=1e-7, tol=1e-7), embedding=dict(max_iter=2000), studies={"embedding"},
        slow=True, note="thousands of ADMM iterations per signal")

    objective_kind = "bpdn"
    _param_units = {"epsilon": "y"}
    _parameter_constraints = {**_ADMMBase._parameter_constraints, "epsilon": [Interval("real", 0, None, closed="left")]}

    def __init__(self, *, epsilon=1e-3, rho=None, max_iter=5000, tol=1e-8, abs_tol=0.0, balance=True,
                 polish=True, check_every=5, positive=False):
        self.epsilon = epsilon
        self.rho = rho
        self.max_iter = max_iter
        self.tol = tol
        self.abs_tol = abs_tol
        self.balance = balance
        self.polish = polish
        self.check_every = check_every
        self.positive = positive
        self._validate_params()

    _state_class = BPDNADMMState

    def _eps(self):
        return float(self.epsilon)

    def _init_problem(self, st):
        st.mu = np.zeros(st.B)

    def _polish(self, st, cols):
        # the support certificate is for Ax = y: only ε = 0 (basis pursuit) is polished
        return None if self.epsilon else super()._polish(st, cols)

    @classmethod
    def _conformance_params(cls, k):
        return dict(epsilon=1e-7, tol=1e-7)


@register("admm-lasso")
class ADMMLasso(_ADMMBase):
    r"""The Lasso by ADMM, batched over signals, with certified polishing.

    .. math:: F(x) = \tfrac12\|A x - y\|_2^2 + \lambda \|x\|_1

    Splitting ``x = z``: ``x ← (AᴴA + ρI)⁻¹(Aᴴy + ρv)``, ``v = z − u``, computed as
    ``v + AᴴU diag(1/(s + ρ)) Uᴴ(y − A v)`` from the cached eigendecomposition ``AAᴴ = U diag(s) Uᴴ``
    (matrix-inversion lemma: an ``m × m`` problem, and a per-signal ρ costs nothing),
    ``z ← soft(x + u, λ/ρ)``, ``u ← u + x − z``. Real or complex data.

    Parameters
    ----------
    lam : float, default=0.1
        λ ≥ 0 (absolute, or a fraction of λ_max = ‖Aᴴy‖∞ when ``lam_scale="relative"``).
    lam_scale : {"absolute", "relative"}, default="absolute\"""" + _ADMM_DOC_PARAMS + """
    check_every : int, default=5
        Iterations between polish attempts.
    positive : bool, default=False
        Nonnegative Lasso (``x ≥ 0``): z-step ``max(v − λ/ρ, 0)``.

    References
    ----------
    Boyd, Parikh, Chu, Peleato & Eckstein (2011), §6.4. Tibshirani, "Regression shrinkage and
    selection via the lasso", JRSS-B 58 (1996).
    """

    study_settings = StudySettings(
        family="l1", phase=dict(lam=1e-6, lam_scale="relative", tol=1e-10), embedding=dict(max_iter=2000),
        studies={"embedding"}, slow=True, note="thousands of ADMM iterations per signal")

    objective_kind = "lasso"
    _param_units = {"lam": "lam"}
    _state_class = LassoADMMState
    _parameter_constraints = {**_ADMMBase._parameter_constraints, **L1_CONSTRAINTS}

    def __init__(self, *, lam=0.1, lam_scale="absolute", rho=None, max_iter=5000, tol=1e-8, abs_tol=0.0,
                 balance=True, polish=True, check_every=5, positive=False):
        self.lam = lam
        self.lam_scale = lam_scale
        self.rho = rho
        self.max_iter = max_iter
        self.tol = tol
        self.abs_tol = abs_tol
        self.balance = balance
        self.polish = polish
        self.check_every = check_every
        self.positive = positive
        self._validate_params()

    def _init_problem(self, st):
        st.lam = lam_vector(self.lam, self.lam_scale, st.adj(st.Y), st.dt)

    def _auto_rho(self, st, Xln):
        # ρ of the order of the spectrum of AᴴA keeps (AᴴA + ρI)⁻¹ well conditioned (a tiny ρ
        # loses all precision in float32); residual balancing adapts it per signal
        return np.full(st.B, float(np.mean(st.rows.s)), dtype=np.finfo(st.dt).dtype)

    def _thresh(self, st, rho, cols=slice(None)):
        return st.lam[cols] / rho

    def _xstep(self, st, Z, Ud, rho, sel):
        # (AᴴA + ρI)⁻¹(Aᴴy + ρv) = v + AᴴU diag(1/(s + ρ)) (Uᴴy − UᴴA v): the part of v outside
        # the row space of A passes unchanged, so nothing is divided by ρ (stable for small ρ)
        AU, s = st.rows.AU, st.rows.s
        V = Z - Ud
        W = (st.UY[:, sel] - AU.conj().T @ V) / (rho[None, :] + s[:, None])
        return V + AU @ W

    def _monitor(self, st):
        X = st.Xout
        R = st.fwd(X) - st.Y
        rn2 = np.sum(np.abs(R) ** 2, axis=0)
        return 0.5 * rn2 + st.lam * np.sum(np.abs(X), axis=0), np.sqrt(rn2)

    def _polish(self, st, cols):
        if np.iscomplexobj(st.Y):
            return None  # the complex Lasso's restricted problem is not linear in the phases
        D = st.D.toarray() if sp.issparse(st.D) else st.D
        return polish_l1(D, st.Y[:, cols], st.Z[:, cols], st.lam[cols], positive=self.positive)

    @classmethod
    def _conformance_params(cls, k):
        return dict(lam=1e-6, lam_scale="relative", tol=1e-10)

