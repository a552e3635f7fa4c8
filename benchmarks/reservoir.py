"""Notebook 11's protocol with our recipes and with reservoirpy, in the same run: time and accuracy.

The protocol of notebook 11 (Jaeger's Mackey-Glass benchmark): a reservoir of `--units` tanh
units (connectivity 5%, spectral radius 0.9, input weights uniform in [-1, 1], bias uniform in
[-0.2, 0.2], no leak) driven by 4,000 teacher-forced steps of tanh(x - 1) of the series, a ridge
readout (1e-10) fitted after a 1,000-step washout, then 50 trials of 500 warm-up steps and 84
free-running steps; NRMSE84 is the error at the 84th free-running step over the trials, divided
by the series' standard deviation. Both libraries get the same hyper-parameters and draw their
own reservoir from each seed; the time of each covers everything after the series: drawing the
reservoir (and its spectral radius), collecting the states, the ridge solve and the 50 free runs.

    KERAS_BACKEND=tensorflow python benchmarks/reservoir.py            # ours and reservoirpy
    KERAS_BACKEND=jax python benchmarks/reservoir.py --units 1000 --no-reservoirpy

reservoirpy (0.4) is a benchmark-only dependency, pinned in requirements-benchmarks.txt
(`make benchmarks` installs it; by hand: `pip install -r requirements-benchmarks.txt`). OPENBLAS_NUM_THREADS=2 in the environment times NumPy's two-thread BLAS.
"""

import argparse
import functools
import os
import platform
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# NumPy's BLAS on one thread, as notebook 11 sets it: our reservoir steps are small dense
# products, which a second thread barely speeds up on a quiet machine and slows down many times
# over on a shared one (reservoirpy's sparse products do not use BLAS threads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from recipes.reservoir import EchoStateCell, RidgeReadout, collect_states, free_run  # noqa: E402


def mackey_glass(n, tau=17, dt=0.1, subsample=10, transient=1000, x0=1.2):
    """n samples (one per time unit) of the Mackey-Glass series, Euler steps of dt (notebook 11)."""
    delay, total = int(round(tau / dt)), (n + transient) * subsample
    x = np.full(total + delay + 1, x0)
    for i in range(delay, total + delay):
        x_tau = x[i - delay]
        x[i + 1] = x[i] + dt * (0.2 * x_tau / (1 + x_tau**10) - 0.1 * x[i])
    return x[delay + 1 + transient * subsample :: subsample][:n]


def ours(args, seed, series, warmups):
    cell = EchoStateCell(args.units, spectral_radius=args.radius, leak_rate=args.leak,
                         connectivity=args.connectivity, bias_scaling=args.bias, seed=seed)
    states = collect_states(cell, series[: args.train, None])
    readout = RidgeReadout(args.ridge).fit(states, series[1 : args.train + 1, None],
                                           washout=args.washout)
    return free_run(cell, readout, warmups, steps=args.horizon)[:, -1, 0]


def theirs(args, seed, series, warmups):
    from reservoirpy.mat_gen import uniform
    from reservoirpy.nodes import Reservoir, Ridge

    reservoir = Reservoir(args.units, lr=args.leak, sr=args.radius, input_scaling=1.0,
                          input_connectivity=1.0, rc_connectivity=args.connectivity, W=uniform,
                          Win=uniform, bias=functools.partial(uniform, low=-args.bias, high=args.bias),
                          seed=seed)
    states = reservoir.run(series[: args.train, None])
    readout = Ridge(ridge=args.ridge).fit(states, series[1 : args.train + 1, None],
                                          warmup=args.washout)
    last = []
    for warmup in warmups:  # one trial at a time: a node holds one state
        reservoir.reset()
        h = reservoir.run(warmup)[-1]
        for step in range(args.horizon):
            y = readout.step(h)
            if step < args.horizon - 1:
                h = reservoir.step(y)
        last.append(y[0])
    return np.array(last)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=400)
    parser.add_argument("--connectivity", type=float, default=0.05)
    parser.add_argument("--radius", type=float, default=0.9)
    parser.add_argument("--leak", type=float, default=1.0)
    parser.add_argument("--bias", type=float, default=0.2)
    parser.add_argument("--ridge", type=float, default=1e-10)
    parser.add_argument("--train", type=int, default=4000)
    parser.add_argument("--washout", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--horizon", type=int, default=84)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-reservoirpy", action="store_true", help="time our recipes alone")
    args = parser.parse_args()

    series = np.tanh(mackey_glass(10_000) - 1.0)
    starts = args.train + 100 * np.arange(args.trials)
    warmups = np.stack([series[s : s + args.warmup, None] for s in starts])
    truth = series[starts + args.warmup + args.horizon - 1]
    runners = {"rnn-recipes": ours}
    if not args.no_reservoirpy:
        import reservoirpy

        runners[f"reservoirpy {reservoirpy.__version__}"] = theirs
    results = {name: {"seconds": [], "nrmse": []} for name in runners}
    for seed in args.seeds:
        for name, run in runners.items():  # interleaved, so that both see the same load
            start = time.perf_counter()
            predicted = run(args, seed, series, warmups)
            results[name]["seconds"].append(time.perf_counter() - start)
            error = np.sqrt(np.mean((predicted - truth) ** 2)) / series.std()
            results[name]["nrmse"].append(float(error))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"backend={keras.backend.backend()} keras={keras.__version__} cpus={os.cpu_count()} "
          f"load={load:.1f} machine={platform.machine()} blas_threads={os.environ['OPENBLAS_NUM_THREADS']} "
          f"units={args.units} train={args.train} "
          f"trials={args.trials}x({args.warmup}+{args.horizon}) seeds={args.seeds}")
    print("| library | time per seed (median) | NRMSE84 per seed | median NRMSE84 |")
    print("|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {statistics.median(r['seconds']):.2f} s | "
              f"{', '.join(f'{e:.1e}' for e in r['nrmse'])} | {statistics.median(r['nrmse']):.1e} |")
    if len(results) == 2:  # the ratios against ours, measured in this run
        (base_name, base), (peer_name, peer) = results.items()
        print(f"{peer_name} / {base_name}: time {statistics.median(peer['seconds']) / statistics.median(base['seconds']):.2f}x, "
              f"median NRMSE84 {statistics.median(peer['nrmse']) / statistics.median(base['nrmse']):.2f}x")


if __name__ == "__main__":
    main()
