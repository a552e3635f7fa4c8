"""The neural network pushdown automaton: a recurrent controller with a continuous stack.

Sun, Giles, Chen and Lee (1993) gave a recurrent network an external stack whose push and pop
actions are real numbers, so that the whole machine (a neural network pushdown automaton,
NNPDA) is trained by gradient descent and can learn context-free languages such as balanced
parentheses and a^n b^n. `NeuralStackCell` is that idea in the differentiable form of
Grefenstette, Hermann, Suleyman and Blunsom (2015): every step the controller pops with a
strength u_t in [0, 1], pushes a vector v_t with a strength d_t in [0, 1], and reads the top
unit of strength. With u_t and d_t exactly 0 or 1 the stack is a discrete stack (tested).

`stack_update` and `stack_read` are the stack's two equations as plain functions of tensors;
`stack_trace` runs a cell step by step and returns the push and pop strengths, the pushed
values, the strengths and the reads at every step, for plotting.

Shared helper: `recipes/base.py` (argument checks).
"""

import keras
import numpy as np
from keras import activations, initializers, ops, regularizers

from recipes.base import check_built_input, check_positive_int, check_step_input, serialize

CONTROLLERS = ("lstm", "elman", "feedforward")


def _check_stack_shapes(**tensors):
    """Raise unless the tensors have the shapes of the stack: `values` (batch, K, m), `strengths`
    (batch, K), `push` and `pop` (batch, 1), `value` (batch, m); None (unknown) matches any size."""
    expected = {"values": ("batch", "K", "m"), "strengths": ("batch", "K"), "push": ("batch", 1),
                "pop": ("batch", 1), "value": ("batch", "m")}
    sizes = {}
    for name, tensor in tensors.items():
        shape = tuple(tensor.shape)
        names = expected[name]
        wrong = len(shape) != len(names)
        for size, symbol in zip(shape, names):
            if wrong or size is None:
                continue
            if isinstance(symbol, int):
                wrong = size != symbol
            else:
                wrong = sizes.setdefault(symbol, size) != size
        if wrong:
            known = ", ".join(f"{k}={v}" for k, v in sizes.items())
            raise ValueError(
                f"`{name}` must have shape ({', '.join(map(str, names))})"
                f"{f' with {known}' if known else ''}, got {shape}."
            )


def stack_update(values, strengths, push, pop, value):
    """One update of the continuous stack (Grefenstette et al. 2015, equations 1 and 2).

    Slot 0 is the top. `values` (batch, K, m) and `strengths` (batch, K) are the stack before
    the step; `push` d_t and `pop` u_t have shape (batch, 1); `value` v_t has shape (batch, m).
    The pop removes u_t units of strength from the top down, then v_t goes on top with
    strength d_t. Returns the new (values, strengths); the bottom slot falls off. Any other
    shape raises a ValueError (a (batch,) pop would broadcast across the slots).
    """
    values, strengths, push, pop, value = (
        ops.convert_to_tensor(t) for t in (values, strengths, push, pop, value)
    )
    _check_stack_shapes(values=values, strengths=strengths, push=push, pop=pop, value=value)
    above = ops.cumsum(strengths, axis=1) - strengths  # strength lying above each slot
    popped = ops.relu(strengths - ops.relu(pop - above))
    strengths = ops.concatenate([push, popped[:, :-1]], axis=1)
    values = ops.concatenate([value[:, None, :], values[:, :-1]], axis=1)
    return values, strengths


def stack_read(values, strengths):
    """The read vector r_t (equation 3): the values of the top unit of strength, weighted by
    how much of each slot lies within it. An empty stack reads zeros."""
    values, strengths = ops.convert_to_tensor(values), ops.convert_to_tensor(strengths)
    _check_stack_shapes(values=values, strengths=strengths)
    above = ops.cumsum(strengths, axis=1) - strengths
    weights = ops.minimum(strengths, ops.relu(1.0 - above))
    return ops.sum(weights[:, :, None] * values, axis=1)


@keras.saving.register_keras_serializable(package="recipes")
class NeuralStackCell(keras.layers.Layer):
    """A controller network with a continuous stack: a neural network pushdown automaton.

    Equations (Grefenstette et al. 2015; the stack has K slots, slot i holds a value V_t[i] of
    size m and a strength s_t[i]; here slot 1 is the top, the paper counts from the bottom):

        (h_t, c_t) = LSTM([x_t, r_{t-1}], (h_{t-1}, c_{t-1}))      controller "lstm"
        h_t = tanh([x_t, r_{t-1}] W + h_{t-1} U + b)               controller "elman"
        h_t = tanh([x_t, r_{t-1}] W + b)                           controller "feedforward"
        d_t = sigmoid(h_t W_d + b_d)       push strength
        u_t = sigmoid(h_t W_u + b_u)       pop strength
        v_t = tanh(h_t W_v + b_v)          pushed value   (v_t = x_t with push_inputs=True)
        s'[i] = relu(s_{t-1}[i] - relu(u_t - sum_{j<i} s_{t-1}[j]))        pop from the top
        s_t = [d_t, s'[1], ..., s'[K-1]],   V_t = [v_t, V_{t-1}[1], ..., V_{t-1}[K-1]]   push
        r_t = sum_i min(s_t[i], relu(1 - sum_{j<i} s_t[j])) V_t[i]        read the top unit

    Every step pushes a slot (with strength d_t, possibly 0), as in the paper, so the stack is
    exact for sequences of up to K = `stack_size` steps; after that the oldest slot falls off
    the bottom. The strengths stay in [0, 1] and with d_t, u_t in {0, 1} the stack is a
    discrete stack (pop first, then push; popping an empty stack does nothing; an empty stack
    reads zeros). The read r_t reaches the controller at the next step, so it feeds the
    output h_{t+1}; the cell outputs h_t, or [h_t, r_t] with `output_read=True` (put a
    `keras.layers.Dense` after the RNN).

    Two options bring the cell closer to Sun et al.'s NNPDA, which pushes the current input
    symbol and accepts a string only if the stack is empty at its end. `push_inputs=True`
    pushes the input itself, v_t = x_t (then `stack_width` is the number of input features and
    there is no W_v): the stack can no longer serve as a free recurrent state (a feed-forward controller
    could otherwise push a function of its last read at every step and count in the pushed
    values). `output_read=True` lets the output see r_t, the top after this step's pop and push,
    so "the stack is now empty" can be read off at once instead of one step later.

    Weights: `kernel` (features + m, G units), `recurrent_kernel` (units, G units), `bias`
    (G units,) of the controller, G = 4 for the LSTM (gate order i, f, c, o as in
    `keras.layers.LSTM`, forget bias started at 1) and 1 otherwise (no `recurrent_kernel` for
    the feed-forward controller); `stack_kernel` [W_d W_u W_v] (units, 2 + m) and `stack_bias`
    [b_d b_u b_v] (2 + m,), without W_v, b_v when `push_inputs=True`. The states are
    [h_t, (c_t,) r_t, V_t flattened to K m, s_t] (the feed-forward controller keeps h_t as
    states[0] only because Keras wants the output there; with `output_read=True` states[0] is
    the output [h_t, r_t]);
    `stack_trace` returns d_t, u_t and the rest at every step for plotting.

    The paper's controller is an LSTM, whose own state is a second memory: it may fit the
    training lengths without the stack and then fail beyond them. With the feed-forward
    controller the stack is the only memory, as in a pushdown automaton whose finite control
    sees the input and the top of the stack.

    References: G. Z. Sun, C. L. Giles, H. H. Chen and Y. C. Lee (1993), "The neural network
    pushdown automaton: model, stack and learning simulations", UMIACS-TR-93-77, University of
    Maryland; E. Grefenstette, K. M. Hermann, M. Suleyman and P. Blunsom (2015), "Learning to
    transduce with unbounded memory", NeurIPS 28.

    Args:
        units: size of the controller state h (and c).
        stack_width: m, the size of the values pushed and read.
        stack_size: K, the number of stack slots (one is used per time step).
        controller: `"lstm"` (as in the paper), `"elman"` or `"feedforward"`.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of the
            controller's weights; `stack_initializer` of W_d, W_u, W_v (their biases start at 0).
        kernel_regularizer, recurrent_regularizer: optional regularizers of the controller.
        round_actions: round d_t and u_t to 0 or 1 in the forward pass, which makes the stack
            exactly discrete; the backward pass uses the gradient of the unrounded values (the
            straight-through estimator of Bengio, Leonard and Courville 2013). To test a model
            trained with soft actions under hard ones, copy its weights into a cell with this
            set: the weights do not depend on it (nor on `stack_size`).
        push_inputs: push x_t instead of a learnt value (`stack_width` must equal the number of
            input features).
        output_read: output [h_t, r_t] (units + stack_width) instead of h_t.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: [h_{t-1}, (c_{t-1},) r_{t-1}, V_{t-1}, s_{t-1}].

    Example:
        >>> layer = keras.layers.RNN(NeuralStackCell(16, stack_width=4, stack_size=20), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 16)
    """

    def __init__(
        self,
        units,
        stack_width,
        stack_size,
        controller="lstm",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        stack_initializer="glorot_uniform",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        round_actions=False,
        push_inputs=False,
        output_read=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.stack_width = check_positive_int("stack_width", stack_width)
        self.stack_size = check_positive_int("stack_size", stack_size)
        if controller not in CONTROLLERS:
            raise ValueError(f"`controller` must be one of {CONTROLLERS}, got {controller!r}.")
        self.controller = controller
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.stack_initializer = initializers.get(stack_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.round_actions = bool(round_actions)
        self.push_inputs = bool(push_inputs)
        self.output_read = bool(output_read)
        self.gates = 4 if controller == "lstm" else 1
        m, k = self.stack_width, self.stack_size
        # states[0] is the output (Keras's JAX backend carries it over masked steps): h_t, or
        # [h_t, r_t] with output_read. A feed-forward controller keeps it only for that reason.
        output = self.units + (m if self.output_read else 0)
        controller_states = [output, self.units] if controller == "lstm" else [output]
        self.state_size = controller_states + [m, k * m, k]
        self.output_size = output

    def build(self, input_shape):
        features = check_step_input("NeuralStackCell", input_shape)
        self.input_features = features
        if self.push_inputs and features != self.stack_width:
            raise ValueError(
                "With `push_inputs=True` the stack holds the inputs, so `stack_width` must equal "
                f"the number of input features, got stack_width={self.stack_width} and {features} features."
            )
        units, gates = self.units, self.gates
        self.kernel = self.add_weight(
            shape=(features + self.stack_width, gates * units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = None
        if self.controller != "feedforward":
            self.recurrent_kernel = self.add_weight(
                shape=(units, gates * units),
                name="recurrent_kernel",
                initializer=self.recurrent_initializer,
                regularizer=self.recurrent_regularizer,
            )
        bias_initializer = self.bias_initializer
        if self.controller == "lstm":  # forget bias 1: keep the memory until it learns to forget
            base = self.bias_initializer

            def bias_initializer(shape, dtype=None):
                return ops.concatenate(
                    [base((units,), dtype=dtype), ops.ones((units,), dtype=dtype),
                     base((2 * units,), dtype=dtype)]
                )

        self.bias = self.add_weight(shape=(gates * units,), name="bias", initializer=bias_initializer)
        actions = 2 if self.push_inputs else 2 + self.stack_width  # d_t, u_t (and v_t)
        self.stack_kernel = self.add_weight(
            shape=(units, actions), name="stack_kernel", initializer=self.stack_initializer
        )
        self.stack_bias = self.add_weight(shape=(actions,), name="stack_bias", initializer="zeros")

    def step(self, inputs, states):
        """One step; returns (h_t, new states, d_t, u_t, v_t). `call` and `stack_trace` use it."""
        h_prev, r_prev = states[0][:, : self.units], states[-3]
        values = ops.reshape(states[-2], (-1, self.stack_size, self.stack_width))
        strengths = states[-1]
        z = ops.matmul(ops.concatenate([inputs, r_prev], axis=-1), self.kernel) + self.bias
        if self.recurrent_kernel is not None:
            z = z + ops.matmul(h_prev, self.recurrent_kernel)
        if self.controller == "lstm":
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
            c = ops.sigmoid(z_f) * states[1] + ops.sigmoid(z_i) * ops.tanh(z_c)
            h = ops.sigmoid(z_o) * ops.tanh(c)
            controller_states = [h, c]
        else:
            h = ops.tanh(z)
            controller_states = [h]
        a = ops.matmul(h, self.stack_kernel) + self.stack_bias
        push, pop = ops.sigmoid(a[:, :1]), ops.sigmoid(a[:, 1:2])
        value = ops.cast(inputs, push.dtype) if self.push_inputs else ops.tanh(a[:, 2:])
        if self.round_actions:  # forward: exactly 0 or 1; backward: the gradient of the soft value
            push = push + ops.stop_gradient(ops.round(push) - push)
            pop = pop + ops.stop_gradient(ops.round(pop) - pop)
        values, strengths = stack_update(values, strengths, push, pop, value)
        r = stack_read(values, strengths)
        if self.output_read:
            controller_states[0] = ops.concatenate([h, r], axis=-1)
        flat = ops.reshape(values, (-1, self.stack_size * self.stack_width))
        return h, controller_states + [r, flat, strengths], push, pop, value

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        _, new_states, _, _, _ = self.step(inputs, states)
        return new_states[0], new_states

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=self.units,
                stack_width=self.stack_width,
                stack_size=self.stack_size,
                controller=self.controller,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                bias_initializer=self.bias_initializer,
                stack_initializer=self.stack_initializer,
                kernel_regularizer=self.kernel_regularizer,
                recurrent_regularizer=self.recurrent_regularizer,
                round_actions=self.round_actions,
                push_inputs=self.push_inputs,
                output_read=self.output_read,
            ),
        }


def stack_trace(cell, inputs):
    """Run a built `NeuralStackCell` over `inputs` (batch, time, features) one step at a time.

    Returns a dict of NumPy arrays: `push` d_t and `pop` u_t (batch, time), `value` v_t
    (batch, time, m), `strengths` s_t (batch, time, K), `read` r_t (batch, time, m) and
    `output` h_t (batch, time, units). For plots and tests; training uses `keras.layers.RNN`.
    """
    if not isinstance(cell, NeuralStackCell):
        raise ValueError(f"`cell` must be a NeuralStackCell, got {type(cell).__name__}.")
    if not cell.built:
        raise ValueError("`cell` must be built (call its RNN layer on data first).")
    inputs = ops.convert_to_tensor(np.asarray(inputs, dtype=cell.compute_dtype))
    if len(inputs.shape) != 3:
        raise ValueError(f"`inputs` must have shape (batch, time, features), got {tuple(inputs.shape)}.")
    states = cell.get_initial_state(inputs.shape[0])
    keys = ["push", "pop", "value", "strengths", "read", "output"]
    trace = {key: [] for key in keys}
    for t in range(inputs.shape[1]):
        h, states, push, pop, value = cell.step(inputs[:, t], states)
        for key, x in zip(keys, [push[:, 0], pop[:, 0], value, states[-1], states[-3], h]):
            trace[key].append(ops.convert_to_numpy(x))
    return {key: np.stack(items, axis=1) for key, items in trace.items()}
