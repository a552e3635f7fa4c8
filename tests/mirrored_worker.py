"""Run by tests/test_policies.py in a fresh process (TensorFlow backend): logical CPU devices must
be configured before TensorFlow starts, which pytest's process has already done.

For every cell in tests/cells.py, trains the same model (same initial weights, same global
batches, plain SGD) once on one device and once under `tf.distribute.MirroredStrategy` on two
logical CPU devices, and prints one JSON line per cell with both losses and the largest weight
difference after training.
"""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests.cells import CELL_FACTORIES  # noqa: E402

TIME, FEATURES, OUT = 5, 4, 2


def _model(name):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((TIME, FEATURES)), keras.layers.RNN(CELL_FACTORIES[name]()), keras.layers.Dense(OUT)]
    )
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def main(names):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, TIME, FEATURES)).astype("float32")
    y = rng.normal(size=(8, OUT)).astype("float32")
    for name in names:
        single = _model(name)
        with strategy.scope():
            mirrored = _model(name)
        mirrored.set_weights(single.get_weights())
        # Two steps of a global batch of 4: each replica computes the gradient of 2 examples.
        fit = dict(batch_size=4, epochs=1, verbose=0, shuffle=False)
        loss_single = single.fit(x, y, **fit).history["loss"][-1]
        loss_mirrored = mirrored.fit(x, y, **fit).history["loss"][-1]
        difference = max(
            float(np.abs(a - b).max()) for a, b in zip(single.get_weights(), mirrored.get_weights())
        )
        moved = max(
            float(np.abs(a - b).max()) for a, b in zip(single.get_weights(), _model(name).get_weights())
        )
        print(json.dumps(dict(name=name, replicas=strategy.num_replicas_in_sync,
                              loss_single=loss_single, loss_mirrored=loss_mirrored,
                              difference=difference, moved=moved)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(CELL_FACTORIES))
