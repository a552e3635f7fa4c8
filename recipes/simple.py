"""The simple recurrent family: Elman, Jordan, fully recurrent and recurrent-MLP cells.

Every cell here is a Keras layer with a `call(inputs, states, training)` that computes one time
step, so it runs inside `keras.layers.RNN` (and `keras.layers.Bidirectional` around it) on the
TensorFlow, JAX and PyTorch backends. Masked (padded) steps are handled by `keras.layers.RNN`,
which carries the state over them unchanged. Keras's JAX backend also carries the *output*
over masked steps by reading it from the first state, so every cell here keeps its output as
`states[0]`.

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


@keras.saving.register_keras_serializable(package="recipes")
class ElmanCell(DropoutMasks, keras.layers.Layer):
    """Elman's simple recurrent network: the context units hold the previous hidden state.

    Equations (Elman's context units are a copy of s_{t-1}):

        s_t = f(x_t U + s_{t-1} W + b)

    The cell outputs s_t; put a `keras.layers.Dense` after the RNN for o_t = g(V s_t + c).
    The weights `kernel` (U, shape (features, units)), `recurrent_kernel` (W, shape
    (units, units)) and `bias` (b, shape (units,)) have the shapes and meaning of
    `keras.layers.SimpleRNN`'s, so `set_weights(simple_rnn.get_weights())` gives identical
    outputs.

    Reference: J. L. Elman (1990), "Finding structure in time", Cognitive Science 14(2).

    Args:
        units: size of the hidden state s.
        activation: f, default `"tanh"`.
        use_bias: whether to add b.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of U, W, b.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional regularizers.
        dropout: fraction of the inputs x_t dropped (same mask at every step).
        recurrent_dropout: fraction of s_{t-1} dropped (same mask at every step).
        seed: seed of the dropout masks.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: [s_{t-1}], shape (batch, units).
        training: whether dropout is applied.

    Example:
        >>> layer = keras.layers.RNN(ElmanCell(16), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 16)
    """

    def __init__(
        self,
        units,
        activation="tanh",
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
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        features = check_step_input("ElmanCell", input_shape)
        self.input_features = features
        self.kernel = self.add_weight(
            shape=(features, self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        x, s_prev = inputs, states[0]
        x_mask = self.get_dropout_mask(x)
        s_mask = self.get_recurrent_dropout_mask(s_prev)
        if training and x_mask is not None:
            x = x * x_mask
        if training and s_mask is not None:
            s_prev = s_prev * s_mask[0]
        z = ops.matmul(x, self.kernel) + ops.matmul(s_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        s = self.activation(z)
        return s, [s]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=self.units,
                activation=self.activation,
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
class JordanCell(DropoutMasks, keras.layers.Layer):
    """Jordan's network: the context units hold the previous *output*, not the hidden state.

    Equations (c is the context, mu its self-connection; with mu = 0, c_{t-1} = y_{t-1}):

        h_t = f(x_t U + c_{t-1} W_y + b)
        y_t = g(h_t V + d)
        c_t = mu c_{t-1} + y_t

    The cell outputs y_t; its states are [y_t, c_t] (y_t first, as Keras masking expects). Because the network can only remember what it outputs, it is weaker
    than Elman's on tasks that need a hidden memory; Jordan's state units with mu > 0 keep a
    decaying trace of past outputs.

    Weights: `kernel` (U, (features, units)), `recurrent_kernel` (W_y, (output_units, units)),
    `bias` (b), `output_kernel` (V, (units, output_units)), `output_bias` (d).

    Reference: M. I. Jordan (1986), "Serial order: a parallel distributed processing approach",
    ICS Report 8604, UC San Diego.

    Args:
        units: size of the hidden layer h.
        output_units: size of the output y (and of the context c).
        activation: f, default `"tanh"`.
        output_activation: g, default `None` (linear); use `"sigmoid"` or `"softmax"` for
            probabilities.
        context_decay: mu in [0, 1), the self-connection of the context units.
        use_bias: whether to add b and d.
        kernel_initializer, recurrent_initializer, output_initializer, bias_initializer:
            initializers of U, W_y, V and of both biases.
        kernel_regularizer, recurrent_regularizer, output_regularizer: optional regularizers.
        dropout, recurrent_dropout: fractions of x_t and c_{t-1} dropped (same mask every step).
        seed: seed of the dropout masks.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: [y_{t-1}, c_{t-1}], each of shape (batch, output_units).
        training: whether dropout is applied.

    Example:
        >>> layer = keras.layers.RNN(JordanCell(16, output_units=4), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 4)
    """

    def __init__(
        self,
        units,
        output_units,
        activation="tanh",
        output_activation=None,
        context_decay=0.0,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        output_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        output_regularizer=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.output_units = check_positive_int("output_units", output_units)
        self.activation = activations.get(activation)
        self.output_activation = activations.get(output_activation)
        self.context_decay = check_rate("context_decay", context_decay)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.output_initializer = initializers.get(output_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.output_regularizer = regularizers.get(output_regularizer)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.state_size = [self.output_units, self.output_units]
        self.output_size = self.output_units

    def recurrent_mask_sizes(self):
        return [self.output_units]  # only the context c_{t-1} feeds the hidden layer

    def build(self, input_shape):
        features = check_step_input("JordanCell", input_shape)
        self.input_features = features
        self.kernel = self.add_weight(
            shape=(features, self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.output_units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.output_kernel = self.add_weight(
            shape=(self.units, self.output_units),
            name="output_kernel",
            initializer=self.output_initializer,
            regularizer=self.output_regularizer,
        )
        self.bias = self.output_bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,), name="bias", initializer=self.bias_initializer
            )
            self.output_bias = self.add_weight(
                shape=(self.output_units,), name="output_bias", initializer=self.bias_initializer
            )

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        x, c_prev = inputs, states[1]
        x_mask = self.get_dropout_mask(x)
        c_mask = self.get_recurrent_dropout_mask(c_prev)
        c_in = c_prev
        if training and x_mask is not None:
            x = x * x_mask
        if training and c_mask is not None:
            c_in = c_prev * c_mask[0]
        z = ops.matmul(x, self.kernel) + ops.matmul(c_in, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        h = self.activation(z)
        y = ops.matmul(h, self.output_kernel)
        if self.output_bias is not None:
            y = y + self.output_bias
        y = self.output_activation(y)
        c = self.context_decay * c_prev + y
        return y, [y, c]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.output_units), dtype=self.compute_dtype)] * 2

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=self.units,
                output_units=self.output_units,
                activation=self.activation,
                output_activation=self.output_activation,
                context_decay=self.context_decay,
                use_bias=self.use_bias,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                output_initializer=self.output_initializer,
                bias_initializer=self.bias_initializer,
                kernel_regularizer=self.kernel_regularizer,
                recurrent_regularizer=self.recurrent_regularizer,
                output_regularizer=self.output_regularizer,
                dropout=self.dropout,
                recurrent_dropout=self.recurrent_dropout,
                seed=self.seed,
            ),
        }


@keras.saving.register_keras_serializable(package="recipes")
class FullyRecurrentCell(DropoutMasks, keras.layers.Layer):
    """Williams and Zipser's fully recurrent network: every unit sees every input and unit.

    N units are fully interconnected; each receives every external input and every unit's
    previous value. There is no separate output layer: the first `output_units` units are the
    visible (output) units, on which the loss is put, and the rest are hidden:

        y_t = f(x_t W_in + y_{t-1} W + b)          (all N units)
        output_t = y_t[:, :output_units]

    The state y_t is kept as two tensors, [visible units, hidden units] (the visible ones
    first, as Keras masking expects); the hidden part is absent when every unit is visible.

    Compared with `ElmanCell` the difference is where the output comes from: Elman reads it
    through a separate layer V, here the output units are part of the recurrent pool, so their
    values feed back into every unit at the next step.

    Reference: R. J. Williams and D. Zipser (1989), "A learning algorithm for continually running
    fully recurrent neural networks", Neural Computation 1(2).

    Args:
        units: N, the number of units.
        output_units: how many of the units are visible, `None` for all of them.
        activation: f, default `"tanh"` (`"sigmoid"` for the paper's logistic units).
        use_bias: whether to add b.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of W_in, W, b.
        kernel_regularizer, recurrent_regularizer: optional regularizers.
        dropout, recurrent_dropout: fractions of x_t and y_{t-1} dropped (same mask every step).
        seed: seed of the dropout masks.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: [y_{t-1}[:, :output_units], y_{t-1}[:, output_units:]].
        training: whether dropout is applied.

    Example:
        >>> layer = keras.layers.RNN(FullyRecurrentCell(16, output_units=2))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 2)
    """

    def __init__(
        self,
        units,
        output_units=None,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        if output_units is None:
            output_units = self.units
        check_positive_int("output_units", output_units)
        if output_units > self.units:
            raise ValueError(
                f"`output_units` must be at most `units` ({self.units}): the visible units are "
                f"a subset of the network's units; got {output_units}."
            )
        self.output_units = output_units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        hidden = self.units - self.output_units
        self.state_size = [self.output_units] + ([hidden] if hidden else [])
        self.output_size = self.output_units

    def recurrent_mask_sizes(self):
        return [self.units]  # one mask over all N units of y_{t-1}

    def build(self, input_shape):
        features = check_step_input("FullyRecurrentCell", input_shape)
        self.input_features = features
        self.kernel = self.add_weight(
            shape=(features, self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,), name="bias", initializer=self.bias_initializer
            )

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        x = inputs
        y_prev = ops.concatenate(states, axis=-1) if len(states) > 1 else states[0]
        x_mask = self.get_dropout_mask(x)
        y_mask = self.get_recurrent_dropout_mask(y_prev)
        if training and x_mask is not None:
            x = x * x_mask
        if training and y_mask is not None:
            y_prev = y_prev * y_mask[0]
        z = ops.matmul(x, self.kernel) + ops.matmul(y_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        y = self.activation(z)
        visible, hidden = y[:, : self.output_units], y[:, self.output_units :]
        return visible, [visible, hidden] if len(states) > 1 else [visible]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=self.units,
                output_units=self.output_units,
                activation=self.activation,
                use_bias=self.use_bias,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                bias_initializer=self.bias_initializer,
                kernel_regularizer=self.kernel_regularizer,
                recurrent_regularizer=self.recurrent_regularizer,
                dropout=self.dropout,
                recurrent_dropout=self.recurrent_dropout,
                seed=self.seed,
            ),
        }


@keras.saving.register_keras_serializable(package="recipes")
class RMLPCell(DropoutMasks, keras.layers.Layer):
    """Recurrent multilayer perceptron: a stack of layers, each recurrent onto itself.

    Layer l (l = 1..L) sees the layer below at the same step and its own previous state;
    there are no connections between the layers' states across time other than these:

        h^0_t = x_t
        h^l_t = f(h^{l-1}_t U_l + h^l_{t-1} W_l + b_l)

    The cell outputs h^L_t; its states are [h^L, ..., h^1], top layer first (the output first,
    as Keras masking expects). Unlike stacking `keras.layers.RNN` layers, all layers advance
    together within one step, as in the RMLP used for neurocontrol.

    Weights per layer l (0-based in names): `kernel_l` (U_l), `recurrent_kernel_l` (W_l),
    `bias_l` (b_l).

    Reference: G. V. Puskorius and L. A. Feldkamp (1994), "Neurocontrol of nonlinear dynamical
    systems with Kalman filter trained recurrent networks", IEEE Trans. Neural Networks 5(2).

    Args:
        units: a list of layer sizes, e.g. `[32, 16]`.
        activation: f, default `"tanh"`.
        use_bias: whether to add the biases.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
        kernel_regularizer, recurrent_regularizer: optional regularizers.
        dropout: fraction of x_t dropped; recurrent_dropout: fraction of each h^l_{t-1} dropped.
        seed: seed of the dropout masks.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: [h^L_{t-1}, ..., h^1_{t-1}], top layer first.
        training: whether dropout is applied.

    Example:
        >>> layer = keras.layers.RNN(RMLPCell([32, 16]), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 16)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, int) and not isinstance(units, bool):
            units = [units]
        if not isinstance(units, (list, tuple)) or not units:
            raise ValueError(
                f"`units` must be a non-empty list of layer sizes, e.g. [32, 16]; got {units!r}."
            )
        for i, u in enumerate(units):
            check_positive_int(f"units[{i}]", u)
        self.units = [int(u) for u in units]
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.state_size = self.units[::-1]
        self.output_size = self.units[-1]

    def build(self, input_shape):
        below = check_step_input("RMLPCell", input_shape)
        self.input_features = below
        self.kernels, self.recurrent_kernels, self.biases = [], [], []
        for l, size in enumerate(self.units):
            self.kernels.append(
                self.add_weight(
                    shape=(below, size),
                    name=f"kernel_{l}",
                    initializer=self.kernel_initializer,
                    regularizer=self.kernel_regularizer,
                )
            )
            self.recurrent_kernels.append(
                self.add_weight(
                    shape=(size, size),
                    name=f"recurrent_kernel_{l}",
                    initializer=self.recurrent_initializer,
                    regularizer=self.recurrent_regularizer,
                )
            )
            self.biases.append(
                self.add_weight(shape=(size,), name=f"bias_{l}", initializer=self.bias_initializer)
                if self.use_bias
                else None
            )
            below = size

    def recurrent_mask_sizes(self):
        return list(self.units)  # one mask per layer, bottom layer first

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        h = inputs
        h_prevs = list(states)[::-1]  # bottom layer first
        x_mask = self.get_dropout_mask(h)
        h_masks = self.get_recurrent_dropout_mask(states[0])
        if training and x_mask is not None:
            h = h * x_mask
        new_states = []
        for l in range(len(self.units)):
            h_prev = h_prevs[l]
            if training and h_masks is not None:
                h_prev = h_prev * h_masks[l]
            z = ops.matmul(h, self.kernels[l]) + ops.matmul(h_prev, self.recurrent_kernels[l])
            if self.biases[l] is not None:
                z = z + self.biases[l]
            h = self.activation(z)
            new_states.append(h)
        return h, new_states[::-1]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, u), dtype=self.compute_dtype) for u in self.state_size]

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=list(self.units),
                activation=self.activation,
                use_bias=self.use_bias,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                bias_initializer=self.bias_initializer,
                kernel_regularizer=self.kernel_regularizer,
                recurrent_regularizer=self.recurrent_regularizer,
                dropout=self.dropout,
                recurrent_dropout=self.recurrent_dropout,
                seed=self.seed,
            ),
        }
