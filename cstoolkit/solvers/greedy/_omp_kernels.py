"""OMP kernels on a precomputed Gram matrix: vectorised numpy (lock-step over signals) and numba.

Both kernels implement the same algorithm, so they select the same atoms:

* correlations ``α = Dᴴ r`` are kept per signal, ``α₀ = Dᴴ y`` at the start;
* step t picks ``j = argmax |α|`` (first index on ties, as scikit-learn), then
  orthogonalises atom ``j`` against the chosen ones *in coefficient space*:
  ``w = (P_s[j])_{s<t}`` with ``P_s = Dᴴ q_s``, ``d = sqrt(G_jj − ‖w‖²)``,
  ``P_t = (G[:, j] − Σ_s w̄_s P_s)/d``, ``z_t = α[j]/d`` (= ⟨q_t, y⟩),
  ``α ← α − z_t P_t``, ``‖r‖² ← ‖r‖² − |z_t|²``;
* a signal stops before taking an atom whose orthogonal part has relative energy
  ``d²/G_jj`` below :func:`dependence_tol` (the atom is in the span of the chosen ones);
* at the end the coefficients solve the triangular system ``R γ = z`` where ``R`` holds
  the ``w̄``'s and ``d``'s (the QR factor of the selected atoms).

A step costs ``O(n·t)`` per signal; the whole pursuit ``O(n·k²/2)`` multiply-adds. This
"QR in coefficient space" form was measured against the Cholesky form of Batch-OMP
(``α = α₀ − G[:, S] γ`` with a Cholesky factor of ``G[S, S]``): same flop count, and on the
benchmark machine no faster (the Cholesky form streams rows of the shared ``n × n`` Gram
matrix, this one a private ``k × n`` block that stays in cache), so only this form is kept.
"""

from __future__ import annotations


import numpy as np

__all__ = ["OMPState", "omp_gram_numpy", "numba_available", "use_numba", "dependence_tol"]


def dependence_tol(dtype) -> float:
    """Relative energy ``d²/G_jj`` under which an atom counts as linearly dependent.

    ``1e-10`` in double precision; in single precision the rounding of ``G_jj − ‖w‖²``
    is about ``1e-7``, so the threshold is raised to ``100·eps`` (≈ 1.2e-5) or a
    duplicated atom would be taken with a huge coefficient instead of stopping the signal.
    """
    eps = np.finfo(np.dtype(dtype)).eps
    return max(1e-10, 100.0 * float(eps))


class OMPState:
    """Lock-step OMP over a batch of signals (vectorised numpy).

    Parameters
    ----------
    G : ndarray (n, n)
        Gram matrix ``DᴴD``.
    alpha0 : ndarray (B, n)
        Initial correlations ``Dᴴy`` (one row per signal); not modified.
    norms2 : ndarray (B,)
        ``‖y‖²`` per signal.
    k : int
        Maximum atoms.
    tol2 : float
        Squared residual-norm target (negative: none).

    Notes
    -----
    Memory is ``B·k·n`` values for the orthogonalised atoms ``P``; every step streams the
    ``B·t·n`` block ``P[:, :t]`` once, so the batch should be small enough for it to stay in
    cache (see :func:`omp_gram_numpy`). While every signal is still running, the arrays are
    indexed by slices (views, no copies).
    """

    def __init__(self, G, alpha0, norms2, k, tol2):
        B, n = alpha0.shape
        dt = np.result_type(G.dtype, alpha0.dtype)
        self.G, self.k, self.tol2 = G, int(k), float(tol2)
        self.Gc = G.conj() if np.iscomplexobj(G) else G  # row j of Gᴴ = column j of G
        self.alpha = alpha0.astype(dt, copy=True)
        self.P = np.empty((B, self.k, n), dtype=dt)  # Dᴴ q_t per signal, row t
        self.R = np.zeros((B, self.k, self.k), dtype=dt)  # upper-triangular QR factor
        self.z = np.zeros((B, self.k), dtype=dt)
        self.S = np.zeros((B, self.k), dtype=np.int64)
        self.steps = np.zeros(B, dtype=np.int64)
        r2 = np.asarray(norms2, dtype=float).copy()
        self.res2 = [r2.copy()]
        self.r2 = r2
        self.active = r2 > max(self.tol2, 0.0) if self.tol2 >= 0 else r2 > 0
        self.t = 0
        self.diag = np.real(np.diag(G)).copy()  # in the working precision, as the numba kernel
        self.dep_tol = dependence_tol(np.finfo(dt).dtype)

    def step(self) -> bool:
        """Select one more atom for every active signal; return True while any is active."""
        t = self.t
        if t >= self.k or not self.active.any():
            return False
        B = self.alpha.shape[0]
        act = np.flatnonzero(self.active)
        full = act.size == B
        idx = slice(None) if full else act  # views while every signal runs
        rows = np.arange(act.size)
        alpha = self.alpha[idx]
        j = np.argmax(np.abs(alpha), axis=1)
        P = self.P[idx, :t]  # (b, t, n)
        w = P[rows, :, j]  # (b, t): P_s[j] = ⟨q_s, d_j⟩ for the chosen atom
        gjj = self.diag[j]
        d2 = gjj - np.einsum("bt,bt->b", w.conj(), w).real if t else gjj.copy()
        ok = d2 > self.dep_tol * gjj
        d = np.sqrt(np.where(ok, d2, 1.0)).astype(alpha.dtype)
        newP = self.Gc[j]
        if t:
            newP = newP - np.matmul(w.conj()[:, None, :], P)[:, 0, :]
        newP /= d[:, None]
        zt = alpha[rows, j] / d
        if ok.all():
            keep, sel = idx, slice(None)
        else:  # signals whose next atom is dependent stop without taking it
            keep, sel = act[ok], np.flatnonzero(ok)
            newP, zt, w, d, j = newP[sel], zt[sel], w[sel], d[sel], j[sel]
            alpha = alpha[sel]
        self.P[keep, t] = newP
        self.R[keep, :t, t] = w.conj()  # R[s, t] = ⟨q_s, d_j⟩ = conj(P_s[j])
        self.R[keep, t, t] = d
        self.z[keep, t] = zt
        self.S[keep, t] = j
        alpha -= zt[:, None] * newP
        alpha[np.arange(alpha.shape[0]), j] = 0  # exactly orthogonal to the chosen atom
        if not (full and ok.all()):
            self.alpha[keep] = alpha  # fancy indexing made a copy: write it back
        self.r2[keep] = np.maximum(self.r2[keep] - np.abs(zt) ** 2, 0.0)
        self.steps[keep] += 1
        self.active[act[~ok]] = False
        if self.tol2 >= 0:
            self.active &= self.r2 > self.tol2
        self.res2.append(self.r2.copy())
        self.t = t + 1
        return bool(self.active.any()) and self.t < self.k

    def solution(self):
        """Selected atoms and their least-squares coefficients.

        Returns
        -------
        S : ndarray of int64 (B, t)
            Atoms in the order chosen (the first ``steps[b]`` of row ``b`` are valid).
        gam : ndarray (B, t)
            Coefficients (zero past ``steps[b]``).
        """
        B = self.alpha.shape[0]
        t = self.t
        R, z = self.R[:, :t, :t], self.z[:, :t]
        gam = np.zeros((B, t), dtype=self.alpha.dtype)
        # batched back substitution R γ = z (only the first steps[b] rows are used per signal)
        for i in range(t - 1, -1, -1):
            valid = self.steps > i
            rii = np.where(valid, R[:, i, i], 1)
            acc = z[:, i] - np.einsum("bc,bc->b", R[:, i, i + 1:], gam[:, i + 1:])
            gam[:, i] = np.where(valid, acc / rii, 0)
        return self.S[:, :t], gam

    def coefficients(self) -> np.ndarray:
        """Least-squares coefficients on the selected atoms, shape (B, n)."""
        B, n = self.alpha.shape
        S, gam = self.solution()
        coef = np.zeros((B, n), dtype=self.alpha.dtype)
        scatter_coefficients(coef.T, S, gam, self.steps)
        return coef

    def residual_history(self) -> np.ndarray:
        """Squared residual norms, shape (steps + 1, B)."""
        return np.array(self.res2)


def scatter_coefficients(coef, S, gam, steps, offset=0):
    """Write ``gam`` into the columns ``offset + b`` of ``coef`` (n, B) at rows ``S[b]``."""
    b, t = np.nonzero(np.arange(S.shape[1])[None, :] < steps[:, None])
    coef[S[b, t], offset + b] = gam[b, t]


def omp_gram_numpy(G, alpha0, norms2, k, tol2):
    """Run the whole lock-step pursuit on one batch.

    Returns ``(S (B, k), gam (B, k), res2 (k + 1, B), steps (B,))`` as
    :func:`~cstoolkit.solvers.greedy._omp_numba.omp_gram_numba`.
    """
    st = OMPState(G, alpha0, norms2, k, tol2)
    while st.step():
        pass
    B = alpha0.shape[0]
    S = np.zeros((B, k), dtype=np.int64)
    gam = np.zeros((B, k), dtype=st.alpha.dtype)
    s_, g_ = st.solution()
    S[:, : st.t], gam[:, : st.t] = s_, g_
    res = st.residual_history()
    full = np.empty((k + 1, B))
    full[: res.shape[0]] = res
    full[res.shape[0]:] = res[-1]
    return S, gam, full, st.steps


from .._engine import numba_available, use_numba  # noqa: E402  (re-exported: the one resolution)


def __getattr__(name):
    # The compiled kernel is built on first use, never at import time.
    if name == "omp_gram_numba":
        from ._omp_numba import omp_gram_numba

        return omp_gram_numba
    raise AttributeError(name)
