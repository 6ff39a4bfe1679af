"""Benchmark: the numpy forward passes of cstoolkit.lm against llama.cpp and sentence-transformers.

Validation (same inputs, same run):

* **SmolLM2-135M** — our float32 forward of the packaged GGUF against ``llama-cpp-python``
  (``Llama(model_path, logits_all=True)``) on the same token ids: the first windows of the
  held-out evaluation prose (:func:`cstoolkit.lm.text.reference_prose`). Reported: whether the
  two tokenisers give the same ids, the share of positions with the same top token, the same
  share where llama.cpp's top-2 margin exceeds 0.5 logit (must be 100 %), mean / max KLD(llama.cpp ‖
  ours) (must be ≤ 0.01), and the two perplexities (within 2 %). llama.cpp quantises activations
  to 8 bits inside its Q4_1 matmuls, so an exact float forward differs from it slightly.
* **all-MiniLM-L6-v2** — our sentence embeddings against ``SentenceTransformer(<package>/model,
  device="cpu")`` on 512 held-out sentences: the smallest and the mean cosine (must be ≥ 0.9999).

Speed (ratios measured in the same run, 2 threads each):

* prefill tokens/s of 512-token windows, ours (``LlamaModel.logits``) against llama.cpp
  (``Llama.eval`` with all logits), measured alternately, with the CPU seconds of each and the
  GEMM rate of this machine (512×576·576×1536, the prefill's own shape) at start and end;
* the same on ONE thread each: tokens per CPU-second, and ours as a share of the one-thread
  GEMM's GFLOP per CPU-second — the comparison a shared machine distorts least (two threads
  waiting for each other burn CPU while the neighbours hold the cores);
* 16k tokens of KLD evaluation (reference hidden states + compressed forward + both heads)
  and the peak resident memory of that run (``VmHWM``), in a child process that loads only numpy.

The references are heavy (torch ≈ 4.5 GB; llama-cpp-python compiles ≈ 10 min:
``CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF"
pip install llama-cpp-python``) and are never dependencies of the package; a missing one is
reported as skipped.

Usage::

    python bench/bench_lm_forward.py            # writes bench/results/lm_forward.{json,md}
    python bench/bench_lm_forward.py --quick    # 1 window, no files written
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cstoolkit import lm  # noqa: E402
from cstoolkit.lm import metrics, text  # noqa: E402

THREADS = 2
WINDOW = 512


def _limit_threads(n):
    from threadpoolctl import threadpool_limits

    return threadpool_limits(n)


def gemm_gflops(m=512, k=576, n=1536, reps=20):
    """float32 GEMM rate of (m × k)·(k × n), the shape of SmolLM2's up projections on 512 tokens, on the current BLAS threads."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * m * k * n * reps / (time.perf_counter() - t) / 1e9


def gemm_gflop_per_cpu_second(m=512, k=576, n=1536, reps=20):
    """The same GEMM on one thread per CPU-second: the machine's float32 efficiency, nearly load-free."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    with _limit_threads(1):
        a @ b
        _, cpu = _timed(lambda: [a @ b for _ in range(reps)])
    return 2 * m * k * n * reps / cpu / 1e9


def flops_per_token(cfg, T):
    """Multiply-adds × 2 of one SmolLM2 position in a T-token window: projections, causal attention, head."""
    kv = cfg.n_kv_heads * cfg.head_dim
    linear = cfg.d_model * (2 * cfg.d_model + 2 * kv) + 3 * cfg.d_model * cfg.d_ff
    attention = 2 * cfg.d_model * (T + 1) / 2  # QK^T and PV over the (T + 1) / 2 keys seen on average
    return 2 * (cfg.n_layers * (linear + attention) + cfg.d_model * cfg.vocab_size)


def _timed(fn):
    """Wall and CPU seconds (this process, all its threads) of fn()."""
    c0, t0 = os.times(), time.perf_counter()
    fn()
    c1 = os.times()
    return time.perf_counter() - t0, (c1.user + c1.system) - (c0.user + c0.system)


def eval_windows(model, n_windows):
    ids = model.encode(text.reference_prose("eval"))
    return text.token_windows(ids, WINDOW, max_tokens=n_windows * WINDOW)


# ------------------------------------------------------------------ SmolLM2 vs llama.cpp
def llama_cpp_model():
    try:
        import llama_cpp
    except ImportError as exc:
        return None, f"llama-cpp-python not installed ({exc})"
    from cstoolkit.lm._files import smollm2_gguf_path

    llm = llama_cpp.Llama(str(smollm2_gguf_path()), n_ctx=WINDOW, n_batch=WINDOW, n_ubatch=WINDOW,
                          n_threads=THREADS, n_threads_batch=THREADS, logits_all=True, verbose=False)
    return llm, llama_cpp.__version__


def llama_cpp_logits(llm, window):
    llm.reset()
    llm.eval(window.tolist())
    return np.array(llm.scores[: len(window)], dtype=np.float32)


def validate_smollm2(model, llm, windows):
    rows = []
    tok_ours = model.encode(text.reference_prose("eval")[:20000])
    tok_ref = np.array(llm.tokenize(text.reference_prose("eval")[:20000].encode(), add_bos=False, special=False))
    same_ids = bool(tok_ours.shape == tok_ref.shape and np.array_equal(tok_ours, tok_ref))
    first_diff = None if same_ids else int(np.argmax(tok_ours[:min(len(tok_ours), len(tok_ref))]
                                                     != tok_ref[:min(len(tok_ours), len(tok_ref))]))
    kl, top_ok, top_all, margin_ok, lp_ours, lp_ref, margins = [], [], [], [], [], [], []
    for w in windows:
        Lr = llama_cpp_logits(llm, w)[:-1]
        Lo = model.logits(w)[0][:-1]
        lr, lo = metrics.log_softmax(Lr.astype(np.float64)), metrics.log_softmax(Lo.astype(np.float64))
        kl.append(metrics.kl_divergence(lr, lo))
        tgt = w[1:]
        lp_ref.append(lr[np.arange(len(tgt)), tgt])
        lp_ours.append(lo[np.arange(len(tgt)), tgt])
        srt = np.sort(Lr, axis=1)
        m = srt[:, -1] - srt[:, -2]
        same = Lr.argmax(1) == Lo.argmax(1)
        margins.append(m[~same])
        top_all.append(same)
        margin_ok.append(same[m > 0.5])
    kl = np.concatenate(kl)
    lp_ref, lp_ours = np.concatenate(lp_ref), np.concatenate(lp_ours)
    top_all, margin_ok = np.concatenate(top_all), np.concatenate(margin_ok)
    dis = np.concatenate(margins)
    ppl_r, ppl_o = metrics.perplexity(lp_ref), metrics.perplexity(lp_ours)
    res = dict(n_positions=int(kl.size), same_token_ids=same_ids, first_token_id_difference=first_diff,
               same_top=float(top_all.mean()), n_disagree=int((~top_all).sum()),
               max_margin_of_disagreement=float(dis.max()) if dis.size else 0.0,
               same_top_where_margin_gt_0_5=float(margin_ok.mean()), kld_mean=float(kl.mean()),
               kld_median=float(np.median(kl)), kld_max=float(kl.max()), ppl_llama_cpp=ppl_r, ppl_ours=ppl_o,
               ppl_rel_diff=abs(ppl_o / ppl_r - 1))
    res["pass"] = bool(res["same_top_where_margin_gt_0_5"] == 1.0 and res["kld_mean"] <= 0.01
                       and res["ppl_rel_diff"] <= 0.02)
    return res


def speed_smollm2(model, llm, windows, repeats):
    """Prefill tokens/s (all logits) of ours and llama.cpp on the same window, measured alternately."""
    w = windows[0]
    model.logits(w)  # warm
    if llm is not None:
        llama_cpp_logits(llm, w)
    ours, ref = [], []
    for _ in range(repeats):  # alternating, so both see the same neighbours on a shared machine
        ours.append(_timed(lambda: model.logits(w)))
        if llm is not None:
            ref.append(_timed(lambda: llama_cpp_logits(llm, w)))
    wall, cpu = np.median(ours, axis=0)
    gflop = flops_per_token(model.config, WINDOW) / 1e9
    out = dict(window=WINDOW, threads=THREADS, gflop_per_token=gflop, ours_tok_s=WINDOW / wall,
               ours_cpu_s_per_window=cpu, ours_gflops=gflop * WINDOW / wall)
    if len(windows) > 1:
        t, c = _timed(lambda: model.logits(windows[:2]))
        out["ours_batch2_tok_s"] = 2 * WINDOW / t
    if llm is not None:
        wall, cpu = np.median(ref, axis=0)
        out.update(llama_cpp_tok_s=WINDOW / wall, llama_cpp_cpu_s_per_window=cpu)
        out["speedup_vs_llama_cpp"] = out["ours_tok_s"] / out["llama_cpp_tok_s"]
        out["cpu_ratio_llama_cpp_over_ours"] = out["llama_cpp_cpu_s_per_window"] / out["ours_cpu_s_per_window"]
    return out


def speed_one_thread(model, windows, repeats):
    """Both on ONE thread (llama.cpp ``n_threads=1``, our forward under ``threadpool_limits(1)``):
    tokens per second and per CPU-second with no thread waiting for another — the comparison a
    loaded machine distorts least."""
    try:
        import llama_cpp
    except ImportError:
        return None
    from cstoolkit.lm._files import smollm2_gguf_path

    llm1 = llama_cpp.Llama(str(smollm2_gguf_path()), n_ctx=WINDOW, n_batch=WINDOW, n_ubatch=WINDOW, n_threads=1,
                           n_threads_batch=1, logits_all=True, verbose=False)
    w = windows[0]
    ours, ref = [], []
    with _limit_threads(1):
        model.logits(w)
        llama_cpp_logits(llm1, w)
        for _ in range(repeats):
            ours.append(_timed(lambda: model.logits(w)))
            ref.append(_timed(lambda: llama_cpp_logits(llm1, w)))
    (ow, oc), (rw, rc) = np.median(ours, axis=0), np.median(ref, axis=0)
    gemm = gemm_gflop_per_cpu_second()
    return dict(gemm_gflop_per_cpu_s=gemm, ours_share_of_gemm_per_cpu_s=WINDOW / oc * flops_per_token(model.config, WINDOW)
                / 1e9 / gemm, ours_tok_s=WINDOW / ow, ours_tok_per_cpu_s=WINDOW / oc, llama_cpp_tok_s=WINDOW / rw,
                llama_cpp_tok_per_cpu_s=WINDOW / rc, speedup_vs_llama_cpp=rw / ow, cpu_speedup_vs_llama_cpp=rc / oc)


# ------------------------------------------------------------------ MiniLM vs sentence-transformers
def validate_minilm(n_sentences):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        return dict(skipped=f"sentence-transformers not installed ({exc})")
    import sentence_transformers

    from cstoolkit.lm._files import minilm_model_dir

    sents = text.sentences(text.reference_prose("eval"), n_sentences)
    pair = ["The quick brown fox jumps over the lazy dog.", "A fast auburn fox leaps above an idle hound."]
    st = SentenceTransformer(str(minilm_model_dir()), device="cpu")
    enc = lm.load_minilm()
    t = time.perf_counter()
    ref = st.encode(sents + pair, batch_size=64, convert_to_numpy=True, normalize_embeddings=False)
    t_ref = time.perf_counter() - t
    t = time.perf_counter()
    ours = enc.encode(sents + pair, batch_size=64)
    t_ours = time.perf_counter() - t
    c = np.sum(ref.astype(np.float64) * ours, 1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(ours, axis=1)
    res = dict(version=sentence_transformers.__version__, n_sentences=len(sents) + 2, cosine_min=float(c.min()),
               cosine_mean=float(c.mean()), max_abs_diff=float(np.abs(ref - ours).max()),
               pair_cosine_ours=float(ours[-2] @ ours[-1]), pair_cosine_st=float(ref[-2] @ ref[-1] /
                                                                               np.linalg.norm(ref[-2]) / np.linalg.norm(ref[-1])),
               seconds_ours=t_ours, seconds_sentence_transformers=t_ref)
    res["pass"] = bool(res["cosine_min"] >= 0.9999)
    return res


# ------------------------------------------------------------------ 16k-token KLD evaluation (child process)
def _peak_rss_gib(ru):
    """Peak resident memory of THIS process image, GiB.

    ``ru_maxrss`` survives ``exec``: a child started by a parent holding 2.4 GB (two models and
    llama.cpp) reports the parent's resident size at the fork. Linux's ``VmHWM`` is the peak of
    the current address space only; ``ru_maxrss`` is the fallback elsewhere.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20  # KiB -> GiB
    except OSError:
        pass
    return ru.ru_maxrss / 2**20


def kld_run(n_tokens):
    """Reference hidden states + a compressed (Q4_0 table, tied) forward over ``n_tokens``; time and peak RSS."""
    from cstoolkit.lm.quantize import quantize_rows

    with _limit_threads(THREADS):
        t0 = time.perf_counter()
        model = lm.load_smollm2()
        t_load = time.perf_counter() - t0
        windows = eval_windows(model, n_tokens // WINDOW)
        E_hat, _ = quantize_rows(model.weights["token_embd.weight"], "q4_0")
        hat = model.with_weights({"token_embd.weight": E_hat})
        c0, t = os.times(), time.perf_counter()
        ref_h = lm.reference_hidden(model, windows)
        rep, _ = lm.compare_causal_lm(model, hat, windows, ref_hidden=ref_h)
        sec = time.perf_counter() - t
        c1 = os.times()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    peak = _peak_rss_gib(ru)
    # CPU seconds beside wall seconds: on a shared machine the wall time says more about the neighbours
    return dict(n_tokens=int(windows.size), seconds=sec, load_seconds=t_load, tokens_per_s_two_passes=windows.size / sec,
                cpu_seconds=(c1.user + c1.system) - (c0.user + c0.system), cpu_seconds_process=ru.ru_utime + ru.ru_stime,
                load_average=os.getloadavg(), peak_rss_gib=peak, report=rep.as_dict())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--child-kld", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_kld:
        print(json.dumps(kld_run(args.child_kld)))
        return None
    n_val = 1 if args.quick else 4
    out = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(), numpy=np.__version__,
                            load_average=os.getloadavg()))
    with _limit_threads(THREADS):
        out["machine"]["gemm_gflops_512x576x1536_f32"] = gemm_gflops()
    with _limit_threads(1):
        out["machine"]["gemm_gflops_512x576x1536_f32_1thread"] = gemm_gflops()
    with _limit_threads(THREADS):
        model = lm.load_smollm2()
        windows = eval_windows(model, n_val)
        llm, ver = llama_cpp_model()
        out["llama_cpp_version"] = ver if llm is not None else None
        if llm is None:
            out["smollm2_validation"] = dict(skipped=ver)
        else:
            out["smollm2_validation"] = validate_smollm2(model, llm, windows)
        out["smollm2_speed"] = speed_smollm2(model, llm, windows, repeats=1 if args.quick else 3)
        del llm
        out["smollm2_speed_one_thread"] = speed_one_thread(model, windows, repeats=1 if args.quick else 3)
        out["minilm_validation"] = validate_minilm(64 if args.quick else 512)
    n16 = 2 * WINDOW if args.quick else 16384
    child = subprocess.run([sys.executable, __file__, "--child-kld", str(n16)], capture_output=True, text=True,
                           cwd=str(ROOT), check=True)
    out["kld_16k"] = json.loads(child.stdout.strip().splitlines()[-1])
    out["kld_16k"]["pass"] = bool(out["kld_16k"]["seconds"] < 180 and out["kld_16k"]["peak_rss_gib"] < 2)
    out["machine"]["load_average_end"] = os.getloadavg()
    with _limit_threads(THREADS):
        out["machine"]["gemm_gflops_512x576x1536_f32_end"] = gemm_gflops()
    # tokens/s as a share of what the GEMM rate allows: less sensitive to the neighbours than tokens/s
    s, mach = out["smollm2_speed"], out["machine"]
    s["gemm_ceiling_tok_s_start"] = mach["gemm_gflops_512x576x1536_f32"] / s["gflop_per_token"]
    s["gemm_ceiling_tok_s_end"] = mach["gemm_gflops_512x576x1536_f32_end"] / s["gflop_per_token"]
    s["ours_share_of_gemm_ceiling"] = s["ours_gflops"] / mach["gemm_gflops_512x576x1536_f32"]
    md = to_markdown(out)
    print(md)
    if not args.quick:
        res = ROOT / "bench" / "results"
        res.mkdir(parents=True, exist_ok=True)
        (res / "lm_forward.json").write_text(json.dumps(out, indent=1) + "\n")
        (res / "lm_forward.md").write_text(md + "\n")
    return out


def to_markdown(o):
    mach = o["machine"]
    L = ["# cstoolkit.lm forward passes against llama.cpp and sentence-transformers", "",
         f"machine: {mach['cpus']} CPUs, load average {mach['load_average'][0]:.1f} at start, "
         f"{mach['load_average_end'][0]:.1f} at end; float32 GEMM 512×576·576×1536 "
         f"{mach['gemm_gflops_512x576x1536_f32']:.0f} GFLOP/s at start, {mach['gemm_gflops_512x576x1536_f32_end']:.0f} "
         f"at end ({THREADS} threads), {mach['gemm_gflops_512x576x1536_f32_1thread']:.0f} on one thread", ""]
    v = o["smollm2_validation"]
    L.append("## SmolLM2-135M logits vs llama-cpp-python " + str(o.get("llama_cpp_version")))
    if "skipped" in v:
        L.append(f"skipped: {v['skipped']}")
    else:
        L += ["| positions | same token ids | same top | same top (margin > 0.5) | disagreements (max margin) | "
              "mean KLD | max KLD | PPL llama.cpp | PPL ours | pass |", "|---|---|---|---|---|---|---|---|---|---|",
              f"| {v['n_positions']} | {v['same_token_ids']} | {v['same_top']:.4f} | "
              f"{v['same_top_where_margin_gt_0_5']:.4f} | {v['n_disagree']} ({v['max_margin_of_disagreement']:.3f}) | "
              f"{v['kld_mean']:.5f} | {v['kld_max']:.4f} | {v['ppl_llama_cpp']:.3f} | {v['ppl_ours']:.3f} | {v['pass']} |"]
    s = o["smollm2_speed"]
    nan = float("nan")
    L += ["", f"## SmolLM2 prefill, {s['window']}-token windows, {s['threads']} threads "
              f"({s['gflop_per_token']:.3f} GFLOP per token)",
          "| ours tok/s | ours (2 windows) tok/s | llama.cpp tok/s | ours / llama.cpp | CPU-s per window ours / llama.cpp "
          "| GEMM ceiling tok/s (start, end) | ours / ceiling |", "|---|---|---|---|---|---|---|",
          f"| {s['ours_tok_s']:.0f} | {s.get('ours_batch2_tok_s', nan):.0f} | {s.get('llama_cpp_tok_s', nan):.0f} | "
          f"{s.get('speedup_vs_llama_cpp', nan):.2f} | {s['ours_cpu_s_per_window']:.2f} / "
          f"{s.get('llama_cpp_cpu_s_per_window', nan):.2f} | {s['gemm_ceiling_tok_s_start']:.0f}, "
          f"{s['gemm_ceiling_tok_s_end']:.0f} | {s['ours_share_of_gemm_ceiling']:.2f} |"]
    s1 = o.get("smollm2_speed_one_thread")
    if s1:
        L += ["", "## SmolLM2 prefill on ONE thread each (no thread waits for another: least distorted by load)",
              "| ours tok/s | llama.cpp tok/s | ours / llama.cpp | tok per CPU-s ours / llama.cpp | CPU ratio | "
              "GEMM GFLOP per CPU-s | ours / GEMM (per CPU-s) |", "|---|---|---|---|---|---|---|",
              f"| {s1['ours_tok_s']:.0f} | {s1['llama_cpp_tok_s']:.0f} | {s1['speedup_vs_llama_cpp']:.2f} | "
              f"{s1['ours_tok_per_cpu_s']:.0f} / {s1['llama_cpp_tok_per_cpu_s']:.0f} | {s1['cpu_speedup_vs_llama_cpp']:.2f} | "
              f"{s1['gemm_gflop_per_cpu_s']:.0f} | {s1['ours_share_of_gemm_per_cpu_s']:.2f} |"]
    m = o["minilm_validation"]
    L += ["", "## all-MiniLM-L6-v2 sentence embeddings vs sentence-transformers"]
    if "skipped" in m:
        L.append(f"skipped: {m['skipped']}")
    else:
        L += ["| sentences | min cosine | mean cosine | max abs diff | fox/hound cosine ours / ST | s ours / ST | pass |",
              "|---|---|---|---|---|---|---|",
              f"| {m['n_sentences']} | {m['cosine_min']:.7f} | {m['cosine_mean']:.7f} | {m['max_abs_diff']:.2e} | "
              f"{m['pair_cosine_ours']:.4f} / {m['pair_cosine_st']:.4f} | {m['seconds_ours']:.1f} / "
              f"{m['seconds_sentence_transformers']:.1f} | {m['pass']} |"]
    k = o["kld_16k"]
    L += ["", "## KLD evaluation (reference pass + Q4_0-table pass, both heads)",
          "| tokens | seconds | CPU seconds | load average | tokens/s | peak RSS GiB | mean KLD (Q4_0 table) | "
          "< 3 min and < 2 GB |", "|---|---|---|---|---|---|---|---|",
          f"| {k['n_tokens']} | {k['seconds']:.1f} | {k['cpu_seconds']:.1f} | {k['load_average'][0]:.1f} | "
          f"{k['tokens_per_s_two_passes']:.0f} | {k['peak_rss_gib']:.2f} | {k['report']['kld_mean']:.5f} | {k['pass']} |"]
    return "\n".join(L)


if __name__ == "__main__":
    main()
