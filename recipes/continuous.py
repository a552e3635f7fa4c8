"""Continuous-time networks: Beer's CTRNN and Yamashita and Tani's multiple-timescale RNN.

Both are leaky integrators: each unit's potential relaxes towards its input with a time constant
tau, tau du/dt = -u + (input). A cell advances the differential equation by one explicit Euler
step per input step, u_t = u_{t-1} + (dt / tau) (-u_{t-1} + input_t), which is what `call`
computes, line by line. A large tau is a slow unit: it integrates its input over about tau / dt
steps, so a network with several time constants can keep fast and slow structure apart.

Every cell runs inside `keras.layers.RNN` (and `keras.layers.Bidirectional` around it) on the
TensorFlow, JAX and PyTorch backends; `keras.layers.RNN` carries the states over masked steps,
and, as Keras's JAX backend expects, each cell keeps its output as `states[0]`.

Shared helper: `recipes/base.py` (argument checks).
"""

import keras
import numpy as np
from keras import activations, initializers, ops, regularizers

from recipes.base import (
    check_built_input,
    check_number,
    check_positive_int,
    check_step_input,
    serialize,
)


class _AtLeast(keras.constraints.Constraint):
    """Clips a weight from below: the optimizer applies it after every update."""

    def __init__(self, minimum):
        self.minimum = minimum

    def __call__(self, w):
        return ops.maximum(w, ops.cast(self.minimum, w.dtype))


@keras.saving.register_keras_serializable(package="recipes")
class CTRNNCell(keras.layers.Layer):
    """Continuous-time recurrent neural network: leaky-integrator neurons, Euler-integrated.

    Equations (Beer 1995; y_i is the state of neuron i, tau_i its time constant, theta_j a bias,
    w_ji the weight from neuron j to neuron i, sigma the logistic function, I_i the external
    input):

        tau_i dy_i/dt = -y_i + sum_j w_ji sigma(y_j + theta_j) + I_i

    The input of step t is I_t = x_t W_in, held for the step, and one explicit Euler step of
    size dt advances the state (row vectors as in Keras, so W[j, i] = w_ji):

        dy/dt = (-y_{t-1} + sigma(y_{t-1} + theta) W + x_t W_in) / tau
        y_t   = y_{t-1} + dt dy/dt

    The time constants are learnt as log tau (`log_tau`), so tau = exp(log_tau) stays positive
    whatever the gradient does; Euler's step is accurate while dt is well below every tau (with
    dt > tau it overshoots). Every tau is also kept at least dt / 2: the Euler step of the leak
    alone, y <- (1 - dt / tau) y, multiplies y by less than -1 when tau < dt / 2, so the
    network would diverge. The optimizer clips `log_tau` to log(dt / 2) after every update (a
    weight constraint), `time_constants()` applies the bound to weights set by hand, and `tau`
    below it is refused. With `center_crossing=True` the biases are not learnt but set from
    the weights at every step, theta_i = -sum_j w_ji / 2, so that each neuron's sigmoid is
    centred on the range of its recurrent input: the centre-crossing networks of Mathayomchan
    and Beer, whose richest (e.g. oscillatory) dynamics lie near that point.

    To train one by backpropagation through time, e.g. to a limit cycle, start it near
    oscillation: `activation="tanh"`, `recurrent_initializer=keras.initializers.Orthogonal(
    gain=1.5)` and a small random `bias_initializer` (the logistic sigmoid's slope of 1/4 and
    unit-gain weights give a strongly damped network that hardly learns to oscillate).

    The cell outputs y_t (states [y_t]); put a `keras.layers.Dense` after the RNN to read it out.
    Weights: `kernel` (W_in, (features, units)), `recurrent_kernel` (W, (units, units)), `bias`
    (theta, (units,), absent with `center_crossing`), `log_tau` ((units,)).

    References: R. D. Beer (1995), "On the dynamics of small continuous-time recurrent neural
    networks", Adaptive Behavior 3(4); B. Mathayomchan and R. D. Beer (2002), "Center-crossing
    recurrent neural networks for the evolution of rhythmic behavior", Neural Computation 14(9).

    Args:
        units: number of neurons N (size of y).
        tau: initial time constants, >= dt / 2: one float for every neuron or a list of `units`
            floats.
        dt: the Euler step, > 0, in the same time unit as tau.
        activation: sigma, default `"sigmoid"` (Beer's); `None` makes the neurons linear.
        center_crossing: set theta from the weights as above (needs the sigmoid).
        train_tau: whether the time constants are learnt (`log_tau` trainable).
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of W_in, W,
            theta.
        kernel_regularizer, recurrent_regularizer: optional regularizers of W_in and W.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: [y_{t-1}], shape (batch, units).

    Example:
        >>> layer = keras.layers.RNN(CTRNNCell(8, tau=[1.0] * 4 + [5.0] * 4, dt=0.1))
        >>> layer(np.zeros((2, 50, 3), "float32")).shape
        (2, 8)
    """

    def __init__(
        self,
        units,
        tau=1.0,
        dt=0.1,
        activation="sigmoid",
        center_crossing=False,
        train_tau=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.dt = check_number("dt", dt, lambda v: v > 0, "a positive float")
        stable = f"at least dt / 2 = {0.5 * self.dt:g} (the Euler step diverges below it)"

        def check_tau(name, value, positive):
            value = check_number(name, value, lambda v: v > 0, positive)
            return check_number(name, value, lambda v: v >= 0.5 * self.dt, stable)

        if isinstance(tau, (list, tuple)):
            if len(tau) != self.units:
                raise ValueError(
                    f"`tau` must be one float or a list of `units` ({self.units}) floats, got a "
                    f"list of {len(tau)}."
                )
            self.tau = [check_tau(f"tau[{i}]", v, "a positive float") for i, v in enumerate(tau)]
        else:
            self.tau = check_tau("tau", tau, "a positive float (or a list)")
        self.activation = activations.get(activation)
        self.center_crossing = bool(center_crossing)
        if self.center_crossing and self.activation is not activations.sigmoid:
            raise ValueError(
                f"`center_crossing=True` needs `activation='sigmoid'`: the centre-crossing biases "
                f"centre the logistic function's range [0, 1]; got activation={activation!r}."
            )
        self.train_tau = bool(train_tau)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.state_size = self.units
        self.output_size = self.units

    @property
    def tau_min(self):
        """dt / 2, the smallest time constant: below it the Euler step diverges."""
        return 0.5 * self.dt

    def build(self, input_shape):
        features = check_step_input("CTRNNCell", input_shape)
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
        if not self.center_crossing:
            self.bias = self.add_weight(
                shape=(self.units,), name="bias", initializer=self.bias_initializer
            )
        log_tau = np.log(np.broadcast_to(np.asarray(self.tau, dtype="float64"), (self.units,)))
        self.log_tau = self.add_weight(
            shape=(self.units,),
            name="log_tau",
            initializer=lambda shape, dtype=None: ops.convert_to_tensor(log_tau, dtype=dtype),
            trainable=self.train_tau,
            constraint=_AtLeast(float(np.log(self.tau_min))),
        )

    def time_constants(self):
        """tau = exp(log_tau), shape (units,), never below dt / 2."""
        tau = ops.exp(self.log_tau)
        # The bound also for log_tau set by hand; the gradient is that of exp(log_tau), so a tau
        # at the bound can still be trained up (a clip would give it none).
        return tau + ops.stop_gradient(ops.maximum(tau, self.tau_min) - tau)

    def biases(self):
        """theta: the learnt bias, or -sum_j w_ji / 2 with `center_crossing`."""
        if self.center_crossing:
            return -0.5 * ops.sum(self.recurrent_kernel, axis=0)
        return self.bias

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        x, y_prev = inputs, states[0]
        tau = self.time_constants()
        theta = self.biases()
        I = ops.matmul(x, self.kernel)  # noqa: E741 (Beer's name for the external input)
        synaptic = ops.matmul(self.activation(y_prev + theta), self.recurrent_kernel)
        dy_dt = (-y_prev + synaptic + I) / tau
        y = y_prev + self.dt * dy_dt
        return y, [y]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=self.units,
                tau=self.tau,
                dt=self.dt,
                activation=self.activation,
                center_crossing=self.center_crossing,
                train_tau=self.train_tau,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                bias_initializer=self.bias_initializer,
                kernel_regularizer=self.kernel_regularizer,
                recurrent_regularizer=self.recurrent_regularizer,
            ),
        }


@keras.saving.register_keras_serializable(package="recipes")
class MTRNNCell(keras.layers.Layer):
    """Multiple-timescale RNN: fast and slow context units, leaky integrators with their own tau.

    Yamashita and Tani's equations for the internal potential u_i of unit i and its activation
    (their eq. 1, the Euler step, dt = 1, of tau_i du_i/dt = -u_i + sum_j w_ij x_j):

        u_{i,t} = (1 - 1/tau_i) u_{i,t-1} + (1/tau_i) sum_j w_ij x_{j,t}
        c_{i,t} = f(u_{i,t} + b_i)

    The units come in three groups, with one time constant each: input-output units (tau_io),
    fast context units Cf (tau_f, small) and slow context units Cs (tau_s, large). The external
    input reaches only Cf; Cf and Cs are fully connected among and between themselves; the
    output units read only Cf; there is no direct path between the input-output units and Cs.
    In Keras's row form, with c^f, c^s the context activations:

        u^f_t = (1 - 1/tau_f) u^f_{t-1} + (1/tau_f) (x_t W_in + [c^f_{t-1}, c^s_{t-1}] W[:, f])
        u^s_t = (1 - 1/tau_s) u^s_{t-1} + (1/tau_s) ([c^f_{t-1}, c^s_{t-1}] W[:, s])
        u^o_t = (1 - 1/tau_io) u^o_{t-1} + (1/tau_io) c^f_t W_out
        y_t   = g(u^o_t + b_o)

    The context units update together from the previous step's activations, as in the paper;
    the output units read the fast context after its update, so that y_t (trained to predict
    x_{t+1}) already sees x_t. With tau_f = tau_s the network has a single time scale, the
    baseline the paper compares with.

    The slow context's initial state is what selects a behaviour in the paper, where it is
    learnt for every training sequence: pass `initial_state=cell.get_initial_state(slow=s0)` to
    `keras.layers.RNN`, with s0 (batch, slow_units) for example from a `keras.layers.Embedding`
    of the sequence index. `learn_initial_state=True` instead learns one initial u^f_0 and u^s_0
    shared by every sequence.

    The states are [y_t, u^o_t, u^f_t, u^s_t] (the output first, as Keras masking expects).
    Weights: `kernel` (W_in, (features, fast_units)), `recurrent_kernel` (W, (fast_units +
    slow_units) squared, fast units first), `bias` ([b_f, b_s]), `output_kernel` (W_out,
    (fast_units, units)), `output_bias` (b_o), and with `learn_initial_state` `initial_fast`,
    `initial_slow`. The time constants are fixed hyper-parameters, as in the paper, and must be
    at least 1 (1/tau is the fraction of the potential renewed at each step).

    Reference: Y. Yamashita and J. Tani (2008), "Emergence of functional hierarchy in a
    multiple timescale neural network model: a humanoid robot experiment", PLoS Computational
    Biology 4(11).

    Args:
        units: number of input-output units (the size of y).
        fast_units, slow_units: numbers of fast and slow context units.
        io_tau, fast_tau, slow_tau: time constants (>= 1) of the three groups; by default 2 for
            the input-output units and the paper's 5 and 70 (a slow/fast ratio of 14) for the
            context.
        activation: f of the context units, default `"tanh"` (the paper's is `"sigmoid"`).
        output_activation: g, default `None` (linear); the paper's is a softmax.
        learn_initial_state: learn one initial fast and slow potential (else they start at 0).
        kernel_initializer, recurrent_initializer, output_initializer, bias_initializer:
            initializers of W_in, W, W_out and the biases.
        kernel_regularizer, recurrent_regularizer, output_regularizer: optional regularizers.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: [y_{t-1}, u^o_{t-1}, u^f_{t-1}, u^s_{t-1}].

    Example:
        >>> cell = MTRNNCell(2, fast_units=30, slow_units=10)
        >>> keras.layers.RNN(cell, return_sequences=True)(np.zeros((4, 100, 2), "float32")).shape
        (4, 100, 2)
    """

    def __init__(
        self,
        units,
        fast_units,
        slow_units,
        io_tau=2.0,
        fast_tau=5.0,
        slow_tau=70.0,
        activation="tanh",
        output_activation=None,
        learn_initial_state=False,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        output_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        output_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.fast_units = check_positive_int("fast_units", fast_units)
        self.slow_units = check_positive_int("slow_units", slow_units)
        at_least_one = "a float >= 1 (1/tau is the fraction of the potential renewed per step)"
        self.io_tau = check_number("io_tau", io_tau, lambda v: v >= 1, at_least_one)
        self.fast_tau = check_number("fast_tau", fast_tau, lambda v: v >= 1, at_least_one)
        self.slow_tau = check_number("slow_tau", slow_tau, lambda v: v >= 1, at_least_one)
        self.activation = activations.get(activation)
        self.output_activation = activations.get(output_activation)
        self.learn_initial_state = bool(learn_initial_state)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.output_initializer = initializers.get(output_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.output_regularizer = regularizers.get(output_regularizer)
        self.initial_fast = self.initial_slow = None  # learnt in `build` if asked for
        self.state_size = [self.units, self.units, self.fast_units, self.slow_units]
        self.output_size = self.units

    def build(self, input_shape):
        features = check_step_input("MTRNNCell", input_shape)
        self.input_features = features
        context = self.fast_units + self.slow_units
        self.kernel = self.add_weight(
            shape=(features, self.fast_units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(context, context),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.bias = self.add_weight(
            shape=(context,), name="bias", initializer=self.bias_initializer
        )
        self.output_kernel = self.add_weight(
            shape=(self.fast_units, self.units),
            name="output_kernel",
            initializer=self.output_initializer,
            regularizer=self.output_regularizer,
        )
        self.output_bias = self.add_weight(
            shape=(self.units,), name="output_bias", initializer=self.bias_initializer
        )
        self.initial_fast = self.initial_slow = None
        if self.learn_initial_state:
            self.initial_fast = self.add_weight(
                shape=(self.fast_units,), name="initial_fast", initializer="zeros"
            )
            self.initial_slow = self.add_weight(
                shape=(self.slow_units,), name="initial_slow", initializer="zeros"
            )

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        x, (_, u_o_prev, u_f_prev, u_s_prev) = inputs, states
        f_units = self.fast_units
        tau_o, tau_f, tau_s = self.io_tau, self.fast_tau, self.slow_tau
        c_prev = self.activation(ops.concatenate([u_f_prev, u_s_prev], axis=-1) + self.bias)
        recurrent = ops.matmul(c_prev, self.recurrent_kernel)
        u_f = (1 - 1 / tau_f) * u_f_prev + (1 / tau_f) * (
            ops.matmul(x, self.kernel) + recurrent[:, :f_units]
        )
        u_s = (1 - 1 / tau_s) * u_s_prev + (1 / tau_s) * recurrent[:, f_units:]
        c_f = self.activation(u_f + self.bias[:f_units])
        u_o = (1 - 1 / tau_o) * u_o_prev + (1 / tau_o) * ops.matmul(c_f, self.output_kernel)
        y = self.output_activation(u_o + self.output_bias)
        return y, [y, u_o, u_f, u_s]

    def get_initial_state(self, batch_size=None, fast=None, slow=None):
        """[y_0, u^o_0, u^f_0, u^s_0]: zeros, or the learnt initial potentials, or `fast`
        (batch, fast_units) and `slow` (batch, slow_units) where given (the batch size is then
        theirs, so this works on symbolic tensors of a functional model)."""
        if self.learn_initial_state and not self.built and (fast is None or slow is None):
            raise ValueError(
                "MTRNNCell(learn_initial_state=True) has no learnt initial state before it is "
                "built: build it (or the RNN around it) first, or pass both `fast` and `slow`."
            )
        given = slow if slow is not None else fast
        dtype = self.compute_dtype
        if given is not None:
            batch_zeros = ops.zeros_like(ops.cast(given[:, :1], dtype))
            zeros = lambda size: batch_zeros + ops.zeros((size,), dtype=dtype)  # noqa: E731
        else:
            zeros = lambda size: ops.zeros((batch_size, size), dtype=dtype)  # noqa: E731
        if fast is None:
            fast = zeros(self.fast_units)
            if self.initial_fast is not None:
                fast = fast + self.initial_fast
        if slow is None:
            slow = zeros(self.slow_units)
            if self.initial_slow is not None:
                slow = slow + self.initial_slow
        return [zeros(self.units), zeros(self.units), fast, slow]

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=self.units,
                fast_units=self.fast_units,
                slow_units=self.slow_units,
                io_tau=self.io_tau,
                fast_tau=self.fast_tau,
                slow_tau=self.slow_tau,
                activation=self.activation,
                output_activation=self.output_activation,
                learn_initial_state=self.learn_initial_state,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                output_initializer=self.output_initializer,
                bias_initializer=self.bias_initializer,
                kernel_regularizer=self.kernel_regularizer,
                recurrent_regularizer=self.recurrent_regularizer,
                output_regularizer=self.output_regularizer,
            ),
        }
