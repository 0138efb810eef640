"""The `keras-lr demo` data: generated with numpy, no scikit-learn, and learnable.

A hand nearest-centroid classifier (numpy, written here) shows the classes are
separable but not trivially: the demo's accuracy means something.
"""

import sys

import numpy as np
import pytest

from keras_lr_cli.commands import synthetic_images


def test_shapes_range_and_balanced_classes():
    x, y = synthetic_images(0)
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int32
    assert x.min() >= 0.0 and x.max() <= 1.0
    counts = np.bincount(y, minlength=10)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 1797


def test_same_seed_same_data_other_seed_other_data():
    a, b = synthetic_images(3), synthetic_images(3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(synthetic_images(4)[0], a[0])


def test_needs_no_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn` now fails
    x, _ = synthetic_images(0, num_samples=20)
    assert x.shape == (20, 64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classes_are_learnable_but_not_trivial(seed):
    x, y = synthetic_images(seed)
    split = int(0.8 * len(x))
    centroids = np.stack([x[:split][y[:split] == c].mean(axis=0) for c in range(10)])
    distances = ((x[split:, None, :] - centroids[None]) ** 2).sum(axis=-1)
    accuracy = (distances.argmin(axis=1) == y[split:]).mean()
    assert 0.5 < accuracy < 0.99, accuracy  # chance is 0.1
