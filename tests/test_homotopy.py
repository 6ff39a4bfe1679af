"""Homotopy / LARS-Lasso path against scikit-learn's lars_path and Lasso."""

from __future__ import annotations

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit.ensembles import gaussian
from cstoolkit.signals import sparse_signals
from cstoolkit.solvers._engine import numba_available
from cstoolkit.solvers.l1.homotopy import lasso_path_homotopy

# both engines; the compiled one only where numba is installed
ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not numba_available(), reason="numba not installed"))]


@pytest.fixture(scope="module")
def noisy():
    A = gaussian(50, 120, random_state=0)
    x = sparse_signals(120, 10, random_state=1)
    y = A @ x + 0.01 * np.random.default_rng(2).standard_normal(50)
    return A, y


@pytest.mark.parametrize("engine", ENGINES)
def test_path_matches_sklearn_lars_path(noisy, engine):
    from sklearn.linear_model import lars_path

    A, y = noisy
    m = A.shape[0]
    alphas, _, coefs = lars_path(A, y, method="lasso")
    lams, path = lasso_path_homotopy(A, y, engine=engine)
    assert lams.shape == alphas.shape  # same breakpoints, joins and drops alike
    np.testing.assert_allclose(lams, alphas * m, rtol=1e-9, atol=1e-12)  # sklearn's alphas are λ/m
    np.testing.assert_allclose(path, coefs, atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_path_has_drops_and_is_piecewise_linear_optimal(noisy, engine):
    A, y = noisy
    lams, path = lasso_path_homotopy(A, y, lam_min=1e-3, engine=engine)
    nnz = np.count_nonzero(path, axis=0)
    # joins − drops = final support size and joins + drops = steps (the last step only ends the path)
    assert len(lams) - 2 > nnz[-1], "this instance has zero crossings (Lasso modification)"
    assert lams[-1] == pytest.approx(1e-3)
    # KKT at every breakpoint and at a midpoint: |Aᵀr| ≤ λ, = λ·sign(x) on the support
    mids = 0.5 * (path[:, 1:] + path[:, :-1])
    for x, lam in list(zip(path.T, lams)) + [(mids[:, 3], 0.5 * (lams[3] + lams[4]))]:
        g = A.T @ (y - A @ x)
        assert np.max(np.abs(g)) <= lam * (1 + 1e-9)
        s = x != 0
        np.testing.assert_allclose(g[s], lam * np.sign(x[s]), rtol=1e-8)


@pytest.mark.parametrize("lam", [0.5, 0.05, 0.005])
def test_recoverer_matches_sklearn_lasso(lam):
    from sklearn.linear_model import Lasso

    A = gaussian(40, 90, random_state=4)
    X = sparse_signals(90, 6, 3, random_state=5)
    Y = A @ X + 0.02 * np.random.default_rng(6).standard_normal((40, 3))
    res = cs.Homotopy(lam=lam).recover(A, Y)
    alpha = cs.conventions.sklearn_alpha_from_lam(lam, 40)
    for b in range(3):
        sk = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=10**6).fit(A, Y[:, b])
        np.testing.assert_allclose(res.x[:, b], sk.coef_, atol=1e-7)


def test_lambda_above_max_gives_zero():
    A = gaussian(20, 40, random_state=1)
    y = np.random.default_rng(2).standard_normal(20)
    res = cs.Homotopy(lam=1.0, lam_scale="relative").recover(A, y)
    assert not np.any(res.x)


def test_bad_input():
    with pytest.raises(ValueError, match="expected A of shape"):
        lasso_path_homotopy(np.ones((3, 4)), np.ones(4))


def _bp_instances(m, n, k, B, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    X = np.zeros((n, B))
    for b in range(B):
        X[rng.choice(n, k, replace=False), b] = rng.standard_normal(k)
    return A, X, A @ X


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("m,k", [(40, 5), (100, 40), (100, 60), (150, 110)])
def test_bp_homotopy_is_the_lp_optimum(engine, m, k):
    """Below, at and above the ℓ1 transition (n = 200): same ‖x‖₁ as HiGHS, feasible, same labels.

    (100, 40) sits at the transition: its paths have many zero crossings; an atom that has
    just left must not rejoin at the next breakpoint, or the path ends off the optimum.
    """
    A, X, Y = _bp_instances(m, 200, k, 12 if engine == "numba" else 4, seed=m + k)
    res = cs.BasisPursuitHomotopy(engine=engine).recover(A, Y)
    Xl = cs.phase.bp_linprog(A, Y)
    l1h, l1l = np.abs(res.x).sum(0), np.abs(Xl).sum(0)
    np.testing.assert_allclose(l1h, l1l, rtol=1e-7)
    assert np.max(np.abs(A @ res.x - Y)) < 1e-9
    np.testing.assert_array_equal(cs.metrics.success(X, res.x), cs.metrics.success(X, Xl))


@pytest.mark.skipif(not numba_available(), reason="numba not installed")
def test_engines_agree_on_the_lasso():
    A, X, Y = _bp_instances(60, 150, 12, 20, seed=3)
    Y = Y + 0.01 * np.random.default_rng(4).standard_normal(Y.shape)
    for lam in (0.3, 0.01, 1e-4):
        a = cs.Homotopy(lam=lam, engine="numpy").recover(A, Y).x
        b = cs.Homotopy(lam=lam, engine="numba").recover(A, Y).x
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_bp_homotopy_rejects_bad_params():
    with pytest.raises(ValueError, match="engine"):
        cs.BasisPursuitHomotopy(engine="gpu")
    with pytest.raises(ValueError, match="max_iter"):
        cs.BasisPursuitHomotopy(max_iter=0)


@pytest.mark.parametrize("engine", ENGINES)
def test_duplicate_and_dependent_atoms_keep_the_lasso_optimum(engine):
    """A repeated column never joins (its join equation is 0/0) and a column in the span of two
    support atoms may or may not: either way the objective is scikit-learn's optimum (the
    minimiser is not unique, the minimum is)."""
    from sklearn.linear_model import Lasso

    A = gaussian(30, 60, random_state=0)
    x = sparse_signals(60, 4, random_state=10)
    y = A @ x + 0.01 * np.random.default_rng(1).standard_normal(30)
    sup = np.flatnonzero(x)
    v = A[:, sup[0]] + A[:, sup[1]]
    A2 = np.hstack([A, A[:, [sup[0]]], (v / np.linalg.norm(v))[:, None]])
    lam = 0.01
    xh = cs.Homotopy(lam=lam, engine=engine).recover(A2, y).x
    sk = Lasso(alpha=cs.conventions.sklearn_alpha_from_lam(lam, 30), fit_intercept=False, tol=1e-14,
               max_iter=10**6).fit(A2, y).coef_
    F = lambda z: 0.5 * np.sum((A2 @ z - y) ** 2) + lam * np.sum(np.abs(z))  # noqa: E731
    assert F(xh) <= F(sk) * (1 + 1e-9)
