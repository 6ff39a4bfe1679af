"""Image operators: 2-D orthonormal wavelet bases (PyWavelets) and Gaussian blur with reflexive boundaries.

Both are :class:`scipy.sparse.linalg.LinearOperator` on images flattened in C order
(``x.reshape(shape)``), so they compose with the sensing operators and pass to any
``Recoverer`` (``A = blur @ W`` is the deblurring problem of Beck & Teboulle 2009 in the
wavelet domain).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import LinearOperator

__all__ = ["WaveletBasis2D", "GaussianBlur2D", "gaussian_psf"]


def _shape2(shape) -> tuple[int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be (rows, cols) of positive integers, got {shape!r}.")
    return shape


class WaveletBasis2D(LinearOperator):
    """Orthonormal 2-D discrete wavelet synthesis ``W`` (n×n, n = rows·cols) by PyWavelets.

    ``W @ c`` reconstructs an image from its wavelet coefficients ``c`` (PyWavelets'
    ``coeffs_to_array`` layout, flattened); ``W.T @ x`` is the forward transform. With an
    orthogonal wavelet and ``mode="periodization"`` the transform is orthonormal, so
    ``W.T = W⁻¹`` (tested).

    Parameters
    ----------
    shape : (int, int)
        Image shape; each side divisible by ``2**level``.
    wavelet : str, default="haar"
        An orthogonal PyWavelets wavelet (``haar``, ``db2``, ``sym4``, ...).
    level : int or None, default=None
        Decomposition levels; None uses PyWavelets' maximum for the shape.
    """

    def __init__(self, shape, wavelet: str = "haar", level: int | None = None):
        import pywt

        self.image_shape = _shape2(shape)
        w = pywt.Wavelet(wavelet)
        if not w.orthogonal:
            raise ValueError(f"wavelet {wavelet!r} is not orthogonal; WaveletBasis2D needs an orthonormal transform.")
        self.wavelet, self._pywt = wavelet, pywt
        self.level = pywt.dwtn_max_level(self.image_shape, w) if level is None else int(level)
        for s in self.image_shape:
            if s % (2 ** self.level):
                raise ValueError(f"image side {s} is not divisible by 2**level = {2 ** self.level}.")
        _, self._slices = pywt.coeffs_to_array(pywt.wavedec2(np.zeros(self.image_shape), w, mode="periodization",
                                                             level=self.level))
        n = self.image_shape[0] * self.image_shape[1]
        super().__init__(dtype=np.dtype(np.float64), shape=(n, n))

    def analysis(self, x):
        """Wavelet coefficients ``W.T @ x`` of one flattened image, shape (n,)."""
        p = self._pywt
        arr, _ = p.coeffs_to_array(p.wavedec2(np.asarray(x, dtype=float).reshape(self.image_shape), self.wavelet,
                                              mode="periodization", level=self.level))
        return arr.ravel()

    def synthesis(self, c):
        """Image ``W @ c`` (flattened) from coefficients ``c``, shape (n,)."""
        p = self._pywt
        coeffs = p.array_to_coeffs(np.asarray(c, dtype=float).reshape(self.image_shape), self._slices,
                                   output_format="wavedec2")
        return p.waverec2(coeffs, self.wavelet, mode="periodization").ravel()

    def _matvec(self, c):
        return self.synthesis(np.ravel(c))

    def _rmatvec(self, x):
        return self.analysis(np.ravel(x))

    def _matmat(self, C):
        return np.column_stack([self.synthesis(c) for c in np.asarray(C).T])

    def _rmatmat(self, X):
        return np.column_stack([self.analysis(x) for x in np.asarray(X).T])

    def _adjoint(self):
        return _WaveletAnalysis2D(self)


class _WaveletAnalysis2D(LinearOperator):
    def __init__(self, W: WaveletBasis2D):
        self._W = W
        super().__init__(dtype=W.dtype, shape=W.shape)

    def _matvec(self, x):
        return self._W._rmatvec(x)

    def _rmatvec(self, c):
        return self._W._matvec(c)

    def _matmat(self, X):
        return self._W._rmatmat(X)

    def _rmatmat(self, C):
        return self._W._matmat(C)

    def _adjoint(self):
        return self._W


def gaussian_psf(size: int = 9, sigma: float = 4.0) -> np.ndarray:
    """Separable 1-D factor of a ``size×size`` Gaussian point-spread function (sums to one)."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd integer, got {size}.")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}.")
    h = size // 2
    k = np.exp(-0.5 * (np.arange(-h, h + 1) / sigma) ** 2)
    return k / k.sum()


class GaussianBlur2D(LinearOperator):
    """Blur by a ``size×size`` Gaussian PSF with reflexive (half-sample symmetric) boundaries.

    The PSF is symmetric and separable, and reflexive boundary conditions keep the blurring
    matrix symmetric (Hansen, Nagy & O'Leary, *Deblurring Images*, 2006, ch. 4), so the
    operator is its own adjoint; its norm is at most one (the PSF sums to one). This is the
    blur of Beck & Teboulle's deblurring experiments (9×9, σ = 4).

    Parameters
    ----------
    shape : (int, int)
        Image shape.
    size : int, default=9
        PSF side (odd).
    sigma : float, default=4.0
        PSF standard deviation in pixels.
    """

    def __init__(self, shape, size: int = 9, sigma: float = 4.0):
        self.image_shape = _shape2(shape)
        self.kernel = gaussian_psf(size, sigma)
        n = self.image_shape[0] * self.image_shape[1]
        super().__init__(dtype=np.dtype(np.float64), shape=(n, n))

    def _blur(self, x):
        from scipy.ndimage import correlate1d

        img = np.asarray(x, dtype=float).reshape(self.image_shape)
        img = correlate1d(img, self.kernel, axis=0, mode="reflect")
        return correlate1d(img, self.kernel, axis=1, mode="reflect").ravel()

    def _matvec(self, x):
        return self._blur(np.ravel(x))

    _rmatvec = _matvec

    def _matmat(self, X):
        return np.column_stack([self._blur(x) for x in np.asarray(X).T])

    _rmatmat = _matmat

    def _adjoint(self):
        return self
