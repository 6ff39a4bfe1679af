"""The online learner's fast numerics against plain references written here.

* the blocked block-coordinate sweep (BLAS-3 per block, compiled in-block walk) against the
  literal one-atom-at-a-time loop of Mairal et al. (2010), Alg. 2, on the sphere;
* the sufficient statistics from the codes' non-zeros against the dense products S Sᵀ, S X.
"""

import numpy as np
import pytest

from cstoolkit.learners._bcd import bcd_sweep
from cstoolkit.learners._code_stats import add_code_outer, code_lists, codes_times_rows
from cstoolkit.learners.online import _gram


def _literal_sweep(W, A, B, n_sweeps, tiny):
    W = W.astype(np.float64)
    A, B = A.astype(np.float64), B.astype(np.float64)
    for _ in range(n_sweeps):
        for j in range(W.shape[0]):
            if A[j, j] > tiny:
                u = W[j] + (B[j] - A[j] @ W) / A[j, j]
                W[j] = u / np.linalg.norm(u)
    return W


def _problem(K=70, m=24, n=400, k=4, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m)).astype(dtype)
    S = np.zeros((K, n), dtype=dtype)
    for b in range(n):
        S[rng.choice(K, k, replace=False), b] = rng.standard_normal(k)
    S[:, 7] = 0  # a row coded by nothing
    W = rng.standard_normal((K, m)).astype(dtype)
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    return X, S, W


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("block", [1, 7, 32, 100])
def test_blocked_sweep_equals_the_one_atom_loop(engine, block):
    X, S, W0 = _problem(dtype=np.float64)
    A, B = S @ S.T / 400, S @ X / 400
    A[5], A[:, 5] = 0, 0  # a dead atom: left as it is
    tiny = 1e-12
    ref = _literal_sweep(W0, A, B, 2, tiny)
    W = W0.copy()
    dead = bcd_sweep(W, A, B, 2, tiny, block=block, engine=engine)
    assert dead.tolist() == [5]
    np.testing.assert_array_equal(W[5], W0[5])
    np.testing.assert_allclose(W, ref, rtol=0, atol=1e-12)
    W32 = W0.astype(np.float32)
    bcd_sweep(W32, A.astype(np.float32), B.astype(np.float32), 2, tiny, block=block, engine=engine)
    assert W32.dtype == np.float32
    np.testing.assert_allclose(W32, ref, rtol=0, atol=2e-5)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_code_statistics_equal_the_dense_products(engine):
    X, S, _ = _problem()
    S[3, 11] = 0  # a row with fewer non-zeros than the others
    K, n = S.shape
    idx, val = code_lists(S, engine=engine)
    assert idx.shape == val.shape == (n, 4) and idx.dtype == np.int64 and val.dtype == np.float32
    rebuilt = np.zeros_like(S)
    rebuilt[idx.ravel(), np.repeat(np.arange(n), idx.shape[1])] += val.ravel()
    np.testing.assert_array_equal(rebuilt, S)
    assert all(np.all(np.diff(i[v != 0]) > 0) for i, v in zip(idx, val))  # increasing atoms per row
    S64, X64 = S.astype(np.float64), X.astype(np.float64)
    StX = codes_times_rows(idx, val, X, K, engine=engine)
    assert StX.dtype == np.float32
    np.testing.assert_allclose(StX, S64 @ X64, rtol=1e-5, atol=1e-5)
    A = np.full((K, K), 0.5, dtype=np.float32)
    add_code_outer(A, idx, val, n, engine=engine)
    np.testing.assert_allclose(A, 0.5 + S64 @ S64.T / n, rtol=1e-5, atol=1e-6)
    empty_idx, empty_val = code_lists(np.zeros((K, 3), dtype=np.float32), engine=engine)
    assert empty_idx.shape == (3, 1) and not empty_val.any()


def test_gram_is_symmetric_and_equals_w_wt():
    _, _, W = _problem(K=50, m=33)
    G = _gram(W)
    assert G.dtype == np.float32 and G.flags.c_contiguous
    np.testing.assert_array_equal(G, G.T)
    np.testing.assert_allclose(G, W.astype(np.float64) @ W.T.astype(np.float64), atol=1e-6)
