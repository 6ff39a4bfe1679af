"""Dictionary learners (registered by name; see :func:`cstoolkit.make_learner`).

``"ksvd"`` (:class:`~cstoolkit.learners.ksvd.KSVD`), ``"aksvd"`` (approximate K-SVD),
``"mod"`` (method of optimal directions) and ``"online"``
(:class:`~cstoolkit.learners.online.OnlineDictionaryLearning`, with ``partial_fit``). Each takes
a coder *object* — any registered :class:`~cstoolkit.base.Recoverer`, OMP by default — for
its sparse-coding step. :mod:`cstoolkit.learners.synthetic` holds the K-SVD paper's synthetic
experiment (data generation, recovered-atom count).

Every learner is a scikit-learn transformer (``BaseEstimator``/``TransformerMixin``; it passes
``sklearn.utils.estimator_checks.check_estimator``): ``__init__`` stores, ``fit`` validates,
fitted state ends in ``_``, and results are scale-invariant (atoms of ``c·X`` equal those of
``X``). ``tests/test_learner_conformance.py`` holds every registered learner to this.

Row convention (scikit-learn) versus the recoverers' column convention:

=====================================  =====================================
learner (rows are samples)             recoverer (columns are signals)
=====================================  =====================================
``X`` (n_samples, n_features)          ``y = X.T`` (m = n_features, B = n_samples)
``components_`` (n_atoms, n_features)  ``A = components_.T`` (m, n = n_atoms)
``transform(X)`` (n_samples, n_atoms)  ``coder.recover(components_.T, X.T).coef.T``
=====================================  =====================================

``learner.as_basis()`` (= ``components_.T``) is the ``basis=`` of ``Recoverer.recover``:
``cs.OMP(n_nonzero_coefs=k).recover(A, A @ x, basis=learner.as_basis())``.

Every public module of this package is imported, so that its ``@register_learner`` lines
run, the first time the learner registry is consulted (``make_learner``,
``available_learners``, ``cstoolkit.KSVD``) — not at ``import cstoolkit``, because the learners
derive from scikit-learn's estimators and scikit-learn is a heavy import. A new learner needs
no edit elsewhere.
"""

import importlib as _importlib
import pkgutil as _pkgutil

from ..registry import LEARNERS as _LEARNERS


def _import_learner_modules() -> None:
    for _mod in _pkgutil.iter_modules(__path__):
        if not _mod.name.startswith("_"):
            _importlib.import_module(f"{__name__}.{_mod.name}")


_LEARNERS.add_loader(_import_learner_modules)
