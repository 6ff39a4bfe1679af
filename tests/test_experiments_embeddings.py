"""The embedding experiments (figures 1 and 7) run end to end, resume from their cache, and their
numbers agree with independent closed forms (best k-term error, Eckart–Young, byte counts)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from experiments import _embedding_compute
from experiments import compression_tradeoff as ct
from experiments import embedding_recovery as er

# one solver of each kind: greedy, lasso, exact BP (slow subsample), BPDN (ε relative to ‖y‖)
SOLVERS = "omp,lasso,bp-lp,bpdn"


def _run_er(tmp_path, matrix, solvers=SOLVERS, extra=()):
    out, cache = tmp_path / "out", tmp_path / "cache"
    er.main(["--quick", "--matrix", matrix, "--solvers", solvers, "--out", str(out), "--cache", str(cache),
             "--n-jobs", "1", "--no-progress", *extra])
    with open(out / f"{er.NAME}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return out, cache, rows


def _f(rows, **where):
    return [r for r in rows if all(r[k] == str(v) for k, v in where.items())]


def _kterm_tail(C, k):
    """‖c − c_k‖/‖c‖ per column, from the sorted magnitudes (independent of cstoolkit)."""
    a = np.sort(np.abs(C), axis=0)
    return np.sqrt(np.sum(a[: C.shape[0] - k] ** 2, axis=0)) / np.linalg.norm(C, axis=0)


def _check_recovery(out, cache, rows, solvers, X):
    cfg = er.effective_config({**er.QUICK, "matrix": rows[0]["matrix"]})
    n, K = X.shape[1], cfg["k"]
    for ext in ("png", "svg", "csv", "json"):
        assert (out / f"{er.NAME}.{ext}").stat().st_size > 0
    with open(out / f"{er.NAME}.csv", newline="") as fh:
        assert next(csv.reader(fh)) == er.CSV_COLUMNS
    slow = [s for s in solvers if er.is_slow(s)]  # declared in each solver's study_settings
    expected = (len(solvers) - len(slow)) * len(er.BASES) * len(cfg["ratios"]) \
        + len(slow) * len(er.BASES) * len(cfg["slow_ratios"])
    assert len(rows) == expected
    assert all(r["ok"] == "True" for r in rows), [r["error_msg"] for r in rows if r["ok"] != "True"]
    meta = json.loads((out / f"{er.NAME}.json").read_text())
    assert meta["config"]["solvers"] == solvers and meta["wall_seconds"] > 0

    # the k-term floors in the CSV are the tail energies of the sampled vectors
    setup = np.load(next(cache.glob("setup-*.npz")))
    T = X[setup["test_idx"]].T
    B = cfg["n_signals"]
    floors = {"identity": _kterm_tail(T, K), "pca": _kterm_tail(setup["pca"].T @ T, K)}
    for basis, fl in floors.items():
        r = _f(rows, basis=basis, solver="omp", m=n)[0]
        assert float(r["floor_median"]) == pytest.approx(np.median(fl[:B]), rel=1e-9)
        q25, q75 = np.percentile(fl[:B], [25, 75])
        assert float(r["floor_q25"]) == pytest.approx(q25, rel=1e-9)
        assert float(r["floor_q75"]) == pytest.approx(q75, rel=1e-9)

    # m = n, Φ invertible, exactly K-sparse target: basis pursuit's unique feasible point is x_K,
    # so its error against the real vector is exactly the K-term floor
    r = _f(rows, basis="identity", solver="bp-lp", m=n)[0]
    assert float(r["err_median"]) < 1e-7
    assert float(r["err_x_median"]) == pytest.approx(float(r["floor_median"]), rel=1e-6)
    # OMP stops after K atoms and can miss one even at m = n (a square Gaussian Φ is coherent), but a
    # K-sparse estimate is never closer to x than x_K: it sits on the floor or (rarely) above it
    r = _f(rows, basis="identity", solver="omp", m=n)[0]
    assert float(r["err_median"]) < 1e-7
    assert float(r["floor_median"]) * (1 - 1e-12) <= float(r["err_x_median"]) <= 1.05 * float(r["floor_median"])
    # in an orthonormal basis with m = n, basis pursuit fits y = ΦΨs exactly: error ~ 0, below the floor
    for basis in ("pca", "dct"):
        r = _f(rows, basis=basis, solver="bp-lp", m=n)[0]
        assert float(r["err_median"]) < 1e-6 < float(r["floor_median"])
    # greedy K-sparse estimates cannot beat the best K-term error in an orthonormal basis
    for basis in ("pca", "dct"):
        for r in _f(rows, basis=basis, solver="omp"):
            assert float(r["err_median"]) >= 0.999 * float(r["floor_median"])
    # more measurements never hurt OMP (median, within sampling noise)
    for basis in er.BASES:
        med = [float(r["err_median"]) for r in sorted(_f(rows, basis=basis, solver="omp"), key=lambda r: int(r["m"]))]
        assert all(b <= a + 0.05 for a, b in zip(med, med[1:])), (basis, med)
    # every lasso-kind solver at the same relative λ gives the same error as the exact Lasso path: checked
    # in test_conformance; here ℓ1 at m = n leaves only the shrinkage bias, well below the floor
    r = _f(rows, basis="identity", solver="lasso", m=n)[0]
    assert float(r["err_median"]) < 0.5 * float(r["floor_median"])
    return meta


def test_embedding_recovery_synthetic_quick_and_resume(tmp_path, monkeypatch):
    solvers = SOLVERS.split(",")
    out, cache, rows = _run_er(tmp_path, "synthetic")
    X, _ = er.load_matrix("synthetic")
    _check_recovery(out, cache, rows, solvers, X)
    # the synthetic rows are compressible in a known orthonormal basis: the PCA floor beats identity's
    first = _f(rows, basis="pca", solver="omp")[0]
    assert float(first["floor_median"]) < float(_f(rows, basis="identity", solver="omp")[0]["floor_median"])

    # resume: every cell and the fitted bases come from the cache, nothing is recomputed
    files = sorted(p.name for p in cache.iterdir())
    mtimes = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}

    def boom(*a, **k):
        raise AssertionError("compute() called on a cached cell")

    monkeypatch.setattr(er, "compute", boom)
    monkeypatch.setattr(_embedding_compute, "_fit_dictionary", boom)  # called by prepare() there
    out2, cache2, rows2 = _run_er(tmp_path, "synthetic")
    assert sorted(p.name for p in cache.iterdir()) == files
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == mtimes
    assert [r["err_median"] for r in rows2] == [r["err_median"] for r in rows]


def test_embedding_recovery_draw_reads_only_cached_numbers(tmp_path):
    out, cache, rows = _run_er(tmp_path, "synthetic", solvers="omp")
    png = out / f"{er.NAME}.png"
    png.unlink()
    parsed = [{k: (float(v) if k not in ("matrix", "basis", "solver", "stop_reason", "error_msg", "ok") else v)
               for k, v in r.items()} for r in rows]
    er.draw(parsed, out)
    assert png.stat().st_size > 0


def test_greedy_budget_and_params():
    cfg = er.effective_config(dict(er.FULL))
    assert er.greedy_k(38, cfg) == 19 and er.greedy_k(384, cfg) == cfg["k"] and er.greedy_k(1, cfg) == 1
    assert er.solver_params("omp", 7, cfg) == {"n_nonzero_coefs": 7}
    p = er.solver_params("lasso", 7, cfg)
    assert p["lam"] == cfg["lam_rel"] and p["lam_scale"] == "relative"
    assert er.solver_params("bpdn", 7, cfg) == {"epsilon_rel": cfg["eps_rel"]}


@pytest.mark.real
def test_embedding_recovery_minilm_quick(tmp_path):
    solvers = ["omp", "lasso", "bp-lp"]
    out, cache, rows = _run_er(tmp_path, "minilm", solvers=",".join(solvers))
    X, usable = er.load_matrix("minilm")
    assert X.shape == (30522, 384)
    meta = _check_recovery(out, cache, rows, solvers, X)
    assert "cstoolkit" in meta["dictionary"]
    setup = np.load(next(cache.glob("setup-*.npz")))
    assert usable[setup["test_idx"]].all()  # no [unused]/[PAD] rows sampled
    # real embedding vectors are far from sparse: at K = 32 of 384 most of the energy is in the tail
    assert float(_f(rows, basis="identity", solver="omp", m=384)[0]["floor_median"]) > 0.5


# ------------------------------------------------------------------------------------------
# figure 7
# ------------------------------------------------------------------------------------------
def _run_ct(tmp_path, matrix):
    out, cache = tmp_path / "out", tmp_path / "cache"
    ct.main(["--quick", "--matrix", matrix, "--out", str(out), "--cache", str(cache), "--n-jobs", "1",
             "--no-progress"])
    with open(out / f"{ct.NAME}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return out, cache, rows


def _check_compression(out, rows, X):
    cfg = ct.effective_config({**ct.QUICK, "matrix": rows[0]["matrix"]})
    for ext in ("png", "svg", "csv", "json"):
        assert (out / f"{ct.NAME}.{ext}").stat().st_size > 0
    with open(out / f"{ct.NAME}.csv", newline="") as fh:
        assert next(csv.reader(fh)) == ct.CSV_COLUMNS
    assert len(rows) == len(ct.METHODS) * len(cfg["fractions"])
    N, n = X.shape
    s = np.linalg.svd(X.astype(np.float64), compute_uv=False)
    fro2 = np.sum(s**2)
    for r in rows:
        if r["ok"] != "True":
            assert r["method"] == "dictionary" and "too small" in r["note"]
            continue
        assert float(r["bytes"]) <= float(r["budget_bytes"])
        assert 0 <= float(r["nn_overlap"]) <= 1
        k = int(float(r["param"]))
        if r["method"] == "svd":  # Eckart–Young: the error of the best rank-r approximation
            ey = np.sqrt(np.sum(s[k:] ** 2) / fro2)
            assert float(r["rel_frobenius"]) == pytest.approx(ey, rel=1e-5)
            assert float(r["bytes"]) == (N + n) * k * 4
        if r["method"] == "keep_largest":  # tail energy of every row beyond its k largest entries
            a = np.sort(np.abs(X.astype(np.float64)), axis=1)
            assert float(r["rel_frobenius"]) == pytest.approx(np.sqrt(np.sum(a[:, : n - k] ** 2) / fro2), rel=1e-5)
            idx = 1 if n <= 256 else 2
            assert float(r["bytes"]) == N * k * (4 + idx)
    for m in ct.METHODS:  # more bytes, less error
        err = [float(r["rel_frobenius"]) for r in sorted(_f(rows, method=m, ok=True), key=lambda r: float(r["bytes"]))]
        assert len(err) >= 3 and all(b <= a + 1e-9 for a, b in zip(err, err[1:])), (m, err)
    # the largest budget keeps more neighbours than the smallest for every method
    for m in ct.METHODS:
        ov = [float(r["nn_overlap"]) for r in sorted(_f(rows, method=m, ok=True), key=lambda r: float(r["bytes"]))]
        assert ov[-1] > ov[0]


def test_compression_tradeoff_synthetic_quick_and_resume(tmp_path, monkeypatch):
    out, cache, rows = _run_ct(tmp_path, "synthetic")
    X = ct.matrix("synthetic", ct.QUICK["n_rows"])
    _check_compression(out, rows, X)
    n_files = len(list(cache.iterdir()))

    def boom(*a, **k):
        raise AssertionError("recomputed a cached cell")

    monkeypatch.setattr(ct, "compute", boom)
    monkeypatch.setattr(ct.cs, "make_learner", boom)
    _, _, rows2 = _run_ct(tmp_path, "synthetic")
    assert len(list(cache.iterdir())) == n_files
    assert [r["rel_frobenius"] for r in rows2] == [r["rel_frobenius"] for r in rows]


@pytest.mark.real
def test_compression_tradeoff_minilm_quick(tmp_path):
    out, cache, rows = _run_ct(tmp_path, "minilm")
    X = ct.matrix("minilm", ct.QUICK["n_rows"])
    assert X.shape == (ct.QUICK["n_rows"], 384)
    _check_compression(out, rows, X)


def test_diverged_signals_count_as_failures_in_the_quartiles():
    from experiments import embedding_recovery as er

    # no divergence: the usual interpolated percentiles
    assert er._quartiles([0.1, 0.2, 0.3, 0.4])["median"] == pytest.approx(0.25)
    # a diverged signal is +inf: order statistics, finite while fewer than half diverged
    q = er._quartiles([0.1, 0.2, 0.3, np.inf])
    assert q["median"] == 0.2 and q["q75"] == 0.3
    assert np.isinf(er._quartiles([0.1, np.inf, np.inf, np.inf])["median"])
