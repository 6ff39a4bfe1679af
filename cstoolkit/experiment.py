"""Resumable, parallel grid runner for experiments (computation only; drawing lives in scripts).

An experiment is a list of *cells* (JSON-serialisable dicts of parameters, seeds included)
and a pure function ``compute(cell) -> dict``. :func:`run_grid` computes the cells that are
not cached yet, in parallel with joblib, writing each result atomically to
``cache_dir/<key>.json`` as soon as it is done — an interrupted run resumes where it stopped,
a figure re-renders without recomputing, and a distributed joblib backend (Dask, Ray) gives
the same files as a local run because each cell is seeded by its own parameters.

Why one file (over 400 lines): caching, records and the parallel runner are one protocol — the
record a worker writes is the one the runner reads back and validates.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = ["cell_key", "run_grid", "atomic_write_text", "write_json", "write_csv", "read_csv", "cell_seed",
           "GridInfo", "RecordError", "config_hash", "engine_info", "make_record", "read_record"]

logger = logging.getLogger(__name__)


def _jsonable(obj: Any):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        # JSON has no NaN/Inf: a missing or diverged value is null (an empty CSV cell), never
        # a stand-in number that a reader could average; the study's count columns say how many.
        return None
    return obj


def cell_key(cell: dict) -> str:
    """Stable hash of a cell's parameters (sorted JSON), used as its cache file name."""
    blob = json.dumps(_jsonable(cell), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def cell_seed(cell: dict, base_seed: int = 0) -> int:
    """A 32-bit seed derived from the cell's parameters and a base seed (order-independent)."""
    return int(hashlib.sha1(f"{base_seed}:{cell_key(cell)}".encode()).hexdigest()[:8], 16)


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, obj) -> None:
    """Atomically write ``obj`` as indented JSON (numpy values converted)."""
    atomic_write_text(path, json.dumps(_jsonable(obj), indent=1, sort_keys=True) + "\n")


def write_csv(path, rows: Sequence[dict], columns: Sequence[str] | None = None) -> None:
    """Atomically write a list of flat dicts as CSV (columns default to the first row's keys)."""
    rows = list(rows)
    if columns is None:
        columns = list(rows[0]) if rows else []
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(_jsonable(r))
    atomic_write_text(path, buf.getvalue())


def read_csv(path) -> list[dict]:
    """Read a CSV written by :func:`write_csv` (numbers parsed back to float where possible)."""
    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            parsed = {}
            for k, v in row.items():
                try:
                    parsed[k] = float(v)
                except (TypeError, ValueError):
                    parsed[k] = v
            out.append(parsed)
    return out


#: cells per round trip for joblib backends that cannot stream results back (Ray)
_LIST_CHUNK = 16

#: format tag of a cache record; records without it (or with another) are recomputed
RECORD_FORMAT = "cstoolkit.cell/2"
_RECORD_KEYS = ("format", "key", "config", "cell", "result", "engine", "compute_seconds", "run", "checksum")


def _interrupted(n_cached: int, n_cells: int) -> KeyboardInterrupt:
    # exactly KeyboardInterrupt (not a subclass): an unhandled one still makes the interpreter
    # exit with the SIGINT status (130), which CPython grants only to the exact type
    exc = KeyboardInterrupt(f"{n_cached} of {n_cells} cells cached; rerun the same command to resume")
    exc.n_cached, exc.n_cells = n_cached, n_cells
    return exc


@dataclass(frozen=True)
class GridInfo:
    """What :func:`run_grid` did (``return_info=True``).

    Attributes
    ----------
    n_cells, n_cached, n_computed, n_rejected : int
        Cells of the grid; read from the cache; computed in this call; cache files that failed
        verification (recomputed, see :func:`read_record`).
    seconds : float
        Wall time of this call.
    compute_wall_seconds : float or None
        Wall time of the run(s) that computed the cells now in the cache (from the run ledger
        ``cache_dir/_runs/``); unchanged by a rerun from cache. None if a run left no ledger
        entry (killed with SIGKILL).
    cell_seconds : float
        Sum of the cells' own compute times (core-seconds, also unchanged by a cached rerun).
    runs : int
        Number of runs that computed the cells.
    engines : list of dict
        The distinct :func:`engine_info` records of the processes that computed the cells.
    config_hash : str
        The configuration hash every record carries.
    """

    n_cells: int
    n_cached: int
    n_computed: int
    n_rejected: int
    seconds: float
    compute_wall_seconds: float | None
    cell_seconds: float
    runs: int
    engines: list
    config_hash: str

    def as_dict(self) -> dict:
        """The fields as a JSON-ready dict (for a study's JSON)."""
        return dataclasses.asdict(self)


def _plain(value):
    """A JSON-ready value: threadpoolctl reports some versions as functions (scipy's
    fast_matrix_market, once ``scipy.io.mmread`` has run), which the cache cannot store."""
    if callable(value):
        try:
            value = value()
        except Exception:  # pragma: no cover - an odd third-party hook: keep its name
            value = repr(value)
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


@functools.lru_cache(maxsize=None)
def engine_info() -> dict:
    """The numerical engine of this process: compiled kernels (numba) or numpy, and BLAS threads.

    Computed once per process (worker processes report their own: joblib's loky workers run
    with fewer BLAS threads than the driver).

    Returns
    -------
    dict
        ``kernels`` (``"numba"`` or ``"numpy"``: what ``engine="auto"`` solvers run),
        ``numba`` and ``numpy`` versions, ``blas``: one entry per loaded BLAS/OpenMP library
        (``internal_api``, ``version``, ``num_threads``, ``threading_layer``) from threadpoolctl.
    """
    from .solvers._engine import numba_available

    has_numba = numba_available()
    numba_version = None
    if has_numba:
        import numba

        numba_version = numba.__version__
    try:
        from threadpoolctl import threadpool_info

        pools = [{k: _plain(d.get(k)) for k in ("user_api", "internal_api", "version", "num_threads", "threading_layer")}
                 for d in threadpool_info()]
    except Exception:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pools = []
    return {"kernels": "numba" if has_numba else "numpy", "numba": numba_version,
            "numpy": np.__version__, "blas": pools}


def config_hash(config: Any) -> str:
    """Hash of a study's configuration (the settings that are not in its cells).

    Parameters
    ----------
    config : JSON-serialisable
        For example ``{"study": "phase_transition"}``; None when the cells say it all.

    Returns
    -------
    str
        16 hex digits.
    """
    blob = json.dumps(_jsonable({"config": config}), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _checksum(rec: dict) -> str:
    body = {k: rec[k] for k in ("format", "key", "config", "cell", "result", "compute_seconds")}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def make_record(cell: dict, result: dict, config: str, *, engine: dict | None = None,
                compute_seconds: float = 0.0, run: str = "") -> dict:
    """A cache record: the cell, its result, its key, the configuration hash and a checksum.

    Parameters
    ----------
    cell, result : dict
        JSON-serialisable (numpy values are converted).
    config : str
        :func:`config_hash` of the study.
    engine : dict, optional
        :func:`engine_info` of the process that computed it.
    compute_seconds : float, default 0.0
    run : str, default ""
        Id of the run (ledger entry) that computed it.

    Returns
    -------
    dict
        With keys ``format, key, config, cell, result, engine, compute_seconds, run, checksum``;
        the checksum (SHA-256) covers everything but ``engine``, ``run`` and itself.
    """
    cell = _jsonable(cell)
    rec = {"format": RECORD_FORMAT, "key": cell_key(cell), "config": config, "cell": cell,
           "result": _jsonable(result), "engine": _jsonable(engine), "compute_seconds": float(compute_seconds),
           "run": run}
    rec["checksum"] = _checksum(rec)
    return rec


class RecordError(ValueError):
    """A cache file that is not a valid record of the expected cell (see :func:`read_record`)."""


def read_record(path, cell: dict, config: str) -> dict:
    """Read and verify the cache record of ``cell``.

    Parameters
    ----------
    path : path
        The cell's cache file.
    cell : dict
        The cell it must hold (already passed through the JSON conversion).
    config : str
        The study's :func:`config_hash`.

    Returns
    -------
    dict
        The record.

    Raises
    ------
    RecordError
        Not UTF-8, not JSON, not a record (``{}``, ``null``, missing keys), another format,
        the key of another cell (a file copied over this one), another configuration, or a
        checksum that does not match its numbers (edited by hand). The message says which.
    """
    raw = Path(path).read_bytes()
    try:
        rec = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RecordError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(rec, dict):
        raise RecordError(f"a JSON {type(rec).__name__}, not a record")
    missing = [k for k in _RECORD_KEYS if k not in rec]
    if missing:
        old = "written by an older cstoolkit, " if "cell" in rec and "result" in rec else ""
        raise RecordError(f"{old}missing {', '.join(missing)}")
    if rec["format"] != RECORD_FORMAT:
        raise RecordError(f"format {rec['format']!r}, expected {RECORD_FORMAT!r}")
    key = cell_key(cell)
    if rec["key"] != key or rec["cell"] != cell:
        raise RecordError(f"the record of cell {rec['key']!r} (another cell; a copied file?), expected {key!r}")
    if rec["config"] != config:
        raise RecordError(f"configuration {rec['config']!r}, this study's is {config!r}")
    if not isinstance(rec["result"], dict):
        raise RecordError("its result is not a JSON object")
    try:
        ok = rec["checksum"] == _checksum(rec)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise RecordError("checksum mismatch: its numbers were changed after it was written")
    return rec


def _watch_parent(ppid: int) -> None:
    # a worker whose driver died (SIGKILL: no chance to stop its pool) exits within a second
    while True:
        time.sleep(1.0)
        if os.getppid() != ppid:
            os._exit(1)


_WATCHDOG: list = []


def _arm_watchdog(driver_pid: int) -> None:
    # only in a worker process that the driver started itself (loky, multiprocessing);
    # threads (same pid) and remote workers (Dask, Ray: another parent) are left alone
    if os.getpid() == driver_pid or os.getppid() != driver_pid or _WATCHDOG:
        return
    t = threading.Thread(target=_watch_parent, args=(driver_pid,), name="cstoolkit-parent-watch", daemon=True)
    t.start()
    _WATCHDOG.append(t)


def _compute_record(compute: Callable[[dict], dict], cell: dict, config: str, run: str, driver_pid: int) -> dict:
    # runs on the worker; the driver stores the record (workers need no shared disk)
    _arm_watchdog(driver_pid)
    t0 = time.perf_counter()
    result = compute(cell)
    seconds = time.perf_counter() - t0
    if not isinstance(result, dict):
        raise TypeError(f"compute() must return a dict, got {type(result).__name__}")
    return make_record(cell, result, config, engine=engine_info(), compute_seconds=seconds, run=run)


def _stop_local_workers() -> None:
    # the reusable loky pool would otherwise keep its workers (busy with cells nobody awaits)
    try:
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=False, kill_workers=True)
    except Exception:  # pragma: no cover - nothing to stop
        pass


def _ledger(cache: Path) -> Path:
    return cache / "_runs"


def _run_wall_seconds(cache: Path, run_ids: set) -> tuple[float | None, int]:
    total, missing = 0.0, False
    for rid in run_ids:
        try:
            total += float(json.loads((_ledger(cache) / f"{rid}.json").read_text())["wall_seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            missing = True
    return (None if missing else total), len(run_ids)


def run_grid(
    cells: Iterable[dict],
    compute: Callable[[dict], dict],
    cache_dir,
    *,
    config: Any = None,
    n_jobs: int = 1,
    backend: str | None = None,
    force: bool = False,
    on_result: Callable[[dict], None] | None = None,
    return_info: bool = False,
):
    """Compute every cell not already cached; return ``{**cell, **result}`` rows in cell order.

    Parameters
    ----------
    cells : iterable of dict
        JSON-serialisable parameters; each cell must carry its own seed(s).
    compute : callable
        ``compute(cell) -> dict`` (module-level function so that it pickles to workers).
    cache_dir : path
        One ``<key>.json`` record per finished cell (see :func:`make_record`), and a ledger
        of runs in ``_runs/``.
    config : JSON-serialisable, optional
        The study's settings that are not in the cells; its hash (:func:`config_hash`) is
        stored in every record and checked on read: records of another configuration are
        recomputed.
    n_jobs : int, default=1
        joblib workers (-1: all cores).
    backend : str or None, default=None
        joblib backend ("loky", "threading", "dask", "ray" once registered).
    force : bool, default=False
        Recompute even cached cells.
    on_result : callable, optional
        Called with each finished record (cached ones first) — scripts hang a progress bar here.
    return_info : bool, default=False
        Also return a :class:`GridInfo`.

    Returns
    -------
    rows : list of dict
    info : GridInfo
        Only with ``return_info=True``.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C: the finished cells are stored and local workers stopped; the message is
        the one line to print (``"N of M cells cached; rerun the same command to resume"``),
        the attributes ``n_cached`` and ``n_cells`` hold the counts, and the original
        interrupt is not chained (no second traceback).

    Notes
    -----
    A cache file that fails :func:`read_record` (not UTF-8 or JSON, not a record, another
    cell's record, another configuration, edited numbers) is logged as a warning and
    recomputed; it is never used.
    """
    from joblib import Parallel, delayed, parallel_config

    t_start = time.perf_counter()
    cells = [_jsonable(dict(c)) for c in cells]
    chash = config_hash(config)
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    paths = [cache / f"{cell_key(c)}.json" for c in cells]
    records: list[dict | None] = [None] * len(cells)
    todo = []
    rejected = 0
    for i, (c, p) in enumerate(zip(cells, paths)):
        if not force and p.exists():
            try:
                records[i] = read_record(p, c, chash)
            except (RecordError, OSError) as exc:
                logger.warning("cache file %s is not a valid record of its cell (%s): recomputing", p, exc)
                rejected += 1
            else:
                if on_result:
                    on_result(records[i])
                continue
        todo.append(i)
    n_cached = len(cells) - len(todo)
    logger.info("%d of %d cells cached; computing %d", n_cached, len(cells), len(todo))
    if todo:
        run = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        cfg = {"n_jobs": n_jobs} if backend is None else {"n_jobs": n_jobs, "backend": backend}
        done = [0]

        def store(i, rec):
            write_json(paths[i], rec)  # on the driver, as each result arrives: resumable
            records[i] = rec
            done[0] += 1
            if on_result:
                on_result(rec)

        index = {cell_key(cells[i]): i for i in todo}
        t_run = time.perf_counter()
        try:
            with parallel_config(**cfg):
                # results stream back as they finish (in any order) where the backend can; Ray's
                # joblib backend cannot (joblib refuses generators when the backend is created):
                # there the cells go in chunks, each stored when it returns
                try:
                    par = Parallel(return_as="generator_unordered")
                    chunk = len(todo)
                except ValueError as exc:
                    if "return_as" not in str(exc):
                        raise
                    par = Parallel(return_as="list")
                    chunk = _LIST_CHUNK
                for lo in range(0, len(todo), chunk):
                    part = todo[lo:lo + chunk]
                    tasks = (delayed(_compute_record)(compute, cells[i], chash, run, os.getpid()) for i in part)
                    for rec in par(tasks):
                        store(index[rec["key"]], rec)
        except KeyboardInterrupt:
            _stop_local_workers()
            raise _interrupted(n_cached + done[0], len(cells)) from None
        finally:
            if done[0]:
                write_json(_ledger(cache) / f"{run}.json", {
                    "run": run, "wall_seconds": time.perf_counter() - t_run, "n_computed": done[0],
                    "n_cells": len(cells), "config": chash, "engine": engine_info(),
                })
    rows = [{**r["cell"], **r["result"]} for r in records]
    if not return_info:
        return rows
    wall, n_runs = _run_wall_seconds(cache, {r["run"] for r in records})
    engines = []
    for r in records:
        if r["engine"] not in engines:
            engines.append(r["engine"])
    info = GridInfo(n_cells=len(cells), n_cached=n_cached, n_computed=len(todo), n_rejected=rejected,
                    seconds=time.perf_counter() - t_start, compute_wall_seconds=wall,
                    cell_seconds=float(sum(r["compute_seconds"] for r in records)), runs=n_runs,
                    engines=engines, config_hash=chash)
    return rows, info
