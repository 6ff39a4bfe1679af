r"""Compression methods, registered by name: each a small class with its compression and its byte rule.

A method stores an (N, m) matrix with one integer parameter ``p`` (entries per row, entries
overall, a rank or atoms per row), and says how many bytes that takes
(:meth:`CompressionMethod.storage`, the table of :mod:`cstoolkit.compression`). :func:`compress`
looks the method up in :data:`COMPRESSION_METHODS`, picks the largest ``p`` whose storage fits
the budget and applies it. A new method is one class and one ``@register_compression_method``
line; :func:`available_compression_methods` lists them and an unknown name is answered with
the list.
"""

from __future__ import annotations

import abc
import inspect
import numbers
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import numpy as np

from ..registry import Registry
from .quality import compression_quality
from .storage import PTR_BYTES, index_bytes

__all__ = ["COMPRESSION_METHODS", "register_compression_method", "available_compression_methods",
           "CompressionMethod", "KeepLargest", "HardThreshold", "SoftThreshold", "TruncatedSVD",
           "DictionaryCoding", "storage_for", "compress", "CompressionRecord", "evaluate_at_budget"]

#: registry of compression methods (``"keep_largest"``, ``"hard_threshold"``, ``"soft_threshold"``,
#: ``"svd"``, ``"dictionary"``); its messages name the kind "method"
COMPRESSION_METHODS = Registry("method")


def register_compression_method(name: str):
    """Class decorator registering a :class:`CompressionMethod` subclass under ``name``."""
    return COMPRESSION_METHODS.register(name)


def available_compression_methods() -> list[str]:
    """Sorted names of every registered compression method."""
    return COMPRESSION_METHODS.names()


class CompressionMethod(abc.ABC):
    """One way of storing an (N, m) matrix with an integer parameter ``p``, and its byte rule.

    A subclass declares ``param`` (the key of ``p`` in the returned ``params``), writes the
    classmethod :meth:`storage` (bytes for ``p``, increasing in ``p``), :meth:`upper` (the
    largest meaningful ``p``) and :meth:`_apply` (the decoded approximation). Options of
    :func:`compress` that a method uses (``dictionary``, ``coder``, ``random_state``) are
    keyword arguments of its ``__init__``; it receives only those.
    """

    name: ClassVar[str] = ""
    #: key of the parameter in the ``params`` that :func:`compress` returns
    param: ClassVar[str] = ""

    @classmethod
    @abc.abstractmethod
    def storage(cls, shape, p, *, value_bytes=4, n_atoms=None):
        """Bytes stored for an (N, m) matrix with parameter ``p`` (``n_atoms``: the dictionary's, if any)."""

    @abc.abstractmethod
    def upper(self, shape) -> int:
        """The largest meaningful parameter for an (N, m) matrix."""

    @abc.abstractmethod
    def _apply(self, X: np.ndarray, p: int):
        """``(X_hat (N, m), params)`` for parameter ``p``; ``params`` holds ``param`` (and extras)."""

    def _storage_options(self) -> dict:
        """Keyword arguments of :meth:`storage` fixed by this instance (a dictionary's size)."""
        return {}

    def largest_fitting(self, shape, budget, value_bytes=4) -> int:
        """Largest ``p`` in [1, upper] with ``storage(p) <= budget`` (binary search: storage increases)."""
        kw = dict(value_bytes=value_bytes, **self._storage_options())
        lo, hi = 0, self.upper(shape)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.storage(shape, mid, **kw) <= budget:
                lo = mid
            else:
                hi = mid - 1
        if lo == 0:
            need = self.storage(shape, 1, **kw)
            raise ValueError(f"a budget of {budget} bytes is too small for {self.name!r} on a {shape[0]}x{shape[1]} "
                             f"matrix: the smallest setting needs {need} bytes.")
        return lo

    def compress(self, X, budget_bytes, *, value_bytes=4):
        """``(X_hat, bytes, params)`` of ``X`` (N, m) within ``budget_bytes`` (see :func:`compress`)."""
        p = self.largest_fitting(X.shape, budget_bytes, value_bytes)
        X_hat, params = self._apply(X, p)
        used = self.storage(X.shape, params[self.param], value_bytes=value_bytes, **self._storage_options())
        return np.ascontiguousarray(X_hat), used, params


@register_compression_method("keep_largest")
class KeepLargest(CompressionMethod):
    r"""The ``k`` largest-magnitude entries of every row (:func:`cstoolkit.sparsify.keep_largest`).

    Bytes: :math:`N k (v + i_m)` — ``k`` is fixed per row, so no row pointers.
    """

    param = "k"

    @classmethod
    def storage(cls, shape, p, *, value_bytes=4, n_atoms=None):
        N, m = shape
        return N * p * (value_bytes + index_bytes(m))

    def upper(self, shape):
        return shape[1]

    def _apply(self, X, p):
        from ..sparsify import keep_largest

        return keep_largest(X, p, axis=1).toarray(), {"k": p}


class _GlobalThreshold(CompressionMethod):
    r"""The ``z`` largest-magnitude entries of the whole matrix, stored as CSR.

    Bytes: :math:`z (v + i_m) + 4 (N + 1)`. ``params`` also holds the threshold ``lam``, the
    (z+1)-th largest magnitude (0 when every entry is kept), and the ``z`` actually kept (ties
    at ``lam`` can only remove entries).
    """

    param = "z"

    @classmethod
    def storage(cls, shape, p, *, value_bytes=4, n_atoms=None):
        N, m = shape
        return p * (value_bytes + index_bytes(m)) + PTR_BYTES * (N + 1)

    def upper(self, shape):
        return shape[0] * shape[1]

    def _apply(self, X, p):
        mag = np.abs(X).ravel()
        lam = 0.0 if p >= mag.size else float(np.partition(mag, mag.size - p - 1)[mag.size - p - 1])
        X_hat = self._threshold(X, p, lam)
        return X_hat, {"z": int(np.count_nonzero(X_hat)), "lam": lam}

    @abc.abstractmethod
    def _threshold(self, X, z, lam):
        """The thresholded matrix, dense."""


@register_compression_method("hard_threshold")
class HardThreshold(_GlobalThreshold):
    __doc__ = _GlobalThreshold.__doc__.replace("stored as CSR.", "stored as CSR, unchanged.")

    def _threshold(self, X, z, lam):
        from ..sparsify import keep_largest

        return keep_largest(X, z, axis=None).toarray()


@register_compression_method("soft_threshold")
class SoftThreshold(_GlobalThreshold):
    __doc__ = _GlobalThreshold.__doc__.replace("stored as CSR.", "shrunk by soft thresholding at λ = ``lam`` "
                                                "(:func:`cstoolkit.sparsify.soft_threshold`), stored as CSR.")

    def _threshold(self, X, z, lam):
        from ..sparsify import soft_threshold

        return np.asarray(soft_threshold(X, lam))


@register_compression_method("svd")
class TruncatedSVD(CompressionMethod):
    r"""Rank-``r`` factors (:func:`cstoolkit.sparsify.svd_truncate`, randomised, seeded).

    Bytes: :math:`(N + m) r v`.
    """

    param = "rank"

    def __init__(self, *, random_state=0):
        self.random_state = random_state

    @classmethod
    def storage(cls, shape, p, *, value_bytes=4, n_atoms=None):
        N, m = shape
        return (N + m) * p * value_bytes

    def upper(self, shape):
        return min(shape)

    def _apply(self, X, p):
        from ..sparsify import svd_truncate

        return svd_truncate(X, p, random_state=self.random_state).reconstruct(), {"rank": p}


@register_compression_method("dictionary")
class DictionaryCoding(CompressionMethod):
    r"""``k`` (value, atom index) pairs per row over a ``K``-atom dictionary, coded by any coder.

    Bytes: :math:`K m v + N k (v + i_K)` (the dictionary is stored too; ``k`` is fixed per row,
    so no row pointers). Rows are coded a block at a time through the coder's Gram hook
    (:meth:`~cstoolkit.base.Recoverer.recover_gram`, with ``DᵀD`` formed once): a coder with
    an ``n_nonzero_coefs`` parameter (OMP, the default, CoSaMP, ...) is given ``k``; any other
    (a Lasso coder) codes freely and the ``k`` largest coefficients of each row are kept.

    Parameters
    ----------
    dictionary : ndarray (K, m) or fitted learner
        Atoms as rows (``learner.components_``).
    coder : Recoverer or None, default=None
        None: :class:`~cstoolkit.OMP`.
    """

    param = "k"

    def __init__(self, *, dictionary=None, coder=None):
        if dictionary is None:
            raise ValueError("method 'dictionary' needs dictionary= (atoms as rows, or a fitted learner).")
        W = np.asarray(getattr(dictionary, "components_", dictionary))
        if W.ndim != 2:
            raise ValueError(f"dictionary must be (n_atoms, n_features) or a fitted learner; got shape {W.shape}.")
        self.atoms, self.coder = W, coder

    @classmethod
    def storage(cls, shape, p, *, value_bytes=4, n_atoms=None):
        if n_atoms is None:
            raise ValueError("storage_for('dictionary', ...) needs n_atoms.")
        N, m = shape
        return n_atoms * m * value_bytes + N * p * (value_bytes + index_bytes(n_atoms))

    def _storage_options(self):
        return {"n_atoms": self.atoms.shape[0]}

    def upper(self, shape):
        if self.atoms.shape[1] != shape[1]:
            raise ValueError(f"dictionary has {self.atoms.shape[1]} features but X has {shape[1]}.")
        return min(self.atoms.shape[0], shape[1])

    def _coder(self, k):
        from ..solvers.greedy.pursuit import OMP

        coder = OMP() if self.coder is None else self.coder
        params = coder.get_params()
        if "n_nonzero_coefs" in params:
            params["n_nonzero_coefs"] = k
        return type(coder)(**params)  # a fresh instance: the caller's coder is never changed

    def _apply(self, X, k):
        from ..rows import default_block_rows
        from ..sparsify import keep_largest

        W = self.atoms.astype(X.dtype if X.dtype == np.float32 else np.float64)
        K = W.shape[0]
        D = np.ascontiguousarray(W.T)
        G = D.T @ D
        coder = self._coder(k)
        # rows coded a block at a time (codes of a row do not depend on the block): no dense
        # (n_atoms, N) code matrix and no converted copy of X; float32 input stays float32
        X_hat = np.empty(X.shape, dtype=D.dtype)
        step = default_block_rows(K, D.dtype.itemsize)
        for s in range(0, X.shape[0], step):
            Xb = np.asarray(X[s: s + step], dtype=D.dtype)
            out = coder.recover_gram(G, (Xb @ D).T, norms_squared=np.einsum("ij,ij->i", Xb, Xb, dtype=np.float64),
                                     factor=D)
            C = np.asarray(out.coef, dtype=D.dtype).T  # (b, K) codes of the block's rows
            if np.any(np.count_nonzero(C, axis=1) > k):  # a coder without a sparsity budget
                C = keep_largest(C, k, axis=1).toarray()
            X_hat[s: s + step] = C @ W
        return X_hat, {"k": k, "n_atoms": K}


def storage_for(method, shape, param, *, value_bytes=4, n_atoms=None):
    """Bytes a method stores for an (N, m) matrix with parameter ``param`` (see the module table).

    Parameters
    ----------
    method : str
        A registered method (:func:`available_compression_methods`).
    shape : tuple (N, m)
    param : int
        ``k`` per row (keep_largest, dictionary), ``z`` entries (thresholding) or rank ``r`` (svd).
    value_bytes : int or float, default=4
    n_atoms : int, optional
        Dictionary size ``K`` (required for "dictionary").

    Returns
    -------
    int or float
    """
    return COMPRESSION_METHODS.get(method).storage(tuple(shape), param, value_bytes=value_bytes, n_atoms=n_atoms)


def _method(method, **options) -> CompressionMethod:
    """The registered method ``method`` built with the options its ``__init__`` takes."""
    cls = COMPRESSION_METHODS.get(method)
    takes = inspect.signature(cls.__init__).parameters
    return cls(**{k: v for k, v in options.items() if k in takes})


def compress(X, method, budget_bytes, *, value_bytes=4, dictionary=None, coder=None, random_state=0):
    """Compress the rows of ``X`` with ``method`` into at most ``budget_bytes`` bytes.

    Parameters
    ----------
    X : array_like, shape (N, m)
    method : str
        A registered method (:func:`available_compression_methods`): "keep_largest",
        "hard_threshold", "soft_threshold", "svd", "dictionary"; see the module table.
    budget_bytes : int or float
        Byte budget (payload, counted as in :func:`storage_for`).
    value_bytes : int or float, default=4
        Bytes per stored value (4: float32).
    dictionary : ndarray (n_atoms, m) or fitted learner, optional
        Atoms as rows (e.g. ``learner.components_``); required for "dictionary". Rows are coded
        with as many atoms as fit the budget (the dictionary's own bytes included).
    coder : Recoverer or None, default=None
        The coder of "dictionary" (None: OMP); see :class:`DictionaryCoding`.
    random_state : int, default=0
        Seed of the randomised SVD.

    Returns
    -------
    X_hat : ndarray, shape (N, m)
        The decoded approximation.
    bytes : int or float
        Bytes stored.
    params : dict
        The parameter that fits the budget (and λ for the thresholding methods).
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.dtype.kind not in "fiu":
        raise ValueError(f"X must be a real 2-D array (n_rows, n_features); got shape {X.shape}, dtype {X.dtype}.")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or Inf.")
    cls = COMPRESSION_METHODS.get(method)  # an unknown name lists the available ones
    if isinstance(budget_bytes, bool) or not isinstance(budget_bytes, numbers.Real) or not budget_bytes > 0:
        raise ValueError(f"budget_bytes must be a positive number; got {budget_bytes!r}.")
    return _method(cls, dictionary=dictionary, coder=coder, random_state=random_state).compress(
        X, budget_bytes, value_bytes=value_bytes)


@dataclass(frozen=True)
class CompressionRecord:
    """One point of an error-versus-bytes curve.

    Attributes
    ----------
    method : str
    budget_bytes : float
        The budget asked for.
    bytes : float
        Bytes actually stored (``<= budget_bytes``).
    rel_frobenius, mean_cosine, nn_overlap : float
        See :func:`~cstoolkit.compression.compression_quality`.
    params : dict
        The parameter chosen to fit the budget (``k``, ``z``, ``rank``, ``lam``, ``n_atoms``).
    """

    method: str
    budget_bytes: float
    bytes: float
    rel_frobenius: float
    mean_cosine: float
    nn_overlap: float
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return asdict(self)


def evaluate_at_budget(X, method, budget_bytes, *, value_bytes=4, dictionary=None, coder=None, n_queries=1000,
                       n_neighbors=10, random_state=0) -> CompressionRecord:
    """Compress ``X`` with ``method`` at ``budget_bytes`` and measure the result.

    Parameters
    ----------
    X : array_like, shape (N, m)
    method, budget_bytes, value_bytes, dictionary, coder
        As in :func:`compress`.
    n_queries, n_neighbors, random_state
        As in :func:`~cstoolkit.compression.neighbour_overlap` (the same seed for every method compared).

    Returns
    -------
    CompressionRecord
    """
    X_hat, used, params = compress(X, method, budget_bytes, value_bytes=value_bytes, dictionary=dictionary,
                                   coder=coder, random_state=random_state)
    q = compression_quality(X, X_hat, n_queries=n_queries, n_neighbors=n_neighbors, random_state=random_state)
    return CompressionRecord(method=method, budget_bytes=float(budget_bytes), bytes=float(used), params=params, **q)
