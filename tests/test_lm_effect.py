"""experiments.lm_effect: the compression step at a bytes-per-row budget and the threshold table."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gguf")

from experiments import lm_effect as le  # noqa: E402


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((300, 8)) @ rng.standard_normal((8, 64)) + 0.1 * rng.standard_normal((300, 64))
            ).astype(np.float32)


@pytest.mark.parametrize("method", ["keep_largest", "svd", "q8_0", "q4_0"])
def test_compress_table_fits_the_budget(X, method):
    X_hat, used, param = le.compress_table(X, method, 48)
    assert X_hat.shape == X.shape and X_hat.dtype == np.float32
    if method in le.QUANT:
        assert used / X.shape[0] == {"q8_0": 68, "q4_0": 36}[method]
    else:
        assert used <= 48 * X.shape[0]
        # float16 values: the reconstruction is exactly representable in float16
        np.testing.assert_array_equal(X_hat, X_hat.astype(np.float16).astype(np.float32))
    if method == "svd":  # rank 8 + noise: the rank that fits (48*300/(2*364) = 19) gets below the noise
        assert param == 19 and np.linalg.norm(X - X_hat) / np.linalg.norm(X) < 0.05
    if method == "keep_largest":
        assert param == 16 and np.all(np.count_nonzero(X_hat, axis=1) <= 16)  # 2-byte value + 1-byte index


def test_dictionary_budget_counts_atoms(X):
    atoms = np.random.default_rng(1).standard_normal((16, 64)).astype(np.float32)
    X_hat, used, k = le.compress_table(X, "dictionary", 48, atoms)
    assert used == 16 * 64 * 2 + 300 * k * (2 + 1) and used <= 48 * 300
    with pytest.raises(ValueError, match="too small"):
        le.compress_table(X, "dictionary", 2, atoms)


def test_threshold_table_picks_smallest_passing_budget():
    def row(m, b, kld, top):
        return dict(ok=True, model="smollm2", method=m, variant="tied", bytes_per_row=b, kld_mean=kld, same_top=top)

    flat = [row("svd", 100, 0.5, 0.6), row("svd", 200, 0.008, 0.94), row("svd", 400, 0.005, 0.97),
            row("q4_0", 324, 0.07, 0.86)]
    tab = {t["method"]: t for t in le.threshold_table(flat)}
    assert tab["svd"]["bytes_per_row"] == 400  # 200 fails same-top >= 95 %
    assert tab["q4_0"]["bytes_per_row"] is None
    assert "none up to 324" in le.markdown_table(list(tab.values()), 2304)
