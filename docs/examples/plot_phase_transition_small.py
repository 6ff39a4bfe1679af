"""
A small Donoho–Tanner phase diagram
===================================

Exact basis pursuit on a coarse δ×ρ grid (n = 100, 10 trials per cell), against the
theoretical ℓ1 curve ρ(δ) of :func:`cstoolkit.theory.rho_l1`. The full figure
(24×24 cells, n = 200, 40 trials, and every solver's crossing) is
``python -m experiments.phase_transition``.
"""

import matplotlib.pyplot as plt
import numpy as np

import cstoolkit as cs
from cstoolkit import phase
from cstoolkit.theory import rho_l1

n, trials, g = 100, 10, 10
rng = np.random.default_rng(0)
F = np.zeros((g, g))
bp = cs.make_recoverer("bp-homotopy")
for i in range(g):
    m = int(round((i + 1) / g * n))
    A = cs.ensembles.gaussian(m, n, random_state=rng)
    for j in range(g):
        k = max(1, int(round((j + 0.5) / g * m)))
        X = cs.signals.sparse_signals(n, k, trials, random_state=rng)
        F[j, i] = phase.phase_success(X, bp.recover(A, A @ X).x).mean()

fig, ax = plt.subplots(figsize=(5.5, 4.5))
edges = np.arange(g + 1) / g
im = ax.pcolormesh(edges + 0.5 / g, edges, F, cmap="gray", vmin=0, vmax=1)
d = np.linspace(0.01, 1, 200)
ax.plot(d, rho_l1(d), color="#D55E00", lw=2, label="ρ(δ), Donoho–Tanner")
ax.set(xlabel="δ = m/n", ylabel="ρ = k/m", xlim=(0, 1.05), ylim=(0, 1))
ax.legend(loc="upper left")
fig.colorbar(im, label="fraction recovered")
fig.tight_layout()
