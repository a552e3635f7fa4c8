"""Hierarchical networks (recipes/hierarchical.py): the Clockwork RNN against a NumPy reference
written from the paper, skipped steps, slow-to-fast connectivity and its block mask, the clock
under masks, bad input."""

import keras
import numpy as np
import pytest

from recipes import ClockworkCell
from tests.helpers import numpy_of

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 13, 2)).astype("float32")


def randomize(layer, x=X, seed=1):
    """Random values for every weight, the forbidden blocks of W_H included."""
    layer(x)
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    return [w.astype("float64") for w in layer.get_weights()]


def clockwork_numpy(x, kernel, recurrent_kernel, bias, periods, h0=None):
    """Koutnik et al. in their column-vector notation: for each module i with t mod T_i = 0,
    y_i(t) = tanh(W_H[i] y(t-1) + W_I[i] x(t) + b_i); the other modules keep y_i(t-1). W_H[i, j]
    (module j to module i) is used only when T_j >= T_i: slower modules feed faster ones."""
    g = len(periods)
    k = recurrent_kernel.shape[0] // g
    block = lambda i: slice(i * k, (i + 1) * k)  # noqa: E731
    W_I = kernel.T
    W_H = np.zeros_like(recurrent_kernel)
    for i in range(g):
        for j in range(g):
            if periods[j] >= periods[i]:
                W_H[block(i), block(j)] = recurrent_kernel[block(j), block(i)].T
    y = np.zeros((x.shape[0], g * k)) if h0 is None else h0.copy()
    ys = []
    for t in range(x.shape[1]):
        new = y.copy()
        for i in range(g):
            if t % periods[i] == 0:
                new[:, block(i)] = np.tanh(y @ W_H[block(i)].T + x[:, t] @ W_I[block(i)].T + bias[block(i)])
        y = new
        ys.append(y)
    return np.stack(ys, axis=1)


@pytest.mark.parametrize("periods", [3, [1, 3, 5]], ids=["1-2-4", "1-3-5"])
def test_clockwork_matches_numpy_equations(periods):
    cell = ClockworkCell(6, periods=periods)
    layer = keras.layers.RNN(cell, return_sequences=True)
    kernel, recurrent_kernel, bias = randomize(layer)
    expected = clockwork_numpy(X, kernel, recurrent_kernel, bias, cell.periods)
    np.testing.assert_allclose(numpy_of(layer(X)), expected, atol=1e-5)


def test_a_module_keeps_its_state_on_the_steps_it_skips():
    cell = ClockworkCell(8, periods=4)  # periods 1, 2, 4, 8, two units each
    assert cell.periods == [1, 2, 4, 8] and cell.module_size == 2
    layer = keras.layers.RNN(cell, return_sequences=True)
    randomize(layer)
    h = numpy_of(layer(X))
    assert np.abs(h[:, 0]).min() > 0  # at t = 0 every module reads the input
    for t in range(1, X.shape[1]):
        for i, period in enumerate(cell.periods):
            now, before = h[:, t, 2 * i : 2 * i + 2], h[:, t - 1, 2 * i : 2 * i + 2]
            if t % period:
                np.testing.assert_array_equal(now, before)
            else:
                assert np.abs(now - before).min() > 1e-6, (t, period)


def test_information_flows_only_from_slower_to_faster_modules():
    layer = keras.layers.RNN(ClockworkCell(6, periods=3), return_sequences=True)
    randomize(layer)  # random values in the forbidden blocks too: the mask in `call` ignores them
    h0 = RNG.normal(size=(3, 6)).astype("float32")
    base = numpy_of(layer(X, initial_state=[h0, np.zeros((3, 1), "float32")]))
    for module in range(3):
        nudged = h0.copy()
        nudged[:, 2 * module : 2 * module + 2] += 1.0
        out = numpy_of(layer(X, initial_state=[nudged, np.zeros((3, 1), "float32")]))
        changed = np.abs(out - base).max(axis=(0, 1)).reshape(3, 2).max(axis=1) > 1e-6
        # Module m reaches itself and every faster module (index < m), never a slower one.
        np.testing.assert_array_equal(changed, np.arange(3) <= module)


def test_block_mask_is_applied_at_initialisation_and_after_every_update():
    cell = ClockworkCell(6, periods=3)
    model = keras.Sequential([keras.Input((None, 2)), keras.layers.RNN(cell), keras.layers.Dense(1)])
    forbidden = cell.block_mask == 0
    assert forbidden.sum() == 3 * 4  # the 3 blocks above the block diagonal (2 x 2 each)
    np.testing.assert_array_equal(numpy_of(cell.recurrent_kernel)[forbidden], 0.0)
    assert np.count_nonzero(numpy_of(cell.recurrent_kernel)[~forbidden]) == (~forbidden).sum()
    # Weights set by hand in the forbidden blocks are zeroed by the constraint at the next
    # optimizer update, while the allowed blocks learn.
    dense = numpy_of(cell.recurrent_kernel) + 0.3
    cell.recurrent_kernel.assign(dense)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(X, np.ones((3, 1), "float32"), epochs=1, verbose=0)
    updated = numpy_of(cell.recurrent_kernel)
    np.testing.assert_array_equal(updated[forbidden], 0.0)
    assert np.abs(updated[~forbidden] - dense[~forbidden]).max() > 1e-4


def test_clock_counts_only_the_real_steps_of_a_padded_sequence():
    lengths = np.array([13, 5, 8])
    mask = np.arange(13)[None, :] < lengths[:, None]
    layer = keras.layers.RNN(ClockworkCell(4, periods=2), return_state=True)
    _, _, t = layer(X * mask[..., None], mask=mask)
    np.testing.assert_array_equal(numpy_of(t)[:, 0], lengths)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ClockworkCell(0), r"`units` must be a positive integer, got 0"),
        (lambda: ClockworkCell(10, periods=4), r"`units` must be a multiple of the number of modules \(4, one per period\).*got 10"),
        (lambda: ClockworkCell(8, periods=0), r"`periods` must be a positive integer, got 0"),
        (lambda: ClockworkCell(8, periods=[]), r"`periods` must be a non-empty list of clock periods"),
        (lambda: ClockworkCell(8, periods=[1, 0]), r"`periods\[1\]` must be a positive integer, got 0"),
        (lambda: ClockworkCell(8, periods=[2, 1]), r"`periods` must be strictly increasing \(fastest module first\), got \[2, 1\]"),
        (lambda: ClockworkCell(8, periods=[1, 2.5]), r"`periods\[1\]` must be a positive integer, got 2.5"),
        (lambda: ClockworkCell(2, periods=[3, 2**24]), r"`periods` must have a least common multiple of at most 2\^24 .*got 50331648"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()
