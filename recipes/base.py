"""Shared helpers for the recipe cells: argument checks and variational dropout masks.

This is the one shared helper a recipe module names. Copy it next to the module you copy.

Keras's `keras.layers.RNN` computes a cell's dropout masks once, before the time loop, and only
for cells that derive from its (non-public) dropout mixin. Doing it before the loop keeps the
loop free of random state, which the JAX backend needs (a mask drawn inside `jax.lax.scan`
would leak a tracer). `DropoutMasks` below is our own implementation of that contract: the same
masks are reused at every step of a sequence (Gal and Ghahramani, 2016, "A Theoretically
Grounded Application of Dropout in Recurrent Neural Networks"), and new ones are drawn for the
next batch.
"""

import math

import keras
import numpy as np
from keras import activations, initializers, ops, regularizers

try:  # The RNN layer pre-computes masks only for cells that are instances of this class.
    from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell as _KerasDropoutCell
except ImportError:  # pragma: no cover - a future Keras may move it; masks are then drawn lazily.
    _KerasDropoutCell = object

try:  # Keras's PyTorch backend infers output shapes by calling a layer on tensors of ones.
    from keras.src.backend.common.symbolic_scope import in_symbolic_scope as _in_symbolic_scope
except ImportError:  # pragma: no cover - a future Keras may move it; values are then checked.

    def _in_symbolic_scope():
        return False


def check_positive_int(name, value):
    """Return `value` if it is an integer >= 1, else raise a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    return value


def check_rate(name, value):
    """Return `value` as a float if it is a probability in [0, 1), else raise a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"`{name}` must be a float in [0, 1), got {value!r}.")
    return float(value)


def check_number(name, value, ok, needs):
    """Return `value` as a float if it is a finite real number for which `ok` holds, else raise
    a ValueError naming `name` and saying what it `needs` (e.g. "a float > 0")."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not ok(value)
    ):
        raise ValueError(f"`{name}` must be {needs}, got {value!r}.")
    return float(value)


def check_step_input(cell_name, input_shape):
    """Return the feature size of a per-step input shape `(batch, features)`, or raise."""
    if input_shape is None or len(input_shape) != 2 or input_shape[-1] is None:
        raise ValueError(
            f"{cell_name} expects per-step inputs of shape (batch, features) with a known "
            f"feature size, i.e. sequences of shape (batch, time, features) when used in "
            f"keras.layers.RNN; got a step input of shape {input_shape}."
        )
    return int(input_shape[-1])


def check_built_input(cell, inputs):
    """Raise unless the step input `inputs` has the shape (batch, features) that `cell` was built
    for (`cell.input_features`, which the cell's `build` sets): a later call with another
    feature size would otherwise fail deep in a backend's matrix product."""
    features = getattr(cell, "input_features", None)
    shape = tuple(inputs.shape)
    if features is not None and (len(shape) != 2 or shape[-1] not in (None, features)):
        raise ValueError(
            f"{type(cell).__name__} was built for `inputs` with {features} features, i.e. "
            f"sequences of shape (batch, time, {features}) in keras.layers.RNN; got a step "
            f"input of shape {shape}."
        )


def concrete(x):
    """`x` as a NumPy array when its values exist now (NumPy data, an eager tensor), or None
    when they do not: a symbolic `keras.Input`, or a tensor traced by `tf.function` or
    `jax.jit` (as in `model.fit` on TensorFlow and JAX), or the stand-in tensors with which
    Keras infers shapes (on PyTorch they hold ones). Checks of values run only on the former."""
    if isinstance(x, keras.KerasTensor) or _in_symbolic_scope():
        return None
    if not ops.is_tensor(x):
        return np.asarray(x)
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except (TypeError, NotImplementedError):  # a JAX tracer, a TensorFlow graph tensor
        return None


def matmul_2d(x, kernel):
    """x @ kernel for x of shape (..., m) and a 2-D kernel (m, n), as one 2-D product.

    The leading axes are flattened first rather than left to a broadcast batched product:
    TensorFlow 2.20 and 2.21 with oneDNN (on by default) on AVX-512 CPUs compute some of those
    wrongly or corrupt the heap (e.g. (3, 1, 6, 7) @ (7, 1)), and Keras 3.13 (Colab's) hands
    `keras.ops.matmul` of such shapes to them. A 2-D product is also faster on CPU."""
    shape = ops.shape(x)
    z = ops.matmul(ops.reshape(x, (-1, shape[-1])), kernel)
    return ops.reshape(z, tuple(shape[:-1]) + (ops.shape(kernel)[-1],))


def serialize(**items):
    """A `get_config` dict: activations, initializers and regularizers (named by their suffix)
    are serialized, everything else is kept as it is."""
    out = {}
    for key, value in items.items():
        if value is not None and key.endswith("activation"):
            value = activations.serialize(value)
        elif value is not None and key.endswith("initializer"):
            value = initializers.serialize(value)
        elif value is not None and key.endswith("regularizer"):
            value = regularizers.serialize(value)
        out[key] = value
    return out


class DropoutMasks(_KerasDropoutCell):
    """Variational dropout masks for a cell with `dropout`, `recurrent_dropout`, `seed_generator`.

    `get_dropout_mask(x)` returns one mask shaped like the step input `x`;
    `get_recurrent_dropout_mask(s)` returns one mask per entry of `recurrent_mask_sizes()`
    (default: the cell's `state_size`), so cells with several state tensors get one each.
    Masks are cached until `reset_dropout_mask()` / `reset_recurrent_dropout_mask()`, which
    `keras.layers.RNN` calls after every sequence.
    """

    def recurrent_mask_sizes(self):
        sizes = self.state_size
        return list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]

    def get_dropout_mask(self, step_input):
        if getattr(self, "_dropout_mask", None) is None and self.dropout > 0:
            ones = ops.ones_like(step_input)
            self._dropout_mask = keras.random.dropout(
                ones, rate=self.dropout, seed=self.seed_generator
            )
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_state):
        if getattr(self, "_recurrent_dropout_mask", None) is None and self.recurrent_dropout > 0:
            batch = ops.shape(step_state)[0]
            self._recurrent_dropout_mask = [
                keras.random.dropout(
                    ops.ones((batch, size), dtype=step_state.dtype),
                    rate=self.recurrent_dropout,
                    seed=self.seed_generator,
                )
                for size in self.recurrent_mask_sizes()
            ]
        return getattr(self, "_recurrent_dropout_mask", None)

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None


def integer_sequence(name, values, what="labels"):
    """`values` as a 1-D int64 NumPy array, if it is a (possibly empty) 1-D sequence of integers
    (integral floats pass); else a ValueError naming `name` and saying it must hold integer `what`."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-D sequence of {what}, got shape {array.shape}.")
    if array.size and array.dtype.kind not in "iu" and not (
        array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array))
    ):
        raise ValueError(f"`{name}` must hold integer {what}, got {array.dtype} values {array[:8].tolist()}.")
    return array.astype(np.int64)
