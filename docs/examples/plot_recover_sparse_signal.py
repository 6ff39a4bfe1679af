"""
Recover a sparse signal with three solvers
==========================================

One Gaussian matrix, one 12-sparse signal, and three registered recoverers behind the same
``recover`` call: greedy OMP, exact basis pursuit (the ℓ1 homotopy) and FISTA on the Lasso.
All three find the support; FISTA's estimate carries the small shrinkage bias of its λ.
"""

import matplotlib.pyplot as plt
import numpy as np

import cstoolkit as cs

n, m, k = 256, 80, 12
A = cs.ensembles.gaussian(m, n, random_state=0)
x = cs.signals.sparse_signals(n, k, random_state=1)
y = A @ x

solvers = {
    "OMP (k = 12)": cs.make_recoverer("omp", n_nonzero_coefs=k),
    "basis pursuit (bp-homotopy)": cs.make_recoverer("bp-homotopy"),
    "FISTA, λ = 1e-2·λmax": cs.make_recoverer("fista", lam=1e-2, lam_scale="relative", max_iter=3000),
}
fig, axes = plt.subplots(len(solvers), 1, figsize=(7, 6), sharex=True)
for ax, (name, rec) in zip(axes, solvers.items()):
    xh = rec.recover(A, y).x
    err = cs.metrics.relative_error(x, xh)
    ax.stem(np.flatnonzero(x), x[x != 0], linefmt="0.6", markerfmt="o", basefmt=" ", label="true")
    ax.plot(xh, "k.", ms=3, label="recovered")
    ax.set_title(f"{name}: relative error {err:.1e}", fontsize=9)
axes[0].legend(fontsize=8)
axes[-1].set_xlabel("index")
fig.tight_layout()
