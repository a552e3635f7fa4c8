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

from recipes.base import (
    DropoutMasks,
    check_built_input,
    check_positive_int,
    check_rate,
    check_step_input,
    serialize,
)


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
        self.input_features = features
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
        check_built_input(self, inputs)
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

    With `fused=True`, and where it applies, the time loop is instead the fused scan with a
    hand-written backward pass (`_lstm_fused`, `_gru_fused`), `fused_chunk` steps unrolled per
    scan iteration. It applies when there is no mask, the layer is not stateful, no recurrent
    dropout is active (training with `recurrent_dropout > 0`), the activations are tanh and
    sigmoid and (LSTM) there are no peepholes; otherwise the layer falls back to the
    `keras.layers.RNN` loop, which gives the same outputs (tested). It is off by default: on
    CPU (batch 64, T=100, 128 units) its train step measured no faster than the loop on any
    backend (benchmarks/cells.py), so it is kept as the readable reference of the method.
    """

    step_class = None
    fused_chunk = 10  # time steps unrolled per iteration of the fused scan

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        fused=False,
        **kwargs,
    ):
        self.fused = bool(fused)
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
        if self.fused_applies(mask, training):
            return self._fused_call(sequences, initial_state)
        return super().call(
            cell.project(sequences), initial_state=initial_state, mask=mask, training=training
        )

    def fused_applies(self, mask=None, training=False):
        """Whether a call with this mask and training flag runs the fused path."""
        cell = self.cell
        return (
            self.fused
            and mask is None
            and not self.stateful
            and not (training and cell.recurrent_dropout > 0)
            and cell.activation is activations.tanh
            and cell.recurrent_activation is activations.sigmoid
            and not getattr(cell, "peephole", False)
        )

    def _fused_call(self, sequences, initial_state):
        cell = self.cell
        if initial_state is None:
            initial_state = cell.get_initial_state(ops.shape(sequences)[0])
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        states = [ops.convert_to_tensor(s, dtype=cell.compute_dtype) for s in initial_state]
        x = ops.transpose(sequences, (1, 0, 2))  # time-major; cheaper before the projection
        if self.go_backwards:
            x = ops.flip(x, axis=0)
        steps, chunk = x.shape[0], 1
        if steps is not None:  # pad the end to whole chunks; padded steps never reach an output
            chunk = min(self.fused_chunk, steps)
            x = ops.pad(x, [(0, -steps % chunk), (0, 0), (0, 0)])
        sequences_of_states = [s[:steps] for s in self._fused_scan(cell.project(x), states, chunk)]
        outputs = sequences_of_states[0]
        output = ops.transpose(outputs, (1, 0, 2)) if self.return_sequences else outputs[-1]
        if self.return_state:
            return output, *[s[-1] for s in sequences_of_states]
        return output

    def get_config(self):
        config = super().get_config()
        config["fused"] = self.fused
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
    `return_state`, `go_backwards`, `stateful`, `unroll` and `zero_output_for_mask`, and
    `fused`: run the custom-gradient scan (`_lstm_fused`) where it applies (no mask, not
    stateful, no active recurrent dropout, tanh and sigmoid, no peepholes), else the loop.

    Example:
        >>> layer = LSTM(32, return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 32)
    """

    step_class = _LSTMStep

    def _fused_scan(self, xw, states, chunk):
        """[h_t for every t, c_t for every t], each (T, batch, units)."""
        h_and_c = _lstm_fused(chunk)(xw, *states, ops.copy(self.cell.recurrent_kernel))
        return [h_and_c[..., : self.units], h_and_c[..., self.units :]]


@keras.saving.register_keras_serializable(package="recipes")
class GRU(_GatedSequence):
    """A whole-sequence GRU: `GRUCell`'s equations, with the input projection of all steps
    computed in one matrix product before the time loop (as cuDNN does).

    Same weights and outputs as `keras.layers.RNN(GRUCell(...))` and `keras.layers.GRU` with the
    same `reset_after`. Accepts every `GRUCell` argument plus `keras.layers.RNN`'s
    `return_sequences`, `return_state`, `go_backwards`, `stateful`, `unroll` and
    `zero_output_for_mask`, and `fused`: run the custom-gradient scan (`_gru_fused`, both
    `reset_after` variants) where it applies (no mask, not stateful, no active recurrent
    dropout, tanh and sigmoid), else the loop.

    Example:
        >>> layer = GRU(32)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 32)
    """

    step_class = _GRUStep

    def _fused_scan(self, xw, states, chunk):
        """[h_t for every t], (T, batch, units)."""
        cell = self.cell
        if cell.reset_after and cell.use_bias:
            bias = cell.bias[1]
        else:
            bias = ops.zeros((3 * self.units,), dtype=xw.dtype)
        fused = _gru_fused(chunk, cell.reset_after)
        return [fused(xw, states[0], ops.copy(cell.recurrent_kernel), bias)]


# --- the fused path: a whole-sequence forward scan with a hand-written backward scan -----------
#
# Autodiff through a time loop saves every intermediate of every step and, in the backward loop,
# computes the recurrent-weight gradient h_{t-1}^T dz_t as T small products. The fused path
# instead saves only the activated gates, runs one reverse scan that computes dz_t and
# dh_{t-1} = dz_t U^T per step, and gets dU = H_prev^T dZ as ONE (units, batch*T) x
# (batch*T, gates*units) product after the loop. The input projection x_t W + b stays outside
# (autodiff gives dW = X^T dZ and db = sum dZ from the returned dZ, again one product). Each scan
# iteration runs `chunk` steps unrolled in Python, which cuts the per-iteration loop overhead.


def _chunked_scan(step, state, xs, ys_zeros, chunk, reverse=False):
    """Runs `state, y = step(state, x_t)` over the leading (time) axis of the tuple `xs`, `chunk`
    steps per scan iteration; returns (final state, tuple of ys stacked over time).

    `ys_zeros` are zero tensors shaped like one step's ys. The scan carry holds the last chunk's
    ys too, because TensorFlow's `ops.scan` needs ys shaped like the carry.
    """
    steps = ops.shape(xs[0])[0]
    xs = tuple(ops.reshape(x, (steps // chunk, chunk) + tuple(ops.shape(x)[1:])) for x in xs)
    order = list(reversed(range(chunk))) if reverse else list(range(chunk))

    def body(carry, x_chunk):
        state = carry[0]
        ys = [None] * chunk
        for j in order:
            state, ys[j] = step(state, tuple(x[j] for x in x_chunk))
        stacked = tuple(ops.stack(y, axis=0) for y in zip(*ys))
        return (state, stacked), (state, stacked)

    init = (state, tuple(ops.stack([y] * chunk, axis=0) for y in ys_zeros))
    (state, _), (_, ys) = ops.scan(body, init, xs, reverse=reverse)
    return state, tuple(ops.reshape(y, (steps,) + tuple(ops.shape(y)[2:])) for y in ys)


def _shift(first, seq):
    """[first, seq_0, ..., seq_{T-2}]: the previous step's value at every step."""
    return ops.concatenate([first[None], seq[:-1]], axis=0)


def _lstm_fused(chunk):
    """The LSTM over a whole sequence with a hand-written gradient.

    fused(xw, h0, c0, U) takes the input projections xw (T, batch, 4 units), the initial states
    and the recurrent kernel, and returns concat([h_t, c_t]) for every t, shape (T, batch,
    2 units). The forward scan saves sigmoid(z_t) (i, f, o), g_t and tanh(c_t) of every step.
    With i, f, g, o the activated gates of step t and gh_t, gc_t the upstream gradients of the
    outputs h_t and c_t, the backward scan runs from t = T down to 1 (terms of step T+1 are 0):

        dh_t = gh_t + dz_{t+1} U^T                         (everything that reads h_t)
        dc_t = gc_t + dh_t * o * (1 - tanh(c_t)^2) + dc_{t+1} * f_{t+1}
        dz_t = [dc_t * g * i (1 - i),  dc_t * c_{t-1} * f (1 - f),  dc_t * i * (1 - g^2),
                dh_t * tanh(c_t) * o (1 - o)]               (the pre-activations' gradient)

    and then dxw = dZ, dU = H_prev^T dZ (one product), dh0 = dz_1 U^T, dc0 = dc_1 * f_1.
    """

    @ops.custom_gradient
    def fused(xw, h0, c0, U):
        n = ops.shape(h0)[-1]

        def step(state, x):
            h, c = state
            z = x[0] + ops.matmul(h, U)
            s = ops.sigmoid(z)  # i, f and o (one op on all gates; the g slot is unused)
            g = ops.tanh(z[:, 2 * n : 3 * n])
            c = s[:, n : 2 * n] * c + s[:, :n] * g
            tanh_c = ops.tanh(c)
            h = s[:, 3 * n :] * tanh_c
            return (h, c), (h, c, s, g, tanh_c)

        zeros = ops.zeros_like(h0)
        _, (hs, cs, sig, gs, tanh_cs) = _chunked_scan(
            step, (h0, c0), (xw,), (zeros, zeros, ops.zeros_like(xw[0]), zeros, zeros), chunk
        )

        def grad(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            dhs, dcs = upstream[..., :n], upstream[..., n:]
            u_t = ops.transpose(U)

            def back(state, x):
                dh_next, dc_next = state  # dz_{t+1} U^T and dc_{t+1} * f_{t+1}
                dh_t, dc_t, s, g, tanh_c, c_prev = x
                i, f, o = s[:, :n], s[:, n : 2 * n], s[:, 3 * n :]
                dh = dh_t + dh_next
                dc = dc_t + dh * o * (1.0 - tanh_c * tanh_c) + dc_next
                dz = ops.concatenate(
                    [
                        dc * g * i * (1.0 - i),
                        dc * c_prev * f * (1.0 - f),
                        dc * i * (1.0 - g * g),
                        dh * tanh_c * o * (1.0 - o),
                    ],
                    axis=-1,
                )
                return (ops.matmul(dz, u_t), dc * f), (dz,)

            (dh0, dc0), (dz,) = _chunked_scan(
                back,
                (zeros, zeros),
                (dhs, dcs, sig, gs, tanh_cs, _shift(c0, cs)),
                (ops.zeros_like(xw[0]),),
                chunk,
                reverse=True,
            )
            h_prev = ops.reshape(_shift(h0, hs), (-1, n))
            d_u = ops.matmul(ops.transpose(h_prev), ops.reshape(dz, (-1, 4 * n)))
            return dz, dh0, dc0, d_u

        return ops.concatenate([hs, cs], axis=-1), grad

    return fused


def _gru_fused(chunk, reset_after):
    """The GRU over a whole sequence with a hand-written gradient.

    fused(xw, h0, U, b) takes the input projections xw (T, batch, 3 units) (x W plus the input
    bias), the initial state, the recurrent kernel and the recurrent bias b (zeros unless
    reset_after and use_bias), and returns h_t for every t, shape (T, batch, units). The backward
    scan, from t = T down to 1, with dh = dh_t + (everything step t+1 sent back to h_t):

        dz~ = dh * (h_{t-1} - h~) * z (1 - z)        dn = dh * (1 - z) * (1 - h~^2)
        reset_after=True, with q = h_{t-1} U_h + b_h:
            dr~ = dn * q * r (1 - r);   dq = dn * r
            to h_{t-1}: dh * z + [dz~, dr~, dq] U^T
            dU = H_prev^T [dZ~, dR~, dQ],  db = sum [dZ~, dR~, dQ]
        reset_after=False, with s = r * h_{t-1}:
            ds = dn U_h^T;  dr~ = ds * h_{t-1} * r (1 - r)
            to h_{t-1}: dh * z + ds * r + [dz~, dr~] U_zr^T
            dU_zr = H_prev^T [dZ~, dR~],  dU_h = S^T dN
    and dxw = [dz~, dr~, dn] (the pre-activations' gradient).
    """

    @ops.custom_gradient
    def fused(xw, h0, U, b):
        n = ops.shape(h0)[-1]

        def step(state, x):
            (h,) = state
            x = x[0]
            if reset_after:
                rec = ops.matmul(h, U) + b
                z = ops.sigmoid(x[:, :n] + rec[:, :n])
                r = ops.sigmoid(x[:, n : 2 * n] + rec[:, n : 2 * n])
                q = rec[:, 2 * n :]
                cand = ops.tanh(x[:, 2 * n :] + r * q)
                saved = ops.concatenate([z, r, cand, q], axis=-1)
            else:
                rec = ops.matmul(h, U[:, : 2 * n])
                z = ops.sigmoid(x[:, :n] + rec[:, :n])
                r = ops.sigmoid(x[:, n : 2 * n] + rec[:, n:])
                cand = ops.tanh(x[:, 2 * n :] + ops.matmul(r * h, U[:, 2 * n :]))
                saved = ops.concatenate([z, r, cand], axis=-1)
            h = z * h + (1.0 - z) * cand
            return (h,), (h, saved)

        saved_width = 4 if reset_after else 3
        zeros = ops.zeros_like(h0)
        _, (hs, gates) = _chunked_scan(
            step, (h0,), (xw,), (zeros, ops.zeros((ops.shape(h0)[0], saved_width * n), h0.dtype)),
            chunk,
        )

        def grad(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            u_t = ops.transpose(U)

            def back(state, x):
                (dh_next,) = state
                dh_t, a, h_prev = x
                z, r, cand = a[:, :n], a[:, n : 2 * n], a[:, 2 * n : 3 * n]
                dh = dh_t + dh_next
                dz = dh * (h_prev - cand) * z * (1.0 - z)
                dn = dh * (1.0 - z) * (1.0 - cand * cand)
                if reset_after:
                    dr = dn * a[:, 3 * n :] * r * (1.0 - r)
                    d_rec = ops.concatenate([dz, dr, dn * r], axis=-1)
                    dh_prev = dh * z + ops.matmul(d_rec, u_t)
                else:
                    ds = ops.matmul(dn, u_t[2 * n :])
                    dr = ds * h_prev * r * (1.0 - r)
                    d_rec = ops.concatenate([dz, dr], axis=-1)
                    dh_prev = dh * z + ds * r + ops.matmul(d_rec, u_t[: 2 * n])
                return (dh_prev,), (ops.concatenate([dz, dr, dn], axis=-1), d_rec)

            h_prevs = _shift(h0, hs)
            rec_width = 3 if reset_after else 2
            (dh0,), (dxw, d_rec) = _chunked_scan(
                back,
                (zeros,),
                (upstream, gates, h_prevs),
                (ops.zeros_like(xw[0]), ops.zeros((ops.shape(h0)[0], rec_width * n), h0.dtype)),
                chunk,
                reverse=True,
            )
            h_prev = ops.reshape(h_prevs, (-1, n))
            d_rec = ops.reshape(d_rec, (-1, rec_width * n))
            d_u = ops.matmul(ops.transpose(h_prev), d_rec)
            if reset_after:
                d_b = ops.sum(d_rec, axis=0)
            else:
                s = ops.reshape(gates[..., n : 2 * n] * h_prevs, (-1, n))
                d_n = ops.reshape(dxw[..., 2 * n :], (-1, n))
                d_u = ops.concatenate([d_u, ops.matmul(ops.transpose(s), d_n)], axis=-1)
                d_b = ops.zeros_like(b)
            return dxw, dh0, d_u, d_b

        return hs, grad

    return fused
