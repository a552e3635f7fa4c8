"""Hopfield networks (recipes/hopfield.py): the classical network against NumPy loops written from
the equations, its invariants (symmetric weights, energy never rises, stored patterns are fixed
points), the modern layer against NumPy, its energy, capacity, save/load, gradients, bad input."""

import keras
import numpy as np
import pytest

from tests.helpers import gradients, numpy_of
from recipes.hopfield import HopfieldNetwork, ModernHopfield


def bipolar(rng, count, units):
    return rng.choice([-1.0, 1.0], size=(count, units))


def flip(rng, patterns, fraction):
    """A copy of `patterns` with each bit flipped with probability `fraction`."""
    return patterns * np.where(rng.random(patterns.shape) < fraction, -1.0, 1.0)


# --- classical network: the rules against their equations --------------------------------------


def test_one_hebbian_pattern_by_hand():
    # One pattern xi, N = 4: w_ij = xi_i xi_j / 4 off the diagonal; E(xi) = -1/2 * 12 / 4 = -1.5,
    # and flipping one unit removes 2 * 3 of the 12 agreeing pairs from the sum: E = -1/2 * 0 = 0.
    xi = np.array([[1.0, -1.0, -1.0, 1.0]])
    net = HopfieldNetwork(4).store(xi)
    expected = np.outer(xi[0], xi[0]) / 4
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_array_equal(net.weights, expected)
    assert net.num_patterns == 1
    np.testing.assert_allclose(net.energy(xi), [-1.5])
    np.testing.assert_allclose(net.energy(xi * [[-1, 1, 1, 1]]), [0.0])
    np.testing.assert_allclose(net.energy(-xi), [-1.5])  # -xi is stored too: E(-s) = E(s)


def storkey_numpy(patterns):
    """Storkey (1997) with explicit loops: w_ij += (xi_i xi_j - xi_i h_ji - h_ij xi_j) / n."""
    count, n = patterns.shape
    w = np.zeros((n, n))
    for xi in patterns:
        h = np.zeros((n, n))
        for i in range(n):
            for j in range(n):
                h[i, j] = sum(w[i, k] * xi[k] for k in range(n) if k != i and k != j)
        new = w.copy()
        for i in range(n):
            for j in range(n):
                if i != j:
                    new[i, j] = w[i, j] + (xi[i] * xi[j] - xi[i] * h[j, i] - h[i, j] * xi[j]) / n
        w = new
    return w


def test_rules_match_their_equations_and_give_symmetric_weights_with_zero_diagonal():
    rng = np.random.default_rng(0)
    patterns = bipolar(rng, 4, 7)
    hebbian = HopfieldNetwork(7).store(patterns, rule="hebbian").weights
    expected = sum(np.outer(p, p) for p in patterns) / 7
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(hebbian, expected, atol=1e-12)
    storkey = HopfieldNetwork(7).store(patterns, rule="storkey").weights
    np.testing.assert_allclose(storkey, storkey_numpy(patterns), atol=1e-12)
    for w in (hebbian, storkey):
        np.testing.assert_array_equal(w, w.T)  # exactly, not only to rounding
        np.testing.assert_array_equal(np.diag(w), 0.0)


def test_store_replaces_what_was_stored():
    rng = np.random.default_rng(1)
    a, b = bipolar(rng, 3, 10), bipolar(rng, 2, 10)
    net = HopfieldNetwork(10).store(a).store(b, rule="storkey")
    np.testing.assert_array_equal(net.weights, HopfieldNetwork(10).store(b, rule="storkey").weights)
    assert net.num_patterns == 2


# --- classical network: recall --------------------------------------------------------------------


def recall_numpy(w, cues, seed, max_sweeps):
    """Asynchronous recall, one cue and one unit at a time, orders as documented in `recall`."""
    out = cues.copy()
    for c in range(len(out)):
        rng = np.random.default_rng(seed)
        s = out[c]
        for _ in range(max_sweeps):
            changed = False
            for i in rng.permutation(len(s)):
                h = w[i] @ s
                if s[i] * h < -1e-9:  # s_i disagrees with sign(h_i); |h_i| <= 1e-9 is a tie
                    s[i], changed = -s[i], True
            if not changed:
                break
    return out


@pytest.mark.parametrize("rule", ["hebbian", "storkey"])
def test_recall_matches_a_one_unit_at_a_time_numpy_loop(rule):
    rng = np.random.default_rng(2)
    patterns = bipolar(rng, 6, 30)  # load 0.2: above the Hebbian capacity, so many units move
    net = HopfieldNetwork(30, seed=5).store(patterns, rule=rule)
    cues = flip(rng, np.repeat(patterns, 3, axis=0), 0.3)
    for max_sweeps in [1, 2, 100]:
        expected = recall_numpy(net.weights, cues, seed=5, max_sweeps=max_sweeps)
        np.testing.assert_array_equal(net.recall(cues, max_sweeps=max_sweeps), expected)
    assert np.any(net.recall(cues, max_sweeps=1) != net.recall(cues, max_sweeps=2))


def test_recall_of_a_cue_does_not_depend_on_the_other_cues():
    rng = np.random.default_rng(3)
    patterns = bipolar(rng, 8, 40)
    net = HopfieldNetwork(40, seed=0).store(patterns)
    cues = flip(rng, patterns, 0.25)
    together = net.recall(cues)
    for k in range(len(cues)):
        np.testing.assert_array_equal(net.recall(cues[k : k + 1])[0], together[k])
    # and the same seed gives the same result at every call, another seed another order
    np.testing.assert_array_equal(net.recall(cues), together)
    other = HopfieldNetwork(40, seed=1).store(patterns).recall(cues)
    assert np.any(other != together)


def test_energy_never_rises_under_single_unit_updates():
    rng = np.random.default_rng(4)
    patterns = bipolar(rng, 12, 40)  # load 0.3: far from any pattern, long descents
    for rule in ["hebbian", "storkey"]:
        net = HopfieldNetwork(40).store(patterns, rule=rule)
        states = bipolar(rng, 5, 40)
        energies, moves = [net.energy(states)], 0
        for i in rng.integers(0, 40, size=400):
            new = net.update(states, [i])
            moves += np.sum(new != states)
            # only unit i may change
            np.testing.assert_array_equal(np.delete(new, i, axis=1), np.delete(states, i, axis=1))
            states = new
            energies.append(net.energy(states))
        assert moves > 10  # the states did move
        assert np.all(np.diff(energies, axis=0) <= 1e-12)


def test_energy_never_rises_from_sweep_to_sweep_and_recall_ends_at_fixed_points():
    rng = np.random.default_rng(5)
    patterns = bipolar(rng, 30, 100)
    net = HopfieldNetwork(100, seed=2).store(patterns)
    cues = bipolar(rng, 10, 100)
    energies = [net.energy(net.recall(cues, max_sweeps=k)) for k in range(1, 8)]
    assert np.all(np.diff(energies, axis=0) <= 1e-12)
    final, sweeps = net.recall(cues, return_sweeps=True)
    assert sweeps.max() < 100
    # A fixed point: updating every unit once more changes nothing, and recall stops at once.
    np.testing.assert_array_equal(net.update(final, np.arange(100)), final)
    np.testing.assert_array_equal(net.recall(final, return_sweeps=True)[1], 0)


@pytest.mark.parametrize("rule", ["hebbian", "storkey"])
def test_stored_patterns_are_fixed_points_and_attract_noisy_cues_below_capacity(rule):
    rng = np.random.default_rng(6)
    patterns = bipolar(rng, 10, 200)  # load 0.05, well below 0.138
    net = HopfieldNetwork(200, seed=0).store(patterns, rule=rule)
    recalled, sweeps = net.recall(patterns, return_sweeps=True)
    np.testing.assert_array_equal(recalled, patterns)
    np.testing.assert_array_equal(sweeps, 0)
    np.testing.assert_array_equal(net.recall(flip(rng, patterns, 0.15)), patterns)
    # the reversed patterns are fixed points too (E(-s) = E(s))
    np.testing.assert_array_equal(net.recall(-patterns), -patterns)


def test_storkey_keeps_patterns_stable_where_hebbian_loses_them():
    # Load 0.25, far above the Hebbian capacity, below Storkey's n / sqrt(2 ln n) (~0.33 here).
    rng = np.random.default_rng(7)
    patterns = bipolar(rng, 25, 100)
    stable = {rule: np.all(HopfieldNetwork(100).store(patterns, rule=rule).update(patterns, np.arange(100))
                           == patterns, axis=1).mean() for rule in ["hebbian", "storkey"]}
    assert stable["storkey"] == 1.0 and stable["hebbian"] < 0.5, stable


def test_max_sweeps_is_a_step_limit():
    rng = np.random.default_rng(8)
    patterns = bipolar(rng, 20, 50)
    net = HopfieldNetwork(50, seed=3).store(patterns)
    cues = bipolar(rng, 6, 50)
    order = np.random.default_rng(3).permutation(50)
    np.testing.assert_array_equal(net.recall(cues, max_sweeps=1), net.update(cues, order))
    _, sweeps = net.recall(cues, max_sweeps=1, return_sweeps=True)
    assert sweeps.max() == 1


# --- classical network: bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: HopfieldNetwork(0), r"`units` must be a positive integer, got 0"),
        (lambda: HopfieldNetwork(4, seed=1.5), r"`seed` must be an integer or None, got 1.5"),
        (lambda: HopfieldNetwork(4).store(np.ones(4)), r"`patterns` must have shape \(count, units\) = \(count, 4\); got shape \(4,\)"),
        (lambda: HopfieldNetwork(4).store(np.ones((2, 5))), r"`patterns` must have shape .* got shape \(2, 5\)"),
        (lambda: HopfieldNetwork(4).store(np.zeros((2, 4))), r"`patterns` must contain only \+1 and -1 .* got \[0.0\]"),
        (lambda: HopfieldNetwork(4).store(np.ones((2, 4)), rule="oja"), r"`rule` must be 'hebbian' or 'storkey', got 'oja'"),
        (lambda: HopfieldNetwork(4).recall(np.ones((1, 3))), r"`cues` must have shape \(count, units\)"),
        (lambda: HopfieldNetwork(4).recall(np.ones((1, 4)), max_sweeps=0), r"`max_sweeps` must be a positive integer, got 0"),
        (lambda: HopfieldNetwork(4).energy(np.full((1, 4), 0.5)), r"`states` must contain only \+1 and -1"),
        (lambda: HopfieldNetwork(4).update(np.ones((1, 4)), [4]), r"`order` must list unit indices in \[0, 4\)"),
    ],
)
def test_classical_bad_input_raises_value_errors_that_name_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- modern Hopfield layer -------------------------------------------------------------------------


def modern_numpy(xi, x, beta, steps):
    """xi <- X softmax(beta X^T xi), rows as in the layer: xi <- softmax(beta xi X^T) X."""
    for _ in range(steps):
        a = beta * xi @ x.T
        p = np.exp(a - a.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        xi = p @ x
    return xi, p


@pytest.mark.parametrize("beta, steps", [(None, 1), (0.7, 1), (2.0, 3)])
def test_modern_matches_numpy_equations(beta, steps):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(7, 5)).astype("float32")
    xi = rng.normal(size=(4, 5)).astype("float32")
    layer = ModernHopfield(7, beta=beta, steps=steps, trainable=False).store(x)
    out, scores = layer(xi, return_attention_scores=True)
    expected, p = modern_numpy(xi.astype("float64"), x.astype("float64"),
                               1 / np.sqrt(5) if beta is None else beta, steps)
    np.testing.assert_allclose(numpy_of(out), expected, atol=1e-5)
    np.testing.assert_allclose(numpy_of(scores), p, atol=1e-5)
    assert layer.effective_beta == pytest.approx(1 / np.sqrt(5) if beta is None else beta)


@pytest.mark.parametrize(
    "shape, num_patterns",
    [((1, 7), 1), ((1, 1, 7), 1), ((1, 1, 1, 7), 3), ((3, 1, 6, 7), 1), ((3, 1, 6, 7), 5)],
)
def test_modern_matches_numpy_with_sizes_of_one(shape, num_patterns):
    # Batch, time, heads or patterns of 1. TensorFlow 2.20 with oneDNN on AVX-512 CPUs computed
    # broadcast batched products such as (3, 1, 6, 7) @ (7, 1) wrongly (or corrupted the heap).
    rng = np.random.default_rng(12)
    x = rng.normal(size=(num_patterns, 7)).astype("float32")
    xi = rng.normal(size=shape).astype("float32")
    beta, steps = 0.5, 2
    layer = ModernHopfield(num_patterns, beta=beta, steps=steps, trainable=False).store(x)
    out, scores = layer(xi, return_attention_scores=True)
    expected, p = modern_numpy(xi.astype("float64"), x.astype("float64"), beta, steps)
    np.testing.assert_allclose(numpy_of(out), expected, atol=1e-5)
    np.testing.assert_allclose(numpy_of(scores), p, atol=1e-5)
    a = beta * xi.astype("float64") @ x.T.astype("float64")
    lse = a.max(-1) + np.log(np.exp(a - a.max(-1, keepdims=True)).sum(-1))
    energy = (-lse / beta + 0.5 * (xi.astype("float64") ** 2).sum(-1) + np.log(num_patterns) / beta
              + 0.5 * (x.astype("float64") ** 2).sum(-1).max())
    np.testing.assert_allclose(numpy_of(layer.energy(xi)), energy, rtol=1e-5, atol=1e-5)


def test_modern_works_on_any_leading_shape():
    rng = np.random.default_rng(10)
    layer = ModernHopfield(6, beta=1.0)
    xi = rng.normal(size=(2, 3, 4)).astype("float32")
    out, scores = layer(xi, return_attention_scores=True)
    assert tuple(out.shape) == (2, 3, 4) and tuple(scores.shape) == (2, 3, 6)
    np.testing.assert_allclose(numpy_of(out)[1, 2], numpy_of(layer(xi[1, 2][None]))[0], atol=1e-6)


def test_modern_with_large_beta_returns_the_nearest_stored_pattern_without_overflow():
    rng = np.random.default_rng(11)
    x = bipolar(rng, 50, 32).astype("float32")
    queries = rng.normal(size=(40, 32)).astype("float32")  # anywhere, not only near a pattern
    layer = ModernHopfield(50, beta=1e4, trainable=False).store(x)
    # a naive exp(beta x^T xi) would be exp(1e5): inf in float32
    out = numpy_of(layer(queries))
    nearest = x[np.argmin(((queries[:, None] - x[None]) ** 2).sum(-1), axis=1)]  # same norms
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, nearest, atol=1e-6)


def test_modern_stores_far_more_patterns_than_dimensions_and_recalls_them_in_one_step():
    rng = np.random.default_rng(12)
    d, count = 64, 20 * 64
    x = bipolar(rng, count, d).astype("float32")
    cues = x.copy()
    for row in cues:  # exactly 4 of the 64 bits of every cue flipped
        row[rng.choice(d, size=4, replace=False)] *= -1
    layer = ModernHopfield(count, beta=1.0, trainable=False).store(x)
    out = numpy_of(layer(cues))
    np.testing.assert_array_equal(np.sign(out), x)
    assert np.abs(out - x).max() < 1e-3


def test_modern_energy_never_rises_under_the_update():
    # Ramsauer et al. (2020), Theorem 1: the update is a concave-convex procedure on E.
    rng = np.random.default_rng(13)
    layer = ModernHopfield(20, beta=0.5, trainable=False).store(rng.normal(size=(20, 8)))
    xi = rng.normal(scale=2.0, size=(30, 8)).astype("float32")
    energies = []
    for _ in range(6):
        energies.append(numpy_of(layer.energy(xi)))
        xi = layer(xi)
    assert np.all(np.diff(energies, axis=0) <= 1e-4)
    assert np.all(energies[0] - energies[-1] > 1e-3)
    # E is bounded below by 0 (its constants are chosen so), which the states approach
    assert np.all(np.asarray(energies) >= -1e-5)


def test_modern_energy_matches_its_formula():
    rng = np.random.default_rng(14)
    x = rng.normal(size=(5, 3))
    xi = rng.normal(size=(4, 3)).astype("float32")
    layer = ModernHopfield(5, beta=1.5).store(x)
    a = 1.5 * xi @ x.T
    lse = (a.max(1) + np.log(np.exp(a - a.max(1, keepdims=True)).sum(1))) / 1.5
    expected = -lse + 0.5 * (xi**2).sum(1) + np.log(5) / 1.5 + 0.5 * (x**2).sum(1).max()
    np.testing.assert_allclose(numpy_of(layer.energy(xi)), expected, rtol=1e-5)


def test_modern_in_a_model_saves_loads_and_gets_gradients(tmp_path):
    rng = np.random.default_rng(15)
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(2)(ModernHopfield(9, beta=0.8, steps=2)(inputs)))
    x = rng.normal(size=(4, 6)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects: registered under "recipes"
    np.testing.assert_array_equal(numpy_of(model(x)), numpy_of(loaded(x)))
    assert type(loaded.layers[1]) is ModernHopfield and loaded.layers[1].steps == 2
    weight_grads, input_grad = gradients(model, x, lambda y: keras.ops.sum(y**2))
    assert [w.path.split("/")[-1] for w in model.trainable_weights][0] == "patterns"
    for weight, grad in zip(model.trainable_weights, weight_grads):
        assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0, weight.path
    assert np.abs(input_grad).max() > 0


def test_modern_stored_memory_is_not_trained_and_survives_save_load(tmp_path):
    rng = np.random.default_rng(16)
    patterns = rng.normal(size=(12, 5))
    memory = ModernHopfield(12, beta=3.0, trainable=False).store(patterns)
    assert memory.trainable_weights == [] and len(memory.non_trainable_weights) == 1
    model = keras.Sequential([keras.Input((5,)), memory])
    path = tmp_path / "memory.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(numpy_of(loaded.layers[0].patterns), patterns, atol=1e-6)
    assert loaded.layers[0].trainable is False


def test_modern_config_round_trip():
    layer = ModernHopfield(7, beta=0.25, steps=3, patterns_initializer="zeros",
                           patterns_regularizer="l2", name="memory")
    clone = ModernHopfield.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert (clone.num_patterns, clone.beta, clone.steps, clone.name) == (7, 0.25, 3, "memory")
    assert ModernHopfield.from_config(ModernHopfield(3).get_config()).beta is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ModernHopfield(0), r"`num_patterns` must be a positive integer, got 0"),
        (lambda: ModernHopfield(4, beta=0.0), r"`beta` must be a positive number or None, got 0.0"),
        (lambda: ModernHopfield(4, beta="big"), r"`beta` must be a positive number or None, got 'big'"),
        (lambda: ModernHopfield(4, steps=0), r"`steps` must be a positive integer, got 0"),
        (lambda: ModernHopfield(4).store(np.ones((3, 2))), r"`patterns` must have shape \(num_patterns, features\) = \(4, features\); got shape \(3, 2\)"),
        (lambda: ModernHopfield(4).store(np.ones(4)), r"`patterns` must have shape .* got shape \(4,\)"),
        (lambda: ModernHopfield(2).store(np.ones((2, 3))).store(np.ones((2, 4))), r"`patterns` must have 3 features, as the layer's inputs; got 4"),
        (lambda: ModernHopfield(2)(np.ones(3, "float32")), r"ModernHopfield expects inputs of shape \(batch, \.\.\., features\)"),
    ],
)
def test_modern_bad_input_raises_value_errors_that_name_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()
