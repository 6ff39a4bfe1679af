"""Online dictionary learning on a Dask array (issue 16): coding on the workers, statistics reduced.

Reference: the single-machine fit of the same rows in the same order with the same seed.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

from cstoolkit import OMP  # noqa: E402
from cstoolkit.learners.online import OnlineDictionaryLearning  # noqa: E402


def _table(n=2400, m=16, seed=0):
    return (np.random.default_rng(seed).standard_normal((n, m)) * 0.3).astype(np.float32)


def _learner(**kw):
    p = dict(n_atoms=32, coder=OMP(n_nonzero_coefs=3), batch_size=200, random_state=5, shuffle=False)
    p.update(kw)
    return OnlineDictionaryLearning(**p)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        with distributed.Client(cl) as c:
            yield c


def test_dask_fit_on_local_cluster_equals_single_machine(client):
    X = _table()
    ref = _learner().fit(X)
    # chunks of batch_size rows: each mini-batch is one block -> bit for bit
    got = _learner().fit(da.from_array(X, chunks=(200, -1)))
    np.testing.assert_array_equal(got.components_, ref.components_)
    np.testing.assert_array_equal(got.state_.A, ref.state_.A)
    np.testing.assert_allclose(got.history_["relative_residual"], ref.history_["relative_residual"], rtol=1e-6)
    # mini-batches cut across chunks of 70 rows: the statistics are sums of pieces coded on
    # both workers; equal up to the summation order
    got2 = _learner().fit(da.from_array(X, chunks=(70, 8)))
    np.testing.assert_allclose(got2.components_, ref.components_, atol=2e-4)
    np.testing.assert_array_equal(got2.transform(X[:50]) != 0, ref.transform(X[:50]) != 0)


def test_dask_fit_without_a_client_uses_local_scheduler():
    X = _table(n=800)
    ref = _learner(max_iter=2).fit(X)
    got = _learner(max_iter=2).fit(da.from_array(X, chunks=(200, -1)))
    np.testing.assert_array_equal(got.components_, ref.components_)
    assert got.n_iter_ == 2 and got.n_steps_ == ref.n_steps_


def test_dask_input_errors():
    X = _table(n=400)
    with pytest.raises(ValueError, match="shuffle=False"):
        _learner(shuffle=True).fit(da.from_array(X, chunks=(100, -1)))
    Y = X.copy()
    Y[123, 2] = np.inf
    with pytest.raises(ValueError, match=r"NaN or Inf \(first bad rows: \[123\]\)"):
        _learner().fit(da.from_array(Y, chunks=(100, -1)))
