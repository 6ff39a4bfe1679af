"""cstoolkit.prox: every proximal class passes the Moreau identity (collected from the module, so a
new class is tested without editing this file), plus closed forms checked by brute force."""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest
from scipy.optimize import minimize

from cstoolkit import prox

#: how to build each class for the tests; a new class without an entry fails test_every_class_is_built
EXAMPLES = {
    "L1": [lambda: prox.L1(0.7), lambda: prox.L1(0.7, positive=True),
           lambda: prox.L1(np.array([[0.2], [1.0], [0.0], [3.0], [0.5], [1.5]]))],
    "GroupL2": [lambda: prox.GroupL2(2, 0.8), lambda: prox.GroupL2(3, np.array([0.5, 1.0, 2.0, 0.1]))],
    "Nonnegative": [lambda: prox.Nonnegative()],
    "L0Ball": [lambda: prox.L0Ball(2)],
}

CLASSES = sorted(name for name, obj in vars(prox).items()
                 if inspect.isclass(obj) and issubclass(obj, prox.ProxOperator) and not inspect.isabstract(obj))


def instances(convex=None):
    out = []
    for name in CLASSES:
        for i, make in enumerate(EXAMPLES.get(name, [])):
            f = make()
            if convex is None or f.convex == convex:
                out.append(pytest.param(f, id=f"{name}-{i}"))
    return out


def test_every_class_is_built():
    missing = [c for c in CLASSES if c not in EXAMPLES]
    assert not missing, f"add examples of {missing} to EXAMPLES"
    assert {"L1", "GroupL2", "Nonnegative", "L0Ball"} <= set(CLASSES)


@pytest.mark.parametrize("f", instances(convex=True))
@pytest.mark.parametrize("tau", [0.3, 1.0, 2.5])
@pytest.mark.parametrize("cplx", [False, True])
def test_moreau_identity(f, tau, cplx):
    if cplx and getattr(f, "positive", False) or cplx and isinstance(f, prox.Nonnegative):
        pytest.skip("nonnegativity is defined for real data")
    rng = np.random.default_rng(1)
    x = 2 * rng.standard_normal((6, 4))
    if cplx:
        x = x + 2j * rng.standard_normal((6, 4))
    p = f.prox(x, tau)
    d = f.prox_conjugate(x / tau, 1 / tau)
    np.testing.assert_allclose(p + tau * d, x, atol=1e-12)
    # and the prox is not trivial: it moves some entries and keeps others
    assert not np.allclose(p, x) and not np.allclose(p, 0)


@pytest.mark.parametrize("f", instances(convex=True))
def test_prox_minimises_its_objective(f):
    """prox_{τf}(x) = argmin ½‖z − x‖² + τf(z), checked against a derivative-free minimiser."""
    rng = np.random.default_rng(2)
    if np.ndim(getattr(f, "sigma", 0)) == 1:
        pytest.skip("a per-signal parameter: covered by the Moreau test")
    x = 2 * rng.standard_normal((6, 1))
    tau = 0.8
    p = f.prox(x, tau)
    val = lambda z: 0.5 * np.sum((z.reshape(x.shape) - x) ** 2) + tau * f(z.reshape(x.shape))  # noqa: E731
    assert np.isfinite(val(p.ravel()))
    # a function that is +inf off the nonnegative orthant: search inside it (bounds, not inf values)
    bounds = [(0, None)] * x.size if not np.isfinite(f(-np.abs(x) - 1)) else None
    start = np.abs(x).ravel() if bounds else x.ravel()
    ref = minimize(val, start, method="Powell", bounds=bounds, options={"xtol": 1e-10, "ftol": 1e-14, "maxiter": 20000})
    assert val(p.ravel()) <= ref.fun + 1e-8


@pytest.mark.parametrize("f", instances())
def test_tau_must_be_positive(f):
    x = np.ones((6, 2))
    for bad in (0.0, -1.0, np.nan, np.array([1.0, -1.0])):
        with pytest.raises(ValueError, match="tau"):
            f.prox(x, bad)


def test_soft_threshold_closed_form():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 7)).astype(np.float32)
    t = np.linspace(0, 1, 7).astype(np.float32)
    out = prox.soft_threshold(X, t)
    ref = np.sign(X) * np.maximum(np.abs(X) - t, 0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, ref)  # bit for bit: x − clip(x, −t, t) is exact
    assert not np.any(np.signbit(out) & (out == 0))  # no −0.0
    Z = X + 1j * rng.standard_normal(X.shape).astype(np.float32)
    outz = prox.soft_threshold(Z, t)
    assert outz.dtype == np.complex64
    np.testing.assert_allclose(np.abs(outz), np.maximum(np.abs(Z) - t, 0), atol=1e-6)
    np.testing.assert_allclose(prox.soft_threshold_nonneg(X, t), np.maximum(X - t, 0))


def test_group_soft_threshold_closed_form():
    x = np.array([3.0, 4.0, 0.3, 0.4])  # group norms 5 and 0.5
    out = prox.group_soft_threshold(x, 1.0, 2)
    np.testing.assert_allclose(out, [3.0 * 0.8, 4.0 * 0.8, 0.0, 0.0])


def brute_topk(v, k):
    """Reference: stable sort by decreasing value (NaN last), first k indices."""
    key = np.where(np.isnan(v), -np.inf, v)
    order = sorted(range(len(v)), key=lambda i: (-key[i], np.isnan(v[i]), i))
    m = np.zeros(len(v), dtype=bool)
    m[order[:k]] = True
    return m


def test_topk_mask_tie_rule_is_lowest_index():
    rng = np.random.default_rng(4)
    V = rng.integers(0, 4, size=(12, 40)).astype(float)  # many ties
    V[3, :5] = np.nan
    V[0, 5:8] = -np.inf
    for k in range(0, 13):
        got = prox.topk_mask(V, k)
        for b in range(V.shape[1]):
            np.testing.assert_array_equal(got[:, b], brute_topk(V[:, b], k), err_msg=f"k={k}, column {b}")
    # per row and whole-array variants agree with the per-column rule on transposes / ravel
    np.testing.assert_array_equal(prox.topk_mask(V.T, 5, axis=1), prox.topk_mask(V, 5).T)
    flat = prox.topk_mask(V, 17, axis=None)
    np.testing.assert_array_equal(flat.ravel(), brute_topk(V.ravel(), 17))


def test_l0ball_is_a_nearest_k_sparse_point():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(6)
    f = prox.L0Ball(2)
    p = f.prox(x, 1.0)
    best = min(np.sum(x**2) - x[i] ** 2 - x[j] ** 2 for i, j in itertools.combinations(range(6), 2))
    assert np.sum((p - x) ** 2) == pytest.approx(best) and f(p) == 0.0 and np.count_nonzero(p) == 2


def test_topk_and_hard_threshold():
    rng = np.random.default_rng(1)
    V = rng.standard_normal((50, 7))
    H = prox.keep_topk(V, 5)
    assert np.all(np.count_nonzero(H, axis=0) == 5)
    ref = np.sort(np.abs(V), axis=0)[-5:]
    np.testing.assert_array_equal(np.sort(np.abs(H), axis=0)[-5:], ref)
