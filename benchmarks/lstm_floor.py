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
step must also do. Two more rows show where the rest goes: the same products under XLA (whose
CPU matrix products are not faster here), and a chain of 28 elementwise ops per step on
(batch, units) tensors, about what a forward and backward LSTM step need besides the products;
without XLA each is a separate kernel, and Keras's ops cannot fuse them into one. The last row
is TensorFlow's own fused whole-sequence LSTM kernel for CPU (`tf.raw_ops.BlockLSTMV2`, which a
recipe may not call), trained the same way.
Medians of `--repeats` runs after warm-up.

    python benchmarks/lstm_floor.py
"""

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ["KERAS_BACKEND"] != "tensorflow":  # `make benchmarks` runs every script on every backend
    print(f"benchmarks/lstm_floor.py measures TensorFlow only; skipped on {os.environ['KERAS_BACKEND']}.")
    sys.exit(0)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402  (the goal is about TensorFlow on CPU)


def products(batch, steps, features, units, jit=False):
    """A tf.function doing the unavoidable matrix products of one LSTM train step."""
    gates = 4 * units
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(batch * steps, features)), tf.float32)
    w = tf.constant(rng.normal(size=(features, gates)) / features**0.5, tf.float32)
    u = tf.constant(rng.normal(size=(units, gates)) / units**0.5, tf.float32)
    h0 = tf.constant(rng.normal(size=(batch, units)), tf.float32)

    @tf.function(jit_compile=jit)
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


def op_overhead(batch, steps, units, ops_per_step):
    """A chain of `ops_per_step` elementwise ops per step on (batch, units) tensors, the size of
    most of an LSTM step's gate arithmetic, in a plain TF graph (no XLA fusion): per step 5
    nonlinearities (3 sigmoids, 2 tanh, as in the forward step) and the rest products and sums."""
    rng = np.random.default_rng(1)
    z = tf.constant(rng.normal(size=(batch, units)), tf.float32)
    a = tf.constant(rng.uniform(0.5, 1.0, size=(batch, units)), tf.float32)

    @tf.function
    def run():
        y = z
        for _ in range(steps):
            y = tf.tanh(tf.sigmoid(tf.sigmoid(tf.tanh(tf.sigmoid(y)))))
            for k in range(ops_per_step - 5):
                y = y * a if k % 2 else y + a
        return (y,)

    return run


def block_lstm_step(batch, steps, features, units):
    """A train step (same model, loss and Adam) on TensorFlow's own fused LSTM kernel,
    `tf.raw_ops.BlockLSTMV2` (gate order i, c, f, o), with its registered gradient: what a
    hand-written CPU kernel of the whole sequence gives on this machine."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(steps, batch, features)), tf.float32)
    y = tf.constant(rng.normal(size=(batch, 1)), tf.float32)
    w = tf.Variable(rng.normal(size=(features + units, 4 * units)).astype("float32") * 0.05)
    b = tf.Variable(np.zeros(4 * units, "float32"))
    wd = tf.Variable(rng.normal(size=(units, 1)).astype("float32") * 0.1)
    bd = tf.Variable(np.zeros(1, "float32"))
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build([w, b, wd, bd])
    zeros, no_peephole = tf.zeros((batch, units)), tf.zeros((units,))

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            h = tf.raw_ops.BlockLSTMV2(
                seq_len_max=tf.constant(steps, tf.int64), x=x, cs_prev=zeros, h_prev=zeros, w=w,
                wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=b, cell_clip=0.0, use_peephole=False,
            )[6]
            loss = tf.reduce_mean((h[-1] @ wd + bd - y) ** 2)
        grads = tape.gradient(loss, [w, b, wd, bd])
        optimizer.apply(grads, [w, b, wd, bd])
        return (loss,)

    return run


def keras_lstm_step(batch, steps, features, units):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, steps, features)).astype("float32")
    y = rng.normal(size=(batch, 1)).astype("float32")
    model = keras.Sequential([keras.Input((steps, features)), keras.layers.LSTM(units), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-3), "mse", jit_compile=False)
    return lambda: model.train_on_batch(x, y)


OPS_PER_STEP = 28  # the elementwise ops of an LSTM step: about 8 forward (z = xw + hU, sigmoid,
# tanh, f c, i g, +, tanh c, o tanh c) and 20 backward (the chain rule through the same)


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
    fns = {"products": floor, "LSTM": keras_lstm_step(*sizes), "products, XLA": products(*sizes, jit=True)[0],
           "elementwise": op_overhead(args.batch, args.steps, args.units, OPS_PER_STEP),
           "BlockLSTM": block_lstm_step(*sizes)}
    for _ in range(3):  # warm-up: tracing, compiling, first allocations
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(args.repeats):  # interleaved, so that a change in load hits all alike
        for name, fn in fns.items():
            start = time.perf_counter()
            out = fn()
            if name != "LSTM":
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
    print(f"the same products under XLA          {1e3 * med['products, XLA']:7.1f} ms "
          f"({flops / med['products, XLA'] / 1e9:5.1f} GFLOP/s)")
    print(f"{OPS_PER_STEP} elementwise ops per step, chained   {1e3 * med['elementwise']:7.1f} ms "
          f"({1e6 * med['elementwise'] / (OPS_PER_STEP * args.steps):.1f} us per op on ({args.batch}, {args.units}))")
    print(f"TF's fused kernel BlockLSTMV2 train step {1e3 * med['BlockLSTM']:7.1f} ms "
          f"({med['BlockLSTM'] / med['LSTM']:.2f} x keras.layers.LSTM)")
    both = med["products"] + med["elementwise"]
    print(f"goal, 1.5x faster than keras.layers.LSTM {1e3 * med['LSTM'] / 1.5:7.1f} ms")
    print(f"largest speed-up of an exact formulation: {med['LSTM'] / med['products']:.2f}x if the gate arithmetic "
          f"were free, {med['LSTM'] / both:.2f}x with it ({1e3 * both:.1f} ms, products + elementwise ops)")


if __name__ == "__main__":
    main()
