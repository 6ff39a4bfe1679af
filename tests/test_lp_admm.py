"""Basis pursuit by HiGHS LPs and by ADMM (BP, BPDN, Lasso) against independent references."""

from __future__ import annotations

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit.ensembles import gaussian
from cstoolkit.signals import sparse_signals
from cstoolkit.solvers.l1.admm import polish_l1
from cstoolkit.solvers.bp.lp import basis_pursuit_lp


@pytest.fixture(scope="module")
def hard():
    # 12-sparse at 40×100: beyond the recovery region, so the ℓ1 minimiser itself is compared
    A = gaussian(40, 100, random_state=8)
    X = sparse_signals(100, 12, 4, random_state=9)
    return A, X, A @ X


def _cvxpy_bp(A, y, positive=False):
    import cvxpy as cp

    x = cp.Variable(A.shape[1], nonneg=positive)
    cp.Problem(cp.Minimize(cp.norm1(x)), [A @ x == y]).solve(solver="CLARABEL")
    return x.value


def test_lp_failure_is_honest_and_the_same_everywhere():
    """An infeasible basis pursuit (y outside the range of a rank-1 A): NaN and a status from the
    LP function and from cstoolkit.phase.bp_linprog alike, never a silent zero; the recoverer says
    "infeasible" and returns x = 0 as for A = 0."""
    rng = np.random.default_rng(0)
    A = np.outer(rng.standard_normal(6), rng.standard_normal(10))
    Y = np.stack([A @ rng.standard_normal(10), rng.standard_normal(6)], axis=1)  # feasible, infeasible
    for formulation in ("primal", "dual"):
        X, status = basis_pursuit_lp(A, Y, formulation=formulation)
        assert status[0] == 0 and np.all(np.isfinite(X[:, 0]))
        assert status[1] != 0 and np.all(np.isnan(X[:, 1])), (formulation, status)
    Xp, sp_ = cs.phase.bp_linprog(A, Y, return_status=True)
    np.testing.assert_array_equal(sp_, basis_pursuit_lp(A, Y)[1])
    assert np.all(np.isnan(Xp[:, 1])) and np.all(np.isfinite(Xp[:, 0]))
    assert np.all(np.isnan(cs.phase.bp_linprog(A, Y[:, 1])))
    res = cs.BasisPursuitLP().recover(A, Y)
    assert res.status[1] in ("infeasible", "failed") and np.all(res.x[:, 1] == 0)
    assert res.status[0] == "solved"


@pytest.mark.parametrize("positive", [False, True])
def test_lp_primal_and_dual_formulations_agree_with_cvxpy(hard, positive):
    A, X, Y = hard
    if positive:
        Y = A @ np.abs(X)
    xp, sp_ = basis_pursuit_lp(A, Y, formulation="primal", positive=positive)
    xd, sd = basis_pursuit_lp(A, Y, formulation="dual", positive=positive)
    assert np.all(sp_ == 0) and np.all(sd == 0)
    np.testing.assert_allclose(np.abs(xp).sum(0), np.abs(xd).sum(0), rtol=1e-9)
    np.testing.assert_allclose(A @ xd, Y, atol=1e-9)
    if positive:
        assert xd.min() >= -1e-12
    ref = _cvxpy_bp(A, Y[:, 0], positive)
    assert np.abs(xd[:, 0]).sum() == pytest.approx(np.abs(ref).sum(), rel=1e-6)


def test_lp_methods_agree(hard):
    A, X, Y = hard
    ref = cs.BasisPursuitLP(method="highs-ds").recover(A, Y)
    for method in ("highs", "highs-ipm"):
        other = cs.BasisPursuitLP(method=method, presolve=False).recover(A, Y)
        np.testing.assert_allclose(other.history["l1_norm"][-1], ref.history["l1_norm"][-1], rtol=1e-7)


def test_admm_bp_matches_lp_objective_and_is_certified(hard):
    A, X, Y = hard
    lp = cs.BasisPursuitLP().recover(A, Y)
    res = cs.ADMMBasisPursuit(tol=1e-10).recover(A, Y)
    np.testing.assert_allclose(res.history["l1_norm"][-1], lp.history["l1_norm"][-1], rtol=1e-8)
    np.testing.assert_allclose(res.residual_norm, 0, atol=1e-9)


def test_polish_certificate_accepts_the_lp_solution_and_rejects_a_wrong_support(hard):
    from scipy.optimize import linprog

    A, X, Y = hard
    n = A.shape[1]
    lp = cs.BasisPursuitLP().recover(A, Y).x
    # the dual LP max yᵀλ s.t. |Aᵀλ| ≤ 1 gives an independent certificate to start from
    lam = np.column_stack([
        linprog(-Y[:, b], A_ub=np.vstack([A.T, -A.T]), b_ub=np.ones(2 * n), bounds=(None, None), method="highs").x
        for b in range(Y.shape[1])])
    xp, ok = polish_l1(A, Y, lp, dual=lam)
    assert ok.all()
    np.testing.assert_allclose(xp, lp, atol=1e-9)
    wrong = lp.copy()
    wrong[np.argmax(np.abs(wrong), axis=0), np.arange(wrong.shape[1])] = 0  # drop the largest entry
    _, ok = polish_l1(A, Y, wrong, dual=lam)
    assert not ok.any()


def test_admm_bp_recovers_a_batch_exactly():
    A = gaussian(128, 256, random_state=0)
    X = sparse_signals(256, 20, 20, random_state=1)
    res = cs.ADMMBasisPursuit().recover(A, A @ X)
    assert res.converged
    assert np.all(cs.metrics.relative_error(X, res.x) < 1e-10)


def test_admm_bp_without_polish_reaches_tolerance(hard):
    A, X, Y = hard
    lp = cs.BasisPursuitLP().recover(A, Y)
    res = cs.ADMMBasisPursuit(polish=False, tol=1e-9).recover(A, Y)
    assert res.converged
    np.testing.assert_allclose(res.history["l1_norm"][-1], lp.history["l1_norm"][-1], rtol=1e-5)


def test_admm_bpdn_matches_cvxpy():
    import cvxpy as cp

    A = gaussian(40, 100, random_state=3)
    x0 = sparse_signals(100, 6, random_state=4)
    y = A @ x0 + 0.02 * np.random.default_rng(5).standard_normal(40)
    eps = 0.15
    res = cs.ADMMBPDN(epsilon=eps, tol=1e-9).recover(A, y)
    x = cp.Variable(100)
    prob = cp.Problem(cp.Minimize(cp.norm1(x)), [cp.norm2(A @ x - y) <= eps])
    prob.solve(solver="CLARABEL")
    assert np.abs(res.x).sum() == pytest.approx(prob.value, rel=1e-5)
    assert np.linalg.norm(A @ res.x - y) <= eps * (1 + 1e-5)


@pytest.mark.parametrize("positive", [False, True])
def test_admm_lasso_matches_sklearn(positive):
    from sklearn.linear_model import Lasso

    A = gaussian(50, 120, random_state=11)
    X = sparse_signals(120, 8, 3, random_state=12)
    if positive:
        X = np.abs(X)
    Y = A @ X + 0.01 * np.random.default_rng(13).standard_normal((50, 3))
    lam = 0.02
    res = cs.ADMMLasso(lam=lam, positive=positive, tol=1e-10).recover(A, Y)
    assert res.converged
    alpha = cs.conventions.sklearn_alpha_from_lam(lam, 50)
    for b in range(3):
        sk = Lasso(alpha=alpha, fit_intercept=False, positive=positive, tol=1e-14, max_iter=10**6).fit(A, Y[:, b])
        np.testing.assert_allclose(res.x[:, b], sk.coef_, atol=1e-7)
    if positive:
        assert res.x.min() >= 0


def test_admm_lasso_per_signal_lambda_relative():
    A = gaussian(30, 60, random_state=2)
    Y = np.random.default_rng(3).standard_normal((30, 4))
    res = cs.ADMMLasso(lam=1.0, lam_scale="relative").recover(A, Y)
    np.testing.assert_allclose(res.x, 0, atol=1e-12)  # λ = λ_max: zero is the solution
    res = cs.ADMMLasso(lam=0.5, lam_scale="relative").recover(A, Y)
    assert np.all(np.count_nonzero(res.x, axis=0) > 0)


def test_complex_partial_fourier_candes_romberg_tao():
    # N = 512, 64 Fourier samples: CRT report exact recovery up to ≈ 16 spikes; 10 spikes here
    rng = np.random.default_rng(0)
    n, m, k, trials = 512, 64, 10, 6
    ok = []
    for t in range(trials):
        rows = rng.choice(n, m, replace=False)
        F = cs.PartialFourier(n, rows)
        x = np.zeros(n, dtype=complex)
        supp = rng.choice(n, k, replace=False)
        x[supp] = rng.standard_normal(k) + 1j * rng.standard_normal(k)
        res = cs.ADMMBasisPursuit(tol=1e-10).recover(F, F @ x)
        ok.append(cs.metrics.relative_error(x, res.x) < 1e-4)
    assert np.mean(ok) == 1.0


def test_complex_admm_bp_matches_cvxpy_soc():
    import cvxpy as cp

    rng = np.random.default_rng(1)
    n, m = 64, 24
    F = cs.PartialFourier(n, rng.choice(n, m, replace=False))
    x0 = np.zeros(n, complex)
    x0[rng.choice(n, 8, replace=False)] = rng.standard_normal(8) + 1j * rng.standard_normal(8)
    y = F @ x0
    res = cs.ADMMBasisPursuit(tol=1e-11).recover(F, y)
    D = F @ np.eye(n)
    x = cp.Variable(n, complex=True)
    prob = cp.Problem(cp.Minimize(cp.norm1(x)), [D @ x == y])
    prob.solve(solver="CLARABEL")
    assert np.abs(res.x).sum() == pytest.approx(prob.value, rel=1e-6)


def test_bad_parameters_are_explained():
    with pytest.raises(ValueError, match="formulation"):
        cs.BasisPursuitLP(formulation="both")
    with pytest.raises(ValueError, match="rho"):
        cs.ADMMBasisPursuit(rho=-1.0)
    with pytest.raises(TypeError, match="positive"):
        cs.ADMMBasisPursuit(positive=True).recover(cs.PartialFourier(16, [0, 1, 2]), np.ones(3, complex))
