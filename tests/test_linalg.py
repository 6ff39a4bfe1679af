"""cstoolkit.linalg: batched support least squares, the row space of A, dense matrices, dtypes —
each against numpy/scipy references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

from cstoolkit import linalg
from cstoolkit.operators import as_operator


def test_ls_on_support_matches_lstsq():
    rng = np.random.default_rng(0)
    m, n, B = 30, 60, 12
    D = rng.standard_normal((m, n))
    Y = rng.standard_normal((m, B))
    sizes = [0, 1, 3, 7, 15, 29, 30, 5, 9, 2, 11, 4]
    mask = np.zeros((n, B), dtype=bool)
    for b, s in enumerate(sizes):
        mask[rng.choice(n, s, replace=False), b] = True
    X = linalg.lstsq_on_support(D.T @ D, D.T @ Y, mask)
    for b in range(B):
        ref = np.zeros(n)
        S = np.flatnonzero(mask[:, b])
        if S.size:
            ref[S] = np.linalg.lstsq(D[:, S], Y[:, b], rcond=None)[0]
        np.testing.assert_allclose(X[:, b], ref, atol=1e-9)


def test_support_solves_agree_for_shared_and_per_signal_gram():
    rng = np.random.default_rng(1)
    m, n, B = 20, 40, 5
    D = rng.standard_normal((m, n))
    mask = rng.random((n, B)) < 0.2
    idx, valid = linalg.support_index(mask)
    G = linalg.gram(D)
    shared = linalg.padded_gram(G, idx, valid)
    per = linalg.padded_gram(np.broadcast_to(G, (B, n, n)), idx, valid)
    np.testing.assert_array_equal(shared, per)
    As = linalg.support_columns(D, idx, valid)
    np.testing.assert_allclose(linalg.support_gram(As, valid), shared, atol=1e-12)
    for b in range(B):  # against the plain submatrix, padding as identity
        S = idx[valid[:, b], b]
        ref = np.eye(idx.shape[0])
        pos = np.flatnonzero(valid[:, b])
        ref[np.ix_(pos, pos)] = D[:, S].T @ D[:, S]
        np.testing.assert_allclose(shared[b], ref, atol=1e-12)
    assert linalg.solve_padded(np.zeros((1, 2, 2)), np.ones((1, 2)), singular="none") is None


@pytest.mark.parametrize("kind", ["dense", "sparse", "operator"])
@pytest.mark.parametrize("rank", [12, 7])
def test_row_space_projects_onto_the_affine_set(kind, rank):
    rng = np.random.default_rng(2)
    m, n, B = 12, 30, 3
    A = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    Y = A @ rng.standard_normal((n, B))
    op = {"dense": A, "sparse": sp.csr_matrix(A), "operator": aslinearoperator(A)}[kind]
    rs = linalg.RowSpace.of(op, np.float64)
    assert rs.s.size == rank
    pinv = np.linalg.pinv(A)
    np.testing.assert_allclose(rs.least_norm(Y), pinv @ Y, atol=1e-9)
    X = rng.standard_normal((n, B))
    np.testing.assert_allclose(rs.project(X, Y), X - pinv @ (A @ X - Y), atol=1e-9)
    W = rs.orthonormal_basis()
    np.testing.assert_allclose(W.T @ W, np.eye(rank), atol=1e-9)
    np.testing.assert_allclose(linalg.row_gram(op, np.float64), A @ A.T, atol=1e-9)


def test_dense_matrix_of_every_input_kind():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 8)).astype(np.float32)
    for a in (A, sp.csr_matrix(A), as_operator(A), aslinearoperator(A)):
        D = linalg.dense_matrix(a)
        assert D.shape == (5, 8)
        np.testing.assert_allclose(D, A, rtol=1e-6)
    assert linalg.dense_matrix(as_operator(A)) is A  # no copy of an explicit matrix


def test_dtype_rules():
    f32, f64, c64, c128 = map(np.dtype, (np.float32, np.float64, np.complex64, np.complex128))
    assert linalg.working_dtype(f32, f32) == f32 and linalg.working_dtype(f32, f64) == f64
    assert linalg.working_dtype(c64, None) == c64 and linalg.working_dtype(c64, f64) == c128
    assert linalg.working_dtype(np.dtype(np.int32)) == f64 and linalg.working_dtype(np.dtype(np.float16)) == f64
    assert linalg.inexact_dtype(np.float16) == np.float16 and linalg.inexact_dtype(bool) == f64
    assert linalg.inexact_dtype(c64) == c64
