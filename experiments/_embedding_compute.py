"""Computation of the embedding study (figure 1): data, bases, K-term floors and one cell.

The matrix rows, the held-out PCA basis and learned dictionary, and the floors are computed
once per configuration (:func:`prepare`, cached as an ``.npz`` beside the cell cache); a cell
(:func:`compute`) is one solver, one basis and one m, all sampled vectors recovered in one
batched ``recover`` call. Nothing here draws.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit.experiment import cell_key, cell_seed
from experiments import _plotting
from experiments._embedding_config import BASES, SEED, SYNTHETIC, greedy_k, is_slow, solver_params

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def load_matrix(name: str):
    """Rows of the embedding matrix ``(N, n)`` as float64, and a mask of usable rows.

    Special tokens (``[PAD]``, ``[unused17]``, ...) are excluded from sampling: they are
    untrained or reserved rows, not token vectors. ``"synthetic"`` is a seeded matrix whose
    rows are compressible in a random orthonormal basis Q (coefficient j ~ N(0, j^(-2·decay))).
    """
    if name == "synthetic":
        rng = np.random.default_rng(SEED)
        N, n, decay = SYNTHETIC["n_rows"], SYNTHETIC["n"], SYNTHETIC["decay"]
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        # Gaussian coefficients with power-law standard deviations: compressible rows and a
        # decaying spectrum, as in embedding matrices but with a known basis Q
        C = rng.standard_normal((N, n)) * np.arange(1, n + 1, dtype=float) ** -decay
        return C @ Q.T, np.ones(N, dtype=bool)
    emb = cs.load_embeddings(name)
    X = np.asarray(emb, dtype=np.float64)
    usable = np.ones(X.shape[0], dtype=bool)
    if emb.tokens is not None:
        usable = np.array([not (t.startswith("[") and t.endswith("]")) and not (t.startswith("<") and t.endswith(">"))
                           for t in emb.tokens])
    usable &= np.linalg.norm(X, axis=1) > 0
    return X, usable


def _setup_spec(cfg: dict) -> dict:
    keys = ("matrix", "n_signals", "n_heldout", "k", "dict_learner", "dict_atoms", "dict_params")
    return {"seed": SEED, **{k: cfg[k] for k in keys}}


def _fit_dictionary(H: np.ndarray, cfg: dict):
    """Learn ``dict_atoms`` unit-norm atoms on the held-out rows ``H``; returns (D (n, p), label)."""
    learner = cs.make_learner(cfg["dict_learner"], n_atoms=cfg["dict_atoms"],
                              coder=cs.OMP(n_nonzero_coefs=cfg["k"]), random_state=SEED, **cfg["dict_params"])
    learner.fit(H)
    return np.asarray(learner.as_basis(), dtype=np.float64), f"cstoolkit {cfg['dict_learner']} + OMP(k={cfg['k']})"


def kterm_floor(T: np.ndarray, basis: str, k: int, Psi) -> np.ndarray:
    """Per-signal best k-term relative error of the columns of ``T`` (n, B) in ``basis``.

    Orthonormal bases: exact, from the k largest analysis coefficients (the tail energy).
    Overcomplete dictionary: a k-atom OMP fit of x itself (the best k-term error is NP-hard;
    OMP is the standard upper estimate).
    """
    if basis == "learned":
        S = cs.OMP(n_nonzero_coefs=k).recover(Psi, T).coef
        return cs.metrics.relative_error(T, Psi @ S)
    C = T if basis == "identity" else (Psi.T @ T if basis == "pca" else cs.DCTBasis(T.shape[0]).rmatmat(T))
    Ck = cs.sparsify.keep_largest(C.T, k, axis=1).toarray().T
    return cs.metrics.relative_error(C, Ck)


def prepare(cfg: dict, cache: Path) -> Path:
    """Sample test rows, fit the held-out bases and the floors once; cached as an ``.npz``."""
    spec = _setup_spec(cfg)
    path = Path(cache) / f"setup-{cell_key(spec)}.npz"
    if path.exists():
        return path
    X, usable = load_matrix(cfg["matrix"])
    rng = np.random.default_rng(SEED)
    rows = rng.permutation(np.flatnonzero(usable))
    need = cfg["n_signals"] + cfg["n_heldout"]
    if rows.size < need:
        raise ValueError(f"{cfg['matrix']} has {rows.size} usable rows; need n_signals + n_heldout = {need}.")
    test_idx, held_idx = rows[: cfg["n_signals"]], rows[cfg["n_signals"]: need]
    H = X[held_idx]
    t0 = time.perf_counter()
    pca = np.linalg.svd(H, full_matrices=False)[2].T  # (n, n) orthonormal, uncentred
    D, dict_label = _fit_dictionary(H, cfg)
    fit_seconds = time.perf_counter() - t0
    T = X[test_idx].T
    floors = {b: kterm_floor(T, b, cfg["k"], {"pca": pca, "learned": D}.get(b)) for b in BASES}
    Path(cache).mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, test_idx=test_idx, pca=pca, learned=D, dict_label=dict_label, fit_seconds=fit_seconds,
             **{f"floor_{b}": v for b, v in floors.items()})
    os.replace(tmp, path)
    return path


@functools.lru_cache(maxsize=4)
def _load_setup(path: str) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}



def make_cells(cfg: dict, solvers, bases=BASES) -> list[dict]:
    n = load_matrix(cfg["matrix"])[0].shape[1]
    cells = []
    for ratio in sorted(set(cfg["ratios"]) | set(cfg["slow_ratios"])):
        m = int(round(ratio * n))
        # the seed ignores solver and basis: every solver sees the same Φ at a given m
        phi_seed = cell_seed(dict(matrix=cfg["matrix"], n=n, m=m), SEED)
        for basis in bases:
            for s in solvers:
                if ratio not in (cfg["slow_ratios"] if is_slow(s) else cfg["ratios"]):
                    continue
                ns = cfg["n_signals_slow"] if is_slow(s) else cfg["n_signals"]
                cells.append(dict(matrix=cfg["matrix"], n=n, m=m, basis=basis, solver=s, k=cfg["k"],
                                  n_signals=min(ns, cfg["n_signals"]), phi_seed=phi_seed,
                                  params=solver_params(s, greedy_k(m, cfg), cfg), setup=cell_key(_setup_spec(cfg))))
    return cells


def _quartiles(v) -> dict:
    v = np.asarray(v, dtype=float)
    if not v.size:
        return dict(q25=np.nan, median=np.nan, q75=np.nan)
    if np.isinf(v).any():
        # diverged signals count as infinitely wrong: quartiles are order statistics then (no
        # interpolation with ∞), finite while fewer than a quarter/half/three quarters diverged
        q25, q50, q75 = np.quantile(v, [0.25, 0.5, 0.75], method="inverted_cdf")
    else:
        q25, q50, q75 = np.nanpercentile(v, [25, 50, 75])
    return dict(q25=q25, median=q50, q75=q75)


def compute(cell: dict, setup_path: str) -> dict:
    """Measure the cell's sample with its Φ, recover in its basis with one batched call."""
    setup = _load_setup(str(setup_path))
    X, _ = load_matrix(cell["matrix"])
    n, m, k, B = cell["n"], cell["m"], cell["k"], cell["n_signals"]
    T = X[setup["test_idx"][:B]].T  # (n, B) real vectors
    basis = cell["basis"]
    target = cs.sparsify.keep_largest(T.T, k, axis=1).toarray().T if basis == "identity" else T
    Psi = {"identity": None, "pca": setup["pca"], "dct": cs.DCTBasis(n), "learned": setup["learned"]}[basis]
    Phi = cs.ensembles.gaussian(m, n, random_state=cell["phi_seed"])
    Y = Phi @ target
    params = dict(cell["params"])
    if "epsilon_rel" in params:
        params["epsilon"] = params.pop("epsilon_rel") * float(np.median(np.linalg.norm(Y, axis=0)))
    floor = setup[f"floor_{basis}"][:B]
    fq = _quartiles(floor)
    common = dict(ratio=m / n, floor_q25=fq["q25"], floor_median=fq["median"], floor_q75=fq["q75"])
    t0 = time.perf_counter()
    try:
        # solvers that assume an incoherent Gaussian matrix may diverge on ΦΨ: that is a result
        with np.errstate(all="ignore"):
            res = cs.make_recoverer(cell["solver"], **params).recover(Phi, Y, basis=Psi)
    except Exception as exc:  # one failing solver must not sink the figure; recorded and logged
        logger.warning("%s failed on %s m=%d: %s", cell["solver"], basis, m, exc)
        return dict(ok=False, error_msg=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - t0,
                    **{f"err_{q}": np.nan for q in ("q25", "median", "q75")}, errors=[], err_x_median=np.nan,
                    nnz_median=np.nan, n_iter=0, stop_reason="error", **common)
    sec = time.perf_counter() - t0
    xh = np.asarray(res.x).real
    with np.errstate(all="ignore"):
        err = cs.metrics.relative_error(target, xh)
        err_x = cs.metrics.relative_error(T, xh)
    # a diverged signal comes back as NaN (Recoverer divergence guard): it is a failure, not a
    # missing value
    err, err_x = np.where(np.isnan(err), np.inf, err), np.where(np.isnan(err_x), np.inf, err_x)
    n_div = int(np.count_nonzero(np.isnan(xh).any(axis=0)))
    coef = np.asarray(res.coef)
    nnz = np.count_nonzero(np.abs(coef) > 1e-10 * np.abs(coef).max(axis=0, initial=0), axis=0)
    # quartiles count diverged signals as infinitely wrong; a quartile that is infinite is stored
    # as NaN (empty in the CSV) and n_diverged says why — never a numeric stand-in for ∞
    quart = {f"err_{q}": _plotting.finite_or_nan(v) for q, v in _quartiles(err).items()}
    return dict(
        ok=True, error_msg="", seconds=sec, n_iter=int(np.max(res.n_iter)), stop_reason=res.stop_reason,
        n_diverged=n_div, **quart,
        err_x_median=_plotting.finite_or_nan(_quartiles(err_x)["median"]),
        nnz_median=float(np.median(nnz)), errors=np.where(np.isfinite(err), err, np.nan).tolist(), **common,
    )

