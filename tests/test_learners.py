"""Tests for the dictionary learners (cstoolkit.learners), each against an independent reference:
the K-SVD paper's published synthetic result, scikit-learn's OMP, numpy least squares, and the
coder called directly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import orthogonal_mp

import cstoolkit as cs
from cstoolkit.learners.synthetic import count_recovered_atoms, ksvd_synthetic_trial, make_ksvd_synthetic

BATCH = ["ksvd", "aksvd", "mod"]
ALL = BATCH + ["online"]


def _params(name, **kw):
    if name == "online":
        kw.setdefault("batch_size", 64)
    return kw


@pytest.fixture(scope="module")
def synth():
    X, D, C = make_ksvd_synthetic(400, 20, 30, 3, snr_db=30, random_state=3)
    return X, D, C


# -- registry and API ----------------------------------------------------------------------
def test_registered():
    assert set(ALL) <= set(cs.available_learners())
    est = cs.make_learner("ksvd", n_atoms=5)
    assert isinstance(est, cs.KSVD) and est.approximate is False
    assert cs.make_learner("aksvd", n_atoms=5).approximate is True
    with pytest.raises(ValueError, match="Did you mean"):
        cs.make_learner("ksdv", n_atoms=5)


@pytest.mark.parametrize("name", ALL)
def test_fit_api(name, synth):
    X, _, _ = synth
    est = cs.make_learner(name, **_params(name, n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=3,
                                          random_state=0))
    assert est.fit(X) is est
    W = est.components_
    assert W.shape == (30, 20) and W.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, atol=1e-10)
    assert est.n_iter_ == 3
    for key in ("objective", "residual_norm", "relative_residual", "mean_nnz", "time"):
        assert est.history_[key].ndim == 1 and len(est.history_[key]) >= 3
    assert np.all(np.diff(est.history_["time"]) >= 0)
    codes = est.transform(X)
    assert codes.shape == (400, 30)
    assert np.all(np.count_nonzero(codes, axis=1) <= 3)
    np.testing.assert_allclose(est.inverse_transform(codes), codes @ W)
    sparse_codes = est.transform(X, sparse_output=True)
    assert isinstance(sparse_codes, sp.csr_array)
    np.testing.assert_array_equal(sparse_codes.toarray(), codes)
    np.testing.assert_array_equal(est.as_basis(), W.T)
    # seeded: a second fit reproduces the dictionary exactly
    est2 = est.clone().fit(X)
    np.testing.assert_array_equal(est2.components_, W)


@pytest.mark.parametrize("name", BATCH)
def test_learning_reduces_error(name, synth):
    X, _, _ = synth
    est = cs.make_learner(name, n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=15, random_state=0).fit(X)
    err = est.history_["relative_residual"]
    assert err[-1] < 0.75 * err[0]
    # the coding objective of iteration t+1 is at most the error left after update t (same
    # dictionary, OMP with the same budget can only pick a support at least as good or
    # nearly so); check the trend rather than every step
    coding_err = np.sqrt(2 * est.history_["objective"] * X.shape[0] / np.sum(X**2))
    assert coding_err[-1] < coding_err[0]


# -- the K-SVD paper's synthetic experiment (Aharon, Elad & Bruckstein 2006, Fig. 3) ---------
def test_make_ksvd_synthetic_snr():
    X, D, C = make_ksvd_synthetic(1500, 20, 50, 3, snr_db=20, random_state=0)
    clean = C @ D
    snr = 10 * np.log10(np.sum(clean**2) / np.sum((X - clean) ** 2))
    assert snr == pytest.approx(20.0, abs=1e-9)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0)
    assert np.all(np.count_nonzero(C, axis=1) == 3)


def test_count_recovered_atoms():
    rng = np.random.default_rng(0)
    T = rng.standard_normal((10, 8))
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    L = -T[[3, 1, 7]] * 2.0  # sign and scale do not matter
    assert count_recovered_atoms(T, L) == 3
    noisy = T + 0.3 * rng.standard_normal(T.shape)
    assert count_recovered_atoms(T, noisy) < 10


@pytest.mark.parametrize("name,floor", [("ksvd", 0.85), ("mod", 0.85)])
def test_ksvd_paper_synthetic_quick(name, floor):
    # two seeds of the paper's setting at 20 dB, 50 of its 80 iterations; the full version is slow
    found = [ksvd_synthetic_trial(name, snr_db=20, random_state=s, max_iter=50) for s in (0, 1)]
    assert np.mean(found) >= floor


@pytest.mark.slow
@pytest.mark.parametrize("name,floor", [("ksvd", 0.90), ("aksvd", 0.88), ("mod", 0.87)])
def test_ksvd_paper_synthetic_full(name, floor):
    # paper, Fig. 3 at 20 dB: K-SVD ~95%, MOD ~89% of 50 atoms (averaged over 50 trials)
    found = [ksvd_synthetic_trial(name, snr_db=20, random_state=s, max_iter=80) for s in range(10)]
    assert np.mean(found) >= floor


# -- each step against an independent reference ----------------------------------------------
def test_transform_matches_sklearn_omp(synth):
    X, _, _ = synth
    est = cs.KSVD(n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=3, random_state=0).fit(X)
    ref = orthogonal_mp(est.components_.T, X.T, n_nonzero_coefs=3).T
    np.testing.assert_allclose(est.transform(X), ref, atol=1e-10)


def test_mod_update_is_least_squares(synth):
    X, _, _ = synth
    rng = np.random.default_rng(1)
    D0 = rng.standard_normal((30, 20))
    D0 /= np.linalg.norm(D0, axis=1, keepdims=True)
    est = cs.MOD(n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=1, init=D0, dup_threshold=None).fit(X)
    C = orthogonal_mp(D0.T, X.T, n_nonzero_coefs=3).T
    W, *_ = np.linalg.lstsq(C, X, rcond=None)
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    np.testing.assert_allclose(np.abs(np.sum(est.components_ * W, axis=1)), 1.0, atol=1e-8)
    # recorded error after the update equals the explicit one
    Cn = C * np.linalg.norm(np.linalg.lstsq(C, X, rcond=None)[0], axis=1)
    expect = np.linalg.norm(X - Cn @ W) / np.linalg.norm(X)
    assert est.history_["relative_residual"][0] == pytest.approx(expect, rel=1e-8)


@pytest.mark.parametrize("approximate", [False, True])
def test_ksvd_atom_update_against_svd(approximate):
    # one atom, used by every sample: the exact update is the leading singular pair of X,
    # the approximate one is one power step from the initial coefficients
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 6)) + 3 * rng.standard_normal(6)
    d0 = np.ones((1, 6)) / np.sqrt(6)
    est = cs.KSVD(n_atoms=1, coder=cs.OMP(n_nonzero_coefs=1), max_iter=1, init=d0, approximate=approximate).fit(X)
    if approximate:
        g = X @ d0[0]
        w = X.T @ g
        w /= np.linalg.norm(w)
    else:
        w = np.linalg.svd(X)[2][0]
    assert abs(est.components_[0] @ w) == pytest.approx(1.0, abs=1e-10)
    expect = np.linalg.norm(X - np.outer(X @ w, w)) / np.linalg.norm(X)
    assert est.history_["relative_residual"][0] == pytest.approx(expect, rel=1e-8)


@pytest.mark.parametrize("name", BATCH)
def test_generic_coder_path(name, synth):
    # a non-OMP recoverer codes through the default Gram hook (recover on the equivalent problem):
    # coding through the learner = calling it directly
    X, _, _ = synth
    coder = cs.FISTA(lam=0.05, max_iter=200)
    est = cs.make_learner(name, n_atoms=30, coder=coder, max_iter=2, random_state=0).fit(X)
    direct = coder.recover(est.components_.T, X.T).coef.T
    np.testing.assert_allclose(est.transform(X), direct, rtol=1e-10, atol=1e-12)
    assert est.history_["mean_nnz"][-1] > 0


def test_float32_float64_agree(synth):
    X, _, _ = synth
    X32 = X.astype(np.float32)
    # random init: with data init the samples drawn as atoms have a zero residual after one atom
    # and their further (irrelevant) atoms are picked from rounding noise, differently per precision
    kw = dict(n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), random_state=0, init="random")
    e64 = cs.KSVD(max_iter=1, **kw).fit(X)
    e32 = cs.KSVD(max_iter=1, **kw).fit(X32)
    assert e32.components_.dtype == np.float32 and e32.transform(X32).dtype == np.float32
    np.testing.assert_allclose(e32.components_, e64.components_, atol=1e-4)
    h64 = cs.KSVD(max_iter=3, **kw).fit(X).history_["relative_residual"]
    h32 = cs.KSVD(max_iter=3, **kw).fit(X32).history_["relative_residual"]
    np.testing.assert_allclose(h32, h64, rtol=1e-3)
    # same dictionary, both precisions: codes agree (and agree with scikit-learn's OMP)
    e32.components_ = e64.components_.astype(np.float32)
    np.testing.assert_allclose(e32.transform(X32), e64.transform(X), atol=1e-4)


# -- callbacks: the solvers' protocol -------------------------------------------------------------
class _Recorder(cs.Callback):
    def __init__(self, stop_at=None):
        self.stop_at, self.begun, self.infos, self.ended = stop_at, None, [], None

    def on_run_begin(self, recoverer, A, y):
        self.begun = (recoverer, A, y)

    def on_step_end(self, info):
        self.infos.append(info)
        return self.stop_at is not None and info.iteration >= self.stop_at

    def on_run_end(self, result):
        self.ended = result


@pytest.mark.parametrize("name", ALL)
def test_callbacks_follow_the_solvers_protocol(name, synth):
    X, _, _ = synth
    rec = _Recorder(stop_at=3)
    est = cs.make_learner(name, **_params(name, n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=5,
                                           random_state=0, callback=rec))
    est.fit(X)
    assert rec.begun[0] is est and rec.begun[2] is not None and rec.ended is est
    assert [i.iteration for i in rec.infos] == [1, 2, 3]  # stopped by returning True
    h = est.history_
    assert all(len(v) == 3 for v in h.values())
    for t, info in enumerate(rec.infos):
        assert info.recoverer is est and info.coef is None
        # the history is the per-sample info averaged (the residual as a root mean square)
        assert np.mean(info.objective) == pytest.approx(h["objective"][t], rel=1e-12)
        if name == "online":
            assert np.sqrt(np.mean(info.residual_norm ** 2)) == pytest.approx(h["residual_norm"][t], rel=1e-9)
    # a function of the IterationInfo, as for the solvers; StopAfter from cstoolkit.callbacks
    seen = []
    est.set_params(callback=[lambda info: seen.append(info.iteration), cs.StopAfter(2)]).fit(X)
    assert seen == [1, 2] and len(est.history_["objective"]) == 2
    # the relative residual is the residual norm over the data's RMS norm
    if name != "online":
        rms = np.sqrt(np.mean(np.sum(X ** 2, axis=1)))
        np.testing.assert_allclose(est.history_["relative_residual"], est.history_["residual_norm"] / rms, rtol=1e-9)


# -- initialisation and replacement ------------------------------------------------------------
def test_init_options(synth):
    X, _, _ = synth
    D0 = np.random.default_rng(0).standard_normal((30, 20))
    for init in ("data", "random", D0):
        est = cs.MOD(n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=1, init=init, random_state=0).fit(X)
        assert np.all(np.isfinite(est.components_))
    # "data" starts from normalised training samples
    rec = []
    est = cs.MOD(n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=1, random_state=0,
                 callback=lambda e, it: rec.append(None))
    rng = np.random.default_rng(0)
    W0 = est._init_dictionary(X, rng).T
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    assert np.all(np.max(np.abs(W0 @ Xn.T), axis=1) > 1 - 1e-12)


def test_duplicate_and_unused_atoms_replaced(synth):
    X, _, _ = synth
    D0 = np.random.default_rng(0).standard_normal((30, 20))
    D0[1] = D0[0]  # a duplicate
    D0[2] = 0.0
    D0[2, 0] = 1e-3  # will be normalised; probably unused
    est = cs.KSVD(n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=1, init=D0, random_state=0)
    est.fit(X)
    W = est.components_
    G = np.abs(W @ W.T) - np.eye(30)
    assert G.max() <= 0.99
    # replacements are normalised training samples
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    assert np.max(np.abs(W[1] @ Xn.T)) == pytest.approx(1.0, abs=1e-12)


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_bad_input(name, synth):
    X, _, _ = synth
    # scikit-learn's rule: __init__ stores, fit validates (and names the parameter)
    est = cs.make_learner(name, n_atoms=0)
    with pytest.raises(ValueError, match="n_atoms"):
        est.fit(X)
    est = cs.make_learner(name, **_params(name, n_atoms=5, coder=cs.OMP(n_nonzero_coefs=8), max_iter=1))
    with pytest.raises(ValueError, match="n_nonzero_coefs=8 atoms per sample but the dictionary has only n_atoms=5"):
        est.fit(X)
    est = cs.make_learner(name, **_params(name, n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=1))
    with pytest.raises(NotFittedError, match="not fitted"):
        est.transform(X)
    with pytest.raises(NotFittedError, match="not fitted"):
        est.as_basis()
    Xnan = X.copy()
    Xnan[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(Xnan)
    est.fit(X)
    with pytest.raises(ValueError, match="X has 19 features, but .* is expecting 20 features"):
        est.transform(X[:, :19])
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.fit(X[0])
    with pytest.raises(ValueError, match="Complex data not supported"):
        est.fit(X + 1j)
    with pytest.raises(ValueError, match="0 sample"):
        est.fit(X[:0])
    with pytest.raises(ValueError, match="could not convert"):
        est.fit(np.array([["a", "b"], ["c", "d"]], dtype=object))
    with pytest.raises(TypeError, match="coder"):
        cs.make_learner(name, n_atoms=5, coder="omp").fit(X)
    with pytest.raises(ValueError, match="init has 4 atoms"):
        cs.make_learner(name, n_atoms=5, init=np.ones((4, 20))).fit(X)


# -- a learned dictionary as the sparsity basis of recovery ------------------------------------
def test_learned_dictionary_as_basis(synth):
    X, _, _ = synth
    est = cs.KSVD(n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=5, random_state=0).fit(X)
    rng = np.random.default_rng(5)
    s = np.zeros(30)
    s[[2, 11, 25]] = [1.0, -0.7, 0.4]
    x = est.components_.T @ s  # exactly 3-sparse in the learned dictionary
    A = rng.standard_normal((15, 20)) / np.sqrt(15)
    res = cs.OMP(n_nonzero_coefs=3).recover(A, A @ x, basis=est.as_basis())
    np.testing.assert_allclose(res.x, x, atol=1e-10)
    np.testing.assert_allclose(res.coef, s, atol=1e-10)


@pytest.mark.real
def test_embedding_vector_through_learned_dictionary():
    try:
        E = np.asarray(cs.load_embeddings("minilm").data)
    except ImportError:
        pytest.skip("the all-MiniLM-L6-v2 package is not installed")
    rng = np.random.default_rng(0)
    train = E[rng.choice(E.shape[0], 3000, replace=False)]
    est = cs.make_learner("aksvd", n_atoms=256, coder=cs.OMP(n_nonzero_coefs=16), max_iter=4,
                          random_state=0).fit(train)
    x = E[123]
    A = rng.standard_normal((192, 384)).astype(np.float32) / np.sqrt(192)
    # measure an embedding vector, recover it through the learned dictionary: one call
    res = cs.OMP(n_nonzero_coefs=16).recover(A, A @ x, basis=est.as_basis())
    direct = est.inverse_transform(est.transform(x[None]))[0]  # best 16-term code without measuring
    err = np.linalg.norm(res.x - x) / np.linalg.norm(x)
    err_direct = np.linalg.norm(direct - x) / np.linalg.norm(x)
    assert err < 1.0 and err < 2.5 * err_direct


# -- online learning -----------------------------------------------------------------------------
def test_online_partial_fit_equals_fit(synth):
    X, _, _ = synth
    D0 = np.random.default_rng(4).standard_normal((30, 20))
    kw = dict(n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), batch_size=50, shuffle=False, init=D0, random_state=0)
    full = cs.OnlineDictionaryLearning(**kw).fit(X)
    inc = cs.OnlineDictionaryLearning(**kw)
    for s in range(0, X.shape[0], 50):
        inc.partial_fit(X[s: s + 50])
    np.testing.assert_allclose(inc.components_, full.components_, atol=1e-12)
    assert inc.n_steps_ == full.n_steps_ == 8 and len(full.history_["objective"]) == 8
    with pytest.raises(ValueError, match="features"):
        inc.partial_fit(X[:10, :5])


def test_online_block_coordinate_step_against_closed_form():
    # with a single atom the surrogate ½ A w·w − b·w on the unit sphere is minimised by b/‖b‖;
    # one sweep gives w + (b − A w)/A = b/A, normalised: the same direction
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5)) + 2.0
    d0 = np.ones((1, 5)) / np.sqrt(5)
    est = cs.OnlineDictionaryLearning(n_atoms=1, coder=cs.OMP(n_nonzero_coefs=1), batch_size=40, init=d0,
                                      shuffle=False).fit(X)
    c = X @ d0[0]
    b = c @ X
    np.testing.assert_allclose(est.components_[0], b / np.linalg.norm(b), atol=1e-12)


def test_online_learns_synthetic_atoms():
    X, D, _ = make_ksvd_synthetic(1500, 20, 50, 3, snr_db=30, random_state=0)
    est = cs.OnlineDictionaryLearning(n_atoms=50, coder=cs.OMP(n_nonzero_coefs=3), batch_size=100, max_iter=20,
                                      random_state=1).fit(X)
    assert count_recovered_atoms(D, est.components_) >= 35


@pytest.mark.real
@pytest.mark.slow
def test_l1_coded_online_pass_learns_a_better_dictionary_than_omp_coding():
    """The claim in OnlineDictionaryLearning's docstring: all MiniLM rows, 1024 atoms, one pass
    each (≈ 45 s). With 256–512 atoms or a few thousand rows the two codings are level (within
    0.01), so a smaller version of this test would not test the claim."""
    try:
        X = np.asarray(cs.load_embeddings("minilm").data)
    except ImportError:
        pytest.skip("the all-MiniLM-L6-v2 package is not installed")

    def omp16_error(W):
        D = np.ascontiguousarray(W.T)
        C = cs.OMP(n_nonzero_coefs=16).recover(D, X.T).x
        return np.linalg.norm(X - (D @ C).T) / np.linalg.norm(X)

    errs = {}
    for name, coder in (("l1", cs.Homotopy(lam=0.135)), ("omp", cs.OMP(n_nonzero_coefs=16))):
        W = cs.OnlineDictionaryLearning(n_atoms=1024, coder=coder, batch_size=256, random_state=0).fit(X).components_
        errs[name] = omp16_error(W)
    assert errs["l1"] < errs["omp"] - 0.005, errs


# -- issue 10, "What was seen": aksvd on X*1e80 or X*1e-100 made every atom "fail" ------------
@pytest.mark.parametrize("c", [1e80, 1e-100])
def test_aksvd_on_rescaled_data_learns_as_unscaled(c, synth):
    # the power-iteration update normalised E_Iᵀg, whose squared norm scales as c⁴: it overflowed
    # (1e80) or underflowed (1e-100) to a zero/infinite norm, so every atom was declared failed
    # and replaced, leaving an error of 0.38-0.54 where the unscaled data reach 0.34
    X, _, _ = synth
    kw = dict(n_atoms=30, coder=cs.OMP(n_nonzero_coefs=3), max_iter=5, random_state=0, init="random")
    ref = cs.make_learner("aksvd", **kw).fit(X)
    est = cs.make_learner("aksvd", **kw).fit(X * c)
    assert est.history_["relative_residual"][-1] == pytest.approx(ref.history_["relative_residual"][-1], rel=1e-6)
    np.testing.assert_allclose(est.components_, ref.components_, atol=1e-8)


def test_sparse_codes_to_csr_leaves_the_codes_intact():
    # rows with fewer non-zeros than the padded width (padding: index 0, value 0); to_csr once
    # compacted the shared arrays in place, corrupting every later reconstruct / gram_stats
    from cstoolkit.learners.codes import SparseCodes

    S = np.zeros((5, 4))
    S[1, 0], S[3, 0], S[2, 1], S[4, 2], S[0, 3], S[2, 3] = 1, 2, 3, 1, 5, -1
    W = np.random.default_rng(0).standard_normal((5, 3))
    codes = SparseCodes.from_dense(S)
    np.testing.assert_array_equal(codes.to_csr().toarray(), S.T)
    np.testing.assert_allclose(codes.reconstruct(W), S.T @ W, atol=1e-15)
    CtC, CtX = codes.gram_stats(S.T @ W)
    np.testing.assert_allclose(CtC, S @ S.T, atol=1e-12)
    np.testing.assert_allclose(CtX, S @ S.T @ W, atol=1e-12)


def test_learners_load_on_first_lookup_not_at_import():
    # the learners derive from scikit-learn's estimators; `import cstoolkit` must stay light
    # (tests/test_core.py), so the registry imports them the first time it is consulted
    import subprocess
    import sys

    code = ("import sys, cstoolkit as cs; before = 'sklearn' in sys.modules; K = cs.KSVD; "
            "print(before, 'sklearn' in sys.modules, K.__module__, cs.make_learner('online').name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "cstoolkit.learners.ksvd", "online"], out
