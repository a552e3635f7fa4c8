"""Reservoir computing: the echo state network's reservoir, its ridge readout and free running.

An echo state network (ESN) is a large recurrent network whose weights are random and fixed
(the reservoir), driven by the input, and a linear readout from the reservoir's states that is
the only thing trained, in closed form, by ridge regression. The recipe has four parts:

    cell = EchoStateCell(400, spectral_radius=0.9, connectivity=0.05, seed=0)
    states = collect_states(cell, inputs)                       # run the reservoir
    readout = RidgeReadout(ridge=1e-8).fit(states, targets, washout=100)
    generated = free_run(cell, readout, warmup_inputs, steps=84)  # outputs fed back as inputs

`EchoStateCell` is a Keras cell like the others (it runs inside `keras.layers.RNN` and
`keras.layers.Bidirectional` on every backend, keeps its output as `states[0]`, honours masks,
saves and loads); `collect_states` and `free_run` step its fixed reservoir in NumPy, in
float64 (the same equations, no compilation, no float32 round-off in long free runs);
`RidgeReadout` is a small NumPy class that also turns into a `keras.layers.Dense`
(`as_layer`), so a fitted ESN is an ordinary Keras model.

Shared helper: `recipes/base.py` (argument checks).
"""

import keras
import numpy as np
from keras import activations, ops

from recipes.base import (
    check_built_input,
    check_number,
    check_positive_int,
    check_step_input,
    serialize,
)


def sparse_reservoir(units, connectivity, spectral_radius, rng):
    """A random sparse `units x units` matrix with the given connectivity and spectral radius.

    Exactly round(connectivity * units**2) entries (at least one) are non-zero, at positions drawn
    without replacement and with values uniform in [-1, 1]; the matrix is then multiplied by
    spectral_radius / rho, where rho, its largest absolute eigenvalue, is computed in float64.

    Args:
        units: the matrix is units x units.
        connectivity: fraction of non-zero entries, in (0, 1].
        spectral_radius: the spectral radius of the result.
        rng: a `np.random.Generator`, e.g. `np.random.default_rng(seed)`.

    Returns:
        A float64 array. Raises a ValueError when every eigenvalue of the draw is zero (a
        nilpotent matrix, which only a tiny, very sparse draw can be): it cannot be rescaled.
    """
    units = check_positive_int("units", units)
    connectivity = check_number("connectivity", connectivity, lambda v: 0 < v <= 1, "a float in (0, 1]")
    spectral_radius = check_number("spectral_radius", spectral_radius, lambda v: v > 0, "a positive float")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"`rng` must be a `np.random.Generator` (e.g. np.random.default_rng(seed)), got "
            f"{type(rng).__name__}."
        )
    count = max(1, round(connectivity * units * units))
    flat = np.zeros(units * units)
    flat[rng.choice(units * units, size=count, replace=False)] = rng.uniform(-1.0, 1.0, size=count)
    w = flat.reshape(units, units)
    rho = np.max(np.abs(np.linalg.eigvals(w)))
    if rho < 1e-8:
        raise ValueError(
            f"`connectivity` {connectivity} gave the {units}-unit reservoir no cycle (every "
            f"eigenvalue is zero), so it cannot be rescaled to a spectral radius; it needs a "
            f"larger `connectivity` (or more `units`, or another `seed`)."
        )
    return w * (spectral_radius / rho)


@keras.saving.register_keras_serializable(package="recipes")
class EchoStateCell(keras.layers.Layer):
    """Echo state network reservoir: a fixed, sparse, random recurrent layer of leaky tanh units.

    Equations (Jaeger 2001, with the leaky integration of Jaeger et al. 2007; row vectors as in
    Keras, u_t the input, h_t the reservoir state, a the leak rate):

        h~_t = tanh(u_t W_in + h_{t-1} W + b)
        h_t  = (1 - a) h_{t-1} + a h~_t

    W (`recurrent_kernel`, units x units) has a fraction `connectivity` of non-zero entries,
    uniform in [-1, 1], rescaled so that its spectral radius (largest absolute eigenvalue) is
    `spectral_radius`. W_in (`kernel`, features x units) is dense and uniform in
    [-input_scaling, input_scaling]; b (`bias`) is uniform in [-bias_scaling, bias_scaling].
    They are drawn in NumPy from `seed` when the cell is built (the eigenvalues in float64) and
    kept as non-trainable weights: the reservoir does not learn, only the readout does (see
    `RidgeReadout`). With `seed=None` the draw comes from NumPy's global generator, which
    `keras.utils.set_random_seed` seeds.

    A spectral radius below 1 is the usual recipe for the echo state property (the state
    forgets its initial value and becomes a function of the input history); a smaller leak rate
    slows the reservoir down, for inputs that change slowly.

    References: H. Jaeger (2001), "The 'echo state' approach to analysing and training recurrent
    neural networks", GMD Report 148; H. Jaeger, M. Lukosevicius, D. Popovici and U. Siewert
    (2007), "Optimization and applications of echo state networks with leaky-integrator
    neurons", Neural Networks 20(3); M. Lukosevicius (2012), "A practical guide to applying echo
    state networks", Neural Networks: Tricks of the Trade.

    Args:
        units: size of the reservoir (of h).
        spectral_radius: the spectral radius W is rescaled to, > 0.
        leak_rate: a in (0, 1]; 1 gives the plain (non-leaky) ESN.
        input_scaling: half-width of the uniform distribution of W_in, > 0.
        connectivity: fraction of non-zero entries of W, in (0, 1].
        bias_scaling: half-width of the uniform distribution of b, >= 0 (0: no bias).
        activation: the units' nonlinearity, default `"tanh"`.
        seed: integer seed of the reservoir, or None (NumPy's global generator).
        trainable_reservoir: make W_in, W and b trainable (to fine-tune a reservoir by
            backpropagation through time); False, the echo state network, by default.

    Call arguments:
        inputs: u_t, shape (batch, features).
        states: [h_{t-1}], shape (batch, units).

    Example:
        >>> layer = keras.layers.RNN(EchoStateCell(100, seed=0), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 100)
    """

    def __init__(
        self,
        units,
        spectral_radius=0.9,
        leak_rate=1.0,
        input_scaling=1.0,
        connectivity=0.1,
        bias_scaling=0.0,
        activation="tanh",
        seed=None,
        trainable_reservoir=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.spectral_radius = check_number(
            "spectral_radius", spectral_radius, lambda v: v > 0, "a positive float"
        )
        self.leak_rate = check_number(
            "leak_rate", leak_rate, lambda v: 0 < v <= 1, "a float in (0, 1]"
        )
        self.input_scaling = check_number(
            "input_scaling", input_scaling, lambda v: v > 0, "a positive float"
        )
        self.connectivity = check_number(
            "connectivity", connectivity, lambda v: 0 < v <= 1, "a float in (0, 1]"
        )
        self.bias_scaling = check_number(
            "bias_scaling", bias_scaling, lambda v: v >= 0, "a float >= 0"
        )
        self.activation = activations.get(activation)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"`seed` must be None or an integer >= 0, got {seed!r}.")
        self.seed = seed
        self.trainable_reservoir = bool(trainable_reservoir)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        features = check_step_input("EchoStateCell", input_shape)
        self.input_features = features
        seed = self.seed if self.seed is not None else np.random.randint(2**31 - 1)
        rng = np.random.default_rng(seed)
        w = sparse_reservoir(self.units, self.connectivity, self.spectral_radius, rng)
        w_in = rng.uniform(-self.input_scaling, self.input_scaling, size=(features, self.units))
        b = rng.uniform(-self.bias_scaling, self.bias_scaling, size=(self.units,))
        self.kernel = self._fixed_weight("kernel", w_in)
        self.recurrent_kernel = self._fixed_weight("recurrent_kernel", w)
        self.bias = self._fixed_weight("bias", b)

    def _fixed_weight(self, name, value):
        return self.add_weight(
            shape=value.shape,
            name=name,
            initializer=lambda shape, dtype=None: ops.convert_to_tensor(value, dtype=dtype),
            trainable=self.trainable_reservoir,
        )

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        u, h_prev = inputs, states[0]
        a = self.leak_rate
        h_tilde = self.activation(
            ops.matmul(u, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias
        )
        h = (1.0 - a) * h_prev + a * h_tilde
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=self.units,
                spectral_radius=self.spectral_radius,
                leak_rate=self.leak_rate,
                input_scaling=self.input_scaling,
                connectivity=self.connectivity,
                bias_scaling=self.bias_scaling,
                activation=self.activation,
                seed=self.seed,
                trainable_reservoir=self.trainable_reservoir,
            ),
        }


def _sequences(cell, inputs, name="inputs"):
    """`inputs` as a float array of shape (batch, time, features), and whether it had a batch."""
    x = np.asarray(inputs)
    if x.ndim not in (2, 3) or x.shape[-2] < 1 or x.shape[-1] < 1:
        raise ValueError(
            f"`{name}` must have shape (time, features) or (batch, time, features) with at least "
            f"one step and one feature; got shape {x.shape}."
        )
    if x.dtype.kind not in "iufb" or not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` must hold finite numbers (no NaN or inf).")
    batched = x.ndim == 3
    return (x if batched else x[None]).astype(np.float64), batched


# NumPy versions of the activations an echo state network uses, for the float64 loop of `_run`.
_NUMPY_ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
}


def _initial_state(cell, x, initial_state):
    h0 = np.zeros((cell.units,)) if initial_state is None else np.asarray(initial_state)
    if h0.shape not in ((cell.units,), (x.shape[0], cell.units)) or not np.all(np.isfinite(h0)):
        raise ValueError(
            f"`initial_state` must be finite, of shape ({cell.units},) or ({x.shape[0]}, "
            f"{cell.units}), got shape {h0.shape}."
        )
    return np.broadcast_to(h0, (x.shape[0], cell.units))


class _NumpyReservoir:
    """The fixed reservoir of a built `EchoStateCell` as float64 NumPy arrays, stepped in NumPy.

    An echo state network only ever runs its reservoir forward with fixed weights, so the loop
    needs no framework: one (batch, units) x (units, units) product per step. In float64 it is
    also free of the float32 round-off that a free run of many steps amplifies, and it starts
    at once (a compiled Keras loop pays a compilation per call; reservoirpy steps in NumPy too).
    """

    def __init__(self, cell, activation):
        self.w_in, self.w, self.b = (
            np.asarray(ops.convert_to_numpy(v), dtype=np.float64)
            for v in (cell.kernel, cell.recurrent_kernel, cell.bias)
        )
        self.a, self.activation = cell.leak_rate, activation

    def step(self, u, h):
        """h_t = (1 - a) h_{t-1} + a f(u_t W_in + h_{t-1} W + b), the cell's `call` in NumPy."""
        h_tilde = self.activation(u @ self.w_in + h @ self.w + self.b)
        return h_tilde if self.a == 1.0 else (1.0 - self.a) * h + self.a * h_tilde

    def run(self, x, h, return_sequences=True):
        """h_1..h_T (or None) and h_T, from h_0 = `h`, over x of shape (batch, time, features)."""
        states = np.empty(x.shape[:2] + (self.w.shape[0],)) if return_sequences else None
        for t in range(x.shape[1]):
            h = self.step(x[:, t], h)
            if return_sequences:
                states[:, t] = h
        return states, h


def _numpy_reservoir(cell, features):
    """A `_NumpyReservoir` for an `EchoStateCell` with a NumPy activation, else None."""
    if not isinstance(cell, EchoStateCell) or type(cell).call is not EchoStateCell.call:
        return None  # another cell, or a subclass with its own equations: run it in Keras
    activation = _NUMPY_ACTIVATIONS.get(getattr(cell.activation, "__name__", None))
    if activation is None:
        return None
    if not cell.built:
        cell.build((None, features))
    check_built_input(cell, np.zeros((1, features)))
    return _NumpyReservoir(cell, activation)


def _run(cell, x, initial_state, return_sequences=True):
    """The states h_1..h_T of `cell` over x (batch, time, features) (None when not
    `return_sequences`), and h_T, as NumPy arrays.

    An `EchoStateCell` (with a tanh, sigmoid, relu or linear activation) runs in NumPy, in
    float64. Any other cell runs in a compiled Keras model, XLA on TensorFlow and jit on JAX,
    eagerly on PyTorch (as `torch.compile` is slow to start).
    """
    h0 = _initial_state(cell, x, initial_state)
    reservoir = _numpy_reservoir(cell, x.shape[-1])
    if reservoir is not None:
        return reservoir.run(x, h0.astype(np.float64), return_sequences)
    inputs = [keras.Input((None, x.shape[-1])), keras.Input((cell.units,))]
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    model = keras.Model(inputs, layer(inputs[0], initial_state=[inputs[1]]))
    model.compile(jit_compile=keras.backend.backend() != "torch")
    states, h = model.predict_on_batch([x.astype(cell.compute_dtype), h0.astype(cell.compute_dtype)])
    return np.asarray(states), np.asarray(h)


def collect_states(cell, inputs, initial_state=None, include_inputs=False):
    """Drive the reservoir with `inputs` and return its states h_1..h_T as a NumPy array.

    By default the readout sees the reservoir state h_t only. Lukosevicius's practical guide
    (2012) reads y_t = W_out [1; u_t; h_t] instead: with `include_inputs=True` every row
    is [u_t, h_t], and a `RidgeReadout` with `use_bias=True` adds the 1.

    Args:
        cell: an `EchoStateCell` (or any cell whose state is its output).
        inputs: u_1..u_T, shape (time, features) or (batch, time, features).
        initial_state: h_0, shape (units,) or (batch, units); zeros by default.
        include_inputs: return [u_t, h_t] (features + units) instead of h_t.

    Returns:
        The states, shape (time, units) or (batch, time, units) like `inputs` (units + features
        with `include_inputs=True`, the inputs first).

    Example:
        >>> cell = EchoStateCell(50, seed=0)
        >>> collect_states(cell, np.zeros((20, 1))).shape
        (20, 50)
    """
    x, batched = _sequences(cell, inputs)
    states, _ = _run(cell, x, initial_state)
    if include_inputs:
        states = np.concatenate([x.astype(states.dtype), states], axis=-1)
    return states if batched else states[0]


def _rows(name, array, washout):
    """(..., time, k) -> (n, k) rows, the first `washout` steps of each sequence dropped."""
    array = np.asarray(array)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim not in (2, 3):
        raise ValueError(
            f"`{name}` must have shape (time, k) or (batch, time, k); got shape {array.shape}."
        )
    if washout >= array.shape[-2]:
        raise ValueError(
            f"`washout` ({washout}) must be smaller than the number of time steps of `{name}` "
            f"({array.shape[-2]})."
        )
    return array[..., washout:, :].reshape(-1, array.shape[-1])


class RidgeReadout:
    """A linear readout y = x W_out + b fitted in closed form by ridge (Tikhonov) regression.

    Fitting solves, in float64, the normal equations of ridge regression

        (X^T X + ridge I) W_out = X^T Y

    with `np.linalg.solve` (never an explicit inverse), where the rows of X are the states
    (the reservoir states of an ESN) after the washout and the rows of Y the targets. The bias b
    is fitted as the weight of a constant input 1 that the penalty does not shrink. With
    `ridge=0` the least-squares solution comes from `np.linalg.lstsq`.

    `predict` applies the float64 solution in NumPy; `as_layer` returns a `keras.layers.Dense`
    with the same weights, to put after `keras.layers.RNN(EchoStateCell(...))` in a model.

    Lukosevicius's practical guide reads y = W_out [1; u; x] from the bias, the input and the
    reservoir state: fit on `collect_states(cell, inputs, include_inputs=True)` with
    `use_bias=True` for that (by default the states are the reservoir's alone). His ridge
    formula W_out = Y X^T (X X^T + ridge I)^-1 shrinks the bias weight with the others; ours
    leaves the bias unshrunk.

    Reference: M. Lukosevicius (2012), "A practical guide to applying echo state networks",
    Neural Networks: Tricks of the Trade (section 4, ridge regression and washout).

    Args:
        ridge: the regularisation coefficient, >= 0.
        use_bias: whether to fit b.

    Attributes (after `fit`):
        kernel: W_out, float64 array of shape (features, outputs).
        bias: b, float64 array of shape (outputs,) (zeros when `use_bias=False`).

    Example:
        >>> u = np.sin(np.arange(500) / 4)[:, None]                  # (time, 1)
        >>> states = collect_states(EchoStateCell(50, seed=0), u[:-1])
        >>> RidgeReadout(1e-8).fit(states, u[1:], washout=100).predict(states).shape
        (499, 1)
    """

    def __init__(self, ridge=1e-8, use_bias=True):
        self.ridge = check_number("ridge", ridge, lambda v: v >= 0, "a float >= 0")
        self.use_bias = bool(use_bias)
        self.kernel = self.bias = None

    def fit(self, states, targets, washout=0):
        """Fit W_out and b on `states` -> `targets`, ignoring the first `washout` steps.

        Args:
            states: shape (time, features) or (batch, time, features).
            targets: shape (time, outputs) or (batch, time, outputs), or (time,) for one
                output; the same batch and time sizes as `states`.
            washout: how many initial steps of every sequence to leave out, while the
                reservoir forgets its initial state.

        Returns:
            self, fitted.
        """
        if isinstance(washout, bool) or not isinstance(washout, int) or washout < 0:
            raise ValueError(f"`washout` must be an integer >= 0, got {washout!r}.")
        states, targets = np.asarray(states), np.asarray(targets)
        if states.shape[:-1] != (targets.shape if targets.ndim == 1 else targets.shape[:-1]):
            raise ValueError(
                f"`states` and `targets` must have the same batch and time sizes; got shapes "
                f"{states.shape} and {targets.shape}."
            )
        x = _rows("states", states, washout)
        y = _rows("targets", targets, washout).astype(np.float64)
        for name, rows in (("states", x), ("targets", y)):
            if rows.shape[-1] < 1 or not np.all(np.isfinite(rows)):
                raise ValueError(
                    f"`{name}` must hold finite numbers (no NaN or inf) and at least one "
                    f"column, got shape {np.shape(states if name == 'states' else targets)}."
                )
        # In float64, with a constant input 1 whose weight is the bias.
        columns = [x, np.ones((len(x), 1))] if self.use_bias else [x]
        x = np.concatenate(columns, axis=1, dtype=np.float64)
        if self.ridge > 0:
            penalty = self.ridge * np.eye(x.shape[1])
            if self.use_bias:
                penalty[-1, -1] = 0.0  # the bias is not shrunk
            w = np.linalg.solve(x.T @ x + penalty, x.T @ y)
        else:
            w = np.linalg.lstsq(x, y, rcond=None)[0]
        self.kernel = w[:-1] if self.use_bias else w
        self.bias = w[-1] if self.use_bias else np.zeros(w.shape[1])
        return self

    def _check_fitted(self):
        if self.kernel is None:
            raise ValueError("This RidgeReadout is not fitted yet: call `fit(states, targets)`.")

    def predict(self, states):
        """y = x W_out + b in float64, for states of shape (..., features)."""
        self._check_fitted()
        states = np.asarray(states, dtype=np.float64)
        if not np.all(np.isfinite(states)):
            raise ValueError("`states` must hold finite numbers (no NaN or inf).")
        if states.ndim < 1 or states.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"`states` must have {self.kernel.shape[0]} features (as in `fit`), got shape "
                f"{states.shape}."
            )
        return states @ self.kernel + self.bias

    def as_layer(self, **kwargs):
        """A built `keras.layers.Dense` holding W_out and b (in its dtype, float32 by default).

        Keyword arguments (`name`, `dtype`, ...) go to `keras.layers.Dense`.
        """
        self._check_fitted()
        features, outputs = self.kernel.shape
        layer = keras.layers.Dense(outputs, use_bias=self.use_bias, **kwargs)
        layer.build((None, features))
        layer.set_weights([self.kernel, self.bias] if self.use_bias else [self.kernel])
        return layer


def free_run(cell, readout, warmup_inputs, steps, initial_state=None, include_inputs=False):
    """Generate `steps` outputs from an ESN by feeding each output back as the next input.

    The reservoir is first driven by the true inputs u_1..u_T (`warmup_inputs`, teacher
    forcing); then each prediction y_t = readout(h_t), the network's guess of u_{t+1}, becomes
    the next input:

        h_t = cell(u_t, h_{t-1}) for t <= T;   y_t = h_t W_out + b;   u_{t+1} = y_t for t >= T

    so the readout must have been fitted to predict the next input (outputs = features). With
    `include_inputs=True` the readout reads [u_t, h_t], as fitted on
    `collect_states(..., include_inputs=True)`: y_t = [u_t, h_t] W_out + b.

    Args:
        cell: the `EchoStateCell` the readout was fitted on.
        readout: a fitted `RidgeReadout` (or any object with `predict(states)`).
        warmup_inputs: u_1..u_T, shape (time, features) or (batch, time, features).
        steps: how many outputs to generate.
        initial_state: h_0 before the warmup, shape (units,) or (batch, units); zeros by default.
        include_inputs: whether the readout reads [u_t, h_t] instead of h_t.

    Returns:
        y_T..y_{T+steps-1}, the predictions of u_{T+1}..u_{T+steps}: shape (steps, features) or
        (batch, steps, features) like `warmup_inputs`.

    Example:
        >>> cell, u = EchoStateCell(50, seed=0), np.sin(np.arange(500) / 4)[:, None]
        >>> readout = RidgeReadout(1e-8).fit(collect_states(cell, u[:-1]), u[1:], washout=100)
        >>> free_run(cell, readout, u[-100:], steps=84).shape
        (84, 1)
    """
    steps = check_positive_int("steps", steps)
    x, batched = _sequences(cell, warmup_inputs, "warmup_inputs")
    _, h = _run(cell, x, initial_state, return_sequences=False)
    reservoir = _numpy_reservoir(cell, x.shape[-1])
    u = x[:, -1]
    outputs = []
    for t in range(steps):
        y = readout.predict(np.concatenate([u, h], axis=-1) if include_inputs else h)
        if t == 0 and y.shape[-1] != x.shape[-1]:
            raise ValueError(
                f"free running feeds the outputs back as inputs, so the readout must have as many "
                f"outputs as the cell has input features ({x.shape[-1]}); got {y.shape[-1]}."
            )
        outputs.append(y)
        if t < steps - 1:
            u = y
            if reservoir is not None:
                h = reservoir.step(u, h)
            else:
                h, _ = cell(ops.convert_to_tensor(u.astype(cell.compute_dtype)), [h])
                h = ops.convert_to_numpy(h)
    outputs = np.stack(outputs, axis=1)
    return outputs if batched else outputs[0]
