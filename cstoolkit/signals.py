"""Sparse and compressible test signals (columns are signals)."""

from __future__ import annotations

import numpy as np

from ._validation import check_random_state

__all__ = ["sparse_signals", "compressible_signals"]

_AMPLITUDES = ("gaussian", "sign", "uniform", "ones")


def sparse_signals(n: int, k: int, n_signals: int | None = None, *, amplitude: str = "gaussian",
                   random_state=None, dtype=np.float64, return_support: bool = False):
    """Exactly k-sparse signals with a uniformly random support.

    Parameters
    ----------
    n : int
        Signal length.
    k : int
        Non-zeros per signal, 0 ≤ k ≤ n.
    n_signals : int or None, default=None
        Number of signals B; None returns one signal of shape (n,).
    amplitude : {"gaussian", "sign", "uniform", "ones"}, default="gaussian"
        Law of the non-zero values: N(0, 1); ±1 with equal probability (the hard case for greedy
        methods); uniform on [-1, 1]; or all ones (Tropp & Gilbert's spikes).
    random_state : int, Generator or None
    dtype : dtype, default=float64
    return_support : bool, default=False
        Also return the boolean support mask.

    Returns
    -------
    x : ndarray, shape (n,) or (n, B)
    support : ndarray of bool, same shape (only if ``return_support``)
    """
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n must be a positive int, got {n!r}.")
    if not (isinstance(k, (int, np.integer)) and 0 <= k <= n):
        raise ValueError(f"k must be an int in [0, n={n}], got {k!r}.")
    if amplitude not in _AMPLITUDES:
        raise ValueError(f"amplitude must be one of {_AMPLITUDES}, got {amplitude!r}.")
    rng = check_random_state(random_state)
    B = 1 if n_signals is None else int(n_signals)
    # k distinct indices per column, vectorised: the k smallest of n uniform keys
    keys = rng.random((n, B))
    idx = np.argpartition(keys, k - 1, axis=0)[:k] if 0 < k < n else (np.arange(n)[:, None].repeat(B, 1) if k == n else np.zeros((0, B), int))
    if amplitude == "gaussian":
        vals = rng.standard_normal((k, B))
    elif amplitude == "sign":
        vals = rng.integers(0, 2, size=(k, B)) * 2.0 - 1.0
    elif amplitude == "uniform":
        vals = rng.uniform(-1, 1, size=(k, B))
    else:
        vals = np.ones((k, B))
    x = np.zeros((n, B), dtype=dtype)
    np.put_along_axis(x, idx, vals.astype(dtype), axis=0)
    supp = x != 0
    if amplitude != "gaussian" and amplitude != "uniform":
        supp = np.zeros((n, B), dtype=bool)
        np.put_along_axis(supp, idx, True, axis=0)
    if n_signals is None:
        x, supp = x[:, 0], supp[:, 0]
    return (x, supp) if return_support else x


def compressible_signals(n: int, n_signals: int | None = None, *, decay: float = 1.0, random_state=None,
                         dtype=np.float64):
    """Power-law compressible signals: sorted magnitudes |x|_(i) = i^(−decay), random signs and order.

    Parameters
    ----------
    n : int
    n_signals : int or None
    decay : float, default=1.0
        Power-law exponent p > 0 (larger = more compressible; the best k-term error decays like
        k^(1/2 − p) in ℓ2 for p > 1/2).
    random_state : int, Generator or None
    """
    if not decay > 0:
        raise ValueError(f"decay must be > 0, got {decay!r}.")
    rng = check_random_state(random_state)
    B = 1 if n_signals is None else int(n_signals)
    mags = np.arange(1, n + 1, dtype=float) ** (-float(decay))
    perm = np.argsort(rng.random((n, B)), axis=0)
    x = mags[perm] * (rng.integers(0, 2, size=(n, B)) * 2.0 - 1.0)
    x = x.astype(dtype)
    return x[:, 0] if n_signals is None else x
