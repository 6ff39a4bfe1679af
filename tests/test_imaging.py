"""Image operators against independent references: PyWavelets' own round trip and a dense blur."""

import numpy as np
import pytest

pywt = pytest.importorskip("pywt")

from cstoolkit.imaging import GaussianBlur2D, WaveletBasis2D, gaussian_psf  # noqa: E402
from cstoolkit.operators import dottest  # noqa: E402


def test_wavelet_basis_is_orthonormal_and_matches_pywavelets():
    W = WaveletBasis2D((16, 32), wavelet="db2", level=2)
    M = W @ np.eye(W.shape[1])
    assert np.allclose(M.T @ M, np.eye(M.shape[0]), atol=1e-12)
    x = np.random.default_rng(0).standard_normal((16, 32))
    c = W.T @ x.ravel()
    ref, _ = pywt.coeffs_to_array(pywt.wavedec2(x, "db2", mode="periodization", level=2))
    assert np.allclose(c, ref.ravel())
    assert dottest(W) and dottest(W.H)


def test_blur_matches_a_dense_reflexive_convolution():
    shape, k = (12, 10), gaussian_psf(5, 1.5)
    B = GaussianBlur2D(shape, size=5, sigma=1.5)
    M = B @ np.eye(120)
    # dense reference: 1-D reflexive (half-sample symmetric) blur matrices, Kronecker product
    def blur1d(n):
        T = np.zeros((n, n))
        for i in range(n):
            for j, w in zip(range(i - 2, i + 3), k):
                jj = -j - 1 if j < 0 else (2 * n - j - 1 if j >= n else j)
                T[i, jj] += w
        return T
    assert np.allclose(M, np.kron(blur1d(12), blur1d(10)), atol=1e-14)
    assert np.allclose(M, M.T) and np.linalg.norm(M, 2) <= 1 + 1e-12


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="not orthogonal"):
        WaveletBasis2D((8, 8), wavelet="bior2.2")
    with pytest.raises(ValueError, match="divisible"):
        WaveletBasis2D((12, 8), level=3)
    with pytest.raises(ValueError, match="odd"):
        gaussian_psf(4)
