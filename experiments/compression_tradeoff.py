"""Figure 7: error and nearest-neighbour overlap against bytes for compressing an embedding matrix.

The all-MiniLM-L6-v2 word-embedding matrix X (30522 × 384, float32 = 46.9 MB) is compressed at
a range of byte budgets by

* **hard thresholding per row** — the k largest entries of every row (value + column index);
* **global hard thresholding** — the z largest entries of the whole matrix (CSR);
* **SVD truncation** — rank-r factors (U_r S_r, V_rᵀ) from an exact SVD (Eckart–Young optimal);
* **sparse coding through a learned dictionary** — K atoms learned by
  :mod:`cstoolkit.learners` (online learning with an OMP coder) on a seeded row sample, then
  k (value, atom index) pairs per row by OMP; the dictionary's own bytes are counted.

Bytes, errors and neighbour overlap come from :mod:`cstoolkit.compression`
(:func:`~cstoolkit.compression.evaluate_at_budget`): relative Frobenius error ‖X − X̂‖_F/‖X‖_F
and the mean overlap of the top-10 cosine nearest neighbours of 1000 seeded query rows
(neighbours among all rows, before vs after compression). Each (method, budget) is one cached
cell; the dictionary is fitted once and cached next to the cells.

    python -m experiments.compression_tradeoff [--quick]

References: Eckart & Young, Psychometrika 1 (1936); Mairal, Bach, Ponce & Sapiro, "Online
dictionary learning for sparse coding", ICML 2009; Chen, Min & Sun, "Learning K-way
D-dimensional discrete codes for compact embedding representations", ICML 2018.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit import compression
from cstoolkit.experiment import cell_key, write_csv, write_json
from experiments import _common, _plotting
from experiments._common import environment
from experiments.embedding_recovery import load_matrix

logger = logging.getLogger(__name__)

NAME = "compression_tradeoff"
#: One-line takeaway shown under the figure in the README and the docs.
TAKEAWAY = (
    "At equal bytes a learned dictionary with sparse codes stores MiniLM more accurately than keeping the"
    " largest entries or a truncated SVD (keep-16 0.870, rank-32 0.846, as the anchors)."
)
SEED = 20240607
METHODS = ("keep_largest", "hard_threshold", "svd", "dictionary")
LABELS = {
    "keep_largest": "hard threshold per row (k per row)",
    "hard_threshold": "global hard threshold (CSR)",
    "svd": "SVD truncation (rank r)",
    "dictionary": "learned dictionary + OMP (k per row)",
}

# Budgets as fractions of the dense float32 matrix.
FULL = dict(matrix="minilm", n_rows=None, fractions=[1 / 64, 1 / 48, 1 / 32, 1 / 24, 1 / 16, 1 / 12, 1 / 8, 1 / 6,
                                                       1 / 4, 1 / 3, 1 / 2],
            n_queries=1000, n_neighbors=10, dict_atoms=512, dict_train_rows=8000, dict_k=16,
            dict_learner="online", dict_params=dict(batch_size=256, max_iter=2))
# CI: a 3000-row sample, five budgets, a small dictionary.
QUICK = dict(FULL, n_rows=3000, fractions=[1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2], n_queries=200, dict_atoms=128,
             dict_train_rows=1500, dict_params=dict(batch_size=128, max_iter=1))
SYNTHETIC_OVERRIDES = dict(dict_atoms=48, dict_k=6, dict_train_rows=1000)


def effective_config(cfg: dict) -> dict:
    """The configuration with the synthetic-matrix overrides applied when it is selected."""
    return {**cfg, **SYNTHETIC_OVERRIDES} if cfg["matrix"] == "synthetic" else dict(cfg)


@functools.lru_cache(maxsize=4)
def matrix(name: str, n_rows):
    """The matrix compressed (float32, as stored), all rows or a seeded row sample."""
    X = load_matrix(name)[0].astype(np.float32)
    if n_rows is not None and n_rows < X.shape[0]:
        rows = np.sort(np.random.default_rng(SEED).choice(X.shape[0], size=n_rows, replace=False))
        X = X[rows]
    return np.ascontiguousarray(X)


def _dict_spec(cfg):
    keys = ("matrix", "n_rows", "dict_atoms", "dict_train_rows", "dict_k", "dict_learner", "dict_params")
    return {"seed": SEED, **{k: cfg[k] for k in keys}}


def prepare(cfg: dict, cache: Path) -> Path:
    """Fit the dictionary once on a seeded row sample of the matrix; cached as ``.npz``."""
    path = Path(cache) / f"dictionary-{cell_key(_dict_spec(cfg))}.npz"
    if path.exists():
        return path
    X = matrix(cfg["matrix"], cfg["n_rows"])
    rng = np.random.default_rng(SEED + 1)
    H = X[rng.choice(X.shape[0], size=min(cfg["dict_train_rows"], X.shape[0]), replace=False)].astype(np.float64)
    t0 = time.perf_counter()
    learner = cs.make_learner(cfg["dict_learner"], n_atoms=cfg["dict_atoms"], coder=cs.OMP(n_nonzero_coefs=cfg["dict_k"]),
                              random_state=SEED, **cfg["dict_params"]).fit(H)
    sec = time.perf_counter() - t0
    Path(cache).mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, atoms=np.asarray(learner.components_, dtype=np.float32), fit_seconds=sec)
    os.replace(tmp, path)
    return path


@functools.lru_cache(maxsize=2)
def _atoms(path: str) -> np.ndarray:
    with np.load(path) as z:
        return z["atoms"]


def make_cells(cfg: dict) -> list[dict]:
    X = matrix(cfg["matrix"], cfg["n_rows"])
    dense = X.shape[0] * X.shape[1] * 4
    return [dict(matrix=cfg["matrix"], n_rows=X.shape[0], n_features=X.shape[1], method=m, fraction=f,
                 budget_bytes=int(f * dense), n_queries=cfg["n_queries"], n_neighbors=cfg["n_neighbors"],
                 dictionary=cell_key(_dict_spec(cfg)) if m == "dictionary" else None, seed=SEED)
            for m in METHODS for f in cfg["fractions"]]


def compute(cell: dict, cfg: dict, dict_path: str) -> dict:
    """One method at one budget: bytes used, relative Frobenius error, top-k neighbour overlap."""
    X = matrix(cell["matrix"], cfg["n_rows"])
    D = _atoms(dict_path) if cell["method"] == "dictionary" else None
    t0 = time.perf_counter()
    try:
        if cell["method"] == "svd":
            return _svd_cell(X, cell, t0)
        rec = compression.evaluate_at_budget(X, cell["method"], cell["budget_bytes"], dictionary=D,
                                             n_queries=cell["n_queries"], n_neighbors=cell["n_neighbors"],
                                             random_state=cell["seed"])
    except ValueError as exc:  # e.g. the dictionary alone exceeds the budget: no point there
        logger.info("%s at %d bytes: %s", cell["method"], cell["budget_bytes"], exc)
        return dict(ok=False, note=str(exc), bytes=np.nan, rel_frobenius=np.nan, mean_cosine=np.nan,
                    nn_overlap=np.nan, param=np.nan, seconds=time.perf_counter() - t0)
    p = rec.params
    return dict(ok=True, note="", bytes=rec.bytes, rel_frobenius=rec.rel_frobenius, mean_cosine=rec.mean_cosine,
                nn_overlap=rec.nn_overlap, param=p.get("k", p.get("z", p.get("rank"))),
                seconds=time.perf_counter() - t0)


def _svd_cell(X, cell, t0):
    """Exact truncated SVD at the largest rank that fits (bytes as in :mod:`cstoolkit.compression`).

    :func:`cstoolkit.compression.compress` uses ``svd_truncate(method="auto")``, whose randomised
    SVD lands ~1% above the Eckart–Young error at rank ~190 on MiniLM; a full SVD of an
    (N, 384) matrix costs seconds, so the figure uses the exact optimum.
    """
    shape = X.shape
    r = int(min(cell["budget_bytes"] // ((shape[0] + shape[1]) * 4), min(shape)))
    if r < 1:
        raise ValueError(f"a budget of {cell['budget_bytes']} bytes is too small for rank 1")
    X_hat = cs.sparsify.svd_truncate(X.astype(np.float64), r, method="full").reconstruct()
    q = compression.compression_quality(X, X_hat.astype(X.dtype), n_queries=cell["n_queries"],
                                        n_neighbors=cell["n_neighbors"], random_state=cell["seed"])
    return dict(ok=True, note="exact SVD", bytes=compression.storage_for("svd", shape, r), param=r,
                seconds=time.perf_counter() - t0, **q)


def draw(rows: list[dict], out: Path, meta: dict | None = None) -> None:
    """Two panels from the cached numbers: error vs bytes and neighbour overlap vs bytes."""
    import matplotlib.ticker

    plt = _plotting.setup()
    meta = meta or {}
    ok = _plotting.sorted_rows([r for r in rows if _plotting.is_ok(r)], ("method", "bytes"))
    dense = ok[0]["n_rows"] * ok[0]["n_features"] * 4 if ok else 1
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12.5, 4.8))
    # marker and line style as well as colour: readable in greyscale
    o = _plotting.OKABE_ITO
    styles = {"keep_largest": (o[5], "o-"), "hard_threshold": (o[2], "s--"), "svd": (o[6], "^:"),
              "dictionary": (o[3], "D-.")}
    for m in METHODS:
        mr = sorted((r for r in ok if r["method"] == m), key=lambda r: r["bytes"])
        if not mr:
            continue
        c, st = styles[m]
        x = np.array([r["bytes"] for r in mr]) / 2**20
        a1.plot(x, [r["rel_frobenius"] for r in mr], st, color=c, ms=4, label=LABELS[m])
        a2.plot(x, [r["nn_overlap"] for r in mr], st, color=c, ms=4, label=LABELS[m])
    for a in (a1, a2):
        a.set_xscale("log")
        a.set_xlabel("bytes stored (MiB, log scale)")
        a.grid(alpha=0.3, which="both")
        sec = a.secondary_xaxis("top", functions=(lambda b: b * 2**20 / dense, lambda f: f * dense / 2**20))
        fr = [1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2]
        sec.set_xticks(fr, [f"1/{round(1 / f)}" for f in fr])
        sec.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        sec.set_xlabel("fraction of the dense float32 matrix")
        a.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        a.xaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        a.tick_params(axis="x", which="minor", labelsize=7)
    a1.set_ylabel("relative Frobenius error ‖X − X̂‖_F / ‖X‖_F")
    a1.set_ylim(0, 1.02)
    a2.set_ylabel("top-10 nearest-neighbour overlap (cosine)")
    a2.set_ylim(0, 1.02)
    a1.legend(fontsize=8, loc="lower left")
    r0 = ok[0] if ok else {"matrix": "?", "n_rows": 0, "n_features": 0}
    dl = meta.get("dictionary", "")
    fig.suptitle(f"Compressing {r0['matrix']} ({int(r0['n_rows'])} × {int(r0['n_features'])}, dense float32 = "
                 f"{dense / 2**20:.1f} MiB){'; dictionary: ' + dl if dl else ''}", fontsize=10)
    fig.tight_layout()
    _common.save_figure(fig, out, NAME)


def redraw(src, out):
    """Draw the committed figure again from ``src/NAME.csv`` and ``.json``."""
    import json

    from cstoolkit.experiment import read_csv

    meta = json.loads((Path(src) / f"{NAME}.json").read_text())
    draw(read_csv(Path(src) / f"{NAME}.csv"), out, dict(dictionary=meta.get("dictionary", "")))


CSV_COLUMNS = ["matrix", "n_rows", "n_features", "method", "fraction", "budget_bytes", "bytes", "param",
               "rel_frobenius", "mean_cosine", "nn_overlap", "n_queries", "n_neighbors", "seconds", "ok", "note"]


def main(argv=None):
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--matrix", default="minilm", help="built-in embedding matrix: minilm (default) or smollm2")
    args = p.parse_args(argv)
    cfg = effective_config({**(QUICK if args.quick else FULL), "matrix": args.matrix})
    cache = _common.cache_dir(args, NAME + ("" if args.matrix == "minilm" else "-" + args.matrix), args.quick)
    with _common.Timer() as tm:
        dict_path = prepare(cfg, cache)
        cells = make_cells(cfg)
        rows, grid_seconds = _common.run_cells(args, NAME, cells,
                                               functools.partial(compute, cfg=cfg, dict_path=str(dict_path)), cache)
    with np.load(dict_path) as z:
        fit_seconds = float(z["fit_seconds"])
    label = f"{cfg['dict_atoms']} atoms, {cfg['dict_learner']} learner + OMP(k={cfg['dict_k']}) on {cfg['dict_train_rows']} rows"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{NAME}.csv", rows, CSV_COLUMNS)
    write_json(out / f"{NAME}.json", dict(
        config={**cfg, "quick": args.quick, "seed": SEED, "methods": list(METHODS)}, dictionary=label,
        # the compute time of the numbers (dictionary fit + the runs that computed the cells), kept on a cached rerun
        dictionary_fit_seconds=fit_seconds, wall_seconds=fit_seconds + grid_seconds, n_cells=len(cells),
        cell_seconds_total=float(sum(r["seconds"] for r in rows)),
        method_seconds={m: float(sum(r["seconds"] for r in rows if r["method"] == m)) for m in METHODS},
        environment=environment(), **_common.run_record(args)))
    draw(rows, out, dict(dictionary=label))
    return dict(rows=rows, wall_seconds=tm.seconds, cache=cache)


if __name__ == "__main__":
    _common.setup_logging()
    from experiments import compression_tradeoff as _mod  # workers unpickle compute() by reference

    res = _mod.main()
    for r in res["rows"]:
        if r["ok"]:
            print(f"{r['method']:>15s} {r['fraction']:.4f}  {r['bytes'] / 2**20:7.2f} MiB  param {r['param']:>6}  "
                  f"error {r['rel_frobenius']:.3f}  NN overlap {r['nn_overlap']:.3f}")
    print(f"wall time {res['wall_seconds']:.1f} s")
