"""cstoolkit — compressive sensing and sparse coding behind one :class:`Recoverer` interface.

Five lines in a notebook::

    import cstoolkit as cs
    A = cs.ensembles.gaussian(100, 256, random_state=0)
    x = cs.signals.sparse_signals(256, 10, random_state=1)
    res = cs.make_recoverer("omp", n_nonzero_coefs=10).recover(A, A @ x)
    cs.metrics.relative_error(x, res.x)

Objective convention everywhere: ½‖A Ψ s − y‖² + λ·R(s).
"""

from . import conventions, ensembles, metrics, operators, signals, sparsify
from .base import HISTORY_KEYS, STATUSES, DirectRecoverer, DirectSolution, IterativeRecoverer, Recoverer, RecoveryResult
from .callbacks import Callback, IterationInfo, MetricsCallback, StopAfter, StopWhenError
from .embeddings import EmbeddingMatrix, available_embeddings, load_embeddings
from .operators import DCTBasis, PartialDCT, PartialFourier, as_operator, dottest
from .registry import LEARNERS, RECOVERERS, register, register_learner
from .studies import SPARSITY, StudySettings
from .solvers import FISTA, ISTA, MP, OMP, BasisPursuit, BasisPursuitDenoising, Lasso
from . import learners  # noqa: F401  (registers dictionary learners)

__version__ = "0.1.0"


_LAZY_MODULES = ("theory", "phase", "compression", "experiment", "distributed", "cli")


def __getattr__(name: str):
    # Heavier modules (scikit-learn, joblib, dask) load on first attribute access, so that
    # ``import cstoolkit`` stays light and side-effect free.
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    # Every registered recoverer/learner is importable as cstoolkit.<ClassName> without
    # editing this file: look it up in the registries.
    for reg in (RECOVERERS, LEARNERS):
        for key in reg.names():
            cls = reg.get(key)
            if cls.__name__ == name:
                return cls
    raise AttributeError(f"module 'cstoolkit' has no attribute {name!r}")


def __dir__():
    names = set(globals()) | set(_LAZY_MODULES) | {RECOVERERS.get(k).__name__ for k in RECOVERERS.names()}
    return sorted(names | {LEARNERS.get(k).__name__ for k in LEARNERS.names()})


def make_recoverer(name: str, **params) -> Recoverer:
    """Instantiate the recoverer registered as ``name`` (see :func:`available_recoverers`).

    Unknown names raise ``ValueError`` listing the closest registered names.
    """
    return RECOVERERS.create(name, **params)


def available_recoverers() -> list[str]:
    """Sorted names of every registered recoverer."""
    return RECOVERERS.names()


def get_recoverer_class(name: str) -> type:
    """The class registered as ``name``."""
    return RECOVERERS.get(name)


def make_learner(name: str, **params):
    """Instantiate the dictionary learner registered as ``name`` (see :func:`available_learners`)."""
    return LEARNERS.create(name, **params)


def available_learners() -> list[str]:
    """Sorted names of every registered dictionary learner."""
    return LEARNERS.names()


__all__ = [
    "Recoverer", "IterativeRecoverer", "DirectRecoverer", "DirectSolution", "RecoveryResult", "HISTORY_KEYS", "STATUSES", "make_recoverer", "available_recoverers", "get_recoverer_class",
    "make_learner", "available_learners",
    "register", "register_learner", "RECOVERERS", "LEARNERS", "StudySettings", "SPARSITY",
    "Callback", "IterationInfo", "MetricsCallback", "StopAfter", "StopWhenError",
    "as_operator", "dottest", "DCTBasis", "PartialDCT", "PartialFourier",
    "load_embeddings", "available_embeddings", "EmbeddingMatrix",
    "Lasso", "OMP", "MP", "ISTA", "FISTA", "BasisPursuit", "BasisPursuitDenoising",
    "conventions", "ensembles", "metrics", "operators", "signals", "sparsify",
]
