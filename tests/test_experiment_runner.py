"""The grid runner: caching, resumption, ordering, atomic writes, parallel == serial."""

from __future__ import annotations


import numpy as np
import pytest

from cstoolkit import experiment


def _square(cell):
    rng = np.random.default_rng(cell["seed"])
    return {"value": cell["a"] ** 2, "noise": float(rng.standard_normal())}


def _fail_on_three(cell):
    if cell["a"] == 3:
        raise RuntimeError("boom")
    return _square(cell)


CELLS = [{"a": a, "seed": 10 + a} for a in range(6)]


def test_results_in_cell_order_and_cached(tmp_path):
    rows = experiment.run_grid(CELLS, _square, tmp_path / "c")
    assert [r["a"] for r in rows] == list(range(6))
    assert [r["value"] for r in rows] == [a * a for a in range(6)]
    assert len(list((tmp_path / "c").glob("*.json"))) == 6
    seen = []
    again = experiment.run_grid(CELLS, _fail_on_three, tmp_path / "c", on_result=seen.append)
    assert again == rows and len(seen) == 6  # everything from cache: the failing compute never ran


def test_interrupted_run_resumes(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        experiment.run_grid(CELLS, _fail_on_three, tmp_path / "c")
    done = len(list((tmp_path / "c").glob("*.json")))
    assert 3 <= done < 6  # cells before the failure were stored
    calls = []

    def counting(cell):
        calls.append(cell["a"])
        return _square(cell)

    rows = experiment.run_grid(CELLS, counting, tmp_path / "c", n_jobs=1, backend="threading")
    assert len(calls) == 6 - done
    assert [r["value"] for r in rows] == [a * a for a in range(6)]


def test_parallel_equals_serial(tmp_path):
    serial = experiment.run_grid(CELLS, _square, tmp_path / "s", n_jobs=1)
    parallel = experiment.run_grid(CELLS, _square, tmp_path / "p", n_jobs=2)
    assert serial == parallel


def test_keys_are_stable_and_order_free():
    assert experiment.cell_key({"a": 1, "b": 2}) == experiment.cell_key({"b": 2, "a": 1})
    assert experiment.cell_key({"a": 1}) != experiment.cell_key({"a": 2})
    assert experiment.cell_seed({"a": 1}) == experiment.cell_seed({"a": 1})


def test_corrupt_cache_is_recomputed_and_csv_roundtrip(tmp_path):
    experiment.run_grid(CELLS[:1], _square, tmp_path / "c")
    (f,) = (tmp_path / "c").glob("*.json")
    f.write_text("{truncated")
    rows = experiment.run_grid(CELLS[:1], _square, tmp_path / "c")
    assert rows[0]["value"] == 0
    experiment.write_csv(tmp_path / "t.csv", [{"x": 1.5, "name": "omp"}])
    assert experiment.read_csv(tmp_path / "t.csv") == [{"x": 1.5, "name": "omp"}]
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary files


def test_compute_must_return_dict(tmp_path):
    with pytest.raises(TypeError, match="dict"):
        experiment.run_grid(CELLS[:1], lambda c: 3, tmp_path / "c", backend="threading")


def test_engine_info_is_json_after_scipy_reads_matrix_market(tmp_path):
    """threadpoolctl reports scipy's fast_matrix_market version as a function once ``mmread`` ran
    (the CLI reads .mtx files): the engine record must still be storable in a cache file."""
    import json as _json

    import scipy.io
    import scipy.sparse as sp

    from cstoolkit import experiment

    scipy.io.mmwrite(tmp_path / "a.mtx", sp.eye(3, format="csr"))
    scipy.io.mmread(tmp_path / "a.mtx")
    experiment.engine_info.cache_clear()
    try:
        info = experiment.engine_info()
        text = _json.dumps(info)
        assert "function" not in text and all(isinstance(p["version"], (str, type(None))) for p in info["blas"])
    finally:
        experiment.engine_info.cache_clear()
