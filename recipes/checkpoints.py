"""The course's files in `data/`: trained full-scale models and small datasets; find, check, load.

`make checkpoints` trains each full-scale model with a script of `training/` and writes two files
into `data/checkpoints/`: `NAME.keras` (the model) and `NAME.json` (how it was made and what it
scored, with the SHA-256 of the `.keras` file). A notebook's "At full scale" section loads one with

    model, record = load_checkpoint("lm_shakespeare_gru", download=True)

`data_file` finds a file of `data/` (e.g. "checkpoints/NAME.json" or "fsdd/digits_mfcc.npz")
in this order: the folder `$RNN_RECIPES_DATA` names (`make test` sets it for the notebooks it
runs out of the checkout); `data/` in the current folder or any folder above it (a notebook run
inside the checkout); else, only with `download=True` (in Colab), the repository on GitHub,
fetched once into Keras's cache (`~/.keras/datasets`). Files with a known SHA-256 are checked.

Only Keras and the standard library: any backend.
"""

import hashlib
import json
import os
from pathlib import Path

import keras

URL = "https://raw.githubusercontent.com/rnn-recipes/rnn-recipes/main/data/"


def _data_folders():
    if os.environ.get("RNN_RECIPES_DATA"):
        yield Path(os.environ["RNN_RECIPES_DATA"])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        yield folder / "data"


def data_file(relative, download=False, sha256=None):
    """The path of `data/<relative>`: a local copy first; downloaded only with `download=True`.

    With `sha256`, the file must have that digest (a stale or damaged copy raises ValueError).
    """
    if not isinstance(relative, str) or not relative or relative.startswith(("/", "..")):
        raise ValueError(f"`relative` must be a path inside data/, e.g. 'checkpoints/NAME.json'; got {relative!r}")
    path = next((folder / relative for folder in _data_folders() if (folder / relative).is_file()), None)
    if path is None:
        if not download:
            raise FileNotFoundError(
                f"no data/{relative} in $RNN_RECIPES_DATA or in {Path.cwd()} or a folder above it; run "
                f"inside a checkout of rnn-recipes, set RNN_RECIPES_DATA to its data/ folder, or pass download=True")
        path = Path(keras.utils.get_file("rnn-recipes-" + relative.replace("/", "-"), URL + relative))
    if sha256 is not None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != sha256:
            raise ValueError(f"{path} has SHA-256 {digest}, expected {sha256}: a stale or damaged copy")
    return path


def load_checkpoint(name, download=False, compile=False):
    """The model of checkpoint `name` and its record (a dict: command, commit, curve, metric...).

    The `.keras` file must match the SHA-256 its record holds. The layers the model uses must be
    importable: import `recipes` (or the module you copied) first, so that Keras knows the
    `recipes>...` classes the file names.
    """
    if not isinstance(name, str) or not name or "/" in name or name.endswith((".keras", ".json")):
        raise ValueError(f"`name` must be a checkpoint's name without folder or suffix, "
                         f"e.g. 'lm_shakespeare_gru'; got {name!r}")
    record = json.loads(data_file(f"checkpoints/{name}.json", download).read_text())
    model_path = data_file(f"checkpoints/{name}.keras", download, sha256=record.get("file_sha256"))
    return keras.saving.load_model(model_path, compile=compile), record
