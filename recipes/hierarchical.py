"""Hierarchical recurrent networks: the Clockwork RNN, whose modules tick at different rates.

The cell runs inside `keras.layers.RNN` (and `keras.layers.Bidirectional` around it) on the
TensorFlow, JAX and PyTorch backends. It needs the time step, so its state carries a step
counter next to the hidden state; `keras.layers.RNN` carries both over masked (padded) steps,
so the clock counts only the real steps of each sequence. The hidden state comes first in the
state list, because Keras's JAX backend reads the previous output from `states[0]` on masked
steps.

Shared helper: `recipes/base.py` (argument checks).
"""

import math

import keras
import numpy as np
from keras import activations, initializers, ops, regularizers

from recipes.base import check_built_input, check_positive_int, check_step_input, serialize

# The integers up to which a float dtype counts exactly, 2^(significand bits): t + 1 == t beyond.
_EXACT_UP_TO = {"float16": 2**11, "bfloat16": 2**8}
_CLOCK_LIMIT = 2**24  # the longest clock cycle, lcm(periods); float32 counts exactly up to it


class _BlockMask(keras.constraints.Constraint):
    """Multiplies a weight by a fixed 0/1 mask: the optimizer applies it after every update."""

    def __init__(self, mask):
        self.mask = mask

    def __call__(self, w):
        return w * ops.convert_to_tensor(self.mask, dtype=w.dtype)


@keras.saving.register_keras_serializable(package="recipes")
class ClockworkCell(keras.layers.Layer):
    """Clockwork RNN: the hidden units form modules that update only every T_i steps.

    The hidden state is split into g modules of equal size, module i with clock period T_i
    (T_1 < T_2 < ..., by default 1, 2, 4, ..., 2^(g-1)). Koutnik et al.'s equations (row vectors
    as in Keras; W_H is block-triangular so that a module receives only from itself and from
    slower modules):

        h~_t      = f_H(x_t W_I + h_{t-1} W_H + b)
        h^(i)_t   = h~^(i)_t      if t mod T_i = 0
                    h^(i)_{t-1}   otherwise

    Slow modules thus hold long-term context and pass it to the fast ones, which see the input
    at every step. The clock t counts the steps of the sequence from 0, so every module reads
    the first step. Put a `keras.layers.Dense` after the RNN for the paper's output
    y_t = f_O(h_t W_O).

    Implementation: the state is [h_t, t] (t is a (batch, 1) float counter), so masked steps,
    which `keras.layers.RNN` skips by carrying the state over, do not advance the clock. It
    counts modulo a multiple of every period, which leaves t mod T_i unchanged: in float32 the
    largest below 2^24, up to which float32 counts exactly. Under mixed precision, where float16
    stops counting at 2048 and bfloat16 at 256, t is written in digits of base 2048 or 256: one
    digit unless lcm(periods) is larger (`clock_digits` is the width of t, `clock_time` reads
    it). In the backward half of `keras.layers.Bidirectional` the clock counts from the last valid step
    (there t = 0 is the end of the sequence). W_H (`recurrent_kernel`, (units, units), row =
    source module) is zero outside the allowed blocks (source period >= target period): the
    block mask is applied at initialisation, by a constraint after every optimizer update, and
    in `call`, so the connectivity holds even for weights set by hand. Every module's candidate
    is computed at every step and the inactive ones discarded, which keeps the code backend-
    agnostic but forgoes the paper's saving of computation.

    Reference: J. Koutnik, K. Greff, F. Gomez and J. Schmidhuber (2014), "A Clockwork RNN",
    ICML.

    Args:
        units: size of h, a multiple of the number of modules.
        periods: the modules' clock periods, fastest first (strictly increasing positive
            integers), or an integer g for the exponential series 1, 2, 4, ..., 2^(g-1).
        activation: f_H, default `"tanh"`.
        use_bias: whether to add b.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of W_I, W_H,
            b (W_H's is masked to its blocks).
        kernel_regularizer, recurrent_regularizer: optional regularizers.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: [h_{t-1}, t], shapes (batch, units) and (batch, clock_digits) (1 but for a
            long clock cycle under mixed precision).

    Example:
        >>> layer = keras.layers.RNN(ClockworkCell(32, periods=4), return_sequences=True)
        >>> layer(np.zeros((2, 16, 1), "float32")).shape
        (2, 16, 32)
    """

    def __init__(
        self,
        units,
        periods=4,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        if isinstance(periods, (list, tuple)):
            if not periods:
                raise ValueError("`periods` must be a non-empty list of clock periods, got [].")
            for i, period in enumerate(periods):
                check_positive_int(f"periods[{i}]", period)
            if any(a >= b for a, b in zip(periods, periods[1:])):
                raise ValueError(
                    f"`periods` must be strictly increasing (fastest module first), got "
                    f"{list(periods)}."
                )
            periods = [int(p) for p in periods]
        else:
            modules = check_positive_int("periods", periods)
            periods = [2**i for i in range(modules)]
        if self.units % len(periods):
            raise ValueError(
                f"`units` must be a multiple of the number of modules ({len(periods)}, one per "
                f"period) so that the modules have equal sizes; got {self.units}."
            )
        self.periods = periods
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        # The clock counts t modulo `clock_modulus`, a multiple of every period (so t mod T_i is
        # unchanged), in `clock_digits` digits of base `clock_base`: keras.layers.RNN hands every
        # state to the cell in the compute dtype, which holds only integers up to the base
        # exactly (2048 in float16, 256 in bfloat16). One digit in float32, or when lcm(periods)
        # is at most the base.
        cycle = math.lcm(*periods)
        if cycle > _CLOCK_LIMIT:
            raise ValueError(
                f"`periods` must have a least common multiple of at most 2^24 (the clock's "
                f"cycle), got {cycle} for {periods}."
            )
        dtype = keras.backend.standardize_dtype(self.compute_dtype)
        self.clock_base = _EXACT_UP_TO.get(dtype, _CLOCK_LIMIT)
        self.clock_digits = 1
        while self.clock_base**self.clock_digits < cycle:
            self.clock_digits += 1
        self.clock_modulus = cycle * (min(self.clock_base**self.clock_digits, 2**30) // cycle)
        self.state_size = [self.units, self.clock_digits]
        self.output_size = self.units
        size = self.units // len(periods)
        # The period of every hidden unit, and the allowed connections: from unit j (row) to
        # unit i (column) when j's module is at least as slow as i's.
        self.unit_periods = np.repeat(np.asarray(periods, dtype="float32"), size)
        self.block_mask = (self.unit_periods[:, None] >= self.unit_periods[None, :]).astype(
            "float32"
        )

    @property
    def module_size(self):
        return self.units // len(self.periods)

    def build(self, input_shape):
        features = check_step_input("ClockworkCell", input_shape)
        self.input_features = features
        mask, base = self.block_mask, self.recurrent_initializer
        self.kernel = self.add_weight(
            shape=(features, self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="recurrent_kernel",
            initializer=lambda shape, dtype=None: base(shape, dtype=dtype)
            * ops.convert_to_tensor(mask, dtype=dtype),
            regularizer=self.recurrent_regularizer,
            constraint=_BlockMask(mask),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,), name="bias", initializer=self.bias_initializer
            )

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        x, h_prev, t = inputs, states[0], self.clock_time(states[1])
        W_H = self.recurrent_kernel * ops.convert_to_tensor(self.block_mask, dtype=h_prev.dtype)
        z = ops.matmul(x, self.kernel) + ops.matmul(h_prev, W_H)
        if self.bias is not None:
            z = z + self.bias
        h_tilde = self.activation(z)
        periods = ops.convert_to_tensor(self.unit_periods.astype("int32"))
        active = ops.equal(ops.mod(t, periods), 0)  # (batch, units): t mod T_i = 0
        h = ops.where(active, h_tilde, h_prev)
        return h, [h, self.clock_state(ops.mod(t + 1, self.clock_modulus), h.dtype)]

    def clock_time(self, clock):
        """t (batch, 1), int32, from the clock state (its digits, least significant first)."""
        scale = [self.clock_base**k for k in range(self.clock_digits)]
        digits = ops.cast(clock, "int32") * ops.convert_to_tensor(scale, dtype="int32")
        return ops.sum(digits, axis=-1, keepdims=True)

    def clock_state(self, t, dtype):
        """The clock state (batch, clock_digits) in `dtype` for t (batch, 1) int32."""
        digits = [(t // self.clock_base**k) % self.clock_base for k in range(self.clock_digits)]
        return ops.cast(ops.concatenate(digits, axis=-1), dtype)

    def get_initial_state(self, batch_size=None):
        return [
            ops.zeros((batch_size, self.units), dtype=self.compute_dtype),
            ops.zeros((batch_size, self.clock_digits), dtype=self.compute_dtype),
        ]

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=self.units,
                periods=list(self.periods),
                activation=self.activation,
                use_bias=self.use_bias,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                bias_initializer=self.bias_initializer,
                kernel_regularizer=self.kernel_regularizer,
                recurrent_regularizer=self.recurrent_regularizer,
            ),
        }
