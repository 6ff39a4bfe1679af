"""
AMP and its state evolution
===========================

Approximate message passing's mean squared error per iteration, measured on 5 signals
(n = 1000, δ = ½, ρ = 0.2), against the scalar recursion that predicts it
(:func:`cstoolkit.theory.state_evolution`; Donoho, Maleki & Montanari 2009).
"""

import matplotlib.pyplot as plt
import numpy as np

import cstoolkit as cs
from cstoolkit import theory

n, delta, rho, B, T = 1000, 0.5, 0.2, 5, 25
m = int(delta * n)
k = int(rho * m)
A = cs.ensembles.gaussian(m, n, random_state=0)
X = cs.signals.sparse_signals(n, k, B, random_state=1)
alpha = float(theory.minimax_alpha(delta))
mse = []
cs.make_recoverer("amp", alpha=alpha, max_iter=T, tol=0.0).recover(
    A, A @ X, callbacks=lambda info: mse.append(np.mean(np.sum((info.coef - X) ** 2, axis=0)) / n))
se = theory.state_evolution(T, delta=m / n, eps=k / n, alpha=alpha)

fig, ax = plt.subplots(figsize=(6, 4))
t = np.arange(1, T + 1)
ax.semilogy(t, se[1:], "k-", label="state evolution")
ax.semilogy(t, mse, "o", mfc="white", color="#D55E00", label=f"AMP, mean of {B} signals")
ax.set(xlabel="iteration t", ylabel="‖x_t − x‖² / n")
ax.legend()
ax.grid(alpha=0.3, which="both")
fig.tight_layout()
