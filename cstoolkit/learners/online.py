r"""Online (mini-batch) dictionary learning, Mairal, Bach, Ponce & Sapiro (2009, 2010).

Minimises the expected coding loss over a stream of samples,

.. math::

    \min_{W:\ \|w_j\|_2 = 1}\ \mathbb E_x\Bigl[\min_c\ \tfrac12\|x - W^\top c\|_2^2 + \lambda R(c)\Bigr],

by alternating, for each mini-batch, a sparse-coding step with the coder object and a block
coordinate descent on the surrogate built from the running statistics
:math:`A = \sum c c^\top` and :math:`B = \sum c x^\top`. Rows are samples; see
:mod:`cstoolkit.learners.base` for the mapping to the recoverers' column convention.

Why one file (over 400 lines): it is one algorithm — its state, the mini-batch step, and the
three inputs that feed that step (arrays, row sources, Dask arrays); the compiled pieces live
beside it (``_bcd.py``, ``_code_stats.py``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from .._threads import blas_single_thread
from .._validation import Interval
from ..registry import register_learner
from .base import LEARNER_HISTORY_KEYS, DictionaryLearner, _common_constraints, _seed, data_scale
from .codes import code_signals

__all__ = ["OnlineDictionaryLearning", "OnlineState"]

logger = logging.getLogger(__name__)


def _gram(W):
    """``W Wᵀ`` (K, K) of the atoms ``W`` (K, m), exactly symmetric, C-contiguous.

    One ``syrk`` (half the multiply-adds of ``W @ W.T``: 0.34 G for 1024 × 640) fills the upper
    triangle; the lower one is its mirror (adding the zero triangle and halving the doubled
    diagonal are exact).
    """
    from scipy.linalg.blas import get_blas_funcs

    syrk = get_blas_funcs("syrk", dtype=W.dtype)
    U = syrk(1.0, W.T, trans=1)  # (Wᵀ)ᵀ Wᵀ, upper triangle; W.T is Fortran-ordered: no copy
    G = np.empty(U.shape, dtype=W.dtype)
    np.add(U, U.T, out=G)
    G.flat[:: G.shape[0] + 1] *= 0.5
    return G


@dataclass
class _BatchStats:
    """What the coding of a block of rows contributes to the online update (Mairal et al.'s
    sufficient statistics), so that blocks can be coded anywhere and summed.

    ``Σ c cᵀ`` is carried as the codes' non-zeros, listed per row (``idx``, ``val`` of shape
    (n_rows, s), the layout of :func:`~cstoolkit.learners._code_stats.code_lists`): n·k values
    instead of a K × K matrix, added into ``A`` by the driver. ``StX = Σ c xᵀ`` (K, m) dense, in
    the dtype of the data; per-row objective ``obj`` and residual norms ``r`` (n_rows,), the
    number of non-zero codes ``nnz`` and ``xx = ‖X_block‖_F²`` (float64).
    """

    idx: np.ndarray
    val: np.ndarray
    StX: np.ndarray
    obj: np.ndarray
    r: np.ndarray
    nnz: int
    xx: float

    @staticmethod
    def total(parts):
        """The statistics of the concatenated blocks (one block: itself, bit for bit)."""
        if len(parts) == 1:
            return parts[0]
        s = max(p.idx.shape[1] for p in parts)
        pad = [((0, 0), (0, s - p.idx.shape[1])) for p in parts]
        return _BatchStats(np.concatenate([np.pad(p.idx, w) for p, w in zip(parts, pad)]),
                           np.concatenate([np.pad(p.val, w) for p, w in zip(parts, pad)]),
                           sum(p.StX for p in parts[1:]) + parts[0].StX,
                           np.concatenate([p.obj for p in parts]), np.concatenate([p.r for p in parts]),
                           sum(p.nnz for p in parts), float(sum(p.xx for p in parts)))


def _batch_stats(coder, W, gram, Xb, scale):
    """Code the rows ``Xb`` (already divided by ``scale``) over the atoms ``W`` (K, m); their statistics.

    A plain function of its arguments (no learner), so that a Dask worker can run it on its
    block with the broadcast dictionary. Only the codes' non-zeros leave it.
    """
    S, obj, r = code_signals(coder, W.T, Xb.T, scale, gram=gram)
    # the codes are sparse (k of K per row): Σ c xᵀ from their non-zeros only — the dense
    # products S Sᵀ and S X would spend 0.44 G multiply-adds per 256 rows on zeros
    from ._code_stats import code_lists, codes_times_rows

    idx, val = code_lists(S)
    return _BatchStats(idx, val, codes_times_rows(idx, val, Xb, W.shape[0]), np.asarray(obj), np.asarray(r),
                       int(np.count_nonzero(val)), float(np.einsum("ij,ij->", Xb, Xb, dtype=np.float64)))


class _Columns:
    """``Y[:, idx]`` of a mini-batch ``Y = X_bᵀ`` whose rows are fetched on demand (atom replacement)."""

    def __init__(self, get_rows):
        self.get_rows = get_rows

    def __getitem__(self, key):
        _, idx = key
        return np.asarray(self.get_rows(np.asarray(idx, dtype=np.int64))).T


@dataclass
class OnlineState:
    """Running state of :class:`OnlineDictionaryLearning` between mini-batches (``state_``).

    Attributes
    ----------
    A : ndarray, shape (n_atoms, n_atoms)
        Weighted running sum of ``c cᵀ`` over the coded samples, in units of ``scale²``.
    B : ndarray, shape (n_atoms, n_features)
        Weighted running sum of ``c xᵀ``, in units of ``scale²``.
    scale : float
        Power of two the samples are divided by before coding (fixed by ``fit``'s data or the
        first ``partial_fit`` batch; see :func:`cstoolkit.learners.codes.data_scale`).
    rng : numpy.random.Generator
        Continues across ``partial_fit`` calls (replacements, shuffling).
    gram : ndarray (n_atoms, n_atoms) or None
        ``W Wᵀ`` of the current atoms, kept for the coder's Gram hook.
    elapsed : float
        Seconds spent in the mini-batch steps.
    history : dict of list
        Per mini-batch records (see ``history_``).
    """

    A: np.ndarray
    B: np.ndarray
    scale: float
    rng: np.random.Generator
    gram: np.ndarray | None = None
    elapsed: float = 0.0
    history: dict = field(default_factory=lambda: {k: [] for k in LEARNER_HISTORY_KEYS})


def _is_dask_array(X) -> bool:
    import sys

    da = sys.modules.get("dask.array")  # never imports dask itself
    return da is not None and isinstance(X, da.Array)


def _current_client():
    """The active :class:`dask.distributed.Client`, or None (then Dask's local scheduler runs)."""
    try:
        from distributed import get_client
        return get_client()
    except (ImportError, ValueError):
        return None


class _DaskRows:
    """Just enough of a row source over a Dask array for the initialisation (non-zero rows, draws)."""

    def __init__(self, X):
        self.X, self.shape, self.dtype = X, tuple(int(d) for d in X.shape), X.dtype

    def nonzero_rows(self):
        import dask.array as da
        return np.asarray(da.flatnonzero(self.X.any(axis=1)).compute())

    def __getitem__(self, rows):
        rows = np.asarray(rows)
        order = np.argsort(rows, kind="stable")
        out = np.empty((rows.size, self.shape[1]), dtype=self.dtype)
        if rows.size:
            out[order] = np.asarray(self.X[rows[order]].compute())
        return out


@register_learner("online")
class OnlineDictionaryLearning(DictionaryLearner):
    r"""Online dictionary learning with mini-batches and any coder (Mairal et al. 2009/2010).

    For mini-batch :math:`t` of :math:`\eta` samples :math:`X_t` with codes :math:`C_t`
    (through the coder's Gram hook ``coder.recover_gram`` with the cached ``W Wᵀ``; Batch-OMP
    for an OMP coder):

    .. math::

        A \leftarrow \beta_t A + \tfrac1\eta C_t^\top C_t,\qquad
        B \leftarrow \beta_t B + \tfrac1\eta C_t^\top X_t,\qquad
        \beta_t = \frac{\theta_t + 1 - \eta}{\theta_t + 1},\quad
        \theta_t = \begin{cases} t\eta & t < \eta \\ \eta^2 + t - \eta & t \ge \eta\end{cases}

    (the mini-batch weighting of Mairal et al. 2010, §3.4.3, which forgets the early, poorly
    coded batches), then ``n_sweeps`` sweeps of block coordinate descent over the atoms on
    :math:`\tfrac12\operatorname{tr}(W^\top A W) - \operatorname{tr}(W^\top B)`, each atom
    projected onto the unit sphere.

    The coder matters. Mairal et al. code each mini-batch with the Lasso; with
    ``coder=cstoolkit.Homotopy(lam=...)`` (exact, compiled) that costs about as much as OMP here
    and learns better dictionaries even when the final codes are OMP's: on the MiniLM rows
    (30522 × 384, 1024 atoms, one pass, batch 256, evaluated with OMP-16 codes) λ = 0.135 gives
    a relative error of 0.641 against 0.650 with OMP-16 coding (bench/bench_dictlearn.py; a
    ``slow`` test checks it). With 256–512 atoms or a few thousand rows the two are level.

    Parameters
    ----------
    n_atoms : int or None, default=None
        Number of atoms ``K``; None: the rows of an ``init`` array, else ``n_features``.
    coder : Recoverer or None, default=None
        Sparse-coding solver object (None: ``cstoolkit.OMP()``); see :class:`~cstoolkit.KSVD`.
    batch_size : int, default=256
        Samples per mini-batch in ``fit``.
    max_iter : int, default=1
        Passes (epochs) over the data in ``fit``.
    n_sweeps : int, default=1
        Block-coordinate-descent sweeps over the atoms per mini-batch.
    shuffle : bool, default=True
        Shuffle the samples before every epoch.
    init : {"data", "random"} or ndarray of shape (n_atoms, n_features), default="data"
        As in :class:`~cstoolkit.KSVD` (``fit`` draws from the whole training set;
        a first ``partial_fit`` from its batch, topped up with random atoms).
    dup_threshold : float in (0, 1] or None, default=0.99
        After every mini-batch an atom whose absolute inner product with an earlier atom
        exceeds this is replaced; None disables the check.
    min_usage : int, default=1
        An atom is *unused* when its running statistic ``A_jj`` is below ``1e-6·mean(diag A)``
        (it has effectively never been used); unused and duplicated atoms are replaced by the
        worst-represented samples of the current mini-batch (largest residual norm), normalised,
        and their statistics reset to zero. ``min_usage=0`` disables the unused-atom rule.
    random_state : int, numpy Generator or None, default=None
    sparse_output : bool or "auto", default="auto"
        Whether ``transform`` returns a ``scipy.sparse.csr_array``; ``"auto"``: CSR when the dense
        codes would exceed 128 MiB (see :meth:`~cstoolkit.learners.base.DictionaryLearner.transform`).
    callback : Callback, callable, sequence of them or None, default=None
        The solvers' callbacks (:mod:`cstoolkit.callbacks`), after every mini-batch, with an
        :class:`~cstoolkit.callbacks.IterationInfo` of the batch's samples (a function of two
        positional parameters is called as ``callback(learner, step)``); returning True stops
        ``fit``. Their run time is not counted in ``history_["time"]``.

    Hyperparameters are validated by ``fit`` / ``partial_fit`` (``__init__`` only stores them).
    As the batch learners, it works on the samples divided by a power of two near ``max|X|``,
    so ``c·X`` gives the same atoms at any magnitude with an OMP coder of fixed sparsity.

    Attributes
    ----------
    components_ : ndarray, shape (n_atoms, n_features)
        Unit-norm atoms as rows.
    n_iter_ : int
        Completed epochs of the last ``fit``.
    n_steps_ : int
        Mini-batches processed (``fit`` and ``partial_fit``).
    history_ : dict of ndarray, each of shape (n_steps_,)
        Per mini-batch, before the update: ``"objective"`` (the coder's objective averaged over
        the batch), ``"residual_norm"`` (root mean square of ‖x_i − Wᵀc_i‖ over the batch),
        ``"relative_residual"`` (‖X_t − C_t W‖_F/‖X_t‖_F), ``"mean_nnz"``; and cumulative ``"time"``.
    state_ : OnlineState
        Running statistics ``A``, ``B`` and the rest of what ``partial_fit`` continues from.
    n_features_in_ : int
        Number of features seen in the first ``fit`` / ``partial_fit``.

    References
    ----------
    J. Mairal, F. Bach, J. Ponce and G. Sapiro, "Online dictionary learning for sparse coding",
    ICML 2009.
    J. Mairal, F. Bach, J. Ponce and G. Sapiro, "Online learning for matrix factorization and
    sparse coding", JMLR 11 (2010), 19-60.
    """

    _parameter_constraints = {
        **_common_constraints(),
        "batch_size": [Interval("integral", 1, None)],
        "max_iter": [Interval("integral", 1, None)],
        "n_sweeps": [Interval("integral", 1, None)],
        "shuffle": [bool],
    }

    def __init__(self, *, n_atoms=None, coder=None, batch_size=256, max_iter=1, n_sweeps=1, shuffle=True, init="data",
                 dup_threshold=0.99, min_usage=1, random_state=None, sparse_output="auto", callback=None):
        self.n_atoms = n_atoms
        self.coder = coder
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.n_sweeps = n_sweeps
        self.shuffle = shuffle
        self.init = init
        self.dup_threshold = dup_threshold
        self.min_usage = min_usage
        self.random_state = random_state
        self.sparse_output = sparse_output
        self.callback = callback

    # -- state ---------------------------------------------------------------------------
    def _start(self, X, scale, *, divided=True, rng=None):
        """Initialise the atoms from ``X`` and zero statistics.

        ``X`` (array or row source) is already divided by ``scale`` when ``divided``, else it is
        divided row by row as the initial atoms are drawn (the same atoms bit for bit).
        """
        rng = _seed(self.random_state) if rng is None else rng
        K = self._resolve_n_atoms(X.shape[1])
        W = np.ascontiguousarray(self._init_dictionary(X, rng, K, scale=1.0 if divided else scale).T)
        self.components_ = W
        self.state_ = OnlineState(A=np.zeros((K, K), dtype=W.dtype), B=np.zeros(W.shape, dtype=W.dtype),
                                  scale=scale, rng=rng)
        self.n_steps_ = 0

    def _step(self, Xb, coder):
        """One mini-batch ``Xb`` (already divided by ``state_.scale``): code, accumulate, update.

        Returns the batch's statistics (per-row objective and residual norms for the callbacks).
        """
        t_start = time.perf_counter()
        st = self.state_
        if st.gram is None:
            st.gram = _gram(self.components_)
        with blas_single_thread():  # Xb Wᵀ is small (0.17 G multiply-adds) ahead of the parallel OMP kernel
            stats = _batch_stats(coder, self.components_, st.gram, Xb, st.scale)
        self._update(stats, Xb.shape[0], lambda rows: Xb[rows], coder, t_start)
        return stats

    def _update(self, stats, eta, get_rows, coder, t_start):
        """Accumulate a mini-batch's :class:`_BatchStats` into ``A``, ``B``; update the atoms.

        ``get_rows(indices)`` returns rows of the (scaled) mini-batch, for atom replacement.
        """
        st = self.state_
        W, A, B = self.components_, st.A, st.B
        t = self.n_steps_
        theta = (t + 1) * eta if t < eta - 1 else eta * eta + t + 1 - eta
        beta = (theta + 1 - eta) / (theta + 1)
        from ._bcd import bcd_sweep
        from ._code_stats import add_code_outer

        A *= beta
        add_code_outer(A, stats.idx, stats.val, eta)  # A += Σ c cᵀ / eta from the non-zeros
        B *= beta
        B += stats.StX / eta
        diag = np.diag(A)
        tiny = 1e-6 * max(float(diag.mean()), np.finfo(A.dtype).tiny)
        # every product here is small (≤ K²m multiply-adds, 0.7 G at 1024 × 640): on one BLAS
        # thread, as the project does ahead of compiled kernels (see cstoolkit._threads)
        with blas_single_thread():
            dead = bcd_sweep(W, A, B, self.n_sweeps, tiny if self.min_usage > 0 else -np.inf)
            G = _gram(W)
        err = np.asarray(stats.r, dtype=np.float64).copy()
        replaced = self._replace_atoms(W.T, _Columns(get_rows), err, dead, st.rng, coherence=G)
        if replaced.size:
            A[replaced, :] = 0
            A[:, replaced] = 0
            B[replaced] = 0
            G[replaced, :] = W[replaced] @ W.T
            G[:, replaced] = G[replaced, :].T
        st.gram = G
        self.n_steps_ += 1
        st.elapsed += time.perf_counter() - t_start
        self._record(st.history, st.elapsed, np.mean(stats.obj), np.sum(np.asarray(stats.r, dtype=np.float64) ** 2),
                     stats.xx or 1.0, eta, stats.nnz, st.scale)

    # -- public API --------------------------------------------------------------------
    def fit(self, X, y=None):
        """Learn the dictionary with ``max_iter`` passes of mini-batches over the rows of ``X``.

        Parameters
        ----------
        X : array_like or RowSource, shape (n_samples, n_features)
            An array (float32 stays float32 throughout: atoms, statistics ``A``, ``B``, codes), a
            :class:`numpy.memmap` (``load_embeddings(..., mmap=True)``) or a
            :class:`~cstoolkit.rows.RowSource` (:func:`cstoolkit.rows.open_rows`: safetensors,
            ``.npy``, GGUF dequantised by row range; :class:`~cstoolkit.rows.StackedRows` for
            shards). The table is never copied whole: one pass of blocks finds the data scale and
            the non-zero rows, then each mini-batch's rows are read (gathered, when shuffling),
            divided by the scale and coded. A source and the same rows in memory give the same
            dictionary bit for bit for the same ``random_state``.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_hyperparams()
        if _is_dask_array(X):
            return self._fit_dask(X)
        src = self._check_X(X, reset=True, rows=True)
        coder = self._make_coder()
        self._check_coder_budget(coder, self._resolve_n_atoms(src.shape[1]), src.shape[1])
        scale = data_scale(src)
        inv = src.dtype.type(scale)  # dividing by a power of two is exact: (X / s)[rows] == X[rows] / s
        self._start(src, scale, divided=False)

        def batch(s, order):
            rows = src[s: s + self.batch_size] if order is None else src[order[s: s + self.batch_size]]
            rows /= inv
            return self._step(rows, coder)

        return self._run_epochs(src.shape[0], batch, X)

    def _run_epochs(self, N, batch, X):
        """``max_iter`` passes over ``N`` rows: ``batch(first_row, order or None) -> _BatchStats``
        per mini-batch, the callbacks after each (True stops; their time is not counted);
        returns ``self`` with the history finished."""
        st = self.state_
        cbs = self._begin_callbacks(X)
        self.n_iter_ = 0
        for epoch in range(self.max_iter):
            order = st.rng.permutation(N) if self.shuffle else None
            for s in range(0, N, self.batch_size):
                stats = batch(s, order)
                if cbs and self._step_callbacks(cbs, self.n_steps_, stats.obj, stats.r, st.scale):
                    self._finish_history(st.history)
                    self._end_callbacks(cbs)
                    return self
            self.n_iter_ = epoch + 1
        self._finish_history(st.history)
        self._end_callbacks(cbs)
        return self

    def _fit_dask(self, X):
        """``fit`` on a Dask array: each mini-batch coded on the workers, block by block.

        The mini-batch rows ``[s, s + batch_size)`` are cut at the array's row chunks; every
        piece is coded by :func:`_batch_stats` on a worker, with the dictionary and its Gram
        matrix broadcast to all workers once per mini-batch (``Client.scatter(...,
        broadcast=True)`` when a :class:`dask.distributed.Client` is active), and only the
        statistics come back — the codes' non-zeros (n·k values, from which the driver adds
        ``Σ c cᵀ``), ``Σ c xᵀ`` (K, m) and per-row residuals; the driver sums them and runs the
        same update as in memory. With chunks of ``batch_size``
        rows every mini-batch is one piece and the dictionary equals the in-memory fit's bit for
        bit; a mini-batch over several chunks differs only by the summation order of the
        statistics. Rows are visited in order: ``shuffle`` must be False (shuffle the table's
        rows once beforehand; a per-epoch permutation would move every row between workers).
        """
        import dask
        import dask.array  # noqa: F401  (dask.array.isfinite below)

        owner = type(self).__name__
        if X.ndim != 2:
            raise ValueError(f"{owner}: expected a 2-D Dask array (n_samples, n_features); got shape {X.shape}")
        if self.shuffle:
            raise ValueError(f"{owner}: fitting a Dask array visits its rows in order; pass shuffle=False "
                             "(and shuffle the table's rows once beforehand if they are sorted)")
        if len(X.chunks[1]) != 1:
            X = X.rechunk({1: -1})  # a row block must hold whole rows
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        N, m = (int(d) for d in X.shape)
        if N < 1 or m < 1:
            raise ValueError(f"{owner}: X has shape {X.shape}; expected at least one row and one feature")
        self.n_features_in_ = m
        coder = self._make_coder()
        K = self._resolve_n_atoms(m)
        self._check_coder_budget(coder, K, m)
        hi, lo, finite = dask.compute(X.max(), X.min(), dask.array.isfinite(X).all())
        if not finite:
            bad = dask.array.flatnonzero(~dask.array.isfinite(X).all(axis=1)).compute()[:5]
            raise ValueError(f"{owner}: X holds NaN or Inf (first bad rows: {bad.tolist()})")
        scale = data_scale(np.array([float(hi), float(lo)]))
        inv = X.dtype.type(scale)
        rng = _seed(self.random_state)
        self._start(_DaskRows(X), scale, divided=False, rng=rng)
        client = _current_client()
        starts = np.concatenate([[0], np.cumsum(X.chunks[0])])

        def batch(s, order):
            t_start = time.perf_counter()
            e = min(s + self.batch_size, N)
            st = self.state_
            W = self.components_
            if st.gram is None:
                st.gram = _gram(W)
            Wb, Gb = (W, st.gram) if client is None else client.scatter([W, st.gram], broadcast=True)
            cuts = np.unique(np.clip(starts, s, e))
            tasks = [dask.delayed(_batch_stats)(coder, Wb, Gb, X[a:b] / inv, scale) for a, b in zip(cuts[:-1], cuts[1:])]
            stats = _BatchStats.total(list(dask.compute(*tasks)))
            self._update(stats, e - s, lambda rows: np.asarray((X[s + rows] / inv).compute()), coder, t_start)
            return stats

        return self._run_epochs(N, batch, X)

    def partial_fit(self, X, y=None):
        """Update the dictionary with one mini-batch (all rows of ``X``).

        The first call initialises the dictionary from ``X`` (see ``init``), the running
        statistics and the data scale; later calls continue from ``state_``.

        Parameters
        ----------
        X : array_like, shape (batch_size, n_features)
        y : ignored

        Returns
        -------
        self
        """
        self._validate_hyperparams()
        first = not hasattr(self, "components_")
        X = self._check_X(X, reset=first)
        coder = self._make_coder()
        K = self._resolve_n_atoms(X.shape[1]) if first else self.components_.shape[0]
        self._check_coder_budget(coder, K, X.shape[1])
        scale = data_scale(X) if first else self.state_.scale
        X = np.ascontiguousarray(X / X.dtype.type(scale))
        if first:
            self._start(X, scale)
            self.n_iter_ = 0
        self._step(X, coder)
        self._finish_history(self.state_.history)
        return self
