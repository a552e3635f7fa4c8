"""Test helpers shared by the recipe tests; they run on whichever backend KERAS_BACKEND names."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def gradients(model, x, loss_fn):
    """Gradients of `loss_fn(model(x))` w.r.t. the model's trainable weights and the input x.

    Returns (list of NumPy weight gradients, NumPy input gradient). Each backend has its own
    autodiff API; the recipes themselves never touch them.
    """
    backend = keras.backend.backend()
    weights = model.trainable_weights
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = loss_fn(model(x, training=True))
        grads = tape.gradient(loss, weights + [x])
    elif backend == "jax":
        import jax

        def f(values, x):
            y, _ = model.stateless_call(values, [v.value for v in model.non_trainable_variables], x,
                                        training=True)
            return loss_fn(y)

        wg, xg = jax.grad(f, argnums=(0, 1))([v.value for v in weights], x)
        grads = list(wg) + [xg]
    elif backend == "torch":
        import torch

        x = torch.tensor(x, requires_grad=True)
        loss = loss_fn(model(x, training=True))
        grads = torch.autograd.grad(loss, [v.value for v in weights] + [x])
        grads = [g.detach() for g in grads]
    else:  # pragma: no cover
        raise NotImplementedError(backend)
    grads = [keras.ops.convert_to_numpy(g) for g in grads]
    return grads[:-1], grads[-1]
