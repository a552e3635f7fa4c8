"""Time the simple recurrent cells against keras.layers.SimpleRNN on the current backend.

Prints median seconds per training step (forward + backward + Adam update) and per inference
batch, and each recipe's ratio to the Keras built-in measured in the same run.

    KERAS_BACKEND=jax python benchmarks/bench_simple.py
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import recipes  # noqa: E402


def build(layer, time_steps, features):
    model = keras.Sequential([keras.Input((time_steps, features)), layer, keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    return model


def median_seconds(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--time", type=int, default=100)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.time, args.features)).astype("float32")
    y = rng.normal(size=(args.batch, 1)).astype("float32")
    u = args.units
    candidates = {
        "keras SimpleRNN": lambda: keras.layers.SimpleRNN(u),
        "ElmanCell": lambda: keras.layers.RNN(recipes.ElmanCell(u)),
        "JordanCell": lambda: keras.layers.RNN(recipes.JordanCell(u, output_units=u)),
        "FullyRecurrentCell": lambda: keras.layers.RNN(recipes.FullyRecurrentCell(u, output_units=u // 2)),
        "RMLPCell (2 layers)": lambda: keras.layers.RNN(recipes.RMLPCell([u, u])),
    }
    print(f"backend={keras.backend.backend()} keras={keras.__version__} batch={args.batch} "
          f"T={args.time} features={args.features} units={u} repeats={args.repeats}")
    print(f"{'layer':22s} {'train step (ms)':>16s} {'ratio':>7s} {'inference (ms)':>15s} {'ratio':>7s}")
    baseline = None
    for name, make in candidates.items():
        model = build(make(), args.time, args.features)
        train = median_seconds(lambda: model.train_on_batch(x, y), args.repeats)
        infer = median_seconds(lambda: model.predict_on_batch(x), args.repeats)
        baseline = baseline or (train, infer)
        print(f"{name:22s} {train * 1e3:16.2f} {train / baseline[0]:7.2f} "
              f"{infer * 1e3:15.2f} {infer / baseline[1]:7.2f}")


if __name__ == "__main__":
    main()
