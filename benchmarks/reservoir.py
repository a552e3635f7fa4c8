"""Time of an echo state network's readout fit: reservoir states, then the ridge solve.

Drives an `EchoStateCell` of `--units` units with `--steps` steps of a signal
(`recipes.collect_states`, the loop compiled by Keras), then fits a `RidgeReadout` to predict
the next value after a washout (the float64 normal equations, `np.linalg.solve`). Prints the
median of `--repeats` runs of each part and of their sum, on the current backend. Building the
reservoir (drawing it and computing its spectral radius in float64, once per cell) is reported
separately. The course's target: under 3 s for 10,000 steps and 1,000 units.

    KERAS_BACKEND=tensorflow python benchmarks/reservoir.py
    KERAS_BACKEND=jax python benchmarks/reservoir.py --units 400 --steps 4000
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

from recipes import EchoStateCell, RidgeReadout, collect_states  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--washout", type=int, default=1000)
    parser.add_argument("--connectivity", type=float, default=0.01)
    parser.add_argument("--ridge", type=float, default=1e-8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--target", type=float, default=3.0, help="seconds")
    args = parser.parse_args()

    t = np.arange(args.steps + 1)
    signal = (0.5 * np.sin(2 * np.pi * t / 23) + 0.3 * np.sin(2 * np.pi * t / 61))[:, None]
    inputs, targets = signal[:-1].astype("float32"), signal[1:]

    start = time.perf_counter()
    cell = EchoStateCell(args.units, connectivity=args.connectivity, bias_scaling=0.2, seed=0)
    cell.build((None, 1))
    build = time.perf_counter() - start

    collect, solve, errors = [], [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        states = collect_states(cell, inputs)
        collect.append(time.perf_counter() - start)
        start = time.perf_counter()
        readout = RidgeReadout(args.ridge).fit(states, targets, washout=args.washout)
        solve.append(time.perf_counter() - start)
        residual = readout.predict(states[args.washout :]) - targets[args.washout :]
        errors.append(float(np.sqrt(np.mean(residual**2) / np.var(targets))))

    total = [c + s for c, s in zip(collect, solve)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"backend={keras.backend.backend()} keras={keras.__version__} cpus={os.cpu_count()} "
          f"load={load:.1f} machine={platform.machine()} units={args.units} steps={args.steps} "
          f"washout={args.washout} connectivity={args.connectivity} median of {args.repeats}")
    print(f"| build reservoir (once) | {build:6.2f} s |")
    print(f"| collect states         | {statistics.median(collect):6.2f} s |")
    print(f"| ridge solve (float64)  | {statistics.median(solve):6.2f} s |")
    verdict = "met" if statistics.median(total) < args.target else "NOT met"
    print(f"| fit = collect + solve  | {statistics.median(total):6.2f} s | "
          f"target < {args.target:g} s: {verdict} |")
    print(f"training NRMSE of the one-step prediction: {statistics.median(errors):.2e}")


if __name__ == "__main__":
    main()
