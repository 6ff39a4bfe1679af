"""Sweeps on a Dask cluster (loopback only): same numbers as a local run, resumable cache."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit.distributed import DASK_SCHEDULER_ENV, parallel_backend
from cstoolkit.phase import phase_trial
from cstoolkit.experiment import cell_key, run_grid

distributed = pytest.importorskip("dask.distributed")

CELLS = [
    {"solver": solver, "m": m, "n": 64, "k": 4, "trials": 3, "seed": 100 + m, **extra}
    for m in (16, 24, 32)
    for solver, extra in (("omp", {"params": {"n_nonzero_coefs": 4}}), ("fista", {"params": {"lam": 1e-3, "lam_scale": "relative"}}))
]


def _numbers(rows):
    # wall-clock time differs run to run; everything else is a function of the cell
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as lc:
        yield lc


def test_phase_trial_matches_direct_solve():
    # independent check of the cell function against a solve written out by hand
    cell = CELLS[-2]  # omp, m = 32: easy instance, exact recovery expected
    out = phase_trial(cell)
    rng = np.random.default_rng(cell["seed"])  # one generator: A first, then the signals
    A = cs.ensembles.gaussian(32, 64, random_state=rng)
    X = cs.signals.sparse_signals(64, 4, 3, random_state=rng)
    from sklearn.linear_model import orthogonal_mp

    ref = orthogonal_mp(A, A @ X, n_nonzero_coefs=4)
    np.testing.assert_allclose(out["rel_error"], cs.metrics.relative_error(X, ref), atol=1e-9)
    assert out["success_rate"] == 1.0
    with pytest.raises(KeyError, match="seed"):
        phase_trial({"solver": "omp", "m": 8, "n": 16, "k": 2})


def test_dask_same_numbers_as_local_and_resumable(cluster, tmp_path, caplog, monkeypatch):
    local = run_grid(CELLS, phase_trial, tmp_path / "local", n_jobs=1)  # in this process

    monkeypatch.setenv(DASK_SCHEDULER_ENV, cluster.scheduler_address)
    cache = tmp_path / "dask"
    half = CELLS[: len(CELLS) // 2]
    with parallel_backend("dask") as backend:
        assert backend == "dask"
        first = run_grid(half, phase_trial, cache, backend=backend, n_jobs=-1)
        # the block's default client is the test cluster's (set through the environment variable)
        client = distributed.get_client()
        assert client.scheduler.address == cluster.scheduler_address
        stamps = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.json")}
        assert len(stamps) == len(half)
        with caplog.at_level(logging.INFO, logger="cstoolkit.experiment"):
            full = run_grid(CELLS, phase_trial, cache, backend=backend, n_jobs=-1)
    assert f"{len(half)} of {len(CELLS)} cells cached; computing {len(CELLS) - len(half)}" in caplog.text
    # cached cells were not rewritten; the rest were computed and stored
    for name, t in stamps.items():
        assert (cache / name).stat().st_mtime_ns == t
    assert sorted(p.stem for p in cache.glob("*.json")) == sorted(cell_key(c) for c in CELLS)
    assert _numbers(first) == _numbers(local[: len(half)])
    assert _numbers(full) == _numbers(local)
    rec = json.loads((cache / f"{cell_key(CELLS[0])}.json").read_text())
    assert rec["cell"]["solver"] == "omp"
    # easy cells (m = 32 for k = 4) succeed, the hardest do not always: the sweep is not trivial
    rates = {(r["solver"], r["m"]): r["success_rate"] for r in full}
    assert rates[("omp", 32)] == 1.0


def test_local_cluster_started_and_closed_on_loopback(monkeypatch, tmp_path):
    monkeypatch.delenv(DASK_SCHEDULER_ENV, raising=False)
    with parallel_backend("dask", n_workers=1, processes=False) as backend:
        client = distributed.get_client()
        assert client.scheduler.address.startswith(("tcp://127.0.0.1:", "inproc://"))
        rows = run_grid(CELLS[:1], phase_trial, tmp_path, backend=backend)
        assert rows[0]["success_rate"] == phase_trial(CELLS[0])["success_rate"]
    with pytest.raises(ValueError):
        distributed.get_client()  # closed with the block


def test_bad_backend_requests():
    with pytest.raises(ValueError, match="scheduler"):
        with parallel_backend("loky", scheduler="tcp://127.0.0.1:1"):
            pass
    with parallel_backend(None) as b:
        assert b is None
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install"):
            with parallel_backend("ray"):
                pass


def test_unreachable_scheduler_says_what_to_do():
    # port 9 on loopback: nothing listens there, the connection is refused at once
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        with pytest.raises(OSError, match="dask scheduler"):
            with parallel_backend("dask", scheduler="tcp://127.0.0.1:9"):
                pass


def test_ray_backend_same_numbers_and_resumes(tmp_path):
    """A local Ray (installed with the ``ray`` extra) gives the local numbers and reuses the cache."""
    ray = pytest.importorskip("ray")
    local = run_grid(CELLS, phase_trial, tmp_path / "local", n_jobs=1)
    try:
        with parallel_backend("ray") as backend:
            assert backend == "ray" and ray.is_initialized()
            half = run_grid(CELLS[:3], phase_trial, tmp_path / "ray", backend=backend, n_jobs=2)
            stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "ray").glob("*.json")}
            full = run_grid(CELLS, phase_trial, tmp_path / "ray", backend=backend, n_jobs=2)
    finally:
        ray.shutdown()
    for name, t in stamps.items():
        assert (tmp_path / "ray" / name).stat().st_mtime_ns == t
    assert _numbers(half) == _numbers(local[:3])
    assert _numbers(full) == _numbers(local)
