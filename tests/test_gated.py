"""Gated memory (recipes/gated.py): equal to Keras's LSTM and GRU, peepholes against NumPy,
the whole-sequence layers against the cells, invariants and bad input."""

import keras
import numpy as np
import pytest

from tests.helpers import gradients, numpy_of
from recipes import GRU, LSTM, GRUCell, LSTMCell

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 6, 4)).astype("float32")
MASK = np.arange(6)[None, :] < np.array([6, 2, 4])[:, None]


def randomize(layer, seed=1, scale=0.5):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=scale, size=w.shape).astype("float32") for w in layer.get_weights()])


def built(layer, x=X):
    layer(x)
    return layer


# --- equal to the Keras built-ins ----------------------------------------------------------------

BUILTINS = [
    (lambda: keras.layers.LSTM(5, return_sequences=True), lambda: LSTMCell(5), lambda: LSTM(5, return_sequences=True)),
    (lambda: keras.layers.GRU(5, return_sequences=True), lambda: GRUCell(5), lambda: GRU(5, return_sequences=True)),
    (
        lambda: keras.layers.GRU(5, reset_after=False, return_sequences=True),
        lambda: GRUCell(5, reset_after=False),
        lambda: GRU(5, reset_after=False, return_sequences=True),
    ),
]
IDS = ["LSTM", "GRU-reset-after", "GRU-reset-before"]


@pytest.mark.parametrize("builtin, cell, sequence", BUILTINS, ids=IDS)
def test_cell_and_sequence_layer_equal_keras_builtin_with_copied_weights(builtin, cell, sequence):
    reference = built(builtin())
    randomize(reference)
    expected = numpy_of(reference(X))
    for layer in [built(keras.layers.RNN(cell(), return_sequences=True)), built(sequence())]:
        assert [w.shape for w in layer.get_weights()] == [w.shape for w in reference.get_weights()]
        layer.set_weights(reference.get_weights())
        np.testing.assert_allclose(numpy_of(layer(X)), expected, atol=1e-5)
    # and with a mask on a padded batch
    np.testing.assert_allclose(numpy_of(layer(X, mask=MASK)), numpy_of(reference(X, mask=MASK)), atol=1e-5)


def test_unit_forget_bias_starts_the_forget_gate_open():
    cell = LSTMCell(4)
    keras.layers.RNN(cell)(X)
    bias = numpy_of(cell.bias)
    np.testing.assert_array_equal(bias[4:8], 1.0)
    np.testing.assert_array_equal(np.delete(bias, np.s_[4:8]), 0.0)
    cell = LSTMCell(4, unit_forget_bias=False)
    keras.layers.RNN(cell)(X)
    np.testing.assert_array_equal(numpy_of(cell.bias), 0.0)


def lstm_peephole_numpy(x, kernel, recurrent_kernel, bias, peephole):
    sigma = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    u = recurrent_kernel.shape[0]
    h = c = np.zeros((x.shape[0], u))
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        zi, zf, zc, zo = z[:, :u], z[:, u : 2 * u], z[:, 2 * u : 3 * u], z[:, 3 * u :]
        i = sigma(zi + peephole[0] * c)
        f = sigma(zf + peephole[1] * c)
        c = f * c + i * np.tanh(zc)
        o = sigma(zo + peephole[2] * c)
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1)


@pytest.mark.parametrize("layer", [lambda: keras.layers.RNN(LSTMCell(5, peephole=True), return_sequences=True),
                                   lambda: LSTM(5, peephole=True, return_sequences=True)], ids=["cell", "sequence"])
def test_peephole_lstm_matches_numpy_equations(layer):
    layer = built(layer())
    randomize(layer)
    kernel, recurrent_kernel, bias, peephole = layer.get_weights()
    expected = lstm_peephole_numpy(X, kernel, recurrent_kernel, bias, peephole)
    np.testing.assert_allclose(numpy_of(layer(X)), expected, atol=1e-5)


# --- invariants ----------------------------------------------------------------------------------


def test_lstm_with_open_forget_gate_and_closed_input_gate_keeps_its_cell_state():
    # The constant error carousel: f = 1, i = 0 gives c_t = c_{t-1} exactly, whatever the input.
    layer = built(keras.layers.RNN(LSTMCell(4), return_state=True))
    kernel, recurrent_kernel, bias = layer.get_weights()
    bias[:4], bias[4:8] = -40.0, 40.0
    layer.set_weights([kernel, recurrent_kernel, bias])
    c0 = RNG.normal(size=(3, 4)).astype("float32")
    _, _, c = layer(X, initial_state=[np.zeros((3, 4), "float32"), c0])
    np.testing.assert_allclose(numpy_of(c), c0, atol=1e-6)


def test_gru_with_closed_update_gate_keeps_its_state():
    layer = built(keras.layers.RNN(GRUCell(4), return_state=True))
    kernel, recurrent_kernel, bias = layer.get_weights()
    bias[0, :4] = 40.0  # z = 1: h_t = h_{t-1}
    layer.set_weights([kernel, recurrent_kernel, bias])
    h0 = RNG.normal(size=(3, 4)).astype("float32")
    _, h = layer(X, initial_state=[h0])
    np.testing.assert_allclose(numpy_of(h), h0, atol=1e-6)


# --- the whole-sequence layers -------------------------------------------------------------------


@pytest.mark.parametrize("cls, cell_cls", [(LSTM, LSTMCell), (GRU, GRUCell)], ids=["LSTM", "GRU"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("unroll", [False, True])
def test_sequence_layer_equals_the_cell_in_keras_rnn(cls, cell_cls, go_backwards, unroll):
    if unroll and go_backwards and keras.backend.backend() == "torch":
        # keras.layers.LSTM(unroll=True, go_backwards=True) fails on a masked batch with the
        # PyTorch backend too ("'tuple' object has no attribute 'shape'", Keras 3.15).
        pytest.skip("Keras's torch backend cannot unroll a masked sequence backwards")
    kwargs = dict(return_sequences=True, return_state=True, go_backwards=go_backwards)
    reference = built(keras.layers.RNN(cell_cls(5), **kwargs))
    randomize(reference)
    layer = built(cls(5, unroll=unroll, **kwargs))
    layer.set_weights(reference.get_weights())
    states0 = [RNG.normal(size=(3, 5)).astype("float32") for _ in reference.cell.state_size]
    # With a mask, the output at padded steps met before any real step (go_backwards) is the
    # initial h on TensorFlow and JAX but zero on PyTorch, so that case starts from zeros.
    for mask, initial_state in [(None, states0), (MASK, None)]:
        expected = reference(X, mask=mask, initial_state=initial_state)
        got = layer(X, mask=mask, initial_state=initial_state)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(numpy_of(g), numpy_of(e), atol=1e-5)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_sequence_layer_in_bidirectional_on_a_padded_batch(cls):
    bi = keras.layers.Bidirectional(cls(5, return_sequences=True))
    batched = numpy_of(bi(X, mask=MASK))
    for i, length in enumerate(MASK.sum(axis=1)):
        alone = numpy_of(bi(X[i : i + 1, :length]))[0]
        np.testing.assert_allclose(batched[i, :length], alone, atol=1e-5)
        np.testing.assert_array_equal(batched[i, length:], 0.0)  # Bidirectional zeroes padding


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_sequence_layer_saves_loads_and_trains(cls, tmp_path):
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, keras.layers.Dense(1)(cls(5, dropout=0.1, recurrent_dropout=0.1, seed=2)(inputs)))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(numpy_of(model(X)), numpy_of(loaded(X)))
    assert loaded.layers[1].cell.dropout == 0.1
    weight_grads, input_grad = gradients(model, X, lambda y: keras.ops.sum(y**2))
    for weight, grad in zip(model.trainable_weights, weight_grads):
        assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0, weight.path
    assert np.abs(input_grad[:, 0]).max() > 0


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_sequence_layer_dropout_only_in_training(cls):
    layer = cls(8, dropout=0.3, recurrent_dropout=0.3, seed=0)
    inference = numpy_of(layer(X))
    np.testing.assert_array_equal(inference, numpy_of(layer(X, training=False)))
    assert np.abs(numpy_of(layer(X, training=True)) - inference).max() > 1e-4


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LSTMCell(0), r"`units` must be a positive integer, got 0"),
        (lambda: GRUCell(3, dropout=2), r"`dropout` must be a float in \[0, 1\), got 2"),
        (lambda: LSTM(-1), r"`units` must be a positive integer, got -1"),
        (lambda: GRU(4, recurrent_dropout=1.0), r"`recurrent_dropout` must be a float in \[0, 1\)"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_sequence_layer_rejects_inputs_that_are_not_sequences(cls):
    with pytest.raises(ValueError, match=r"expects sequences of shape \(batch, time, features\)"):
        cls(4)(np.zeros((2, 3), "float32"))


# --- the fused path: custom-gradient scan ------------------------------------------------------

X7 = RNG.normal(size=(3, 7, 4)).astype("float32")  # 7 steps: chunks of 3 need padding
FUSED = [
    (lambda **k: keras.layers.LSTM(5, **k), lambda **k: LSTM(5, fused=True, **k), 2),
    (lambda **k: keras.layers.GRU(5, **k), lambda **k: GRU(5, fused=True, **k), 1),
    (lambda **k: keras.layers.GRU(5, reset_after=False, **k), lambda **k: GRU(5, reset_after=False, fused=True, **k), 1),
]


class _FromFirstStep(keras.Model):
    """Runs `rnn` from initial states computed from x_0, so gradients must pass through them;
    returns every output and final state, flattened."""

    def __init__(self, rnn, n_states):
        super().__init__()
        self.rnn = rnn
        self.starts = [keras.layers.Dense(5, activation="tanh") for _ in range(n_states)]

    def call(self, x, training=False):
        states = [start(x[:, 0]) for start in self.starts]
        outputs = self.rnn(x, initial_state=states, training=training)
        flat = [keras.ops.reshape(outputs[0], (keras.ops.shape(x)[0], -1)), *outputs[1:]]
        return keras.ops.concatenate(flat, axis=-1)


@pytest.mark.parametrize("builtin, sequence, n_states", FUSED, ids=IDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("chunk", [1, 3, 10])
def test_fused_outputs_and_gradients_equal_keras_builtin(builtin, sequence, n_states, go_backwards, chunk):
    kwargs = dict(return_sequences=True, return_state=True, go_backwards=go_backwards)
    reference = _FromFirstStep(builtin(**kwargs), n_states)
    model = _FromFirstStep(sequence(**kwargs), n_states)
    model.rnn.fused_chunk = chunk
    reference(X7)
    model(X7)
    randomize(reference)
    model.set_weights(reference.get_weights())
    assert model.rnn.fused_applies(mask=None, training=True)
    np.testing.assert_allclose(numpy_of(model(X7)), numpy_of(reference(X7)), atol=1e-5)
    weights = np.random.default_rng(3).normal(size=numpy_of(reference(X7)).shape).astype("float32")
    weights = keras.ops.convert_to_tensor(weights)
    loss = lambda y: keras.ops.sum(y * weights)  # noqa: E731
    expected_weights, expected_input = gradients(reference, X7, loss)
    got_weights, got_input = gradients(model, X7, loss)
    assert len(got_weights) == len(expected_weights) == 2 * n_states + 3
    for weight, got, expected in zip(model.trainable_weights, got_weights, expected_weights):
        assert np.abs(expected).max() > 1e-3, weight.path  # initial states and weights get gradients
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=weight.path)
    np.testing.assert_allclose(got_input, expected_input, atol=1e-5)


@pytest.mark.parametrize(
    "make, call_kwargs",
    [
        (lambda **k: LSTM(5, **k), dict(mask=MASK)),
        (lambda **k: GRU(5, **k), dict(mask=MASK)),
        (lambda **k: LSTM(5, peephole=True, **k), {}),
        (lambda **k: GRU(5, activation="relu", **k), {}),
        (lambda **k: LSTM(5, recurrent_activation="hard_sigmoid", **k), {}),
    ],
    ids=["LSTM-mask", "GRU-mask", "LSTM-peephole", "GRU-relu", "LSTM-hard-sigmoid"],
)
def test_fused_falls_back_to_the_loop_where_it_does_not_apply(make, call_kwargs):
    fused = built(make(return_sequences=True, fused=True))
    loop = built(make(return_sequences=True))
    randomize(fused)
    loop.set_weights(fused.get_weights())
    assert not fused.fused_applies(mask=call_kwargs.get("mask"))
    np.testing.assert_allclose(numpy_of(fused(X, **call_kwargs)), numpy_of(loop(X, **call_kwargs)), atol=1e-6)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_fused_applies_only_without_mask_state_or_active_recurrent_dropout(cls):
    assert cls(4, fused=True).fused_applies(mask=None, training=True)
    assert not cls(4).fused_applies()  # off by default
    assert not cls(4, fused=True).fused_applies(mask=MASK)
    assert not cls(4, fused=True, stateful=True).fused_applies()
    assert not cls(4, fused=True, recurrent_dropout=0.2).fused_applies(training=True)
    assert cls(4, fused=True, recurrent_dropout=0.2).fused_applies(training=False)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_fused_and_loop_equal_and_survive_save_load(cls, tmp_path):
    inputs = keras.Input((None, 4))  # unknown length: the fused path then steps one at a time
    model = keras.Model(inputs, [cls(5, return_sequences=True, fused=True)(inputs), cls(5)(inputs)])
    randomize(model)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert [layer.fused for layer in loaded.layers[1:]] == [True, False]
    for got, expected in zip(loaded(X7), model(X7)):
        np.testing.assert_array_equal(numpy_of(got), numpy_of(expected))
    loop = cls(5, return_sequences=True)
    loop(X7)
    loop.set_weights(model.layers[1].get_weights())
    np.testing.assert_allclose(numpy_of(model(X7)[0]), numpy_of(loop(X7)), atol=1e-5)
