"""Compiled Lasso-homotopy kernel (optional numba accelerator); same path as ``_homotopy``.

One signal's path costs O(n·k) per breakpoint (the correlation update ``a = G_{:,A} d``) plus
O(k²) for the direction (two triangular solves) and for the factor update. The Cholesky factor
of ``G_AA`` is *updated* on a join (one new row) and *downdated* on a drop (the row is removed
and the factor re-triangularised by Givens rotations, O(k²)) instead of being refactorised,
which is what makes paths with many drops — basis pursuit above the phase transition — cheap.
Signals are independent: the batch is cut into contiguous blocks (``prange`` over blocks) so
each worker allocates its working set once.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["homotopy_gram_numba", "homotopy_path_numba"]

# status codes, defined once with the numpy path: λ reached lam_stop, breakpoint budget
# exhausted, the next atom is (numerically) in the span of the active set
from .homotopy import COLLINEAR, MAX_STEPS, REACHED  # noqa: E402


@nb.njit(cache=True, error_model="numpy")
def _chol_delete(L, k, p):
    """Remove row/column ``p`` from the k×k lower Cholesky factor held in ``L`` (in place)."""
    for i in range(p, k - 1):
        for t in range(k):
            L[i, t] = L[i + 1, t]
    for i in range(p, k - 1):
        # rotate columns i and i+1 (rows i..k-2) so that L[i, i+1] becomes 0
        u = L[i, i]
        v = L[i, i + 1]
        r = np.sqrt(u * u + v * v)
        if r == 0.0:
            continue
        cs = u / r
        sn = v / r
        for q in range(i, k - 1):
            a = L[q, i]
            b = L[q, i + 1]
            L[q, i] = cs * a + sn * b
            L[q, i + 1] = -sn * a + cs * b
    for t in range(k):
        L[k - 1, t] = 0.0
        L[t, k - 1] = 0.0


@nb.njit(cache=True, error_model="numpy")
def _start(G, c, act, s, L, is_active):
    """Activate the atom of largest |c_j| as the only one; returns that |c_j| (the current λ)."""
    j0 = 0
    best = -1.0
    for j in range(c.shape[0]):
        if abs(c[j]) > best:
            best = abs(c[j])
            j0 = j
    act[0] = j0
    s[0] = 1.0 if c[j0] > 0 else -1.0
    L[0, :] = 0.0
    L[0, 0] = np.sqrt(G[j0, j0])
    is_active[j0] = True
    return best


@nb.njit(cache=True)
def _workspace(n, cap):
    """Work arrays of one path (reused from signal to signal): active set, signs, Cholesky
    factor, direction, new factor row (size cap + 1); correlation rates, join steps and signs,
    active flags (size n)."""
    return (np.empty(cap + 1, dtype=np.int64), np.empty(cap + 1), np.zeros((cap + 1, cap + 1)),
            np.empty(cap + 1), np.empty(cap + 1), np.empty(n), np.empty(n), np.empty(n),
            np.zeros(n, dtype=np.bool_))


# error_model="numpy": x/0 gives ±inf or NaN (handled below) and lets the loops vectorise
@nb.njit(cache=True, error_model="numpy")
def _path(G, c, x, lam_stop, max_steps, tol, cap, ws, lam_hist, x_hist):
    """Follow one path; ``c`` (= Aᵀy on entry) and ``x`` (zeros) are updated in place.

    ``ws`` is a :func:`_workspace` whose active flags are all False. With ``lam_hist`` of length
    ``max_steps + 1`` (else empty) the breakpoints λ_t and x(λ_t) are recorded in
    ``lam_hist[t]`` and ``x_hist[t]``.
    """
    act, s, L, d, w, a, gj, sj, is_active = ws
    n = G.shape[0]
    rec = lam_hist.shape[0] > 0
    lam = _start(G, c, act, s, L, is_active)
    if rec:
        lam_hist[0] = lam
        for j in range(n):
            x_hist[0, j] = 0.0
    if lam <= lam_stop or lam == 0.0:
        is_active[act[0]] = False
        return 0, REACHED, lam
    k = 1
    # events closer to lam_stop than tol·λ_max are the end point itself: at λ → 0 every inactive
    # correlation reaches ±λ together with λ (a 0 = 0 tie that rounding turns into spurious joins)
    eps_end = tol * lam
    dropped = -1  # an atom that just left may not rejoin at the next breakpoint (Lasso rule)
    for step in range(max_steps):
        # direction of x_A as λ decreases: (G_AA) d = s
        for i in range(k):
            v = s[i]
            for t in range(i):
                v -= L[i, t] * d[t]
            d[i] = v / L[i, i]
        for i in range(k - 1, -1, -1):
            v = d[i]
            for t in range(i + 1, k):
                v -= L[t, i] * d[t]
            d[i] = v / L[i, i]
        # rate of change of every correlation: a = G[:, A] d  (G symmetric: rows are columns)
        for j in range(n):
            a[j] = 0.0
        for t in range(k):
            row = G[act[t]]
            dt = d[t]
            for j in range(n):
                a[j] += dt * row[j]
        thr = tol * lam
        # joins: |c_j − γ a_j| = λ − γ for an inactive j
        # (two passes: a branch-free vectorisable one over all atoms, then an argmin)
        g_in = np.inf
        j_in = -1
        s_in = 0.0
        if k < cap:
            for j in range(n):
                g1 = (lam - c[j]) / (1.0 - a[j])
                g2 = (lam + c[j]) / (1.0 + a[j])
                g1 = g1 if g1 > thr else np.inf  # also discards NaN (0/0)
                g2 = g2 if g2 > thr else np.inf
                gj[j] = min(g1, g2)
                sj[j] = 1.0 if g1 <= g2 else -1.0
            for j in range(n):
                if gj[j] < g_in and not is_active[j] and j != dropped:
                    g_in = gj[j]
                    j_in = j
            if j_in >= 0:
                s_in = sj[j_in]
        # drops: an active coefficient reaches zero
        g_out = np.inf
        t_out = -1
        for t in range(k):
            if d[t] != 0.0:
                g = -x[act[t]] / d[t]
                if g > thr and g < g_out:
                    g_out = g
                    t_out = t
        g_end = lam - lam_stop
        if g_in >= g_end - eps_end:
            g_in = np.inf
        if g_out >= g_end - eps_end:
            g_out = np.inf
        gamma = min(g_in, g_out, g_end)
        for t in range(k):
            x[act[t]] += gamma * d[t]
        for j in range(n):
            c[j] -= gamma * a[j]
        lam -= gamma
        if rec:
            lam_hist[step + 1] = lam_stop if (g_end <= g_in and g_end <= g_out) else lam
            for j in range(n):
                x_hist[step + 1, j] = x[j]
            if g_out < g_in and g_out < g_end:
                x_hist[step + 1, act[t_out]] = 0.0
        if g_end <= g_in and g_end <= g_out:
            return step + 1, REACHED, lam_stop
        dropped = -1
        if g_out <= g_in:
            jo = act[t_out]
            dropped = jo
            x[jo] = 0.0
            is_active[jo] = False
            _chol_delete(L, k, t_out)
            for t in range(t_out, k - 1):
                act[t] = act[t + 1]
                s[t] = s[t + 1]
            k -= 1
            if k == 0:  # every coefficient returned to zero: restart from the top correlation
                _start(G, c, act, s, L, is_active)
                k = 1
        else:
            if k >= cap:
                return step + 1, COLLINEAR, lam
            for i in range(k):
                v = G[act[i], j_in]
                for t in range(i):
                    v -= L[i, t] * w[t]
                w[i] = v / L[i, i]
            r2 = G[j_in, j_in]
            for i in range(k):
                r2 -= w[i] * w[i]
            if r2 <= tol * G[j_in, j_in] or r2 <= 0.0:
                return step + 1, COLLINEAR, lam
            for i in range(k):
                L[k, i] = w[i]
            L[k, k] = np.sqrt(r2)
            for i in range(k + 1, L.shape[1]):  # keep the strict upper triangle zero
                L[k, i] = 0.0
            act[k] = j_in
            s[k] = s_in
            is_active[j_in] = True
            k += 1
    return max_steps, MAX_STEPS, lam


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _batch(G, C, lam_stop, max_steps, tol, cap, X, steps, status, lam_end, n_blocks):
    n, B = C.shape
    per = (B + n_blocks - 1) // n_blocks
    for blk in nb.prange(n_blocks):
        lo = blk * per
        hi = min(B, lo + per)
        if lo >= hi:
            continue
        ws = _workspace(n, cap)
        is_active = ws[-1]
        c = np.empty(n)
        x = np.empty(n)
        no_lam = np.empty(0)
        no_x = np.empty((0, n))
        for b in range(lo, hi):
            for j in range(n):
                c[j] = C[j, b]
                x[j] = 0.0
                is_active[j] = False
            st, code, le = _path(G, c, x, lam_stop[b], max_steps, tol, cap, ws, no_lam, no_x)
            for j in range(n):
                X[j, b] = x[j]
            steps[b] = st
            status[b] = code
            lam_end[b] = le


def homotopy_gram_numba(G, C, lam_stop, max_steps, tol, cap):
    """Lasso solutions at ``lam_stop`` by homotopy for a batch, from ``G = AᵀA`` and ``C = AᵀY``.

    Parameters
    ----------
    G : ndarray, shape (n, n), float64, C-contiguous
    C : ndarray, shape (n, B), float64
    lam_stop : ndarray, shape (B,)
        λ at which each path stops (0 gives basis pursuit when m < n).
    max_steps : int
        Breakpoint budget per signal.
    tol : float
        Relative tolerance for step lengths and collinear atoms.
    cap : int
        Largest active set (``min(m, n)``: beyond the rank of A every join is collinear).

    Returns
    -------
    X : ndarray, shape (n, B)
    steps : ndarray of int64, shape (B,)
    status : ndarray of int64, shape (B,)
        0 reached ``lam_stop``, 1 breakpoint budget exhausted, 2 collinear atom.
    lam_end : ndarray, shape (B,)
        λ where each path stopped.
    """
    G = np.ascontiguousarray(G, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    B = C.shape[1]
    X = np.zeros((G.shape[0], B))
    steps = np.zeros(B, dtype=np.int64)
    status = np.zeros(B, dtype=np.int64)
    lam_end = np.zeros(B)
    n_blocks = max(1, min(B, 4 * nb.get_num_threads()))
    _batch(G, C, np.asarray(lam_stop, dtype=np.float64), int(max_steps), float(tol), int(cap),
           X, steps, status, lam_end, n_blocks)
    return X, steps, status, lam_end


@nb.njit(cache=True, error_model="numpy")
def _one_path(G, c, lam_stop, max_steps, tol, cap):
    n = G.shape[0]
    lam_hist = np.empty(max_steps + 1)
    x_hist = np.empty((max_steps + 1, n))
    st, code, le = _path(G, c, np.zeros(n), lam_stop, max_steps, tol, cap, _workspace(n, cap), lam_hist, x_hist)
    return lam_hist[: st + 1].copy(), x_hist[: st + 1].copy(), code


def homotopy_path_numba(G, c, lam_stop, max_steps, tol, cap):
    """One signal's whole path: breakpoints ``(K,)``, coefficients ``(K, n)`` and the status code."""
    c = np.array(c, dtype=np.float64)  # a copy: updated in place
    return _one_path(np.ascontiguousarray(G, dtype=np.float64), c, float(lam_stop), int(max_steps), float(tol), int(cap))
