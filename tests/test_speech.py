"""Offline speech (recipes/speech.py): eSpeak NG synthesis is deterministic under a seed and
follows its parameters; bad input; the optional TFDS path on mock data (TensorFlow only)."""

import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from recipes.speech import ESpeakNG, spoken_digit_tfds


SYNTHESISE = """
import hashlib, importlib.util, sys
spec = importlib.util.spec_from_file_location("speech", sys.argv[1])
speech = importlib.util.module_from_spec(spec); spec.loader.exec_module(speech)
tts = speech.ESpeakNG(seed=int(sys.argv[2]))
for voice in ["en-us+f3", "en-gb-scotland+m3", "en-us+f3"]:
    print(hashlib.sha256(tts.synthesise("four one seven", voice=voice, rate=170).tobytes()).hexdigest())
"""


def test_synthesis_is_identical_in_a_fresh_process_with_the_same_seed_and_calls():
    module = str(pathlib.Path(__file__).parents[1] / "recipes" / "speech.py")
    runs = [
        subprocess.run([sys.executable, "-c", SYNTHESISE, module, "3"], capture_output=True, text=True, check=True)
        .stdout.split()
        for _ in range(2)
    ]
    assert len(runs[0]) == 3 and runs[0] == runs[1]


def test_synthesis_follows_its_parameters():
    tts = ESpeakNG(seed=3)
    assert tts.sample_rate == 22050
    first = [tts.synthesise("four one seven", voice="en-us+f3", rate=170, pitch=60)]
    for a in first:
        assert a.dtype == np.float32 and 0.5 < len(a) / tts.sample_rate < 2.0
        assert 0.01 < np.abs(a).max() <= 1.0
    slow = tts.synthesise("four one seven", voice="en-us+f3", rate=100, pitch=60)
    fast = tts.synthesise("four one seven", voice="en-us+f3", rate=300, pitch=60)
    assert len(slow) > 1.5 * len(fast)  # rate is words per minute
    other = tts.synthesise("four one seven", voice="en-us+m7", rate=170, pitch=60)
    assert len(other) != len(first[0]) or not np.array_equal(other, first[0])
    assert {"f3", "m7", "Andy"} <= set(tts.variants())


def test_bad_input_raises_value_errors_naming_the_argument():
    tts = ESpeakNG()
    with pytest.raises(ValueError, match="`seed`"):
        ESpeakNG(seed=-1)
    with pytest.raises(ValueError, match="`text`"):
        tts.synthesise("  ")
    with pytest.raises(ValueError, match="`voice`"):
        tts.synthesise("one", voice="no-such-voice+zz")
    with pytest.raises(ValueError, match="`rate`"):
        tts.synthesise("one", rate=10)
    with pytest.raises(ValueError, match="`pitch`"):
        tts.synthesise("one", pitch=120)
    with pytest.raises(ValueError, match="`pitch_range`"):
        tts.synthesise("one", pitch_range=-1)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TFDS path, TensorFlow backend only")
def test_spoken_digit_tfds_reads_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=4, policy=tfds.testing.MockPolicy.USE_CODE):
        clips, labels, speakers = spoken_digit_tfds()
    assert len(clips) == len(labels) == len(speakers) == 4
    assert all(c.dtype == np.float32 and c.ndim == 1 for c in clips)
    assert labels.dtype == np.int64 and set(labels.tolist()) <= set(range(10))


def test_fsdd_mfcc_reads_the_real_recordings_and_checks_the_file(tmp_path):
    from pathlib import Path

    from recipes.speech import fsdd_mfcc
    path = Path(__file__).resolve().parents[1] / "data" / "fsdd" / "digits_mfcc.npz"
    sequences, labels = fsdd_mfcc(path)
    assert len(sequences) == len(labels) == 3000
    assert np.array_equal(np.bincount(labels), np.full(10, 300))  # 6 speakers x 50 takes of each digit
    assert all(s.dtype == np.float32 and s.shape[1] == 13 for s in sequences)
    assert sum(len(s) for s in sequences) == 53999 and min(map(len, sequences)) == 6
    assert all(np.isfinite(s).all() and np.abs(s).sum(axis=1).min() > 0 for s in sequences)  # no all-zero frame
    damaged = tmp_path / "digits_mfcc.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte changed
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="`path` must be the FSDD MFCC file"):
        fsdd_mfcc(damaged)
