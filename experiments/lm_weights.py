"""Sparse dictionaries against truncated SVD on SmolLM2-135M's projection matrices, at equal parameters.

Every projection of the chosen blocks (attention q, k, v, output and MLP gate, up, down; all
30 blocks = 210 matrices in the full run, three blocks with ``--quick``) is replaced by an
approximation with 20/30/40/50 % of its parameters removed, by four methods of
:mod:`cstoolkit.weight_compression`:

* ``svd`` — truncated SVD at the largest rank that fits;
* ``dictionary`` — sparse dictionary ``Ŵ = C A`` (K atoms in the input space, s of them per
  row; indices of ⌈log2 K⌉ bits counted as parameters of 16 bits), learned by the registered
  MOD learner with an OMP coder from an SVD start, ``K = 3 s``;
* ``svd_cal`` / ``dictionary_cal`` — the same on the matrix whitened by the Cholesky factor of
  the Gram matrix of the layer's inputs on the *calibration* text (SVD-LLM / CoSpaDi), so
  that ‖(W − Ŵ)X‖ is minimised instead of ‖W − Ŵ‖.

The compressed model is scored against the original on the held-out *evaluation* text (the
two splits of :mod:`cstoolkit.lm.text` share no paragraph): perplexity, PPL ratio, mean /
median / p99 KLD, same top token — llama.cpp's ``--kl-divergence`` statistics, from
:func:`cstoolkit.lm.compare_causal_lm`. Per matrix: relative Frobenius error and the
relative functional error ‖(W − Ŵ)X‖/‖WX‖ with X the inputs on the calibration text (the
objective) and on the evaluation text (held out).

Caching: one JSON per (matrix, calibrated or not) with the errors of both methods at every
ratio — the whitening and the SVD of the (whitened) matrix are computed once there and
shared — and the factors of each (matrix, method, ratio) beside it until the model built from
them has been scored; the 16 models are scored as grid cells too (side by side on the
workers); one JSON per (method, ratio) with the model metrics. An interrupted run resumes;
nothing is recomputed once scored. Float64 is kept for the Gram matrices (sums over
thousands of tokens), the SVD and the dictionary learning (OMP with up to 170 atoms per row);
the model and the stored factors are float32.

Cost on 2 cores (CPU seconds, one BLAS thread per worker): activation statistics ≈ 130 s (27 windows),
compression ≈ 65 s per block (30 blocks), scoring ≈ 46 s per model (16 models): ≈ 2,850 CPU s,
≈ 24 min on an idle 2-core machine.

    python -m experiments.lm_weights [--quick] [--n-jobs 2]

References: Shopkhoev et al., "CoSpaDi", arXiv:2509.22075 (2025); Wang et al., "SVD-LLM",
ICLR 2025; Engan, Aase & Husøy, "Method of optimal directions", ICASSP 1999.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from pathlib import Path

import numpy as np

from cstoolkit import weight_compression as wc
from cstoolkit.experiment import cell_key, write_csv, write_json
from experiments import _common

logger = logging.getLogger(__name__)

NAME = "lm_weights"
SEED = 20261202
PROJECTIONS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
#: which calibration input each projection reads (the groups LlamaModel.hidden(observe=) reports)
INPUT_OF = {"attn_q": "attn_in", "attn_k": "attn_in", "attn_v": "attn_in", "attn_output": "attn_out",
            "ffn_gate": "ffn_in", "ffn_up": "ffn_in", "ffn_down": "ffn_mid"}
#: method label -> (registered compressor, calibrated)
METHODS = {"svd": ("svd", False), "svd_cal": ("svd", True), "dictionary": ("dictionary", False),
           "dictionary_cal": ("dictionary", True)}
LABELS = {"svd": "truncated SVD", "dictionary": "sparse dictionary (MOD + OMP)",
          "svd_cal": "SVD, calibrated (SVD-LLM whitening)", "dictionary_cal": "sparse dictionary, calibrated (CoSpaDi)"}
COLORS = {"svd": "tab:blue", "dictionary": "tab:orange", "svd_cal": "tab:green", "dictionary_cal": "tab:red"}

FULL = dict(blocks=None, ratios=[0.2, 0.3, 0.4, 0.5], window=512, eval_tokens=8192, calib_tokens=None,
            dictionary=dict(learner="mod", coder="omp", max_iter=2, atoms_per_nonzero=3.0, value_bits=16,
                            init="svd"),
            damping=1e-6)
# a few layers: the first, a middle and the last block
QUICK = dict(FULL, blocks=[0, 15, 29], eval_tokens=2048)


# ---------------------------------------------------------------------------------------------
# model, text, activation statistics
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def model():
    from cstoolkit import lm

    return lm.load_smollm2()


def windows(split: str, window: int, max_tokens):
    from cstoolkit.lm import text

    return text.token_windows(model().encode(text.reference_prose(split)), window, max_tokens=max_tokens)


def _text_spec(cfg: dict) -> dict:
    return {k: cfg[k] for k in ("window", "eval_tokens", "calib_tokens")}


def _stats_dir(cache: Path, spec: dict) -> Path:
    return cache / "activations" / cell_key(spec)


def _block_file(cache: Path, spec: dict, block: int) -> Path:
    return _stats_dir(cache, spec) / f"blk{block}.npz"


def collect_statistics(cfg: dict, cache: Path, blocks) -> np.ndarray:
    """Gram matrices of every projection input on the calibration and the evaluation text.

    Writes ``activations/blk{i}.npz`` (the block's weights and, per input, ``calibration:<input>``
    and ``eval:<input>`` Grams) and returns the reference model's final hidden states on the
    evaluation windows (reused by every comparison). Cached.
    """
    m = model()
    ev = windows("eval", cfg["window"], cfg["eval_tokens"])
    spec = _text_spec(cfg)
    ref_file = _stats_dir(cache, spec) / "ref_hidden.npy"
    if ref_file.exists() and all(_block_file(cache, spec, b).exists() for b in blocks):
        return np.load(ref_file)
    cal = windows("calibration", cfg["window"], cfg["calib_tokens"])
    d_in = {"attn_in": m.config.d_model, "attn_out": m.config.d_model, "ffn_in": m.config.d_model,
            "ffn_mid": m.config.d_ff}
    want = set(blocks)
    acc = {}

    def observer(split):
        def observe(names, x):
            blk, proj = names[0].split(".")[1], names[0].split(".")[2]
            if int(blk) in want:
                key = (split, int(blk), INPUT_OF[proj])
                if key not in acc:
                    acc[key] = wc.GramAccumulator(d_in[INPUT_OF[proj]])
                acc[key].update(x)
        return observe

    t0, c0 = time.perf_counter(), time.process_time()
    for w in cal:
        m.hidden(w, observe=observer("calibration"))
    ref = np.concatenate([m.hidden(w, observe=observer("eval")) for w in ev])
    logger.info("activation statistics: %d calibration + %d evaluation tokens in %.0f s (%.0f CPU s)", cal.size,
                ev.size, time.perf_counter() - t0, time.process_time() - c0)
    for b in blocks:
        arrays = {f"W:{p}": m.weights[f"blk.{b}.{p}.weight"] for p in PROJECTIONS}
        for (split, blk, inp), a in acc.items():
            if blk == b:
                arrays[f"{split}:{inp}"] = a.gram
        f = _block_file(cache, spec, b)
        f.parent.mkdir(parents=True, exist_ok=True)
        np.savez(f, **arrays)
    np.save(ref_file, ref)
    meta = {"calibration_tokens": int(cal.size), "eval_tokens": int(ev.size), "window": cfg["window"]}
    write_json(_stats_dir(cache, spec) / "meta.json", meta)
    return ref


@functools.lru_cache(maxsize=4)
def _block(cache: str, window: int, eval_tokens, calib_tokens, block: int):
    spec = dict(window=window, eval_tokens=eval_tokens, calib_tokens=calib_tokens)
    with np.load(_block_file(Path(cache), spec, block)) as z:
        return {k: z[k] for k in z.files}


# ---------------------------------------------------------------------------------------------
# matrix cells
# ---------------------------------------------------------------------------------------------
def _factor_file(cache: Path, cell: dict) -> Path:
    return cache / "factors" / f"{cell_key(cell)}.npz"


def _save_factors(path: Path, f) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    if isinstance(f, wc.LowRankWeight):
        np.savez(tmp, kind="lowrank", left=f.left.astype(np.float32), right=f.right.astype(np.float32))
    else:
        np.savez(tmp, kind="dictionary", atoms=f.atoms.astype(np.float32), indices=f.indices,
                 values=f.values.astype(np.float32), value_bits=f.value_bits)
    tmp.replace(path)


def _load_reconstruction(path: Path) -> np.ndarray:
    with np.load(path) as z:
        if str(z["kind"]) == "lowrank":
            return np.ascontiguousarray(z["left"] @ z["right"], dtype=np.float32)
        f = wc.SparseDictionaryWeight(atoms=z["atoms"], indices=z["indices"], values=z["values"],
                                      value_bits=int(z["value_bits"]))
        return np.ascontiguousarray(f.reconstruct(np.float32))


def _errors(W, W_hat, G_cal, G_eval, dens) -> dict:
    """Relative Frobenius and functional errors (float64; ``dens`` = the three ‖W‖² norms, shared)."""
    E = W - W_hat
    num = (np.einsum("ij,ij->", E, E), np.einsum("ij,ij->", E @ G_cal, E), np.einsum("ij,ij->", E @ G_eval, E))
    # wc.functional_error's formula, with the denominators computed once per matrix
    return {k: float(np.sqrt(max(n, 0.0) / d)) if d > 0 else float(np.sqrt(max(n, 0.0)))
            for k, n, d in zip(("rel_frobenius", "functional_calibration", "functional_eval"), num, dens)}


def compress_matrix(group: dict, cache: str) -> dict:
    """Compress one matrix at every ratio by SVD and dictionary, plain or calibrated (``group``).

    The whitening and the thin SVD of the (whitened) matrix are computed once and shared by
    both methods and every ratio (:meth:`WeightCompressor.compress_ratios`); each (method,
    ratio) writes the factor file of its per-matrix cell (:func:`matrix_cells`). Returns
    ``{"results": [row per (method, ratio)]}``.
    """
    cache = Path(cache)
    z = _block(str(cache), group["window"], group["eval_tokens"], group["calib_tokens"], group["block"])
    W = z[f"W:{group['proj']}"].astype(np.float64)
    inp = INPUT_OF[group["proj"]]
    G_cal, G_eval = z[f"calibration:{inp}"], z[f"eval:{inp}"]
    dens = (np.einsum("ij,ij->", W, W), np.einsum("ij,ij->", W @ G_cal, W), np.einsum("ij,ij->", W @ G_eval, W))
    whitening = wc.Whitening.from_gram(G_cal, damping=group["damping"]) if group["calibrated"] else None
    results = []
    for meth, (kind, calibrated) in METHODS.items():
        if calibrated != group["calibrated"]:
            continue
        params = dict(group["dictionary"]) if kind == "dictionary" else {}
        params["damping"] = group["damping"]
        if kind == "dictionary":
            params["random_state"] = group["seed"]
        comp = wc.make_weight_compressor(kind, **params)
        t0, c0 = time.perf_counter(), time.process_time()
        fs = comp.compress_ratios(W, group["ratios"], whitening=whitening)
        # the shared SVD split evenly over the ratios; CPU seconds are the measure a loaded machine keeps
        seconds = (time.perf_counter() - t0) / len(fs)
        cpu_seconds = (time.process_time() - c0) / len(fs)
        for ratio, f in zip(group["ratios"], fs):
            cell = _matrix_cell(group, meth, ratio)
            _save_factors(_factor_file(cache, cell), f)
            results.append({"key": cell_key(cell), "method": meth, "ratio": ratio, "d_out": W.shape[0],
                            "d_in": W.shape[1], "n_parameters": f.n_parameters,
                            "budget": wc.parameter_budget(W.shape, ratio), "dense_parameters": W.size,
                            **_errors(W, f.reconstruct(np.float64), G_cal, G_eval, dens), "seconds": seconds,
                            "cpu_seconds": cpu_seconds, **f.settings})
    return {"results": results}


def _matrix_cell(group: dict, method: str, ratio: float) -> dict:
    return dict(block=group["block"], proj=group["proj"], method=method, ratio=ratio,
                dictionary=group["dictionary"] if METHODS[method][0] == "dictionary" else None,
                damping=group["damping"], seed=group["seed"], window=group["window"],
                eval_tokens=group["eval_tokens"], calib_tokens=group["calib_tokens"])


def matrix_groups(cfg: dict, blocks) -> list[dict]:
    """One cell per (block, projection, calibrated): both methods at every ratio."""
    return [dict(block=b, proj=p, calibrated=cal, ratios=list(cfg["ratios"]), dictionary=cfg["dictionary"],
                 damping=cfg["damping"], seed=SEED, **_text_spec(cfg))
            for b in blocks for p in PROJECTIONS for cal in (False, True)]


def matrix_cells(cfg: dict, blocks, method: str, ratio: float) -> list[dict]:
    """The per-(matrix, method, ratio) cells: they name the factor files and the model records."""
    return [_matrix_cell(g, method, ratio) for g in matrix_groups(cfg, blocks) if g["calibrated"] == METHODS[method][1]]


# ---------------------------------------------------------------------------------------------
# model cells
# ---------------------------------------------------------------------------------------------
def score_model(cfg, cache: Path, cells: list[dict], ref_hidden) -> dict:
    """Build the model with every matrix of ``cells`` replaced and score it on the evaluation text."""
    from cstoolkit import lm

    m = model()
    repl = {f"blk.{c['block']}.{c['proj']}.weight": _load_reconstruction(_factor_file(cache, c)) for c in cells}
    ev = windows("eval", cfg["window"], cfg["eval_tokens"])
    t0, c0 = time.perf_counter(), time.process_time()
    report, _ = lm.compare_causal_lm(m, m.with_weights(repl), ev, ref_hidden=ref_hidden)
    return {**report.as_dict(), "eval_seconds": time.perf_counter() - t0, "eval_cpu_seconds": time.process_time() - c0}


def _score_cfg(cfg: dict) -> dict:
    return {k: cfg[k] for k in ("ratios", "window", "eval_tokens", "calib_tokens", "dictionary", "damping")}


def score_cell(cell: dict, cache: str) -> dict:
    """:func:`score_model` of one (method, ratio) as a grid cell, so that the 16 models are
    scored by the workers side by side (one BLAS thread each) instead of one after another."""
    cache = Path(cache)
    cfg = cell["cfg"]
    cells = matrix_cells(cfg, cell["blocks"], cell["method"], cell["ratio"])
    if [cell_key(c) for c in cells] != cell["matrices"]:  # pragma: no cover - a programming error
        raise RuntimeError("the score cell does not name the matrices of its method and ratio.")
    ref_hidden = np.load(_stats_dir(cache, _text_spec(cfg)) / "ref_hidden.npy")
    return score_model(cfg, cache, cells, ref_hidden)


def run(args, cfg: dict, cache: Path):
    m = model()
    blocks = list(range(m.config.n_layers)) if cfg["blocks"] is None else list(cfg["blocks"])
    with _common.Timer() as t_stats:
        ref_hidden = collect_statistics(cfg, cache, blocks)
    model_rows, layer_rows = [], []
    order = [(meth, r) for r in cfg["ratios"] for meth in METHODS]
    t_start = time.perf_counter()
    plan = {}
    for meth, ratio in order:
        cells = matrix_cells(cfg, blocks, meth, ratio)
        mcell = dict(method=meth, ratio=ratio, blocks=blocks, eval_tokens=cfg["eval_tokens"], window=cfg["window"],
                     matrices=[cell_key(c) for c in cells])
        plan[meth, ratio] = (cells, mcell, cache / "models" / f"{cell_key(mcell)}.json")
    todo = [mr for mr, (_, _, mfile) in plan.items() if args.force or not mfile.exists()]
    groups = matrix_groups(cfg, blocks)
    rows_of = {}
    secs = 0.0
    if todo:
        # one cell per matrix and calibration computes both methods at every ratio (shared
        # whitening and SVD); a cell whose factors are gone (its models were scored, then the
        # config changed) is redone
        for g in groups:
            gf = cache / "matrix_groups" / f"{cell_key(g)}.json"
            if gf.exists() and not all(_factor_file(cache, _matrix_cell(g, meth, r)).exists() for meth, r in todo
                                       if METHODS[meth][1] == g["calibrated"]):
                gf.unlink()
        grows, secs = _common.run_cells(args, f"{NAME} matrices", groups,
                                        functools.partial(compress_matrix, cache=str(cache)),
                                        cache=cache / "matrix_groups")
        for g in grows:
            for r in g["results"]:
                rows_of[r["key"]] = {**{k: g[k] for k in ("block", "proj")}, **r}
    scored = {}
    if todo:
        scells = [dict(plan[mr][1], cfg=_score_cfg(cfg)) for mr in todo]
        srows, _ = _common.run_cells(args, f"{NAME} models", scells, functools.partial(score_cell, cache=str(cache)),
                                     cache=cache / "scores")
        scored = {(r["method"], r["ratio"]): {k: r[k] for k in r if k not in scells[0]} for r in srows}
    for meth, ratio in order:
        cells, mcell, mfile = plan[meth, ratio]
        if (meth, ratio) in todo:
            rows = [rows_of[cell_key(c)] for c in cells]
            rec = {"cell": mcell, "model": scored[meth, ratio], "matrices": rows, "compress_wall_seconds": secs}
            write_json(mfile, rec)
            if not args.keep_factors:
                for c in cells:
                    _factor_file(cache, c).unlink(missing_ok=True)
        else:
            rec = json.loads(mfile.read_text())
        rows = rec["matrices"]
        sm = rec["model"]
        model_rows.append({"method": meth, "ratio": ratio, **{k: sm[k] for k in (
            "ppl_ref", "ppl_hat", "ppl_ratio", "kld_mean", "kld_median", "kld_p99", "same_top", "n_positions")},
            "mean_functional_eval": float(np.mean([r["functional_eval"] for r in rows])),
            "mean_functional_calibration": float(np.mean([r["functional_calibration"] for r in rows])),
            "mean_rel_frobenius": float(np.mean([r["rel_frobenius"] for r in rows])),
            "parameters_kept": float(sum(r["n_parameters"] for r in rows) / sum(r["dense_parameters"] for r in rows)),
            "compress_seconds": float(sum(r["seconds"] for r in rows)), "eval_seconds": sm["eval_seconds"]})
        for r in rows:
            layer_rows.append({k: r.get(k) for k in (
                "method", "ratio", "block", "proj", "d_out", "d_in", "rank", "n_atoms", "n_nonzero", "index_bits",
                "n_parameters", "budget", "rel_frobenius", "functional_calibration", "functional_eval", "seconds")})
        logger.info("%s %.0f%%: PPL %.2f (ratio %.3f), KLD %.4f", meth, 100 * ratio, sm["ppl_hat"], sm["ppl_ratio"],
                    sm["kld_mean"])
    return model_rows, layer_rows, {"statistics_seconds": t_stats.seconds,
                                    "study_seconds": time.perf_counter() - t_start + t_stats.seconds}


# ---------------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------------
def plot(model_rows, layer_rows, out: Path, name: str, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    panels = [("ppl_ratio", "PPL ratio (compressed / original)", True),
              ("kld_mean", "mean KLD (nats / token)", True),
              ("mean_functional_eval", "mean rel. functional error ‖(W−Ŵ)X‖/‖WX‖\n(held-out inputs)", False)]
    for ax, (key, label, logy) in zip(axes, panels):
        for meth in METHODS:
            pts = sorted((r["ratio"], r[key]) for r in model_rows if r["method"] == meth)
            if pts:
                x, y = zip(*pts)
                ax.plot(np.array(x) * 100, y, "o-", color=COLORS[meth], label=LABELS[meth])
        ax.set_xlabel("parameters removed in each compressed matrix (%)")
        ax.set_ylabel(label)
        if logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _common.save_figure(fig, out, name)


def main(argv=None):
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--keep-factors", action="store_true", help="keep the factor files after scoring")
    p.add_argument("--blocks", default=None, help="comma-separated block indices (default: all; --quick: 0,15,29)")
    p.add_argument("--ratios", default=None, help="comma-separated fractions removed (default: 0.2,0.3,0.4,0.5)")
    args = p.parse_args(argv)
    _common.setup_logging()
    cfg = dict(QUICK if args.quick else FULL)
    if args.blocks:
        cfg["blocks"] = [int(b) for b in args.blocks.split(",")]
    if args.ratios:
        cfg["ratios"] = [float(r) for r in args.ratios.split(",")]
    name = NAME + ("_quick" if args.quick else "")
    cache = _common.cache_dir(args, NAME, args.quick)
    model_rows, layer_rows, timing = run(args, cfg, cache)
    out = Path(args.out)
    write_csv(out / f"{name}.csv", model_rows)
    write_csv(out / f"{name}_layers.csv", layer_rows)
    from experiments._common import environment

    meta = json.loads((_stats_dir(cache, _text_spec(cfg)) / "meta.json").read_text())
    write_json(out / f"{name}.json", {"config": cfg, "text": meta, "timing": timing, "models": model_rows,
                                      "environment": environment()})
    blocks = "all 30 blocks" if cfg["blocks"] is None else f"blocks {cfg['blocks']}"
    plot(model_rows, layer_rows, out, name,
         f"SmolLM2-135M, q/k/v/o/gate/up/down of {blocks} compressed; {meta['eval_tokens']} held-out tokens, "
         f"{meta['calibration_tokens']} calibration tokens")
    print(f"{'method':16s} {'removed':>7s} {'PPL':>9s} {'PPL ratio':>9s} {'KLD mean':>9s} {'same top':>8s} "
          f"{'func.err':>8s} {'compress s':>10s}")
    for r in model_rows:
        print(f"{r['method']:16s} {r['ratio']:7.0%} {r['ppl_hat']:9.2f} {r['ppl_ratio']:9.3f} {r['kld_mean']:9.4f} "
              f"{r['same_top']:8.3f} {r['mean_functional_eval']:8.4f} {r['compress_seconds']:10.1f}")
    print(f"reference PPL {model_rows[0]['ppl_ref']:.2f}; study {timing['study_seconds']:.0f} s "
          f"(statistics {timing['statistics_seconds']:.0f} s)")


if __name__ == "__main__":
    from experiments import lm_weights as _mod  # workers unpickle compress_matrix() by reference

    _mod.main()
