r"""Sufficient statistics of k-sparse codes: Mairal et al.'s ``Σ c cᵀ`` and ``Σ c xᵀ`` from non-zeros.

A mini-batch of ``n`` rows coded with ``k`` of ``K`` atoms each has ``n·k`` non-zero codes. As
dense products, ``S Sᵀ`` and ``S X`` (``S`` of shape (K, n)) cost ``K²n + Kmn`` multiply-adds —
0.44 G per 256 rows at K = 1024, m = 640, almost all of them on zeros. From the non-zeros they
cost ``n·k²`` and ``n·k·m`` (65 k and 2.6 M): the codes are first listed per row
(:func:`code_lists`, the padded layout of :class:`~cstoolkit.learners.codes.SparseCodes`),
then ``Σ c xᵀ`` (:func:`codes_times_rows`) and the update ``A += Σ c cᵀ / n``
(:func:`add_code_outer`) walk those lists.

Every function has a compiled kernel (numba, built on first use) and a numpy reference (used
without numba, and by the tests to check the kernels). Only the summation order differs from
the dense products.
"""

from __future__ import annotations

import numpy as np

__all__ = ["code_lists", "codes_times_rows", "add_code_outer"]

_KERNELS = {}


def _kernels():
    """The compiled kernels (numba is imported here, on first use, never at import time)."""
    if not _KERNELS:
        import numba as nb

        @nb.njit(cache=True)
        def lists(S):
            K, n = S.shape
            cnt = np.zeros(n, dtype=np.int64)
            for i in range(K):  # row by row: S is read once, contiguously
                for b in range(n):
                    if S[i, b] != 0:
                        cnt[b] += 1
            s = 1
            for b in range(n):
                s = max(s, cnt[b])
            idx = np.zeros((n, s), dtype=np.int64)
            val = np.zeros((n, s), dtype=S.dtype)
            cnt[:] = 0
            for i in range(K):
                for b in range(n):
                    v = S[i, b]
                    if v != 0:
                        idx[b, cnt[b]] = i
                        val[b, cnt[b]] = v
                        cnt[b] += 1
            return idx, val

        @nb.njit(cache=True, fastmath={"contract"})
        def times_rows(idx, val, X, K):
            n, s = idx.shape
            m = X.shape[1]
            out = np.zeros((K, m), dtype=X.dtype)
            for b in range(n):
                for t in range(s):
                    v = val[b, t]
                    if v != 0:
                        row = out[idx[b, t]]
                        for i in range(m):
                            row[i] += v * X[b, i]
            return out

        @nb.njit(cache=True)
        def outer(A, idx, val, eta):
            n, s = idx.shape
            for b in range(n):
                for t in range(s):
                    v = val[b, t]
                    if v == 0:
                        continue
                    Ai = A[idx[b, t]]
                    for u in range(s):
                        w = val[b, u]
                        if w != 0:
                            Ai[idx[b, u]] += (v * w) / eta

        _KERNELS.update(lists=lists, times_rows=times_rows, outer=outer)
    return _KERNELS


def _compiled(engine):
    from ..solvers._engine import use_numba

    return use_numba(engine)


def code_lists(S, *, engine="auto"):
    """The non-zeros of each column of ``S``, listed per column in increasing atom order.

    Parameters
    ----------
    S : ndarray, shape (K, n)
        Codes as columns (C-contiguous).
    engine : {"auto", "numpy", "numba"}, default="auto"

    Returns
    -------
    idx : ndarray of int64, shape (n, s)
        Atom indices, ``s`` = the most non-zeros in a column (at least 1); padding: index 0.
    val : ndarray, shape (n, s), dtype of ``S``
        Their values; padding: 0.
    """
    S = np.ascontiguousarray(S)
    if _compiled(engine):
        return _kernels()["lists"](S)
    atom, col = np.nonzero(S)  # sorted by atom; a stable sort by column keeps atoms increasing
    order = np.argsort(col, kind="stable")
    atom, col = atom[order], col[order]
    n = S.shape[1]
    cnt = np.bincount(col, minlength=n)
    s = max(int(cnt.max()) if cnt.size else 0, 1)
    slot = np.arange(col.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    idx = np.zeros((n, s), dtype=np.int64)
    val = np.zeros((n, s), dtype=S.dtype)
    idx[col, slot] = atom
    val[col, slot] = S[atom, col]
    return idx, val


def codes_times_rows(idx, val, X, n_atoms, *, engine="auto"):
    """``Σ_b c_b x_bᵀ`` (= ``S X``), shape (n_atoms, m), from the code lists of the rows of ``X`` (n, m)."""
    X = np.ascontiguousarray(X)
    if _compiled(engine):
        return _kernels()["times_rows"](idx, val, X, int(n_atoms))
    out = np.zeros((int(n_atoms), X.shape[1]), dtype=X.dtype)
    for t in range(idx.shape[1]):  # one column of slots at a time: np.add.at adds repeated atoms
        np.add.at(out, idx[:, t], val[:, t, None] * X)
    return out


def add_code_outer(A, idx, val, eta, *, engine="auto"):
    """``A += Σ_b c_b c_bᵀ / eta`` in place (A of shape (K, K)), from the code lists ``idx``, ``val``."""
    if _compiled(engine):
        _kernels()["outer"](A, idx, val, A.dtype.type(eta))
        return A
    for b in range(idx.shape[0]):
        nz = val[b] != 0
        i, v = idx[b, nz], val[b, nz]
        A[np.ix_(i, i)] += (v[:, None] * v[None, :]) / A.dtype.type(eta)
    return A
