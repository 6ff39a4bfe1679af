"""OMP kernels on a precomputed Gram matrix: vectorised numpy (lock-step over signals) and numba.

Both kernels implement the same algorithm, so they select the same atoms:

* correlations ``α = Dᴴ r`` are kept per signal, ``α₀ = Dᴴ y`` at the start;
* step t picks ``j = argmax |α|`` (first index on ties, as scikit-learn), then
  orthogonalises atom ``j`` against the chosen ones *in coefficient space*:
  ``w = (P_s[j])_{s<t}`` with ``P_s = Dᴴ q_s``, ``d = sqrt(G_jj − ‖w‖²)``,
  ``P_t = (G[:, j] − Σ_s w_s P_s)/d``, ``z_t = α[j]/d`` (= ⟨q_t, y⟩),
  ``α ← α − z_t P_t``, ``‖r‖² ← ‖r‖² − |z_t|²``;
* at the end the coefficients solve the triangular system ``R γ = z`` where ``R`` holds
  the ``w``'s and ``d``'s (the QR factor of the selected atoms).

A step costs ``O(n·t)`` per signal; the whole pursuit ``O(n·k²/2)``.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["OMPState", "omp_gram_numpy", "numba_available"]

# An atom whose orthogonal part has relative energy below this is numerically in the span
# of the atoms already chosen: the signal stops (as scikit-learn's "linear dependence" stop).
_DEP_TOL = 1e-10


class OMPState:
    """Lock-step OMP over a batch of signals (vectorised numpy).

    Parameters
    ----------
    G : ndarray (n, n)
        Gram matrix ``DᴴD``.
    alpha0 : ndarray (B, n)
        Initial correlations ``Dᴴy`` (one row per signal).
    norms2 : ndarray (B,)
        ``‖y‖²`` per signal.
    k : int
        Maximum atoms.
    tol2 : float
        Squared residual-norm target (negative: none).
    """

    def __init__(self, G, alpha0, norms2, k, tol2):
        B, n = alpha0.shape
        dt = np.result_type(G.dtype, alpha0.dtype)
        self.G, self.k, self.tol2 = G, int(k), float(tol2)
        self.alpha0 = alpha0
        self.alpha = alpha0.astype(dt, copy=True)
        self.P = np.zeros((B, self.k, n), dtype=dt)  # Dᴴ q_t per signal, row t
        self.R = np.zeros((B, self.k, self.k), dtype=dt)  # upper-triangular QR factor
        self.z = np.zeros((B, self.k), dtype=dt)
        self.S = np.zeros((B, self.k), dtype=np.int64)
        self.steps = np.zeros(B, dtype=np.int64)
        r2 = np.asarray(norms2, dtype=float).copy()
        self.res2 = [r2.copy()]
        self.r2 = r2
        self.active = r2 > max(self.tol2, 0.0) if self.tol2 >= 0 else r2 > 0
        self.t = 0
        self.diag = np.real(np.diag(G)).astype(float)

    def step(self) -> bool:
        """Select one more atom for every active signal; return True while any is active."""
        t = self.t
        if t >= self.k or not self.active.any():
            return False
        act = np.flatnonzero(self.active)
        alpha = self.alpha[act]
        j = np.argmax(np.abs(alpha), axis=1)
        P = self.P[act, :t]  # (b, t, n)
        w = P[np.arange(act.size), :, j]  # (b, t): P_s[j] = ⟨q_s, d_j⟩ for the chosen atom
        gjj = self.diag[j]
        d2 = gjj - np.sum(np.abs(w) ** 2, axis=1)
        ok = d2 > _DEP_TOL * np.maximum(gjj, np.finfo(float).tiny)
        d = np.sqrt(np.where(ok, d2, 1.0))
        Gj = self.G[j].conj() if np.iscomplexobj(self.G) else self.G[j]  # row j of G = column j conj
        newP = Gj - (np.matmul(w.conj()[:, None, :], P)[:, 0, :] if t else 0)
        newP /= d[:, None]
        zt = alpha[np.arange(act.size), j] / d
        # signals whose next atom is dependent stop without taking it
        keep = act[ok]
        sel = np.flatnonzero(ok)
        self.P[keep, t] = newP[sel]
        self.R[keep, :t, t] = w[sel]
        self.R[keep, t, t] = d[sel]
        self.z[keep, t] = zt[sel]
        self.S[keep, t] = j[sel]
        self.alpha[keep] = alpha[sel] - zt[sel, None] * newP[sel]
        self.alpha[keep, j[sel]] = 0  # exactly orthogonal to chosen atoms
        self.r2[keep] = np.maximum(self.r2[keep] - np.abs(zt[sel]) ** 2, 0.0)
        self.steps[keep] += 1
        self.active[act[~ok]] = False
        if self.tol2 >= 0:
            self.active[keep[self.r2[keep] <= self.tol2]] = False
        self.res2.append(self.r2.copy())
        self.t = t + 1
        return bool(self.active.any()) and self.t < self.k

    def coefficients(self) -> np.ndarray:
        """Least-squares coefficients on the selected atoms, shape (B, n)."""
        B, n = self.alpha.shape
        t = self.t
        coef = np.zeros((B, n), dtype=self.alpha.dtype)
        if t == 0:
            return coef
        R, z = self.R[:, :t, :t], self.z[:, :t]
        gam = np.zeros((B, t), dtype=self.alpha.dtype)
        # batched back substitution R γ = z (only the first steps[b] rows are used per signal)
        for i in range(t - 1, -1, -1):
            valid = self.steps > i
            rii = np.where(valid, R[:, i, i], 1)
            acc = z[:, i] - np.sum(R[:, i, i + 1:] * gam[:, i + 1:], axis=1)
            gam[:, i] = np.where(valid, acc / rii, 0)
        rows = np.repeat(np.arange(B), t)
        mask = (np.arange(t)[None, :] < self.steps[:, None]).ravel()
        np.add.at(coef, (rows[mask], self.S[:, :t].ravel()[mask]), gam.ravel()[mask])
        return coef

    def residual_history(self) -> np.ndarray:
        """Squared residual norms, shape (steps + 1, B)."""
        return np.array(self.res2)


def omp_gram_numpy(G, alpha0, norms2, k, tol2):
    """Run the whole pursuit; returns ``(coef (B, n), res2 (k+1, B), steps (B,))``."""
    st = OMPState(G, alpha0, norms2, k, tol2)
    while st.step():
        pass
    res = st.residual_history()
    full = np.empty((k + 1, res.shape[1]))
    full[: res.shape[0]] = res
    full[res.shape[0]:] = res[-1]
    return st.coefficients(), full, st.steps


@functools.lru_cache(maxsize=None)
def numba_available() -> bool:
    """True when the optional numba accelerator can be imported."""
    try:
        import numba  # noqa: F401
    except Exception:  # pragma: no cover - depends on the environment
        return False
    return True


def __getattr__(name):
    # The compiled kernel is built on first use, never at import time.
    if name == "omp_gram_numba":
        from ._omp_numba import omp_gram_numba

        return omp_gram_numba
    raise AttributeError(name)
