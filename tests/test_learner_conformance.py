"""The learners' conformance suite: every registered dictionary learner must pass every test here.

Adding a learner = one class + one ``@register_learner`` line; it is collected below from
``cs.available_learners()`` automatically. The references are independent of the learners:
scikit-learn's own estimator checks (``parametrize_with_checks``), scikit-learn's
``sparse_encode`` (codes) and ``DictionaryLearning`` (a dictionary to refine), exact rescaling
of the data (scale invariance), and the learners' declared metadata
(``update_decreases_objective``) for the monotonicity of their update step.

Every learner runs with its own defaults except ``n_atoms``, the coder (OMP with 2 atoms, on
both OMP engines where it matters) and a small ``max_iter``; no learner gets its own tolerance.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.decomposition import DictionaryLearning, sparse_encode
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

import cstoolkit as cs
from cstoolkit.learners.synthetic import count_recovered_atoms, make_ksvd_synthetic

NAMES = cs.available_learners()
N_SAMPLES, N_FEATURES, N_ATOMS, K = 300, 12, 16, 2
ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                                                     reason="numba not installed"))]


def make(name, engine="auto", **over):
    params = dict(n_atoms=N_ATOMS, coder=cs.OMP(n_nonzero_coefs=K, engine=engine), max_iter=4, random_state=0)
    params.update(over)
    return cs.make_learner(name, **params)


@pytest.fixture(scope="module")
def problem():
    X, D, C = make_ksvd_synthetic(N_SAMPLES, N_FEATURES, N_ATOMS, K, snr_db=30, random_state=5)
    return X, D


def omp_error(X, W, k=K):
    """Relative error of scikit-learn's OMP codes over the atoms ``W`` (rows): the common yardstick."""
    codes = sparse_encode(X, W, algorithm="omp", n_nonzero_coefs=k)
    return np.linalg.norm(X - codes @ W) / np.linalg.norm(X)


# -- scikit-learn's own estimator checks, on the defaults and on an l1-coded learner -----------
@parametrize_with_checks(
    [cs.make_learner(n) for n in NAMES] + [cs.OnlineDictionaryLearning(coder=cs.Homotopy(lam=0.05))]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- shapes, fitted state, unfitted errors ----------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_fitted_state(name, problem):
    X, _ = problem
    est = make(name)
    params = set(est.get_params(deep=False))
    assert not [a for a in vars(est) if a not in params], "__init__ stores the parameters and nothing else"
    for method in ("transform", "inverse_transform", "get_feature_names_out"):
        with pytest.raises(NotFittedError):
            getattr(est, method)(X) if method != "get_feature_names_out" else est.get_feature_names_out()
    with pytest.raises(NotFittedError):
        est.as_basis()
    assert est.fit(X) is est
    extra = [a for a in vars(est) if a not in params]
    assert extra and all(a.endswith("_") for a in extra), f"fitted state must end in '_': {extra}"
    assert est.n_features_in_ == N_FEATURES
    W = est.components_
    assert W.shape == (N_ATOMS, N_FEATURES) and W.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, atol=1e-12)
    codes = est.transform(X)
    assert codes.shape == (N_SAMPLES, N_ATOMS)
    assert np.all(np.count_nonzero(codes, axis=1) <= K)
    np.testing.assert_allclose(est.inverse_transform(codes), codes @ W, rtol=0, atol=1e-14)
    np.testing.assert_allclose(est.inverse_transform(sp.csr_array(codes)), codes @ W, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(est.transform(X, sparse_output=True).toarray(), codes)
    np.testing.assert_array_equal(est.as_basis(), W.T)
    prefix = type(est).__name__.lower()
    assert list(est.get_feature_names_out()) == [f"{prefix}{i}" for i in range(N_ATOMS)]
    lengths = {len(v) for v in est.history_.values()}
    assert set(est.history_) >= {"objective", "residual_norm", "relative_residual", "mean_nnz", "time"} and len(lengths) == 1
    assert est.n_iter_ >= 1


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dtype_kept(name, dtype, problem):
    X, _ = problem
    Xd = (X * 1000).astype(dtype)
    expect = np.float32 if dtype == np.float32 else np.float64
    est = make(name).fit(Xd)
    assert est.components_.dtype == expect
    assert est.transform(Xd).dtype == expect
    assert est.inverse_transform(est.transform(Xd)).dtype == expect
    atol = 1e-5 if expect == np.float32 else 1e-12
    np.testing.assert_allclose(np.linalg.norm(est.components_.astype(np.float64), axis=1), 1.0, atol=atol)


@pytest.mark.parametrize("name", NAMES)
def test_seeds_reproduce(name, problem):
    X, _ = problem
    a, b = make(name, random_state=3).fit(X), make(name, random_state=3).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    gen = make(name, random_state=np.random.default_rng(3)).fit(X)  # a Generator seeds the same stream
    np.testing.assert_array_equal(gen.components_, a.components_)
    other = make(name, random_state=4).fit(X)
    assert not np.array_equal(other.components_, a.components_)


@pytest.mark.parametrize("name", NAMES)
def test_partial_fit_where_supported(name, problem):
    X, _ = problem
    est = make(name)
    if not hasattr(est, "partial_fit"):
        pytest.skip(f"{name} has no partial_fit (a batch learner)")
    batches = np.array_split(X, 6)
    est.partial_fit(batches[0])
    assert est.n_features_in_ == N_FEATURES and est.components_.shape == (N_ATOMS, N_FEATURES)
    first = omp_error(X, est.components_)
    before = est.components_.copy()
    est.partial_fit(batches[1])
    assert not np.array_equal(est.components_, before), "a second batch continues learning"
    for _ in range(5):
        for b in batches:
            est.partial_fit(b)
    assert omp_error(X, est.components_) < 0.8 * first
    np.testing.assert_allclose(np.linalg.norm(est.components_, axis=1), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match=f"X has 5 features, but .* is expecting {N_FEATURES} features"):
        est.partial_fit(X[:10, :5])
    # fit then partial_fit: continues from the fitted state
    est = make(name).fit(X)
    W = est.components_.copy()
    est.partial_fit(batches[0])
    assert est.components_.shape == W.shape and not np.array_equal(est.components_, W)


# -- scale invariance: the result for c·X is c times the result for X --------------------------
SCALES = {
    np.float64: [2.0**-900, 1e-300, 1e-100, 1e-12, 1e-3, 3.7, 1e12, 1e80, 1e300, 2.0**1000],
    np.float32: [2.0**-100, 1e-30, 1e-12, 1e-3, 3.7, 1e12, 1e30],
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("init", ["data", "random"])
@pytest.mark.parametrize("engine", ENGINES)
def test_scale_invariance(name, dtype, init, engine, problem):
    X, _ = problem
    X = X.astype(dtype)
    ref = make(name, engine, init=init).fit(X)
    codes = ref.transform(X)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for c in SCALES[dtype]:
        cX = X * dtype(c)
        est = make(name, engine, init=init).fit(cX)
        if np.log2(c) == int(np.log2(c)):  # a power of two: every operation is exact
            np.testing.assert_array_equal(est.components_, ref.components_, err_msg=f"c={c}")
        np.testing.assert_allclose(est.components_, ref.components_, atol=tol, rtol=0, err_msg=f"c={c}")
        np.testing.assert_allclose(est.history_["relative_residual"], ref.history_["relative_residual"], rtol=100 * tol,
                                   err_msg=f"c={c}")
        np.testing.assert_allclose(est.transform(cX) / dtype(c), codes, atol=tol * np.abs(codes).max(), rtol=0,
                                   err_msg=f"c={c}")
        if dtype == np.float64 and 1e-100 <= c <= 1e100:  # the objective is a squared norm: c²
            np.testing.assert_allclose(est.history_["objective"], c * c * ref.history_["objective"], rtol=1e-9,
                                       err_msg=f"c={c}")


# -- the objective ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_objective_decreases(name, problem):
    X, _ = problem
    xx = np.sum(X**2)
    cls = type(make(name))
    if cls.update_decreases_objective:
        # without replacements the dictionary update can only lower ½‖X − C W‖² for the codes
        # it was given: the error after the update is at most the coding error before it
        est = make(name, max_iter=8, dup_threshold=None, min_usage=0).fit(X)
        coding_err = np.sqrt(2 * est.history_["objective"] * N_SAMPLES / xx)
        assert np.all(est.history_["relative_residual"] <= coding_err * (1 + 1e-10)), (est.history_["relative_residual"], coding_err)
        assert est.history_["relative_residual"][-1] < 0.9 * est.history_["relative_residual"][0]
    else:
        # a stochastic learner: the batch objective falls from the first epoch to the last
        est = make(name, max_iter=8).fit(X)
        steps = len(est.history_["objective"]) // est.n_iter_
        obj = est.history_["objective"].reshape(est.n_iter_, steps).mean(axis=1)
        assert obj[-1] < 0.8 * obj[0], obj
    assert omp_error(X, est.components_) < 0.9 * omp_error(X, make(name, max_iter=1).fit(X).components_)


# -- scikit-learn as the reference ---------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("engine", ENGINES)
def test_transform_equals_sklearn_sparse_encode(name, engine, problem):
    X, _ = problem
    est = make(name, engine).fit(X)
    ref = sparse_encode(X, est.components_, algorithm="omp", n_nonzero_coefs=K)
    np.testing.assert_allclose(est.transform(X), ref, atol=1e-10)
    X32 = X.astype(np.float32)
    est32 = make(name, engine).fit(X32)
    ref32 = sparse_encode(X32.astype(np.float64), est32.components_.astype(np.float64), algorithm="omp",
                          n_nonzero_coefs=K)
    np.testing.assert_allclose(est32.transform(X32), ref32, atol=1e-4)


@pytest.fixture(scope="module")
def sklearn_dictionary(problem):
    X, D = problem
    sk = DictionaryLearning(n_components=N_ATOMS, alpha=0.1, max_iter=30, fit_algorithm="cd", random_state=0).fit(X)
    W = sk.components_ / np.linalg.norm(sk.components_, axis=1, keepdims=True)
    return W, omp_error(X, W), count_recovered_atoms(D, W)


@pytest.mark.parametrize("name", NAMES)
def test_refines_sklearn_dictionary_learning(name, problem, sklearn_dictionary):
    # started from scikit-learn's (l1-trained) dictionary, a learner of the l0 problem must not
    # make its OMP-k error worse, nor lose generating atoms it had found
    X, D = problem
    W_sk, err_sk, found_sk = sklearn_dictionary
    est = make(name, init=W_sk, max_iter=5, shuffle=False, batch_size=N_SAMPLES) if name == "online" else \
        make(name, init=W_sk, max_iter=5)
    est.fit(X)
    assert omp_error(X, est.components_) <= err_sk
    assert count_recovered_atoms(D, est.components_) >= found_sk


# -- parameters and inputs -------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_every_bad_hyperparameter_is_named_at_fit(name, problem):
    X, _ = problem
    bad = type("BadType", (), {})()
    for param in make(name).get_params(deep=False):
        est = make(name).set_params(**{param: bad})  # __init__ / set_params never raise
        with pytest.raises((TypeError, ValueError), match=param):
            est.fit(X)


@pytest.mark.parametrize("name", NAMES)
def test_clear_errors_for_bad_input(name, problem):
    X, _ = problem
    est = make(name)
    with pytest.raises(ValueError, match="Complex data not supported"):
        est.fit(X.astype(complex))
    with pytest.raises(ValueError, match="0 sample"):
        est.fit(np.zeros((0, N_FEATURES)))
    with pytest.raises(ValueError, match="0 feature"):
        est.fit(np.zeros((5, 0)))
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.fit(X[0])
    with pytest.raises(ValueError, match="could not convert"):
        est.fit(np.array([["a", "b"], ["c", "d"]], dtype=object))
    with pytest.raises(ValueError, match="infinity"):
        est.fit(np.where(X > 0.5, np.inf, X))
    # numbers stored as objects, sparse input: accepted, same result as the dense float array
    ref = make(name).fit(X)
    np.testing.assert_array_equal(make(name).fit(X.astype(object)).components_, ref.components_)
    np.testing.assert_array_equal(make(name).fit(sp.csr_matrix(X)).components_, ref.components_)
    np.testing.assert_array_equal(ref.transform(sp.csr_array(X)), ref.transform(X))
    with pytest.raises(ValueError, match="Complex data not supported"):
        ref.transform(X.astype(complex))
    with pytest.raises(ValueError, match=r"expected \(n_samples, 16\)"):
        ref.inverse_transform(np.zeros((3, 5)))


@pytest.mark.parametrize("name", NAMES)
def test_clone_params_and_coder_untouched(name, problem):
    X, _ = problem
    coder = cs.FISTA(lam=0.05, max_iter=50)
    est = make(name, coder=coder)
    assert est.get_params(deep=True)["coder__lam"] == 0.05
    before = dict(vars(coder))
    est.fit(X)
    est.transform(X)
    assert vars(coder).keys() == before.keys() and all(vars(coder)[k] is before[k] for k in before), \
        "fitting must not touch the coder object passed as a parameter"
    twin = clone(est)
    assert not hasattr(twin, "components_") and twin.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    twin.set_params(coder=cs.OMP(n_nonzero_coefs=1))
    assert np.all(np.count_nonzero(twin.fit(X).transform(X), axis=1) <= 1)
