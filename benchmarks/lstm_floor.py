"""How fast can an exact LSTM train step be on this CPU? The matrix products it cannot avoid.

Issue #3 asks for a whole-sequence LSTM whose train step is 1.5 times faster than
`keras.layers.LSTM` on CPU (TensorFlow, batch 64, T = 100, 32 inputs, 128 units). Any exact
formulation, however fused, must still do these matrix products (G = 4 * units gate columns):

    forward     X W         one (B T, F) x (F, G) product (cuDNN-style, before the loop)
                h_{t-1} U   T products (B, H) x (H, G), one after the other: h_t needs h_{t-1}
    backward    dz_t U^T    T products (B, G) x (G, H), one after the other
                H^T dZ      one (H, B T) x (B T, G) product: the gradient of U
                X^T dZ      one (F, B T) x (B T, G) product: the gradient of W
                dZ W^T      one (B T, G) x (G, F) product: the gradient of the inputs

This script times exactly those products (the sequential ones chained, so that each waits for
the previous one, as in the recurrence) in one `tf.function`, and, in the same run and
interleaved with it, a full train step of `keras.layers.LSTM` (forward, backward, Adam). The
ratio LSTM / products is the largest speed-up any exact formulation can reach here: it leaves
out the gate nonlinearities, the elementwise products, the loss and the optimizer, which a real
step must also do. Medians of `--repeats` runs after warm-up.

    python benchmarks/lstm_floor.py
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
import tensorflow as tf  # noqa: E402  (the goal is about TensorFlow on CPU)


def products(batch, steps, features, units):
    """A tf.function doing the unavoidable matrix products of one LSTM train step."""
    gates = 4 * units
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(batch * steps, features)), tf.float32)
    w = tf.constant(rng.normal(size=(features, gates)) / features**0.5, tf.float32)
    u = tf.constant(rng.normal(size=(units, gates)) / units**0.5, tf.float32)
    h0 = tf.constant(rng.normal(size=(batch, units)), tf.float32)

    @tf.function
    def run():
        xw = tf.matmul(x, w)  # input projection of every step at once
        h, hs = h0, []
        for _ in range(steps):  # forward recurrence: each product waits for the previous one
            hs.append(h)
            h = tf.tanh(tf.matmul(h, u)[:, :units])  # tanh keeps the values bounded; O(B H)
        dz = tf.zeros((batch, gates)) + xw[:batch]
        dzs = []
        for _ in range(steps):  # backward recurrence, also sequential
            dh = tf.matmul(dz, u, transpose_b=True)
            dz = tf.tile(tf.tanh(dh), [1, 4])  # stands in for the gate derivatives; O(B G)
            dzs.append(dz)
        hs, dzs = tf.concat(hs, 0), tf.concat(dzs, 0)
        du = tf.matmul(hs, dzs, transpose_a=True)  # gradient of U
        dw = tf.matmul(x, dzs, transpose_a=True)  # gradient of W
        dx = tf.matmul(dzs, w, transpose_b=True)  # gradient of the inputs
        return du, dw, dx

    flops = 2 * batch * steps * (features * gates * 3 + units * gates * 3)
    return run, flops


def keras_lstm_step(batch, steps, features, units):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, steps, features)).astype("float32")
    y = rng.normal(size=(batch, 1)).astype("float32")
    model = keras.Sequential([keras.Input((steps, features)), keras.layers.LSTM(units), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-3), "mse", jit_compile=False)
    return lambda: model.train_on_batch(x, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    sizes = (args.batch, args.steps, args.features, args.units)
    floor, flops = products(*sizes)
    step = keras_lstm_step(*sizes)
    for _ in range(3):  # warm-up: tracing, first allocations
        floor()
        step()
    times = {"products": [], "LSTM": []}
    for _ in range(args.repeats):  # interleaved, so that a change in load hits both alike
        for name, fn in [("products", floor), ("LSTM", step)]:
            start = time.perf_counter()
            out = fn()
            if name == "products":
                out[0].numpy()
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}; batch {args.batch}, T {args.steps}, {args.features} inputs, "
          f"{args.units} units; median of {args.repeats}, load average {os.getloadavg()[0]:.1f}")
    print(f"keras.layers.LSTM train step         {1e3 * med['LSTM']:7.1f} ms "
          f"({flops / med['LSTM'] / 1e9:5.1f} GFLOP/s in its matrix products)")
    print(f"unavoidable matrix products only     {1e3 * med['products']:7.1f} ms "
          f"({flops / 1e9:.2f} GFLOP, {flops / med['products'] / 1e9:5.1f} GFLOP/s)")
    print(f"largest possible speed-up of an exact formulation: {med['LSTM'] / med['products']:.2f}x "
          f"(the goal is 1.5x: a step of {1e3 * med['LSTM'] / 1.5:.1f} ms)")


if __name__ == "__main__":
    main()
