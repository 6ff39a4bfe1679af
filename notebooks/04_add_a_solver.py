# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Add your own solver
#
# A solver is one class with `@cs.register("name")`: keyword-only parameters validated
# by `_parameter_constraints`, and the hooks of its kind. An iterative solver
# (`cs.IterativeRecoverer`) writes four hooks the base class calls — `_setup` (once),
# `_step` (one iteration for the whole batch; return a stop reason when done),
# `_monitor` (objective ½‖Ax − y‖² and residual norm per signal), `_coef` (the current
# coefficients). A one-shot solver (`cs.DirectRecoverer`: a compiled path, an LP, a whole
# pursuit) writes one hook, `_solve(A, Y, X0)`, returning a `cs.DirectSolution`. The base
# class owns input checks, batching, bases, callbacks and the history. Below: hard
# thresholding pursuit (Foucart 2011) in a few lines, vectorised over the signals (batched
# least squares on each signal's support).

# %%
import numpy as np

import cstoolkit as cs
from cstoolkit._validation import Interval
from cstoolkit.operators import to_dense


@cs.register("notebook-htp")
class NotebookHTP(cs.IterativeRecoverer):
    """Hard thresholding pursuit: keep the k largest entries of a gradient step, then least squares."""

    objective_kind = "greedy"
    supports_x0 = False      # it always starts from x = 0: say so (x0 is then refused, not ignored)
    _sparsity_budget = True  # k-sparse: an unfitted noisy y is reported as "sparsity"
    _parameter_constraints = {
        "n_nonzero_coefs": [Interval("integral", 1, None)],
        "max_iter": [Interval("integral", 1, None)],
    }

    def __init__(self, *, n_nonzero_coefs=10, max_iter=50):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.max_iter = max_iter
        self._validate_params()

    def _setup(self, A, Y, X0):
        D = to_dense(A).astype(Y.dtype, copy=False)          # (m, n): fine for small problems
        if self.n_nonzero_coefs > D.shape[0]:
            raise ValueError(f"n_nonzero_coefs={self.n_nonzero_coefs} exceeds the {D.shape[0]} rows of A.")
        X = np.zeros((D.shape[1], Y.shape[1]), dtype=Y.dtype)
        return {"D": D, "Y": Y, "X": X, "S": None}

    def _step(self, st, it):
        D, Y, X, k = st["D"], st["Y"], st["X"], self.n_nonzero_coefs
        G = X + D.T @ (Y - D @ X)                                          # (n, B)
        S = np.sort(np.argpartition(-np.abs(G), k - 1, axis=0)[:k], axis=0)  # (k, B) supports
        As = D[:, S].transpose(2, 0, 1)                                    # (B, m, k)
        At = As.transpose(0, 2, 1)
        Z = np.linalg.solve(At @ As, At @ Y.T[:, :, None])[..., 0]         # (B, k)
        st["X"] = np.zeros_like(X)
        np.put_along_axis(st["X"], S, Z.T, axis=0)
        done = st["S"] is not None and np.array_equal(S, st["S"])
        st["S"] = S
        return "tol" if done else None

    def _monitor(self, st):
        R = st["D"] @ st["X"] - st["Y"]
        r2 = np.sum(R * R, axis=0)
        return 0.5 * r2, np.sqrt(r2)

    def _coef(self, st):
        return st["X"]

    @classmethod
    def _conformance_params(cls, k):  # a hint for the conformance suite (the tests only)
        return {"n_nonzero_coefs": k}


print(cs.available_recoverers())
assert "notebook-htp" in cs.available_recoverers() and cs.NotebookHTP is NotebookHTP

# %% [markdown]
# It is now a solver like any other:

# %%
A = cs.ensembles.gaussian(100, 256, random_state=0)
X = cs.signals.sparse_signals(256, 10, 5, random_state=1)
res = cs.make_recoverer("notebook-htp", n_nonzero_coefs=10).recover(A, A @ X)
print(res, cs.metrics.relative_error(X, res.x))

# %% [markdown]
# ## The studies
#
# How the studies (the phase diagram, the embedding study) run a solver is declared in its
# class as `study_settings = cs.StudySettings(...)`: its family (plot style), its parameters
# per study (`cs.SPARSITY` stands for the sparsity k), which studies, slow or not. This
# class declares nothing, so it gets the defaults: every study, with k as `n_nonzero_coefs`.
# `cstoolkit list solvers` shows the settings of every solver.

# %%
from cstoolkit import phase
from cstoolkit.studies import settings_of, solvers_in

print(settings_of("notebook-htp"))
assert "notebook-htp" in solvers_in("phase") and "notebook-htp" in solvers_in("embedding")
print(phase.phase_recoverer("notebook-htp", k=12))  # what the phase diagram runs at k = 12

# %% [markdown]
# ## The conformance suite
#
# `tests/test_conformance.py` collects every registered name when it is imported, so
# running pytest *in this kernel* (where the class is registered) tests the new solver
# against the whole contract: shapes and dtypes, single vs batched, matrix vs sparse vs
# operator, bases, callbacks, bad inputs and bad parameters, and the support of
# scikit-learn's OMP as the reference for greedy solvers.

# %%
from pathlib import Path

import pytest

root = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "tests" / "test_conformance.py").is_file())
status = pytest.main([str(root / "tests" / "test_conformance.py"), "-q", "-k", "notebook-htp",
                      "-p", "no:cacheprovider", "--rootdir", str(root)])
assert status == 0, "the new solver fails the conformance suite"
