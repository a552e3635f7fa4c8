"""pytest configuration: the backend (KERAS_BACKEND, TensorFlow by default), the report header, seeds."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib.abc  # noqa: E402
import sys  # noqa: E402

import keras  # noqa: E402
import pytest  # noqa: E402


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    """On the JAX and PyTorch backends, importing TensorFlow fails in the tests.

    The recipes must run without TensorFlow (they use keras.ops only), so nothing they do may
    need it; and a process that loads TensorFlow's runtime next to JAX's XLA crashed
    (segmentation fault in libtensorflow_framework while JAX compiled). Keras's own optional
    uses of TensorFlow see an ImportError and take their other path.
    """

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(f"{name} is not importable in the {keras.backend.backend()} tests")
        return None


if keras.backend.backend() != "tensorflow" and "tensorflow" not in sys.modules:
    sys.meta_path.insert(0, _NoTensorFlow())


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_functions():
    """Free what each test module traced and compiled before the next one starts.

    One pytest process runs several hundred tests per backend; on JAX the compiled XLA programs
    of every test otherwise stay cached until the end, and XLA's CPU compiler crashed
    (segmentation fault) late in a full run while the same tests passed on their own.
    """
    yield
    keras.backend.clear_session()
    if keras.backend.backend() == "jax":
        import jax

        jax.clear_caches()
