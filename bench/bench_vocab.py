"""A modern vocabulary's table: 262,144 x 640 float32 (670 MB), one epoch of online dictionary
learning with 1024 atoms (OMP-16 coding of each mini-batch of 256), then OMP-16 codes of every
row (CSR, block by block). Time, peak memory, and the coding step's GFLOP/s beside the machine's
BLAS rate for the same shapes.

    python bench/bench_vocab.py                 # 262,144 x 640 (several minutes on 2 busy cores)
    python bench/bench_vocab.py --rows 65536    # reduced size
    python bench/bench_vocab.py --quick         # 16,384 rows, 256 atoms (smoke run)
    python bench/bench_vocab.py --stages        # also CPU seconds per stage of the fit (cProfile)

The table: no 262k-row model table is installed, so it is built from the SmolLM2-135M token
embeddings (49,152 x 576, GGUF Q8_0, dequantised by row blocks): row ``i`` is
``smollm2[i mod 49152] @ R_c`` with ``c = i // 49152`` and ``R_c`` a seeded Gaussian 576 x 640
matrix scaled by 1/sqrt(576), one per copy — six randomly lifted copies of the real table, every
row distinct, the spectrum of each copy that of the real table up to the lift.

The machine is shared, so besides wall-clock seconds the JSON records CPU seconds
(``time.process_time``: every thread of the process), the 1/5/15-minute load averages, and the
machine's GEMM rate measured in the same run on one BLAS thread (as the fit loop runs its
products) and on all of them: the fit's GFLOP per CPU-second beside the one-thread GEMM rate
says how far from the BLAS it runs, whatever the load.

Peak memory is the process's maximum resident set size (``ru_maxrss``, which includes the table
itself) and, separately, what the learning and encoding steps add above the table. The machine
is shared: the 1-minute load average is recorded beside every timing. SPAMS is compared with
when ``import spams`` works (``pip install spams-bin``); otherwise the JSON says it was
unavailable.

Writes bench/results/vocab.json (or vocab_<rows>.json for other sizes) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit.learners.online import OnlineDictionaryLearning
from cstoolkit.rows import open_rows

N_FULL, M, K_ATOMS, K_CODE, BATCH, SEED = 262_144, 640, 1024, 16, 256, 0


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def load1() -> float:
    return os.getloadavg()[0]


def loads() -> list:
    """1-, 5- and 15-minute load averages (``uptime``)."""
    return [round(x, 2) for x in os.getloadavg()]


def build_table(n_rows, m=M, seed=SEED):
    """Six (or fewer) randomly lifted copies of the SmolLM2 table, built block by block (float32)."""
    src = open_rows("smollm2")
    n0, m0 = src.shape
    rng = np.random.default_rng(seed)
    X = np.empty((n_rows, m), dtype=np.float32)
    for c, start in enumerate(range(0, n_rows, n0)):
        R = (rng.standard_normal((m0, m)) / np.sqrt(m0)).astype(np.float32)
        stop = min(start + n0, n_rows)
        for s in range(start, stop, 8192):
            e = min(s + 8192, stop)
            X[s:e] = src[s - start: e - start] @ R
    return X


def blas_rate(D, X, reps=3, threads=None):
    """GFLOP/s of ``Dᵀ Y`` (the coding step's correlation GEMM) for blocks of 8192 rows.

    ``threads``: BLAS threads (None: the library's default, all cores). With one thread the
    product runs in the calling thread and is timed by its CPU time (``time.thread_time``), so
    the rate is per CPU-second, like the fit's, and does not drop when the machine is loaded.
    """
    from threadpoolctl import threadpool_limits

    clock = time.thread_time if threads == 1 else time.perf_counter
    Y = np.ascontiguousarray(X[:8192].T)
    with threadpool_limits(threads, user_api="blas"):
        D.T @ Y
        t = clock()
        for _ in range(reps):
            D.T @ Y
        dt = (clock() - t) / reps
    return 2.0 * D.shape[0] * D.shape[1] * Y.shape[1] / dt / 1e9


def fit_flops(n, m, K, k, batch):
    """Flops of one epoch of the online learner with OMP-k coding, per mini-batch of ``batch`` rows:
    the coding (:func:`coding_flops`), the block-coordinate sweep ``A W`` (2·K²·m), the Gram matrix
    of the new atoms by syrk (K²·m) and the statistics from the non-zeros (2·batch·k·m)."""
    n_batches = -(-n // batch)
    return coding_flops(n, m, K, k) + n_batches * 3.0 * K * K * m + 2.0 * n * k * m


#: the fit's stages for ``--stages``: function name -> label (CPU seconds inclusive of callees)
STAGES = {"_step": "whole mini-batch step", "__getitem__": "reading the mini-batch rows",
          "_code": "coding (correlation GEMM + OMP kernel)", "omp_batch": "  of which omp_batch",
          "_omp_kernel": "  of which OMP kernel", "code_lists": "statistics: code lists",
          "codes_times_rows": "statistics: Σ c xᵀ",
          "add_code_outer": "statistics: A += Σ c cᵀ", "bcd_sweep": "block-coordinate sweep",
          "_gram": "Gram matrix (syrk)", "_replace_atoms": "atom replacement check",
          "_update": "update (stats into A, B; sweep; Gram; check)"}


def stage_seconds(prof):
    """CPU seconds per stage (cumulative, callees included) from a cProfile run timed with process_time."""
    import pstats

    st = pstats.Stats(prof).stats
    out = dict.fromkeys(STAGES.values(), 0.0)
    for (_, _, name), (_, _, _, cum, _) in st.items():
        if name in STAGES:
            out[STAGES[name]] += cum
    return {k: v for k, v in out.items() if v > 0}


def coding_flops(n, m, K, k):
    """Flops of Batch-OMP with k atoms over n rows: the correlation GEMM 2·m·K·n plus, per
    step t, the correlation update with t Gram columns (2·K·t per row) — Rubinstein et al. 2008."""
    return 2.0 * m * K * n + n * K * k * (k + 1)


def _rel_err(X, C, W):
    R = X - np.asarray(C @ W)
    return float(np.sqrt(np.einsum("ij,ij->", R, R, dtype=np.float64) / np.einsum("ij,ij->", X, X, dtype=np.float64)))


def run_spams(X, est, fit_seconds, n_sub, train=True, batch=BATCH):
    """SPAMS in the same run: ``omp`` throughput on the same rows and atoms; ``trainDL`` (λ=0.135,
    batch ``batch``, 2 threads) given our fitting time, its atoms encoded by our OMP-16."""
    try:
        import spams
    except ImportError:
        return {"note": "unavailable: `import spams` failed (pip install spams-bin did not work here)"}
    out = {"note": f"spams-bin {getattr(spams, '__version__', '')}".strip()}
    W = est.components_
    Xs = X[:n_sub]
    Df = np.asfortranarray(W.T, dtype=np.float64)
    Yf = np.asfortranarray(Xs.T, dtype=np.float64)
    t = time.perf_counter()
    A = spams.omp(Yf, Df, L=K_CODE, numThreads=2)
    t_sp = time.perf_counter() - t
    t = time.perf_counter()
    C = est.transform(Xs, sparse_output=True)
    t_ours = time.perf_counter() - t
    out.update(omp_rows=n_sub, omp_rows_per_s=n_sub / t_sp, ours_rows_per_s_same_rows=n_sub / t_ours,
               omp_err=_rel_err(Xs.astype(np.float64), A.T, W.astype(np.float64)), ours_err_same_rows=_rel_err(Xs, C, W),
               omp_note="SPAMS in float64 (its interface), ours in float32; same dictionary and rows",
               load1=load1())
    if train:
        Xf = np.asfortranarray(X.T, dtype=np.float64)
        t = time.perf_counter()
        Dsp = spams.trainDL(Xf, K=W.shape[0], lambda1=0.135, batchsize=batch, iter=-max(1, int(round(fit_seconds))),
                            numThreads=2, verbose=False)
        out["traindl_s"] = time.perf_counter() - t
        del Xf
        Wsp = np.ascontiguousarray(Dsp.T, dtype=np.float32)
        probe = OnlineDictionaryLearning(n_atoms=W.shape[0], coder=cs.OMP(n_nonzero_coefs=K_CODE),
                                                            init=Wsp, max_iter=1)
        probe.components_ = Wsp / np.linalg.norm(Wsp, axis=1, keepdims=True)
        probe.n_features_in_ = W.shape[1]
        Csp = probe.transform(X)
        num = den = 0.0
        for s in range(0, X.shape[0], 16384):
            Xb = X[s: s + 16384]
            Rb = Xb - np.asarray(Csp[s: s + 16384] @ probe.components_)
            num += float(np.einsum("ij,ij->", Rb, Rb, dtype=np.float64))
            den += float(np.einsum("ij,ij->", Xb, Xb, dtype=np.float64))
        out["traindl_rel_error"] = float(np.sqrt(num / den))
        out["traindl_note"] = "SPAMS trainDL in float64 for our fitting time; error of OMP-16 codes over its atoms"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=N_FULL)
    ap.add_argument("--atoms", type=int, default=K_ATOMS)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--batch-size", type=int, default=BATCH, help=f"mini-batch rows (default {BATCH}, the learner's)")
    ap.add_argument("--stages", action="store_true", help="CPU seconds per stage of the fit (cProfile)")
    ap.add_argument("--no-spams", action="store_true", help="skip SPAMS altogether")
    ap.add_argument("--no-spams-train", action="store_true", help="skip SPAMS trainDL (it takes as long as our fit)")
    args = ap.parse_args()
    n, K = (16_384, 256) if args.quick else (args.rows, args.atoms)
    bs = args.batch_size

    t = time.perf_counter()
    X = build_table(n)
    t_build = time.perf_counter() - t
    rss_table = rss_peak_mb()
    print(f"table {X.shape} float32 ({X.nbytes / 2**20:.0f} MiB) built in {t_build:.1f}s; load {load1():.1f}")

    # compile the kernels once (numba JIT), outside the timings
    OnlineDictionaryLearning(n_atoms=64, coder=cs.OMP(n_nonzero_coefs=K_CODE), batch_size=BATCH,
                                                random_state=SEED).fit(X[:512]).transform(X[:512])
    est = OnlineDictionaryLearning(n_atoms=K, coder=cs.OMP(n_nonzero_coefs=K_CODE),
                                                      batch_size=bs, random_state=SEED)
    prof = None
    if args.stages:
        import cProfile
        prof = cProfile.Profile(time.process_time)
    l0, loads0 = load1(), loads()
    t, c = time.perf_counter(), time.process_time()
    if prof is not None:
        prof.enable()
    est.fit(X)
    if prof is not None:
        prof.disable()
    t_fit, c_fit = time.perf_counter() - t, time.process_time() - c
    l1 = load1()
    t, c = time.perf_counter(), time.process_time()
    C = est.transform(X)  # "auto": CSR at this size
    t_enc, c_enc = time.perf_counter() - t, time.process_time() - c
    l2, loads2 = load1(), loads()
    rss_end = rss_peak_mb()
    D = np.ascontiguousarray(est.components_.T)
    # relative error ||X - C W||_F / ||X||_F, by blocks (no dense reconstruction of the table)
    num = den = 0.0
    for s in range(0, n, 16384):
        Xb = X[s: s + 16384]
        Rb = Xb - np.asarray(C[s: s + 16384] @ est.components_)
        num += float(np.einsum("ij,ij->", Rb, Rb, dtype=np.float64))
        den += float(np.einsum("ij,ij->", Xb, Xb, dtype=np.float64))
    rel = float(np.sqrt(num / den))
    gflops_enc = coding_flops(n, M, K, K_CODE) / t_enc / 1e9
    blas = blas_rate(D, X)
    blas1 = blas_rate(D, X, threads=1, reps=10)
    f_fit = fit_flops(n, M, K, K_CODE, bs)
    spams_rec = ({"note": "skipped (--no-spams)"} if args.no_spams else
                 run_spams(X, est, t_fit, n_sub=min(n, 32768), train=not args.no_spams_train, batch=bs))
    spams_note = spams_rec.get("note", "")

    rec = {
        "table": {"rows": n, "features": M, "dtype": "float32", "bytes": int(X.nbytes),
                  "source": "SmolLM2-135M token embeddings (49152x576, Q8_0) tiled with one seeded Gaussian "
                            "576x640 lift per copy", "build_s": t_build},
        "learner": {"n_atoms": K, "coder": f"OMP-{K_CODE}", "batch_size": bs, "epochs": 1,
                    "fit_s": t_fit, "fit_cpu_s": c_fit, "load1_before_after": [l0, l1],
                    "fit_gflop": f_fit / 1e9, "fit_gflop_per_cpu_s": f_fit / c_fit / 1e9,
                    "fit_fraction_of_1thread_blas_per_cpu_s": f_fit / c_fit / 1e9 / blas1,
                    **({"stages_cpu_s": stage_seconds(prof)} if prof is not None else {})},
        "encode": {"k": K_CODE, "seconds": t_enc, "cpu_s": c_enc, "rows_per_s": n / t_enc, "format": type(C).__name__,
                   "nnz": int(C.nnz) if hasattr(C, "nnz") else int(np.count_nonzero(C)),
                   "gflops": gflops_enc, "blas_gemm_gflops_same_shapes": blas,
                   "blas_gemm_gflops_same_shapes_1thread": blas1,
                   "fraction_of_blas": gflops_enc / blas, "load1_after": l2},
        "total_s": t_fit + t_enc,
        "total_cpu_s": c_fit + c_enc,
        "load_1_5_15": {"before_fit": loads0, "after_encode": loads2},
        "rel_error": rel,
        "memory": {"rss_peak_mb_after_table": rss_table, "rss_peak_mb_end": rss_end,
                   "added_by_fit_and_encode_mb": rss_end - rss_table},
        "goal": {"seconds": 60, "peak_gb": 1.2, "before": {"seconds": 85, "peak_gb": 3.7}},
        "spams": spams_rec,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "numpy": np.__version__},
    }
    rows = [("fit (1 epoch)", f"{t_fit:.1f} s", f"{c_fit:.1f} CPU-s, batch {bs}, load {l0:.1f}->{l1:.1f}"),
            ("fit GFLOP per CPU-s", f"{f_fit / c_fit / 1e9:.1f}",
             f"one-thread BLAS GEMM {blas1:.1f} GFLOP/s ({f_fit / c_fit / 1e9 / blas1:.0%})"),
            ("encode OMP-16 (CSR)", f"{t_enc:.1f} s", f"{c_enc:.1f} CPU-s, {n / t_enc:,.0f} rows/s, load {l2:.1f}"),
            ("total", f"{t_fit + t_enc:.1f} s", f"{c_fit + c_enc:.1f} CPU-s; goal < 60 s (before: 85 s)"),
            ("peak RSS", f"{rss_end / 1024:.2f} GB", f"table alone {rss_table / 1024:.2f} GB; goal < 1.2 GB (before 3.7)"),
            ("codes", f"{type(C).__name__}", f"nnz {rec['encode']['nnz']:,}"),
            ("rel. error", f"{rel:.4f}", ""),
            ("coding GFLOP/s", f"{gflops_enc:.1f}", f"BLAS GEMM same shapes {blas:.1f} ({gflops_enc / blas:.0%})"),
            ("SPAMS", spams_note, "")]
    if "omp_rows_per_s" in spams_rec:
        rows.append(("SPAMS omp (2 threads)", f"{spams_rec['omp_rows_per_s']:,.0f}/s",
                     f"ours {spams_rec['ours_rows_per_s_same_rows']:,.0f}/s on the same {spams_rec['omp_rows']} rows "
                     f"(ratio {spams_rec['ours_rows_per_s_same_rows'] / spams_rec['omp_rows_per_s']:.2f}), "
                     f"rel. err ours {spams_rec['ours_err_same_rows']:.4f} / SPAMS {spams_rec['omp_err']:.4f}"))
    if "traindl_rel_error" in spams_rec:
        rows.append(("SPAMS trainDL equal time", f"{spams_rec['traindl_rel_error']:.4f}",
                     f"ours {rel:.4f} (both encoded by our OMP-16), {spams_rec['traindl_s']:.0f} s"))
    if prof is not None:
        rows += [(f"  {k}", f"{v:.1f} CPU-s", "") for k, v in rec["learner"]["stages_cpu_s"].items()]
    print(f"\n{'step':24s} {'value':>12s}  note")
    for a, b, c in rows:
        print(f"{a:24s} {b:>12s}  {c}")
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    name = "vocab.json" if n == N_FULL and K == K_ATOMS else f"vocab_{n}x{K}.json"
    if bs != BATCH:
        name = name.replace(".json", f"_batch{bs}.json")
    (res / name).write_text(json.dumps(rec, indent=1, default=float))


if __name__ == "__main__":
    main()
