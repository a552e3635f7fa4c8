"""Text machinery for language models: vocabularies, stateful batches, n-gram baselines, sampling,
beam search, perplexity and bits per character.

The pieces, in the order a language-modeling notebook uses them:

    vocab = CharVocabulary.from_text(train_text)              # characters <-> integer ids
    x, y = stateful_batches(vocab.encode(train_text), 64, 100)  # streams for truncated BPTT
    baseline = KneserNeyLM(order=5, vocab_size=vocab.size).fit(vocab.encode(train_text))
    bits = bits_per_character(baseline.log_prob(vocab.encode(held_out_text))[1:])
    tokens, log_likelihood = generate(step_fn, tokens, state, steps=200, temperature=0.8, seed=0)
    sequences, scores = beam_search(step_fn, tokens, state, steps=20, beam_width=5)

`generate` and `beam_search` drive any model through one interface,
`step_fn(tokens, state) -> (log_probs, new_state)`: `tokens` has shape (rows,), `log_probs`
(rows, vocabulary), normalised log-probabilities (each row's logsumexp is 0: apply
`ops.log_softmax` to logits; the first step's output is checked), and `state` is any nest (list, tuple, dict) of tensors whose leading
dimension is `rows` (`batch * beam_width` in a beam search). A character RNN, a word RNN and the
decoder of an encoder-decoder model all fit it.

Only `keras`, `keras.ops` and NumPy are used, so everything runs on the TensorFlow, JAX and
PyTorch backends. Randomness comes from a `keras.random.SeedGenerator` or an integer seed.

Shared helper: `recipes/base.py` (argument checks).
"""

import math

import keras
import numpy as np
from keras import ops

from recipes.base import check_positive_int, concrete, integer_sequence

UNKNOWN = "\N{REPLACEMENT CHARACTER}"  # "�", what `decode` writes for the unknown id 0


# --- vectorisation -------------------------------------------------------------------------------


class CharVocabulary:
    """A character vocabulary: id 0 is the unknown character, ids 1..size-1 the known ones.

    Known characters are numbered in code-point order, so the same set of characters always
    gives the same ids. `encode` maps any character it does not know to 0, so held-out text
    with a character the training text never had (a digit, an accented letter) still encodes.

    Args:
        chars: the known characters (an iterable of distinct single characters).
        unknown: the character `decode` writes for id 0 (it must not be one of `chars`).

    Example:
        >>> vocab = CharVocabulary.from_text("to be or not to be")
        >>> vocab.decode(vocab.encode("be not 2"))
        'be not �'
    """

    def __init__(self, chars, unknown=UNKNOWN):
        chars = list(chars)
        if not chars or any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError(
                f"`chars` must be a non-empty iterable of single characters, got {chars[:10]!r}."
            )
        if len(set(chars)) != len(chars):
            raise ValueError("`chars` must not repeat a character.")
        if not isinstance(unknown, str) or len(unknown) != 1 or unknown in chars:
            raise ValueError(
                f"`unknown` must be one character that is not in `chars`, got {unknown!r}."
            )
        self.chars = sorted(chars)
        self.unknown = unknown
        self._codes = np.array([ord(c) for c in self.chars], dtype=np.uint32)  # sorted

    @classmethod
    def from_text(cls, text, min_count=1, unknown=UNKNOWN):
        """The characters of `text` that occur at least `min_count` times."""
        min_count = check_positive_int("min_count", min_count)
        codes, counts = np.unique(_code_points(text), return_counts=True)
        if not np.any(counts >= min_count):
            raise ValueError(
                f"`text` must hold at least one character that occurs `min_count` = {min_count} "
                f"times, got {text[:40]!r}."
            )
        return cls([chr(c) for c in codes[counts >= min_count]], unknown=unknown)

    @property
    def size(self):
        """Number of ids, the unknown id 0 included."""
        return len(self.chars) + 1

    def __len__(self):
        return self.size

    def encode(self, text):
        """`text` as an int32 array of ids (0 for unknown characters)."""
        codes = _code_points(text)
        position = np.searchsorted(self._codes, codes)
        known = (position < len(self._codes)) & (
            self._codes[np.minimum(position, len(self._codes) - 1)] == codes
        )
        return np.where(known, position + 1, 0).astype(np.int32)

    def decode(self, ids):
        """The text of a sequence of ids (id 0 and ids out of range become `unknown`)."""
        table = [self.unknown] + self.chars
        ids = integer_sequence("ids", ids, "token ids")
        return "".join(table[i] if 0 < i < len(table) else self.unknown for i in ids)

    def get_config(self):
        return {"chars": "".join(self.chars), "unknown": self.unknown}

    @classmethod
    def from_config(cls, config):
        return cls(config["chars"], unknown=config["unknown"])


def _code_points(text):
    if not isinstance(text, str):
        raise ValueError(f"`text` must be a string, got {type(text).__name__}.")
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def stateful_batches(ids, batch_size, window):
    """Cut one long sequence into `batch_size` streams read `window` steps at a time.

    Truncated backpropagation through time (Williams and Peng 1990; Mikolov et al. 2010):
    stream b is the b-th of `batch_size` equal, contiguous stretches of `ids`. Batch i holds
    window i of every stream, so row b of batch i + 1 continues row b of batch i: a stateful
    RNN that carries its state from batch to batch reads each stream as one long sequence,
    while gradients flow back at most `window` steps. The targets are the inputs shifted by
    one step (next-token prediction). The tail that does not fill a window is dropped.

    Use with `model.fit(x, y, batch_size=batch_size, shuffle=False)` and an RNN built with
    `stateful=True` and a fixed batch size, resetting its states at the start of every pass.

    Args:
        ids: a 1-D sequence of token ids.
        batch_size: number of parallel streams B.
        window: truncation length T.

    Returns:
        (inputs, targets), two arrays of shape (n_windows * B, T) with the dtype of `ids`.

    Example:
        >>> x, y = stateful_batches(np.arange(21), batch_size=2, window=5)
        >>> x[:, :3].tolist()        # batch 0: rows 0, 1; batch 1: rows 2, 3
        [[0, 1, 2], [10, 11, 12], [5, 6, 7], [15, 16, 17]]
    """
    ids = np.asarray(ids)
    batch_size = check_positive_int("batch_size", batch_size)
    window = check_positive_int("window", window)
    if ids.ndim != 1:
        raise ValueError(f"`ids` must be 1-D, got shape {ids.shape}.")
    integer_sequence("ids", ids, "token ids")  # integers (of any dtype), never NaN
    n_windows = (len(ids) - 1) // (batch_size * window)
    if n_windows < 1:
        raise ValueError(
            f"`ids` has {len(ids)} tokens; batch_size * window + 1 = "
            f"{batch_size * window + 1} are needed for one batch."
        )
    length = n_windows * window

    def arrange(seq):  # (B * length,) -> (n_windows * B, T), window-major
        return seq.reshape(batch_size, n_windows, window).transpose(1, 0, 2).reshape(-1, window)

    return arrange(ids[: batch_size * length]), arrange(ids[1 : batch_size * length + 1])


# --- evaluation ----------------------------------------------------------------------------------


def target_log_probs(predictions, targets, from_logits=True):
    """log p(target) in nats at every position, from logits (or probabilities) over the vocabulary.

    Args:
        predictions: (..., vocabulary) logits, or probabilities with `from_logits=False`.
        targets: integer ids of shape (...).

    Returns:
        A tensor of shape (...). NaN or +inf predictions and targets outside [0, vocabulary)
        raise a ValueError when the values exist (eager calls); inside a traced function they
        cannot be read.
    """
    predictions = ops.convert_to_tensor(predictions)
    targets = ops.convert_to_tensor(targets)
    shape, target_shape = tuple(predictions.shape), tuple(targets.shape)
    if len(shape) < 1 or len(target_shape) != len(shape) - 1 or any(
        a is not None and b is not None and a != b for a, b in zip(target_shape, shape[:-1])
    ):
        raise ValueError(
            f"`targets` must have the shape of `predictions` without its last axis, "
            f"{shape[:-1]}, got {target_shape}."
        )
    if shape[-1] is not None and shape[-1] < 1:
        raise ValueError(f"`predictions` must score at least one token, got shape {shape}.")
    _check_scores("predictions", predictions)
    values = concrete(targets)
    if values is not None and values.size:
        ids = integer_sequence("targets", values.reshape(-1), "token ids")
        if ids.min() < 0 or ids.max() >= shape[-1]:
            raise ValueError(
                f"`targets` must be token ids in [0, {shape[-1]}), got [{ids.min()}, {ids.max()}]."
            )
    if from_logits:
        log_p = ops.log_softmax(ops.cast(predictions, "float32"), axis=-1)
    else:
        log_p = ops.log(ops.cast(predictions, "float32"))
    targets = ops.expand_dims(ops.cast(targets, "int32"), -1)
    return ops.squeeze(ops.take_along_axis(log_p, targets, axis=-1), -1)


def _check_scores(name, scores):
    """Raise if the values of `scores` (logits, log-probabilities) exist and hold NaN or +inf."""
    values = concrete(scores)
    if values is not None and values.size and np.any(np.isnan(values) | np.isposinf(values)):
        raise ValueError(f"`{name}` must not hold NaN or +inf, got {values.reshape(-1)[:8].tolist()}...")


def _log_probs_array(log_probs):
    """`log_probs` as float64 NumPy values, checked: non-empty, log-probabilities (<= 0, -inf
    allowed), no NaN."""
    log_probs = np.asarray(ops.convert_to_numpy(log_probs), dtype=np.float64)
    if log_probs.size == 0:
        raise ValueError("`log_probs` must hold at least one log-probability, got none.")
    nan = np.isnan(log_probs)
    if nan.any() or (log_probs > 1e-6).any():
        largest = log_probs[~nan].max() if (~nan).any() else float("nan")
        raise ValueError(
            f"`log_probs` must be natural-log probabilities, <= 0 and not NaN; got "
            f"{int(nan.sum())} NaN and a largest value of {largest} (probabilities or bits "
            f"instead of log-probabilities?)."
        )
    return log_probs


def bits_per_character(log_probs):
    """Cross-entropy in bits per token, -mean(log2 p), of the natural-log probabilities that a
    model gave the tokens that occurred (from `target_log_probs` or `KneserNeyLM.log_prob`).

    A model that spreads its probability evenly over V characters scores log2 V bits; Shannon
    (1951) estimated that English carries about 0.6 to 1.3 bits per character.
    """
    log_probs = _log_probs_array(log_probs)
    return float(-log_probs.mean() / math.log(2.0))


def perplexity(log_probs):
    """Perplexity, exp(-mean log p) = 2 ** bits_per_character: the number of equally likely
    choices the model is as unsure as, on average, at every step."""
    log_probs = _log_probs_array(log_probs)
    return float(np.exp(-log_probs.mean()))


# --- n-gram baseline -----------------------------------------------------------------------------


class KneserNeyLM:
    """An n-gram language model with interpolated Kneser-Ney smoothing, fitted by counting.

    Equations (Kneser and Ney 1995, in the interpolated form of Chen and Goodman 1999, with one
    discount D_k per order; h is the context of the last k - 1 tokens, h' drops its first):

        P_k(w | h) = max(a_k(h w) - D_k, 0) / a_k(h .)  +  D_k N_k(h .) / a_k(h .) * P_{k-1}(w | h')
        P_0(w)     = 1 / V

    At the highest order a_n(h w) is the count c(h w) of the n-gram; at lower orders it is the
    continuation count N1+(. h w), the number of distinct tokens seen before h w, so a lower
    order says how many contexts a token completes, not how often it occurs ("Francisco" is
    frequent but follows only "San"). a_k(h .) sums a_k over w and N_k(h .) counts the w with
    a_k(h w) > 0. A context never seen at order k passes P_{k-1} through unchanged. D_k =
    n1 / (n1 + 2 n2), with n1, n2 the numbers of k-grams whose a_k is 1 and 2 (Ney et al. 1994).
    Every P_k sums to one over the V tokens, and no token has probability zero.

    No sentence-start padding: `fit` counts the n-grams of one token stream, with no start
    symbol <s> and no end symbol </s>, as suits a character stream (our texts' newlines are
    ordinary tokens). A position with fewer than n - 1 tokens before it is predicted from the
    longest context it has (an order whose context would reach before the start passes
    P_{k-1} through), and position 0 from P_1, which for n > 1 is built from continuation
    counts, not frequencies. Chen and Goodman, and toolkits such as SRILM and KenLM, instead pad
    every sentence with <s> (and end it with </s>), so that the first tokens of a sentence are
    predicted from "<s> ..." contexts and the end of a sentence is a predicted event. Modified
    Kneser-Ney (three discounts per order, Chen and Goodman's best) is not implemented.

    References: R. Kneser and H. Ney (1995), "Improved backing-off for m-gram language
    modeling", ICASSP; S. F. Chen and J. Goodman (1999), "An empirical study of smoothing
    techniques for language modeling", Computer Speech and Language 13(4).

    Args:
        order: n, the length of the longest n-gram (1 is a smoothed unigram model).
        vocab_size: V; token ids are 0..V-1.
        discount: a fixed D in (0, 1] for every order, instead of the estimate above.

    Example:
        >>> ids = CharVocabulary.from_text("abracadabra").encode("abracadabra")
        >>> lm = KneserNeyLM(order=3, vocab_size=6).fit(ids)
        >>> round(float(lm.distribution(ids[:2]).sum()), 6)
        1.0
    """

    def __init__(self, order, vocab_size, discount=None):
        self.order = check_positive_int("order", order)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        if self.vocab_size ** self.order >= 2**62:
            raise ValueError(
                f"`vocab_size` ** `order` must fit in int64 keys, got {vocab_size}**{order}."
            )
        if discount is not None and (
            isinstance(discount, bool)
            or not isinstance(discount, (int, float))
            or not 0.0 < discount <= 1.0
        ):
            raise ValueError(f"`discount` must be None or a float in (0, 1], got {discount!r}.")
        self.discount = discount
        self.tables = self.discounts = None

    def _check_ids(self, name, ids, at_least):
        """`ids` as an int64 array, if it is a 1-D sequence of at least `at_least` integer ids in
        [0, V); otherwise a ValueError. An id outside [0, V) would alias another n-gram's key."""
        array = integer_sequence(name, ids, "token ids")
        if len(array) < at_least:
            raise ValueError(
                f"`{name}` must be a 1-D sequence of at least {at_least} token ids, got shape "
                f"{array.shape}."
            )
        if len(array) and (array.min() < 0 or array.max() >= self.vocab_size):
            raise ValueError(
                f"`{name}` must lie in [0, vocab_size) = [0, {self.vocab_size}), got "
                f"[{array.min()}, {array.max()}]."
            )
        return array

    def _keys(self, ids, k):
        """Integer key of every k-gram of ids (first token most significant), shape (len - k + 1,)."""
        keys = np.zeros(len(ids) - k + 1, dtype=np.int64)
        for j in range(k):
            keys = keys * self.vocab_size + ids[j : len(ids) - k + 1 + j]
        return keys

    def fit(self, ids):
        """Count the n-grams of the 1-D token sequence `ids`; returns the model."""
        ids = self._check_ids("ids", ids, at_least=self.order)
        V, self.tables = self.vocab_size, []
        for k in range(1, self.order + 1):
            if k == self.order:  # counts of the k-grams
                keys, counts = np.unique(self._keys(ids, k), return_counts=True)
            else:  # continuation counts: distinct (k+1)-grams that end in the k-gram
                extended = np.unique(self._keys(ids, k + 1))
                keys, counts = np.unique(extended % V**k, return_counts=True)
            n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
            if self.discount is not None:
                discount = self.discount
            else:
                discount = n1 / (n1 + 2 * n2) if n1 > 0 else 0.5
            contexts, first = np.unique(keys // V, return_index=True)  # keys sorted: contiguous
            self.tables.append({
                "keys": keys,
                "counts": counts.astype(np.float64),
                "contexts": contexts,
                "totals": np.add.reduceat(counts, first).astype(np.float64),
                "types": np.diff(np.append(first, len(keys))).astype(np.float64),
                "discount": float(discount),
            })
        self.discounts = [table["discount"] for table in self.tables]  # D_1 ... D_n
        return self

    def _probs(self, histories, targets):
        """P(target | history) for rows of `histories` (N, order - 1) padded on the left with -1."""
        if self.tables is None:
            raise ValueError("The model is not fitted yet: call `fit(ids)` first.")
        V = self.vocab_size
        p = np.full(len(targets), 1.0 / V)
        for k, table in enumerate(self.tables, start=1):
            context = histories[:, histories.shape[1] - (k - 1) :]
            valid = np.all(context >= 0, axis=1)
            context_key = np.zeros(len(targets), dtype=np.int64)
            for j in range(k - 1):
                context_key = context_key * V + np.maximum(context[:, j], 0)
            i = np.minimum(np.searchsorted(table["contexts"], context_key), len(table["contexts"]) - 1)
            seen = valid & (table["contexts"][i] == context_key)
            gram_key = context_key * V + targets
            j = np.minimum(np.searchsorted(table["keys"], gram_key), len(table["keys"]) - 1)
            count = np.where(table["keys"][j] == gram_key, table["counts"][j], 0.0)
            D, total = table["discount"], table["totals"][i]
            mixed = (np.maximum(count - D, 0.0) + D * table["types"][i] * p) / total
            p = np.where(seen, mixed, p)
        return p

    def log_prob(self, ids):
        """log P(ids[t] | the up to order - 1 tokens before it), in nats, for every position t
        (position 0 has no context and gets the unigram probability)."""
        ids = self._check_ids("ids", ids, at_least=1)
        n = self.order - 1
        padded = np.concatenate([np.full(n, -1, dtype=np.int64), ids])
        histories = np.stack([padded[j : j + len(ids)] for j in range(n)], axis=1) if n else (
            np.zeros((len(ids), 0), dtype=np.int64)
        )
        return np.log(self._probs(histories, ids))

    def distribution(self, context):
        """P(w | context) for every token w, shape (V,); `context` is a 1-D sequence of ids in
        [0, V) (it may be empty), of which only the last order - 1 count."""
        n = self.order - 1
        context = self._check_ids("context", context, at_least=0)
        context = context[max(0, len(context) - n) :]
        history = np.concatenate([np.full(n - len(context), -1, dtype=np.int64), context])
        return self._probs(np.tile(history, (self.vocab_size, 1)), np.arange(self.vocab_size))


# --- sampling and search -------------------------------------------------------------------------


def _check_filters(top_k, top_p):
    if top_k is not None:
        check_positive_int("top_k", top_k)
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1
    ):
        raise ValueError(f"`top_p` must be None or a float in (0, 1], got {top_p!r}.")


def _checked_logits(logits):
    """`logits` as a float32 tensor of shape (batch, vocabulary >= 1), without NaN or +inf."""
    logits = ops.convert_to_tensor(logits)
    shape = tuple(logits.shape)
    if len(shape) != 2 or (shape[-1] is not None and shape[-1] < 1):
        raise ValueError(
            f"`logits` must have shape (batch, vocabulary) with a vocabulary of at least one "
            f"token, got {shape}."
        )
    _check_scores("logits", logits)
    return ops.cast(logits, "float32")


def filter_logits(logits, top_k=None, top_p=None):
    """Set to -inf the logits of every token outside the top-k and outside the nucleus.

    Top-k keeps the k largest logits of each row (Fan et al. 2018); ties with the k-th are kept
    too. Top-p, or nucleus, keeps the smallest set of most probable tokens whose probability
    sums to at least p (Holtzman et al. 2020): a short list when the model is sure, a long one
    when it is not. With both, top-k is applied first.

    Args:
        logits: (batch, vocabulary).
        top_k: None or an integer >= 1.
        top_p: None or a float in (0, 1].
    """
    _check_filters(top_k, top_p)
    logits = _checked_logits(logits)
    vocabulary = ops.shape(logits)[-1]
    if top_k is not None:
        kth = ops.top_k(logits, min(top_k, vocabulary))[0][..., -1:]
        logits = ops.where(logits < kth, -np.inf, logits)
    if top_p is not None:
        probs = ops.softmax(logits, axis=-1)
        sorted_probs = ops.top_k(probs, vocabulary)[0]  # descending
        mass_before = ops.cumsum(sorted_probs, axis=-1) - sorted_probs
        in_nucleus = mass_before < top_p
        smallest = ops.min(ops.where(in_nucleus, sorted_probs, 2.0), axis=-1, keepdims=True)
        logits = ops.where(probs < smallest, -np.inf, logits)
    return logits


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, seed=None):
    """Draw one token per row from softmax(logits / temperature), restricted by top-k / top-p.

    Temperature T < 1 sharpens the distribution, T > 1 flattens it, T = 0 is greedy (argmax).

    Args:
        logits: (batch, vocabulary) logits or log-probabilities.
        temperature: a float >= 0.
        top_k, top_p: see `filter_logits`.
        seed: an integer or a `keras.random.SeedGenerator` (pass a generator when drawing in a
            loop, so that every step draws differently).

    Returns:
        int32 token ids, shape (batch,).
    """
    if (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
            or not math.isfinite(temperature) or temperature < 0):
        raise ValueError(f"`temperature` must be a float >= 0, got {temperature!r}.")
    _check_filters(top_k, top_p)
    logits = _checked_logits(logits)
    if temperature == 0:
        return ops.cast(ops.argmax(logits, axis=-1), "int32")
    logits = filter_logits(logits / temperature, top_k=top_k, top_p=top_p)
    return ops.cast(keras.random.categorical(logits, 1, seed=seed)[:, 0], "int32")


def _rows_of(tokens):
    tokens = np.asarray(ops.convert_to_numpy(tokens))
    tokens = integer_sequence("tokens", tokens.reshape(-1) if tokens.ndim == 0 else tokens, "token ids")
    if len(tokens) == 0:
        raise ValueError("`tokens` must hold at least one start token.")
    if tokens.min() < 0:
        raise ValueError(f"`tokens` must be token ids >= 0, got {tokens.tolist()[:8]}.")
    return tokens.astype(np.int32)


def _check_end_token(end_token, vocabulary):
    if end_token is not None and (
        isinstance(end_token, bool) or not isinstance(end_token, (int, np.integer))
        or not 0 <= end_token < vocabulary
    ):
        raise ValueError(
            f"`end_token` must be None or a token id in [0, {vocabulary}) (the vocabulary of "
            f"`step_fn`), got {end_token!r}."
        )


def _checked_log_probs(log_probs, rows, first_step):
    """`step_fn`'s output as a float64 NumPy array; at the first step, checked against the
    contract: shape (rows, vocabulary) and log-probabilities (each row's logsumexp is 0)."""
    dtype = keras.backend.standardize_dtype(getattr(log_probs, "dtype", "float32"))
    log_probs = np.asarray(ops.convert_to_numpy(log_probs), dtype=np.float64)
    if not first_step:
        return log_probs
    if log_probs.ndim != 2 or log_probs.shape[0] != rows or log_probs.shape[1] < 1:
        raise ValueError(
            f"`step_fn` must return log-probabilities of shape (rows, vocabulary) with rows = "
            f"{rows}, got shape {log_probs.shape}."
        )
    if np.isnan(log_probs).any() or np.isposinf(log_probs).any():
        raise ValueError("`step_fn` returned NaN or +inf log-probabilities at the first step.")
    top = log_probs.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        total = (top + np.log(np.exp(log_probs - top).sum(axis=1, keepdims=True)))[:, 0]
    tolerance = 5e-2 if "16" in dtype else 1e-3  # the rounding of float16 / bfloat16
    if not np.all(np.abs(total) <= tolerance):
        worst = int(np.argmax(np.where(np.isfinite(total), np.abs(total), np.inf)))
        raise ValueError(
            f"`step_fn` must return log-probabilities, whose exponentials sum to 1 in every row "
            f"(e.g. `ops.log_softmax(logits, axis=-1)`, or the log of probabilities); at the "
            f"first step row {worst} has logsumexp {total[worst]:.4g} instead of 0 (logits?)."
        )
    return log_probs


def generate(step_fn, tokens, state, steps, temperature=1.0, top_k=None, top_p=None, seed=None,
             end_token=None):
    """Generate `steps` tokens per row by sampling from `step_fn` (greedy at temperature 0).

    Args:
        step_fn: `step_fn(tokens, state) -> (log_probs, new_state)`, see the module docstring.
        tokens: (batch,) the last token of every prompt (or a start token).
        state: the model's state after reading the prompt, leading dimension batch.
        steps: number of tokens to generate.
        temperature, top_k, top_p: see `sample_next`.
        seed: an integer or a `keras.random.SeedGenerator`; the same seed gives the same text.
        end_token: optional; a row that produced it keeps producing it, at no cost.

    Returns:
        (sequences, log_likelihood): int32 NumPy array (batch, steps), and float64 NumPy array
        (batch,), the model's own (untempered, unfiltered) log-probability of each sequence.
    """
    steps = check_positive_int("steps", steps)
    seed = seed if isinstance(seed, keras.random.SeedGenerator) else keras.random.SeedGenerator(seed)
    tokens = _rows_of(tokens)
    finished = np.zeros(len(tokens), dtype=bool)
    log_likelihood = np.zeros(len(tokens))
    out = []
    for step in range(steps):
        log_probs, state = step_fn(ops.convert_to_tensor(tokens), state)
        checked = _checked_log_probs(log_probs, len(tokens), first_step=step == 0)
        if step == 0:
            _check_end_token(end_token, checked.shape[1])
        chosen = np.asarray(ops.convert_to_numpy(
            sample_next(log_probs, temperature, top_k, top_p, seed=seed)))
        log_probs = checked
        if end_token is not None:
            chosen = np.where(finished, end_token, chosen)
        gained = log_probs[np.arange(len(chosen)), chosen]
        log_likelihood += np.where(finished, 0.0, gained)
        if end_token is not None:
            finished |= chosen == end_token
        tokens = chosen.astype(np.int32)
        out.append(tokens)
    return np.stack(out, axis=1), log_likelihood


def beam_search(step_fn, tokens, state, steps, beam_width=4, end_token=None, length_penalty=0.0):
    """The `beam_width` most probable continuations of every row, found by beam search.

    At every step each of the beam_width partial sequences of a row is extended by every
    token; the beam_width extensions with the highest total log-probability survive, and the
    states of their parents are gathered along with them. Greedy decoding is beam_width = 1;
    a wider beam can keep a prefix that looks worse now but leads somewhere better (Graves
    2012; Sutskever et al. 2014). A sequence that produced `end_token` is finished: it keeps
    its score and is padded with `end_token`.

    Args:
        step_fn: `step_fn(tokens, state) -> (log_probs, new_state)`, see the module docstring;
            here it is called with batch * beam_width rows (row b * beam_width + j is beam j of
            batch row b), and the states are reordered with `ops.take` along axis 0.
        tokens: (batch,) the last token of every prompt (or a start token).
        state: the model's state after reading the prompt, leading dimension batch (it is
            repeated beam_width times).
        steps: maximum number of tokens to generate.
        beam_width: number of hypotheses kept per row.
        end_token: optional end-of-sequence id; the search stops when every beam has ended.
        length_penalty: alpha >= 0; beams are ranked by score / length ** alpha (0: raw sum of
            log-probabilities, which favours short finished sequences).

    Returns:
        (sequences, scores): int32 NumPy array (batch, beam_width, length) with length <= steps,
        best beam first, and float64 NumPy array (batch, beam_width) of total log-probabilities.
    """
    steps = check_positive_int("steps", steps)
    beam_width = check_positive_int("beam_width", beam_width)
    if (isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float))
            or not math.isfinite(length_penalty) or length_penalty < 0):
        raise ValueError(f"`length_penalty` must be a float >= 0, got {length_penalty!r}.")
    tokens = _rows_of(tokens)
    batch, width = len(tokens), beam_width
    for leaf in keras.tree.flatten(state):
        if leaf is None or len(getattr(leaf, "shape", ())) < 1 or leaf.shape[0] not in (None, batch):
            raise ValueError(
                f"`state` must be a nest of tensors whose leading dimension is the number of "
                f"rows of `tokens`, {batch}; got a leaf {leaf!r:.80}."
            )
    state = keras.tree.map_structure(lambda s: ops.repeat(s, width, axis=0), state)
    tokens = np.repeat(tokens, width)
    scores = np.full((batch, width), -np.inf)
    scores[:, 0] = 0.0  # the beams start identical: only one of them may expand at step 1
    finished = np.zeros((batch, width), dtype=bool)
    lengths = np.zeros((batch, width))
    history = np.zeros((batch, width, 0), dtype=np.int32)
    for step in range(steps):
        log_probs, state = step_fn(ops.convert_to_tensor(tokens), state)
        log_probs = _checked_log_probs(log_probs, len(tokens), first_step=step == 0)
        vocabulary = log_probs.shape[-1]
        if step == 0:
            _check_end_token(end_token, vocabulary)
        log_probs = log_probs.reshape(batch, width, vocabulary)
        if end_token is not None:  # a finished beam extends only by end_token, at no cost
            log_probs[finished] = -np.inf
            log_probs[finished, end_token] = 0.0
        candidates = (scores[:, :, None] + log_probs).reshape(batch, width * vocabulary)
        best = np.argsort(-candidates, axis=1, kind="stable")[:, :width]
        parent, token = best // vocabulary, best % vocabulary
        scores = np.take_along_axis(candidates, best, axis=1)
        history = np.concatenate(
            [np.take_along_axis(history, parent[:, :, None], axis=1), token[:, :, None]], axis=2
        ).astype(np.int32)
        was_finished = np.take_along_axis(finished, parent, axis=1)
        lengths = np.take_along_axis(lengths, parent, axis=1) + ~was_finished
        finished = was_finished | (token == end_token if end_token is not None else False)
        rows = (np.arange(batch)[:, None] * width + parent).reshape(-1)
        state = keras.tree.map_structure(lambda s: ops.take(s, rows, axis=0), state)
        tokens = token.reshape(-1).astype(np.int32)
        if finished.all():
            break
    ranking = scores / np.maximum(lengths, 1.0) ** length_penalty
    order = np.argsort(-ranking, axis=1, kind="stable")
    return (np.take_along_axis(history, order[:, :, None], axis=1),
            np.take_along_axis(scores, order, axis=1))
