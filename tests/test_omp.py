"""OMP: both engines against scikit-learn's ``orthogonal_mp`` and a plain least-squares OMP."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import orthogonal_mp

import cstoolkit
from cstoolkit.solvers._engine import numba_available
from cstoolkit.solvers.greedy.pursuit import omp_batch

ENGINES = [
    "numpy",
    pytest.param("numba", marks=pytest.mark.skipif(not numba_available(), reason="numba not installed")),
]


def problem(m=64, n=256, k=8, B=60, seed=0, noise=0.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((m, n))
    D /= np.linalg.norm(D, axis=0)
    X = np.zeros((n, B))
    for b in range(B):
        X[rng.choice(n, k, replace=False), b] = rng.standard_normal(k)
    Y = D @ X + noise * rng.standard_normal((m, B))
    return D.astype(dtype), Y.astype(dtype), X


def lstsq_omp(D, y, k):
    """Textbook OMP: argmax |Dᴴr|, then a fresh least-squares fit on the support (one signal)."""
    S, r = [], y.copy()
    coef = np.zeros(D.shape[1], dtype=np.result_type(D, y))
    for _ in range(k):
        S.append(int(np.argmax(np.abs(D.conj().T @ r))))
        g = np.linalg.lstsq(D[:, S], y, rcond=None)[0]
        r = y - D[:, S] @ g
    coef[S] = g
    return coef


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("shape", [(64, 256, 8), (20, 30, 20), (30, 20, 20)], ids=["64x256", "k=m<n", "k=n<m"])
def test_n_nonzero_coefs_matches_sklearn(engine, shape):
    m, n, k = shape
    D, Y, _ = problem(m, n, min(k, 8), B=40, seed=1, noise=0.05)
    ref = orthogonal_mp(D, Y, n_nonzero_coefs=k, precompute=True)
    res = cstoolkit.OMP(n_nonzero_coefs=k, engine=engine).recover(D, Y)
    assert np.array_equal(res.coef != 0, ref != 0)
    np.testing.assert_allclose(res.coef, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
def test_tol_matches_sklearn_squared_tol(engine):
    D, Y, _ = problem(64, 256, 10, B=50, seed=2, noise=0.02)
    tol = 0.15  # residual norm; scikit-learn's tol is its square
    ref = orthogonal_mp(D, Y, tol=tol**2, precompute=True)
    res = cstoolkit.OMP(tol=tol, engine=engine).recover(D, Y)
    nnz = np.count_nonzero(res.coef, axis=0)
    assert nnz.min() < nnz.max()  # signals really stop at different steps
    assert np.array_equal(res.coef != 0, ref != 0)
    np.testing.assert_allclose(res.coef, ref, rtol=0, atol=1e-10)
    assert np.all(res.residual_norm <= tol)
    np.testing.assert_allclose(res.residual_norm, np.linalg.norm(D @ res.coef - Y, axis=0), atol=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_select_identical_atoms(engine):
    D, Y, _ = problem(128, 512, 16, B=100, seed=3, noise=0.1)
    a = omp_batch(D, Y, 16, engine="numpy")[0]
    b = omp_batch(D, Y, 16, engine=engine)[0]
    assert np.array_equal(a != 0, b != 0)
    np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_float32_kept_and_same_support(engine):
    D, Y, _ = problem(64, 256, 6, B=50, seed=4)
    r64 = cstoolkit.OMP(n_nonzero_coefs=6, engine=engine).recover(D, Y)
    r32 = cstoolkit.OMP(n_nonzero_coefs=6, engine=engine).recover(D.astype(np.float32), Y.astype(np.float32))
    assert r32.coef.dtype == np.float32 and r32.x.dtype == np.float32
    assert np.array_equal(r32.coef != 0, r64.coef != 0)
    np.testing.assert_allclose(r32.coef, r64.coef, atol=1e-4)


@pytest.mark.parametrize("engine", ["auto", "numpy"])
def test_complex_matches_lstsq_omp(engine):
    rng = np.random.default_rng(5)
    m, n, k, B = 32, 80, 5, 12
    D = rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n))
    D /= np.linalg.norm(D, axis=0)
    X = np.zeros((n, B), complex)
    for b in range(B):
        X[rng.choice(n, k, replace=False), b] = rng.standard_normal(k) + 1j * rng.standard_normal(k)
    Y = D @ X + 0.01 * (rng.standard_normal((m, B)) + 1j * rng.standard_normal((m, B)))
    res = cstoolkit.OMP(n_nonzero_coefs=k, engine=engine).recover(D, Y)
    assert res.coef.dtype == np.complex128
    ref = np.stack([lstsq_omp(D, Y[:, b], k) for b in range(B)], axis=1)
    assert np.array_equal(res.coef != 0, ref != 0)
    np.testing.assert_allclose(res.coef, ref, atol=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linearly_dependent_atoms_stop_cleanly(engine, dtype):
    rng = np.random.default_rng(6)
    base = rng.standard_normal((6, 4))
    D = np.hstack([base, base[:, :2]])  # rank 4: the last two columns duplicate the first two
    D /= np.linalg.norm(D, axis=0)
    Y = rng.standard_normal((6, 5))  # not in the range of D: the residual never vanishes
    res = cstoolkit.OMP(n_nonzero_coefs=5, engine=engine).recover(D.astype(dtype), Y.astype(dtype))
    coef = res.coef.astype(float)
    assert np.all(np.isfinite(coef))
    assert np.all(np.count_nonzero(coef, axis=0) == 4)  # stopped before a dependent fifth atom
    # the 4 atoms span range(D): the residual is the distance of y to that range
    dist = np.linalg.norm(Y - D @ np.linalg.lstsq(D, Y, rcond=None)[0], axis=0)
    tol = 1e-9 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(np.linalg.norm(D @ coef - Y, axis=0), dist, atol=tol)
    if dtype == np.float64:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # scikit-learn warns about the dependence
            ref = orthogonal_mp(D, Y, n_nonzero_coefs=5, precompute=False)
        np.testing.assert_allclose(coef, ref, atol=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
def test_callback_path_equals_fast_path(engine):
    D, Y, _ = problem(64, 256, 8, B=30, seed=7, noise=0.05)
    seen = []
    fast = cstoolkit.OMP(n_nonzero_coefs=8, engine=engine).recover(D, Y)
    slow = cstoolkit.OMP(n_nonzero_coefs=8, engine=engine).recover(D, Y, callbacks=lambda info: seen.append(info.iteration))
    assert seen == [8]  # one call after the pursuit: the same kernel runs, observed or not
    np.testing.assert_allclose(slow.coef, fast.coef, atol=1e-12)
    for key in ("objective", "residual_norm"):
        np.testing.assert_allclose(slow.history[key], fast.history[key], atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_batch_size_does_not_change_results(engine):
    D, Y, _ = problem(64, 256, 8, B=50, seed=8, noise=0.05)
    whole = cstoolkit.OMP(n_nonzero_coefs=8, engine=engine).recover(D, Y)
    chunked = cstoolkit.OMP(n_nonzero_coefs=8, engine=engine, batch_size=7).recover(D, Y)
    assert np.array_equal(whole.coef != 0, chunked.coef != 0)
    np.testing.assert_allclose(chunked.coef, whole.coef, atol=1e-12)
    np.testing.assert_allclose(chunked.history["residual_norm"], whole.history["residual_norm"], atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_history_has_one_row_per_atom(engine):
    D, Y, _ = problem(64, 256, 8, B=20, seed=9, noise=0.05)
    res = cstoolkit.OMP(n_nonzero_coefs=8, engine=engine).recover(D, Y)
    assert np.all(res.n_iter == 8)
    assert res.history["residual_norm"].shape == (8, 20) and res.history["objective"].shape == (8, 20)
    r = res.history["residual_norm"]
    assert np.all(np.diff(r, axis=0) <= 1e-12)  # adding an atom never increases the residual
    # row t is the residual after t+1 atoms: compare with the (t+1)-atom pursuit of scikit-learn
    for t in (0, 3, 7):
        ref = orthogonal_mp(D, Y, n_nonzero_coefs=t + 1)
        np.testing.assert_allclose(r[t], np.linalg.norm(D @ ref - Y, axis=0), atol=1e-10)
    np.testing.assert_allclose(res.history["objective"], 0.5 * r**2)
    single = cstoolkit.OMP(n_nonzero_coefs=8, engine=engine).recover(D, Y[:, 0])
    assert single.history["residual_norm"].shape == (8,)
