"""The ``cstoolkit`` command line: list, recover, run, and its error handling."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import cstoolkit as cs
from pathlib import Path

from cstoolkit.cli import CLIError, load_matrix, main, parse_param, summary_sentence


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def problem(tmp_path):
    A = cs.ensembles.gaussian(40, 100, random_state=0)
    X = cs.signals.sparse_signals(100, 4, 3, random_state=1)
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "Y.npy", A @ X)
    np.save(tmp_path / "y.npy", A @ X[:, 0])
    return tmp_path, A, X


def _err(capsys):
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return out.err


def test_parse_param_literals_and_strings():
    assert parse_param("lam=0.1") == ("lam", 0.1)
    assert parse_param("n_nonzero_coefs=10") == ("n_nonzero_coefs", 10)
    assert parse_param("positive=True") == ("positive", True)
    assert parse_param("rho=None") == ("rho", None)
    assert parse_param("lam_scale=relative") == ("lam_scale", "relative")
    for bad in ("lam", "=3", "1x=2", "lam 0.1"):
        with pytest.raises(CLIError, match="key=value"):
            parse_param(bad)


def test_list_shows_every_registered_name_with_defaults(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in cs.available_recoverers():
        cls = cs.get_recoverer_class(name)
        assert f"  {name} " in out
        assert f"{cls.__name__} — {summary_sentence(cls)}\n" in out
        for p, d in cs.make_recoverer(name).get_params().items():
            assert f"{p} = {d!r}" in out
    for name in cs.available_learners():
        assert f"  {name} " in out
    assert main(["list", "learners"]) == 0
    assert "solvers:" not in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["npy", "npz-sparse", "npz-array", "mtx"])
def test_recover_matches_library_call(problem, capsys, fmt):
    d, A, X = problem
    path = {"npy": d / "A.npy", "npz-sparse": d / "A.npz", "npz-array": d / "Aa.npz", "mtx": d / "A.mtx"}[fmt]
    if fmt == "npz-sparse":
        sp.save_npz(path, sp.csr_matrix(A))
    elif fmt == "npz-array":
        np.savez(path, A=A)
    elif fmt == "mtx":
        scipy.io.mmwrite(str(path), A, precision=17)
    rc = main(["recover", "--solver", "omp", "--A", str(path), "--y", str(d / "Y.npy"),
               "--param", "n_nonzero_coefs=4", "--out", str(d / "out" / "x.npy")])
    assert rc == 0, capsys.readouterr().err
    x = np.load(d / "out" / "x.npy")
    # independent reference: scikit-learn's OMP on the same data
    from sklearn.linear_model import orthogonal_mp

    np.testing.assert_allclose(x, orthogonal_mp(A, A @ X, n_nonzero_coefs=4), atol=1e-10)
    summary = json.loads((d / "out" / "x.json").read_text())
    assert summary == json.loads(capsys.readouterr().out)
    assert summary["solver"] == "omp" and summary["params"]["n_nonzero_coefs"] == 4
    assert summary["n_iter"] == [4, 4, 4] and summary["converged"] is True  # exact 4-sparse fits, certified
    assert summary["stop_reason"] == "solved" and summary["status"] == ["solved"] * 3
    assert len(summary["residual"]) == 3 and max(summary["residual"]) < 1e-6 * np.linalg.norm(A @ X)
    assert summary["time"] >= 0 and summary["A"]["sparse"] == (fmt == "npz-sparse")


def test_recover_single_signal_and_string_param(problem, capsys):
    d, A, X = problem
    rc = main(["recover", "--solver", "fista", "--A", str(d / "A.npy"), "--y", str(d / "y.npy"),
               "--param", "lam=1e-4", "--param", "lam_scale=relative", "--param", "tol=1e-10",
               "--out", str(d / "x.npy"), "--summary", str(d / "s.json")])
    assert rc == 0, capsys.readouterr().err
    x = np.load(d / "x.npy")
    assert x.shape == (100,)
    assert cs.metrics.relative_error(X[:, 0], x) < 1e-2
    s = json.loads((d / "s.json").read_text())
    assert s["params"]["lam_scale"] == "relative" and np.ndim(s["residual"]) == 0


def test_recover_errors_exit_2_without_traceback(problem, capsys, tmp_path):
    d, A, X = problem
    base = ["recover", "--A", str(d / "A.npy"), "--y", str(d / "Y.npy"), "--out", str(d / "x.npy")]

    assert main(base + ["--solver", "fistaa"]) == 2
    err = _err(capsys)
    assert "unknown recoverer 'fistaa'" in err and "'fista'" in err and "Did you mean" in err

    assert main(base + ["--solver", "omp", "--param", "n_nonzero_coefs"]) == 2
    assert "key=value" in _err(capsys)

    assert main(base + ["--solver", "omp", "--param", "not_a_param=1"]) == 2
    assert "not_a_param" in _err(capsys)

    assert main(base + ["--solver", "omp", "--param", "n_nonzero_coefs=0"]) == 2
    assert "n_nonzero_coefs" in _err(capsys)

    missing = ["recover", "--solver", "omp", "--A", str(tmp_path / "nope.npy"), "--y", str(d / "Y.npy"), "--out", "x.npy"]
    assert main(missing) == 2
    assert "does not exist" in _err(capsys)

    np.save(d / "short.npy", np.ones(39))
    bad = ["recover", "--solver", "omp", "--A", str(d / "A.npy"), "--y", str(d / "short.npy"), "--out", str(d / "x.npy")]
    assert main(bad) == 2
    err = _err(capsys)
    assert "(39,)" in err and "40 rows" in err and "expected y of shape (40,) or (40, B)" in err

    (d / "A.txt").write_text("1 2\n")
    assert main(["recover", "--solver", "omp", "--A", str(d / "A.txt"), "--y", str(d / "y.npy"), "--out", "x.npy"]) == 2
    assert ".npy, .npz or .mtx" in _err(capsys)
    assert not (d / "x.npy").exists()


def test_load_matrix_rejects_ambiguous_npz_and_vectors(tmp_path):
    np.savez(tmp_path / "two.npz", B=np.ones((2, 2)), C=np.ones((2, 2)))
    with pytest.raises(CLIError, match="named 'A'"):
        load_matrix(tmp_path / "two.npz")
    np.save(tmp_path / "v.npy", np.ones(3))
    with pytest.raises(CLIError, match="2-D"):
        load_matrix(tmp_path / "v.npy")


@pytest.fixture
def fake_experiment(tmp_path, monkeypatch):
    """An experiment module found by discovery (pkgutil over experiments.__path__)."""
    import experiments

    (tmp_path / "zz_cli_probe.py").write_text(
        "import json, sys\n"
        "def main(argv=None):\n"
        "    import dask.distributed as dd\n"
        "    try:\n"
        "        client = dd.get_client().scheduler.address\n"
        "    except ValueError:\n"
        "        client = None\n"
        "    print(json.dumps({'argv': argv, 'client': client}))\n"
        "    return 0\n"
    )
    monkeypatch.setattr(experiments, "__path__", [*experiments.__path__, str(tmp_path)])
    yield "zz_cli_probe"
    sys.modules.pop("experiments.zz_cli_probe", None)


def test_run_forwards_arguments(fake_experiment, capsys):
    assert main(["run", "--list"]) == 0
    assert fake_experiment in capsys.readouterr().out.split()
    assert main(["run", fake_experiment, "--quick", "--n-jobs", "2", "--out", "figs"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == {"argv": ["--quick", "--n-jobs", "2", "--out", "figs"], "client": None}


def test_run_with_dask_backend_starts_a_client(fake_experiment, capsys, monkeypatch):
    # thread workers: no extra processes; the experiment sees an active default client
    monkeypatch.delenv("CSTOOLKIT_DASK_SCHEDULER", raising=False)
    import cstoolkit.distributed as dist

    orig = dist.dask_client
    monkeypatch.setattr(dist, "dask_client", lambda s=None, **k: orig(s, n_workers=1, processes=False))
    assert main(["run", fake_experiment, "--quick", "--backend", "dask"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["argv"] == ["--quick", "--backend", "dask"] and got["client"]


def test_run_cluster_errors_exit_2(fake_experiment, capsys):
    assert main(["run", fake_experiment, "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "needs backend='dask' or 'ray'" in _err(capsys)
    try:
        import ray  # noqa: F401
    except ImportError:
        assert main(["run", fake_experiment, "--backend", "ray"]) == 2
        assert "pip install" in _err(capsys)


def test_run_unknown_experiment_suggests(fake_experiment, capsys):
    assert main(["run", "zz_cli_prob"]) == 2
    err = _err(capsys)
    assert "unknown experiment 'zz_cli_prob'" in err and "'zz_cli_probe'" in err


@pytest.mark.skipif(shutil.which("cstoolkit") is None, reason="console script not installed (pip install -e .)")
def test_console_script(problem):
    d, A, X = problem
    r = subprocess.run(["cstoolkit", "recover", "--solver", "nope", "--A", str(d / "A.npy"), "--y", str(d / "y.npy"),
                        "--out", str(d / "x.npy")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown recoverer 'nope'" in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- #
# issue 14: every error one line with status 2; list; the real output path
# --------------------------------------------------------------------------- #
def _one_line_error(capsys, needle):
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert needle in err, err
    return err


def _recover(d, *extra, out=None, y="y.npy"):
    return main(["recover", "--solver", "omp", "--A", str(d / "A.npy"), "--y", str(d / y),
                 "--param", "n_nonzero_coefs=4", "--out", str(out if out is not None else d / "x.npy"), *extra])


def test_list_sentences_are_plain_and_own():
    import cstoolkit.cli as cli

    class Base:
        """Shared loop of a family (internal)."""

    class Child(Base):
        pass

    class Marked(Base):
        """Approximate K-SVD: :class:`~cstoolkit.KSVD` with ``approximate=True``, see `x`.

        More text. Second sentence.
        """

    class Etal:
        """Online learning (Mairal et al. 2009). Details follow."""

    assert summary_sentence(Child) == "(no description)"  # not the base class's text
    assert summary_sentence(Marked) == "Approximate K-SVD: KSVD with approximate=True, see x."
    assert summary_sentence(Etal) == "Online learning (Mairal et al. 2009)."
    for reg in (cs.RECOVERERS, cs.LEARNERS):
        for name in reg.names():
            text = cli.summary_sentence(reg.get(name))
            assert "``" not in text and ":class:" not in text and "`" not in text, (name, text)


def test_out_is_a_directory_or_unwritable(problem, capsys, tmp_path):
    d, A, X = problem
    (d / "outdir").mkdir()
    assert _recover(d, out=d / "outdir") == 2
    _one_line_error(capsys, "existing directory")
    (d / "afile").write_text("")
    assert _recover(d, out=d / "afile" / "x.npy") == 2  # a folder under a file
    _one_line_error(capsys, "cannot create the folder")
    ro = d / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if not os.access(ro, os.W_OK):  # root may write anyway
            assert _recover(d, out=ro / "x.npy") == 2
            _one_line_error(capsys, "not writable")
    finally:
        ro.chmod(0o700)


def test_summary_in_a_missing_folder_is_created_before_x_is_written(problem, capsys):
    d, A, X = problem
    assert _recover(d, "--summary", str(d / "new" / "deeper" / "s.json")) == 0
    assert json.loads((d / "new" / "deeper" / "s.json").read_text())["x"]["path"] == str(d / "x.npy")
    (d / "sdir").mkdir()
    (d / "x2.npy").unlink(missing_ok=True)
    assert _recover(d, "--summary", str(d / "sdir"), out=d / "x2.npy") == 2
    _one_line_error(capsys, "--summary")
    assert not (d / "x2.npy").exists()  # checked before anything was written


def test_out_without_extension_records_the_real_path(problem, capsys):
    d, A, X = problem
    assert _recover(d, out=d / "o" / "noext") == 0
    summary = json.loads((d / "o" / "noext.json").read_text())
    assert summary["x"]["path"] == str(d / "o" / "noext.npy") and (d / "o" / "noext.npy").is_file()


def test_y_that_is_not_npy(problem, capsys):
    d, A, X = problem
    scipy.io.mmwrite(str(d / "A.mtx"), A)
    assert _recover(d, y="A.mtx") == 2
    err = _one_line_error(capsys, ".npy file")
    assert "pickled" not in err
    np.save(d / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert _recover(d, y="obj.npy") == 2
    _one_line_error(capsys, "Python objects")
    assert _recover(d, y=".") == 2
    _one_line_error(capsys, "directory")


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["recover", "--solver", "omp"])
    assert info.value.code == 2
    _one_line_error(capsys, "required")


@pytest.mark.parametrize("argv, needle", [
    (["--n-jobs", "0"], "--n-jobs"),
    (["--backend", "nope"], "unknown joblib backend 'nope'"),
    (["--solvers", "nope"], "unknown recoverer 'nope'"),
    (["--quick", "--publish"], "--publish"),
])
def test_run_errors_exit_2_with_one_line(capsys, tmp_path, argv, needle):
    rc = main(["run", "tsaig_donoho" if "--solvers" not in argv else "phase_transition", "--quick",
               "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "o"), "--no-progress", *argv])
    assert rc == 2
    _one_line_error(capsys, needle)


def test_experiments_ship_with_the_package():
    """``cstoolkit run`` works from an installed package: the studies are in the distribution."""
    import configparser

    from setuptools import find_packages

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    include = [p.strip() for p in cfg["options.packages.find"]["include"].replace(",", " ").split()]
    found = find_packages(str(ROOT), include=include)
    assert "experiments" in found and "cstoolkit" in found and "tests" not in found


def test_editable_install_puts_the_checkout_on_sys_path():
    """issue 14: a script next to a checkout named ``cstoolkit`` imported the folder (a namespace
    package: ``module 'cstoolkit' has no attribute 'ensembles'``). setuptools' editable install of
    a flat layout uses a meta-path finder, which Python consults only after a namespace portion
    has won; with the root package folder declared (``package_dir = =.``) it writes a plain .pth
    with the checkout instead, and a regular package on sys.path beats any namespace portion."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    mapping = dict(line.split("=", 1) for line in cfg["options"]["package_dir"].split() if "=" in line)
    assert {k.strip(): v.strip() for k, v in mapping.items()} == {"": "."}


def test_a_checkout_beside_a_script_no_longer_shadows_the_package(tmp_path):
    (tmp_path / "cstoolkit").symlink_to(ROOT, target_is_directory=True)
    (tmp_path / "script.py").write_text(
        "import sys\n"
        f"sys.path.append({str(ROOT)!r})  # what the editable install's .pth line does\n"
        "import cstoolkit as cs\n"
        "print(cs.__file__, cs.ensembles.gaussian(3, 4, random_state=0).shape)\n")
    r = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(ROOT / "cstoolkit" / "__init__.py"), "(3,", "4)"]
