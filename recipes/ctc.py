"""Connectionist temporal classification (CTC): a loss and decoders for unsegmented sequences.

A recurrent network reads T frames (audio, handwriting) and emits, at every frame t, a
distribution y^t over the K labels plus one extra label, the blank. A *path* pi is one label
per frame; the many-to-one map B removes repeated labels, then blanks, so
B(a a - b - b b) = B(- a b - - b) = "a b b" (a blank between two equal labels keeps both).
The probability of a labelling l is the sum over every path that B maps to it (Graves et al.
2006, equations 2-3):

    p(pi | x) = prod_t y^t_{pi_t}
    p(l | x)  = sum_{pi in B^{-1}(l)} p(pi | x)
    loss      = -ln p(l | x)

The sum is computed by the forward algorithm over the extended labelling l' (a blank before,
between and after the labels of l, length 2|l| + 1), with alpha_1(1) = y^1_blank,
alpha_1(2) = y^1_{l_1} and

    alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1)) y^t_{l'_s}                 if l'_s = blank or l'_s = l'_{s-2}
    alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1) + alpha_{t-1}(s-2)) y^t_{l'_s}  otherwise
    p(l | x)   = alpha_T(|l'|) + alpha_T(|l'| - 1)

Keras 3 ships the loss and the decoders on every backend (`keras.ops.ctc_loss`,
`keras.ops.ctc_decode`); this module fixes their conventions and returns plain Python lists:

- blank: `blank_index`, default 0, so the real labels are 1..K (Keras's default `mask_index=0`);
  a label equal to the blank index is not allowed in a target.
- logits: (batch, frames, K + 1) unnormalised scores; the softmax over the last axis is applied
  inside the loss and the decoders (passing log-probabilities is the same, log-softmax is
  idempotent).
- padded labels: (batch, max_label_length) integers, each row's labels first, then
  `padding_value` (default -1) up to the row's end; label lengths are counted from it unless
  given. Frames beyond a row's `logit_lengths` are ignored (default: every frame counts).

Decoding: best-path (greedy) decoding takes the most probable label at each frame and applies B;
it is not the most probable labelling, because p(l | x) sums many paths. Prefix beam search
keeps the `beam_width` most probable labellings (summing their paths) and can find a labelling
greedy misses (Graves et al. 2006, section 3.2; tested on a hand-built case).

Reference: A. Graves, S. Fernandez, F. Gomez and J. Schmidhuber (2006), "Connectionist temporal
classification: labelling unsegmented sequence data with recurrent neural networks", ICML.

Shared helper: `recipes/base.py` (argument checks).
"""

import keras
import numpy as np
from keras import ops

from recipes.base import check_positive_int, concrete, integer_sequence


# Keras added beam search to `keras.ops.ctc_decode` on the PyTorch backend in 3.15; before, it
# raised NotImplementedError there (TensorFlow and JAX have it in every Keras we support).
TORCH_BEAM_SEARCH_KERAS = (3, 15)


def _keras_version():
    return tuple(int(part) for part in keras.__version__.split(".")[:2])


def _check_index(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"`{name}` must be an integer >= 0, got {value!r}.")
    return int(value)


def _check_logits(logits, blank_index, name="logits"):
    shape = tuple(logits.shape)
    if len(shape) != 3:
        raise ValueError(
            f"`{name}` must have shape (batch, frames, classes), got a tensor of shape {shape}."
        )
    if shape[1] is not None and shape[1] < 1:
        raise ValueError(f"`{name}` must have at least one frame, got shape {shape}.")
    if shape[-1] is not None and not 0 <= blank_index < shape[-1]:
        raise ValueError(
            f"`blank_index` must be in [0, {shape[-1]}) for {shape[-1]} classes, got {blank_index}."
        )
    return shape


def _lengths_or_full(lengths, batch, full, name):
    """Per-row lengths as an int32 tensor: `lengths` checked against (batch,), or `full` each."""
    if lengths is None:
        return ops.full((batch,), full, dtype="int32")
    lengths = ops.cast(ops.convert_to_tensor(lengths), "int32")
    shape = tuple(lengths.shape)
    if len(shape) != 1 or (isinstance(batch, int) and shape[0] not in (None, batch)):
        raise ValueError(f"`{name}` must have shape ({batch},), got {shape}.")
    return lengths


def ctc_loss(labels, logits, label_lengths=None, logit_lengths=None, blank_index=0, padding_value=-1):
    """-ln p(l | x) for every row of a batch (Graves et al. 2006), see the module docstring.

    Args:
        labels: (batch, max_label_length) integer labels in [0, classes), never `blank_index`,
            each row padded at its end with `padding_value`.
        logits: (batch, frames, classes) unnormalised scores (log-softmax is applied inside).
        label_lengths: (batch,) number of labels per row; default: entries != `padding_value`.
        logit_lengths: (batch,) number of valid frames per row; default: all `frames`.
        blank_index: the class index of the blank.
        padding_value: the value that pads `labels`.

    Returns:
        (batch,) float tensor of negative log-likelihoods; +inf (or a very large number,
        depending on the backend) where no path fits, i.e. when a row needs more frames than it
        has (|l| plus one per pair of equal neighbours).

    NaN logits give a NaN loss (the loss is computed inside a model, as any Keras loss).

    Raises:
        ValueError: for a label equal to `blank_index` or outside [0, classes), padding before
            a row's last label, non-integer labels, or lengths out of range. These checks read
            the values, so they run when the values exist: NumPy arrays, eager tensors (a direct
            call, `model.fit` on PyTorch). Inside a traced function (`model.fit` on TensorFlow
            and JAX, `tf.function`, `jax.jit`) they cannot, and the loss of such a row is NaN
            instead (the backends' own loss would be a wrong, even negative, number).

    Example:
        >>> logits = np.zeros((2, 6, 4), "float32")
        >>> ctc_loss(np.array([[1, 2, -1], [3, 3, 1]]), logits).shape
        (2,)
    """
    blank_index = _check_index("blank_index", blank_index)
    if isinstance(padding_value, bool) or not isinstance(padding_value, (int, np.integer)):
        raise ValueError(f"`padding_value` must be an integer, got {padding_value!r}.")
    logits = ops.convert_to_tensor(logits)
    if not str(logits.dtype).startswith(("float", "bfloat")):
        logits = ops.cast(logits, "float32")
    labels = ops.convert_to_tensor(labels)
    batch, frames, _ = _check_logits(logits, blank_index)
    if len(labels.shape) != 2:
        raise ValueError(
            f"`labels` must have shape (batch, max_label_length), got {tuple(labels.shape)}."
        )
    if None not in (labels.shape[0], batch) and labels.shape[0] != batch:
        raise ValueError(
            f"`labels` and `logits` must have the same batch size, got {labels.shape[0]} and {batch}."
        )
    _check_label_values(labels, label_lengths, logit_lengths, tuple(logits.shape), blank_index,
                        padding_value)
    labels = ops.cast(labels, "int32")
    is_label = ops.not_equal(labels, padding_value)
    classes = ops.shape(logits)[2]
    batch = ops.shape(logits)[0] if batch is None else batch  # symbolic batch or frames in a
    frames = ops.shape(logits)[1] if frames is None else frames  # traced model: use the tensors
    if label_lengths is None:
        label_lengths = ops.sum(ops.cast(is_label, "int32"), axis=1)
    label_lengths = _lengths_or_full(label_lengths, batch, 0, "label_lengths")
    logit_lengths = _lengths_or_full(logit_lengths, batch, frames, "logit_lengths")
    # What `_check_label_values` cannot see inside a traced function: a row whose labels or
    # lengths are out of range (the backends would return a wrong, even negative, number).
    positions = ops.expand_dims(ops.arange(ops.shape(labels)[1], dtype="int32"), 0)
    in_row = positions < ops.expand_dims(label_lengths, 1)
    bad_label = _any_of(labels < 0, labels >= classes, ops.equal(labels, blank_index))
    invalid = _any_of(
        ops.any(ops.logical_and(in_row, bad_label), axis=1),
        label_lengths < 0, label_lengths > ops.shape(labels)[1],
        logit_lengths < 0, logit_lengths > frames,
    )
    # The backends read only the first label_lengths entries of a row, but some index with the
    # padding too (one-hot, gather): give them a valid class there.
    usable = ops.logical_and(is_label, ops.logical_not(bad_label))
    labels = ops.where(usable, labels, ops.zeros_like(labels) + blank_index)
    loss = ops.ctc_loss(labels, logits, label_lengths, logit_lengths, mask_index=blank_index)
    return ops.where(invalid, ops.full_like(loss, float("nan")), loss)


def _any_of(*conditions):
    result = conditions[0]
    for condition in conditions[1:]:
        result = ops.logical_or(result, condition)
    return result


def _check_label_values(labels, label_lengths, logit_lengths, logits_shape, blank_index,
                        padding_value):
    """The checks of `ctc_loss` that need values: they run when the values exist (NumPy data,
    eager tensors) and are skipped inside a traced function, where `ctc_loss` returns NaN for
    such a row instead."""
    batch, frames, classes = logits_shape
    values = concrete(labels)
    if values is None:
        return
    if values.dtype.kind not in "iub" and not np.all(values == np.round(values)):
        raise ValueError(f"`labels` must be integers, got {values.dtype} values {values.tolist()}.")
    is_label = values != padding_value
    width = values.shape[1]
    lengths = None if label_lengths is not None else is_label.sum(axis=1)
    if lengths is not None and np.any(is_label != (np.arange(width) < lengths[:, None])):
        row = int(np.flatnonzero(np.any(is_label != (np.arange(width) < lengths[:, None]), 1))[0])
        raise ValueError(
            f"`labels`: each row must hold its labels first, then only `padding_value` "
            f"({padding_value}); row {row} is {values[row].tolist()}."
        )
    if lengths is None:
        lengths = concrete(label_lengths)
        if lengths is None:
            return
        lengths = lengths.astype("int64").reshape(-1)
        if lengths.shape != (len(values),) or lengths.min(initial=0) < 0 or lengths.max(initial=0) > width:
            raise ValueError(
                f"`label_lengths` must have shape ({len(values)},) and values in [0, {width}] (the "
                f"width of `labels`), got {lengths.tolist()}."
            )
    in_row = np.arange(width) < lengths[:, None]
    upper = classes if classes is not None else np.inf
    bad = in_row & ((values < 0) | (values >= upper) | (values == blank_index))
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(
            f"`labels` must be class indices in [0, {classes}) other than the blank "
            f"(`blank_index` = {blank_index}), followed by `padding_value` ({padding_value}); "
            f"row {row} is {values[row].tolist()}."
        )
    lengths = concrete(logit_lengths) if logit_lengths is not None else None
    if lengths is not None and frames is not None and (
        lengths.min(initial=0) < 0 or lengths.max(initial=0) > frames
    ):
        raise ValueError(
            f"`logit_lengths` must be in [0, {frames}] (the frames of `logits`), got "
            f"{lengths.reshape(-1).tolist()}."
        )


@keras.saving.register_keras_serializable(package="recipes")
class CTCLoss(keras.losses.Loss):
    """The CTC loss -ln p(l | x) as a Keras loss, for `model.compile(loss=CTCLoss())`.

    `y_true` holds the padded labels (batch, max_label_length), each row's labels followed by
    `padding_value`; `y_pred` the logits (batch, frames, classes). Every frame of `y_pred` is
    used: pad inputs with what the blank should absorb (silence, background), or call
    `ctc_loss` with `logit_lengths` in a custom training step. Equations and conventions: see
    the module docstring (Graves et al. 2006).

    Args:
        blank_index: the class index of the blank (default 0: labels are 1..K).
        padding_value: the value that pads the rows of `y_true` (default -1).
        reduction, name, dtype: as for any `keras.losses.Loss`.

    Example:
        >>> model.compile(optimizer="adam", loss=CTCLoss())
        >>> model.fit(features, padded_labels)  # labels in 1..K, padded with -1
        >>> CTCLoss()(np.array([[1, 2, -1]]), np.zeros((1, 5, 3), "float32"))
    """

    def __init__(self, blank_index=0, padding_value=-1, reduction="sum_over_batch_size",
                 name="ctc_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.blank_index = _check_index("blank_index", blank_index)
        if isinstance(padding_value, bool) or not isinstance(padding_value, (int, np.integer)):
            raise ValueError(f"`padding_value` must be an integer, got {padding_value!r}.")
        self.padding_value = int(padding_value)

    def call(self, y_true, y_pred):
        # Loss.__call__ casts y_true to the loss dtype; small integers survive the round trip.
        return ctc_loss(
            ops.cast(ops.round(y_true), "int32"),
            y_pred,
            blank_index=self.blank_index,
            padding_value=self.padding_value,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "blank_index": self.blank_index,
            "padding_value": self.padding_value,
        }


def _decode_inputs(logits, logit_lengths, blank_index):
    """NumPy-checked logits and lengths for the decoders (which run eagerly)."""
    blank_index = _check_index("blank_index", blank_index)
    logits = ops.convert_to_tensor(logits)
    if not str(logits.dtype).startswith(("float", "bfloat")):
        logits = ops.cast(logits, "float32")
    batch, frames, _ = _check_logits(logits, blank_index)
    values = concrete(logits)
    if values is not None and np.isnan(values).any():
        raise ValueError("`logits` must not hold NaN.")
    if logit_lengths is None:
        lengths = np.full((batch,), frames, dtype="int32")
    else:
        lengths = np.asarray(ops.convert_to_numpy(logit_lengths)).astype("int64")
        if lengths.shape != (batch,) or lengths.min(initial=0) < 0 or lengths.max(initial=0) > frames:
            raise ValueError(
                f"`logit_lengths` must have shape ({batch},) and values in [0, {frames}], "
                f"got shape {lengths.shape} and values {lengths.tolist()}."
            )
        lengths = lengths.astype("int32")
    return logits, lengths, blank_index


def _label_lists(decoded):
    """(batch, max_length) with -1 after the labels -> list of lists of ints."""
    decoded = np.asarray(ops.convert_to_numpy(decoded))
    return [[int(v) for v in row if v >= 0] for row in decoded]


def ctc_greedy_decode(logits, logit_lengths=None, blank_index=0):
    """Best-path decoding: B(argmax_k y^t_k for each frame t), the labelling of the best path.

    Repeats are merged, then blanks removed (the map B). Fast, and usually close to beam
    search once a model is trained, but not the most probable labelling in general.

    Args:
        logits: (batch, frames, classes) unnormalised scores (or log-probabilities).
        logit_lengths: (batch,) valid frames per row; frames beyond are ignored. Default: all.
        blank_index: the class index of the blank.

    Returns:
        A list (one per row) of lists of int labels.

    Example:
        >>> logits = np.log([[[0.2, 0.7, 0.1], [0.2, 0.7, 0.1], [0.8, 0.1, 0.1], [0.2, 0.7, 0.1]]])
        >>> ctc_greedy_decode(logits)
        [[1, 1]]
    """
    logits, lengths, blank_index = _decode_inputs(logits, logit_lengths, blank_index)
    decoded, _ = ops.ctc_decode(logits, lengths, strategy="greedy", mask_index=blank_index)
    return _label_lists(decoded[0])


def ctc_beam_search_decode(logits, logit_lengths=None, beam_width=16, top_paths=1, blank_index=0):
    """Prefix beam search: the `top_paths` most probable labellings found with `beam_width` beams.

    A beam is a labelling prefix whose probability sums every path that maps to it (paths ending
    in a blank and paths ending in its last label are tracked apart, so "a - a" and "a a" stay
    different). With beam_width = 1 it is close to greedy; wider beams can find a labelling
    whose paths are each unlikely but many (Graves et al. 2006, section 3.2).

    Args:
        logits: (batch, frames, classes) unnormalised scores (or log-probabilities).
        logit_lengths: (batch,) valid frames per row; frames beyond are ignored. Default: all.
        beam_width: number of labelling prefixes kept at each frame.
        top_paths: number of labellings returned per row, at most `beam_width`.
        blank_index: the class index of the blank.

    Returns:
        (labellings, log_probs): `labellings[b][k]` is the k-th best labelling of row b (a list
        of ints), `log_probs` a NumPy array (batch, top_paths) of their ln p(l | x) as the beam
        estimated them.

    Example:
        >>> logits = np.log([[[0.6, 0.4], [0.6, 0.4]]])  # blank, "a"; greedy gives []
        >>> labellings, log_probs = ctc_beam_search_decode(logits, beam_width=4)
        >>> labellings, np.exp(log_probs)  # ([[[1]]], [[0.64]]): 0.4 * 0.4 + 2 * 0.6 * 0.4

    On the PyTorch backend it needs Keras 3.15 or newer (NotImplementedError before).
    """
    beam_width = check_positive_int("beam_width", beam_width)
    top_paths = check_positive_int("top_paths", top_paths)
    if top_paths > beam_width:
        raise ValueError(
            f"`top_paths` must be at most `beam_width` ({beam_width}), got {top_paths}."
        )
    logits, lengths, blank_index = _decode_inputs(logits, logit_lengths, blank_index)
    if keras.backend.backend() == "torch" and _keras_version() < TORCH_BEAM_SEARCH_KERAS:
        needed = ".".join(map(str, TORCH_BEAM_SEARCH_KERAS))
        raise NotImplementedError(
            f"CTC beam search on the PyTorch backend needs Keras {needed} or newer "
            f"(this is Keras {keras.__version__}): upgrade Keras, use another backend, or "
            "ctc_greedy_decode."
        )
    decoded, log_probs = ops.ctc_decode(
        logits, lengths, strategy="beam_search", beam_width=beam_width, top_paths=top_paths,
        mask_index=blank_index,
    )
    per_path = [_label_lists(decoded[k]) for k in range(top_paths)]
    labellings = [[per_path[k][b] for k in range(top_paths)] for b in range(len(per_path[0]))]
    return labellings, np.asarray(ops.convert_to_numpy(log_probs), dtype="float64")


def ctc_collapse(path, blank_index=0):
    """The map B of Graves et al. (2006): merge repeated labels, then remove blanks.

    Example:
        >>> ctc_collapse([0, 1, 1, 0, 2, 2, 0, 2])
        [1, 2, 2]
    """
    blank_index = _check_index("blank_index", blank_index)
    out, previous = [], None
    for label in integer_sequence("path", path).tolist():
        if label != previous and label != blank_index:
            out.append(int(label))
        previous = label
    return out


def _log_posteriors(posteriors, from_logits, name="posteriors"):
    x = np.asarray(ops.convert_to_numpy(posteriors), dtype="float64")
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(
            f"`{name}` must have shape (frames, classes) with at least one of each, got {x.shape}."
        )
    if np.isnan(x).any() or np.isposinf(x).any():
        raise ValueError(f"`{name}` must not hold NaN or +inf.")
    if from_logits:
        x = x - x.max(axis=-1, keepdims=True)
        return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
    if x.min(initial=0.0) < 0:
        raise ValueError(f"`{name}` must be probabilities >= 0 (or pass from_logits=True).")
    with np.errstate(divide="ignore"):
        return np.log(x)


def ctc_best_path(posteriors, length=None, from_logits=False):
    """The best path pi* = argmax_k y^t_k of one sequence, frame by frame (for plotting).

    Args:
        posteriors: (frames, classes) frame posteriors y^t_k (a softmax output), or logits
            with `from_logits=True`.
        length: number of valid frames (default: all); the path is cut there.
        from_logits: whether `posteriors` are unnormalised scores.

    Returns:
        int NumPy array (length,): the label of every frame, blanks included; `ctc_collapse` of
        it is the greedy labelling.
    """
    log_y = _log_posteriors(posteriors, from_logits)
    if length is None:
        length = len(log_y)
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or not 0 <= length <= len(log_y):
        raise ValueError(f"`length` must be an integer in [0, {len(log_y)}], got {length!r}.")
    return np.argmax(log_y[:length], axis=-1).astype("int64")


def ctc_forced_alignment(posteriors, labels, blank_index=0, from_logits=False):
    """The most probable path pi with B(pi) = labels (Viterbi over the CTC topology).

    The forward recursion of the module docstring with max in place of sum, then a trace back:
    it says at which frames the network emits each label of a known transcript, which is what
    a CTC alignment plot shows (labels are emitted as spikes, blanks in between).

    Args:
        posteriors: (frames, classes) frame posteriors y^t_k of one sequence (or logits with
            `from_logits=True`), only the valid frames.
        labels: the target labelling l (a sequence of ints, no blank).
        blank_index: the class index of the blank.
        from_logits: whether `posteriors` are unnormalised scores.

    Returns:
        (path, log_prob): int NumPy array (frames,) with the label of every frame (blank_index
        for a blank) and ln p(path | x); ValueError if no path of this length fits `labels`.

    Example:
        >>> y = np.array([[0.1, 0.9, 0.0], [0.6, 0.3, 0.1], [0.2, 0.1, 0.7]])
        >>> ctc_forced_alignment(y, [1, 2])[0]
        array([1, 0, 2])
    """
    blank_index = _check_index("blank_index", blank_index)
    log_y = _log_posteriors(posteriors, from_logits)
    frames, classes = log_y.shape
    labels = integer_sequence("labels", labels).tolist()
    if any(not 0 <= v < classes or v == blank_index for v in labels):
        raise ValueError(
            f"`labels` must be class indices in [0, {classes}) other than the blank "
            f"({blank_index}), got {labels}."
        )
    extended = [blank_index]
    for v in labels:
        extended += [v, blank_index]
    S = len(extended)
    score = np.full((frames, S), -np.inf)
    back = np.zeros((frames, S), dtype="int64")
    score[0, 0] = log_y[0, blank_index]
    if S > 1:
        score[0, 1] = log_y[0, extended[1]]
    for t in range(1, frames):
        for s in range(S):
            candidates = [s, s - 1]
            if s >= 2 and extended[s] != blank_index and extended[s] != extended[s - 2]:
                candidates.append(s - 2)
            candidates = [c for c in candidates if c >= 0]
            best = max(candidates, key=lambda c: score[t - 1, c])
            score[t, s] = score[t - 1, best] + log_y[t, extended[s]]
            back[t, s] = best
    finals = [S - 1] + ([S - 2] if S > 1 else [])
    s = max(finals, key=lambda c: score[frames - 1, c])
    if not np.isfinite(score[frames - 1, s]):
        raise ValueError(
            f"No path of {frames} frames fits `labels` {labels} (or every fitting path has "
            f"probability 0)."
        )
    log_prob = float(score[frames - 1, s])
    path = np.zeros(frames, dtype="int64")
    for t in range(frames - 1, -1, -1):
        path[t] = extended[s]
        s = back[t, s]
    return path, log_prob
