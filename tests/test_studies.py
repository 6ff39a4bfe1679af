"""Study settings are solver metadata: adding a solver is one class and one decorator.

A toy solver defined here, with ``@register`` and nothing else, must appear in the conformance
suite's collection, in ``cstoolkit list``, in the phase diagram's and the embedding study's
default solver sets, with the settings it declared; and no study may read the conformance
suite's hints (``_conformance_params``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit import phase
from cstoolkit._validation import Interval
from cstoolkit.studies import DEFAULT, SPARSITY, StudySettings, settings_of, solvers_in
from experiments import embedding_recovery as er
from experiments import phase_transition as pt

ROOT = Path(__file__).resolve().parent.parent
TOY, PLAIN = "toy-lsht", "toy-plain"


def _conformance_module():
    path = ROOT / "tests" / "test_conformance.py"
    spec = importlib.util.spec_from_file_location("conformance_suite_for_test_studies", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _lsht(D, Y, k):
    """Least squares (minimum norm), keep the k largest entries, least squares on them."""
    X0 = np.linalg.lstsq(D, Y, rcond=None)[0]
    S = np.argsort(-np.abs(X0), axis=0, kind="stable")[:k]
    X = np.zeros_like(X0)
    for b in range(Y.shape[1]):
        X[S[:, b], b] = np.linalg.lstsq(D[:, S[:, b]], Y[:, b], rcond=None)[0]
    return X


@pytest.fixture
def toys():
    """Two toy solvers, registered for one test and removed afterwards."""

    @cs.register(TOY)
    class ToyLSHT(cs.DirectRecoverer):
        """Least squares, hard thresholding to k entries, least squares on them (a test toy)."""

        study_settings = StudySettings(family="greedy", phase=dict(n_nonzero_coefs=SPARSITY),
                                       embedding=dict(n_nonzero_coefs=SPARSITY), slow=True, note="a toy")
        _sparsity_budget = True
        _parameter_constraints = {"n_nonzero_coefs": [Interval("integral", 1, None)]}

        def __init__(self, *, n_nonzero_coefs=5):
            self.n_nonzero_coefs = n_nonzero_coefs
            self._validate_params()

        def _solve(self, A, Y, X0):
            D = np.asarray(A.matmat(np.eye(A.shape[1], dtype=Y.dtype)))
            X = _lsht(D, Y, self.n_nonzero_coefs)
            return cs.DirectSolution(X, np.ones(Y.shape[1], dtype=np.int64), ["solved"] * Y.shape[1])

        @classmethod
        def _conformance_params(cls, k):  # a test hint: the studies must not see it
            return {"n_nonzero_coefs": 1}

    @cs.register(PLAIN)
    class ToyPlain(ToyLSHT):
        """The same toy declaring no study settings of its own: the defaults apply."""

        study_settings = DEFAULT

    yield ToyLSHT, ToyPlain
    for name in (TOY, PLAIN):
        cs.RECOVERERS.unregister(name)


def test_toy_solver_appears_everywhere_with_its_settings(toys, capsys):
    ToyLSHT, _ = toys
    # the conformance suite's case list is built from the registry
    ids = [p.id for p in _conformance_module()._cases()]
    assert TOY in ids and PLAIN in ids

    # the CLI listing, with its summary, parameters and declared study settings
    from cstoolkit.cli import main

    assert main(["list", "solvers"]) == 0
    out = capsys.readouterr().out
    assert f"  {TOY} " in out and "ToyLSHT — Least squares, hard thresholding to k entries" in out
    assert "study settings: family greedy; studies: phase, embedding; slow\n" in out
    assert "n_nonzero_coefs = 5" in out

    # the phase diagram: default solver set, declared parameters with k substituted
    assert TOY in pt.default_solvers(quick=False)
    assert phase.phase_recoverer(TOY, 7).n_nonzero_coefs == 7  # not the conformance hint (1)
    cells = pt.coarse_cells(dict(pt.QUICK, n=64, trials=3, deltas=[0.5]), [TOY])
    assert cells and {c["solver"] for c in cells} == {TOY}
    cell = min(cells, key=lambda c: c["k"])
    k = cell["k"]
    got = pt.compute(cell)
    # the same trial written out: one generator draws A, then the signals; the toy at k
    rng = np.random.default_rng(cell["seed"])
    A = cs.ensembles.gaussian(cell["m"], cell["n"], random_state=rng)
    X = cs.signals.sparse_signals(cell["n"], k, cell["trials"], random_state=rng)
    ref = _lsht(A, A @ X, k)
    np.testing.assert_allclose(got["rel_error"], cs.metrics.relative_error(X, ref), rtol=1e-6, atol=1e-9)
    assert got["successes"] == int(np.sum(cs.metrics.success(X, ref)))

    # the embedding study: default set, subsampled (declared slow), k as n_nonzero_coefs
    cfg = er.effective_config({**er.QUICK, "matrix": "synthetic"})
    assert TOY in er.default_solvers(cfg)[0]
    assert er.solver_params(TOY, 7, cfg) == {"n_nonzero_coefs": 7}
    cells = er.make_cells(cfg, [TOY], bases=("identity",))
    assert [c["m"] / c["n"] for c in cells] == cfg["slow_ratios"]
    assert all(c["n_signals"] == cfg["n_signals_slow"] and c["params"] == {"n_nonzero_coefs": er.greedy_k(c["m"], cfg)}
               for c in cells)
    assert er.solver_family(TOY) == "greedy"


def test_solver_declaring_nothing_gets_the_defaults(toys):
    assert settings_of(PLAIN) is DEFAULT and settings_of(PLAIN).family == "other"
    assert PLAIN in solvers_in("phase") and PLAIN in solvers_in("embedding")
    assert phase.phase_recoverer(PLAIN, 4).n_nonzero_coefs == 4
    cfg = er.effective_config({**er.QUICK, "matrix": "synthetic"})
    cells = er.make_cells(cfg, [PLAIN], bases=("identity",))
    assert [c["m"] / c["n"] for c in cells] == cfg["ratios"]  # not slow: every m, full sample
    assert {c["n_signals"] for c in cells} == {cfg["n_signals"]}


def test_studies_never_read_conformance_hints(monkeypatch):
    def boom(cls, k):
        raise AssertionError(f"a study read {cls.__name__}._conformance_params")

    names = cs.available_recoverers()
    before = {n: phase.phase_recoverer(n, 6).get_params() for n in names}
    for n in names:
        monkeypatch.setattr(cs.get_recoverer_class(n), "_conformance_params", classmethod(boom))
    assert {n: phase.phase_recoverer(n, 6).get_params() for n in names} == before
    cfg = er.effective_config({**er.QUICK, "matrix": "synthetic"})
    assert len(er.make_cells(cfg, names)) > len(names)
    assert pt.default_solvers(quick=False)[0] == pt.L1


def test_declared_settings_reach_the_phase_recoverer():
    # FISTA declares a 3000-iteration cap and λ = 1e-4·λ_max for the phase diagram; its
    # conformance hint (20,000 iterations) is for the tests only
    f = phase.phase_recoverer("fista", 5)
    assert (f.max_iter, f.lam, f.lam_scale) == (3000, 1e-4, "relative")
    assert cs.get_recoverer_class("fista")._conformance_params(5)["max_iter"] == 20000
    assert settings_of("fista").budget_limited and settings_of("iht-md").budget_limited
    assert settings_of("sl0").family == "beyond-l1" and not settings_of("omp").budget_limited
    assert "tv" not in solvers_in("phase") and "tv" not in solvers_in("embedding")
    # ... and the declared family is the folder the solver's module sits in (a module holding two
    # families sits with the majority of its classes; the only "other", tv, sits at solvers/)
    folder_family = {"greedy": "greedy", "l1": "l1", "bp": "bp", "nonconvex": "beyond-l1",
                     "structured": "structured", "tv": "other"}
    by_module: dict[str, list[str]] = {}
    for name in cs.RECOVERERS.names():
        cls = cs.get_recoverer_class(name)
        if cls.__module__.startswith("cstoolkit.solvers."):
            by_module.setdefault(cls.__module__, []).append(settings_of(name).family)
    assert len(by_module) >= 15
    for module, families in by_module.items():
        home = folder_family[module.split(".")[2]]
        assert max(families.count(f) for f in families) == families.count(home), (module, families)


def test_study_settings_validate_and_resolve():
    s = StudySettings(family="l1", phase=dict(lam=1e-3, n_nonzero_coefs=SPARSITY), studies=["phase"])
    assert s.params("phase", 4) == {"lam": 1e-3, "n_nonzero_coefs": 4}
    assert s.params("embedding", 4) == {"n_nonzero_coefs": 4} and s.studies == frozenset({"phase"})
    rec = s.record("phase")
    assert rec["params"] == {"lam": 1e-3, "n_nonzero_coefs": "k"} and rec["family"] == "l1"
    import json

    json.dumps(rec)  # recorded in a study's JSON
    with pytest.raises(TypeError):
        s.phase["lam"] = 1.0  # declared once, read-only
    with pytest.raises(ValueError, match="family must be one of"):
        StudySettings(family="lasso")
    with pytest.raises(ValueError, match="unknown studies"):
        StudySettings(studies={"phase", "tropp"})
    with pytest.raises(TypeError, match="collection of study names"):
        StudySettings(studies="phase")
    with pytest.raises(TypeError, match="must be a bool"):
        StudySettings(slow="yes")
    with pytest.raises(ValueError, match="unknown study"):
        s.params("figure", 3)
    with pytest.raises(ValueError, match="unknown recoverer"):
        settings_of("no-such-solver")
    with pytest.raises(cs.registry.UnknownNameError):
        cs.RECOVERERS.unregister("no-such-solver")
