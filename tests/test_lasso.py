"""Lasso (working-set coordinate descent on the Gram matrix): both engines against scikit-learn.

Objective everywhere: F(x) = ½‖Ax − y‖² + λ‖x‖₁; scikit-learn's ``Lasso(alpha)`` minimises F/m with
λ = m·alpha (:mod:`cstoolkit.conventions`).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.linear_model import Lasso as SkLasso

from cstoolkit.conventions import lam_from_sklearn_alpha, lam_max, sklearn_alpha_from_lam
from cstoolkit.solvers.l1.cd import Lasso, _full_grad, _gap_h, lasso_gram_numpy

HAVE_NUMBA = True
try:
    import numba  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_NUMBA = False

ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed"))]
FRACS = [1e-3, 1e-2, 0.1, 0.5]


def _problem(m=40, n=120, B=4, k=5, noise=0.01, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    X = np.zeros((n, B))
    for b in range(B):
        X[rng.choice(n, k, replace=False), b] = rng.standard_normal(k)
    Y = A @ X + noise * rng.standard_normal((m, B))
    return A.astype(dtype), Y.astype(dtype)


def _objective(A, Y, X, lam):
    A, Y, X = (np.asarray(v, dtype=np.float64) for v in (A, Y, X))
    return 0.5 * np.sum((A @ X - Y) ** 2, axis=0) + lam * np.sum(np.abs(X), axis=0)


def _sklearn(A, Y, lam):
    """scikit-learn's solution per target at its own tightest setting (λ = m·alpha)."""
    m = A.shape[0]
    out = np.zeros((A.shape[1], Y.shape[1]))
    for b in range(Y.shape[1]):
        alpha = sklearn_alpha_from_lam(float(lam), m)
        est = SkLasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=200_000)
        out[:, b] = est.fit(A.astype(np.float64), Y[:, b].astype(np.float64)).coef_
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("engine", ENGINES)
def test_objective_not_above_sklearn(engine, dtype):
    A, Y = _problem(dtype=dtype)
    lmax = float(np.max(lam_max(A.astype(np.float64), Y.astype(np.float64))))
    for frac in FRACS:
        lam = frac * lmax
        res = Lasso(lam=lam, tol=1e-10, engine=engine).recover(A, Y)
        assert res.converged and res.x.dtype == dtype and res.x.shape == (A.shape[1], Y.shape[1])
        ours = _objective(A, Y, res.x, lam)
        ref = _objective(A, Y, _sklearn(A, Y, lam), lam)
        # float32 output loses ~1e-7 relative when the float64 solution is rounded
        slack = 1e-6 if dtype == np.float64 else 1e-5
        assert np.all(ours <= ref * (1 + slack)), (frac, ours / ref - 1)


def test_lambda_conversion_matches_sklearn_alpha():
    # the conversion itself: a solution of Lasso(alpha) is ours at λ = m·alpha
    A, Y = _problem(B=1)
    m = A.shape[0]
    alpha = 0.01 * float(np.max(np.abs(A.T @ Y))) / m
    lam = lam_from_sklearn_alpha(alpha, m)
    sk = SkLasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=200_000).fit(A, Y[:, 0]).coef_
    ours = Lasso(lam=lam, tol=1e-12, engine="numpy").recover(A, Y[:, 0]).x
    np.testing.assert_allclose(ours, sk, atol=1e-6 * np.max(np.abs(sk)))


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")
@pytest.mark.parametrize("frac", FRACS)
def test_engines_agree(frac):
    A, Y = _problem(B=5, seed=3)
    lam = frac * float(np.max(lam_max(A, Y)))
    a = Lasso(lam=lam, tol=1e-12, engine="numpy").recover(A, Y)
    b = Lasso(lam=lam, tol=1e-12, engine="numba").recover(A, Y)
    np.testing.assert_allclose(a.objective, b.objective, rtol=1e-10)
    np.testing.assert_allclose(a.x, b.x, atol=1e-6 * np.max(np.abs(a.x)))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("frac", [1e-3, 0.05])
def test_gap_certificate(engine, frac):
    # the kernel's own gap is re-computed here from scratch, with an independent formula
    # (dual point θ = r·min(1, λ/‖Aᵀr‖∞) in sample space), and must be ≤ tol·F
    A, Y = _problem(m=50, n=150, B=6, seed=5)
    G, C, yy = A.T @ A, A.T @ Y, np.sum(Y * Y, axis=0)
    lam = frac * np.max(np.abs(C), axis=0)
    from cstoolkit.solvers.l1.cd import _kernel

    tol = 1e-9
    X, _, primal, gap = _kernel(engine)(G, C, yy, lam, np.zeros_like(C), tol=tol, max_epochs=100_000)
    R = Y - A @ X
    s = np.minimum(1.0, lam / np.max(np.abs(A.T @ R), axis=0))
    dual = s * np.sum(R * Y, axis=0) - 0.5 * s * s * np.sum(R * R, axis=0)
    F = _objective(A, Y, X, lam)
    np.testing.assert_allclose(primal, F, rtol=1e-10)
    assert np.all(F - dual <= tol * F * (1 + 1e-3) + 1e-12)
    assert np.all(gap <= tol * primal)


@pytest.mark.parametrize("engine", ENGINES)
def test_warm_start(engine):
    A, Y = _problem(B=3, seed=7)
    lam = 0.01 * float(np.max(lam_max(A, Y)))
    cold = Lasso(lam=lam, tol=1e-10, engine=engine).recover(A, Y)
    warm = Lasso(lam=lam, tol=1e-10, engine=engine).recover(A, Y, x0=cold.x)
    np.testing.assert_allclose(warm.objective, cold.objective, rtol=1e-9)
    # started at the solution, the kernel certifies it at once
    G, C, yy = A.T @ A, A.T @ Y, np.sum(Y * Y, axis=0)
    from cstoolkit.solvers.l1.cd import _kernel

    _, n_ep, _, _ = _kernel(engine)(G, C, yy, np.full(3, lam), cold.x.copy(), tol=1e-9, max_epochs=1000)
    assert n_ep == 0
    # a warm start from the solution at a nearby λ takes fewer sweeps than a cold start
    near = Lasso(lam=1.1 * lam, tol=1e-12, engine=engine).recover(A, Y).x
    _, ep_cold, _, _ = _kernel(engine)(G, C, yy, np.full(3, lam), np.zeros_like(C), tol=1e-9, max_epochs=10_000)
    _, ep_warm, _, _ = _kernel(engine)(G, C, yy, np.full(3, lam), near.copy(), tol=1e-9, max_epochs=10_000)
    assert ep_warm <= ep_cold


@pytest.mark.parametrize("engine", ENGINES)
def test_lambda_at_or_above_lambda_max_gives_zero(engine):
    A, Y = _problem(B=3, seed=11)
    for scale in (1.0, 1.5):
        res = Lasso(lam=scale, lam_scale="relative", engine=engine).recover(A, Y)
        assert res.converged
        assert np.all(res.x == 0)
    # also from a nonzero warm start: exact zeros, not merely small
    res = Lasso(lam=1.0, lam_scale="relative", tol=1e-12, engine=engine).recover(A, Y, x0=np.ones((A.shape[1], 3)))
    assert np.all(res.x == 0)


def test_numba_engine_without_numba_raises(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now raises ImportError
    A, Y = _problem(B=2)
    with pytest.raises(ImportError, match=r"engine='numba' needs numba"):
        Lasso(lam=0.1, lam_scale="relative", engine="numba").recover(A, Y)
    # "auto" falls back to the numpy kernel and still solves the problem
    res = Lasso(lam=0.1, lam_scale="relative", engine="auto").recover(A, Y)
    ref = Lasso(lam=0.1, lam_scale="relative", engine="numpy").recover(A, Y)
    np.testing.assert_allclose(res.x, ref.x)


def test_numpy_kernel_returns_certified_gap():
    A, Y = _problem(B=4, seed=13)
    G, C, yy = A.T @ A, A.T @ Y, np.sum(Y * Y, axis=0)
    lam = 0.02 * np.max(np.abs(C), axis=0)
    X, _, primal, gap = lasso_gram_numpy(G, C, yy, lam, np.zeros_like(C), tol=1e-10)
    p2, g2 = _gap_h(C, X, _full_grad(G, C, X), yy, lam)
    np.testing.assert_allclose(primal, p2, rtol=1e-12)
    assert np.all(g2 <= 1e-10 * p2 * (1 + 1e-6))
