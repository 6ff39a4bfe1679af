"""Study settings: how the studies run a solver, declared once in the solver's own class.

A solver takes part in the studies of ``experiments/`` (the Donoho–Tanner phase diagram, the
embedding study) with settings it declares as a class attribute::

    @register("my-solver")
    class MySolver(IterativeRecoverer):
        objective_kind = "lasso"                      # the objective: certificate and reference
        study_settings = StudySettings(
            family="l1",                              # plot style and grouping in the figures
            phase=dict(lam=1e-4, lam_scale="relative", max_iter=3000, tol=1e-10),
            embedding=dict(max_iter=500, tol=1e-7),
        )

A solver that declares nothing inherits :data:`DEFAULT` (from
:class:`~cstoolkit.base.Recoverer`): it takes part in every study, gets the study's sparsity
``k`` as ``n_nonzero_coefs`` when it has that parameter, and otherwise its own defaults.

These settings are *not* the conformance suite's: ``tests/test_conformance.py`` keeps its own
hints (``Recoverer._conformance_params`` and its ``BUDGET``/``EXCLUDED`` tables), so tuning a
test never moves a published number, and the studies never read the test hints.
``objective_kind`` says only which objective the solver minimises (which certificate and
reference apply); plot style is ``family`` here.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any, Mapping

__all__ = ["SPARSITY", "STUDIES", "FAMILIES", "StudySettings", "DEFAULT", "settings_of", "resolve_params",
           "solvers_in"]


class _Sparsity:
    """Placeholder for the sparsity ``k`` of the study's signals (see :data:`SPARSITY`)."""

    _instance = None

    def __new__(cls):  # one instance, so that identity and pickling are stable
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SPARSITY"

    def __reduce__(self):
        return (_Sparsity, ())


#: Placeholder in :attr:`StudySettings.phase` / :attr:`StudySettings.embedding`: the parameter
#: that receives the study's sparsity budget ``k`` (e.g. ``{"n_nonzero_coefs": SPARSITY}``).
SPARSITY = _Sparsity()

#: The studies that read these settings: the phase diagram (``experiments/phase_transition.py``)
#: and the embedding study (``experiments/embedding_recovery.py``).
STUDIES = ("phase", "embedding")

#: Solver families, for the figures' styles and groupings (``experiments/_plotting.FAMILY_STYLE``).
FAMILIES = ("greedy", "l1", "bp", "beyond-l1", "structured", "other")


def _frozen(params: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    if not isinstance(params, Mapping):
        raise TypeError(f"StudySettings.{what} must be a mapping of parameter names to values, got {params!r}.")
    bad = [k for k in params if not isinstance(k, str) or not k.isidentifier()]
    if bad:
        raise ValueError(f"StudySettings.{what}: parameter names must be identifiers, got {bad}.")
    return MappingProxyType(dict(params))


@dataclasses.dataclass(frozen=True, eq=True)
class StudySettings:
    """How the studies run one solver (declared as ``study_settings`` in its class).

    Parameters
    ----------
    family : {"greedy", "l1", "bp", "beyond-l1", "structured", "other"}, default="other"
        Family in the figures: plot style, the embedding study's grouping and ranking table,
        and the phase diagram's extended ρ range for ``"beyond-l1"`` solvers (those that
        recover beyond the ℓ1 transition).
    phase : mapping, default={"n_nonzero_coefs": SPARSITY}
        Parameters in the phase diagram: noiseless recovery of k-sparse signals (a budget, a
        tolerance, a small λ). :data:`SPARSITY` stands for ``k``. Parameters the solver does
        not take are dropped (with a log line).
    embedding : mapping, default={"n_nonzero_coefs": SPARSITY}
        Parameters in the embedding study (budget, sparsity), applied on top of the study's
        own choice of the objective's parameter (λ relative to λ_max for a Lasso objective,
        ε relative to ‖y‖ for BPDN), which is the same for every solver of an objective.
    studies : iterable of {"phase", "embedding"}, default=both
        The studies the solver takes part in by default (``--solvers`` selects any registered
        solver explicitly).
    slow : bool, default=False
        One program per signal, thousands of iterations or a long path per signal: the
        embedding study runs it on a subsample (``n_signals_slow`` vectors at ``slow_ratios``).
    budget_limited : bool, default=False
        Its phase-diagram budget is part of the algorithm (a tuned preset) or caps it before
        its own stopping rule: its crossings are drawn apart as budget-limited.
    note : str, default=""
        Why the solver is slow, left out of a study or capped; logged by the studies.

    Examples
    --------
    >>> StudySettings(family="l1", phase=dict(lam=1e-4, lam_scale="relative")).phase["lam"]
    0.0001
    >>> "phase" in StudySettings(studies=["embedding"]).studies
    False
    """

    family: str = "other"
    phase: Mapping[str, Any] = dataclasses.field(default_factory=lambda: {"n_nonzero_coefs": SPARSITY})
    embedding: Mapping[str, Any] = dataclasses.field(default_factory=lambda: {"n_nonzero_coefs": SPARSITY})
    studies: frozenset = frozenset(STUDIES)
    slow: bool = False
    budget_limited: bool = False
    note: str = ""

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"StudySettings.family must be one of {', '.join(FAMILIES)}; got {self.family!r}.")
        if isinstance(self.studies, str):
            raise TypeError(f"StudySettings.studies must be a collection of study names, "
                            f"got the string {self.studies!r}.")
        studies = frozenset(self.studies)
        unknown = sorted(studies - set(STUDIES))
        if unknown:
            raise ValueError(f"StudySettings.studies: unknown studies {unknown}; choose from {', '.join(STUDIES)}.")
        object.__setattr__(self, "studies", studies)
        object.__setattr__(self, "phase", _frozen(self.phase, "phase"))
        object.__setattr__(self, "embedding", _frozen(self.embedding, "embedding"))
        for flag in ("slow", "budget_limited"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"StudySettings.{flag} must be a bool, got {getattr(self, flag)!r}.")

    __hash__ = None  # holds mappings

    def params(self, study: str, k: int) -> dict:
        """The parameters for ``study`` with :data:`SPARSITY` replaced by ``k``."""
        if study not in STUDIES:
            raise ValueError(f"unknown study {study!r}; choose from {', '.join(STUDIES)}.")
        return resolve_params(getattr(self, study), k)

    def record(self, study: str) -> dict:
        """JSON-ready settings for ``study`` (a study's output records them; ``"k"``: the sparsity)."""
        if study not in STUDIES:
            raise ValueError(f"unknown study {study!r}; choose from {', '.join(STUDIES)}.")
        params = {p: "k" if v is SPARSITY else v for p, v in getattr(self, study).items()}
        return dict(params=params, family=self.family, slow=self.slow, budget_limited=self.budget_limited)

    def describe(self) -> str:
        """One line for listings (``cstoolkit list``): family, studies, flags."""
        parts = [f"family {self.family}", "studies: " + (", ".join(s for s in STUDIES if s in self.studies) or "none")]
        parts += [flag.replace("_", "-") for flag in ("slow", "budget_limited") if getattr(self, flag)]
        return "; ".join(parts)


#: The settings of a solver that declares none (``Recoverer.study_settings``).
DEFAULT = StudySettings()


def resolve_params(params: Mapping[str, Any], k: int) -> dict:
    """``params`` with every :data:`SPARSITY` placeholder replaced by ``int(k)``."""
    return {p: int(k) if v is SPARSITY else v for p, v in params.items()}


def settings_of(solver) -> StudySettings:
    """The :class:`StudySettings` of a registered name, a recoverer class or an instance."""
    if isinstance(solver, str):
        from .registry import RECOVERERS

        solver = RECOVERERS.get(solver)
    cls = solver if isinstance(solver, type) else type(solver)
    settings = getattr(cls, "study_settings", DEFAULT)
    if not isinstance(settings, StudySettings):
        raise TypeError(f"{cls.__name__}.study_settings must be a StudySettings, got {type(settings).__name__}.")
    return settings


def solvers_in(study: str) -> list[str]:
    """Registered names that take part in ``study`` by default (sorted)."""
    from .registry import RECOVERERS

    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; choose from {', '.join(STUDIES)}.")
    return [n for n in RECOVERERS.names() if study in settings_of(n).studies]
