"""The shared conformance suite: every registered recoverer must pass every test here.

Adding a solver = one class + one ``@register`` line; it is then collected below
automatically. A class tunes the easy instance through ``_conformance_params(k)`` and
``_conformance_tol``, and picks its reference through ``objective_kind``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import cstoolkit as cs
from cstoolkit.ensembles import gaussian
from cstoolkit.signals import sparse_signals

NAMES = cs.available_recoverers()
M, N, K, B = 64, 128, 5, 3


def make(name, **over):
    cls = cs.get_recoverer_class(name)
    params = {**cls._conformance_params(K), **over}
    return cls(**params)


@pytest.fixture(scope="module")
def problem():
    A = gaussian(M, N, random_state=0)
    X = sparse_signals(N, K, B, random_state=1)
    return A, X, A @ X


def _close(a, b, name, scale=1.0):
    tol = max(cs.get_recoverer_class(name)._conformance_tol, 1e-6)
    np.testing.assert_allclose(a, b, atol=tol * scale, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_registry_roundtrip(name):
    r = cs.make_recoverer(name)
    assert isinstance(r, cs.Recoverer)
    assert r.name == name
    clone = type(r)(**r.get_params())
    assert clone.get_params() == r.get_params()
    assert repr(r).startswith(type(r).__name__ + "(")
    assert getattr(cs, type(r).__name__) is type(r), "every solver is importable as cstoolkit.<Class>"


@pytest.mark.parametrize("name", NAMES)
def test_exact_recovery_batch_shapes_history(name, problem):
    A, X, Y = problem
    res = make(name).recover(A, Y)
    assert res.x.shape == (N, B) and res.coef.shape == (N, B)
    assert res.x.dtype == np.float64
    rel = cs.metrics.relative_error(X, res.x)
    assert np.all(rel < cs.get_recoverer_class(name)._conformance_tol), rel
    assert set(cs.HISTORY_KEYS) <= set(res.history)
    for key in cs.HISTORY_KEYS:
        assert res.history[key].shape == (res.n_iter, B)
    assert res.solver == name and isinstance(res.converged, bool)
    assert "RecoveryResult" in repr(res)


@pytest.mark.parametrize("name", NAMES)
def test_single_and_batched_agree(name, problem):
    A, X, Y = problem
    r = make(name)
    batch = r.recover(A, Y)
    single = r.recover(A, Y[:, 1])
    assert single.x.shape == (N,)
    assert single.history["objective"].ndim == 1
    _close(single.x, batch.x[:, 1], name)


@pytest.mark.parametrize("name", NAMES)
def test_matrix_sparse_operator_agree(name, problem):
    A, X, Y = problem
    r = make(name)
    ref = r.recover(A, Y).x
    _close(r.recover(sp.csr_matrix(A), Y).x, ref, name)
    _close(r.recover(sp.csc_matrix(A), Y).x, ref, name)
    _close(r.recover(aslinearoperator(A), Y).x, ref, name)


@pytest.mark.parametrize("name", NAMES)
def test_float32_kept(name, problem):
    A, X, Y = problem
    res = make(name).recover(A.astype(np.float32), Y.astype(np.float32))
    assert res.x.dtype == np.float32
    rel = cs.metrics.relative_error(X, res.x)
    assert np.all(rel < max(cs.get_recoverer_class(name)._conformance_tol, 1e-3) * 5), rel


@pytest.mark.parametrize("name", NAMES)
def test_reproducible(name, problem):
    A, X, Y = problem
    a = make(name).recover(A, Y).x
    b = make(name).recover(A, Y).x
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_basis_sparse_in_dct(name):
    n, m, k = 128, 64, 4
    psi = cs.DCTBasis(n)
    s = sparse_signals(n, k, random_state=3)
    x = psi @ s
    A = gaussian(m, n, random_state=4)
    res = make(name).recover(A, A @ x, basis=psi)
    assert res.x.shape == (n,) and res.coef.shape == (n,)
    np.testing.assert_allclose(res.x, psi @ res.coef, atol=1e-10)
    assert cs.metrics.relative_error(s, res.coef) < cs.get_recoverer_class(name)._conformance_tol
    # a dense orthonormal basis gives the same answer as the fast operator
    dense = psi @ np.eye(n)
    _close(make(name).recover(A, A @ x, basis=dense).x, res.x, name)


@pytest.mark.parametrize("name", NAMES)
def test_callback_sees_iterations_and_can_stop(name, problem):
    A, X, Y = problem
    seen = []

    def cb(info):
        seen.append((info.iteration, info.coef.shape, info.objective.shape))
        return True

    res = make(name).recover(A, Y, callbacks=[cb])
    assert res.stop_reason == "callback" and not res.converged
    assert seen[0] == (1, (N, B), (B,)) and len(seen) == 1
    metrics = cs.MetricsCallback(X)
    full = make(name).recover(A, Y, callbacks=metrics)
    assert metrics.relative_error.shape == (full.n_iter, B)
    assert np.all(metrics.relative_error[-1] < cs.get_recoverer_class(name)._conformance_tol)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input(name, problem):
    A, X, Y = problem
    r = make(name)
    bad = Y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        r.recover(A, bad)
    with pytest.raises(ValueError, match="rows but A has"):
        r.recover(A, Y[:-1])
    with pytest.raises(ValueError):
        r.recover(A, Y[:, :, None])
    with pytest.raises(TypeError):
        r.recover(A, Y.astype(str))
    with pytest.raises(TypeError):
        r.recover("not a matrix", Y)
    Abad = A.copy()
    Abad[1, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        r.recover(Abad, Y)
    with pytest.raises(ValueError, match="basis"):
        r.recover(A, Y, basis=np.eye(N + 1))
    with pytest.raises(ValueError, match="x0"):
        r.recover(A, Y, x0=np.zeros(N + 2))


@pytest.mark.parametrize("name", NAMES)
def test_bad_params(name, problem):
    A, X, Y = problem
    cls = cs.get_recoverer_class(name)
    params = cls._param_names()
    with pytest.raises(ValueError, match="no parameter"):
        cls().set_params(definitely_not_a_param=1)
    if "lam" in params:
        with pytest.raises(ValueError, match="lam"):
            cls(lam=-1.0)
        with pytest.raises(ValueError, match="lam"):
            cls(lam=float("nan"))
    if "n_nonzero_coefs" in params:
        with pytest.raises(ValueError, match="n_nonzero_coefs"):
            cls(n_nonzero_coefs=0)
        with pytest.raises(ValueError, match="n_nonzero_coefs"):
            cls(n_nonzero_coefs=M + 1).recover(A, Y)
    if "max_iter" in params:
        with pytest.raises(ValueError, match="max_iter"):
            cls(max_iter=0)
    if "tol" in params:
        with pytest.raises((ValueError, TypeError), match="tol"):
            cls(tol="small")


# --- agreement with independent references ------------------------------------------------

def _lasso_objective(A, y, x, lam):
    return 0.5 * np.sum((A @ x - y) ** 2) + lam * np.sum(np.abs(x))


@pytest.mark.parametrize("name", [n for n in NAMES if cs.get_recoverer_class(n).objective_kind == "lasso"])
def test_lasso_objective_matches_sklearn(name):
    from sklearn.linear_model import Lasso as SkLasso

    A = gaussian(50, 100, random_state=5)
    X = sparse_signals(100, 8, 4, random_state=6)
    Y = A @ X + 0.01 * np.random.default_rng(7).standard_normal((50, 4))
    lam = 0.05
    r = cs.get_recoverer_class(name)(lam=lam, tol=1e-12, **({"max_iter": 100000} if "max_iter" in cs.get_recoverer_class(name)._param_names() else {}))
    res = r.recover(A, Y)
    alpha = cs.conventions.sklearn_alpha_from_lam(lam, A.shape[0])
    for b in range(4):
        sk = SkLasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=1000000).fit(A, Y[:, b])
        f_sk = _lasso_objective(A, Y[:, b], sk.coef_, lam)
        f_us = _lasso_objective(A, Y[:, b], res.x[:, b], lam)
        assert f_us <= f_sk * (1 + 1e-6), (f_us, f_sk)
        assert abs(res.history["objective"][-1, b] - f_us) <= 1e-9 * f_us


@pytest.mark.parametrize("name", [n for n in NAMES if cs.get_recoverer_class(n).objective_kind in ("bp", "bpdn")])
def test_basis_pursuit_matches_linprog(name):
    # independent reference: the LP  min 1ᵀ(u+v) s.t. A(u−v) = y, u, v ≥ 0 (HiGHS)
    from scipy.optimize import linprog

    A = gaussian(40, 100, random_state=8)
    x = sparse_signals(100, 12, random_state=9)  # beyond easy recovery: the l1 minimiser is the test
    y = A @ x
    lp = linprog(np.ones(200), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs")
    x_lp = lp.x[:100] - lp.x[100:]
    res = make(name).recover(A, y)
    assert np.sum(np.abs(res.x)) == pytest.approx(np.sum(np.abs(x_lp)), rel=1e-5)


@pytest.mark.parametrize("name", [n for n in NAMES if cs.get_recoverer_class(n).objective_kind == "greedy"])
def test_greedy_support_matches_sklearn_omp(name, problem):
    from sklearn.linear_model import orthogonal_mp

    A, X, Y = problem
    res = make(name).recover(A, Y)
    ref = orthogonal_mp(A, Y, n_nonzero_coefs=K)
    np.testing.assert_array_equal(np.abs(res.x) > 1e-8, np.abs(ref) > 1e-8)


@pytest.mark.parametrize("name", [n for n in NAMES if cs.get_recoverer_class(n).supports_complex])
def test_complex_recovery(name):
    rng = np.random.default_rng(11)
    A = (rng.standard_normal((M, N)) + 1j * rng.standard_normal((M, N))) / np.sqrt(2 * M)
    X = sparse_signals(N, K, 2, random_state=12) * np.exp(2j * np.pi * rng.random((N, 2)))
    res = make(name).recover(A, A @ X)
    assert np.iscomplexobj(res.x) and res.x.shape == (N, 2)
    assert np.all(cs.metrics.relative_error(X, res.x) < cs.get_recoverer_class(name)._conformance_tol * 5)


@pytest.mark.parametrize("name", [n for n in NAMES if not cs.get_recoverer_class(n).supports_complex])
def test_complex_rejected_when_unsupported(name, problem):
    A, X, Y = problem
    with pytest.raises(TypeError, match="real"):
        make(name).recover(A, Y + 1j)
    with pytest.raises(TypeError, match="real"):
        make(name).recover(A + 0j, Y)
