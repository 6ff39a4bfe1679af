"""The per-cell cache verifies what it reads, Ctrl-C and kills leave no workers, runs keep their numbers.

Issue 14: an edited record or a file copied over another cell's was used silently; ``{}``,
``null`` or non-UTF-8 files crashed every rerun; Ctrl-C printed two tracebacks; workers of a
killed ``--n-jobs 2`` run lived on; a rerun from cache recorded 0.8 s and "0 cells computed".
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from cstoolkit import experiment
from cstoolkit.experiment import cell_key, run_grid

ROOT = Path(__file__).resolve().parent.parent


def _square(cell):
    rng = np.random.default_rng(cell["seed"])
    return {"value": cell["a"] ** 2, "noise": float(rng.standard_normal())}


CELLS = [{"a": a, "seed": 10 + a} for a in range(4)]


def _file(cache, cell):
    return Path(cache) / f"{cell_key(cell)}.json"


@pytest.fixture
def cache(tmp_path):
    c = tmp_path / "c"
    run_grid(CELLS, _square, c)
    return c


def _rerun(cache, caplog, **kw):
    calls = []

    def counting(cell):
        calls.append(cell["a"])
        return _square(cell)

    with caplog.at_level(logging.WARNING, logger="cstoolkit.experiment"):
        rows = run_grid(CELLS, counting, cache, backend="threading", **kw)
    assert [r["value"] for r in rows] == [c["a"] ** 2 for c in CELLS]  # the true numbers, always
    return calls


def test_records_carry_key_config_and_checksum(cache):
    rec = json.loads(_file(cache, CELLS[1]).read_text())
    assert rec["key"] == cell_key(CELLS[1]) and rec["cell"] == CELLS[1]
    assert rec["config"] == experiment.config_hash(None)
    assert rec["format"] == experiment.RECORD_FORMAT and len(rec["checksum"]) == 64
    assert rec["engine"]["kernels"] in ("numba", "numpy") and "blas" in rec["engine"]
    assert rec["compute_seconds"] >= 0


def test_edited_numbers_are_recomputed(cache, caplog):
    f = _file(cache, CELLS[2])
    rec = json.loads(f.read_text())
    rec["result"]["value"] = 5.0  # a plausible number, valid JSON, the right cell
    f.write_text(json.dumps(rec))
    assert _rerun(cache, caplog) == [2]
    assert "checksum mismatch" in caplog.text and f.name in caplog.text
    assert json.loads(f.read_text())["result"]["value"] == 4  # rewritten with the true record


def test_file_copied_over_another_cell_is_recomputed(cache, caplog):
    shutil.copy(_file(cache, CELLS[0]), _file(cache, CELLS[3]))
    assert _rerun(cache, caplog) == [3]
    assert "another cell" in caplog.text


@pytest.mark.parametrize("content, why", [
    (b"{}", "missing"), (b"null", "not a record"), (b"[1, 2]", "not a record"), (b"3", "not a record"),
    (b'{"cell": {"a": 1}, "result": {"value": 1}}', "older cstoolkit"),  # a record of the old format
    (b"\xff\xfe{\x00}\x00", "not UTF-8"), (b"{truncated", "not JSON"), (b"", "not JSON"),
])
def test_non_records_are_recomputed_never_fatal(cache, caplog, content, why):
    _file(cache, CELLS[1]).write_bytes(content)
    assert _rerun(cache, caplog) == [1]
    assert why in caplog.text


def test_record_of_another_configuration_is_recomputed(tmp_path, caplog):
    c = tmp_path / "c"
    run_grid(CELLS, _square, c, config={"study": "a", "trials": 10})
    assert _rerun(c, caplog, config={"study": "a", "trials": 10}) == []
    assert sorted(_rerun(c, caplog, config={"study": "a", "trials": 20})) == [0, 1, 2, 3]
    assert "configuration" in caplog.text


def test_force_and_info(tmp_path):
    rows, info = run_grid(CELLS, _square, tmp_path / "c", return_info=True)
    assert (info.n_cells, info.n_cached, info.n_computed, info.n_rejected, info.runs) == (4, 0, 4, 0, 1)
    again, info2 = run_grid(CELLS, _square, tmp_path / "c", return_info=True)
    assert again == rows and (info2.n_cached, info2.n_computed) == (4, 0)
    # the rerun reports the compute time of the run that computed the cells, not its own
    assert info2.compute_wall_seconds == pytest.approx(info.compute_wall_seconds)
    assert info2.cell_seconds == pytest.approx(info.cell_seconds)
    assert info2.engines == info.engines and len(info.engines) == 1


def _interrupt_on_two(cell):
    if cell["a"] == 2:
        raise KeyboardInterrupt
    return _square(cell)


def test_ctrl_c_is_one_clean_exception_and_resumes(tmp_path):
    with pytest.raises(KeyboardInterrupt) as info:
        run_grid(CELLS, _interrupt_on_two, tmp_path / "c")
    assert str(info.value) == "2 of 4 cells cached; rerun the same command to resume"
    assert (info.value.n_cached, info.value.n_cells) == (2, 4)
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no chained traceback
    rows = run_grid(CELLS, _square, tmp_path / "c")
    assert [r["value"] for r in rows] == [0, 1, 4, 9]


# --------------------------------------------------------------------------- #
# real processes: Ctrl-C and SIGKILL of a --n-jobs 2 run
# --------------------------------------------------------------------------- #
SCRIPT = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    from experiments import _common
    from cstoolkit.experiment import run_grid

    def slow(cell):
        open(os.path.join({work!r}, f"pid-{{os.getpid()}}"), "w").close()
        time.sleep(0.05 if cell["a"] < 2 else 60)
        return {{"v": cell["a"]}}

    if __name__ == "__main__":
        _common.setup_logging()
        from grid_script import slow as slow_by_ref  # workers unpickle it by reference
        run_grid([{{"a": a}} for a in range(6)], slow_by_ref, os.path.join({work!r}, "cache"), n_jobs=2)
""")


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status  # a zombie has exited (nobody reaped it yet)


def _start(tmp_path):
    (tmp_path / "grid_script.py").write_text(SCRIPT.format(root=str(ROOT), work=str(tmp_path)))
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "grid_script.py")], cwd=tmp_path, env=env,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 60
    while len(list((tmp_path / "cache").glob("*.json"))) < 2 or len(list(tmp_path.glob("pid-*"))) < 2:
        assert time.time() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else "timeout"
        time.sleep(0.1)
    time.sleep(0.3)  # both workers are now inside a 60 s cell
    return proc, {int(p.name.split("-")[1]) for p in tmp_path.glob("pid-*")}


def _wait_gone(pids, seconds):
    deadline = time.time() + seconds
    while any(_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_ctrl_c_prints_one_line_and_stops_the_workers(tmp_path):
    proc, workers = _start(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode in (130, -signal.SIGINT)
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("INFO ")]  # the study's own log
    assert lines == ["grid_script: 2 of 6 cells cached; rerun the same command to resume"]
    assert _wait_gone(workers, 5) == []


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_exit_when_the_driver_is_killed(tmp_path):
    proc, workers = _start(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up
    proc.communicate(timeout=30)
    assert _wait_gone(workers, 5) == []  # the issue saw them alive 47 s later


# --------------------------------------------------------------------------- #
# study runs: output policy and the run record
# --------------------------------------------------------------------------- #
def _study_args(argv, name="demo"):
    from experiments import _common

    return _common.parser("demo study", name=name).parse_args(argv)


def test_default_output_is_results_not_figures():
    from experiments import _common

    assert _study_args([]).out == _common.results_root() / "demo"
    assert _study_args(["--quick"]).out == _common.results_root() / "demo-quick"
    assert _study_args(["--publish"]).out == _common.FIGURES
    assert _study_args(["--out", "elsewhere"]).out == Path("elsewhere")


@pytest.mark.parametrize("argv, msg", [
    (["--quick", "--publish"], "never replaces"),
    (["--out", str(ROOT / "figures")], "--publish"),
    (["--out", str(ROOT / "figures" / "sub")], "--publish"),
    (["--quick", "--publish", "--out", str(ROOT / "figures")], "never"),
    (["--n-jobs", "0"], "positive number of workers"),
])
def test_output_policy_refusals_exit_2(capsys, argv, msg):
    with pytest.raises(SystemExit) as info:
        _study_args(argv)
    assert info.value.code == 2 and msg in capsys.readouterr().err


def _slow_square(cell):
    time.sleep(0.05)
    return _square(cell)


def test_cached_rerun_keeps_compute_time_and_records_engine(tmp_path):
    from experiments import _common

    argv = ["--cache", str(tmp_path / "c"), "--out", str(tmp_path / "o"), "--no-progress", "--n-jobs", "1"]
    args = _study_args(argv)
    _, seconds = _common.run_cells(args, "demo", CELLS, _slow_square)
    first = _common.run_record(args)["run"]
    assert seconds >= 0.2 and first["n_computed_this_run"] == 4 and first["n_from_cache"] == 0
    args = _study_args(argv)
    _, again = _common.run_cells(args, "demo", CELLS, _slow_square)
    run = _common.run_record(args)["run"]
    assert again == pytest.approx(seconds)  # not the rerun's few milliseconds
    assert run["compute_wall_seconds"] == pytest.approx(first["compute_wall_seconds"])
    assert (run["n_cells"], run["n_computed_this_run"], run["n_from_cache"]) == (4, 0, 4)
    assert run["this_run_seconds"] < seconds
    assert run["engine"]["kernels"] in ("numba", "numpy")
    assert run["cell_engines"][0]["blas"] and "num_threads" in run["cell_engines"][0]["blas"][0]
    assert run["output"] == str(tmp_path / "o") and run["published"] is False


def test_study_json_records_engine_and_keeps_time_on_rerun(tmp_path):
    td = pytest.importorskip("experiments.tsaig_donoho")
    argv = ["--quick", "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c"), "--no-progress", "--n-jobs", "1"]
    td.main(argv)
    first = json.loads((tmp_path / "o" / f"{td.NAME}.json").read_text())
    td.main(argv)
    second = json.loads((tmp_path / "o" / f"{td.NAME}.json").read_text())
    assert second["wall_seconds"] == pytest.approx(first["wall_seconds"])
    assert second["run"]["n_computed_this_run"] == 0 and second["run"]["n_cells"] == first["run"]["n_computed_this_run"]
    assert second["run"]["engine"]["kernels"] in ("numba", "numpy")


def test_a_default_run_leaves_figures_untouched(tmp_path, monkeypatch):
    from experiments import _common

    before = {p.name: p.stat().st_mtime_ns for p in _common.FIGURES.glob("*")}
    monkeypatch.setattr(_common, "results_root", lambda: tmp_path / "results")
    td = pytest.importorskip("experiments.tsaig_donoho")
    td.main(["--quick", "--no-progress", "--n-jobs", "1"])
    assert (tmp_path / "results" / f"{td.NAME}-quick" / f"{td.NAME}.json").is_file()
    assert {p.name: p.stat().st_mtime_ns for p in _common.FIGURES.glob("*")} == before


def test_run_record_sums_the_grids_of_a_study(tmp_path):
    from experiments import _common

    args = _study_args(["--cache", str(tmp_path / "c"), "--out", str(tmp_path / "o"), "--no-progress", "--n-jobs", "1"])
    _common.run_cells(args, "demo", CELLS[:3], _square, cache=tmp_path / "c1")
    _common.run_cells(args, "demo", CELLS, _square, cache=tmp_path / "c2", config={"study": "demo", "part": 2})
    run = _common.run_record(args)["run"]
    assert (run["n_cells"], run["n_computed_this_run"], run["compute_runs"]) == (7, 7, 2)
    assert len(run["config_hashes"]) == 2
