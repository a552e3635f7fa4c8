"""Gated memory: the LSTM and GRU cells, and whole-sequence LSTM and GRU layers.

`LSTMCell` and `GRUCell` compute one time step and run inside `keras.layers.RNN` (and
`keras.layers.Bidirectional`) on every backend. Their weights have the layout of Keras's own
`keras.layers.LSTM` and `keras.layers.GRU` (`kernel`, `recurrent_kernel`, `bias`; gate order
i, f, c, o for the LSTM and z, r, h for the GRU), so weights copied from a Keras layer give the
same outputs.

`LSTM` and `GRU` are the same maths over a whole sequence, arranged for speed as cuDNN does: the
input projection x_t W + b of every step is one matrix product before the time loop, and the
loop does only the recurrent product. They give the same outputs as the cells (tested).

Shared helper: `recipes/base.py` (argument checks and variational dropout masks).
"""

import keras
from keras import activations, initializers, ops, regularizers

from recipes.base import DropoutMasks, check_positive_int, check_rate, check_step_input, serialize


class _GatedCell(DropoutMasks, keras.layers.Layer):
    """What LSTMCell and GRUCell share: arguments, weights, config, and the split of a step
    into an input projection (`project`) and a recurrent update (`recur`)."""

    gates = None  # 4 for the LSTM, 3 for the GRU

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.output_size = self.units

    def recurrent_mask_sizes(self):
        return [self.units]  # one mask on h_{t-1}, shared by every gate

    def build(self, input_shape):
        features = check_step_input(type(self).__name__, input_shape)
        self.kernel = self.add_weight(
            shape=(features, self.gates * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.gates * self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )

    def project(self, x):
        """The input part of every gate's pre-activation, x W + b, for x of shape (..., features).

        Leading dimensions are flattened first, so a whole sequence is one 2-D matrix product
        (a broadcast batched product is much slower on CPU, forward and backward)."""
        shape = ops.shape(x)
        z = ops.matmul(ops.reshape(x, (-1, shape[-1])), self.kernel)
        if self.use_bias:
            z = z + self.input_bias()
        return ops.reshape(z, tuple(shape[:-1]) + (self.gates * self.units,))

    def call(self, inputs, states, training=False):
        x_mask = self.get_dropout_mask(inputs)
        h_mask = self.get_recurrent_dropout_mask(states[0])
        if training and x_mask is not None:
            inputs = inputs * x_mask
        h_mask = h_mask[0] if training and h_mask is not None else None
        new_states = self.recur(self.project(inputs), list(states), h_mask)
        return new_states[0], new_states

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=self.units,
                activation=self.activation,
                recurrent_activation=self.recurrent_activation,
                use_bias=self.use_bias,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                bias_initializer=self.bias_initializer,
                kernel_regularizer=self.kernel_regularizer,
                recurrent_regularizer=self.recurrent_regularizer,
                bias_regularizer=self.bias_regularizer,
                dropout=self.dropout,
                recurrent_dropout=self.recurrent_dropout,
                seed=self.seed,
            ),
        }


@keras.saving.register_keras_serializable(package="recipes")
class LSTMCell(_GatedCell):
    """Long short-term memory: a cell state c_t that gates write, keep and read.

    Equations (Hochreiter and Schmidhuber 1997, with the forget gate of Gers et al. 2000;
    sigma is `recurrent_activation`, tanh is `activation`, * is elementwise):

        i_t = sigma(x_t W_i + h_{t-1} U_i + b_i  [+ p_i * c_{t-1}])
        f_t = sigma(x_t W_f + h_{t-1} U_f + b_f  [+ p_f * c_{t-1}])
        g_t = tanh (x_t W_c + h_{t-1} U_c + b_c)
        c_t = f_t * c_{t-1} + i_t * g_t
        o_t = sigma(x_t W_o + h_{t-1} U_o + b_o  [+ p_o * c_t])
        h_t = o_t * tanh(c_t)

    The bracketed peephole terms (Gers and Schmidhuber 2001) are used when `peephole=True`.
    Weights: `kernel` [W_i W_f W_c W_o] (features, 4 units), `recurrent_kernel` [U_i ... U_o]
    (units, 4 units), `bias` (4 units,), as in `keras.layers.LSTM`; with peepholes also
    `peephole` (3, units), rows p_i, p_f, p_o, initialised to zero (a plain LSTM at the start).
    The states are [h_t, c_t]; the cell outputs h_t.

    References: S. Hochreiter and J. Schmidhuber (1997), "Long short-term memory", Neural
    Computation 9(8); F. A. Gers, J. Schmidhuber and F. Cummins (2000), "Learning to forget:
    continual prediction with LSTM", Neural Computation 12(10); F. A. Gers and J. Schmidhuber
    (2001), "LSTM recurrent networks learn simple context-free and context-sensitive languages",
    IEEE Trans. Neural Networks 12(6).

    Args:
        units: size of h and c.
        activation, recurrent_activation: tanh and sigma above.
        use_bias: whether to add b.
        unit_forget_bias: start b_f at 1 (Jozefowicz et al. 2015), so the cell keeps its memory
            until it learns to forget.
        peephole: add the peephole connections p * c.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional regularizers.
        dropout: fraction of x_t dropped; recurrent_dropout: fraction of h_{t-1} dropped
            (the same masks at every step of a sequence).
        seed: seed of the dropout masks.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: [h_{t-1}, c_{t-1}], each (batch, units).
        training: whether dropout is applied.

    Example:
        >>> layer = keras.layers.RNN(LSTMCell(32), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 32)
    """

    gates = 4

    def __init__(self, units, unit_forget_bias=True, peephole=False, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.peephole = bool(peephole)
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        super().build(input_shape)
        self.bias = self.peephole_weights = None
        if self.use_bias:
            initializer = self.bias_initializer
            if self.unit_forget_bias:
                units, base = self.units, self.bias_initializer

                def initializer(shape, dtype=None):
                    return ops.concatenate(
                        [
                            base((units,), dtype=dtype),
                            ops.ones((units,), dtype=dtype),
                            base((2 * units,), dtype=dtype),
                        ]
                    )

            self.bias = self.add_weight(
                shape=(4 * self.units,),
                name="bias",
                initializer=initializer,
                regularizer=self.bias_regularizer,
            )
        if self.peephole:
            self.peephole_weights = self.add_weight(
                shape=(3, self.units), name="peephole", initializer="zeros"
            )

    def input_bias(self):
        return self.bias

    def _recurrent_weights(self):
        weights = {"U": self.recurrent_kernel}
        if self.peephole:
            weights["p"] = self.peephole_weights
        return weights

    def recur(self, x_proj, states, h_mask=None, weights=None):
        """One step from the input projection x_proj = x_t W + b: returns [h_t, c_t]."""
        w = weights or self._recurrent_weights()
        h_prev, c_prev = states
        if h_mask is not None:
            h_prev = h_prev * h_mask
        z = x_proj + ops.matmul(h_prev, w["U"])
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        if self.peephole:
            z_i = z_i + w["p"][0] * c_prev
            z_f = z_f + w["p"][1] * c_prev
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_prev + i * self.activation(z_c)
        if self.peephole:
            z_o = z_o + w["p"][2] * c
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "unit_forget_bias": self.unit_forget_bias,
            "peephole": self.peephole,
        }


@keras.saving.register_keras_serializable(package="recipes")
class GRUCell(_GatedCell):
    """Gated recurrent unit: an update gate z interpolates between the old state and a candidate.

    Equations (Cho et al. 2014; Keras's convention h_t = z h_{t-1} + (1 - z) h~, so z is the
    fraction of the old state kept):

        z_t = sigma(x_t W_z + h_{t-1} U_z + b_z)
        r_t = sigma(x_t W_r + h_{t-1} U_r + b_r)
        h~_t = tanh(x_t W_h + r_t * (h_{t-1} U_h) + b_h)      reset_after=True (cuDNN, Keras)
        h~_t = tanh(x_t W_h + (r_t * h_{t-1}) U_h + b_h)      reset_after=False (Cho et al.)
        h_t = z_t * h_{t-1} + (1 - z_t) * h~_t

    With `reset_after=True` the recurrent product has its own bias, so `bias` has shape
    (2, 3 units) (input bias, recurrent bias) as in `keras.layers.GRU`; otherwise (3 units,).
    Weights: `kernel` [W_z W_r W_h], `recurrent_kernel` [U_z U_r U_h].

    Reference: K. Cho et al. (2014), "Learning phrase representations using RNN encoder-decoder
    for statistical machine translation", EMNLP.

    Args:
        units: size of h.
        activation, recurrent_activation: tanh and sigma above.
        use_bias: whether to add the biases.
        reset_after: where the reset gate is applied (see the equations).
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional regularizers.
        dropout: fraction of x_t dropped; recurrent_dropout: fraction of h_{t-1} dropped in the
            recurrent products (the same masks at every step of a sequence).
        seed: seed of the dropout masks.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: [h_{t-1}], shape (batch, units).
        training: whether dropout is applied.

    Example:
        >>> layer = keras.layers.RNN(GRUCell(32))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 32)
    """

    gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)
        self.state_size = [self.units]

    def build(self, input_shape):
        super().build(input_shape)
        self.bias = None
        if self.use_bias:
            shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
            self.bias = self.add_weight(
                shape=shape,
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )

    def input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    def _recurrent_weights(self):
        weights = {"U": self.recurrent_kernel}
        if self.reset_after and self.use_bias:
            weights["b"] = self.bias[1]
        return weights

    def recur(self, x_proj, states, h_mask=None, weights=None):
        """One step from the input projection x_proj = x_t W + b: returns [h_t]."""
        w = weights or self._recurrent_weights()
        h_prev = states[0]
        h_in = h_prev * h_mask if h_mask is not None else h_prev
        x_z, x_r, x_h = ops.split(x_proj, 3, axis=-1)
        u = self.units
        if self.reset_after:
            rec = ops.matmul(h_in, w["U"])
            if self.use_bias:
                rec = rec + w["b"]
            r_z, r_r, r_h = ops.split(rec, 3, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            candidate = self.activation(x_h + r * r_h)
        else:
            rec = ops.matmul(h_in, w["U"][:, : 2 * u])
            r_z, r_r = ops.split(rec, 2, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            candidate = self.activation(x_h + ops.matmul(r * h_in, w["U"][:, 2 * u :]))
        h = z * h_prev + (1.0 - z) * candidate
        return [h]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


# --- whole-sequence layers ----------------------------------------------------------------------


class _ProjectedStep:
    """Mixin for the cell inside a whole-sequence layer: its per-step inputs are already the
    input projection x_t W + b, so a step is only the recurrent update."""

    def call(self, inputs, states, training=False):
        h_mask = self.get_recurrent_dropout_mask(states[0])
        h_mask = h_mask[0] if training and h_mask is not None else None
        new_states = self.recur(inputs, list(states), h_mask)
        return new_states[0], new_states

    def get_dropout_mask(self, step_input):
        return None  # input dropout is applied by the sequence layer, before the projection


class _GatedSequence(keras.layers.RNN):
    """A `keras.layers.RNN` over a gated cell that projects the inputs of all steps at once.

    `keras.layers.RNN` runs the time loop (masks, `go_backwards`, `return_state`, `unroll`,
    `Bidirectional`, XLA), so the only change from the cell is where x_t W + b is computed:
    once for the whole sequence, as one (batch * time, features) x (features, gates * units)
    product, instead of once per step.
    """

    step_class = None

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        layer_kwargs = {k: kwargs.pop(k) for k in _LAYER_KWARGS if k in kwargs}
        super().__init__(
            self.step_class(units, **kwargs),
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **layer_kwargs,
        )

    @property
    def units(self):
        return self.cell.units

    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} expects sequences of shape (batch, time, features); "
                f"got {sequences_shape}."
            )
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        cell = self.cell
        if training and cell.dropout > 0:  # one input mask per sequence, shared by every step
            ones = ops.ones_like(sequences[:, :1, :])
            sequences = sequences * keras.random.dropout(
                ones, rate=cell.dropout, seed=cell.seed_generator
            )
        return super().call(
            cell.project(sequences), initial_state=initial_state, mask=mask, training=training
        )

    def get_config(self):
        config = super().get_config()
        cell_config = config.pop("cell")["config"]
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        return {**config, **cell_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_LAYER_KWARGS = ("name", "dtype", "trainable")


class _LSTMStep(_ProjectedStep, LSTMCell):
    pass


class _GRUStep(_ProjectedStep, GRUCell):
    pass


@keras.saving.register_keras_serializable(package="recipes")
class LSTM(_GatedSequence):
    """A whole-sequence LSTM: `LSTMCell`'s equations, with the input projection of all steps
    computed in one matrix product before the time loop (as cuDNN does).

    Same weights and outputs as `keras.layers.RNN(LSTMCell(...))` and `keras.layers.LSTM`.
    Accepts every `LSTMCell` argument plus `keras.layers.RNN`'s `return_sequences`,
    `return_state`, `go_backwards`, `stateful`, `unroll` and `zero_output_for_mask`.

    Example:
        >>> layer = LSTM(32, return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 32)
    """

    step_class = _LSTMStep


@keras.saving.register_keras_serializable(package="recipes")
class GRU(_GatedSequence):
    """A whole-sequence GRU: `GRUCell`'s equations, with the input projection of all steps
    computed in one matrix product before the time loop (as cuDNN does).

    Same weights and outputs as `keras.layers.RNN(GRUCell(...))` and `keras.layers.GRU` with the
    same `reset_after`. Accepts every `GRUCell` argument plus `keras.layers.RNN`'s
    `return_sequences`, `return_state`, `go_backwards`, `stateful`, `unroll` and
    `zero_output_for_mask`.

    Example:
        >>> layer = GRU(32)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 32)
    """

    step_class = _GRUStep
