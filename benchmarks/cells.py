"""Train-step time of the recipe cells and sequence layers against the Keras built-ins.

For each pair (Keras built-in, recipe) at the same sizes, on the current backend, with and
without `jit_compile`, prints the median of `--repeats` timed training steps (forward, backward
and Adam update, after warm-up; the two models of a pair timed in turn) and the ratio
recipe / built-in, both measured in this run.

    KERAS_BACKEND=tensorflow python benchmarks/cells.py
    KERAS_BACKEND=jax python benchmarks/cells.py --jit on
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

import recipes  # noqa: E402


def pairs(units):
    """(built-in name, built-in factory, recipe name, recipe factory)."""
    L = keras.layers
    return [
        ("SimpleRNN", lambda: L.SimpleRNN(units), "RNN(ElmanCell)", lambda: L.RNN(recipes.ElmanCell(units))),
        ("LSTM", lambda: L.LSTM(units), "RNN(LSTMCell)", lambda: L.RNN(recipes.LSTMCell(units))),
        ("LSTM", lambda: L.LSTM(units), "recipes.LSTM", lambda: recipes.LSTM(units)),
        ("LSTM", lambda: L.LSTM(units), "LSTM(fused=True)",
         lambda: recipes.LSTM(units, fused=True)),
        ("LSTM", lambda: L.LSTM(units), "LSTM(unroll=True)",
         lambda: recipes.LSTM(units, unroll=True)),
        ("GRU", lambda: L.GRU(units), "RNN(GRUCell)", lambda: L.RNN(recipes.GRUCell(units))),
        ("GRU", lambda: L.GRU(units), "recipes.GRU", lambda: recipes.GRU(units)),
        ("GRU", lambda: L.GRU(units), "GRU(fused=True)", lambda: recipes.GRU(units, fused=True)),
    ]


def train_step_seconds(makers, x, y, jit, repeats, warmup=3):
    """Median train-step seconds of one model per layer factory, timed interleaved (one step of
    each in turn), so that a change in machine load hits every model alike."""
    models = []
    for make_layer in makers:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input(x.shape[1:]), make_layer(), keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(1e-3), "mse", jit_compile=jit)
        for _ in range(warmup):
            model.train_on_batch(x, y)
        models.append(model)
    times = [[] for _ in models]
    for _ in range(repeats):
        for model, model_times in zip(models, times):
            start = time.perf_counter()
            model.train_on_batch(x, y)
            model_times.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--time", type=int, default=100)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--jit", choices=["both", "on", "off"], default="both")
    parser.add_argument("--only", default="", help="only the pairs whose recipe name has this")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.time, args.features)).astype("float32")
    y = rng.normal(size=(args.batch, 1)).astype("float32")
    jits = {"both": [False, True], "on": [True], "off": [False]}[args.jit]
    print(f"backend={keras.backend.backend()} keras={keras.__version__} cpus={os.cpu_count()} "
          f"machine={platform.machine()} batch={args.batch} T={args.time} "
          f"features={args.features} units={args.units} median of {args.repeats}")
    print(f"| {'jit':5s} | {'built-in':9s} | {'ms':>7s} | {'recipe':17s} | {'ms':>7s} | {'ratio':>5s} |")
    for jit in jits:
        for builtin_name, builtin, recipe_name, recipe in pairs(args.units):
            if args.only not in recipe_name:
                continue
            base, ours = train_step_seconds([builtin, recipe], x, y, jit, args.repeats)
            print(f"| {str(jit):5s} | {builtin_name:9s} | {base * 1e3:7.1f} | {recipe_name:17s} | "
                  f"{ours * 1e3:7.1f} | {ours / base:5.2f} |", flush=True)


if __name__ == "__main__":
    main()
