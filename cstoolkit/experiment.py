"""Resumable, parallel grid runner for experiments (computation only; drawing lives in scripts).

An experiment is a list of *cells* (JSON-serialisable dicts of parameters, seeds included)
and a pure function ``compute(cell) -> dict``. :func:`run_grid` computes the cells that are
not cached yet, in parallel with joblib, writing each result atomically to
``cache_dir/<key>.json`` as soon as it is done — an interrupted run resumes where it stopped,
a figure re-renders without recomputing, and a distributed joblib backend (Dask, Ray) gives
the same files as a local run because each cell is seeded by its own parameters.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = ["cell_key", "run_grid", "atomic_write_text", "write_json", "write_csv", "read_csv", "cell_seed"]

logger = logging.getLogger(__name__)


def _jsonable(obj: Any):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else (1e308 if obj > 0 else -1e308)
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


def _compute_record(compute: Callable[[dict], dict], cell: dict) -> dict:
    # runs on the worker; the driver stores the record (workers need no shared disk)
    result = compute(cell)
    if not isinstance(result, dict):
        raise TypeError(f"compute() must return a dict, got {type(result).__name__}")
    return _jsonable({"cell": cell, "result": result})


def run_grid(
    cells: Iterable[dict],
    compute: Callable[[dict], dict],
    cache_dir,
    *,
    n_jobs: int = 1,
    backend: str | None = None,
    force: bool = False,
    on_result: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Compute every cell not already cached; return ``{**cell, **result}`` rows in cell order.

    Parameters
    ----------
    cells : iterable of dict
        JSON-serialisable parameters; each cell must carry its own seed(s).
    compute : callable
        ``compute(cell) -> dict`` (module-level function so that it pickles to workers).
    cache_dir : path
        One ``<key>.json`` file per finished cell.
    n_jobs : int, default=1
        joblib workers (-1: all cores).
    backend : str or None, default=None
        joblib backend ("loky", "threading", "dask", "ray" once registered).
    force : bool, default=False
        Recompute even cached cells.
    on_result : callable, optional
        Called with each finished record (cached ones first) — scripts hang a progress bar here.

    Returns
    -------
    rows : list of dict
    """
    from joblib import Parallel, delayed, parallel_config

    cells = [_jsonable(dict(c)) for c in cells]
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    paths = [cache / f"{cell_key(c)}.json" for c in cells]
    records: list[dict | None] = [None] * len(cells)
    todo = []
    for i, (c, p) in enumerate(zip(cells, paths)):
        if not force and p.exists():
            try:
                records[i] = json.loads(p.read_text())
                if on_result:
                    on_result(records[i])
                continue
            except json.JSONDecodeError:
                logger.warning("corrupt cache file %s: recomputing", p)
        todo.append(i)
    logger.info("%d of %d cells cached; computing %d", len(cells) - len(todo), len(cells), len(todo))
    if todo:
        cfg = {"n_jobs": n_jobs} if backend is None else {"n_jobs": n_jobs, "backend": backend}

        def store(i, rec):
            write_json(paths[i], rec)  # on the driver, as each result arrives: resumable
            records[i] = rec
            if on_result:
                on_result(rec)

        index = {cell_key(cells[i]): i for i in todo}
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
                for rec in par(delayed(_compute_record)(compute, cells[i]) for i in part):
                    store(index[cell_key(rec["cell"])], rec)
    return [{**r["cell"], **r["result"]} for r in records]
