"""Total-variation recoverer against cvxpy (same TV definition), both of its methods, and the 2-D
Fourier operators.

Exact recovery of the Shepp–Logan phantom from radial lines is asserted here at 64×64 and by the
Candès–Romberg–Tao reproduction (tests/test_reproductions.py).
"""

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit.imaging import FourierSampling2D, radial_mask, random_mask, shepp_logan
from cstoolkit.operators import dottest
from cstoolkit.solvers.tv import TVMinimization, gradient, gradient_adjoint, total_variation


def _cvxpy_tv(A, y, shape):
    cp = pytest.importorskip("cvxpy")
    r, c = shape
    X = cp.Variable((r, c))
    dx = cp.hstack([X[:, 1:] - X[:, :-1], np.zeros((r, 1))])  # Neumann: last difference zero
    dy = cp.vstack([X[1:, :] - X[:-1, :], np.zeros((1, c))])
    tv = cp.sum(cp.norm(cp.vstack([cp.vec(dy, order="C"), cp.vec(dx, order="C")]), 2, axis=0))
    cp.Problem(cp.Minimize(tv), [A @ cp.vec(X, order="C") == y]).solve(solver="CLARABEL")
    return X.value.ravel()


def test_gradient_adjoint_and_tv_closed_form():
    rng = np.random.default_rng(0)
    for shape in [(9,), (5, 7)]:
        n = int(np.prod(shape))
        X, P = rng.standard_normal((n, 2)), rng.standard_normal((len(shape), n, 2))
        assert np.isclose(np.sum(gradient(X, shape) * P), np.sum(X * gradient_adjoint(P, shape)))
    # a unit step in 1-D has TV 1; a centred k×k square of ones in 2-D has TV ≈ perimeter
    assert total_variation(np.r_[np.zeros(4), np.ones(5)][:, None], (9,))[0] == pytest.approx(1.0)
    img = np.zeros((8, 8))
    img[2:6, 2:6] = 1
    assert 14 <= total_variation(img.reshape(-1, 1), (8, 8))[0] <= 16


def test_tv_matches_cvxpy_on_a_small_image():
    """Noisy data consistency is not used: both solve min TV(x) s.t. Ax = y exactly, with an
    under-sampled operator (the solution is not the true image), so the optimum itself is compared."""
    rng = np.random.default_rng(1)
    shape = (10, 12)
    img = np.zeros(shape)
    img[2:7, 3:9] = 1.0
    img[5:9, 1:5] += 0.5
    img += 0.3 * rng.standard_normal(shape)  # not piecewise constant: TV alone does not identify it
    op = FourierSampling2D(random_mask(shape, 0.4, random_state=2))
    A = op @ np.eye(op.shape[1])
    y = A @ img.ravel()
    ref = _cvxpy_tv(A, y, shape)
    # ADMM in the Fourier domain (the partial DFT, method "auto"), and Chambolle–Pock with the
    # orthonormal-row projection and with the QR projection (an explicit matrix)
    for operator, method in ((op, "auto"), (op, "primal-dual"), (A, "auto")):
        res = cs.make_recoverer("tv", shape=shape, method=method, max_iter=50000, tol=1e-10).recover(operator, y)
        f = lambda x: total_variation(np.asarray(x).reshape(-1, 1), shape)[0]  # noqa: E731
        assert res.converged
        assert f(res.x) <= f(ref) * (1 + 1e-6)
        assert np.linalg.norm(A @ res.x - y) <= 1e-8 * np.linalg.norm(y)
        assert np.linalg.norm(res.x - ref) <= 1e-4 * np.linalg.norm(ref)


def test_auto_chooses_fourier_admm_for_a_partial_dft_only():
    op = FourierSampling2D(random_mask((6, 8), 0.5, random_state=0))
    tv = TVMinimization(shape=(6, 8))
    assert tv._choose(op, (6, 8)).name == "admm-fourier"
    assert tv._choose(0.25 * op, (6, 8)).name == "admm-fourier"  # the contract's normalisation keeps it
    assert tv._choose(op @ np.eye(48), (6, 8)).name == "primal-dual"  # an explicit matrix: no structure
    assert tv._choose(op, (48,)).name == "primal-dual"  # 1-D TV of the flattened image: another shape
    with pytest.raises(ValueError, match="partial Fourier operator"):
        cs.make_recoverer("tv", shape=(6, 8), method="admm-fourier").recover(op @ np.eye(48), np.ones(op.shape[0]))


def test_fourier_admm_matches_cvxpy_for_a_1d_signal_and_without_the_zero_frequency():
    """1-D TV (ℓ1 of differences) from random frequencies; then a 2-D mask without the zero
    frequency, where the mean is not determined (x + c is as good as x): the TV value must match
    cvxpy's, and the mean is that of the start (the minimum-energy point: zero)."""
    rng = np.random.default_rng(4)
    n = 40
    x = np.repeat(rng.standard_normal(5), 8) + 0.2 * rng.standard_normal(n)
    op = FourierSampling2D(random_mask(n, 0.5, random_state=5))
    A = op @ np.eye(n)
    cp = pytest.importorskip("cvxpy")
    v = cp.Variable(n)
    cp.Problem(cp.Minimize(cp.norm1(cp.diff(v))), [A @ v == A @ x]).solve(solver="CLARABEL")
    res = cs.make_recoverer("tv", max_iter=50000, tol=1e-10).recover(op, A @ x)
    assert res.converged
    assert np.linalg.norm(res.x - v.value) <= 1e-4 * np.linalg.norm(v.value)

    shape = (8, 10)
    img = np.zeros(shape)
    img[2:6, 3:8] = 1.0
    img += 0.2 * rng.standard_normal(shape)
    mask = random_mask(shape, 0.5, random_state=6)
    mask[0, 0] = False
    op = FourierSampling2D(mask)
    A = op @ np.eye(op.shape[1])
    y = A @ img.ravel()
    ref = _cvxpy_tv(A, y, shape)
    res = cs.make_recoverer("tv", shape=shape, method="admm-fourier", max_iter=50000, tol=1e-10).recover(op, y)
    f = lambda z: total_variation(np.asarray(z).reshape(-1, 1), shape)[0]  # noqa: E731
    assert res.converged and abs(f(res.x) - f(ref)) <= 1e-6 * f(ref)
    assert abs(res.x.mean()) <= 1e-12 * np.abs(res.x).max()
    assert np.linalg.norm(A @ res.x - y) <= 1e-8 * np.linalg.norm(y)


def test_fourier_admm_recovers_the_phantom_exactly():
    """Candès–Romberg–Tao at 64×64: 22 radial lines, TV recovers the phantom to 1e-8 within a
    budget where Chambolle–Pock is still at 1e-4 or worse."""
    x = shepp_logan(64)
    op = FourierSampling2D(radial_mask(x.shape, 22))
    y = op @ x.ravel()
    res = cs.make_recoverer("tv", shape=x.shape, max_iter=1500).recover(op, y)
    err = np.linalg.norm(res.x - x.ravel()) / np.linalg.norm(x)
    assert res.converged and err <= 1e-8
    pd = cs.make_recoverer("tv", shape=x.shape, method="primal-dual", max_iter=1500).recover(op, y)
    assert np.linalg.norm(pd.x - x.ravel()) / np.linalg.norm(x) > 1e-4


def test_fourier_admm_is_scale_invariant_and_honours_x0():
    x = shepp_logan(32)
    op = FourierSampling2D(radial_mask(x.shape, 12))
    y = op @ x.ravel()
    tv = cs.make_recoverer("tv", shape=x.shape, max_iter=300, tol=0.0)  # a fixed number of iterations
    base = tv.recover(op, y).x
    # (c·A, c·y) and (A, t·y): the same iterates (times t); the normalisation is by powers of two
    # here so the comparison is to rounding
    assert np.allclose(tv.recover(3.0 * op, 3.0 * y).x, base, rtol=0, atol=1e-9)
    assert np.allclose(tv.recover(op, 5.0 * y).x, 5.0 * base, rtol=0, atol=1e-8)
    # a batch gives each column the iterates it gets alone (its own penalty ρ)
    other = np.random.default_rng(1).standard_normal(x.size)
    both = tv.recover(op, np.column_stack([y, op @ other])).x
    assert np.allclose(both[:, 0], base, rtol=0, atol=1e-9)
    assert np.allclose(both[:, 1], tv.recover(op, op @ other).x, rtol=0, atol=1e-9)
    # x0 is used (a different start, different iterates) and leads to the same minimiser
    solver = cs.make_recoverer("tv", shape=x.shape, max_iter=5000)
    cold = solver.recover(op, y)
    x0 = np.random.default_rng(0).standard_normal(x.size)
    assert not np.allclose(tv.recover(op, y, x0=x0).x, base)
    warm = solver.recover(op, y, x0=x0)
    assert cold.converged and warm.converged
    assert np.linalg.norm(warm.x - cold.x) <= 1e-6 * np.linalg.norm(cold.x)


def test_fourier_sampling_rows_are_orthonormal_and_match_numpy():
    mask = random_mask((12, 10), 0.3, random_state=0)
    op = FourierSampling2D(mask)
    M = op @ np.eye(op.shape[1])
    assert np.allclose(M @ M.T, np.eye(op.shape[0]), atol=1e-12) and dottest(op)
    x = np.random.default_rng(3).standard_normal((12, 10))
    F = np.fft.fft2(x, norm="ortho").ravel()
    # the samples determine the observed spectrum: ‖samples‖ = ‖F restricted to the mask‖
    assert np.isclose(np.linalg.norm(op @ x.ravel()), np.linalg.norm(F[op.mask.ravel()]))
    assert radial_mask((64, 64), 22).mean() < 0.5


def test_fourier_sampling_keeps_its_structure_when_scaled():
    op = FourierSampling2D(random_mask((12, 10), 0.3, random_state=0))
    x = np.random.default_rng(3).standard_normal(120)
    for c, scaled in ((2.5, 2.5 * op), (2.5, op * 2.5), (0.5, op / 2), (-1.0, -op)):
        assert isinstance(scaled, FourierSampling2D) and np.array_equal(scaled.fourier_mask, op.fourier_mask)
        assert np.allclose(scaled @ x, c * (op @ x)) and dottest(scaled)
        M = scaled @ np.eye(120)
        assert np.allclose(M @ M.T, scaled.row_gram_scale * np.eye(op.shape[0]))
        assert scaled.orthonormal_rows == (c * c == 1.0)
    assert not isinstance(op * op.T, FourierSampling2D)  # a product is not a rescaling
    with pytest.raises(ValueError, match="non-zero"):
        FourierSampling2D(op.mask, scale=0.0)


def test_tv_bad_shape_is_named():
    with pytest.raises(ValueError, match="pixels but A has"):
        cs.make_recoverer("tv", shape=(5, 5)).recover(np.eye(30)[:10], np.ones(10))
