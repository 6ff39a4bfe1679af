"""Dictionary learning on the all-MiniLM-L6-v2 token embeddings (30522 x 384, rows as they are):
1024 atoms, then OMP with 16 atoms per row; speed and quality against scikit-learn's
MiniBatchDictionaryLearning measured in the same run, and compression baselines at equal bytes.

    python bench/bench_dictlearn.py            # full run (several minutes: scikit-learn ~2-3 min alone)
    python bench/bench_dictlearn.py --quick    # 4000 rows, 256 atoms, no scikit-learn MBDL

Ours: online mini-batch learning (one epoch, batch 256) with l1 coding of each mini-batch by
the compiled homotopy at lambda = 0.135 (the anchor's SPAMS setting; ``--coder omp`` codes with
OMP-16 instead), then a few approximate K-SVD iterations on all rows with OMP-16 coding (init =
the online dictionary). Peers in the same run: scikit-learn's MiniBatchDictionaryLearning
(one epoch) and, when installed, SPAMS ``trainDL`` (same lambda and batch) given the same
fitting time as ours. Errors are relative Frobenius errors ||X - C W||_F / ||X||_F with C from
OMP (16 atoms per row) over the learned W, the same encoder for every dictionary; times
exclude the snapshots' evaluation.

Writes bench/results/dictlearn.json and prints the table (copied to bench/results/dictlearn.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

import cstoolkit as cs
from cstoolkit.compression import evaluate_at_budget, index_bytes, storage_for
from cstoolkit.solvers.greedy.pursuit import omp_batch

K_ATOMS, K_CODE, BATCH, SEED = 1024, 16, 256, 0
SNAP_EVERY = 30  # mini-batches between dictionary snapshots (error-vs-time curves)


def omp_error(X, W, k=K_CODE):
    D = np.ascontiguousarray(W.T, dtype=X.dtype)
    C, _, _ = omp_batch(D, X.T, k, gram=D.T @ D)
    return float(np.linalg.norm(X - (D @ C).T) / np.linalg.norm(X))


def time_to(curve, target):
    """First time at which the error curve [(t, err)] is <= target, or None."""
    for t, e in curve:
        if e <= target:
            return t
    return None


def run_spams(X, n_atoms, lam, seconds):
    """SPAMS trainDL (online, l1 coding by LARS) for a fixed wall-clock budget (its iter = -seconds)."""
    import spams

    Xf = np.asfortranarray(X.T, dtype=np.float64)
    t = time.perf_counter()
    D = spams.trainDL(Xf, K=n_atoms, lambda1=lam, batchsize=BATCH, iter=-max(1, int(round(seconds))),
                      numThreads=2, verbose=False)
    return np.ascontiguousarray(D.T, dtype=X.dtype), time.perf_counter() - t


def run_ours(X, n_atoms, n_refine, coder="lasso", lam=0.135):
    snaps = []

    def cb(est, step):
        if step % SNAP_EVERY == 0:
            snaps.append((est.state_.elapsed, est.components_.copy()))

    t0 = time.perf_counter()
    learn_coder = cs.Homotopy(lam=lam) if coder == "lasso" else cs.OMP(n_nonzero_coefs=K_CODE)
    online = cs.OnlineDictionaryLearning(n_atoms=n_atoms, coder=learn_coder, batch_size=BATCH,
                                         max_iter=1, random_state=SEED, callback=cb).fit(X)
    t_online = online.history_["time"][-1]
    snaps.append((t_online, online.components_.copy()))
    wall_online = time.perf_counter() - t0
    ref_snaps = []
    refine = cs.ApproximateKSVD(n_atoms=n_atoms, coder=cs.OMP(n_nonzero_coefs=K_CODE), max_iter=n_refine,
                                init=online.components_, random_state=SEED)
    t1 = time.perf_counter()
    times = []

    def cb3(est, it):
        times.append(time.perf_counter() - t1 - sum(pauses))
        tp = time.perf_counter()
        ref_snaps.append((t_online + times[-1], est.components_.copy()))
        pauses.append(time.perf_counter() - tp)

    pauses = []
    refine.set_params(callback=cb3).fit(X)
    t_fit = t_online + times[-1]
    return online, refine, snaps + ref_snaps, t_fit, wall_online


def run_sklearn(X, n_atoms, alpha=1.0):
    from sklearn.decomposition import MiniBatchDictionaryLearning

    snaps, pauses = [], [0.0]
    state = {"t0": None}

    def cb(loc):
        tp = time.perf_counter()
        step = loc["i"] + 1
        if step % SNAP_EVERY == 0:
            snaps.append((tp - state["t0"] - pauses[0], loc["dictionary"].copy()))
        pauses[0] += time.perf_counter() - tp

    est = MiniBatchDictionaryLearning(n_components=n_atoms, alpha=alpha, batch_size=BATCH, max_iter=1,
                                      random_state=SEED,
                                      transform_algorithm="omp", transform_n_nonzero_coefs=K_CODE, callback=cb)
    state["t0"] = time.perf_counter()
    est.fit(X)
    t_fit = time.perf_counter() - state["t0"] - pauses[0]
    snaps.append((t_fit, est.components_.copy()))
    t = time.perf_counter()
    codes = est.transform(X)
    t_enc = time.perf_counter() - t
    err_own = float(np.linalg.norm(X - codes @ est.components_) / np.linalg.norm(X))
    return est, snaps, t_fit, t_enc, err_own


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-sklearn", action="store_true")
    ap.add_argument("--refine", type=int, default=3, help="approximate K-SVD iterations after the online pass")
    ap.add_argument("--sk-alpha", type=float, default=0.135,
                    help="scikit-learn's alpha (its default is 1.0; 0.135 reproduces the anchor's 0.642)")
    ap.add_argument("--coder", choices=("lasso", "omp"), default="lasso",
                    help="coding in our online pass: l1 by homotopy (default) or OMP-16")
    ap.add_argument("--lam", type=float, default=0.135, help="lambda of the l1 coding (ours and SPAMS)")
    ap.add_argument("--skip-spams", action="store_true")
    ap.add_argument("--sklearn-only", action="store_true",
                    help="run only scikit-learn (writes dictlearn_sklearn_alpha<alpha>.json)")
    args = ap.parse_args()
    X = np.asarray(cs.load_embeddings("minilm").data)
    n_atoms = K_ATOMS
    if args.quick:
        X = X[np.random.default_rng(0).choice(X.shape[0], 4000, replace=False)]
        n_atoms = 256
    N, m = X.shape
    out = {"machine": platform.processor() or platform.machine(), "shape": [N, m], "n_atoms": n_atoms,
           "k": K_CODE, "batch_size": BATCH, "seed": SEED, "repeats": 1}
    lines = [f"# Dictionary learning on minilm rows ({N}x{m}), {n_atoms} atoms, OMP {K_CODE} per row", ""]
    if args.sklearn_only:
        sk, sk_snaps, sk_fit, sk_enc, sk_err_own = run_sklearn(X, n_atoms, args.sk_alpha)
        rec = {"alpha": args.sk_alpha, "fit_s": sk_fit, "encode_s": sk_enc, "rel_error_own_encoding": sk_err_own,
               "rel_error": omp_error(X, sk.components_),
               "curve": [(float(tt), omp_error(X, W)) for tt, W in sk_snaps]}
        print(json.dumps(rec, indent=1))
        if not args.quick:
            (Path(__file__).parent / "results" / f"dictlearn_sklearn_alpha{args.sk_alpha:g}.json").write_text(
                json.dumps(rec, indent=1))
        return

    online, refine, snaps, t_fit, wall_online = run_ours(X, n_atoms, args.refine, args.coder, args.lam)
    t = time.perf_counter()
    codes = refine.transform(X)
    t_enc = time.perf_counter() - t
    err = float(np.linalg.norm(X - codes @ refine.components_) / np.linalg.norm(X))
    err_online = omp_error(X, online.components_)
    curve = [(float(tt), omp_error(X, W)) for tt, W in snaps]
    ours = {"fit_s": t_fit, "online_fit_s": float(online.history_["time"][-1]), "encode_s": t_enc,
            "total_s": t_fit + t_enc, "rel_error": err, "rel_error_online_only": err_online, "curve": curve}
    out["ours"] = ours

    budget = storage_for("dictionary", (N, m), K_CODE, n_atoms=n_atoms)
    records = {"ours (online+aksvd)": evaluate_at_budget(X, "dictionary", budget, dictionary=refine, n_queries=500)}

    if not args.skip_sklearn:
        sk, sk_snaps, sk_fit, sk_enc, sk_err_own = run_sklearn(X, n_atoms, args.sk_alpha)
        out["sklearn_alpha"] = args.sk_alpha
        sk_curve = [(float(tt), omp_error(X, W)) for tt, W in sk_snaps]
        sk_err = sk_curve[-1][1]
        out["sklearn"] = {"fit_s": sk_fit, "encode_s": sk_enc, "total_s": sk_fit + sk_enc,
                          "rel_error_own_encoding": sk_err_own, "rel_error": sk_err, "curve": sk_curve}
        out["ratios"] = {
            "total_time_sklearn_over_ours": (sk_fit + sk_enc) / (t_fit + t_enc),
            "fit_time_sklearn_over_ours": sk_fit / t_fit,
            "ours_time_to_sklearn_final_error_s": time_to(curve, sk_err),
            "sklearn_time_to_our_final_error_s": time_to(sk_curve, err),
        }
        records["scikit-learn MBDL"] = evaluate_at_budget(X, "dictionary", budget, dictionary=sk.components_,
                                                          n_queries=500)
    if not args.skip_spams:
        try:
            W_sp, t_sp = run_spams(X, n_atoms, args.lam, t_fit)
        except ImportError:
            out["spams"] = None
        else:
            out["spams"] = {"fit_s": t_sp, "rel_error": omp_error(X, W_sp), "lambda1": args.lam,
                            "budget_s": t_fit}
            records["SPAMS trainDL (same time)"] = evaluate_at_budget(X, "dictionary", budget, dictionary=W_sp,
                                                                      n_queries=500)
    for meth in ("keep_largest", "svd", "soft_threshold", "hard_threshold"):
        records[meth] = evaluate_at_budget(X, meth, budget, n_queries=500)
    # the ANCHORS accounting (16 values + 16 indices as 32 numbers) for comparison with the peers' table
    anchor = {
        "keep16": evaluate_at_budget(X, "keep_largest", N * K_CODE * (4 + index_bytes(m)), n_queries=500),
        "rank32": evaluate_at_budget(X, "svd", (N + m) * 32 * 4, n_queries=500),
    }
    rng = np.random.default_rng(SEED)
    Wr = X[rng.choice(N, n_atoms, replace=False)]
    Wr = Wr / np.linalg.norm(Wr, axis=1, keepdims=True)
    anchor["random_rows_dictionary"] = evaluate_at_budget(X, "dictionary", budget, dictionary=Wr, n_queries=500)
    out["equal_bytes"] = {"budget_bytes": budget, "records": {k: r.as_dict() for k, r in records.items()}}
    out["anchor_settings"] = {k: r.as_dict() for k, r in anchor.items()}

    lines += ["| method | fit s | encode s | total s | rel. Frobenius error |", "|---|---|---|---|---|"]
    coding = f"l1 coding, λ = {args.lam:g}" if args.coder == "lasso" else f"OMP-{K_CODE} coding"
    lines.append(f"| ours: online (1 epoch, batch {BATCH}, {coding}) + {args.refine} approx. K-SVD its | "
                 f"{t_fit:.1f} | {t_enc:.1f} | {t_fit + t_enc:.1f} | {err:.4f} |")
    lines.append(f"| ours: online pass only | {ours['online_fit_s']:.1f} | | | {err_online:.4f} |")
    if out.get("spams"):
        sp_ = out["spams"]
        lines.append(f"| SPAMS trainDL (λ = {sp_['lambda1']:g}, batch {BATCH}, 2 threads, given our fitting time) | "
                     f"{sp_['fit_s']:.1f} | | | {sp_['rel_error']:.4f} |")
    if "sklearn" in out:
        s = out["sklearn"]
        lines.append(f"| scikit-learn MiniBatchDictionaryLearning (1 epoch, batch {BATCH}) | {s['fit_s']:.1f} | "
                     f"{s['encode_s']:.1f} (own OMP) | {s['total_s']:.1f} | {s['rel_error']:.4f} "
                     f"(own encoding {s['rel_error_own_encoding']:.4f}) |")
        r = out["ratios"]
        lines += ["", f"Total time (fit + encode) scikit-learn / ours: **{r['total_time_sklearn_over_ours']:.2f}x**; "
                  f"fit only: {r['fit_time_sklearn_over_ours']:.2f}x.",
                  f"Ours reaches scikit-learn's final error ({s['rel_error']:.4f}) after "
                  f"{r['ours_time_to_sklearn_final_error_s']} s of fitting; scikit-learn reaches ours ({err:.4f}) after "
                  f"{r['sklearn_time_to_our_final_error_s']} s (None = never within its run)."]
    lines += ["", "Error vs fitting time (s, error):", "",
              "ours: " + ", ".join(f"({t:.0f}, {e:.3f})" for t, e in curve)]
    if "sklearn" in out:
        lines.append("scikit-learn: " + ", ".join(f"({t:.0f}, {e:.3f})" for t, e in out["sklearn"]["curve"]))
    lines += ["", f"## At equal storage: {budget} bytes (dictionary {n_atoms}x{m} float32 + {K_CODE} "
              f"(float32 value, uint16 index) per row)", "",
              "| method | parameter | bytes | rel. Frobenius | mean cosine | top-10 NN overlap (500 queries) |",
              "|---|---|---|---|---|---|"]
    for name, r in list(records.items()) + [(f"anchor setting: {k}", v) for k, v in anchor.items()]:
        lines.append(f"| {name} | {r.params} | {r.bytes:.0f} | {r.rel_frobenius:.4f} | {r.mean_cosine:.4f} | "
                     f"{r.nn_overlap:.3f} |")
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        res = Path(__file__).parent / "results"
        res.mkdir(exist_ok=True)
        (res / "dictlearn.json").write_text(json.dumps(out, indent=1, default=float))
        (res / "dictlearn.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
