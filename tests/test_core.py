"""Unit tests of the core pieces: operators, ensembles, signals, metrics, conventions, callbacks, registry."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft as sfft
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

import cstoolkit as cs
from cstoolkit import conventions, ensembles, metrics, operators, signals


# --- operators ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "op",
    [
        operators.as_operator(np.random.default_rng(0).standard_normal((7, 11))),
        operators.as_operator(sp.random(9, 13, density=0.3, random_state=1, format="csc")),
        operators.DCTBasis(16),
        operators.DCTBasis(16).H,
        operators.PartialDCT(32, np.array([0, 3, 5, 9, 31])),
        operators.PartialFourier(32, np.array([1, 2, 8, 17])),
        operators.as_operator(np.random.default_rng(2).standard_normal((5, 6)) + 1j * np.random.default_rng(3).standard_normal((5, 6))),
    ],
    ids=["dense", "sparse", "dct", "dct-adjoint", "partial-dct", "partial-fourier", "complex"],
)
def test_dottest_every_operator(op):
    assert operators.dottest(op, rtol=1e-10)
    # matmat/rmatmat on a block agree with column-wise application
    X = np.random.default_rng(4).standard_normal((op.shape[1], 3))
    np.testing.assert_allclose(op.matmat(X), np.column_stack([op.matvec(X[:, i]) for i in range(3)]), atol=1e-12)


def test_dottest_catches_a_wrong_adjoint():
    M = np.random.default_rng(0).standard_normal((4, 6))
    bad = LinearOperator((4, 6), matvec=lambda x: M @ x, rmatvec=lambda y: 2 * M.T @ y, dtype=float)
    assert not operators.dottest(bad, raise_error=False)
    with pytest.raises(AssertionError):
        operators.dottest(bad)


def test_transforms_match_scipy_matrices():
    n = 24
    dct_mat = sfft.dct(np.eye(n), norm="ortho", axis=0)  # analysis matrix C, C @ x = dct(x)
    np.testing.assert_allclose(operators.to_dense(operators.DCTBasis(n)), dct_mat.T, atol=1e-12)
    rows = np.array([2, 5, 7])
    np.testing.assert_allclose(operators.to_dense(operators.PartialDCT(n, rows)), dct_mat[rows], atol=1e-12)
    F = sfft.fft(np.eye(n), norm="ortho", axis=0)
    np.testing.assert_allclose(operators.to_dense(operators.PartialFourier(n, rows)), F[rows], atol=1e-12)


def test_compose_explicit_and_operator():
    rng = np.random.default_rng(1)
    A, P = rng.standard_normal((5, 8)), rng.standard_normal((8, 8))
    c = operators.compose(operators.as_operator(A), operators.as_operator(P))
    assert operators.explicit_matrix(c) is not None
    np.testing.assert_allclose(operators.to_dense(c), A @ P)
    c2 = operators.compose(operators.as_operator(A), operators.DCTBasis(8))
    np.testing.assert_allclose(operators.to_dense(c2), A @ operators.to_dense(operators.DCTBasis(8)), atol=1e-12)
    with pytest.raises(ValueError, match="compose"):
        operators.compose(operators.as_operator(A), operators.as_operator(P[:5]))


def test_operator_norm_matches_svd():
    A = np.random.default_rng(5).standard_normal((30, 50))
    s = np.linalg.svd(A, compute_uv=False)[0]
    assert operators.operator_norm(operators.as_operator(A)) == pytest.approx(s)
    est = operators.operator_norm(aslinearoperator(A), n_iter=500, tol=1e-10)
    assert s <= est <= 1.02 * s  # power iteration with a safety margin never under-estimates much


def test_as_operator_errors():
    with pytest.raises(TypeError):
        operators.as_operator("A")
    with pytest.raises(ValueError, match="2-D"):
        operators.as_operator(np.zeros(3))
    with pytest.raises(ValueError, match="at least one"):
        operators.as_operator(np.zeros((0, 3)))
    with pytest.raises(TypeError):
        operators.as_operator(np.array([["a"]]))
    with pytest.raises(ValueError, match="NaN"):
        operators.as_operator(sp.csr_matrix(np.array([[np.nan, 1.0]])))
    assert operators.as_operator(np.ones((2, 2), dtype=int)).dtype == np.float64
    with pytest.raises(ValueError, match="repeat"):
        operators.PartialDCT(8, np.array([1, 1]))


# --- ensembles and signals -------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["gaussian", "rademacher", "spherical", "sparse"])
def test_ensembles_unit_columns_on_average(kind):
    A = ensembles.measurement_matrix(kind, 200, 400, random_state=0)
    norms = np.sqrt(np.asarray(A.multiply(A).sum(axis=0)).ravel()) if sp.issparse(A) else np.linalg.norm(A, axis=0)
    assert norms.mean() == pytest.approx(1.0, abs=0.03)
    if kind in ("rademacher", "spherical"):
        np.testing.assert_allclose(norms, 1.0)
    B = ensembles.measurement_matrix(kind, 200, 400, random_state=0)
    np.testing.assert_array_equal(A.toarray() if sp.issparse(A) else A, B.toarray() if sp.issparse(B) else B)


def test_partial_transforms_have_orthonormal_rows():
    for op in (ensembles.partial_dct(20, 64, random_state=0), ensembles.partial_fourier(20, 64, random_state=0)):
        M = operators.to_dense(op)
        np.testing.assert_allclose(M @ M.conj().T, np.eye(20), atol=1e-12)


def test_ensemble_errors():
    with pytest.raises(ValueError, match="unknown ensemble"):
        ensembles.measurement_matrix("cauchy", 3, 4)
    with pytest.raises(ValueError):
        ensembles.gaussian(0, 4)
    with pytest.raises(ValueError, match="m <= n"):
        ensembles.partial_dct(10, 5)


@pytest.mark.parametrize("amplitude", ["gaussian", "sign", "uniform", "ones"])
def test_sparse_signals(amplitude):
    x, supp = signals.sparse_signals(50, 7, 20, amplitude=amplitude, random_state=0, return_support=True)
    assert x.shape == (50, 20)
    np.testing.assert_array_equal(supp.sum(axis=0), 7)
    np.testing.assert_array_equal(x != 0, supp)
    if amplitude == "sign":
        assert set(np.unique(x[supp])) <= {-1.0, 1.0}
    if amplitude == "ones":
        assert np.all(x[supp] == 1)
    # supports are uniform: every index is used about equally often over many draws
    big = signals.sparse_signals(20, 5, 4000, amplitude="ones", random_state=1)
    freq = (big != 0).mean(axis=1)
    np.testing.assert_allclose(freq, 5 / 20, atol=0.03)
    assert signals.sparse_signals(10, 3, random_state=0).shape == (10,)
    with pytest.raises(ValueError):
        signals.sparse_signals(10, 11)


def test_compressible_signals_power_law():
    x = signals.compressible_signals(100, 3, decay=1.5, random_state=0)
    mags = np.sort(np.abs(x), axis=0)[::-1]
    np.testing.assert_allclose(mags[:, 0], np.arange(1, 101) ** -1.5)


# --- metrics and conventions ------------------------------------------------------------------

def test_metrics():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    xh = np.array([[1.0, 0.01], [0.001, 0.3], [0.0, 0.5]])
    np.testing.assert_allclose(metrics.relative_error(x, xh), [0.001, np.sqrt(0.01**2 + 1.7**2 + 0.5**2) / 2])
    np.testing.assert_array_equal(metrics.success(x, xh), [True, False])
    np.testing.assert_array_equal(metrics.support_recovered(x, xh), [True, False])
    assert metrics.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="shape"):
        metrics.relative_error(np.zeros(3), np.zeros(4))


def test_sklearn_scaling_conversions_are_exact():
    from sklearn.linear_model import Lasso as SkLasso

    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 60))
    y = rng.standard_normal(40)
    lam = 3.0
    alpha = conventions.sklearn_alpha_from_lam(lam, 40)
    assert conventions.lam_from_sklearn_alpha(alpha, 40) == pytest.approx(lam)
    w = SkLasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100000).fit(A, y).coef_
    ours = 0.5 * np.sum((A @ w - y) ** 2) + lam * np.abs(w).sum()
    theirs = np.sum((y - A @ w) ** 2) / (2 * 40) + alpha * np.abs(w).sum()
    assert conventions.objective_from_sklearn(theirs, 40) == pytest.approx(ours)
    assert conventions.sklearn_objective_from_ours(ours, 40) == pytest.approx(theirs)
    # λ_max: at λ ≥ ‖Aᵀy‖∞ the Lasso solution is exactly zero (sklearn agrees)
    lmax = conventions.lam_max(A, y)
    w0 = SkLasso(alpha=conventions.sklearn_alpha_from_lam(lmax * 1.0001, 40), fit_intercept=False).fit(A, y).coef_
    assert np.all(w0 == 0)
    with pytest.raises(ValueError):
        conventions.lam_from_sklearn_alpha(-1, 40)
    with pytest.raises(ValueError):
        conventions.sklearn_alpha_from_lam(1.0, 0)


# --- callbacks, registry, parameters ---------------------------------------------------------

def test_metrics_callback_and_stop_after():
    A = ensembles.gaussian(40, 80, random_state=0)
    x = signals.sparse_signals(80, 4, random_state=1)
    mc = cs.MetricsCallback(x)
    res = cs.FISTA(lam=1e-3, max_iter=300, tol=0).recover(A, A @ x, callbacks=[mc, cs.StopAfter(25)])
    assert res.n_iter == 25 and res.stop_reason == "callback"
    assert mc.relative_error.shape == (25,)
    assert mc.relative_error[-1] < mc.relative_error[0]
    np.testing.assert_allclose(mc.relative_error[-1], metrics.relative_error(x, res.x))
    stop = cs.StopWhenError(x, 1e-2)
    res2 = cs.FISTA(lam=1e-4, max_iter=5000, tol=0).recover(A, A @ x, callbacks=stop)
    assert res2.stop_reason == "callback" and metrics.relative_error(x, res2.x) <= 1e-2
    with pytest.raises(TypeError):
        cs.FISTA().recover(A, A @ x, callbacks=[42])


def test_registry_errors_and_suggestions():
    with pytest.raises(ValueError, match="Did you mean 'omp'"):
        cs.make_recoverer("opm")
    with pytest.raises(ValueError, match="already registered"):
        cs.register("omp")(type("Other", (cs.Recoverer,), {}))
    assert "omp" in cs.available_recoverers()


def test_params_validated_typed_and_repr():
    with pytest.raises(ValueError, match="lam=-1"):
        cs.Lasso(lam=-1)
    with pytest.raises(TypeError):
        cs.Lasso(lam="big")
    with pytest.raises(ValueError, match="lam_scale"):
        cs.Lasso(lam_scale="weird")
    with pytest.raises(TypeError):
        cs.OMP(10)  # keyword-only
    r = cs.OMP(n_nonzero_coefs=5)
    assert repr(r) == "OMP(n_nonzero_coefs=5)"
    assert r.set_params(tol=0.1) is r and r.tol == 0.1
    with pytest.raises(ValueError):
        r.set_params(n_nonzero_coefs=-2)


def test_result_plot_history_and_repr(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    A = ensembles.gaussian(30, 60, random_state=0)
    x = signals.sparse_signals(60, 3, random_state=1)
    res = cs.ISTA(lam=1e-3, max_iter=50).recover(A, A @ x)
    ax = res.plot_history()
    assert ax.get_yscale() == "log" and len(ax.lines) == 1
    with pytest.raises(KeyError):
        res.plot_history("nope")
    assert "n_iter=" in repr(res) and "converged=" in repr(res)
    with pytest.raises(Exception):
        res.n_iter = 3  # frozen


def test_import_has_no_side_effects():
    import subprocess
    import sys

    code = "import logging, cstoolkit, sys; print(len(logging.getLogger().handlers), 'cvxpy' in sys.modules, 'sklearn' in sys.modules, 'matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "False", "False", "False"], out


def test_divergence_is_flagged_not_returned_silently(caplog):
    """A step far too long for A makes IHT blow up: NaN, flagged, warned — never overflowed numbers."""
    A = cs.ensembles.gaussian(40, 100, random_state=0)
    x = cs.signals.sparse_signals(100, 5, 3, random_state=1)
    with caplog.at_level("WARNING", logger="cstoolkit.base"):
        res = cs.IHT(n_nonzero_coefs=5, step_size=50.0, max_iter=500).recover(A, A @ x)
    assert res.stop_reason == "diverged" and not res.converged
    assert res.n_iter.max() < 500 and np.all(np.isnan(res.x))  # every signal diverged: stopped early
    assert "3 of 3 signals diverged" in caplog.text
    # the convergent step on the same problem is not flagged
    ok = cs.IHT(n_nonzero_coefs=5, max_iter=500).recover(A, A @ x)
    assert ok.stop_reason != "diverged" and np.all(np.isfinite(ok.x))


def test_one_diverging_signal_does_not_stop_the_others():
    """Signals are independent: a column that blows up is NaN, the others reach their answer."""
    A = cs.ensembles.gaussian(40, 100, random_state=0)
    X = cs.signals.sparse_signals(100, 5, 4, random_state=1)
    Y = A @ X
    Y[:, 2] *= 1e-6  # tiny column: the threshold ‖y‖-limit is set by the others ...
    step = 0.9 / np.linalg.norm(A, 2) ** 2
    ref = cs.IHT(n_nonzero_coefs=5, step_size=step, max_iter=3000, tol=1e-12).recover(A, Y)

    class BlowUp(cs.solvers.greedy.thresholding.IHT):  # ... and this solver makes column 2 explode
        def _step(self, st, it):
            out = super()._step(st, it)
            st.X[:, 2] *= 10.0  # the typed state of the thresholding family (ThresholdingState)
            st.R[:, 2] = st.Y[:, 2] - st.A.matmat(st.X[:, 2:3])[:, 0]
            return out

    res = BlowUp(n_nonzero_coefs=5, step_size=step, max_iter=3000, tol=1e-12).recover(A, Y)
    assert res.stop_reason == "diverged" and np.all(np.isnan(res.x[:, 2]))
    keep = [0, 1, 3]
    np.testing.assert_allclose(res.x[:, keep], ref.x[:, keep], atol=1e-10)
