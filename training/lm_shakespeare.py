"""Notebook 03 at full scale: a character-level GRU language model on all 26 training plays.

The notebook trains networks of about 95k weights on 9 plays for one pass (3 minutes on 2 cores);
here a GRU of 512 units reads all 26 training plays for several passes, with truncated BPTT on
stateful streams exactly as in the notebook, and is measured on the notebook's own test slice
(the first 10,667 characters of each of the 6 held-out test plays, 64,000 targets) against the
Kneser-Ney 5-gram fitted on the same 26 plays.

    python training/lm_shakespeare.py                    # about 1 hour on 2 CPU cores
    python training/lm_shakespeare.py --epochs 1 --units 64 --name lm_smoke   # a quick check

Resumable: run the same command again after an interruption; it continues from the last
finished epoch (`keras.callbacks.BackupAndRestore` in --work). Writes
data/checkpoints/NAME.keras and NAME.json (see provenance.py).
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
from recipes.datasets import shakespeare_split  # noqa: E402
from recipes.text import CharVocabulary, bits_per_character, stateful_batches, target_log_probs  # noqa: E402
from training import provenance  # noqa: E402

TEST_STREAMS = 32  # the notebook reads its test slice as 32 streams of 2,000 characters


def texts():
    """The notebook's split: all 26 training plays, the 6 validation plays, the test slice."""
    split = shakespeare_split()
    train = "".join(p.text for p in split["train"])
    validation = "".join(p.text for p in split["validation"])
    test_slice = "".join(p.text[:10_667] for p in split["test"])[:64_001]
    return train, validation, test_slice


def language_model(vocabulary_size, units, dropout, batch_shape=None):
    """Embedding -> GRU (recipes.GRUCell) -> dropout -> logits of the next character.

    With `batch_shape` the GRU is stateful (training by truncated BPTT); without it the model reads
    sequences of any length from zero states (evaluation, generation).
    """
    stateful = batch_shape is not None
    return keras.Sequential([
        keras.Input(batch_shape=batch_shape) if stateful else keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(vocabulary_size, 64),
        keras.layers.RNN(recipes.GRUCell(units), return_sequences=True, stateful=stateful),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(vocabulary_size),
    ], name="char_gru")


def stream_log_probs(model, ids, streams=TEST_STREAMS):
    """log p of every target when `ids` is read as `streams` contiguous streams from zero states.

    The same numbers as notebook 03's `slice_log_probs` (stateful windows carry the state, so a
    stream read window by window equals the stream read at once).
    """
    n = (len(ids) - 1) // streams * streams
    x, y = ids[:n].reshape(streams, -1), ids[1 : n + 1].reshape(streams, -1)
    logits = model.predict(x, batch_size=streams, verbose=0)
    return keras.ops.convert_to_numpy(target_log_probs(logits, y)).ravel()


def evaluate(model, vocabulary, test_slice):
    """Bits per character on the notebook's test slice."""
    return bits_per_character(stream_log_probs(model, vocabulary.encode(test_slice)))


def reevaluate(model, record):
    """The checkpoint's metric again, on the same test slice (tests/test_checkpoints.py)."""
    test_slice = texts()[2]
    if provenance.sha256(test_slice) != record["data"]["test_slice_sha256"]:
        raise ValueError("the test slice differs from the one the checkpoint was measured on")
    return evaluate(model, CharVocabulary.from_config(record["vocabulary"]), test_slice)


class ResetStates(keras.callbacks.Callback):
    """Zero states at the start of every pass; validate from zero states (as in notebook 03)."""

    def rnns(self):
        return [layer for layer in self.model.layers if getattr(layer, "stateful", False)]

    def on_epoch_begin(self, epoch, logs=None):
        for layer in self.rnns():
            layer.reset_state()

    on_test_begin = on_epoch_begin


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="lm_shakespeare_gru")
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--batch", type=int, default=64)     # streams
    parser.add_argument("--window", type=int, default=100)   # truncation length T
    parser.add_argument("--epochs", type=int, default=10)    # passes over the 26 plays
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default=os.environ.get("RNN_RECIPES_TRAINING", "/tmp/rnn-recipes-training"))
    args = parser.parse_args()
    commit, script_sha = provenance.committed_script(__file__)
    started = time.perf_counter()

    train, validation, test_slice = texts()
    vocabulary = CharVocabulary.from_text(train)
    ids = {k: vocabulary.encode(t) for k, t in [("train", train), ("validation", validation)]}
    x_train, y_train = stateful_batches(ids["train"], args.batch, args.window)
    x_valid, y_valid = stateful_batches(ids["validation"], args.batch, args.window)
    steps = len(x_train) // args.batch
    print(f"{len(train):,} training characters, {steps} updates per pass, vocabulary {vocabulary.size}", flush=True)

    keras.utils.set_random_seed(args.seed)
    model = language_model(vocabulary.size, args.units, args.dropout, batch_shape=(args.batch, args.window))
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=args.epochs * steps)
    model.compile(keras.optimizers.Adam(schedule, clipnorm=1.0),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    work = Path(args.work) / args.name
    work.mkdir(parents=True, exist_ok=True)
    curve = provenance.LearningCurve(work / "curve.jsonl")
    model.fit(x_train, y_train, batch_size=args.batch, epochs=args.epochs, shuffle=False,
              validation_data=(x_valid, y_valid), validation_batch_size=args.batch, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(work / "backup"), ResetStates(),
                         keras.callbacks.ModelCheckpoint(work / "epoch-{epoch:02d}.weights.h5", save_weights_only=True),
                         curve])

    lines = curve.read()
    best = int(np.argmin([line["val_loss"] for line in lines])) + 1  # the lowest validation loss
    model.load_weights(work / f"epoch-{best:02d}.weights.h5")
    final = language_model(vocabulary.size, args.units, args.dropout)
    final.set_weights(model.get_weights())
    bits = evaluate(final, vocabulary, test_slice)
    record = {
        "name": args.name, "notebook": "03_language_modeling", "script": "training/lm_shakespeare.py",
        "command": "python " + " ".join(["training/lm_shakespeare.py", *sys.argv[1:]]),
        "commit": commit, "script_sha256": script_sha, "arguments": vars(args) | {"work": None},
        "data": {"train_sha256": provenance.sha256(train), "validation_sha256": provenance.sha256(validation),
                 "test_slice_sha256": provenance.sha256(test_slice), "train_characters": len(train)},
        "vocabulary": vocabulary.get_config(), "weights": final.count_params(),
        "machine": provenance.machine(), "training_seconds": lines[-1]["seconds"],
        "wall_seconds_of_last_run": round(time.perf_counter() - started),
        "curve": {"epoch": [l["epoch"] + 1 for l in lines], "seconds": [l["seconds"] for l in lines],
                  "train_bits": [l["loss"] / np.log(2) for l in lines],
                  "validation_bits": [l["val_loss"] / np.log(2) for l in lines]},
        "best_epoch": best,
        "metric": "test_bits_per_character", "value": round(float(bits), 4),
    }
    provenance.write_checkpoint(args.name, final, record)
    print(json.dumps({k: record[k] for k in ("metric", "value", "best_epoch", "training_seconds")}))


if __name__ == "__main__":
    main()
