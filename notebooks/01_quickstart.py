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
# # Recover a sparse signal in five lines
#
# A 10-sparse signal of length 256 is measured by 100 random Gaussian projections,
# `y = A x`, and recovered with orthogonal matching pursuit. Every solver returns the same
# `RecoveryResult` (estimate, iterations, stopping reason, and the history of the objective
# ½‖Ax − y‖² + λ·R(x) and of the residual norm).

# %%
import cstoolkit as cs

A = cs.ensembles.gaussian(100, 256, random_state=0)           # (m, n) measurement matrix
x = cs.signals.sparse_signals(256, 10, random_state=1)        # 10-sparse signal
res = cs.make_recoverer("omp", n_nonzero_coefs=10).recover(A, A @ x)
print(res)
print("relative error:", cs.metrics.relative_error(x, res.x))
assert cs.metrics.relative_error(x, res.x) < 1e-10

# %% [markdown]
# The same call takes a batch of signals, one per column, solved together; here with an
# ℓ1 solver (FISTA) whose λ is 0.1 % of λ_max = ‖Aᵀy‖∞ for each signal.

# %%
X = cs.signals.sparse_signals(256, 10, 20, random_state=2)    # (n, B): 20 signals
fista = cs.make_recoverer("fista", lam=1e-3, lam_scale="relative", tol=1e-8)
batch = fista.recover(A, A @ X)
err = cs.metrics.relative_error(X, batch.x)
print(batch)
print(f"median relative error over {X.shape[1]} signals: {float(sorted(err)[len(err) // 2]):.2e}")

# %% [markdown]
# The history is kept per iteration and per signal; `plot_history` draws one curve.

# %%
single = fista.recover(A, A @ x)
ax = single.plot_history("objective")
ax.figure.tight_layout()
