"""Reservoir computing (recipes/reservoir.py): the reservoir's spectral radius and connectivity,
the cell against NumPy, the echo state property, the ridge readout against an independent
least-squares solution, free running, save/load and bad input."""

import keras
import numpy as np
import pytest

from recipes import EchoStateCell, RidgeReadout, collect_states, free_run, sparse_reservoir
from tests.helpers import numpy_of

RNG = np.random.default_rng(0)
U = RNG.uniform(-1, 1, size=(3, 40, 2)).astype("float32")


def built(cell, features=2):
    cell.build((None, features))
    return cell


def weights(cell):
    """W_in, W, b of a built cell as float64 arrays."""
    return [numpy_of(w).astype("float64") for w in (cell.kernel, cell.recurrent_kernel, cell.bias)]


# --- the reservoir ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "units, connectivity, spectral_radius",
    [(200, 0.05, 0.9), (150, 0.1, 1.25), (100, 0.3, 0.5), (60, 1.0, 0.95)],
)
def test_reservoir_has_the_requested_spectral_radius_and_connectivity(
    units, connectivity, spectral_radius
):
    cell = built(EchoStateCell(units, spectral_radius=spectral_radius, connectivity=connectivity, seed=3))
    w = numpy_of(cell.recurrent_kernel).astype("float64")
    assert w.shape == (units, units)
    measured_radius = np.max(np.abs(np.linalg.eigvals(w)))
    assert abs(measured_radius - spectral_radius) < 1e-3
    measured_connectivity = np.count_nonzero(w) / w.size
    assert abs(measured_connectivity - connectivity) <= 0.02 * connectivity


def test_input_weights_and_bias_have_the_requested_scales():
    cell = built(EchoStateCell(50, input_scaling=0.3, bias_scaling=0.1, seed=0), features=4)
    w_in, _, b = weights(cell)
    assert w_in.shape == (4, 50) and b.shape == (50,)
    # Uniform in [-scale, scale]: inside the interval, and filling most of it.
    assert np.abs(w_in).max() <= 0.3 and np.abs(w_in).max() > 0.25
    assert np.abs(b).max() <= 0.1 and np.abs(b).max() > 0.08
    _, _, b = weights(built(EchoStateCell(50, seed=0)))
    np.testing.assert_array_equal(b, 0.0)  # bias_scaling=0: no bias


def test_reservoir_is_fixed_and_reproducible_from_its_seed():
    cell = built(EchoStateCell(30, seed=7))
    assert cell.trainable_weights == [] and len(cell.non_trainable_weights) == 3
    for a, b in zip(weights(cell), weights(built(EchoStateCell(30, seed=7)))):
        np.testing.assert_array_equal(a, b)
    other = weights(built(EchoStateCell(30, seed=8)))
    assert np.abs(weights(cell)[1] - other[1]).max() > 0.01
    # seed=None draws from NumPy's global generator, which keras.utils.set_random_seed seeds.
    keras.utils.set_random_seed(5)
    first = weights(built(EchoStateCell(30)))
    keras.utils.set_random_seed(5)
    np.testing.assert_array_equal(first[1], weights(built(EchoStateCell(30)))[1])


def test_only_the_readout_trains_in_a_keras_model():
    model = keras.Sequential(
        [keras.Input((None, 2)), keras.layers.RNN(EchoStateCell(20, seed=1)), keras.layers.Dense(1)]
    )
    assert len(model.trainable_weights) == 2  # the Dense layer's kernel and bias
    reservoir = [numpy_of(w) for w in model.layers[0].weights]
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(U, np.ones((3, 1), "float32"), epochs=2, verbose=0)
    for before, after in zip(reservoir, model.layers[0].weights):
        np.testing.assert_array_equal(before, numpy_of(after))


def test_tiny_reservoir_without_a_cycle_is_rejected_with_a_clear_message():
    # One non-zero entry in a 4 x 4 matrix: a self-loop (a cycle) or a nilpotent matrix.
    outcomes = []
    for seed in range(20):
        try:
            w = sparse_reservoir(4, 0.05, 0.9, np.random.default_rng(seed))
            assert np.count_nonzero(w) == 1
            np.testing.assert_allclose(np.max(np.abs(np.linalg.eigvals(w))), 0.9)
            outcomes.append("rescaled")
        except ValueError as error:
            assert "needs a larger `connectivity`" in str(error)
            outcomes.append("rejected")
    assert set(outcomes) == {"rescaled", "rejected"}


# --- the cell ----------------------------------------------------------------------------------


def esn_numpy(u, w_in, w, b, a, h0=None):
    """h~_t = tanh(u_t W_in + h_{t-1} W + b), h_t = (1 - a) h_{t-1} + a h~_t."""
    h = np.zeros((u.shape[0], w.shape[0])) if h0 is None else h0
    hs = []
    for t in range(u.shape[1]):
        h = (1 - a) * h + a * np.tanh(u[:, t] @ w_in + h @ w + b)
        hs.append(h)
    return np.stack(hs, axis=1)


@pytest.mark.parametrize("leak_rate", [1.0, 0.3])
def test_echo_state_cell_matches_numpy_equations(leak_rate):
    cell = EchoStateCell(25, leak_rate=leak_rate, connectivity=0.2, bias_scaling=0.5, seed=2)
    layer = keras.layers.RNN(cell, return_sequences=True)
    got = numpy_of(layer(U))
    np.testing.assert_allclose(got, esn_numpy(U, *weights(cell), leak_rate), atol=1e-5)


def test_collect_states_runs_the_reservoir_from_a_given_initial_state():
    cell = built(EchoStateCell(25, leak_rate=0.5, seed=2))
    h0 = RNG.normal(size=(25,))
    expected = esn_numpy(U, *weights(cell), 0.5, h0=np.tile(h0, (3, 1)))
    np.testing.assert_allclose(collect_states(cell, U, initial_state=h0), expected, atol=1e-5)
    # A single sequence (time, features) gives (time, units).
    np.testing.assert_allclose(collect_states(cell, U[1]), esn_numpy(U[1:2], *weights(cell), 0.5)[0],
                               atol=1e-5)


def test_echo_state_property_initial_state_is_forgotten():
    # Driven by the same input from two different initial states, a reservoir with spectral
    # radius below 1 converges to the same trajectory; a strongly expanding one need not.
    u = RNG.uniform(-1, 1, size=(300, 1))
    h0 = RNG.uniform(-1, 1, size=(2, 100))
    distances = {}
    for radius in (0.8, 3.0):
        cell = EchoStateCell(100, spectral_radius=radius, connectivity=0.1, input_scaling=0.5, seed=4)
        states = collect_states(cell, np.stack([u, u]), initial_state=h0)
        distances[radius] = np.linalg.norm(states[0] - states[1], axis=-1)
    assert distances[0.8][0] > 1.0 and distances[0.8][-1] < 1e-4
    assert distances[3.0][-1] > 1e-2


# --- the ridge readout ---------------------------------------------------------------------------


def test_ridge_readout_equals_the_stacked_least_squares_solution():
    # Ridge regression is least squares on [X 1; sqrt(ridge) I 0] [W; b] = [Y; 0]: solved here
    # by an SVD (np.linalg.lstsq), an algorithm independent of the readout's normal equations.
    x = RNG.normal(size=(200, 6))
    y = x @ RNG.normal(size=(6, 2)) + 0.3 + 0.1 * RNG.normal(size=(200, 2))
    ridge = 5.0
    readout = RidgeReadout(ridge=ridge).fit(x, y)
    a = np.block([[x, np.ones((200, 1))], [np.sqrt(ridge) * np.eye(6), np.zeros((6, 1))]])
    solution = np.linalg.lstsq(a, np.vstack([y, np.zeros((6, 2))]), rcond=None)[0]
    np.testing.assert_allclose(readout.kernel, solution[:6], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(readout.bias, solution[6], rtol=1e-10, atol=1e-12)
    assert readout.kernel.dtype == np.float64
    np.testing.assert_allclose(readout.predict(x), x @ solution[:6] + solution[6], rtol=1e-10)


def test_ridge_readout_without_penalty_recovers_a_linear_map_and_solves_in_float64():
    x = RNG.normal(size=(300, 5)).astype("float32")
    a, c = RNG.normal(size=(5, 3)), RNG.normal(size=(3,))
    y = x.astype("float64") @ a + c
    readout = RidgeReadout(ridge=0.0).fit(x, y)
    np.testing.assert_allclose(readout.kernel, a, atol=1e-10)  # float32 inputs, float64 solve
    np.testing.assert_allclose(readout.bias, c, atol=1e-10)
    no_bias = RidgeReadout(ridge=0.0, use_bias=False).fit(x, x.astype("float64") @ a)
    np.testing.assert_allclose(no_bias.kernel, a, atol=1e-10)
    np.testing.assert_array_equal(no_bias.bias, 0.0)


def test_ridge_penalty_shrinks_the_weights_but_not_the_bias():
    x = RNG.normal(size=(100, 4))
    y = x @ np.ones((4, 1)) + 10.0
    norms = [np.linalg.norm(RidgeReadout(ridge=r).fit(x, y).kernel) for r in (0.0, 1.0, 100.0, 1e4)]
    assert norms[0] > norms[1] > norms[2] > norms[3]
    # With the weights shrunk to ~0 the bias alone fits the mean of y, not a shrunk one.
    np.testing.assert_allclose(RidgeReadout(ridge=1e9).fit(x, y).bias, y.mean(), rtol=1e-6)


def test_ridge_readout_never_forms_an_explicit_inverse(monkeypatch):
    def no_inverse(*args, **kwargs):
        raise AssertionError("np.linalg.inv must not be used")

    monkeypatch.setattr(np.linalg, "inv", no_inverse)
    monkeypatch.setattr(np.linalg, "pinv", no_inverse)
    x = RNG.normal(size=(50, 3))
    RidgeReadout(ridge=1e-3).fit(x, x @ np.ones((3, 1)))
    RidgeReadout(ridge=0.0).fit(x, x @ np.ones((3, 1)))


def test_washout_drops_the_first_steps_of_every_sequence():
    x = RNG.normal(size=(2, 60, 4))
    y = x @ RNG.normal(size=(4, 1))
    corrupted = y.copy()
    corrupted[:, :10] = 100.0  # what the reservoir does before it has forgotten h_0
    expected = RidgeReadout(ridge=1e-6).fit(x[:, 10:], y[:, 10:])
    readout = RidgeReadout(ridge=1e-6).fit(x, corrupted, washout=10)
    np.testing.assert_allclose(readout.kernel, expected.kernel, rtol=1e-12)
    np.testing.assert_allclose(readout.bias, expected.bias, atol=1e-12)
    assert np.abs(RidgeReadout(ridge=1e-6).fit(x, corrupted, washout=9).kernel - expected.kernel).max() > 1.0
    # One output may be given as (time,).
    np.testing.assert_allclose(RidgeReadout(1e-6).fit(x[0], y[0, :, 0]).kernel,
                               RidgeReadout(1e-6).fit(x[0], y[0]).kernel)


def test_readout_as_keras_layer_gives_the_same_outputs_and_saves(tmp_path):
    cell = EchoStateCell(30, leak_rate=0.5, seed=1)
    states = collect_states(cell, U)
    targets = RNG.normal(size=(3, 40, 2))
    readout = RidgeReadout(ridge=1e-4).fit(states, targets, washout=5)
    inputs = keras.Input((None, 2))
    model = keras.Model(inputs, readout.as_layer(name="readout")(keras.layers.RNN(cell, return_sequences=True)(inputs)))
    np.testing.assert_allclose(numpy_of(model(U)), readout.predict(states), atol=1e-4)
    path = tmp_path / "esn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(numpy_of(loaded(U)), numpy_of(model(U)))


# --- free running ------------------------------------------------------------------------------


def test_free_run_feeds_each_output_back_as_the_next_input():
    cell = built(EchoStateCell(40, leak_rate=0.6, bias_scaling=0.2, seed=3))
    w_in, w, b = weights(cell)
    readout = RidgeReadout()
    readout.kernel, readout.bias = RNG.normal(scale=0.3, size=(40, 2)), RNG.normal(scale=0.1, size=(2,))
    generated = free_run(cell, readout, U, steps=6)
    assert generated.shape == (3, 6, 2)
    # The same in NumPy: warm up on U, then y_t = h_t W_out + b is the next input.
    h = esn_numpy(U, w_in, w, b, 0.6)[:, -1]
    expected = []
    for _ in range(6):
        y = h @ readout.kernel + readout.bias
        expected.append(y)
        h = esn_numpy(y[:, None], w_in, w, b, 0.6, h0=h)[:, -1]
    np.testing.assert_allclose(generated, np.stack(expected, axis=1), atol=1e-4)
    assert free_run(cell, readout, U[0], steps=2).shape == (2, 2)


def test_esn_trained_on_a_sine_generates_it_when_running_free():
    t = np.arange(700)
    u = (0.6 * np.sin(2 * np.pi * t / 20) + 0.3 * np.cos(2 * np.pi * t / 10))[:, None]
    cell = EchoStateCell(100, spectral_radius=0.9, connectivity=0.1, bias_scaling=0.2, seed=0)
    readout = RidgeReadout(ridge=1e-8).fit(collect_states(cell, u[:500]), u[1:501], washout=100)
    generated = free_run(cell, readout, u[:600], steps=100)
    # Predictions of u[600:700], generated from the network's own outputs.
    assert np.abs(generated[:, 0] - u[600:, 0]).max() < 0.01


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: EchoStateCell(0), r"`units` must be a positive integer, got 0"),
        (lambda: EchoStateCell(8, spectral_radius=0), r"`spectral_radius` must be a positive float, got 0"),
        (lambda: EchoStateCell(8, spectral_radius=float("nan")), r"`spectral_radius` must be a positive float"),
        (lambda: EchoStateCell(8, leak_rate=0.0), r"`leak_rate` must be a float in \(0, 1\], got 0.0"),
        (lambda: EchoStateCell(8, leak_rate=1.5), r"`leak_rate` must be a float in \(0, 1\], got 1.5"),
        (lambda: EchoStateCell(8, input_scaling=-1), r"`input_scaling` must be a positive float, got -1"),
        (lambda: EchoStateCell(8, connectivity=0), r"`connectivity` must be a float in \(0, 1\], got 0"),
        (lambda: EchoStateCell(8, connectivity="0.1"), r"`connectivity` must be a float in \(0, 1\], got '0.1'"),
        (lambda: EchoStateCell(8, bias_scaling=-0.1), r"`bias_scaling` must be a float >= 0, got -0.1"),
        (lambda: EchoStateCell(8, seed=1.5), r"`seed` must be None or an integer >= 0, got 1.5"),
        (lambda: RidgeReadout(ridge=-1e-3), r"`ridge` must be a float >= 0, got -0.001"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_readout_and_free_run_calls_say_what_is_expected():
    x, y = RNG.normal(size=(20, 3)), RNG.normal(size=(20, 1))
    with pytest.raises(ValueError, match=r"`washout` \(20\) must be smaller than the number of time steps"):
        RidgeReadout().fit(x, y, washout=20)
    with pytest.raises(ValueError, match=r"`washout` must be an integer >= 0, got -1"):
        RidgeReadout().fit(x, y, washout=-1)
    with pytest.raises(ValueError, match=r"same batch and time sizes; got shapes \(20, 3\) and \(19, 1\)"):
        RidgeReadout().fit(x, y[:19])
    with pytest.raises(ValueError, match=r"not fitted yet"):
        RidgeReadout().predict(x)
    readout = RidgeReadout().fit(x, y)
    with pytest.raises(ValueError, match=r"`states` must have 3 features \(as in `fit`\), got shape \(20, 4\)"):
        readout.predict(RNG.normal(size=(20, 4)))
    cell = EchoStateCell(3, connectivity=0.5, seed=0)
    with pytest.raises(ValueError, match=r"as many outputs as the cell has input features \(2\); got 1"):
        free_run(cell, readout, U, steps=3)
    with pytest.raises(ValueError, match=r"`steps` must be a positive integer, got 0"):
        free_run(cell, readout, U, steps=0)
    with pytest.raises(ValueError, match=r"`inputs` must have shape \(time, features\) or \(batch, time, features\)"):
        collect_states(cell, np.zeros(5))


# --- the readout of Lukosevicius's guide, [1; u; x] ------------------------------------------------


def test_collect_states_can_give_the_readout_the_input_beside_the_state():
    cell = built(EchoStateCell(20, leak_rate=0.6, bias_scaling=0.2, seed=3))
    alone = collect_states(cell, U)
    both = collect_states(cell, U, include_inputs=True)
    assert both.shape == (3, 40, 2 + 20)
    np.testing.assert_array_equal(both[..., :2], U)
    np.testing.assert_allclose(both[..., 2:], alone, atol=1e-6)
    assert collect_states(cell, U[0], include_inputs=True).shape == (40, 22)


def test_a_readout_of_the_input_fits_what_a_readout_of_the_state_alone_cannot():
    # y_t = 2 u_t is linear in [1; u_t; h_t], but a small leaky reservoir mixes u_t with the
    # past, and no readout of h_t alone recovers it.
    cell = EchoStateCell(5, input_scaling=2.0, leak_rate=0.3, connectivity=1.0, seed=0)
    u = np.random.default_rng(1).uniform(-1, 1, size=(300, 1))
    errors = {}
    for include in (False, True):
        states = collect_states(cell, u, include_inputs=include)
        readout = RidgeReadout(1e-10).fit(states, 2 * u, washout=20)
        errors[include] = np.abs(readout.predict(states[20:]) - 2 * u[20:]).max()
    assert errors[True] < 1e-5 and errors[False] > 0.5


def test_free_run_with_inputs_reads_the_fed_back_output_beside_the_state():
    cell = built(EchoStateCell(30, leak_rate=0.6, bias_scaling=0.2, seed=3))
    readout = RidgeReadout()
    readout.kernel, readout.bias = RNG.normal(scale=0.3, size=(2 + 30, 2)), RNG.normal(scale=0.1, size=(2,))
    generated = free_run(cell, readout, U, steps=5, include_inputs=True)
    # Teacher-forcing the warm-up followed by the generated outputs must give them back:
    # y_t = [u_t, h_t] W_out + b, with u_t the last warm-up input, then each y fed back.
    replay = collect_states(cell, np.concatenate([U, generated[:, :-1]], axis=1), include_inputs=True)
    np.testing.assert_allclose(readout.predict(replay[:, -5:]), generated, atol=1e-4)
