"""Thread-pool hygiene for the compiled kernels.

After a BLAS call (the Gram matrix ``AᵀA``, say) OpenBLAS' worker threads keep spinning for a
while; a parallel numba kernel started right after competes with them for the same cores.
On the 2-core benchmark machine that cost the Lasso homotopy ~40% of its time
(bench/bench_lasso.py). Kernels that follow BLAS work with a parallel compiled loop therefore
run their BLAS part single-threaded — the matrices are small next to the loop's work.
"""

from __future__ import annotations

import contextlib
import functools

__all__ = ["blas_single_thread", "gram_is_small"]

#: below this many multiply-adds (m·n² + m·n·B; ≈ 0.1 s on one thread here) the Gram matrices
#: are computed on one BLAS thread ahead of a parallel kernel; above it two threads win. Covers
#: the benchmarks' Lasso (200×1000, 100 targets) and the coding of 256-row mini-batches over
#: 1024 atoms of dimension 384 in dictionary learning.
_SMALL_GRAM_FLOPS = 2e9


@functools.lru_cache(maxsize=None)
def _controller():
    # created on first use (scanning the loaded libraries once), never at import
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def blas_single_thread(active: bool = True):
    """Limit BLAS to one thread inside the block (no-op when ``active`` is False).

    Parameters
    ----------
    active : bool, default=True
        Whether to limit; callers pass "a parallel compiled kernel follows".
    """
    ctl = _controller() if active else None
    if ctl is None:
        yield
        return
    with ctl.limit(limits=1, user_api="blas"):
        yield


def gram_is_small(m: int, n: int, B: int) -> bool:
    """Whether ``AᵀA`` and ``AᵀY`` (A of shape (m, n), B signals) are cheap enough to compute
    on one BLAS thread ahead of a parallel kernel (see the module docstring)."""
    return float(m) * n * (n + B) < _SMALL_GRAM_FLOPS
