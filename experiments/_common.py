"""Shared command-line plumbing for experiment scripts (progress bars and output live here)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes (CI); writes to --out like a full run")
    p.add_argument("--n-jobs", type=int, default=-1, help="parallel workers (default: all cores)")
    p.add_argument("--backend", default=None, help="joblib backend: loky (default), threading, dask, ray")
    p.add_argument("--out", type=Path, default=ROOT / "figures", help="folder for the figure and its numbers")
    p.add_argument("--cache", type=Path, default=None, help="per-cell cache folder (default: results/cache/<name>)")
    p.add_argument("--force", action="store_true", help="recompute cached cells")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def cache_dir(args, name: str, quick: bool) -> Path:
    if args.cache is not None:
        return Path(args.cache)
    return ROOT / "results" / "cache" / (name + ("-quick" if quick else ""))


def progress(total: int, desc: str, disable: bool = False):
    """A tqdm-based ``on_result`` callback (no-op when tqdm is missing or disabled)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None, lambda: None
    bar = tqdm(total=total, desc=desc, disable=disable, leave=False)
    return (lambda rec: bar.update(1)), bar.close


def setup_logging():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


def run_cells(args, name: str, cells, compute, cache=None):
    """Run ``cells`` through the cached grid runner with a progress bar; return ``(rows, seconds)``.

    ``cache`` defaults to :func:`cache_dir` for ``name``.
    """
    from cstoolkit.experiment import run_grid

    cells = list(cells)
    cb, close = progress(len(cells), name, args.no_progress)
    with Timer() as tm:
        try:
            rows = run_grid(cells, compute, cache if cache is not None else cache_dir(args, name, args.quick),
                            n_jobs=args.n_jobs,
                            backend=args.backend, force=args.force, on_result=cb)
        finally:
            close()
    return rows, tm.seconds


def save_figure(fig, out: Path, name: str) -> None:
    """Write ``out/name.png`` and ``out/name.svg`` (deterministic bytes) and close the figure."""
    from experiments import _plotting

    _plotting.save(fig, out, name)
