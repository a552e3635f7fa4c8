"""The neural history compressor (recipes/compressor.py): what reaches the chunker, the combined
prediction against a step-by-step reference, gradient routing, save/load, learning, bad input."""

import os

import keras
import numpy as np
import pytest

from tests.helpers import gradients, numpy_of
from recipes.compressor import HistoryCompressor, probability_of_inputs, select_steps
from recipes.gated import LSTMCell
from recipes.simple import ElmanCell

SYMBOLS = 4
RNG = np.random.default_rng(0)
IDS = RNG.integers(0, SYMBOLS, size=(5, 9))
X = np.eye(SYMBOLS, dtype="float32")[IDS]


def compressor(threshold=0.5, scale=2.0, seed=1, **kwargs):
    """A compressor whose two networks have random weights large enough to spread p_t over (0, 1)."""
    model = HistoryCompressor(SYMBOLS, ElmanCell(6), ElmanCell(5), threshold=threshold, **kwargs)
    rng = np.random.default_rng(seed)
    for net in (model.automatizer, model.chunker):
        net.set_weights([rng.normal(scale=scale, size=w.shape).astype("float32")
                         for w in net.get_weights()])
    return model


def copy_compressor(threshold=0.9, time_scale=10.0):
    """An automatizer that predicts 'the next symbol repeats this one': s_t = x_t, logits 10 s_t,
    so P(x_{t+1} = x_t) = e^10 / (e^10 + 3) and every other symbol gets 1 / (e^10 + 3)."""
    model = HistoryCompressor(SYMBOLS, ElmanCell(SYMBOLS, activation="linear", use_bias=False),
                              ElmanCell(3), threshold=threshold, time_scale=time_scale)
    eye = np.eye(SYMBOLS, dtype="float32")
    model.automatizer.set_weights([eye, 0 * eye, 10 * eye, np.zeros(SYMBOLS, "float32")])
    return model


# --- what reaches the chunker --------------------------------------------------------------------


def test_shapes_of_predictions_compression_and_training_data():
    model = compressor()
    assert tuple(model(X).shape) == (5, 9, SYMBOLS)
    inputs, times, mask = model.compress(X)
    k = int(numpy_of(mask).sum(axis=1).max())
    assert tuple(inputs.shape) == (5, k, SYMBOLS) and tuple(times.shape) == tuple(mask.shape) == (5, k)
    x, y = model.automatizer_data(X)
    assert x.shape == y.shape == (5, 8, SYMBOLS)
    x, y, w = model.chunker_data(X)
    assert x.shape == (5, k, SYMBOLS + 1) and y.shape == (5, k, SYMBOLS) and w.shape == (5, k)


def test_copy_automatizer_passes_up_exactly_the_changes_golden_numbers():
    # Derived by hand: with a 'repeat' automatizer the surprises are step 0 and every change.
    ids = np.array([[0, 0, 0, 2, 2, 1, 1, 1], [3, 3, 3, 3, 3, 3, 3, 3], [1, 2, 3, 0, 0, 0, 0, 0]])
    x = np.eye(SYMBOLS, dtype="float32")[ids]
    model = copy_compressor(threshold=0.9, time_scale=10.0)
    same, other = np.exp(10) / (np.exp(10) + 3), 1 / (np.exp(10) + 3)
    expected_p = np.where(ids[:, 1:] == ids[:, :-1], same, other)
    p = numpy_of(model.input_probabilities(x))
    np.testing.assert_allclose(p[:, 0], 0.0)
    np.testing.assert_allclose(p[:, 1:], expected_p, rtol=1e-5)

    inputs, times, mask = (numpy_of(v) for v in model.compress(x))
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(times, [[0, 3, 5, 0], [0, 0, 0, 0], [0, 1, 2, 3]])
    np.testing.assert_array_equal(inputs.argmax(-1)[mask], [0, 2, 1, 3, 1, 2, 3, 0])
    np.testing.assert_array_equal(inputs[~mask], 0.0)

    # The chunker reads [symbol, t / 10] and is taught the next surprise; the last one has no target.
    cx, cy, w = model.chunker_data(x)
    np.testing.assert_allclose(cx[0], [[1, 0, 0, 0, 0.0], [0, 0, 1, 0, 0.3], [0, 1, 0, 0, 0.5],
                                       [0, 0, 0, 0, 0.0]])
    np.testing.assert_array_equal(cy[0].argmax(-1)[:2], [2, 1])
    np.testing.assert_array_equal(cy[0, 2:], 0.0)
    np.testing.assert_array_equal(w, [[1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 0]])

    # A threshold at or below 1 / (e^10 + 3) lets nothing but the first step through.
    only_first = numpy_of(model.surprises(x, threshold=other * 0.99))
    np.testing.assert_array_equal(only_first.sum(axis=1), [1, 1, 1])


@pytest.mark.parametrize("threshold", [0.05, 0.2, 0.5, 0.8, 1.0])
def test_chunker_receives_exactly_the_steps_whose_probability_is_below_the_threshold(threshold):
    model = compressor(threshold=threshold)
    predictions = numpy_of(model.automatizer(X))
    # NumPy: the probability the automatizer, after step t - 1, gave the input that came at t.
    p = np.zeros(IDS.shape)
    for b in range(IDS.shape[0]):
        for t in range(1, IDS.shape[1]):
            p[b, t] = predictions[b, t - 1, IDS[b, t]]
    expected = [np.flatnonzero(p[b] < threshold) for b in range(IDS.shape[0])]
    assert any(0 < len(e) < IDS.shape[1] for e in expected) or threshold == 1.0  # not all or nothing
    np.testing.assert_allclose(numpy_of(probability_of_inputs(predictions, X)), p, atol=1e-6)
    np.testing.assert_array_equal(numpy_of(model.surprises(X)), p < threshold)

    inputs, times, mask = (numpy_of(v) for v in model.compress(X))
    assert mask.shape[1] == max(len(e) for e in expected)
    for b, steps in enumerate(expected):
        np.testing.assert_array_equal(times[b][mask[b]], steps)
        np.testing.assert_array_equal(mask[b], np.arange(mask.shape[1]) < len(steps))
        np.testing.assert_array_equal(inputs[b][mask[b]], X[b, steps])
        np.testing.assert_array_equal(inputs[b][~mask[b]], 0.0)
        np.testing.assert_array_equal(times[b][~mask[b]], 0)


def test_a_higher_threshold_passes_up_a_superset_of_the_steps():
    model = compressor()
    previous = None
    for threshold in [0.01, 0.1, 0.3, 0.6, 0.9, 1.0]:
        selected = numpy_of(model.surprises(X, threshold=threshold))
        assert selected[:, 0].all()  # nothing predicts the first input
        if previous is not None:
            assert np.all(selected >= previous)
        previous = selected
    assert previous.all()  # at threshold 1 every step is a surprise (softmax < 1)


def test_select_steps_keeps_time_order_and_pads_with_zeros():
    x = np.arange(2 * 5 * 1, dtype="float32").reshape(2, 5, 1) + 1
    selected = np.array([[0, 1, 0, 1, 1], [0, 0, 0, 0, 0]], bool)
    inputs, times, mask = (numpy_of(v) for v in select_steps(x, selected))
    np.testing.assert_array_equal(inputs[..., 0], [[2, 4, 5, 0, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(times, [[1, 3, 4, 0, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]])


# --- the combined prediction ---------------------------------------------------------------------


def test_combined_prediction_equals_a_step_by_step_reference():
    model = compressor(threshold=0.9, time_scale=9.0)
    threshold = model.threshold
    predictions = numpy_of(model.automatizer(X))
    selected = numpy_of(model.surprises(X))
    combined = numpy_of(model(X))
    used = {"automatizer": 0, "chunker": 0}
    for b in range(X.shape[0]):
        # The chunker alone, unpadded, over this sequence's surprises: [symbol, t / 9] at each.
        steps = np.flatnonzero(selected[b])
        read = np.concatenate([X[b, steps], steps[:, None] / 9.0], axis=1)[None].astype("float32")
        chunker_outputs = numpy_of(model.chunker(read))[0]
        for t in range(X.shape[1]):
            if predictions[b, t].max() >= threshold:
                expected = predictions[b, t]
                used["automatizer"] += 1
            else:  # the chunker's output after the last surprise at or before t
                expected = chunker_outputs[np.sum(steps <= t) - 1]
                used["chunker"] += 1
            np.testing.assert_allclose(combined[b, t], expected, atol=1e-5, err_msg=f"b={b} t={t}")
    assert min(used.values()) > 5, used  # both branches are exercised


def test_sure_automatizer_is_used_as_it_is_and_an_unsure_one_defers_to_the_chunker():
    x = X[:, :6]
    model = copy_compressor(threshold=0.9)  # max probability e^10/(e^10+3) >= 0.9 at every step
    np.testing.assert_allclose(numpy_of(model(x)), numpy_of(model.automatizer(x)), atol=1e-6)
    model = copy_compressor(threshold=1.0)  # below 1 everywhere: every step is the chunker's
    inputs, times, mask = model.compress(x)
    np.testing.assert_array_equal(numpy_of(times), np.tile(np.arange(6), (5, 1)))
    expected = numpy_of(model.chunker(model.chunker_inputs(inputs, times, mask)))
    np.testing.assert_allclose(numpy_of(model(x)), expected, atol=1e-6)


def test_predict_in_a_compiled_graph_equals_the_eager_call():
    model = compressor(threshold=0.5)
    np.testing.assert_allclose(model.predict(X, batch_size=2, verbose=0), numpy_of(model(X)), atol=1e-5)


@pytest.mark.parametrize("threshold, trained, untouched", [(1e-6, "automatizer", "chunker"),
                                                           (1.0, "chunker", "automatizer")])
def test_gradients_reach_the_network_whose_prediction_is_used(threshold, trained, untouched):
    model = compressor(threshold=threshold, scale=0.5)
    weight_grads, input_grad = gradients(model, X, lambda y: keras.ops.sum(y[:, -1] ** 2))
    grads = {w.path: g for w, g in zip(model.trainable_weights, weight_grads)}
    for net, expect_signal in [(trained, True), (untouched, False)]:
        for w in getattr(model, net).trainable_weights:
            g = grads[w.path]
            assert np.all(np.isfinite(g)), w.path
            assert (np.abs(g).max() > 0) == expect_signal, w.path
    # The loss reads the last output only: the first input's gradient came back through time.
    assert np.abs(input_grad[:, 0]).max() > 1e-7


# --- saving --------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunker_cell", [lambda: ElmanCell(5), lambda: LSTMCell(5)],
                         ids=["Elman", "LSTM"])
def test_save_and_load_round_trip_gives_identical_outputs(tmp_path, chunker_cell):
    model = HistoryCompressor(SYMBOLS, ElmanCell(6), chunker_cell(), threshold=0.3, time_scale=7.0)
    rng = np.random.default_rng(2)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    path = os.path.join(tmp_path, "compressor.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, HistoryCompressor)
    assert (loaded.symbols, loaded.threshold, loaded.time_scale) == (SYMBOLS, 0.3, 7.0)
    assert type(loaded.chunker_cell) is type(model.chunker_cell)
    np.testing.assert_array_equal(numpy_of(loaded(X)), numpy_of(model(X)))
    for a, b in zip(loaded.compress(X), model.compress(X)):
        np.testing.assert_array_equal(numpy_of(a), numpy_of(b))
    again = HistoryCompressor.from_config(model.get_config())
    assert again.get_config() == model.get_config()


# --- learning ------------------------------------------------------------------------------------


class BigramCell(keras.layers.Layer):
    """A cell with no memory, s_t = tanh(x_t U + b): a bigram model, it cannot carry the first symbol."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = self.state_size = self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), name="bias", initializer="zeros")

    def call(self, inputs, states):
        s = keras.ops.tanh(keras.ops.matmul(inputs, self.kernel) + self.bias)
        return s, [s]


def test_trained_compressor_passes_up_two_steps_and_predicts_the_last_symbol():
    # Hochreiter and Schmidhuber's task 2a, short: (c, a1, ..., a5, c) with c in {x, y}. The
    # automatizer learns the stretch, is unsure at the end, and the chunker gets 2 steps of 7.
    p = 6
    first = np.tile([0, 1], 32)
    ids = np.column_stack([first, np.tile(np.arange(2, p + 1), (64, 1)), first])
    x = np.eye(p + 1, dtype="float32")[ids]
    model = HistoryCompressor(p + 1, BigramCell(8), ElmanCell(4), threshold=0.8, time_scale=p)
    model.automatizer.compile(keras.optimizers.Adam(0.05), "categorical_crossentropy")
    model.automatizer.fit(*model.automatizer_data(x), epochs=4, batch_size=8, verbose=0)
    selected = numpy_of(model.surprises(x))
    np.testing.assert_array_equal(selected, np.arange(p + 1)[None].repeat(64, 0) % p == 0)
    cx, cy, w = model.chunker_data(x)
    assert cx.shape == (64, 2, p + 2)  # p + 1 steps compressed to 2: the first and the last
    model.chunker.compile(keras.optimizers.Adam(0.05), "categorical_crossentropy")
    model.chunker.fit(cx, cy, sample_weight=w, epochs=4, batch_size=8, verbose=0)
    last = numpy_of(model(x))[:, -2]  # the combined prediction of the last symbol
    np.testing.assert_array_equal(last.argmax(-1), first)
    assert last[np.arange(64), first].min() > 0.9
    assert numpy_of(model.automatizer(x))[:, -2, :2].max() < 0.6  # alone, the automatizer cannot


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"symbols": 0}, r"`symbols` must be a positive integer, got 0"),
        ({"threshold": 0.0}, r"`threshold` must be in \(0, 1\], got 0.0"),
        ({"threshold": 1.5}, r"`threshold` must be in \(0, 1\], got 1.5"),
        ({"threshold": "0.5"}, r"`threshold` must be in \(0, 1\], got '0.5'"),
        ({"threshold": float("nan")}, r"`threshold` must be in \(0, 1\], got nan"),
        ({"time_scale": 0}, r"`time_scale` must be positive, got 0"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(kwargs, message):
    arguments = {"symbols": SYMBOLS, "automatizer_cell": ElmanCell(3), "chunker_cell": ElmanCell(3),
                 **kwargs}
    with pytest.raises(ValueError, match=message):
        HistoryCompressor(**arguments)


def test_one_cell_for_both_networks_is_rejected():
    cell = ElmanCell(3)
    with pytest.raises(ValueError, match=r"`chunker_cell` must be a different cell object"):
        HistoryCompressor(SYMBOLS, cell, cell)


def test_sequences_of_the_wrong_shape_and_bad_thresholds_are_rejected():
    model = compressor()
    expected = r"`sequences` must be one-hot of shape \(batch, time, symbols=4\); got shape \(5, 9, 3\)"
    with pytest.raises(ValueError, match=expected):
        model.compress(X[..., :3])
    with pytest.raises(ValueError, match=r"`sequences` must be one-hot of shape .* got shape \(5, 9\)"):
        model.chunker_data(IDS.astype("float32"))
    with pytest.raises(ValueError, match=r"`threshold` must be in \(0, 1\], got 2"):
        model.compress(X, threshold=2)
