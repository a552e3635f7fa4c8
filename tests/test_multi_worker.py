"""Notebook 19's multi-worker jobs, run from the scripts the notebook writes (its `%%writefile`
cells, read from the .ipynb: one copy of the code).

On the TensorFlow backend: two `MultiWorkerMirroredStrategy` workers train like one process, and a
job whose worker 1 is killed resumes from `BackupAndRestore` and ends with the same weights. On the
JAX backend: two processes under `jax.distributed` and `keras.distribution.DataParallel` train like
one. Every job runs through the notebook's launcher (free ports, chosen when it starts) in its own
process group, which the test kills at the end: no worker is left running.
"""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import recipes

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "19_multi_worker_training.ipynb"
BACKEND = keras.backend.backend()
T, BATCH, STEPS_PER_EPOCH, EPOCHS = 10, 64, 4, 3          # 12 steps: small, still 3 epochs


def write_scripts(directory):
    """Writes every file of the notebook's `%%writefile [-a] {work}/NAME` cells into `directory`."""
    scripts = {}
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        source = "".join(cell["source"])
        found = re.match(r"%%writefile( -a)? \{work\}/(\S+)\n", source)
        if cell["cell_type"] == "code" and found:
            body = source[found.end():] + "\n"
            scripts[found[2]] = scripts.get(found[2], "") + body if found[1] else body
    for name, text in scripts.items():
        (directory / name).write_text(text)
    return sorted(scripts)


def adder():
    return keras.Sequential([keras.Input((T, 2)), keras.layers.RNN(recipes.GRUCell(32)),
                             keras.layers.Dense(1)])


@pytest.fixture
def work(tmp_path):
    assert write_scripts(tmp_path) == ["jax_worker.py", "launch.py", "tf_worker.py"]
    rng = np.random.default_rng(0)
    n = STEPS_PER_EPOCH * BATCH
    x = np.stack([rng.uniform(-1, 1, (n, T)), rng.integers(0, 2, (n, T))], -1).astype("float32")
    np.savez(tmp_path / "adding.npz", x=x, y=x[:, :, :1].sum(1).astype("float32") / 4)
    keras.utils.set_random_seed(0)
    adder().save_weights(tmp_path / "init.weights.h5")
    return tmp_path


def run_job(work, workers, script, run, *arguments, logs=None):
    """The notebook's launcher in a new process group; the group is killed whatever happens."""
    command = [sys.executable, str(work / "launch.py"), "--workers", str(workers), "--timeout", "150",
               "--logs", str(work / (logs or run)), str(work / script), "--work", str(work),
               "--run", run, "--epochs", str(EPOCHS), *arguments]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    job = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out = job.communicate(timeout=200)[0]
    finally:
        try:
            os.killpg(job.pid, signal.SIGKILL)
        except ProcessLookupError:   # the group is empty: every worker has ended
            pass
        job.wait()
    with pytest.raises(ProcessLookupError):
        os.killpg(job.pid, 0)        # nothing of the job is left running
    logs = "".join((work / f"{logs or run}-worker{i}.log").read_text() for i in range(workers))
    return job.returncode, out, logs


def one_process_reference(work):
    data = np.load(work / "adding.npz")
    model = adder()
    model.load_weights(work / "init.weights.h5")
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    model.fit(data["x"], data["y"], batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    return model.get_weights()


def weights_of(path):
    model = adder()
    model.load_weights(path)
    return model.get_weights()


def largest_gap(a, b):
    return max(float(np.abs(u - v).max()) for u, v in zip(a, b))


@pytest.mark.skipif(BACKEND != "tensorflow", reason="MultiWorkerMirroredStrategy is TensorFlow's")
def test_two_tensorflow_workers_train_like_one_process_and_survive_a_lost_worker(work):
    reference = one_process_reference(work)
    assert largest_gap(reference, weights_of(work / "init.weights.h5")) > 1e-2  # training moved them

    status, out, logs = run_job(work, 2, "tf_worker.py", "two")
    assert status == 0, out + logs[-3000:]
    assert "worker 0: global batch 0, examples 0-31" in logs and "worker 1: global batch 0, examples 32-63" in logs
    two = [weights_of(work / f"two-worker{i}.weights.h5") for i in range(2)]
    assert largest_gap(two[0], reference) < 1e-5 and largest_gap(two[0], two[1]) < 1e-6

    # Worker 1 dies before step 6 (epoch 2): the launcher stops worker 0; the job is started again.
    status, out, logs = run_job(work, 2, "tf_worker.py", "lost", "--crash-at", "6", logs="first")
    assert status == 1 and "worker 1: killed (SIGKILL) before step 6" in logs, out + logs[-3000:]
    # Worker 1 logged step 5 before it died; worker 0 may be stopped before it prints step 5, but
    # it printed step 4 before step 5 could start, and no step 6 can finish without worker 1.
    assert "worker 1: step   5" in logs and "worker 0: step   4" in logs
    assert "worker 0: step   6" not in logs
    status, out, logs = run_job(work, 2, "tf_worker.py", "lost", logs="second")
    assert status == 0, out + logs[-3000:]
    assert "worker 0: training starts after step 4" in logs       # the backup of epoch 1
    assert "worker 0: step   4" not in logs and "worker 0: step   5" in logs
    assert f"worker 0: step  {STEPS_PER_EPOCH * EPOCHS}" in logs
    lost = weights_of(work / "lost-worker0.weights.h5")
    assert largest_gap(lost, two[0]) < 1e-5


@pytest.mark.skipif(BACKEND != "jax", reason="jax.distributed is JAX's")
def test_two_jax_processes_train_like_one(work):
    reference = one_process_reference(work)
    status, out, logs = run_job(work, 2, "jax_worker.py", "jax2")
    assert status == 0, out + logs[-3000:]
    assert "process 1 of 2" in logs and f"process 0: {STEPS_PER_EPOCH * EPOCHS} steps" in logs
    processes = [weights_of(work / f"jax2-process{p}.weights.h5") for p in range(2)]
    assert largest_gap(processes[0], processes[1]) < 1e-6
    assert largest_gap(processes[0], reference) < 1e-5
    assert largest_gap(reference, weights_of(work / "init.weights.h5")) > 1e-2
