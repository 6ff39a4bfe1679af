"""Dictionary learners (registered by name; see :func:`cstoolkit.make_learner`).

Every public module of this package is imported here so that its ``@register_learner``
lines run; a new learner needs no edit elsewhere.
"""

import importlib as _importlib
import pkgutil as _pkgutil

for _mod in _pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_mod.name}")
