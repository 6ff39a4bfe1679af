"""Total-variation recoverer against cvxpy (same TV definition), and the 2-D Fourier operators.

Exact recovery of the Shepp–Logan phantom from radial lines is asserted by the Candès–Romberg–Tao
reproduction (tests/test_reproductions.py).
"""

import numpy as np
import pytest

import cstoolkit as cs
from cstoolkit.imaging import FourierSampling2D, radial_mask, random_mask
from cstoolkit.operators import dottest
from cstoolkit.solvers.tv import gradient, gradient_adjoint, total_variation


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
    for operator in (op, A):  # orthonormal-row projection and the QR projection
        res = cs.make_recoverer("tv", shape=shape, max_iter=50000, tol=1e-10).recover(operator, y)
        f = lambda x: total_variation(np.asarray(x).reshape(-1, 1), shape)[0]  # noqa: E731
        assert f(res.x) <= f(ref) * (1 + 1e-6)
        assert np.linalg.norm(A @ res.x - y) <= 1e-8 * np.linalg.norm(y)
        assert np.linalg.norm(res.x - ref) <= 1e-4 * np.linalg.norm(ref)


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


def test_tv_bad_shape_is_named():
    with pytest.raises(ValueError, match="pixels but A has"):
        cs.make_recoverer("tv", shape=(5, 5)).recover(np.eye(30)[:10], np.ones(10))
