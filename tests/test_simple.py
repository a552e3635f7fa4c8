"""The simple recurrent family (recipes/simple.py): equations, references, dropout, bad input."""

import keras
import numpy as np
import pytest

from recipes import ElmanCell, FullyRecurrentCell, JordanCell, RMLPCell

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 6, 4)).astype("float32")


def run(cell, x=X, **kwargs):
    """Outputs of keras.layers.RNN(cell) over the whole sequence, as NumPy."""
    layer = keras.layers.RNN(cell, return_sequences=True, **kwargs)
    return layer, keras.ops.convert_to_numpy(layer(x))


def randomize(layer, scale=0.5, seed=1):
    """Give every weight random values (the biases too, so that they are tested)."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=scale, size=w.shape).astype("float32") for w in layer.get_weights()])
    return {w.path.split("/")[-1]: keras.ops.convert_to_numpy(w) for w in layer.weights}


# --- references ----------------------------------------------------------------------------------


def test_elman_equals_keras_simple_rnn_with_copied_weights():
    simple = keras.layers.SimpleRNN(5, return_sequences=True)
    simple(X)
    randomize(simple)
    expected = keras.ops.convert_to_numpy(simple(X))
    layer, _ = run(ElmanCell(5))
    layer.set_weights(simple.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(X)), expected, atol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_elman_equals_keras_simple_rnn_with_other_activations(activation):
    simple = keras.layers.SimpleRNN(5, activation=activation, use_bias=False, return_sequences=True)
    simple(X)
    randomize(simple)
    layer, _ = run(ElmanCell(5, activation=activation, use_bias=False))
    layer.set_weights(simple.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(X)), keras.ops.convert_to_numpy(simple(X)), atol=1e-5
    )


def jordan_numpy(x, U, Wy, b, V, d, mu):
    """h_t = tanh(x_t U + c_{t-1} W_y + b), y_t = sigmoid(h_t V + d), c_t = mu c_{t-1} + y_t."""
    c = np.zeros((x.shape[0], V.shape[1]))
    ys = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ U + c @ Wy + b)
        y = 1 / (1 + np.exp(-(h @ V + d)))
        c = mu * c + y
        ys.append(y)
    return np.stack(ys, axis=1)


@pytest.mark.parametrize("mu", [0.0, 0.7])
def test_jordan_matches_numpy_equations(mu):
    layer, _ = run(JordanCell(5, output_units=3, output_activation="sigmoid", context_decay=mu))
    w = randomize(layer)
    expected = jordan_numpy(X, w["kernel"], w["recurrent_kernel"], w["bias"], w["output_kernel"],
                            w["output_bias"], mu)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(X)), expected, atol=1e-5)


def test_jordan_context_is_only_the_past_outputs():
    # With the output layer zeroed (V = 0, d = 0) nothing can reach the next step: every output
    # is 0 and changing the early inputs changes nothing, however large W_y is.
    layer, _ = run(JordanCell(5, output_units=3))
    w = randomize(layer, scale=2.0)
    w["output_kernel"][:] = 0
    w["output_bias"][:] = 0
    layer.set_weights([w[v.path.split("/")[-1]] for v in layer.weights])
    x2 = X.copy()
    x2[:, :3] += 10.0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(X)), 0.0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x2)), 0.0)


def fully_recurrent_numpy(x, W_in, W, b, k):
    """y_t = tanh(x_t W_in + y_{t-1} W + b) over all N units; the output is y_t[:, :k]."""
    y = np.zeros((x.shape[0], W.shape[0]))
    outs = []
    for t in range(x.shape[1]):
        y = np.tanh(x[:, t] @ W_in + y @ W + b)
        outs.append(y[:, :k])
    return np.stack(outs, axis=1)


@pytest.mark.parametrize("k", [2, 6])
def test_fully_recurrent_matches_numpy_equations(k):
    layer, _ = run(FullyRecurrentCell(6, output_units=k))
    w = randomize(layer)
    expected = fully_recurrent_numpy(X, w["kernel"], w["recurrent_kernel"], w["bias"], k)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(X)), expected, atol=1e-5)


def test_fully_recurrent_hidden_units_feed_back_into_the_visible_ones():
    layer = keras.layers.RNN(FullyRecurrentCell(6, output_units=2), return_state=True)
    layer(X)
    w = randomize(layer)
    out, visible, hidden = (keras.ops.convert_to_numpy(t) for t in layer(X))
    np.testing.assert_array_equal(out, visible)
    assert hidden.shape == (3, 4)
    # Cutting the hidden-to-visible weights changes the visible units' trajectory.
    w["recurrent_kernel"][2:, :2] = 0
    layer.set_weights([w[v.path.split("/")[-1]] for v in layer.weights])
    assert np.abs(keras.ops.convert_to_numpy(layer(X)[0]) - out).max() > 1e-3


def rmlp_numpy(x, weights, sizes):
    """h^l_t = tanh(h^{l-1}_t U_l + h^l_{t-1} W_l + b_l), h^0_t = x_t; the output is h^L_t."""
    hs = [np.zeros((x.shape[0], s)) for s in sizes]
    outs = []
    for t in range(x.shape[1]):
        below = x[:, t]
        for l in range(len(sizes)):
            hs[l] = np.tanh(below @ weights[f"kernel_{l}"] + hs[l] @ weights[f"recurrent_kernel_{l}"]
                            + weights[f"bias_{l}"])
            below = hs[l]
        outs.append(below)
    return np.stack(outs, axis=1)


def test_rmlp_matches_numpy_equations():
    layer, _ = run(RMLPCell([5, 3, 4]))
    w = randomize(layer)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(X)), rmlp_numpy(X, w, [5, 3, 4]), atol=1e-5
    )


def test_one_layer_rmlp_and_all_visible_fully_recurrent_are_elman():
    elman, _ = run(ElmanCell(5))
    randomize(elman)
    expected = keras.ops.convert_to_numpy(elman(X))
    for cell in [RMLPCell([5]), FullyRecurrentCell(5)]:
        layer, _ = run(cell)
        layer.set_weights(elman.get_weights())
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(X)), expected, atol=1e-6)


# --- dropout -------------------------------------------------------------------------------------


def test_dropout_only_in_training_and_same_mask_at_every_step():
    # Constant input, no recurrence, linear activation: s_t = (x * m) U, so with one mask for the
    # whole sequence every step's output is the same vector.
    cell = ElmanCell(8, activation=None, use_bias=False, recurrent_initializer="zeros", dropout=0.5,
                     seed=3)
    layer = keras.layers.RNN(cell, return_sequences=True)
    x = np.ones((2, 5, 16), "float32")
    inference = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(inference, keras.ops.convert_to_numpy(layer(x, training=False)))
    train = keras.ops.convert_to_numpy(layer(x, training=True))
    assert np.abs(train - inference).max() > 1e-3
    np.testing.assert_allclose(train, np.repeat(train[:, :1], 5, axis=1), atol=1e-6)
    # A new sequence gets a new mask.
    assert np.abs(keras.ops.convert_to_numpy(layer(x, training=True)) - train).max() > 1e-3


@pytest.mark.parametrize(
    "cell",
    [
        lambda: ElmanCell(6, recurrent_dropout=0.5, seed=1),
        lambda: JordanCell(6, output_units=3, recurrent_dropout=0.5, seed=1),
        lambda: FullyRecurrentCell(6, output_units=2, recurrent_dropout=0.5, seed=1),
        lambda: RMLPCell([6, 4], recurrent_dropout=0.5, seed=1),
    ],
    ids=["Elman", "Jordan", "FullyRecurrent", "RMLP"],
)
def test_recurrent_dropout_changes_training_outputs_only(cell):
    layer = keras.layers.RNN(cell())
    inference = keras.ops.convert_to_numpy(layer(X))
    np.testing.assert_allclose(inference, keras.ops.convert_to_numpy(layer(X)))
    assert np.abs(keras.ops.convert_to_numpy(layer(X, training=True)) - inference).max() > 1e-4


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ElmanCell(0), r"`units` must be a positive integer, got 0"),
        (lambda: ElmanCell("8"), r"`units` must be a positive integer, got '8'"),
        (lambda: ElmanCell(4, dropout=1.0), r"`dropout` must be a float in \[0, 1\), got 1.0"),
        (lambda: ElmanCell(4, recurrent_dropout=-0.1), r"`recurrent_dropout` must be .* got -0.1"),
        (lambda: JordanCell(4, output_units=0), r"`output_units` must be a positive integer"),
        (lambda: JordanCell(4, 2, context_decay=1.0), r"`context_decay` must be a float in \[0, 1\)"),
        (lambda: FullyRecurrentCell(4, output_units=5), r"`output_units` must be at most `units` \(4\)"),
        (lambda: RMLPCell([]), r"`units` must be a non-empty list of layer sizes"),
        (lambda: RMLPCell([4, 0]), r"`units\[1\]` must be a positive integer, got 0"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_step_input_of_wrong_rank_is_rejected_with_a_clear_message():
    cell = ElmanCell(4)
    with pytest.raises(ValueError, match=r"ElmanCell expects per-step inputs of shape \(batch, features\)"):
        cell(np.zeros((2, 3, 4), "float32"), [np.zeros((2, 4), "float32")])
