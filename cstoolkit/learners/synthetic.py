r"""The synthetic experiment of the K-SVD paper: data generation and recovered-atom counting.

Aharon, Elad & Bruckstein (2006), §V-A: a generating dictionary of 50 unit-norm atoms in
:math:`\mathbb R^{20}` with i.i.d. uniform entries; 1500 signals, each a combination of 3
distinct atoms chosen at random with i.i.d. uniform coefficients; white Gaussian noise at a
given SNR; the learner starts from data samples, codes with OMP using exactly 3 atoms and runs
80 iterations; a generating atom :math:`d_i` is *found* when some learned atom
:math:`\hat d_j` has :math:`1 - |d_i^\top \hat d_j| < 0.01`. Fig. 3 of the paper plots the
percentage of atoms found (averaged over 50 trials) against the noise level.

The functions here are the reusable pieces: :func:`make_ksvd_synthetic` (the data),
:func:`count_recovered_atoms` (the criterion) and :func:`ksvd_synthetic_trial` (one trial of
one learner at one noise level), from which an experiment script draws Fig. 3.

Both readings of "uniform" are symmetric: entries and coefficients are drawn from
U[−1, 1] (``distribution="uniform"``, the paper's text). The authors' released MATLAB demo
draws Gaussian ones instead; ``distribution="gaussian"`` reproduces that.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_random_state

__all__ = ["make_ksvd_synthetic", "count_recovered_atoms", "ksvd_synthetic_trial"]


def _draw(rng, size, distribution):
    if distribution == "uniform":
        return rng.uniform(-1.0, 1.0, size=size)
    if distribution == "gaussian":
        return rng.standard_normal(size)
    raise ValueError(f"distribution must be 'uniform' or 'gaussian'; got {distribution!r}.")


def make_ksvd_synthetic(n_samples=1500, n_features=20, n_atoms=50, n_nonzero_coefs=3, *, snr_db=20.0,
                        distribution="uniform", random_state=None):
    r"""Signals that are sparse combinations of a random dictionary, plus white noise.

    .. math::

        x_i = \sum_{j \in S_i} c_{ij}\, d_j + e_i, \qquad |S_i| = k,\qquad
        \mathrm{SNR} = 10\log_{10}\frac{\sum_i \|x_i - e_i\|^2}{\sum_i \|e_i\|^2} = \text{snr\_db},

    with unit-norm atoms :math:`d_j` of i.i.d. entries and i.i.d. coefficients (both U[−1, 1] or
    both standard normal), the supports :math:`S_i` drawn uniformly without replacement and the
    noise Gaussian, scaled so the SNR over the whole data set is exactly ``snr_db``.

    Parameters
    ----------
    n_samples : int, default=1500
    n_features : int, default=20
    n_atoms : int, default=50
    n_nonzero_coefs : int, default=3
        Atoms per signal ``k`` (``k <= n_atoms``).
    snr_db : float or None, default=20.0
        Signal-to-noise ratio in dB; None (or ``inf``) adds no noise.
    distribution : {"uniform", "gaussian"}, default="uniform"
        Law of the dictionary entries and the coefficients.
    random_state : int, numpy Generator or None, default=None

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
        Noisy signals, one per row (the learners' convention).
    dictionary : ndarray, shape (n_atoms, n_features)
        Generating atoms as unit-norm rows.
    codes : ndarray, shape (n_samples, n_atoms)
        True coefficients (``k`` non-zeros per row); ``codes @ dictionary`` is the clean data.

    References
    ----------
    M. Aharon, M. Elad and A. Bruckstein, "K-SVD: An algorithm for designing overcomplete
    dictionaries for sparse representation", IEEE Trans. Signal Process. 54(11), 2006, §V-A.
    """
    for name, v in (("n_samples", n_samples), ("n_features", n_features), ("n_atoms", n_atoms),
                    ("n_nonzero_coefs", n_nonzero_coefs)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}.")
    if n_nonzero_coefs > n_atoms:
        raise ValueError(f"n_nonzero_coefs={n_nonzero_coefs} exceeds n_atoms={n_atoms}.")
    rng = check_random_state(random_state)
    D = _draw(rng, (n_atoms, n_features), distribution)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    # k distinct atoms per signal: the first k of a random permutation of every row
    supports = np.argsort(rng.random((n_samples, n_atoms)), axis=1)[:, :n_nonzero_coefs]
    codes = np.zeros((n_samples, n_atoms))
    np.put_along_axis(codes, supports, _draw(rng, (n_samples, n_nonzero_coefs), distribution), axis=1)
    clean = codes @ D
    X = clean.copy()
    if snr_db is not None and np.isfinite(snr_db):
        noise = rng.standard_normal(clean.shape)
        scale = np.sqrt(np.sum(clean**2) / (np.sum(noise**2) * 10.0 ** (snr_db / 10.0)))
        X += scale * noise
    return X, D, codes


def count_recovered_atoms(true_atoms, learned_atoms, *, threshold=0.01):
    r"""How many generating atoms a learned dictionary contains (the K-SVD paper's criterion).

    Atom :math:`d_i` is found when :math:`\min_j\,(1 - |d_i^\top \hat d_j|) < \text{threshold}`,
    both atoms normalised first (the sign of an atom is irrelevant).

    Parameters
    ----------
    true_atoms : array_like, shape (n_true, n_features)
        Generating atoms as rows.
    learned_atoms : array_like, shape (n_learned, n_features)
        Learned atoms as rows (e.g. ``learner.components_``).
    threshold : float, default=0.01

    Returns
    -------
    int
        Number of generating atoms found (divide by ``n_true`` for the paper's ratio).
    """
    T = np.asarray(true_atoms, dtype=np.float64)
    L = np.asarray(learned_atoms, dtype=np.float64)
    if T.ndim != 2 or L.ndim != 2 or T.shape[1] != L.shape[1]:
        raise ValueError(
            f"true_atoms {T.shape} and learned_atoms {L.shape} must be 2-D with the same number of columns "
            "(atoms as rows)."
        )
    T = T / np.linalg.norm(T, axis=1, keepdims=True)
    Ln = np.linalg.norm(L, axis=1, keepdims=True)
    L = np.divide(L, Ln, out=np.zeros_like(L), where=Ln > 0)
    best = np.max(np.abs(T @ L.T), axis=1)
    return int(np.count_nonzero(1.0 - best < threshold))


def ksvd_synthetic_trial(learner="ksvd", *, snr_db=20.0, random_state=0, max_iter=80, n_samples=1500,
                         n_features=20, n_atoms=50, n_nonzero_coefs=3, distribution="uniform", **params):
    """One trial of the K-SVD paper's synthetic experiment: fraction of generating atoms found.

    Parameters
    ----------
    learner : str, default="ksvd"
        Registered learner name ("ksvd", "aksvd", "mod", "online", ...).
    snr_db : float or None, default=20.0
    random_state : int, default=0
        Seeds the data (``random_state``) and the learner (``random_state + 1``).
    max_iter : int, default=80
        Learner iterations (epochs for the online learner).
    n_samples, n_features, n_atoms, n_nonzero_coefs, distribution
        As in :func:`make_ksvd_synthetic`.
    **params
        Further learner parameters.

    Returns
    -------
    float
        Fraction of the ``n_atoms`` generating atoms found (the paper's Fig. 3 divided by 100).
    """
    from .. import make_learner
    from ..solvers.greedy.pursuit import OMP

    X, D, _ = make_ksvd_synthetic(n_samples, n_features, n_atoms, n_nonzero_coefs, snr_db=snr_db,
                                  distribution=distribution, random_state=random_state)
    est = make_learner(learner, n_atoms=n_atoms, coder=OMP(n_nonzero_coefs=n_nonzero_coefs),
                       max_iter=max_iter, init="data", random_state=random_state + 1, **params)
    est.fit(X)
    return count_recovered_atoms(D, est.components_) / n_atoms
