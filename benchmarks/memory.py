"""Per-step cost of the memory-augmented cells against an LSTM with the same controller size.

For an LSTM (`keras.layers.LSTM`, the baseline), `NTMCell` and `DNCCell` (both with an LSTM
controller of the same size), on the current backend, with and without `jit_compile`, prints the
median of `--repeats` timed forward passes and training steps (forward, backward and Adam update,
after warm-up), in milliseconds per time step, and the ratio to the LSTM measured in this run.

    KERAS_BACKEND=tensorflow python benchmarks/memory.py
    KERAS_BACKEND=jax python benchmarks/memory.py --jit on
"""

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from recipes.memory import DNCCell, NTMCell  # noqa: E402


def layers(args):
    """(name, factory) pairs; the first is the baseline."""
    memory = dict(memory_size=args.memory_size, memory_width=args.memory_width)
    return [
        ("LSTM", lambda: keras.layers.LSTM(args.units)),
        ("NTM", lambda: keras.layers.RNN(NTMCell(args.units, **memory))),
        (f"DNC (R={args.read_heads})",
         lambda: keras.layers.RNN(DNCCell(args.units, read_heads=args.read_heads, **memory))),
    ]


def median_seconds(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(make_layer, x, y, jit, repeats):
    """Median seconds of one forward pass and of one training step on the batch x."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(x.shape[1:]), make_layer(), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-3), "mse", jit_compile=jit)
    forward = median_seconds(lambda: model.predict_on_batch(x), repeats)
    train = median_seconds(lambda: model.train_on_batch(x, y), repeats)
    return forward, train


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--time", type=int, default=50)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--memory-size", type=int, default=64)
    parser.add_argument("--memory-width", type=int, default=16)
    parser.add_argument("--read-heads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--jit", choices=["both", "on", "off"], default="both")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.time, args.features)).astype("float32")
    y = rng.normal(size=(args.batch, 1)).astype("float32")
    jits = {"both": [False, True], "on": [True], "off": [False]}[args.jit]
    print(f"backend={keras.backend.backend()} keras={keras.__version__} cpus={os.cpu_count()} "
          f"machine={platform.machine()} batch={args.batch} T={args.time} "
          f"features={args.features} controller units={args.units} memory={args.memory_size}x"
          f"{args.memory_width} median of {args.repeats}; ms per time step")
    print(f"| {'jit':5s} | {'layer':9s} | {'forward':>8s} | {'ratio':>5s} | {'train':>8s} | {'ratio':>5s} |")
    for jit in jits:
        base = None
        for name, make in layers(args):
            forward, train = measure(make, x, y, jit, args.repeats)
            forward, train = forward * 1e3 / args.time, train * 1e3 / args.time
            base = base or (forward, train)
            print(f"| {str(jit):5s} | {name:9s} | {forward:8.3f} | {forward / base[0]:5.2f} | "
                  f"{train:8.3f} | {train / base[1]:5.2f} |", flush=True)


if __name__ == "__main__":
    main()
