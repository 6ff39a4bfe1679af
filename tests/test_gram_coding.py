"""The Gram-form coding hook ``Recoverer.recover_gram``: agreement with ``recover(D, X)`` for registered
coders (the default equivalent problem and the native overrides), with scikit-learn's
``orthogonal_mp_gram`` for OMP, and clear errors on bad input."""

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit.gram_coding import gram_factor

#: per precision: coefficients agree to this fraction of max|x|, objectives and residuals relatively
TOL = {np.float64: 1e-6, np.float32: 2e-3}

#: registered coders, each with parameters that make ``recover`` converge on the instances below
CODERS = {
    "omp": dict(n_nonzero_coefs=4),
    "mp": dict(max_iter=2000, tol=1e-9),
    "cosamp": dict(n_nonzero_coefs=4),
    "lasso": dict(lam=0.01, tol=1e-12),
    "homotopy": dict(lam=0.01),
    "fista": dict(lam=0.01, tol=1e-12, max_iter=50000),
    "admm-lasso": dict(lam=0.01, tol=1e-12),
    "group-lasso": dict(lam=0.01, group_size=2, tol=1e-12),
    "bp-homotopy": dict(),
    "bpdn": dict(epsilon=0.05),
}
#: coders solved by an external interior-point method (cvxpy), accurate to about 1e-6 relative
EXTERNAL_TOL = {"bpdn": 1e-4}


def _instance(dtype, m=30, n=60, k=4, B=5, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((m, n))
    D /= np.linalg.norm(D, axis=0)
    S = np.zeros((n, B))
    for b in range(B):
        S[rng.choice(n, k, replace=False), b] = rng.standard_normal(k) + np.sign(rng.standard_normal(k))
    X = D @ S + noise * rng.standard_normal((m, B))
    return D.astype(dtype), X.astype(dtype)


def _gram_form(D, X):
    return D.T @ D, D.T @ X, np.einsum("ij,ij->j", X, X, dtype=np.float64)


def _agree(got, ref, dtype, tol=None):
    tol = TOL[dtype] if tol is None else max(tol, TOL[dtype])
    scale = max(float(np.max(np.abs(ref.coef))), 1.0)
    assert got.coef.dtype == ref.coef.dtype and got.coef.shape == ref.coef.shape
    np.testing.assert_allclose(got.coef, ref.coef, atol=tol * scale)
    rn = np.asarray(ref.history["residual_norm"][-1])
    obj = np.asarray(ref.history["objective"][-1])
    np.testing.assert_allclose(got.residual_norm, rn, rtol=tol, atol=tol * float(np.max(rn, initial=0)) + tol)
    np.testing.assert_allclose(got.objective, obj, rtol=tol, atol=tol * float(np.max(obj, initial=0)) + tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(CODERS))
def test_hook_agrees_with_recover(name, dtype):
    coder = cs.make_recoverer(name, **CODERS[name])
    D, X = _instance(dtype)
    ref = coder.recover(D, X)
    G, C, nn = _gram_form(D, X)
    _agree(coder.recover_gram(G, C, norms_squared=nn), ref, dtype, EXTERNAL_TOL.get(name))
    _agree(coder.recover_gram(G, C, norms_squared=nn, factor=D), ref, dtype, EXTERNAL_TOL.get(name))


@pytest.mark.parametrize("name", cs.available_recoverers())
def test_every_registered_recoverer_codes_the_same_from_the_gram_matrix(name):
    # each solver with the parameters its class declares for a noiseless k-sparse instance: the
    # hook (its override, or the default through the equivalent problem) gives recover's answer
    cls = cs.get_recoverer_class(name)
    coder = cls(**cls._conformance_params(4))
    D, X = _instance(np.float64, B=3)
    G, C, nn = _gram_form(D, X)
    ref = coder.recover(D, X)
    for factor in (None, D):
        got = coder.recover_gram(G, C, norms_squared=nn, factor=factor)
        np.testing.assert_allclose(got.coef, ref.coef, atol=1e-6 * float(np.max(np.abs(ref.coef))))


@pytest.mark.parametrize("name", ["omp", "lasso", "homotopy", "fista"])
def test_single_signal_and_no_norms_for_full_row_rank(name):
    # D of full row rank: every x lies in its range, so norms_squared is not needed
    coder = cs.make_recoverer(name, **CODERS[name])
    D, X = _instance(np.float64)
    G, C, nn = _gram_form(D, X)
    ref = coder.recover(D, X[:, 1])
    one = coder.recover_gram(G, C[:, 1], norms_squared=nn[1])
    assert one.coef.shape == (D.shape[1],) and isinstance(one.residual_norm, float)
    _agree(one, ref, np.float64)
    _agree(coder.recover_gram(G, C), coder.recover(D, X), np.float64)


@pytest.mark.parametrize("name,params", [("lasso", dict(lam=0.05)), ("omp", dict(tol=0.3)), ("fista", dict(lam=0.05, tol=1e-12, max_iter=50000)),
                                         ("bpdn", dict(epsilon=0.4)), ("mp", dict(max_iter=500, tol=0.2))])
def test_residual_rules_with_x_outside_the_range(name, params):
    # tall D (m > n): x has a part outside range(D); with norms_squared every residual norm, the
    # ``tol``/ε stopping rules and the objective are those of the original problem
    coder = cs.make_recoverer(name, **params)
    D, X = _instance(np.float64, m=50, n=20, k=3, noise=0.1, seed=3)
    ref = coder.recover(D, X)
    G, C, nn = _gram_form(D, X)
    tol = EXTERNAL_TOL.get(name)
    _agree(coder.recover_gram(G, C, norms_squared=nn), ref, np.float64, tol)
    # default equivalent problem too (OMP, Lasso and homotopy override it)
    from cstoolkit.gram_coding import recover_gram_default

    _agree(recover_gram_default(coder, G, C, nn), ref, np.float64, tol)
    # and with the dictionary as the factor of G (no eigendecomposition)
    _agree(recover_gram_default(coder, G, C, nn, factor=D), ref, np.float64, tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("params", [dict(n_nonzero_coefs=5), dict(tol=0.5), dict(tol=0.2)])  # (scikit-learn: tol overrides k)
def test_omp_hook_matches_scikit_learn(params, dtype):
    from sklearn.linear_model import orthogonal_mp_gram

    D, X = _instance(dtype, m=40, n=120, B=12, noise=0.05, seed=5)
    G, C, nn = _gram_form(D, X)
    got = cs.OMP(**params).recover_gram(G, C, norms_squared=nn)
    sk_tol = None if params.get("tol") is None else params["tol"] ** 2  # scikit-learn's tol is ‖r‖²
    ref = orthogonal_mp_gram(G.astype(np.float64), C.astype(np.float64), n_nonzero_coefs=params.get("n_nonzero_coefs"),
                             tol=sk_tol, norms_squared=nn)
    np.testing.assert_allclose(got.coef, ref, atol=TOL[dtype] * np.max(np.abs(ref)))
    np.testing.assert_array_equal(got.coef != 0, ref != 0)
    r = np.linalg.norm(X.astype(np.float64) - D.astype(np.float64) @ got.coef.astype(np.float64), axis=0)
    np.testing.assert_allclose(got.residual_norm, r, rtol=10 * TOL[dtype])


def test_omp_hook_leaves_correlations_untouched():
    D, X = _instance(np.float64)
    G, C, nn = _gram_form(D, X)
    C0 = C.copy()
    cs.OMP(n_nonzero_coefs=4).recover_gram(G, C, norms_squared=nn)
    np.testing.assert_array_equal(C, C0)


def test_gram_factor_reproduces_the_gram_matrix():
    D, _ = _instance(np.float64, m=20, n=50)
    G = D.T @ D
    R, W = gram_factor(G)
    assert R.shape == (20, 50)  # rank cut: rank(G) = m
    np.testing.assert_allclose(R.T @ R, G, atol=1e-12)
    np.testing.assert_allclose(W.T @ R, np.linalg.pinv(G) @ G, atol=1e-9)  # W = R⁻ᴴ on range(G)


def test_bad_input_is_rejected_clearly():
    coder = cs.OMP(n_nonzero_coefs=2)
    D, X = _instance(np.float64)
    G, C, nn = _gram_form(D, X)
    with pytest.raises(ValueError, match="square"):
        coder.recover_gram(G[:, :-1], C, norms_squared=nn)
    with pytest.raises(ValueError, match="correlations have shape"):
        coder.recover_gram(G, C[:-1], norms_squared=nn)
    with pytest.raises(ValueError, match="factor has shape"):
        cs.FISTA().recover_gram(G, C, norms_squared=nn, factor=D[:, :-1])
    with pytest.raises(ValueError, match="norms_squared has shape"):
        coder.recover_gram(G, C, norms_squared=nn[:-1])
    with pytest.raises(ValueError, match="non-negative"):
        coder.recover_gram(G, C, norms_squared=-nn)
    bad = C.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cs.Lasso().recover_gram(G, bad, norms_squared=nn)
