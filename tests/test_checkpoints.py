"""The trained checkpoints of data/checkpoints/: each reloads, scores what its JSON says on the
held-out data, and was made by a training script that exists in the commit its JSON names.

Also the provenance helpers of training/ (the learning curve that survives a restart).
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "data" / "checkpoints"
RECORDS = sorted(CHECKPOINTS.glob("*.json"))
sys.path.insert(0, str(ROOT))

from training import provenance  # noqa: E402


def training_module(script):
    path = ROOT / script
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_git():
    try:
        return provenance.git("rev-parse", "--is-inside-work-tree") == "true"
    except (OSError, subprocess.CalledProcessError):
        return False


def test_every_model_file_has_its_record_and_all_fit_the_size_budget():
    models = sorted(CHECKPOINTS.glob("*.keras"))
    assert [p.stem for p in models] == [p.stem for p in RECORDS], "every NAME.keras needs NAME.json"
    assert sum(p.stat().st_size for p in models) <= 60e6, "checkpoints together at most 60 MB"


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_checkpoint_was_made_by_a_committed_script(path):
    record = json.loads(path.read_text())
    model_file = CHECKPOINTS / record["file"]
    assert provenance.sha256(model_file.read_bytes()) == record["file_sha256"], "the file changed"
    if not in_git():
        pytest.skip("not a git checkout: the commit cannot be checked")
    try:
        script = provenance.git("show", f"{record['commit']}:{record['script']}") + "\n"
    except subprocess.CalledProcessError:
        pytest.fail(f"{record['script']} does not exist in commit {record['commit']}")
    assert provenance.sha256(script) == record["script_sha256"]


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_checkpoint_scores_what_its_record_says(path):
    record = json.loads(path.read_text())
    script = training_module(record["script"])  # imports recipes: its layers are registered
    model = keras.saving.load_model(CHECKPOINTS / record["file"])
    value = script.reevaluate(model, record)
    assert value == pytest.approx(record["value"], abs=record.get("tolerance", 2e-3)), record["metric"]


def test_learning_curve_keeps_one_line_per_epoch_across_a_restart(tmp_path):
    curve = provenance.LearningCurve(tmp_path / "curve.jsonl")
    curve.on_train_begin()
    for epoch in range(3):
        curve.on_epoch_begin(epoch)
        curve.on_epoch_end(epoch, {"loss": 3.0 - epoch})
    restarted = provenance.LearningCurve(tmp_path / "curve.jsonl")  # resumes at epoch 1
    restarted.on_train_begin()
    restarted.on_epoch_begin(1)
    restarted.on_epoch_end(1, {"loss": 1.5})
    lines = restarted.read()
    assert [line["epoch"] for line in lines] == [0, 1] and lines[1]["loss"] == 1.5
    assert lines[1]["seconds"] >= lines[0]["seconds"]       # time counts on from the first run


def small_checkpoint(folder, name="tiny"):
    """A saved model and its record as training/provenance.py writes them, in `folder`."""
    import recipes  # noqa: F401  (registers the recipes' layers)
    model = keras.Sequential([keras.Input((None, 2)), keras.layers.RNN(recipes.GRUCell(3)), keras.layers.Dense(1)])
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / f"{name}.keras")
    record = {"file": f"{name}.keras", "file_sha256": provenance.sha256((folder / f"{name}.keras").read_bytes())}
    (folder / f"{name}.json").write_text(json.dumps(record))
    return model


def test_load_checkpoint_finds_the_folder_of_the_environment_and_checks_the_file(tmp_path, monkeypatch):
    import numpy as np

    from recipes.checkpoints import load_checkpoint
    model = small_checkpoint(tmp_path / "elsewhere" / "checkpoints")
    monkeypatch.chdir(tmp_path)  # no data/ above it
    monkeypatch.setenv("RNN_RECIPES_DATA", str(tmp_path / "elsewhere"))
    loaded, record = load_checkpoint("tiny")
    x = np.random.default_rng(0).normal(size=(2, 5, 2)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=0)
    assert record["file"] == "tiny.keras"
    with open(tmp_path / "elsewhere" / "checkpoints" / "tiny.keras", "ab") as f:  # a damaged or stale copy
        f.write(b"\0")
    with pytest.raises(ValueError, match="a stale or damaged copy"):
        load_checkpoint("tiny")


def test_load_checkpoint_finds_data_checkpoints_above_the_working_folder(tmp_path, monkeypatch):
    from recipes.checkpoints import data_file
    small_checkpoint(tmp_path / "data" / "checkpoints")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # a notebook inside the checkout
    monkeypatch.delenv("RNN_RECIPES_DATA", raising=False)
    assert data_file("checkpoints/tiny.keras") == tmp_path / "data" / "checkpoints" / "tiny.keras"


def test_load_checkpoint_refuses_bad_names_and_says_where_it_looked(tmp_path, monkeypatch):
    from recipes.checkpoints import data_file, load_checkpoint
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNN_RECIPES_DATA", str(tmp_path))
    for bad in ["", "data/checkpoints/x", "x.keras", 3]:
        with pytest.raises(ValueError, match="`name` must be a checkpoint's name"):
            load_checkpoint(bad)
    for bad in ["", "/etc/passwd", "../x", None]:
        with pytest.raises(ValueError, match="`relative` must be a path inside data/"):
            data_file(bad)
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_checkpoint("missing")  # offline by default: no download
