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
