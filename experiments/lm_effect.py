"""What compressing the token-embedding table does to the model: SmolLM2 KLD / PPL, MiniLM sentence embeddings.

The token tables of SmolLM2-135M (49152 × 576, tied to its output head) and all-MiniLM-L6-v2
(30522 × 384) are compressed at equal **bytes per row** by

* **top-k per row** — the k largest entries of each row (float16 value + uint16 column);
* **truncated SVD** — rank-r factors (float16), exact SVD (Eckart–Young);
* **learned dictionary + OMP** — K atoms (float16) learned online with an OMP coder on a seeded
  row sample, then k (float16 value, uint16 atom) pairs per row; the dictionary's bytes are
  spread over the rows (not run above 612 / 408 bytes per row, where OMP would pick ~280 atoms
  per row and the coding alone would take longer than the rest of the experiment);
* **GGUF row quantisation** — Q8_0 (8.5 bits/value), Q4_1 (5 bits), Q4_0 (4.5 bits) blocks of
  32 (:mod:`cstoolkit.lm.quantize`, the ``gguf`` package's quantisers) as baselines.

Bytes are those of :func:`cstoolkit.compression.storage_for` with 2-byte values; the sparse,
low-rank and dictionary reconstructions are rounded to float16 (for SVD and the dictionary the
product is rounded, not the factors — a difference far below the truncation error). SmolLM2's
shipped table is itself Q8_0, so "original" is that table dequantised and Q8_0 re-quantises it
almost exactly.

Each compressed table goes into the numpy forward passes of :mod:`cstoolkit.lm`:

* SmolLM2, **tied** (input embedding and output head both compressed, as the model is built) and
  **input-only** (output head kept): mean / median / p99 KLD of the next-token distribution from
  the original's, PPL ratio, same-top-token rate, Δp, over fixed 512-token windows of held-out
  prose (:func:`cstoolkit.lm.text.reference_prose`, split "eval");
* MiniLM: cosine between original and compressed sentence embeddings, Spearman correlation of the
  pairwise similarities, top-10 retrieval overlap, on a seeded sample of held-out sentences.

One cached cell per (model, method, budget); the dictionaries and the reference model outputs are
computed once and cached next to the cells. The summary table gives, for each method, the
smallest bytes per row at which SmolLM2 keeps mean KLD < 0.01 and the same top token on ≥ 95 %
of positions.

    python -m experiments.lm_effect [--quick]

References: llama.cpp ``llama-perplexity --kl-divergence``; Eckart & Young (1936); Mairal et
al., ICML 2009 (online dictionary learning); Pati et al. (1993) (OMP).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit import compression
from cstoolkit.experiment import cell_key, write_csv, write_json
from experiments import _common
from experiments._common import environment

logger = logging.getLogger(__name__)

NAME = "lm_effect"
SEED = 20251202
SPARSE = ("keep_largest", "svd", "dictionary")
QUANT = ("q8_0", "q4_1", "q4_0")
METHODS = SPARSE + QUANT
LABELS = {"keep_largest": "top-k per row", "svd": "truncated SVD", "dictionary": "learned dictionary + OMP",
          "q8_0": "GGUF Q8_0", "q4_1": "GGUF Q4_1", "q4_0": "GGUF Q4_0"}
VALUE_BYTES = 2  # float16 values and factors
TABLES = {"smollm2": "token_embd.weight", "minilm": "embeddings.word_embeddings.weight"}

FULL = dict(models=("smollm2", "minilm"),
            budgets={"smollm2": [144, 324, 612, 1152], "minilm": [96, 216, 408, 768]},
            window=512, n_tokens=1024, n_sentences=512, variants=("tied", "input_only"),
            dict_atoms=512, dict_train_rows=8000, dict_k=16, dict_params=dict(batch_size=256, max_iter=2),
            # OMP with k ~ 280 atoms per row over 49152 rows costs ~ 1 TFLOP: the dictionary stops at 612 B/row
            dict_max_bytes_per_row={"smollm2": 612, "minilm": 408})
# CI: one budget per model, 128 tokens, the tied variant only, a small dictionary
QUICK = dict(FULL, budgets={"smollm2": [324], "minilm": [216]}, window=128, n_tokens=128, n_sentences=64,
             variants=("tied",), methods=("keep_largest", "dictionary", "q4_0"), dict_atoms=128,
             dict_train_rows=1000, dict_params=dict(batch_size=128, max_iter=1))
THRESHOLDS = dict(kld_mean=0.01, same_top=0.95)
DENSE_ROW_BYTES = {"smollm2": 576 * 4, "minilm": 384 * 4}  # float32 rows


# ------------------------------------------------------------------ models and references (cached per process)
@functools.lru_cache(maxsize=2)
def model(name: str):
    from cstoolkit import lm

    return lm.load_smollm2() if name == "smollm2" else lm.load_minilm()


def table(name: str) -> np.ndarray:
    return model(name).weights[TABLES[name]]


@functools.lru_cache(maxsize=2)
def eval_data(name: str, window: int, n_tokens: int, n_sentences: int):
    from cstoolkit.lm import text

    prose = text.reference_prose("eval")
    if name == "smollm2":
        return text.token_windows(model(name).encode(prose), window, max_tokens=n_tokens)
    return text.sentences(prose, n_sentences, random_state=SEED)


def _spec(cfg, name, what):
    keys = {"dictionary": ("dict_atoms", "dict_train_rows", "dict_k", "dict_params"),
            "reference": ("window", "n_tokens", "n_sentences")}[what]
    return {"seed": SEED, "model": name, "what": what, **{k: cfg[k] for k in keys}}


def _save_npz(path: Path, **arrays):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def prepare(cfg: dict, cache: Path) -> dict:
    """Dictionaries and reference outputs, once per model; cached ``.npz`` files (paths returned)."""
    from cstoolkit import lm

    paths = {}
    for name in cfg["models"]:
        d = Path(cache) / f"dictionary-{cell_key(_spec(cfg, name, 'dictionary'))}.npz"
        if not d.exists():
            X = table(name)
            rng = np.random.default_rng(SEED)
            H = X[rng.choice(X.shape[0], size=min(cfg["dict_train_rows"], X.shape[0]), replace=False)]
            t0 = time.perf_counter()
            learner = cs.make_learner("online", n_atoms=cfg["dict_atoms"], coder=cs.OMP(n_nonzero_coefs=cfg["dict_k"]),
                                      random_state=SEED, **cfg["dict_params"]).fit(H.astype(np.float64))
            _save_npz(d, atoms=np.asarray(learner.components_, dtype=np.float32),
                      fit_seconds=time.perf_counter() - t0)
        r = Path(cache) / f"reference-{cell_key(_spec(cfg, name, 'reference'))}.npz"
        if not r.exists():
            data = eval_data(name, cfg["window"], cfg["n_tokens"], cfg["n_sentences"])
            t0 = time.perf_counter()
            out = lm.reference_hidden(model(name), data) if name == "smollm2" else model(name).encode(data)
            _save_npz(r, reference=out, seconds=time.perf_counter() - t0)
        paths[name] = (str(d), str(r))
    return paths


@functools.lru_cache(maxsize=4)
def _load(path: str, key: str) -> np.ndarray:
    with np.load(path) as z:
        return z[key]


# ------------------------------------------------------------------ compression at a bytes-per-row budget
def _full_svd(X: np.ndarray):
    """Exact float64 SVD of a table, computed once per table and worker (every SVD budget is a
    prefix of it; the 49152 × 576 SmolLM2 table took 4 minutes a cell under load when each cell
    factored it again)."""
    key = (X.shape, X.dtype.str, hashlib.sha256(np.ascontiguousarray(X).data).hexdigest())
    if _SVD_CACHE.get("key") != key:
        _SVD_CACHE.clear()
        _SVD_CACHE.update(key=key, factors=cs.sparsify.svd_truncate(X.astype(np.float64), min(X.shape),
                                                                    method="full"))
    return _SVD_CACHE["factors"]


_SVD_CACHE: dict = {}


def compress_table(X, method, bytes_per_row, atoms=None):
    """``(X_hat float32, bytes, param)`` of ``method`` at ``bytes_per_row × n_rows`` bytes."""
    from cstoolkit.lm.quantize import quantize_rows

    N, m = X.shape
    if method in QUANT:
        X_hat, used = quantize_rows(X, method)
        return X_hat, used, None
    budget = bytes_per_row * N
    if method == "svd":  # exact SVD (the randomised one of compress() is ~1 % off at high rank)
        r = int(min(budget // ((N + m) * VALUE_BYTES), m))
        if r < 1:
            raise ValueError(f"{bytes_per_row} bytes per row is too small for rank 1")
        X_hat = _full_svd(X).truncate(r).reconstruct()
        used, param = compression.storage_for("svd", X.shape, r, value_bytes=VALUE_BYTES), r
    else:
        X_hat, used, p = compression.compress(X, method, budget, value_bytes=VALUE_BYTES, dictionary=atoms,
                                              random_state=SEED)
        param = p["k"]
    # values stored as float16: round the reconstruction
    return np.asarray(X_hat, dtype=np.float16).astype(np.float32), used, param


def make_cells(cfg: dict) -> list[dict]:
    methods = cfg.get("methods", METHODS)
    cells = []
    for name in cfg["models"]:
        base = dict(model=name, window=cfg["window"], n_tokens=cfg["n_tokens"], n_sentences=cfg["n_sentences"],
                    variants=list(cfg["variants"]) if name == "smollm2" else ["encoder"], seed=SEED)
        for m in methods:
            if m in QUANT:
                cells.append(dict(base, method=m, bytes_per_row=None))
            else:
                dspec = cell_key(_spec(cfg, name, "dictionary")) if m == "dictionary" else None
                cells += [dict(base, method=m, bytes_per_row=b, dictionary=dspec) for b in cfg["budgets"][name]
                          if m != "dictionary" or b <= cfg["dict_max_bytes_per_row"][name]]
    return cells


def compute(cell: dict, paths: dict) -> dict:
    """Compress one table at one budget; score the model(s) against the original."""
    from cstoolkit import lm

    name = cell["model"]
    dict_path, ref_path = paths[name]
    X = table(name)
    t0 = time.perf_counter()
    try:
        X_hat, used, param = compress_table(X, cell["method"], cell["bytes_per_row"],
                                            _load(dict_path, "atoms") if cell["method"] == "dictionary" else None)
    except ValueError as exc:  # e.g. the dictionary alone exceeds the budget
        return dict(ok=False, note=str(exc), variants={})
    t_comp = time.perf_counter() - t0
    q = compression.compression_quality(X, X_hat, n_queries=500, random_state=SEED)
    data = eval_data(name, cell["window"], cell["n_tokens"], cell["n_sentences"])
    ref = _load(ref_path, "reference")
    out = {}
    for v in cell["variants"]:
        t = time.perf_counter()
        if name == "smollm2":
            hat = model(name).with_weights({TABLES[name]: X_hat}, keep_output_head=(v == "input_only"))
            rep, _ = lm.compare_causal_lm(model(name), hat, data, ref_hidden=ref)
        else:
            rep = lm.compare_encoders(model(name), model(name).with_weights({TABLES[name]: X_hat}), data,
                                      ref_embeddings=ref)
        out[v] = dict(rep.as_dict(), seconds=time.perf_counter() - t)
    return dict(ok=True, note="", bytes=used, bytes_per_row=used / X.shape[0], param=param,
                compress_seconds=t_comp, table_rel_frobenius=q["rel_frobenius"], table_mean_cosine=q["mean_cosine"],
                table_nn_overlap=q["nn_overlap"], variants=out)


def flatten(rows: list[dict]) -> list[dict]:
    """One row per (model, method, budget, variant) from the cell records."""
    flat = []
    for r in rows:
        if not r.get("ok"):
            flat.append(dict(model=r["model"], method=r["method"], budget_bytes_per_row=r["cell_budget"], ok=False,
                             note=r.get("note", "")))
            continue
        for v, s in r["variants"].items():
            flat.append(dict(model=r["model"], method=r["method"], variant=v, budget_bytes_per_row=r["cell_budget"],
                             bytes_per_row=r["result_bytes_per_row"], param=r["param"],
                             table_rel_frobenius=r["table_rel_frobenius"], table_mean_cosine=r["table_mean_cosine"],
                             ok=True, note="", **s))
    return flat


def threshold_table(flat: list[dict]) -> list[dict]:
    """Per SmolLM2 method and variant: the smallest bytes/row with mean KLD < 0.01 and same-top >= 95 %."""
    out = []
    for v in sorted({r["variant"] for r in flat if r.get("ok") and r["model"] == "smollm2"}):
        for m in METHODS:
            pts = sorted((r for r in flat if r.get("ok") and r["model"] == "smollm2" and r["method"] == m
                          and r["variant"] == v), key=lambda r: r["bytes_per_row"])
            if not pts:
                continue
            good = [r for r in pts if r["kld_mean"] < THRESHOLDS["kld_mean"] and r["same_top"] >= THRESHOLDS["same_top"]]
            out.append(dict(method=m, variant=v, tested=[round(r["bytes_per_row"], 1) for r in pts],
                            bytes_per_row=good[0]["bytes_per_row"] if good else None,
                            kld_mean=good[0]["kld_mean"] if good else pts[-1]["kld_mean"],
                            same_top=good[0]["same_top"] if good else pts[-1]["same_top"]))
    return out


def markdown_table(tab: list[dict], dense_row: float) -> str:
    L = ["| method | variant | smallest bytes/row with mean KLD < 0.01 and same top ≥ 95 % | KLD there | same top there |",
         "|---|---|---|---|---|"]
    for t in tab:
        b = (f"{t['bytes_per_row']:.0f} ({dense_row / t['bytes_per_row']:.1f}× smaller than float32)"
             if t["bytes_per_row"] else f"none up to {max(t['tested']):.0f}")
        L.append(f"| {LABELS[t['method']]} | {t['variant']} | {b} | {t['kld_mean']:.4f} | {t['same_top']:.3f} |")
    return "\n".join(L)


def draw(flat: list[dict], out: Path) -> None:
    """Six panels: SmolLM2 mean KLD, PPL ratio, same-top rate; MiniLM cosine, Spearman, top-10 retrieval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    ok = [r for r in flat if r.get("ok")]
    fig, axes = plt.subplots(2, 3, figsize=(15, 9.5))
    panels = [("smollm2", "kld_mean", "mean KLD (nats)", "log"), ("smollm2", "ppl_ratio", "PPL ratio", "log"),
              ("smollm2", "same_top", "same top token", "linear"), ("minilm", "cosine", "sentence-embedding cosine",
                                                                      "linear"),
              ("minilm", "spearman", "Spearman of pairwise similarities", "linear"),
              ("minilm", "retrieval_top10", "top-10 retrieval overlap", "linear")]
    colors = {"keep_largest": "C0", "svd": "C3", "dictionary": "C2", "q8_0": "k", "q4_1": "C4", "q4_0": "C1"}
    for ax, (mdl, key, label, yscale) in zip(axes.ravel(), panels):
        for m in METHODS:
            for v, ls in (("tied", "-"), ("input_only", "--"), ("encoder", "-")):
                pts = sorted((r for r in ok if r["model"] == mdl and r["method"] == m and r["variant"] == v),
                             key=lambda r: r["bytes_per_row"])
                if not pts:
                    continue
                x = [r["bytes_per_row"] for r in pts]
                # log panels: values below 1e-5 (Q8_0 re-quantising a Q8_0 table) drawn at the floor
                y = [max(r[key] - (1 if key == "ppl_ratio" else 0), 1e-5) if yscale == "log" else r[key] for r in pts]
                lab = f"{LABELS[m]}{' (input only)' if v == 'input_only' else ''}"
                ax.plot(x, y, ls, marker="*" if m in QUANT else "o", color=colors[m], ms=8 if m in QUANT else 4,
                        label=lab)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_yscale(yscale)
        ax.set_xlabel("bytes per row (log)")
        ax.set_ylabel(label if key != "ppl_ratio" else "PPL ratio − 1 (log)")
        ax.set_title(("SmolLM2-135M: " if mdl == "smollm2" else "all-MiniLM-L6-v2: ") + label, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].axhline(THRESHOLDS["kld_mean"], color="gray", lw=0.8, ls=":")
    axes[0, 2].axhline(THRESHOLDS["same_top"], color="gray", lw=0.8, ls=":")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=6, fontsize=8, frameon=False)
    fig.suptitle("Compressing the token-embedding table: what the model notices (solid: tied head compressed too; "
                 "dashed: input side only)", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    _common.save_figure(fig, out, NAME)


CSV_COLUMNS = ["model", "method", "variant", "budget_bytes_per_row", "bytes_per_row", "param", "table_rel_frobenius",
               "table_mean_cosine", "n_positions", "ppl_ref", "ppl_hat", "ppl_ratio", "kld_mean", "kld_median",
               "kld_p99", "kld_max", "same_top", "delta_p_mean", "delta_p_rms", "n_sentences", "cosine", "cosine_min",
               "spearman", "retrieval_top10", "seconds", "ok", "note"]


def main(argv=None):
    p = _common.parser(__doc__.splitlines()[0])
    args = p.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    cache = _common.cache_dir(args, NAME, args.quick)
    out = Path(args.out)
    if args.quick and out == _common.ROOT / "figures":  # committed figures come from full runs only
        out = cache / "out"
    with _common.Timer() as tm:
        paths = prepare(cfg, cache)
        cells = make_cells(cfg)
        rows, grid_seconds = _common.run_cells(args, NAME, cells, functools.partial(compute, paths=paths), cache)
    # run_cells merges cell and result: keep both budgets apart before flattening
    merged = [{**r, "cell_budget": c["bytes_per_row"], "result_bytes_per_row": r.get("bytes_per_row")}
              for c, r in zip(cells, rows)]
    flat = flatten(merged)
    tab = threshold_table(flat)
    md = markdown_table(tab, DENSE_ROW_BYTES["smollm2"])
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{NAME}.csv", flat, CSV_COLUMNS)
    fits = {n: float(_load(paths[n][0], "fit_seconds")) for n in cfg["models"]}
    write_json(out / f"{NAME}.json", dict(
        config={**cfg, "quick": args.quick, "seed": SEED, "value_bytes": VALUE_BYTES}, thresholds=THRESHOLDS,
        # the compute time of the numbers (dictionary fits + the runs that computed the cells), kept on a cached
        # rerun; the per-point numbers are in the CSV, the table also in lm_effect.md (no multi-line strings here:
        # the docs turn this JSON into tables)
        threshold_table=tab, dictionary_fit_seconds=fits,
        wall_seconds=sum(fits.values()) + grid_seconds,
        n_cells=len(cells), environment=environment(), **_common.run_record(args)))
    (out / f"{NAME}.md").write_text(md + "\n")
    draw(flat, out)
    return dict(rows=flat, table=tab, markdown=md, wall_seconds=tm.seconds, out=out)


if __name__ == "__main__":
    _common.setup_logging()
    from experiments import lm_effect as _mod  # workers unpickle compute() by reference

    res = _mod.main()
    for r in res["rows"]:
        if r.get("ok"):
            extra = (f"KLD {r['kld_mean']:.4f} PPLx {r['ppl_ratio']:.4f} same-top {r['same_top']:.3f}"
                     if r["model"] == "smollm2" else
                     f"cos {r['cosine']:.4f} spearman {r['spearman']:.4f} top10 {r['retrieval_top10']:.3f}")
            print(f"{r['model']:>8s} {r['method']:>12s} {r['variant']:>10s} {r['bytes_per_row']:7.1f} B/row  {extra}")
    print(res["markdown"])
    print(f"wall time {res['wall_seconds']:.1f} s -> {res['out']}")
