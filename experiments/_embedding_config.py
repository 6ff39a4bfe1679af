"""Configuration of the embedding study (figure 1): sizes, seeds, bases and solver parameters.

What runs is declared, not listed here: every registered solver that declares the embedding
study in its :class:`~cstoolkit.studies.StudySettings` (``studies``) takes part, with its
declared budget and sparsity parameter (``embedding``), on a subsample when it declares
``slow=True``. This module adds only the study's own choices: the sizes below, the sparsity
budget k = min(K, ⌊m/2⌋) of greedy solvers, and the objective's parameter, the same for every
solver of one objective (λ = ``lam_rel``·λ_max for a Lasso objective, ε = ``eps_rel``·‖y‖ for
BPDN; basis pursuit fits y exactly).
"""

from __future__ import annotations

import cstoolkit as cs
from cstoolkit.studies import settings_of, solvers_in

NAME = "embedding_recovery"
SEED = 20240604
BASES = ("identity", "pca", "dct", "learned")
BASIS_TITLES = {
    "identity": "(a) identity, x hard-thresholded to K terms\n(error relative to the K-sparse target x_K)",
    "pca": "(b) PCA basis of held-out rows",
    "dct": "(c) DCT basis",
    "learned": "(d) learned dictionary (held-out rows)",
}

# Default sizes: ~5 min on 2 idle cores. n_signals vectors per cell for fast solvers;
# solvers that declare slow=True run on n_signals_slow vectors at slow_ratios only.
FULL = dict(
    matrix="minilm", n_signals=96, n_signals_slow=4, n_heldout=4000,
    ratios=[0.1, 0.175, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0], slow_ratios=[0.25, 0.5, 1.0],
    k=32, greedy_max_rho=0.5, lam_rel=0.05, eps_rel=0.05,
    dict_learner="online", dict_atoms=768, dict_params=dict(batch_size=256, max_iter=2), skip=[],
)
# CI: three m values, a small sample, a small dictionary; slow solvers only at m = n.
QUICK = dict(
    FULL, n_signals=24, n_heldout=800, ratios=[0.25, 0.5, 1.0],
    n_signals_slow=2, slow_ratios=[1.0], dict_atoms=128, dict_params=dict(batch_size=128, max_iter=1),
    # the cvxpy references cost ~2 s per cell in compile overhead alone; bp-lp/admm-* solve the same problems
    skip=["bp", "bpdn"],
)
# Hidden ``--matrix synthetic``: a small compressible matrix so tests exercise the code
# without the model packages (n = 64, K = 8).
SYNTHETIC = dict(n_rows=1500, n=64, decay=1.0)
SYNTHETIC_OVERRIDES = dict(k=8, dict_atoms=96)
# One representative per family in the main figure (every solver: the companion figure).
REPRESENTATIVES = {"greedy": "omp", "l1": "lasso", "bp": "bp-homotopy", "beyond-l1": "sl0",
                   "structured": "group-lasso"}


def effective_config(cfg: dict) -> dict:
    """The configuration with the synthetic-matrix overrides applied when it is selected."""
    return {**cfg, **SYNTHETIC_OVERRIDES} if cfg["matrix"] == "synthetic" else dict(cfg)


def default_solvers(cfg: dict) -> tuple[list[str], list[str]]:
    """``(run, skipped)``: the solvers declaring the embedding study, minus the configuration's ``skip``."""
    declared = solvers_in("embedding")
    run = [s for s in declared if s not in cfg["skip"]]
    return run, [s for s in cs.available_recoverers() if s not in run]


def is_slow(name: str) -> bool:
    """Whether ``name`` declares ``slow=True`` (subsampled: ``n_signals_slow`` at ``slow_ratios``)."""
    return settings_of(name).slow


def solver_params(name: str, k: int, cfg: dict) -> dict:
    """Parameters of solver ``name`` for one cell.

    The solver's declared ``study_settings.embedding`` with its sparsity placeholder set to
    ``k``, on top of the objective's parameter chosen by the study for every solver of that
    objective: ``lam = lam_rel`` relative to λ_max for a Lasso objective, ``epsilon_rel`` for
    BPDN (converted to ε = eps_rel·median‖y‖ in ``compute``). Parameters the solver does not
    take are dropped.
    """
    cls = cs.get_recoverer_class(name)
    valid = set(cls._param_names())
    kind = cls.objective_kind
    p: dict = {}
    if kind == "lasso":
        p.update(lam=cfg["lam_rel"], lam_scale="relative")
    elif kind == "bpdn":
        p["epsilon_rel"] = cfg["eps_rel"]
    p.update(settings_of(cls).params("embedding", k))
    return {q: v for q, v in p.items() if q in valid or q == "epsilon_rel"}


def greedy_k(m: int, cfg: dict) -> int:
    """Sparsity budget of greedy solvers: min(K, ⌊ρ_max·m⌋), at least 1."""
    return max(1, min(int(cfg["k"]), int(cfg["greedy_max_rho"] * m)))

