# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Compare every registered solver on your own matrix
#
# Bring any matrix — a dense array, a scipy.sparse matrix or a `LinearOperator`; here a
# sparse random matrix. Each registered solver gets the parameters that describe the problem:
# the sparsity `k` for greedy solvers, a small relative λ for ℓ1 solvers, and the same
# budget of at most 1000 iterations for iterative ones. Solvers are
# found through the registry, so a solver added tomorrow shows up in this table.

# %%
import inspect
import time

import numpy as np

import cstoolkit as cs

m, n, k, B = 64, 160, 5, 4
A = cs.ensembles.sparse_random(m, n, density=0.2, random_state=0)   # scipy.sparse CSR, (m, n)
X = cs.signals.sparse_signals(n, k, B, random_state=1)
Y = A @ X


def problem_params(cls):
    """Parameters a user would set for this problem, read off the solver's signature."""
    names = {p for p in inspect.signature(cls.__init__).parameters}
    params = {}
    if "n_nonzero_coefs" in names:
        params["n_nonzero_coefs"] = k
    if "lam" in names:
        params["lam"] = 1e-4
        if "lam_scale" in names:
            params["lam_scale"] = "relative"
    if "max_iter" in names:
        params["max_iter"] = 1000
    return params


# %%
rows = []
# a solver that diverges on this matrix shows up in the table as inf/nan, not as warnings
with np.errstate(all="ignore"):
    for name in cs.available_recoverers():
        cls = cs.get_recoverer_class(name)
        try:
            t0 = time.perf_counter()
            res = cls(**problem_params(cls)).recover(A, Y)
            seconds = time.perf_counter() - t0
            err = cs.metrics.relative_error(X, res.x)
            rows.append((name, float(np.median(err)), float(np.mean(cs.metrics.success(X, res.x))), int(np.max(res.n_iter)), seconds, res.stop_reason))
        except Exception as exc:  # a solver that cannot handle this problem is reported, not hidden
            rows.append((name, np.nan, np.nan, 0, np.nan, f"error: {exc}"))

print(f"{'solver':<12} {'median rel. error':>18} {'success':>8} {'iters':>6} {'time [s]':>9}  stop")
for name, err, succ, it, sec, stop in sorted(rows, key=lambda r: (np.nan_to_num(r[1], nan=np.inf), r[4])):
    print(f"{name:<12} {err:>18.2e} {succ:>8.2f} {it:>6d} {sec:>9.3f}  {stop}")

# %% [markdown]
# Reading the table: exact solvers (greedy ones, basis pursuit) reach machine precision,
# ℓ1-penalised solvers land at the small bias their λ introduces, and a solver whose stop
# reason is `max_iter` needed more iterations than the common budget.

# %%
assert len(rows) == len(cs.available_recoverers())
assert np.nanmin([r[1] for r in rows]) < 1e-6
