"""Compiled working-set coordinate descent for the Lasso on a Gram matrix (optional numba accelerator).

Same problem, same certificate and same return values as :func:`cstoolkit.solvers.l1.cd.lasso_gram_numpy`:
for every column ``b``

.. math:: \\min_x \\tfrac12\\|A x - y_b\\|_2^2 + \\lambda_b \\|x\\|_1

given only ``G = AᵀA``, ``c = Aᵀy_b`` and ``‖y_b‖²``. Signals are independent, so they run in
parallel (``prange``); each one is a small sequential program whose data stay in cache:

* the gradient ``h = c − Gx`` (``= Aᵀr``) is kept in full only at the outer level, where the
  duality gap is computed from Gram quantities in ``O(n)``:
  ``‖r‖² = ‖y‖² − cᵀx − xᵀh``, ``⟨r, y⟩ = ‖y‖² − cᵀx`` and the feasible dual point
  ``θ = r·min(1, λ/‖h‖∞)``;
* the working set ``W`` is the support plus the strongest KKT violators, ranked by
  ``(|h_j| − λ)/√G_jj`` (the distance of the dual point to constraint ``j``, as in celer and
  Blitz), of size ``max(16, 2·|supp x|)`` (celer's pruning rule), so every round brings in
  at least ``|supp x|`` (or 16) new candidates;
* the sub-problem on ``W`` is solved by cyclic coordinate descent on a packed copy of ``G_WW``,
  keeping ``h`` only on ``W`` (``O(|W|)`` per nonzero coordinate move), until its own duality gap
  is below ``max(0.3·gap, tol·F/10)`` (celer's inner tolerance); every 10 sweeps an exact solve
  on the current support and signs, ``x_S = G_SS⁻¹(c_S − λ·sign x_S)`` (Cholesky), is tried and
  kept when it lowers the sub-problem gap — CD finds the support fast but then converges only
  linearly on the ill-conditioned supports of small λ, where this step ends the run;
* the full ``h`` is then rebuilt from the support (``O(n·|supp|)``) and the gap is re-certified.

References
----------
Massias, Gramfort & Salmon, "Celer: a fast solver for the Lasso with dual extrapolation",
ICML 2018.
Johnson & Guestrin, "Blitz: a principled meta-algorithm for scaling sparse optimization",
ICML 2015.
Friedman, Hastie & Tibshirani, "Regularization paths for generalized linear models via
coordinate descent", J. Stat. Softw. 33 (2010).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["lasso_gram_numba"]

_P0 = 16  # smallest working set
_POLISH_EVERY = 10  # CD sweeps between two exact-support solves
_PIVOT = 1e-10  # relative Cholesky pivot below which G_SS counts as singular


@nb.njit(cache=True, fastmath=False)
def _gap(c, x, h, yy, lam):
    """(primal, gap) of one signal from ``c``, ``x`` and ``h = c − Gx`` over the same index set."""
    cx = 0.0
    xh = 0.0
    l1 = 0.0
    hmax = 0.0
    for i in range(x.shape[0]):
        cx += c[i] * x[i]
        xh += x[i] * h[i]
        l1 += abs(x[i])
        a = abs(h[i])
        if a > hmax:
            hmax = a
    r2 = yy - cx - xh
    if r2 < 0.0:
        r2 = 0.0
    primal = 0.5 * r2 + lam * l1
    s = 1.0
    if hmax > lam:
        s = lam / hmax
    dual = s * (yy - cx) - 0.5 * s * s * r2
    return primal, primal - dual


@nb.njit(cache=True, fastmath=False)
def _full_grad(G, c, x, h):
    """h = c − G x using the rows of the support only (G symmetric)."""
    n = c.shape[0]
    for i in range(n):
        h[i] = c[i]
    for j in range(n):
        xj = x[j]
        if xj != 0.0:
            Gj = G[j]
            for i in range(n):
                h[i] -= Gj[i] * xj


@nb.njit(cache=True, fastmath=False)
def _chol_solve(M, r):
    """Solve ``M z = r`` in place (``r`` ← z) by Cholesky; False when M is not numerically PD."""
    s = M.shape[0]
    for j in range(s):
        d = M[j, j]
        ref = d
        for k in range(j):
            d -= M[j, k] * M[j, k]
        if not d > _PIVOT * ref:
            return False
        d = np.sqrt(d)
        M[j, j] = d
        for i in range(j + 1, s):
            v = M[i, j]
            for k in range(j):
                v -= M[i, k] * M[j, k]
            M[i, j] = v / d
    for i in range(s):
        v = r[i]
        for k in range(i):
            v -= M[i, k] * r[k]
        r[i] = v / M[i, i]
    for i in range(s - 1, -1, -1):
        v = r[i]
        for k in range(i + 1, s):
            v -= M[k, i] * r[k]
        r[i] = v / M[i, i]
    return True


@nb.njit(cache=True, fastmath=False)
def _polish(GW, cW, xW, lam, xc, hc):
    """Candidate ``x_S = G_SS⁻¹(c_S − λ·sign(x_S))`` on the current support S of ``xW``.

    This is the exact sub-problem solution once CD has found the support and signs; CD alone
    approaches it only linearly, at a rate set by the conditioning of ``G_SS``. Writes the
    candidate to ``xc`` and its gradient ``c − G xc`` to ``hc``; returns False if ``G_SS`` is
    numerically singular.
    """
    p = xW.shape[0]
    s = 0
    for a in range(p):
        if xW[a] != 0.0:
            s += 1
    S = np.empty(s, dtype=np.int64)
    s = 0
    for a in range(p):
        if xW[a] != 0.0:
            S[s] = a
            s += 1
    M = np.empty((s, s))
    z = np.empty(s)
    for i in range(s):
        Gi = GW[S[i]]
        for k in range(s):
            M[i, k] = Gi[S[k]]
        z[i] = cW[S[i]] - (lam if xW[S[i]] > 0.0 else -lam)
    if not _chol_solve(M, z):
        return False
    for a in range(p):
        xc[a] = 0.0
        hc[a] = cW[a]
    for i in range(s):
        xc[S[i]] = z[i]
        Gi = GW[S[i]]
        zi = z[i]
        for a in range(p):
            hc[a] -= Gi[a] * zi
    return True


@nb.njit(cache=True, fastmath=False)
def _solve_one(G, diag, sqd, c, yy, lam, x, tol, max_epochs):
    n = c.shape[0]
    h = np.empty(n)
    _full_grad(G, c, x, h)
    cand = np.empty(n, dtype=np.int64)
    cscore = np.empty(n)
    epochs = 0
    primal, gap = _gap(c, x, h, yy, lam)
    while gap > tol * primal and epochs < max_epochs:
        # -- working set: the support, then the strongest KKT violators ------------------
        nnz = 0
        nviol = 0
        for j in range(n):
            if x[j] != 0.0:
                nnz += 1
            elif sqd[j] > 0.0 and abs(h[j]) > lam:
                cand[nviol] = j
                cscore[nviol] = (lam - abs(h[j])) / sqd[j]  # ascending = strongest first
                nviol += 1
        room = max(_P0, 2 * nnz) - nnz
        if nviol > room:
            order = np.argsort(cscore[:nviol])
            keep = cand[:nviol][order[:room]]
            nadd = room
        else:
            keep = cand[:nviol]
            nadd = nviol
        p = nnz + nadd
        W = np.empty(p, dtype=np.int64)
        q = 0
        for j in range(n):
            if x[j] != 0.0:
                W[q] = j
                q += 1
        for i in range(nadd):
            W[q] = keep[i]
            q += 1
        W.sort()
        GW = np.empty((p, p))
        for a in range(p):
            Ga = G[W[a]]
            for b in range(p):
                GW[a, b] = Ga[W[b]]
        xW = np.empty(p)
        hW = np.empty(p)
        cW = np.empty(p)
        inv = np.empty(p)
        xc = np.empty(p)
        hc = np.empty(p)
        for a in range(p):
            j = W[a]
            xW[a] = x[j]
            hW[a] = h[j]
            cW[a] = c[j]
            inv[a] = 1.0 / diag[j] if diag[j] > 0.0 else 0.0
        # -- inner coordinate descent with a sub-problem gap stop ------------------------
        inner_tol = max(0.3 * gap, 0.1 * tol * primal)
        every = _POLISH_EVERY
        since = 0
        while epochs < max_epochs:
            for a in range(p):
                if inv[a] == 0.0:
                    continue
                old = xW[a]
                z = old + hW[a] * inv[a]
                t = lam * inv[a]
                if z > t:
                    new = z - t
                elif z < -t:
                    new = z + t
                else:
                    new = 0.0
                if new != old:
                    d = new - old
                    xW[a] = new
                    Ga = GW[a]
                    for b in range(p):
                        hW[b] -= Ga[b] * d
            epochs += 1
            since += 1
            pin, gin = _gap(cW, xW, hW, yy, lam)
            if gin <= inner_tol:
                break
            if since >= every:
                since = 0
                if _polish(GW, cW, xW, lam, xc, hc):
                    pc, gc = _gap(cW, xc, hc, yy, lam)
                    if gc < gin:
                        xW[:] = xc
                        hW[:] = hc
                        if gc <= inner_tol:
                            break
                    else:
                        every = min(2 * every, 8 * _POLISH_EVERY)
        for a in range(p):
            x[W[a]] = xW[a]
        _full_grad(G, c, x, h)
        primal, gap = _gap(c, x, h, yy, lam)
    return epochs, primal, gap


@nb.njit(parallel=True, cache=True, fastmath=False)
def _lasso_kernel(G, C, yy, lam, X, tol, max_epochs, epochs, primal, gap):
    n, B = C.shape
    diag = np.empty(n)
    sqd = np.empty(n)
    for j in range(n):
        diag[j] = G[j, j]
        sqd[j] = np.sqrt(max(G[j, j], 0.0))
    for b in nb.prange(B):
        c = C[:, b].copy()
        x = X[:, b].copy()
        e, pr, gp = _solve_one(G, diag, sqd, c, yy[b], lam[b], x, tol, max_epochs)
        X[:, b] = x
        epochs[b] = e
        primal[b] = pr
        gap[b] = gp


def lasso_gram_numba(G, C, yy, lam, X, *, tol=1e-8, max_epochs=10000):
    """Compiled working-set coordinate descent for the Lasso on a Gram matrix, parallel over signals.

    Minimises, for every column ``b``,

    .. math:: F_b(x) = \\tfrac12\\|A x - y_b\\|_2^2 + \\lambda_b \\|x\\|_1

    from ``G = AᵀA``, ``C = AᵀY`` and ``‖y_b‖²`` only, and stops each signal when its duality
    gap is at most ``tol·F_b(x)`` (a certificate: ``F_b(x) − F_b^* ≤ gap``).

    Parameters
    ----------
    G : ndarray, shape (n, n)
        Gram matrix ``AᵀA`` (symmetric, real).
    C : ndarray, shape (n, B)
        ``AᵀY``.
    yy : ndarray, shape (B,)
        ``‖y_b‖²``.
    lam : ndarray, shape (B,)
        λ ≥ 0 per signal.
    X : ndarray, shape (n, B)
        Initial point (warm start); overwritten with the solution.
    tol : float, default=1e-8
        Relative duality-gap target.
    max_epochs : int, default=10000
        Maximum coordinate sweeps over the working set, per signal.

    Returns
    -------
    X : ndarray, shape (n, B), float64
        The solution (the same array as the input when it was float64 and C-ordered columns allow).
    n_epochs : int
        Largest number of sweeps used by any signal.
    primal : ndarray, shape (B,)
        ``F_b(x)`` at the returned point.
    gap : ndarray, shape (B,)
        Duality gap at the returned point.

    References
    ----------
    Massias, Gramfort & Salmon, "Celer: a fast solver for the Lasso with dual extrapolation",
    ICML 2018.
    """
    G = np.ascontiguousarray(G, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    Xw = np.asarray(X, dtype=np.float64)
    B = C.shape[1]
    epochs = np.zeros(B, dtype=np.int64)
    primal = np.zeros(B)
    gap = np.zeros(B)
    _lasso_kernel(
        G, C, np.asarray(yy, dtype=np.float64), np.asarray(lam, dtype=np.float64), Xw,
        float(tol), int(max_epochs), epochs, primal, gap,
    )
    if Xw is not X:
        X[...] = Xw
    return Xw, int(epochs.max(initial=0)), primal, gap
