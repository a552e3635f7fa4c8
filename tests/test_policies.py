"""Every recipe cell under mixed precision (float16 and bfloat16 compute, float32 weights) and,
on the TensorFlow backend, inside a `tf.distribute.MirroredStrategy` on two logical CPU devices."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import recipes
from tests.cells import CELL_FACTORIES
from tests.helpers import gradients

NAMES = sorted(CELL_FACTORIES)
BATCH, TIME, FEATURES = 3, 7, 4
# Half precision keeps 11 (float16) or 8 (bfloat16) significant bits: relative rounding 5e-4 or
# 4e-3 per operation, compounded over the steps of the sequence.
TOLERANCE = {"mixed_float16": 2e-2, "mixed_bfloat16": 8e-2}


def _model(name, policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        inputs = keras.Input((TIME, FEATURES))
        sequences = keras.layers.RNN(CELL_FACTORIES[name](), return_sequences=True)(inputs)
        # The last layer computes in float32, as the mixed-precision guide recommends.
        outputs = keras.layers.Dense(2, dtype="float32")(sequences)
        return keras.Model(inputs, outputs)
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("policy", sorted(TOLERANCE))
@pytest.mark.parametrize("name", NAMES)
def test_mixed_precision_is_finite_and_close_to_float32(name, policy):
    full = _model(name, "float32")
    mixed = _model(name, policy)
    rnn = mixed.layers[1]
    assert rnn.cell.compute_dtype == policy.split("_")[1]
    assert all(w.dtype == "float32" for w in mixed.weights), "weights must stay float32"
    mixed.set_weights(full.get_weights())
    x = np.random.default_rng(0).normal(size=(BATCH, TIME, FEATURES)).astype("float32")

    hidden = keras.ops.convert_to_numpy(keras.ops.cast(rnn(x), "float32"))
    assert np.all(np.isfinite(hidden))
    assert keras.backend.standardize_dtype(rnn(x).dtype) == rnn.cell.compute_dtype

    expected = keras.ops.convert_to_numpy(full(x))
    got = keras.ops.convert_to_numpy(mixed(x))
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, atol=TOLERANCE[policy] * scale)

    weight_grads, input_grad = gradients(mixed, x, lambda y: keras.ops.mean(y**2))
    reference, _ = gradients(full, x, lambda y: keras.ops.mean(y**2))
    for weight, grad, ref in zip(mixed.trainable_weights, weight_grads, reference):
        assert grad.dtype == np.float32, weight.path
        assert np.all(np.isfinite(grad)), weight.path
        np.testing.assert_allclose(
            grad, ref, atol=TOLERANCE[policy] * max(1.0, float(np.abs(ref).max())), err_msg=weight.path
        )
    assert np.all(np.isfinite(input_grad))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute is TensorFlow's")
def test_mirrored_strategy_on_two_devices_trains_like_one_device():
    # A fresh process: logical devices must be set before TensorFlow starts.
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(root)}
    run = subprocess.run([sys.executable, "-m", "tests.mirrored_worker"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    results = {r["name"]: r for r in map(json.loads, run.stdout.splitlines())}
    assert sorted(results) == NAMES
    for name, r in results.items():
        assert r["replicas"] == 2, name
        assert r["moved"] > 1e-4, f"{name}: training did not change the weights"
        assert r["difference"] < 1e-5, name
        assert abs(r["loss_single"] - r["loss_mirrored"]) < 1e-5, name


# --- state kept across long sequences, and the modern Hopfield layer -----------------------------

# Past 2048 steps, where float16 stops counting (t + 1 == t); bfloat16 stops at 256.
LONG = 2100
POLICIES = ["float32", *sorted(TOLERANCE)]


def _under(policy, make):
    """`make()` with `policy` as the global dtype policy (the policy of the layers it creates)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        return make()
    finally:
        keras.config.set_dtype_policy(previous)


def _to_numpy(x):
    return keras.ops.convert_to_numpy(keras.ops.cast(x, "float32")).astype("float64")


def _run_compiled(layer, x):
    """`layer(x)` (a list for several outputs) in float32, through a compiled `predict` (an eager
    TensorFlow loop over thousands of steps is slow)."""
    inputs = keras.Input(x.shape[1:])
    outputs = layer(inputs)
    several = isinstance(outputs, (list, tuple))
    outputs = [keras.ops.cast(y, "float32") for y in (outputs if several else [outputs])]
    results = keras.Model(inputs, outputs).predict_on_batch(x)
    results = [np.asarray(y, "float64") for y in (results if several else [results])]
    return results if several else results[0]


@pytest.mark.parametrize("policy", POLICIES)
def test_clockwork_modules_fire_on_their_steps_past_2048(policy):
    # One unit per module, h~ = tanh(x_t): module i holds tanh(x_s), s the last multiple of T_i.
    # The period 300 is above 256, the lcm of the periods 2100 above 2048.
    periods = [1, 7, 300]
    layer = _under(policy, lambda: keras.layers.RNN(
        recipes.ClockworkCell(3, periods=periods), return_sequences=True))
    x = np.random.default_rng(0).uniform(-1.5, 1.5, size=(1, LONG, 1)).astype("float32")
    layer(x[:, :1])
    layer.cell.kernel.assign(np.ones((1, 3), "float32"))
    layer.cell.recurrent_kernel.assign(np.zeros((3, 3), "float32"))
    h = _run_compiled(layer, x)[0]
    steps = np.arange(LONG)
    last_fired = np.stack([steps - steps % p for p in periods], axis=-1)
    np.testing.assert_allclose(h, np.tanh(x[0, last_fired, 0]), atol=2e-2)
    changed = np.abs(np.diff(h, axis=0)) > 0  # step t + 1 against step t
    fires = (steps[1:, None] % np.array(periods)) == 0
    assert not np.any(changed & ~fires)  # a module changes only on its own steps
    assert changed[fires].mean() > 0.9  # and on (nearly) all of them: x_t differ


def _write_small_values(name, policy):
    """A memory cell whose write head writes about 1 into the memory at step 0, then adds 3e-4
    at each of the next LONG - 1 steps; returns the memory after the last step (float64)."""
    c = 20.0
    if name == "NTMCell":  # interface: read head (8), write head (8), erase (2), add (2)
        make = lambda: recipes.NTMCell(1, memory_size=4, memory_width=2, controller="feedforward")  # noqa: E731
        bias = np.zeros(20)
        bias[[11, 12, 14]] = -c  # write head: g (keep w_prev), shifts -1 and +1
        bias[[13, 15]] = c  # shift 0, gamma
        bias[16:18] = -c  # erase nothing
        bias[18:20] = np.arctanh(3e-4)  # add 3e-4 (tanh)
        step0 = (np.arange(20) >= 18) * c  # h_0 = 1: add tanh(20) = 1
    else:  # DNC: k_r (2), beta_r, k_w (2), beta_w, e (2), v (2), f, g_a, g_w, pi (3)
        make = lambda: recipes.DNCCell(1, memory_size=2, memory_width=2, controller="feedforward")  # noqa: E731
        bias = np.zeros(16)
        bias[[6, 7, 10, 11]] = -c  # erase nothing, free nothing, write by content (uniform)
        bias[12] = c  # write gate open: each of the 2 rows gets half of v
        bias[8:10] = 6e-4
        step0 = (np.arange(16) == 8) * 2.0 + (np.arange(16) == 9) * 2.0
    layer = _under(policy, lambda: keras.layers.RNN(make(), return_state=True))
    x = np.zeros((1, LONG, 1), "float32")
    x[0, 0] = 10.0  # h_0 = tanh(10) = 1, then h_t = 0
    layer(x[:, :1])
    cell = layer.cell
    for weight in cell.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    cell.kernel.assign(np.eye(cell.kernel.shape[0], 1, dtype="float32"))
    cell.interface_bias.assign(bias.astype("float32"))
    cell.interface_kernel.assign(step0[None].astype("float32"))
    if name == "NTMCell":
        cell.initial_write_logits.assign(np.array([[c, -c, -c, -c]], "float32"))  # row 0
    _, *states = _run_compiled(layer, x)
    states = [keras.ops.convert_to_tensor(state, "float32") for state in states]
    return _to_numpy(cell.unpack_states(states)["memory"])[0]


@pytest.mark.parametrize("policy", sorted(TOLERANCE))
@pytest.mark.parametrize("name", ["NTMCell", "DNCCell"])
def test_small_writes_accumulate_in_the_memory_under_mixed_precision(name, policy):
    # 3e-4 added to 1.0 is lost in float16 (spacing 1e-3) and bfloat16 (8e-3) if the memory is
    # rounded to the compute dtype at every step.
    expected = _write_small_values(name, "float32")
    grown = expected.max() - 1.0
    assert abs(grown - 3e-4 * (LONG - 1)) < 0.02  # the float32 run: ~0.63 in 2099 small writes
    np.testing.assert_allclose(_write_small_values(name, policy), expected, atol=5e-3)


@pytest.mark.parametrize("policy", sorted(TOLERANCE))
def test_modern_hopfield_with_a_large_beta_matches_float32(policy):
    # Logits of about 256 * 340 = 87,000: above float16's largest number (65,504), and in
    # bfloat16 spaced 512 apart, while two of them differ by 1. The values are multiples of 1/16
    # below 8, which both half precisions hold exactly, so the inputs lose nothing.
    rng = np.random.default_rng(0)
    patterns = rng.integers(-127, 128, size=(6, 16)) / 16
    patterns[1] = patterns[0]
    patterns[1, 0] += 1 / 16
    cue = patterns[:1].copy()
    cue[0, 0] = 1 / 16  # beta * (xi . x_1 - xi . x_0) = 256 / 256 = 1
    beta = 256.0

    def run(policy):
        layer = _under(policy, lambda: recipes.ModernHopfield(6, beta=beta, trainable=False))
        layer.store(patterns.astype("float32"))
        xi, p = layer(cue.astype("float32"), return_attention_scores=True)
        return _to_numpy(xi), _to_numpy(p), _to_numpy(layer.energy(cue.astype("float32")))

    xi, p, energy = run(policy)
    xi32, p32, energy32 = run("float32")
    np.testing.assert_allclose(p32[0, :2], [1 / (1 + np.e), np.e / (1 + np.e)], rtol=1e-5)
    assert np.all(np.isfinite(xi)) and np.all(np.isfinite(p)) and np.all(np.isfinite(energy))
    np.testing.assert_allclose(p, p32, atol=1e-2)
    np.testing.assert_allclose(xi, xi32, atol=TOLERANCE[policy] * np.abs(xi32).max())
    np.testing.assert_allclose(energy, energy32, atol=1e-2)
