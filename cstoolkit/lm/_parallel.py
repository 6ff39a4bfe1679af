"""Run independent pieces of a forward pass on the BLAS's threads, each piece single-threaded.

Why not let the BLAS thread every matrix product? A transformer layer is a chain of mid-sized
GEMMs (512 × 576 by 576 × 1536) and many small ones (attention: 384 × 64 by 64 × 512), with
element-wise work (softmax, SiLU, RoPE, RMSNorm) between them that numpy runs on one thread.
OpenBLAS's worker threads spin while they wait for the next product; on a busy 2-core machine
(load ≈ 11) that spinning tripled the forward's CPU time and made the small attention products
25× slower than on one thread (SmolLM2, 512 tokens: 15 s wall / 6.7 CPU-s with two BLAS threads,
3.3 s / 1.5 CPU-s on one). Splitting the rows (or the attention's heads and blocks) between
Python threads, each calling a single-threaded BLAS, keeps every core busy with useful work —
GEMMs *and* the element-wise parts, since numpy releases the GIL in both — and a waiting thread
sleeps instead of spinning.

The number of workers is the BLAS's current thread count, so ``threadpoolctl.threadpool_limits``
governs it as it governs the BLAS (``threadpool_limits(1)`` gives a serial forward).
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

from .._threads import _controller

__all__ = ["blas_threads", "workers"]

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()


def blas_threads() -> int:
    """The BLAS's current thread count (1 when threadpoolctl finds no BLAS)."""
    ctl = _controller()
    if ctl is None:
        return 1
    n = [lib.num_threads for lib in ctl.lib_controllers if lib.user_api == "blas"]
    return max(n) if n else 1


class _Serial:
    """Runs the pieces in the calling thread (one worker)."""

    n = 1

    @staticmethod
    def map(fn, items):
        for it in items:
            fn(*it)


class _Threads:
    """Runs the pieces on ``n`` pool threads and waits (blocking, not spinning) for all of them."""

    def __init__(self, pool, n):
        self._pool, self.n = pool, n

    def map(self, fn, items):
        futures = [self._pool.submit(fn, *it) for it in items]
        for f in futures:
            f.result()  # re-raises a worker's exception here


@contextlib.contextmanager
def workers(n: int | None = None):
    """A runner for independent pieces of work, with the BLAS single-threaded inside the block.

    Parameters
    ----------
    n : int or None, default=None
        Number of workers; None takes :func:`blas_threads`. With 1 the pieces run in the
        calling thread and the BLAS keeps its setting.

    Yields
    ------
    runner
        An object with ``n`` and ``map(fn, items)``, which calls ``fn(*item)`` for every item
        and returns once all are done. Items passed to one ``map`` must not depend on each other.
    """
    global _pool, _pool_size
    n = blas_threads() if n is None else int(n)
    if n <= 1:
        yield _Serial()
        return
    with _lock:  # created on first use, never at import; resized when the thread count changes
        if _pool is None or _pool_size != n:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = ThreadPoolExecutor(max_workers=n, thread_name_prefix="cstoolkit-lm"), n
        pool = _pool
    ctl = _controller()
    with ctl.limit(limits=1, user_api="blas"):
        yield _Threads(pool, n)
