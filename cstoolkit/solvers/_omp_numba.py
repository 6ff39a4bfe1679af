"""Compiled OMP kernel (optional numba accelerator); same algorithm as :class:`OMPState`.

Signals are independent, so the kernel runs them in parallel (``prange``) and each signal's
working set (``k × n`` orthogonalised atoms) stays in cache — the layout that lets a
per-signal pursuit beat the lock-step numpy version, which streams ``B × k × n`` arrays
through memory at every step.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._omp_kernels import _DEP_TOL


@nb.njit(parallel=True, cache=True, fastmath=False)
def _omp_kernel(G, alpha0, norms2, k, tol2, coef, res2, steps):
    B, n = alpha0.shape
    for b in nb.prange(B):
        alpha = alpha0[b].copy()
        P = np.zeros((k, n), dtype=alpha0.dtype)
        R = np.zeros((k, k), dtype=alpha0.dtype)
        z = np.zeros(k, dtype=alpha0.dtype)
        S = np.zeros(k, dtype=np.int64)
        r2 = norms2[b]
        res2[0, b] = r2
        t = 0
        stop = r2 <= tol2 if tol2 >= 0 else r2 <= 0
        while t < k and not stop:
            # argmax |alpha| (first index on ties)
            j = 0
            best = -1.0
            for i in range(n):
                v = abs(alpha[i])
                if v > best:
                    best = v
                    j = i
            gjj = G[j, j]
            d2 = gjj
            for s in range(t):
                w = P[s, j]
                R[s, t] = w
                d2 -= w * w
            if not d2 > _DEP_TOL * max(gjj, 1e-300):
                break
            d = np.sqrt(d2)
            Pt = P[t]
            for i in range(n):
                Pt[i] = G[j, i]
            for s in range(t):
                w = R[s, t]
                Ps = P[s]
                for i in range(n):
                    Pt[i] -= w * Ps[i]
            inv = 1.0 / d
            for i in range(n):
                Pt[i] *= inv
            zt = alpha[j] * inv
            for i in range(n):
                alpha[i] -= zt * Pt[i]
            alpha[j] = 0.0
            R[t, t] = d
            z[t] = zt
            S[t] = j
            r2 = max(r2 - zt * zt, 0.0)
            t += 1
            res2[t, b] = r2
            if tol2 >= 0 and r2 <= tol2:
                stop = True
        for s in range(t + 1, k + 1):
            res2[s, b] = r2
        steps[b] = t
        # back substitution R gamma = z
        gam = np.zeros(t, dtype=alpha0.dtype)
        for i in range(t - 1, -1, -1):
            acc = z[i]
            for c in range(i + 1, t):
                acc -= R[i, c] * gam[c]
            gam[i] = acc / R[i, i]
        for i in range(t):
            coef[b, S[i]] += gam[i]


def omp_gram_numba(G, alpha0, norms2, k, tol2):
    """Compiled whole pursuit for real data; returns ``(coef (B, n), res2 (k+1, B), steps (B,))``."""
    if np.iscomplexobj(G) or np.iscomplexobj(alpha0):
        from ._omp_kernels import omp_gram_numpy

        return omp_gram_numpy(G, alpha0, norms2, k, tol2)
    dt = np.result_type(G.dtype, alpha0.dtype)
    G = np.ascontiguousarray(G, dtype=dt)
    alpha0 = np.ascontiguousarray(alpha0, dtype=dt)
    B, n = alpha0.shape
    coef = np.zeros((B, n), dtype=dt)
    res2 = np.zeros((k + 1, B))
    steps = np.zeros(B, dtype=np.int64)
    _omp_kernel(G, alpha0, np.asarray(norms2, dtype=np.float64), int(k), float(tol2), coef, res2, steps)
    return coef, res2, steps
