"""Run experiment sweeps on a Dask or Ray cluster through joblib backends.

:func:`cstoolkit.experiment.run_grid` hands its cells to ``joblib.Parallel`` under
``parallel_config(backend=...)``. joblib ships a ``"dask"`` backend that sends each cell to
the workers of the current default :class:`dask.distributed.Client`, and Ray provides a
``"ray"`` backend. This module makes those backends usable in one line:

>>> from cstoolkit.distributed import parallel_backend          # doctest: +SKIP
>>> with parallel_backend("dask", scheduler="tcp://10.0.0.5:8786") as backend:
...     rows = run_grid(cells, compute, "results/cache/sweep", backend=backend, n_jobs=-1)

* ``"dask"``: connects a :class:`~dask.distributed.Client` to ``scheduler`` (or to the
  address in the environment variable ``CSTOOLKIT_DASK_SCHEDULER``); without either it
  starts a :class:`~dask.distributed.LocalCluster` bound to the loopback interface and
  closes it on exit.
* ``"ray"``: ``ray.init(address=scheduler or $CSTOOLKIT_RAY_ADDRESS)`` (a local Ray when
  neither is set) and registers Ray's joblib backend. Ray is imported only here.
* any other name (``None``, ``"loky"``, ``"threading"``, ...) is passed through unchanged.

Because every cell carries its own seed and is cached as ``<key>.json`` by the driver as
soon as it returns, a cluster run gives the same numbers as a local one and an
interrupted cluster run resumes where it stopped. The compute function travels to the
workers by reference, so it (and ``cstoolkit``) must be importable there;
:func:`cstoolkit.phase.phase_trial` (one phase-diagram cell, the compute function of
``experiments/phase_transition.py``) is a ready-made one.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

__all__ = [
    "DASK_SCHEDULER_ENV",
    "RAY_ADDRESS_ENV",
    "parallel_backend",
    "dask_client",
    "register_ray",
]

logger = logging.getLogger(__name__)

#: Environment variable read for the Dask scheduler address (e.g. ``tcp://host:8786``).
DASK_SCHEDULER_ENV = "CSTOOLKIT_DASK_SCHEDULER"
#: Environment variable read for the Ray cluster address (e.g. ``ray://host:10001``).
RAY_ADDRESS_ENV = "CSTOOLKIT_RAY_ADDRESS"


def _import_distributed():
    try:
        import distributed  # noqa: F401
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "the 'dask' backend needs dask.distributed; install it with "
            "`pip install 'cstoolkit[distributed]'` (or `pip install 'dask[distributed]'`)."
        ) from exc
    return Client, LocalCluster


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
) -> Iterator[object]:
    """A :class:`dask.distributed.Client`, set as the default client for the ``with`` block.

    Parameters
    ----------
    scheduler : str or None, default=None
        Scheduler address such as ``"tcp://10.0.0.5:8786"``. ``None`` reads
        ``$CSTOOLKIT_DASK_SCHEDULER``; when that is unset too, a
        :class:`~dask.distributed.LocalCluster` is started on ``127.0.0.1`` (no dashboard)
        and shut down when the block ends.
    n_workers : int or None, default=None
        Workers of the local cluster (``None``: one per core). Ignored with a scheduler.
    threads_per_worker : int, default=1
        Threads per local worker. One thread keeps BLAS in each worker single-threaded
        per task, the fastest layout for many small solves.
    processes : bool, default=True
        Local workers as processes (True) or threads of this process (False).

    Yields
    ------
    client : dask.distributed.Client
    """
    Client, LocalCluster = _import_distributed()
    address = scheduler or os.environ.get(DASK_SCHEDULER_ENV) or None
    cluster = None
    if address is None:
        # Process workers talk over TCP bound to loopback only; thread workers use dask's
        # in-process transport (which rejects a host argument) and open no socket at all.
        where = {"host": "127.0.0.1"} if processes else {}
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            dashboard_address=None,
            **where,
        )
        address = cluster
        logger.info("started a local Dask cluster with %d workers", len(cluster.workers))
    else:
        logger.info("connecting to the Dask scheduler at %s", address)
    try:
        client = Client(address, set_as_default=True)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise OSError(
            f"could not reach the Dask scheduler at {address!r} ({exc}); start one with "
            f"`dask scheduler` and `dask worker <address>`, or unset {DASK_SCHEDULER_ENV} "
            "to use a local cluster."
        ) from exc
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def register_ray(address: str | None = None) -> None:
    """Connect to Ray and register its joblib backend under the name ``"ray"``.

    Parameters
    ----------
    address : str or None, default=None
        Ray cluster address (``"ray://host:10001"`` or ``"auto"``); ``None`` reads
        ``$CSTOOLKIT_RAY_ADDRESS`` and otherwise starts a local Ray instance.

    Raises
    ------
    ImportError
        When Ray is not installed (``pip install 'cstoolkit[ray]'``).
    """
    try:
        import ray
        from ray.util.joblib import register_ray as _register
    except ImportError as exc:
        raise ImportError(
            "the 'ray' backend needs Ray; install it with `pip install 'cstoolkit[ray]'` "
            "(or `pip install ray`), or use backend='dask'."
        ) from exc
    address = address or os.environ.get(RAY_ADDRESS_ENV) or None
    if not ray.is_initialized():
        ray.init(address=address)
    _register()


@contextlib.contextmanager
def parallel_backend(backend: str | None, *, scheduler: str | None = None, **cluster_kwargs) -> Iterator[str | None]:
    """Make a joblib backend usable for :func:`~cstoolkit.experiment.run_grid` inside a block.

    Parameters
    ----------
    backend : str or None
        ``"dask"``, ``"ray"``, or any joblib backend name (``None``, ``"loky"``,
        ``"threading"``), which is yielded unchanged.
    scheduler : str or None, default=None
        Dask scheduler or Ray cluster address; ``None`` reads ``$CSTOOLKIT_DASK_SCHEDULER``
        / ``$CSTOOLKIT_RAY_ADDRESS`` and otherwise runs a local cluster.
    **cluster_kwargs
        Passed to :func:`dask_client` for a local Dask cluster (``n_workers``,
        ``threads_per_worker``, ``processes``).

    Yields
    ------
    backend : str or None
        The name to pass as ``run_grid(..., backend=backend)``.

    Examples
    --------
    >>> with parallel_backend("dask") as b:                      # doctest: +SKIP
    ...     rows = run_grid(cells, phase_trial, "cache", backend=b, n_jobs=-1)
    """
    if backend == "dask":
        with dask_client(scheduler, **cluster_kwargs):
            yield "dask"
    elif backend == "ray":
        if cluster_kwargs:
            raise TypeError(f"options {sorted(cluster_kwargs)} apply to a local Dask cluster only.")
        register_ray(scheduler)
        yield "ray"
    else:
        if scheduler is not None:
            raise ValueError(f"a scheduler address needs backend='dask' or 'ray', got backend={backend!r}.")
        yield backend
