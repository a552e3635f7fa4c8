"""What every training script of `training/` shares: where checkpoints go, the record of how each
was made, and a learning curve that survives an interrupted run.

A checkpoint is two files in `data/checkpoints/`: `NAME.keras` (the model) and `NAME.json`
(how it was made and what it scored). The JSON records the command, the commit and the SHA-256 of
the training script as committed there, checksums of the data, the wall time, the machine, the
learning curve and the held-out metric. `tests/test_checkpoints.py` reloads every checkpoint,
re-evaluates it and checks it against its JSON.
"""

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import keras

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "data" / "checkpoints"


def sha256(data):
    """SHA-256 of bytes, a str (UTF-8) or a NumPy array (its bytes), as hex."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif hasattr(data, "tobytes"):
        data = data.tobytes()
    return hashlib.sha256(data).hexdigest()


def git(*arguments):
    return subprocess.run(["git", "-C", str(ROOT), *arguments], capture_output=True, text=True,
                          check=True).stdout.strip()


def committed_script(script):
    """(commit, SHA-256 of the script) when the script is committed and unchanged; else exits.

    A checkpoint must be reproducible from history: its JSON names the commit whose script made it.
    """
    relative = Path(script).resolve().relative_to(ROOT).as_posix()
    commit = git("rev-parse", "HEAD")
    if git("status", "--porcelain", "--", "training/", "recipes/"):
        sys.exit(f"commit training/ and recipes/ first: the checkpoint's JSON names the commit "
                 f"({commit[:10]} has uncommitted changes there)")
    return commit, sha256(git("show", f"{commit}:{relative}") + "\n")


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    gpus = [d for d in keras.distribution.list_devices() if d.lower().startswith("gpu")]
    return {"platform": platform.platform(), "processor": cpu_model(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "keras": keras.__version__, "backend": keras.backend.backend(), "gpus": gpus}


class LearningCurve(keras.callbacks.Callback):
    """Appends each epoch's logs to a JSON-lines file in the backup directory.

    After a restart (`keras.callbacks.BackupAndRestore` resumes at the epoch after its last
    backup), the lines of epochs that will be run again are dropped, so the curve has one line
    per epoch whatever happened.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)

    def on_train_begin(self, logs=None):
        self.started, self.offset = time.perf_counter(), None

    def on_epoch_begin(self, epoch, logs=None):
        kept = [line for line in self.read() if line["epoch"] < epoch]
        self.path.write_text("".join(json.dumps(line) + "\n" for line in kept))
        if self.offset is None:  # seconds count on from the interrupted run's
            self.offset = kept[-1]["seconds"] if kept else 0.0

    def on_epoch_end(self, epoch, logs=None):
        seconds = self.offset + time.perf_counter() - self.started
        line = {"epoch": epoch, "seconds": round(seconds, 1), **{k: float(v) for k, v in (logs or {}).items()}}
        with self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")
        print(json.dumps(line), flush=True)

    def read(self):
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]


def write_checkpoint(name, model, record):
    """Saves `data/checkpoints/NAME.keras` and `NAME.json` (the record, plus the file's SHA-256)."""
    CHECKPOINTS.mkdir(parents=True, exist_ok=True)
    path = CHECKPOINTS / f"{name}.keras"
    model.save(path)
    record = {**record, "file": path.name, "file_sha256": sha256(path.read_bytes()),
              "megabytes": round(path.stat().st_size / 1e6, 2)}
    (CHECKPOINTS / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)} ({record['megabytes']} MB) and {name}.json")
    return record
