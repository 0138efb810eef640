"""Shared test setup. The suite runs once per Keras backend (KERAS_BACKEND).

Before Keras is imported, JAX gets 4 simulated CPU devices and TensorFlow 4
logical CPUs, so the distribution tests can run in this same process.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
if BACKEND == "jax" and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()

if BACKEND == "tensorflow":
    import tensorflow as tf

    _cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        _cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(4)]
    )

import keras  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "backends(*names): run only under these Keras backends")


def pytest_collection_modifyitems(config, items):
    backend = keras.config.backend()
    for item in items:
        marker = item.get_closest_marker("backends")
        if marker is not None and backend not in marker.args:
            item.add_marker(pytest.mark.skip(reason=f"only for {', '.join(marker.args)} backends"))


@pytest.fixture(autouse=True)
def _seed_and_policy():
    """Seeds every test and restores the global dtype policy afterwards."""
    keras.utils.set_random_seed(1234)
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)
    keras.distribution.set_distribution(None)


@pytest.fixture
def backend():
    return keras.config.backend()


@pytest.fixture(scope="session")
def mirrored_strategy():
    """One `tf.distribute.MirroredStrategy` over the 4 logical CPUs, shared by every test.

    Each MirroredStrategy numbers its collective ops from the same keys, so two of
    them in one process can mix up their all-reduces: the tests share this one.
    """
    import tensorflow as tf

    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(4)])
