"""Name -> class registries for recoverers and dictionary learners (no if/elif dispatch)."""

from __future__ import annotations

import difflib
from typing import Callable, Iterator

__all__ = ["Registry", "UnknownNameError", "RECOVERERS", "LEARNERS", "register", "register_learner"]


class UnknownNameError(ValueError):
    """A name that is not registered (the message lists the closest names and all of them)."""


class Registry:
    """A mapping from names to classes, filled by a decorator.

    Parameters
    ----------
    kind : str
        What the registry holds ("recoverer", "learner"), used in messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, type] = {}
        self._loaders: list[Callable[[], None]] = []

    def add_loader(self, loader: Callable[[], None]) -> None:
        """Fill the registry on first use: ``loader()`` runs once, before the first lookup.

        For classes whose definition needs a heavy import (the dictionary learners derive from
        scikit-learn's ``BaseEstimator``): their package adds a loader that imports its modules,
        so that ``import cstoolkit`` stays light and the ``@register`` lines run when a name is
        first looked up (``get``, ``create``, ``names``, ``in``, ``len``).
        """
        self._loaders.append(loader)

    def _load(self) -> None:
        while self._loaders:
            self._loaders.pop(0)()

    def register(self, name: str) -> Callable[[type], type]:
        """Class decorator: register ``cls`` under ``name`` and set ``cls.name``."""
        if not isinstance(name, str) or not name or name != name.lower():
            raise ValueError(f"{self.kind} names must be non-empty lower-case strings, got {name!r}.")

        def deco(cls: type) -> type:
            if name in self._classes and self._classes[name] is not cls:
                raise ValueError(f"{self.kind} name {name!r} is already registered to {self._classes[name].__name__}.")
            cls.name = name
            self._classes[name] = cls
            return cls

        return deco

    def unregister(self, name: str) -> type:
        """Remove ``name`` (a class defined for a test or in a notebook) and return its class."""
        self._load()
        if name not in self._classes:
            raise UnknownNameError(f"{self.kind} {name!r} is not registered.")
        return self._classes.pop(name)

    def get(self, name: str) -> type:
        """The class registered as ``name``; unknown names raise ``ValueError`` with suggestions."""
        if isinstance(name, type):
            return name
        self._load()
        try:
            return self._classes[name]
        except (KeyError, TypeError):
            close = difflib.get_close_matches(str(name), list(self._classes), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(sorted(self._classes))}."
            ) from None

    def create(self, name: str, **params):
        """Instantiate the class registered as ``name`` with ``params``."""
        return self.get(name)(**params)

    def names(self) -> list[str]:
        """Sorted registered names."""
        self._load()
        return sorted(self._classes)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
        return len(self._classes)


RECOVERERS = Registry("recoverer")
LEARNERS = Registry("learner")


def register(name: str) -> Callable[[type], type]:
    """Register a :class:`~cstoolkit.base.Recoverer` subclass under ``name``.

    Examples
    --------
    >>> from cstoolkit.base import Recoverer
    >>> @register("my-solver")            # doctest: +SKIP
    ... class MySolver(Recoverer): ...
    """
    return RECOVERERS.register(name)


def register_learner(name: str) -> Callable[[type], type]:
    """Register a dictionary-learner class under ``name``."""
    return LEARNERS.register(name)
