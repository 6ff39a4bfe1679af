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

__all__ = ["blas_single_thread"]


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
