"""CTC (recipes/ctc.py): the map B, greedy and beam decoding of hand-built probability matrices,
the loss against a NumPy forward algorithm written from Graves et al. (2006) (itself checked
against a brute-force sum over paths), its gradient against the forward-backward posteriors,
the forced alignment against brute force, the Keras loss object, and bad input."""

import itertools
import math

import keras
import numpy as np
import pytest
from keras import ops

from recipes.ctc import (
    TORCH_BEAM_SEARCH_KERAS,
    CTCLoss,
    ctc_beam_search_decode,
    ctc_best_path,
    ctc_collapse,
    ctc_forced_alignment,
    ctc_greedy_decode,
    ctc_loss,
)
from tests.helpers import gradients, numpy_of

RNG = np.random.default_rng(0)


def softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- NumPy references written from the paper -----------------------------------------------------


def forward_backward(y, labels, blank=0):
    """alpha and beta of Graves et al. (2006), eq. 5-6 and 9-10, in probabilities (small cases).

    beta here excludes frame t's own output, so alpha_t(s) * beta_t(s) is the total probability
    of the paths that are in state s at frame t."""
    ext = [blank]
    for v in labels:
        ext += [v, blank]
    T, S = len(y), len(ext)
    alpha, beta = np.zeros((T, S)), np.zeros((T, S))
    alpha[0, 0] = y[0, blank]
    if S > 1:
        alpha[0, 1] = y[0, ext[1]]
    for t in range(1, T):
        for s in range(S):
            a = alpha[t - 1, s] + (alpha[t - 1, s - 1] if s >= 1 else 0.0)
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                a += alpha[t - 1, s - 2]
            alpha[t, s] = a * y[t, ext[s]]
    beta[T - 1, S - 1] = 1.0
    if S > 1:
        beta[T - 1, S - 2] = 1.0
    for t in range(T - 2, -1, -1):
        for s in range(S):
            b = beta[t + 1, s] * y[t + 1, ext[s]]
            if s + 1 < S:
                b += beta[t + 1, s + 1] * y[t + 1, ext[s + 1]]
            if s + 2 < S and ext[s + 2] != blank and ext[s + 2] != ext[s]:
                b += beta[t + 1, s + 2] * y[t + 1, ext[s + 2]]
            beta[t, s] = b
    p = alpha[T - 1, S - 1] + (alpha[T - 1, S - 2] if S > 1 else 0.0)
    return alpha, beta, p, ext


def reference_loss(logits, labels, blank=0):
    return -math.log(forward_backward(softmax(logits.astype("float64")), labels, blank)[2])


def brute_force_labelling_probs(y, blank=0):
    """p(l | x) for every labelling l, by summing p(pi | x) over all paths pi (eq. 2-3)."""
    probs = {}
    for path in itertools.product(range(y.shape[1]), repeat=len(y)):
        l = tuple(ctc_collapse(path, blank))
        probs[l] = probs.get(l, 0.0) + float(np.prod(y[np.arange(len(y)), path]))
    return probs


class Identity(keras.layers.Layer):
    """u -> u, so that `gradients` returns d loss / d logits."""

    def call(self, inputs, training=False):
        return inputs


def padded(label_lists, width, value=-1):
    return np.array([list(l) + [value] * (width - len(l)) for l in label_lists], dtype="int32")


# --- the map B and greedy decoding ---------------------------------------------------------------


def test_collapse_merges_repeats_then_removes_blanks():
    assert ctc_collapse([1, 1, 0, 2, 2, 0, 2]) == [1, 2, 2]  # a blank keeps two equal labels apart
    assert ctc_collapse([0, 1, 2, 0, 0, 2]) == [1, 2, 2]
    assert ctc_collapse([1, 1, 1]) == [1]
    assert ctc_collapse([0, 0]) == []
    assert ctc_collapse([2, 2, 1, 0, 1], blank_index=2) == [1, 0, 1]


def hand_matrix():
    """7 frames, classes (blank, a, b); the most probable class per frame is a a - b b - b."""
    best = [1, 1, 0, 2, 2, 0, 2]
    y = np.full((7, 3), 0.15)
    y[np.arange(7), best] = 0.7
    return np.log(y)[None].astype("float32"), best


def test_greedy_decoding_collapses_repeats_and_removes_blanks():
    logits, best = hand_matrix()
    assert ctc_greedy_decode(logits) == [[1, 2, 2]]
    assert ctc_greedy_decode(logits, logit_lengths=[4]) == [[1, 2]]  # frames after 4 ignored
    assert ctc_greedy_decode(logits, logit_lengths=[0]) == [[]]
    two = np.concatenate([logits, logits[:, ::-1]])  # second row: b - b b - a a
    assert ctc_greedy_decode(two, logit_lengths=[7, 5]) == [[1, 2, 2], [2, 2]]
    # the blank may be any class: with class 1 as the blank, the same matrix reads b b (0) ...
    assert ctc_greedy_decode(logits, blank_index=1) == [[0, 2, 0, 2]]
    np.testing.assert_array_equal(ctc_best_path(np.exp(logits[0])), best)
    np.testing.assert_array_equal(ctc_best_path(logits[0], length=3, from_logits=True), best[:3])
    assert ctc_collapse(ctc_best_path(np.exp(logits[0]))) == ctc_greedy_decode(logits)[0]


# --- beam search ---------------------------------------------------------------------------------

# Keras before 3.15 has no CTC beam search on PyTorch (make test-oldest runs that case).
KERAS = tuple(int(part) for part in keras.__version__.split(".")[:2])
NO_BEAM_SEARCH = keras.backend.backend() == "torch" and KERAS < TORCH_BEAM_SEARCH_KERAS
needs_beam_search = pytest.mark.skipif(NO_BEAM_SEARCH, reason="PyTorch backend: Keras < 3.15")


@pytest.mark.skipif(not NO_BEAM_SEARCH, reason="only on the PyTorch backend with Keras < 3.15")
def test_beam_search_without_keras_support_says_which_keras_it_needs():
    logits = np.log(np.array([[[0.6, 0.4], [0.6, 0.4]]], "float32"))
    with pytest.raises(NotImplementedError, match=r"PyTorch backend needs Keras 3\.15 or newer"):
        ctc_beam_search_decode(logits)
    assert ctc_greedy_decode(logits) == [[]]  # greedy decoding works on any Keras



@needs_beam_search
def test_beam_search_finds_the_labelling_greedy_misses():
    # Two frames, classes (blank, a), y = (0.6, 0.4) at both. By hand:
    # greedy takes "- -" -> the empty labelling, p = 0.6 * 0.6 = 0.36;
    # "a" has three paths, a a, a -, - a: p = 0.16 + 0.24 + 0.24 = 0.64 > 0.36.
    logits = np.log(np.array([[[0.6, 0.4], [0.6, 0.4]]], "float32"))
    assert ctc_greedy_decode(logits) == [[]]
    labellings, log_probs = ctc_beam_search_decode(logits, beam_width=4, top_paths=2)
    assert labellings == [[[1], []]]
    np.testing.assert_allclose(np.exp(log_probs), [[0.64, 0.36]], atol=1e-5)
    assert math.isclose(float(numpy_of(ctc_loss([[1]], logits))[0]), -math.log(0.64), rel_tol=1e-5)


@needs_beam_search
def test_beam_search_with_a_wide_beam_matches_brute_force():
    # 4 frames, 2 labels: 31 labellings of length <= 4, so 32 beams keep every prefix
    logits = RNG.normal(scale=1.5, size=(6, 4, 3)).astype("float32")
    labellings, log_probs = ctc_beam_search_decode(logits, beam_width=32, top_paths=3)
    for b in range(6):
        probs = brute_force_labelling_probs(softmax(logits[b].astype("float64")))
        ranked = sorted(probs, key=probs.get, reverse=True)
        assert [tuple(l) for l in labellings[b]] == ranked[:3]
        np.testing.assert_allclose(np.exp(log_probs[b]), [probs[l] for l in ranked[:3]], rtol=1e-4)


@needs_beam_search
def test_beam_search_respects_lengths():
    logits, _ = hand_matrix()
    labellings, _ = ctc_beam_search_decode(np.concatenate([logits, logits]), logit_lengths=[7, 4])
    probs_short = brute_force_labelling_probs(np.exp(logits[0, :4].astype("float64")))
    assert labellings[1][0] == list(max(probs_short, key=probs_short.get))
    assert len(labellings) == 2 and all(len(row) == 1 for row in labellings)


# --- the loss ------------------------------------------------------------------------------------


def test_numpy_reference_equals_brute_force_sum_over_paths():
    for labels in [[1], [1, 2], [2, 2], [1, 1, 2]]:
        y = softmax(RNG.normal(size=(5, 3)))
        probs = brute_force_labelling_probs(y)
        assert math.isclose(forward_backward(y, labels)[2], probs.get(tuple(labels), 0.0), rel_tol=1e-9)


@pytest.mark.parametrize("blank", [0, 3])
def test_loss_equals_numpy_forward_algorithm(blank):
    rng = np.random.default_rng(blank)
    classes, frames = 5, 12
    others = [k for k in range(classes) if k != blank]
    label_lists = [[others[0], others[0], others[2]], [others[1]], [others[3], others[2], others[2], others[1]], []]
    labels = padded(label_lists, 5)
    logits = rng.normal(size=(4, frames, classes)).astype("float32")
    logit_lengths = np.array([12, 7, 10, 5], "int32")
    got = numpy_of(ctc_loss(labels, logits, logit_lengths=logit_lengths, blank_index=blank))
    want = [reference_loss(logits[b, :n], l, blank) for b, (l, n) in enumerate(zip(label_lists, logit_lengths))]
    np.testing.assert_allclose(got, want, rtol=1e-4)
    # explicit label lengths read only that many labels, whatever the padding holds
    junk = np.where(labels == -1, others[0], labels)
    got_explicit = numpy_of(
        ctc_loss(junk, logits, label_lengths=[3, 1, 4, 0], logit_lengths=logit_lengths, blank_index=blank)
    )
    np.testing.assert_allclose(got_explicit, want, rtol=1e-4)


def test_loss_gradient_is_softmax_minus_forward_backward_posteriors():
    # Graves et al. (2006), eq. 16: d(-ln p) / d u^t_k = y^t_k - (1 / p) sum_{s: l'_s = k} alpha_t(s) beta_t(s).
    label_lists = [[1, 2, 2], [3, 1]]
    labels = padded(label_lists, 3)
    logits = RNG.normal(size=(2, 8, 4)).astype("float32")
    identity = Identity()
    identity.build(logits.shape)
    _, grad = gradients(
        identity, logits, lambda u: ops.sum(ctc_loss(labels, u, logit_lengths=[8, 6]))
    )
    for b, (l, n) in enumerate(zip(label_lists, [8, 6])):
        y = softmax(logits[b, :n].astype("float64"))
        alpha, beta, p, ext = forward_backward(y, l)
        gamma = np.zeros_like(y)
        for s, k in enumerate(ext):
            gamma[:, k] += alpha[:, s] * beta[:, s] / p
        np.testing.assert_allclose(gamma.sum(axis=1), 1.0, rtol=1e-9)  # one state per frame
        np.testing.assert_allclose(grad[b, :n], y - gamma, atol=1e-4)
        np.testing.assert_allclose(grad[b, n:], 0.0, atol=1e-7)  # frames past the length


def test_ctc_loss_object_reduces_saves_and_trains(tmp_path):
    labels = padded([[1, 2], [2], [1, 1, 2]], 3)
    logits = RNG.normal(size=(3, 6, 3)).astype("float32")
    per_row = numpy_of(ctc_loss(labels, logits))
    assert math.isclose(float(numpy_of(CTCLoss()(labels, logits))), per_row.mean(), rel_tol=1e-5)
    assert math.isclose(float(numpy_of(CTCLoss(reduction="sum")(labels, logits))), per_row.sum(), rel_tol=1e-5)
    restored = keras.losses.deserialize(keras.losses.serialize(CTCLoss(blank_index=2, padding_value=0)))
    assert isinstance(restored, CTCLoss) and (restored.blank_index, restored.padding_value) == (2, 0)

    inputs = keras.Input((None, 16))  # any number of frames; 16 features make 6 frames separable
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=CTCLoss())
    x = RNG.normal(size=(3, 6, 16)).astype("float32")
    before = model.evaluate(x, labels, verbose=0)
    model.fit(np.tile(x, (60, 1, 1)), np.tile(labels, (60, 1)), epochs=1, batch_size=3, verbose=0)
    assert model.evaluate(x, labels, verbose=0) < 0.5 * before
    assert ctc_greedy_decode(model.predict(x, verbose=0)) == [[1, 2], [2], [1, 1, 2]]
    path = tmp_path / "ctc.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.loss, CTCLoss)
    np.testing.assert_allclose(loaded.evaluate(x, labels, verbose=0), model.evaluate(x, labels, verbose=0), rtol=1e-5)


# --- forced alignment ----------------------------------------------------------------------------


def test_forced_alignment_is_the_best_path_that_spells_the_labels():
    y = np.array([[0.1, 0.9, 0.0], [0.6, 0.3, 0.1], [0.2, 0.1, 0.7]])
    path, log_prob = ctc_forced_alignment(y, [1, 2])
    np.testing.assert_array_equal(path, [1, 0, 2])  # by hand: 0.9 * 0.6 * 0.7 beats a a b, a b b
    assert math.isclose(log_prob, math.log(0.9 * 0.6 * 0.7))
    for seed in range(3):
        y = softmax(np.random.default_rng(seed).normal(size=(6, 3)))
        for labels in ([1, 2], [2, 2], [1]):
            path, log_prob = ctc_forced_alignment(y, labels)
            paths = [p for p in itertools.product(range(3), repeat=6) if ctc_collapse(p) == labels]
            best = max(paths, key=lambda p: np.prod(y[np.arange(6), p]))
            np.testing.assert_array_equal(path, best)
            assert ctc_collapse(path) == labels
            assert math.isclose(log_prob, math.log(np.prod(y[np.arange(6), best])), rel_tol=1e-9)


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_raises_value_errors_naming_the_argument():
    logits = np.zeros((2, 5, 3), "float32")
    labels = padded([[1], [2]], 2)
    with pytest.raises(ValueError, match="`logits`"):
        ctc_loss(labels, logits[0])
    with pytest.raises(ValueError, match="`labels`"):
        ctc_loss(labels[0], logits)
    with pytest.raises(ValueError, match="`labels` and `logits`"):
        ctc_loss(labels[:1], logits)
    with pytest.raises(ValueError, match="`blank_index`"):
        ctc_loss(labels, logits, blank_index=3)
    with pytest.raises(ValueError, match="`blank_index`"):
        CTCLoss(blank_index=-1)
    with pytest.raises(ValueError, match="`padding_value`"):
        CTCLoss(padding_value=0.5)
    with pytest.raises(ValueError, match="`logit_lengths`"):
        ctc_loss(labels, logits, logit_lengths=[5, 5, 5])
    with pytest.raises(ValueError, match="`logit_lengths`"):
        ctc_greedy_decode(logits, logit_lengths=[5, 6])
    with pytest.raises(ValueError, match="`beam_width`"):
        ctc_beam_search_decode(logits, beam_width=0)
    with pytest.raises(ValueError, match="`top_paths`"):
        ctc_beam_search_decode(logits, beam_width=2, top_paths=3)
    with pytest.raises(ValueError, match="`labels`"):
        ctc_forced_alignment(np.full((4, 3), 1 / 3), [1, 0])  # the blank is not a label
    with pytest.raises(ValueError, match="No path"):
        ctc_forced_alignment(np.full((2, 3), 1 / 3), [1, 1])  # a a needs 3 frames (a - a)
    with pytest.raises(ValueError, match="`posteriors`"):
        ctc_best_path(np.full((2, 3), -1.0))
    with pytest.raises(ValueError, match="`length`"):
        ctc_best_path(np.full((2, 3), 1 / 3), length=3)


@pytest.mark.parametrize(
    "labels, kwargs, match",
    [
        # Before the check these gave a number: the blank as a label, a class that does not exist
        # (a negative loss on TensorFlow and JAX), padding inside a row, lengths past the row.
        ([[1, 0, 2], [1, 2, -1]], {}, r"`labels` must be class indices in \[0, 3\) other than the blank"),
        ([[1, 3, -1], [1, 2, -1]], {}, r"`labels` must be class indices in \[0, 3\)"),
        ([[1, 2, -1], [2, -1, -1]], {"blank_index": 2}, r"other than the blank \(`blank_index` = 2\)"),
        ([[1, -1, 2], [1, 2, -1]], {}, r"`labels`: each row must hold its labels first"),
        ([[1.5, 2, -1], [1, 2, -1]], {}, r"`labels` must be integers"),
        ([[1, 2, -1], [1, 2, -1]], {"label_lengths": [3, 2]}, r"`labels` must be class indices"),
        ([[1, 2, -1], [1, 2, -1]], {"label_lengths": [4, 2]}, r"`label_lengths` must have shape \(2,\) and values in \[0, 3\]"),
        ([[1, 2, -1], [1, 2, -1]], {"label_lengths": [-1, 2]}, r"`label_lengths`"),
        ([[1, 2, -1], [1, 2, -1]], {"logit_lengths": [-2, 6]}, r"`logit_lengths` must be in \[0, 6\]"),
    ],
)
def test_ctc_loss_rejects_labels_it_cannot_score(labels, kwargs, match):
    logits = RNG.normal(size=(2, 6, 3)).astype("float32")
    with pytest.raises(ValueError, match=match):
        ctc_loss(np.array(labels), logits, **kwargs)
    with pytest.raises(ValueError, match=match):  # eager backend tensors are checked too
        ctc_loss(ops.convert_to_tensor(np.array(labels)), ops.convert_to_tensor(logits), **kwargs)


def test_ctc_loss_of_a_bad_row_is_nan_inside_a_traced_function():
    # model.evaluate traces the loss on TensorFlow and JAX, where the labels have no values to
    # check: the bad row's loss is NaN there (before: a finite, even negative, number). PyTorch
    # runs eagerly and raises.
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.Dense(3)])
    model.compile(loss=CTCLoss())
    x = RNG.normal(size=(2, 6, 2)).astype("float32")
    good = np.array([[1, 2, -1], [2, 2, 1]])
    assert np.isfinite(model.evaluate(x, good, verbose=0))
    for bad in ([[1, 3, -1], [2, 2, 1]], [[1, 0, -1], [2, 2, 1]]):
        if keras.backend.backend() == "torch":
            with pytest.raises(ValueError, match="`labels` must be class indices"):
                model.evaluate(x, np.array(bad), verbose=0)
        else:
            assert np.isnan(model.evaluate(x, np.array(bad), verbose=0))
