"""Continuous-time networks (recipes/continuous.py): CTRNN and MTRNN against NumPy references
written from the papers' equations, the closed-form solution of a linear unit, centre-crossing,
positive time constants, the MTRNN's time scales and connectivity, initial states, bad input."""

import keras
import numpy as np
import pytest

from tests.helpers import gradients, numpy_of
from recipes import CTRNNCell, MTRNNCell

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 12, 4)).astype("float32")


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def randomize(layer, x=X, scale=0.5, seed=1, skip=("log_tau",)):
    """Random values for every weight but the time constants; returns them by name."""
    layer(x)
    rng = np.random.default_rng(seed)
    for w in layer.weights:
        if w.name not in skip:
            w.assign(rng.normal(scale=scale, size=w.shape).astype("float32"))
    return {w.name: numpy_of(w).astype("float64") for w in layer.weights}


# --- CTRNN -------------------------------------------------------------------------------------


def ctrnn_numpy(x, w_in, w, theta, tau, dt, f=sigmoid, y0=None):
    """Beer's tau_i dy_i/dt = -y_i + sum_j w_ji f(y_j + theta_j) + I_i, neuron by neuron, with
    Euler steps of size dt and I_i = sum_k x_k w_in[k, i]."""
    batch, n = x.shape[0], w.shape[0]
    y = np.zeros((batch, n)) if y0 is None else y0.copy()
    ys = []
    for t in range(x.shape[1]):
        new = np.empty_like(y)
        for b in range(batch):
            for i in range(n):
                I_i = sum(x[b, t, k] * w_in[k, i] for k in range(x.shape[2]))
                synaptic = sum(w[j, i] * f(y[b, j] + theta[j]) for j in range(n))
                new[b, i] = y[b, i] + dt * (-y[b, i] + synaptic + I_i) / tau[i]
        y = new
        ys.append(y)
    return np.stack(ys, axis=1)


def test_ctrnn_matches_numpy_equations():
    tau = [0.3, 0.5, 1.0, 2.0, 4.0]
    layer = keras.layers.RNN(CTRNNCell(5, tau=tau, dt=0.1), return_sequences=True)
    w = randomize(layer, scale=1.0)
    np.testing.assert_allclose(np.exp(w["log_tau"]), tau, rtol=1e-6)
    expected = ctrnn_numpy(X, w["kernel"], w["recurrent_kernel"], w["bias"], tau, 0.1)
    np.testing.assert_allclose(numpy_of(layer(X)), expected, atol=1e-5)


@pytest.mark.parametrize("dt", [1e-3, 1e-2])
def test_linear_ctrnn_with_a_small_step_matches_the_closed_form_solution(dt):
    # One linear neuron per tau, each with only a self-connection w: tau dy/dt = (w - 1) y + w
    # theta + I, whose solution is y(t) = y* + (y0 - y*) exp((w - 1) t / tau),
    # y* = (w theta + I) / (1 - w). Integrate to t = 1 with Euler steps of size dt.
    tau, w_self, theta, I, y0 = (np.array([0.25, 0.5, 1.0]), np.array([0.5, -1.0, 0.2]),
                                 np.array([0.3, -0.2, 0.1]), np.array([1.0, 0.5, -2.0]),
                                 np.array([-1.0, 2.0, 0.5]))
    steps = round(1.0 / dt)
    layer = keras.layers.RNN(CTRNNCell(3, tau=list(tau), dt=dt, activation=None))
    x = np.ones((1, steps, 1), "float32")
    layer(x[:, :1])
    layer.cell.kernel.assign(I[None, :].astype("float32"))
    layer.cell.recurrent_kernel.assign(np.diag(w_self).astype("float32"))
    layer.cell.bias.assign(theta.astype("float32"))
    y = numpy_of(layer(x, initial_state=[y0[None, :].astype("float32")]))[0]
    y_star = (w_self * theta + I) / (1 - w_self)
    exact = y_star + (y0 - y_star) * np.exp((w_self - 1) * 1.0 / tau)
    # Euler's global error is first order in dt: to leading order dt t lambda^2 |y0 - y*|
    # e^(lambda t) / 2 with lambda = (w - 1) / tau, so the error shrinks with the step as it must.
    lam = (w_self - 1) / tau
    predicted = dt * lam**2 * np.abs(y0 - y_star) * np.exp(lam) / 2
    error = np.abs(y - exact)
    assert np.all((0.5 * predicted < error) & (error < 1.5 * predicted)), (error, predicted)
    if dt == 1e-3:
        assert error.max() < 1e-3


def test_center_crossing_biases_put_the_equilibrium_at_the_centre():
    # theta_i = -sum_j w_ji / 2: at y = -theta every sigmoid is at 1/2 and, with no input,
    # dy_i/dt = theta_i + sum_j w_ji / 2 = 0, so y stays there.
    cell = CTRNNCell(6, center_crossing=True, dt=0.2, tau=[0.5, 1.0, 1.0, 2.0, 3.0, 4.0])
    layer = keras.layers.RNN(cell, return_sequences=True)
    w = randomize(layer, scale=2.0)
    assert "bias" not in w  # the biases are not free weights
    theta = -w["recurrent_kernel"].sum(axis=0) / 2
    np.testing.assert_allclose(numpy_of(cell.biases()), theta, rtol=1e-5)
    y0 = np.tile(-theta, (2, 1)).astype("float32")
    ys = numpy_of(layer(np.zeros((2, 30, 4), "float32"), initial_state=[y0]))
    np.testing.assert_allclose(ys, np.broadcast_to(-theta, ys.shape), atol=1e-5)
    # And elsewhere the cell follows Beer's equation with those biases.
    expected = ctrnn_numpy(X, w["kernel"], w["recurrent_kernel"], theta, np.exp(w["log_tau"]), 0.2)
    np.testing.assert_allclose(numpy_of(layer(X)), expected, atol=1e-5)


def test_time_constants_are_learnt_as_log_tau_and_stay_positive():
    # A loss that rewards a fast response pushes tau down; a big gradient step on log tau
    # still leaves every tau positive.
    model = keras.Sequential([keras.Input((5, 1)), keras.layers.RNN(CTRNNCell(3, tau=2.0, dt=0.5))])
    cell = model.layers[0].cell
    cell.kernel.assign(np.ones((1, 3), "float32"))
    cell.recurrent_kernel.assign(np.zeros((3, 3), "float32"))
    x = np.ones((2, 5, 1), "float32")
    names = [w.name for w in model.trainable_weights]
    assert "log_tau" in names
    grads, _ = gradients(model, x, lambda y: -keras.ops.sum(y))
    g = grads[names.index("log_tau")]
    assert np.all(g > 0)  # a smaller tau would raise y
    cell.log_tau.assign(numpy_of(cell.log_tau) - 100.0 * g)
    tau = numpy_of(cell.time_constants())
    assert np.all(tau > 0) and np.all(tau < 2.0)
    fixed = CTRNNCell(3, tau=2.0, train_tau=False)
    keras.layers.RNN(fixed)(x)
    assert "log_tau" not in [w.name for w in fixed.trainable_weights]
    np.testing.assert_allclose(numpy_of(fixed.time_constants()), 2.0, rtol=1e-6)


def _train_tau_down(cell, steps=3, learning_rate=100.0):
    """SGD steps on a loss that rewards a fast response (a smaller tau); returns the tau."""
    model = keras.Sequential([keras.Input((5, 1)), keras.layers.RNN(cell)])
    cell.kernel.assign(np.ones((1, 3), "float32"))
    cell.recurrent_kernel.assign(np.zeros((3, 3), "float32"))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=lambda y, p: -keras.ops.sum(p))
    model.fit(np.ones((2, 5, 1), "float32"), np.zeros((2, 3), "float32"), epochs=steps, verbose=0)
    return np.exp(numpy_of(cell.log_tau)), numpy_of(cell.time_constants())


def test_training_cannot_push_tau_below_half_the_euler_step():
    # Below dt / 2 the Euler step of the leak, y <- (1 - dt / tau) y, multiplies y by less than
    # -1 at every step: the network diverges. Big SGD steps that push tau down stop at dt / 2.
    dt = 0.5
    weight_tau, tau = _train_tau_down(CTRNNCell(3, tau=2.0, dt=dt))
    np.testing.assert_allclose(tau, dt / 2, rtol=1e-5)  # pushed down to the bound, not below
    np.testing.assert_allclose(weight_tau, dt / 2, rtol=1e-5)  # the weight itself is constrained


def test_tau_set_below_the_bound_by_hand_is_used_at_the_bound_and_the_state_stays_bounded():
    dt = 0.4
    cell = CTRNNCell(3, tau=1.0, dt=dt, activation="tanh")
    layer = keras.layers.RNN(cell, return_sequences=True)
    x = np.random.default_rng(0).normal(size=(2, 200, 4)).astype("float32")
    layer(x[:, :1])
    cell.log_tau.assign(np.log(np.full(3, 0.01 * dt, "float32")))  # far below dt / 2
    np.testing.assert_allclose(numpy_of(cell.time_constants()), dt / 2, rtol=1e-5)
    y = numpy_of(layer(x))
    assert np.all(np.isfinite(y)) and np.abs(y).max() < 1e3
    # and the gradient still reaches log tau (it is not cut where the bound is applied)
    model = keras.Sequential([keras.Input((200, 4)), layer])
    grads, _ = gradients(model, x[:, :20], lambda y: keras.ops.sum(y[:, -1]))
    assert np.abs(grads[[w.name for w in model.trainable_weights].index("log_tau")]).max() > 0


# --- MTRNN -------------------------------------------------------------------------------------


def mtrnn_numpy(x, w, fast, slow, taus, f=np.tanh, u_f0=None, u_s0=None):
    """Yamashita and Tani's u_{i,t} = (1 - 1/tau_i) u_{i,t-1} + (1/tau_i) sum_j w_ij x_{j,t} for
    the context units (tau_i per unit: fast, then slow), inputs to the fast units only, and the
    output units reading the updated fast context."""
    io_tau, fast_tau, slow_tau = taus
    tau = np.array([fast_tau] * fast + [slow_tau] * slow)
    batch = x.shape[0]
    u = np.zeros((batch, fast + slow))
    if u_f0 is not None:
        u[:, :fast] = u_f0
    if u_s0 is not None:
        u[:, fast:] = u_s0
    u_o = np.zeros((batch, w["output_kernel"].shape[1]))
    ys = []
    for t in range(x.shape[1]):
        c = f(u + w["bias"])  # activations of the previous step
        net = c @ w["recurrent_kernel"]
        net[:, :fast] += x[:, t] @ w["kernel"]
        u = (1 - 1 / tau) * u + (1 / tau) * net
        c_f = f(u[:, :fast] + w["bias"][:fast])
        u_o = (1 - 1 / io_tau) * u_o + (1 / io_tau) * (c_f @ w["output_kernel"])
        ys.append(u_o + w["output_bias"])
    return np.stack(ys, axis=1), u


def test_mtrnn_matches_numpy_equations():
    layer = keras.layers.RNN(
        MTRNNCell(2, fast_units=5, slow_units=3, io_tau=2.0, fast_tau=3.0, slow_tau=20.0),
        return_sequences=True,
        return_state=True,
    )
    w = randomize(layer)
    y, y_last, _, u_f, u_s = (numpy_of(t) for t in layer(X))
    expected, u = mtrnn_numpy(X, w, 5, 3, (2.0, 3.0, 20.0))
    np.testing.assert_allclose(y, expected, atol=1e-5)
    np.testing.assert_array_equal(y_last, y[:, -1])
    np.testing.assert_allclose(u_f, u[:, :5], atol=1e-5)
    np.testing.assert_allclose(u_s, u[:, 5:], atol=1e-5)


def test_each_group_of_units_decays_with_its_own_time_constant():
    # Without input and without connections, u_t = (1 - 1/tau)^t u_0 in each group.
    cell = MTRNNCell(2, fast_units=3, slow_units=2, fast_tau=4.0, slow_tau=50.0)
    layer = keras.layers.RNN(cell, return_state=True)
    layer(X)
    cell.recurrent_kernel.assign(np.zeros(cell.recurrent_kernel.shape, "float32"))
    steps = 10
    initial = [np.zeros((1, 2), "float32"), np.zeros((1, 2), "float32"),
               np.ones((1, 3), "float32"), np.ones((1, 2), "float32")]
    _, _, _, u_f, u_s = layer(np.zeros((1, steps, 4), "float32"), initial_state=initial)
    np.testing.assert_allclose(numpy_of(u_f), (1 - 1 / 4.0) ** steps, rtol=1e-5)
    np.testing.assert_allclose(numpy_of(u_s), (1 - 1 / 50.0) ** steps, rtol=1e-5)


def test_input_reaches_the_slow_context_only_through_the_fast_context():
    layer = keras.layers.RNN(MTRNNCell(2, fast_units=4, slow_units=3), return_state=True)
    randomize(layer)
    nudged = X.copy()
    nudged[:, -1] += 1.0  # change only the last input
    before = [numpy_of(t) for t in layer(X)]
    after = [numpy_of(t) for t in layer(nudged)]
    assert np.abs(after[0] - before[0]).min() > 1e-4  # the output sees x_t at once
    assert np.abs(after[3] - before[3]).min() > 1e-4  # u^f_t too
    np.testing.assert_array_equal(after[4], before[4])  # u^s_t does not
    nudged[:, -2] += 1.0  # a step earlier, it has reached Cs through Cf
    assert np.abs(numpy_of(layer(nudged)[4]) - before[4]).min() > 1e-6


def test_learned_initial_state_starts_every_sequence():
    cell = MTRNNCell(2, fast_units=4, slow_units=3, learn_initial_state=True)
    layer = keras.layers.RNN(cell, return_sequences=True)
    randomize(layer)
    u_f0, u_s0 = numpy_of(cell.initial_fast), numpy_of(cell.initial_slow)
    states = cell.get_initial_state(batch_size=3)
    np.testing.assert_allclose(numpy_of(states[2]), np.tile(u_f0, (3, 1)))
    np.testing.assert_allclose(numpy_of(states[3]), np.tile(u_s0, (3, 1)))
    w = {v.name: numpy_of(v).astype("float64") for v in layer.weights}
    expected, _ = mtrnn_numpy(X, w, 4, 3, (2.0, 5.0, 70.0), u_f0=u_f0, u_s0=u_s0)
    np.testing.assert_allclose(numpy_of(layer(X)), expected, atol=1e-5)


def test_one_learnt_slow_initial_state_per_sequence_from_an_embedding(tmp_path):
    # The paper's set-up: which sequence to generate is chosen by the slow context's initial
    # state, one learnt per training sequence.
    cell = MTRNNCell(2, fast_units=6, slow_units=3, slow_tau=10.0)
    x, ids = keras.Input((None, 2)), keras.Input((), dtype="int32")
    table = keras.layers.Embedding(4, 3, embeddings_initializer=keras.initializers.RandomNormal(
        stddev=1.0, seed=0), name="slow_initial_states")
    slow0 = table(ids)
    y = keras.layers.RNN(cell, return_sequences=True)(x, initial_state=cell.get_initial_state(slow=slow0))
    model = keras.Model([x, ids], y)
    data = [np.zeros((4, 15, 2), "float32"), np.arange(4, dtype="int32")]
    out = numpy_of(model(data))
    assert out.shape == (4, 15, 2)
    for i in range(1, 4):  # same (zero) input, different sequences
        assert np.abs(out[i] - out[0]).max() > 1e-4
    w = {v.name: numpy_of(v).astype("float64") for v in cell.weights}
    expected, _ = mtrnn_numpy(data[0], w, 6, 3, (2.0, 5.0, 10.0), u_s0=numpy_of(table.embeddings))
    np.testing.assert_allclose(out, expected, atol=1e-5)
    path = tmp_path / "mtrnn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(numpy_of(loaded(data)), out)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: CTRNNCell(0), r"`units` must be a positive integer, got 0"),
        (lambda: CTRNNCell(3, tau=0.0), r"`tau` must be a positive float \(or a list\), got 0.0"),
        (lambda: CTRNNCell(3, tau=[1.0, 2.0]), r"`tau` must be one float or a list of `units` \(3\) floats, got a list of 2"),
        (lambda: CTRNNCell(3, tau=[1.0, -2.0, 1.0]), r"`tau\[1\]` must be a positive float, got -2.0"),
        (lambda: CTRNNCell(3, dt=-0.1), r"`dt` must be a positive float, got -0.1"),
        (lambda: CTRNNCell(3, tau=0.04, dt=0.1), r"`tau` must be at least dt / 2 = 0.05 .*got 0.04"),
        (lambda: CTRNNCell(3, tau=[1.0, 0.02, 1.0], dt=0.1), r"`tau\[1\]` must be at least dt / 2 = 0.05 .*got 0.02"),
        (lambda: CTRNNCell(3, center_crossing=True, activation="tanh"), r"`center_crossing=True` needs `activation='sigmoid'`.*got activation='tanh'"),
        (lambda: MTRNNCell(0, 4, 2), r"`units` must be a positive integer, got 0"),
        (lambda: MTRNNCell(2, 0, 2), r"`fast_units` must be a positive integer, got 0"),
        (lambda: MTRNNCell(2, 4, 2.5), r"`slow_units` must be a positive integer, got 2.5"),
        (lambda: MTRNNCell(2, 4, 2, fast_tau=0.5), r"`fast_tau` must be a float >= 1 .*got 0.5"),
        (lambda: MTRNNCell(2, 4, 2, slow_tau="70"), r"`slow_tau` must be a float >= 1 .*got '70'"),
        (lambda: MTRNNCell(2, 4, 2, io_tau=float("inf")), r"`io_tau` must be a float >= 1"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()
