"""Image operators: 2-D orthonormal wavelet bases (PyWavelets) and Gaussian blur with reflexive boundaries.

Both are :class:`scipy.sparse.linalg.LinearOperator` on images flattened in C order
(``x.reshape(shape)``), so they compose with the sensing operators and pass to any
``Recoverer`` (``A = blur @ W`` is the deblurring problem of Beck & Teboulle 2009 in the
wavelet domain).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import LinearOperator

__all__ = ["WaveletBasis2D", "GaussianBlur2D", "gaussian_psf", "FourierSampling2D", "radial_mask", "random_mask",
           "shepp_logan"]


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


# ------------------------------------------------------------------------------------------
# Fourier sampling of real images
# ------------------------------------------------------------------------------------------
def _conjugate_index(shape) -> np.ndarray:
    """Flat index of the frequency −k (mod shape) for every flat frequency index k."""
    idx = [(-np.arange(s)) % s for s in shape]
    grid = np.meshgrid(*idx, indexing="ij")
    return np.ravel_multi_index(tuple(grid), shape).ravel()


class FourierSampling2D(LinearOperator):
    """Samples of the unitary 2-D DFT of a real image at the frequencies of ``mask``, as real numbers.

    A real image's spectrum is conjugate symmetric, X(−k) = conj X(k), so the samples at a
    conjugate-symmetric set Ω carry |Ω| real numbers: Re X(k) at self-conjugate frequencies
    (DC, Nyquist) and √2·Re X(k), √2·Im X(k) at one frequency of each pair. The operator is
    real, of shape (|Ω|, rows·cols), and its rows are orthonormal (``A Aᵀ = I``; attribute
    ``orthonormal_rows``, for ``scale = 1``), so ``Aᵀ y`` is the minimum-energy (zero-filled) reconstruction
    and the projection onto ``{x : Ax = y}`` is ``x − Aᵀ(Ax − y)``.

    The partial-DFT structure is declared for solvers that can use it: ``fourier_mask`` (the
    conjugate-symmetric mask) says that the null space is ``{x : (F x)_k = 0, k ∈ Ω}`` — the
    ``tv`` recoverer then solves its x-update exactly in the Fourier domain. Multiplying by a
    scalar (``c * A``, ``A / c``, ``-A``) keeps the structure: the result is a
    ``FourierSampling2D`` with ``scale`` multiplied by c and ``A Aᵀ = row_gram_scale·I``.

    Parameters
    ----------
    mask : ndarray of bool, shape (rows, cols) or (n,)
        Sampled frequencies in NumPy's FFT order (DC at [0, 0]); made conjugate symmetric
        (k sampled ⇒ −k sampled) if it is not.
    scale : float, default=1.0
        The operator is ``scale`` times the orthonormal-row sampling above (non-zero).
    """

    def __init__(self, mask, scale: float = 1.0):
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim not in (1, 2) or not mask.any():
            raise ValueError(f"mask must be a non-empty 1-D or 2-D boolean array, got shape {mask.shape}.")
        scale = float(scale)
        if not np.isfinite(scale) or scale == 0:
            raise ValueError(f"scale must be a finite non-zero number, got {scale}.")
        self.image_shape = mask.shape
        conj = _conjugate_index(mask.shape)
        flat = mask.ravel() | mask.ravel()[conj]
        self.mask = flat.reshape(mask.shape)
        self.scale = scale
        #: A Aᵀ = row_gram_scale · I
        self.row_gram_scale = scale**2
        self.orthonormal_rows = scale**2 == 1.0
        k = np.flatnonzero(flat)
        self._self = k[conj[k] == k]
        self._half = k[conj[k] > k]
        n = mask.size
        super().__init__(dtype=np.dtype(np.float64), shape=(self._self.size + 2 * self._half.size, n))

    @property
    def fourier_mask(self) -> np.ndarray:
        """The sampled frequencies Ω (bool, ``image_shape``, FFT order, conjugate symmetric)."""
        return self.mask

    # -- a scalar multiple of a partial DFT is a partial DFT (the structure survives normalisation)
    def _rescaled(self, c):
        if np.isscalar(c) and np.isreal(c) and np.isfinite(c) and c != 0:
            return FourierSampling2D(self.mask, scale=self.scale * float(np.real(c)))
        return None

    def __mul__(self, other):
        out = self._rescaled(other)
        return super().__mul__(other) if out is None else out

    def __rmul__(self, other):
        out = self._rescaled(other)
        return super().__rmul__(other) if out is None else out

    def __truediv__(self, other):
        out = self._rescaled(1.0 / other) if np.isscalar(other) and other != 0 else None
        return super().__truediv__(other) if out is None else out

    def __neg__(self):
        return self._rescaled(-1.0)

    def _fft(self, x):
        return np.fft.fftn(np.asarray(x, dtype=float).reshape(self.image_shape), norm="ortho").ravel()

    def _matvec(self, x):
        X = self._fft(np.ravel(x))
        h = X[self._half]
        c = self.scale
        return np.concatenate([c * X[self._self].real, (c * np.sqrt(2)) * h.real, (c * np.sqrt(2)) * h.imag])

    def _rmatvec(self, v):
        v = np.ravel(v)
        s, nh = self._self.size, self._half.size
        W = np.zeros(int(np.prod(self.image_shape)), dtype=complex)
        W[self._self] = self.scale * v[:s]
        W[self._half] = (self.scale * np.sqrt(2)) * (v[s:s + nh] + 1j * v[s + nh:])
        return np.fft.ifftn(W.reshape(self.image_shape), norm="ortho").real.ravel()

    def _matmat(self, X):
        return np.column_stack([self._matvec(x) for x in np.asarray(X).T])

    def _rmatmat(self, V):
        return np.column_stack([self._rmatvec(v) for v in np.asarray(V).T])


def radial_mask(shape, n_lines: int) -> np.ndarray:
    """Frequencies on ``n_lines`` lines through the origin at equispaced angles (FFT order).

    Each line is sampled at the grid frequencies nearest to it (twice per grid step along the
    line), as in Candès, Romberg & Tao's 22-line Shepp–Logan experiment.
    """
    r, c = _shape2(shape)
    if n_lines < 1:
        raise ValueError(f"n_lines must be at least 1, got {n_lines}.")
    mask = np.zeros((r, c), dtype=bool)
    t = np.linspace(-max(r, c) / 2, max(r, c) / 2, 4 * max(r, c) + 1)
    for phi in np.pi * np.arange(n_lines) / n_lines:
        ky = np.round(t * np.sin(phi)).astype(int)
        kx = np.round(t * np.cos(phi)).astype(int)
        ok = (np.abs(ky) <= r // 2) & (np.abs(kx) <= c // 2)
        mask[ky[ok] % r, kx[ok] % c] = True
    return mask


def random_mask(shape, fraction: float, random_state=None) -> np.ndarray:
    """A conjugate-symmetric set of about ``fraction``·rows·cols frequencies drawn uniformly."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    rng = np.random.default_rng(random_state)
    n = int(np.prod(shape))
    conj = _conjugate_index(shape)
    pick = np.zeros(n, dtype=bool)
    pick[rng.permutation(n)[: max(1, int(round(fraction * n / 2)))]] = True
    return (pick | pick[conj]).reshape(shape)


# Toft's modified Shepp–Logan phantom (intensity, semi-axes a, b, centre x0, y0, angle in degrees)
_SHEPP_LOGAN = (
    (1.0, 0.69, 0.92, 0.0, 0.0, 0.0),
    (-0.8, 0.6624, 0.874, 0.0, -0.0184, 0.0),
    (-0.2, 0.11, 0.31, 0.22, 0.0, -18.0),
    (-0.2, 0.16, 0.41, -0.22, 0.0, 18.0),
    (0.1, 0.21, 0.25, 0.0, 0.35, 0.0),
    (0.1, 0.046, 0.046, 0.0, 0.1, 0.0),
    (0.1, 0.046, 0.046, 0.0, -0.1, 0.0),
    (0.1, 0.046, 0.023, -0.08, -0.605, 0.0),
    (0.1, 0.023, 0.023, 0.0, -0.606, 0.0),
    (0.1, 0.023, 0.046, 0.06, -0.605, 0.0),
)


def shepp_logan(size: int = 256) -> np.ndarray:
    """The modified Shepp–Logan phantom (Toft 1996) on a ``size×size`` grid, values in [0, 1].

    Drawn from its published ellipse table (pixel centres inside each ellipse), so it is
    piecewise constant — exactly the kind of image total-variation minimisation recovers.
    """
    if size < 2:
        raise ValueError(f"size must be at least 2, got {size}.")
    u = (np.arange(size) + 0.5) / size * 2 - 1
    X, Y = np.meshgrid(u, -u)
    img = np.zeros((size, size))
    for val, a, b, x0, y0, ang in _SHEPP_LOGAN:
        t = np.deg2rad(ang)
        xr = (X - x0) * np.cos(t) + (Y - y0) * np.sin(t)
        yr = -(X - x0) * np.sin(t) + (Y - y0) * np.cos(t)
        img[(xr / a) ** 2 + (yr / b) ** 2 <= 1] += val
    return np.clip(img, 0, 1)
