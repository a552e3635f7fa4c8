"""Helpers for the recipe tests that need each backend's own autodiff API (the recipes never do)."""

import keras
import numpy as np


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


def numpy_of(t):
    """A backend tensor (or anything array-like) as a NumPy array."""
    return np.asarray(keras.ops.convert_to_numpy(t))
