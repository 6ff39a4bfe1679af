"""Shared command-line plumbing for experiment scripts (progress bars and output live here).

Output policy
-------------
A run writes its figure and numbers to ``results/<study>/`` (``results/<study>-quick/`` with
``--quick``) — never into the committed ``figures/`` folder, which changes only with
``--publish`` (refused together with ``--quick``: a CI-size run never replaces a full-size
figure). ``results/`` is beside the checkout's ``experiments/`` in a source checkout and in
the current folder otherwise (an installed package).

Every study JSON carries a ``run`` record (:func:`run_record`): the engine that computed
the cells (numba or numpy kernels, BLAS threads), the wall time of the run(s) that computed
them — kept when a rerun reads everything from cache — and how many cells this run computed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: the committed figures; written only with --publish
FIGURES = ROOT / "figures"


def _is_checkout() -> bool:
    return (ROOT / "setup.cfg").is_file() and (ROOT / "experiments").is_dir()


def results_root() -> Path:
    """``results/`` of the source checkout, or of the current folder for an installed package."""
    return (ROOT if _is_checkout() else Path.cwd()) / "results"


class StudyParser(argparse.ArgumentParser):
    """An argument parser that resolves and checks ``--out`` against the output policy."""

    study: str = "study"

    def error(self, message):
        # one line on stderr and status 2, like every error of the cstoolkit command
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_known_args(self, args=None, namespace=None):
        ns, rest = super().parse_known_args(args, namespace)
        if hasattr(ns, "publish"):
            ns.out = output_dir(ns, self.study, error=self.error)
        return ns, rest


def output_dir(args, name: str, error=None) -> Path:
    """The folder a run writes to: ``--out``, ``figures/`` with ``--publish``, else ``results/<name>``.

    Refuses (through ``error``, default ``ValueError``) ``--quick --publish`` and an ``--out``
    inside the committed ``figures/`` folder without ``--publish``.
    """
    def fail(msg):
        if error is not None:
            error(msg)
        raise ValueError(msg)

    if args.publish and args.quick:
        fail("--publish writes the committed figures/; a --quick run never replaces them (drop --quick)")
    if args.publish and not _is_checkout():
        fail(f"--publish writes the committed figures/ of a source checkout; {ROOT} is an installed copy")
    if args.out is None:
        return FIGURES if args.publish else results_root() / (name + ("-quick" if args.quick else ""))
    out = Path(args.out)
    inside = out.resolve() == FIGURES.resolve() or FIGURES.resolve() in out.resolve().parents
    if inside and not args.publish:
        fail(f"--out {out} is inside the committed figures/ folder; add --publish to replace the committed figures")
    if inside and args.quick:
        fail("a --quick run never writes into figures/ (drop --quick, or choose another --out)")
    return out


def parser(description: str, name: str | None = None) -> argparse.ArgumentParser:
    """The options every study takes; ``name`` defaults to the calling module's ``NAME``."""
    if name is None:  # the study's module calls this from its main(): use its NAME
        caller = sys._getframe(1).f_globals
        name = caller.get("NAME") or caller.get("__name__", "study").rsplit(".", 1)[-1]
    p = StudyParser(prog=name, description=description)
    p.study = name
    p.add_argument("--quick", action="store_true", help="small sizes (CI); output in results/<study>-quick")
    p.add_argument("--n-jobs", type=_n_jobs, default=-1, help="parallel workers (default: all cores)")
    p.add_argument("--backend", type=_backend, default=None,
                   help="joblib backend: loky (default), threading, multiprocessing, dask, ray")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the figure and its numbers (default: results/<study>; see --publish)")
    p.add_argument("--publish", action="store_true",
                   help="write into the committed figures/ folder (not with --quick)")
    p.add_argument("--cache", type=Path, default=None, help="per-cell cache folder (default: results/cache/<name>)")
    p.add_argument("--force", action="store_true", help="recompute cached cells")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _n_jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if n == 0 or n < -1:
        raise argparse.ArgumentTypeError(f"must be a positive number of workers or -1 (all cores), got {n}")
    return n


def _backend(text: str) -> str:
    from joblib.parallel import BACKENDS

    known = sorted(set(BACKENDS) | {"dask", "ray"})  # dask/ray register themselves when started
    if text not in known:
        raise argparse.ArgumentTypeError(f"unknown joblib backend {text!r}; choose from {', '.join(known)}")
    return text


def cache_dir(args, name: str, quick: bool) -> Path:
    if args.cache is not None:
        return Path(args.cache)
    return results_root() / "cache" / (name + ("-quick" if quick else ""))


def progress(total: int, desc: str, disable: bool = False):
    """A tqdm-based ``on_result`` callback (no-op when tqdm is missing or disabled)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None, lambda: None
    bar = tqdm(total=total, desc=desc, disable=disable, leave=False)
    return (lambda rec: bar.update(1)), bar.close


def _report_interrupt(exc_type, exc, tb):
    # Ctrl-C in a study: one line (run_grid has stored the finished cells and stopped the
    # workers), no traceback; Python still exits with the SIGINT status (130). An unknown
    # solver name (--solvers nope) is an input error: one line too.
    from cstoolkit.registry import UnknownNameError

    if issubclass(exc_type, KeyboardInterrupt):
        line = str(exc) or "interrupted; rerun the same command to resume"
        print(f"{Path(sys.argv[0]).stem}: {line}", file=sys.stderr)
        return
    if issubclass(exc_type, UnknownNameError):
        print(f"{Path(sys.argv[0]).stem}: error: {exc}", file=sys.stderr)
        return
    sys.__excepthook__(exc_type, exc, tb)


def setup_logging():
    """Script set-up: INFO logging, and Ctrl-C reported as one line (no traceback)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.excepthook = _report_interrupt


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


def run_cells(args, name: str, cells, compute, cache=None, config=None):
    """Run ``cells`` through the cached grid runner with a progress bar; return ``(rows, seconds)``.

    ``cache`` defaults to :func:`cache_dir` for ``name``; ``config`` (the study's settings
    beyond its cells) defaults to ``{"study": name}`` and is verified on every cached record.
    ``seconds`` is the wall time of the run(s) that computed the cells — the original
    compute time when everything comes from cache (this call's time if a run left no
    record). The :class:`cstoolkit.experiment.GridInfo` of every call is kept on ``args``
    (``args.grid_infos``) for :func:`run_record`.
    """
    from cstoolkit.experiment import run_grid

    cells = list(cells)
    cb, close = progress(len(cells), name, args.no_progress)
    config = {"study": name} if config is None else config
    try:
        rows, info = run_grid(cells, compute, cache if cache is not None else cache_dir(args, name, args.quick),
                              config=config, n_jobs=args.n_jobs, backend=args.backend, force=args.force,
                              on_result=cb, return_info=True)
    finally:
        close()
    args.grid_infos = [*getattr(args, "grid_infos", []), info]  # a study may run several grids
    seconds = info.compute_wall_seconds if info.compute_wall_seconds is not None else info.seconds
    return rows, seconds


def run_record(args) -> dict:
    """``{"run": ...}`` for a study's JSON: engine, original compute time, cells computed now.

    Sums over every :func:`run_cells` call of the study (a study may run several grids).

    Returns
    -------
    dict
        ``run`` with ``engine`` (the process that drew the figure), ``cell_engines`` (those
        that computed the cells), ``compute_wall_seconds`` (the run(s) that computed the
        cells), ``cell_seconds`` (sum of per-cell compute times), ``n_cells``,
        ``n_computed_this_run``, ``n_from_cache``, ``n_rejected`` (cache files that failed
        verification), ``this_run_seconds``, ``output`` and ``published``.
    """
    from cstoolkit.experiment import engine_info

    infos = getattr(args, "grid_infos", [])
    run = {"engine": engine_info(), "output": str(args.out), "published": bool(getattr(args, "publish", False))}
    if infos:
        walls = [i.compute_wall_seconds for i in infos]
        engines = []
        for e in (e for i in infos for e in i.engines):
            if e not in engines:
                engines.append(e)
        run.update(cell_engines=engines,
                   compute_wall_seconds=None if None in walls else float(sum(walls)),
                   compute_runs=sum(i.runs for i in infos), cell_seconds=float(sum(i.cell_seconds for i in infos)),
                   n_cells=sum(i.n_cells for i in infos), n_computed_this_run=sum(i.n_computed for i in infos),
                   n_from_cache=sum(i.n_cached for i in infos), n_rejected=sum(i.n_rejected for i in infos),
                   this_run_seconds=float(sum(i.seconds for i in infos)),
                   config_hashes=sorted({i.config_hash for i in infos}))
    return {"run": run}


def save_figure(fig, out: Path, name: str) -> None:
    """Write ``out/name.png`` and ``out/name.svg`` (deterministic bytes) and close the figure."""
    from experiments import _plotting

    _plotting.save(fig, out, name)


def environment() -> dict:
    """Versions and machine facts recorded next to the numbers."""
    import platform
    import subprocess

    import numpy as np
    import scipy
    import sklearn

    import cstoolkit as cs

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except Exception:  # pragma: no cover - git missing
        commit = ""
    return dict(python=sys.version.split()[0], numpy=np.__version__, scipy=scipy.__version__,
                sklearn=sklearn.__version__, cstoolkit=cs.__version__, platform=platform.platform(),
                cpu_count=os.cpu_count(), git_commit=commit)
