"""Text machinery (recipes/text.py): the vocabulary, stateful batches against a whole-sequence RNN,
bits per character and perplexity, Kneser-Ney against a hand computation, sampling and beam
search against greedy decoding and brute force, and bad input."""

import itertools
import math

import keras
import numpy as np
import pytest
from keras import ops

from recipes.gated import GRUCell
from recipes.simple import ElmanCell
from recipes.text import (
    UNKNOWN,
    CharVocabulary,
    KneserNeyLM,
    beam_search,
    bits_per_character,
    filter_logits,
    generate,
    perplexity,
    sample_next,
    stateful_batches,
    target_log_probs,
)
from tests.helpers import numpy_of

RNG = np.random.default_rng(0)


def rnn_step_fn(vocabulary=5, units=8, seed=0):
    """A small random GRU language model as a step_fn, and its initial state for a batch."""
    keras.utils.set_random_seed(seed)
    embed, cell = keras.layers.Embedding(vocabulary, 4), GRUCell(units)
    readout = keras.layers.Dense(vocabulary, kernel_initializer=keras.initializers.RandomNormal(stddev=1.5))

    def step_fn(tokens, state):
        h, new_state = cell(embed(tokens), state)
        return ops.log_softmax(readout(h), axis=-1), new_state

    def initial_state(batch):
        return [ops.zeros((batch, units))]

    return step_fn, initial_state


def table_step_fn(probabilities):
    """A Markov chain as a step_fn: log P(next | last token) = log probabilities[last]."""
    table = ops.convert_to_tensor(np.log(np.asarray(probabilities, dtype="float32") + 1e-30))
    return lambda tokens, state: (ops.take(table, ops.cast(tokens, "int32"), axis=0), state)


# --- the vocabulary ------------------------------------------------------------------------------


def test_vocabulary_encodes_in_code_point_order_and_maps_unknown_characters_to_zero():
    vocab = CharVocabulary.from_text("to be, or not to be")
    assert vocab.chars == sorted(set("to be, or not to be")) and vocab.size == len(vocab) == 9  # 8 characters + unknown
    ids = vocab.encode("be not")
    assert ids.dtype == np.int32 and ids.tolist() == [vocab.chars.index(c) + 1 for c in "be not"]
    assert vocab.decode(ids) == "be not"
    ids = vocab.encode("bé, 2 ☃ to")
    assert (ids == 0).tolist() == [c in "é2☃" for c in "bé, 2 ☃ to"]
    assert vocab.decode(ids) == f"b{UNKNOWN}, {UNKNOWN} {UNKNOWN} to"
    assert vocab.decode([0, 99, -1]) == UNKNOWN * 3
    assert vocab.encode("").shape == (0,)
    # min_count drops the rare characters (",", "r" and "n" occur once here)
    assert CharVocabulary.from_text("to be, or not to be", min_count=2).chars == sorted(set("to be"))
    clone = CharVocabulary.from_config(vocab.get_config())
    assert clone.chars == vocab.chars and clone.unknown == vocab.unknown


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: CharVocabulary([]), "chars"),
        (lambda: CharVocabulary(["ab"]), "chars"),
        (lambda: CharVocabulary("aba"), "repeat"),
        (lambda: CharVocabulary("ab", unknown="a"), "unknown"),
        (lambda: CharVocabulary.from_text("ab", min_count=0), "min_count"),
        (lambda: CharVocabulary("ab").encode(b"ab"), "text"),
    ],
)
def test_vocabulary_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --- stateful batches ----------------------------------------------------------------------------


def test_stateful_batches_continue_every_stream_from_one_batch_to_the_next():
    B, T, n = 3, 4, 40  # (40 - 1) // 12 = 3 windows per stream, stream length 12
    x, y = stateful_batches(np.arange(n), B, T)
    assert x.shape == y.shape == (3 * B, T)
    np.testing.assert_array_equal(y, x + 1)  # next-token targets
    batches = x.reshape(3, B, T)
    for i in range(2):  # row b of batch i + 1 starts where row b of batch i stopped
        np.testing.assert_array_equal(batches[i + 1][:, 0], batches[i][:, -1] + 1)
    np.testing.assert_array_equal(batches[0][:, 0], [0, 12, 24])  # streams are equal stretches
    np.testing.assert_array_equal(np.sort(y.ravel()), np.arange(1, 37))  # each target once


def test_a_stateful_rnn_over_the_batches_reads_each_stream_as_one_sequence():
    # Truncated BPTT's forward pass: carrying the state from batch to batch gives exactly the
    # outputs of one pass over the whole streams.
    B, T, F = 2, 5, 3
    values = RNG.normal(size=(31, F)).astype("float32")
    x, _ = stateful_batches(np.arange(31), B, T)  # positions, so we can gather the features
    stateful = keras.layers.RNN(ElmanCell(4), return_sequences=True, stateful=True)
    stateful(np.zeros((B, T, F), "float32"))
    stateful.reset_state()
    pieces = [numpy_of(stateful(values[x[i : i + B]])) for i in range(0, len(x), B)]
    whole = keras.layers.RNN(ElmanCell(4), return_sequences=True)
    whole(np.zeros((B, T, F), "float32"))
    whole.set_weights(stateful.get_weights())
    streams = values[:30].reshape(B, 15, F)
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), numpy_of(whole(streams)), atol=1e-5)


@pytest.mark.parametrize(
    "ids, batch_size, window, match",
    [
        (np.arange(12), 3, 4, "one batch"),
        (np.zeros((4, 20)), 2, 2, "1-D"),
        (np.arange(100), 0, 4, "batch_size"),
        (np.arange(100), 2, 2.5, "window"),
    ],
)
def test_stateful_batches_bad_input(ids, batch_size, window, match):
    with pytest.raises(ValueError, match=match):
        stateful_batches(ids, batch_size, window)


# --- bits per character and perplexity -----------------------------------------------------------


@pytest.mark.parametrize("vocabulary", [2, 27, 80])
def test_a_uniform_model_scores_log2_v_bits_and_perplexity_v(vocabulary):
    logits = np.full((4, 7, vocabulary), 3.0, "float32")  # equal logits: p = 1 / V everywhere
    targets = RNG.integers(0, vocabulary, size=(4, 7))
    log_p = target_log_probs(logits, targets)
    assert tuple(ops.shape(log_p)) == (4, 7)
    assert bits_per_character(log_p) == pytest.approx(math.log2(vocabulary), rel=1e-5)
    assert perplexity(log_p) == pytest.approx(vocabulary, rel=1e-5)


def test_bits_and_perplexity_match_numpy():
    logits = RNG.normal(scale=2.0, size=(3, 6, 5)).astype("float32")
    targets = RNG.integers(0, 5, size=(3, 6))
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = np.take_along_axis(log_softmax, targets[..., None], -1)[..., 0]
    np.testing.assert_allclose(numpy_of(target_log_probs(logits, targets)), expected, atol=1e-5)
    probs = np.exp(log_softmax)
    np.testing.assert_allclose(numpy_of(target_log_probs(probs, targets, from_logits=False)), expected, atol=1e-5)
    bits = bits_per_character(expected)
    assert bits == pytest.approx(-expected.mean() / np.log(2))
    assert perplexity(expected) == pytest.approx(2.0**bits)


# --- Kneser-Ney ----------------------------------------------------------------------------------


def test_kneser_ney_matches_a_hand_computation():
    # ids 0 1 1 1 0 2, V = 3, order 2, D = 1/2.
    # Unigram level, continuation counts N1+(. w) (distinct left neighbours): 0 <- {1}, 1 <- {0, 1},
    # 2 <- {0}: a = (1, 2, 1), total 4, 3 types, so P1(w) = max(a - 1/2, 0) / 4 + (1/2)(3/4)(1/3):
    # P1 = (1/4, 1/2, 1/4).
    # Bigram level, counts: c(0 1) = 1, c(0 2) = 1, c(1 1) = 2, c(1 0) = 1.
    # After 0 (total 2, 2 types): P(w|0) = max(c - 1/2, 0) / 2 + (1/2)(2/2) P1(w) = (1/8, 1/2, 3/8).
    # After 1 (total 3, 2 types): P(w|1) = max(c - 1/2, 0) / 3 + (1/2)(2/3) P1(w) = (1/4, 2/3, 1/12).
    # After 2 (never seen as a context): P1.
    lm = KneserNeyLM(order=2, vocab_size=3, discount=0.5).fit([0, 1, 1, 1, 0, 2])
    np.testing.assert_allclose(lm.distribution([]), [1 / 4, 1 / 2, 1 / 4])
    np.testing.assert_allclose(lm.distribution([0]), [1 / 8, 1 / 2, 3 / 8])
    np.testing.assert_allclose(lm.distribution([2, 1]), [1 / 4, 2 / 3, 1 / 12])  # only the last counts
    np.testing.assert_allclose(lm.distribution([2]), [1 / 4, 1 / 2, 1 / 4])
    np.testing.assert_allclose(np.exp(lm.log_prob([0, 1, 0, 2])), [1 / 4, 1 / 2, 1 / 4, 3 / 8])
    # Estimated discounts n1 / (n1 + 2 n2): unigram a = (1, 2, 1) gives 2/4, bigram c = (1, 1, 2, 1) 3/5.
    estimated = KneserNeyLM(order=2, vocab_size=3).fit([0, 1, 1, 1, 0, 2])
    assert estimated.discounts == pytest.approx([1 / 2, 3 / 5])


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_kneser_ney_distributions_sum_to_one_and_give_every_token_some_probability(order):
    ids = RNG.choice(7, size=400, p=[0.4, 0.2, 0.15, 0.1, 0.1, 0.05, 0.0])  # token 6 never occurs
    lm = KneserNeyLM(order, vocab_size=7).fit(ids)
    contexts = [[], [0], [6], [1, 2], [6, 6, 6, 6], list(ids[:10]), [3, 3, 0, 1]]
    for context in contexts:
        p = lm.distribution(context)
        assert p.shape == (7,) and p.sum() == pytest.approx(1.0, abs=1e-12) and p.min() > 0
    log_p = lm.log_prob(ids[:50])
    assert log_p.shape == (50,) and np.all(np.isfinite(log_p))


def test_kneser_ney_of_high_enough_order_predicts_a_periodic_text():
    ids = np.tile([0, 1, 2, 1], 50)  # after 1 comes 2 or 0: a bigram is unsure, a trigram is not
    held_out = np.tile([0, 1, 2, 1], 5)
    bits = {n: bits_per_character(KneserNeyLM(n, 4).fit(ids).log_prob(held_out)[2:]) for n in (1, 2, 3)}
    assert bits[1] > bits[2] > bits[3]
    assert bits[2] == pytest.approx(0.5, abs=0.1)  # one fair coin every second character
    assert bits[3] < 0.05


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: KneserNeyLM(0, 5), "order"),
        (lambda: KneserNeyLM(2, 5, discount=1.5), "discount"),
        (lambda: KneserNeyLM(20, 100), "int64"),
        (lambda: KneserNeyLM(2, 5).fit([0, 1, 7]), r"\[0, 5\)"),
        (lambda: KneserNeyLM(3, 5).fit([0, 1]), "at least"),
        (lambda: KneserNeyLM(2, 5).log_prob([0, 1]), "not fitted"),
        (lambda: KneserNeyLM(2, 5).fit([0, 1.5, 2]), "`ids` must hold integer token ids"),
    ],
)
def test_kneser_ney_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "call, match",
    [
        # Before the check, id 5 = V aliased the key of another n-gram and -1 that of "no context".
        (lambda lm: lm.log_prob([0, 1, 5]), r"`ids` must lie in \[0, vocab_size\) = \[0, 5\), got \[0, 5\]"),
        (lambda lm: lm.log_prob([-1, 2]), r"`ids` must lie in \[0, vocab_size\)"),
        (lambda lm: lm.log_prob([0, 2.5]), "`ids` must hold integer token ids"),
        (lambda lm: lm.log_prob([[0, 1]]), "`ids` must be a 1-D sequence"),
        (lambda lm: lm.distribution([1, 7]), r"`context` must lie in \[0, vocab_size\) = \[0, 5\)"),
        (lambda lm: lm.distribution([-3]), r"`context` must lie in \[0, vocab_size\)"),
        (lambda lm: lm.distribution([[0], [1]]), "`context` must be a 1-D sequence"),
    ],
)
def test_kneser_ney_scores_only_ids_of_its_vocabulary(call, match):
    lm = KneserNeyLM(2, 5).fit([0, 1, 2, 3, 4, 0, 1])
    with pytest.raises(ValueError, match=match):
        call(lm)


# --- sampling ------------------------------------------------------------------------------------


def test_sampling_at_a_temperature_close_to_zero_is_greedy():
    logits = RNG.normal(size=(64, 10)).astype("float32")
    greedy = numpy_of(sample_next(logits, temperature=0))
    np.testing.assert_array_equal(greedy, logits.argmax(-1))
    np.testing.assert_array_equal(numpy_of(sample_next(logits, temperature=1e-4, seed=1)), greedy)
    # and over a whole generated sequence of a random GRU model
    step_fn, initial_state = rnn_step_fn()
    start = np.array([0, 1, 2])
    cold, cold_ll = generate(step_fn, start, initial_state(3), steps=8, temperature=1e-4, seed=3)
    hot, _ = generate(step_fn, start, initial_state(3), steps=8, temperature=0)
    np.testing.assert_array_equal(cold, hot)
    assert np.all(cold_ll < 0)


def test_top_k_and_top_p_only_ever_pick_allowed_tokens():
    probs = np.array([0.05, 0.5, 0.15, 0.3], "float32")  # sorted: 1 (0.5), 3 (0.3), 2 (0.15), 0
    logits = np.tile(np.log(probs), (3000, 1))
    cases = {
        (2, None): {1, 3},
        (3, None): {1, 2, 3},
        (None, 0.4): {1},  # 0.5 >= 0.4 already
        (None, 0.7): {1, 3},  # 0.5 + 0.3 >= 0.7
        (None, 0.85): {1, 2, 3},
        (None, 1.0): {0, 1, 2, 3},
        (3, 0.7): {1, 3},
    }
    for (top_k, top_p), allowed in cases.items():
        kept = np.isfinite(numpy_of(filter_logits(logits[:1], top_k=top_k, top_p=top_p))[0])
        assert set(np.flatnonzero(kept)) == allowed, (top_k, top_p)
        drawn = numpy_of(sample_next(logits, top_k=top_k, top_p=top_p, seed=0))
        assert set(drawn.tolist()) == allowed, (top_k, top_p)  # only allowed ones, and all of them


def test_sampling_follows_the_tempered_distribution_and_its_seed():
    logits = np.log(np.array([0.1, 0.2, 0.7], "float32"))
    many = np.tile(logits, (20000, 1))
    for temperature in (1.0, 2.0, 0.5):
        drawn = numpy_of(sample_next(many, temperature=temperature, seed=4))
        tempered = np.exp(logits / temperature) / np.exp(logits / temperature).sum()
        # 20,000 draws: the standard error of a frequency is below 0.0035
        np.testing.assert_allclose(np.bincount(drawn, minlength=3) / 20000, tempered, atol=0.015)
    a, b = (numpy_of(sample_next(many[:200], seed=7)) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert np.any(a != numpy_of(sample_next(many[:200], seed=8)))


def test_generate_is_reproducible_and_reports_the_models_own_log_likelihood():
    step_fn, initial_state = rnn_step_fn()
    start = np.array([0, 3])
    first = generate(step_fn, start, initial_state(2), steps=15, temperature=1.5, top_k=4, seed=11)
    second = generate(step_fn, start, initial_state(2), steps=15, temperature=1.5, top_k=4, seed=11)
    np.testing.assert_array_equal(first[0], second[0])
    sequences, log_likelihood = first
    assert sequences.shape == (2, 15) and sequences.dtype == np.int32
    # Teacher-force the sequences through the untempered model and add up its log-probabilities.
    state, tokens, expected = initial_state(2), start, np.zeros(2)
    for t in range(15):
        log_probs, state = step_fn(ops.convert_to_tensor(tokens), state)
        expected += numpy_of(log_probs)[np.arange(2), sequences[:, t]]
        tokens = sequences[:, t]
    np.testing.assert_allclose(log_likelihood, expected, rtol=1e-5)


def test_generate_stops_scoring_after_the_end_token():
    # Token 0 ends; from 1 the chain ends with probability 1/2.
    step_fn = table_step_fn([[1, 0, 0], [0.5, 0.25, 0.25], [0, 0.5, 0.5]])
    sequences, log_likelihood = generate(step_fn, np.full(200, 1), np.zeros((200, 1)), steps=6, seed=0, end_token=0)
    for row, ll in zip(sequences, log_likelihood):
        ended = np.flatnonzero(row == 0)
        if len(ended):
            assert np.all(row[ended[0] :] == 0)  # padded with the end token
        assert ll <= 0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sample_next(np.zeros((1, 3)), temperature=-1.0), "temperature"),
        (lambda: sample_next(np.zeros((1, 3)), top_k=0), "top_k"),
        (lambda: sample_next(np.zeros((1, 3)), top_p=0.0), "top_p"),
        (lambda: filter_logits(np.zeros((1, 3)), top_p=1.5), "top_p"),
        (lambda: sample_next(np.zeros((1, 3)), temperature=0, top_k=-2), "top_k"),
        (lambda: generate(table_step_fn(np.eye(2)), [0], None, steps=0), "steps"),
        (lambda: generate(table_step_fn(np.eye(2)), [], None, steps=2), "tokens"),
    ],
)
def test_sampling_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- beam search ---------------------------------------------------------------------------------


def test_beam_search_with_beam_width_1_is_greedy():
    step_fn, initial_state = rnn_step_fn(vocabulary=6)
    start = np.array([0, 2, 5])
    greedy, greedy_ll = generate(step_fn, start, initial_state(3), steps=10, temperature=0)
    beams, scores = beam_search(step_fn, start, initial_state(3), steps=10, beam_width=1)
    np.testing.assert_array_equal(beams[:, 0], greedy)
    np.testing.assert_allclose(scores[:, 0], greedy_ll, rtol=1e-5)


def test_beam_search_finds_a_sequence_that_greedy_misses():
    # From the start token 0: A (1) with 0.6, B (2) with 0.4. After A every token is equally
    # likely (0.6 * 1/4 = 0.15 at best); after B token 3 has 0.9 (0.4 * 0.9 = 0.36).
    step_fn = table_step_fn([
        [0.0, 0.6, 0.4, 0.0],
        [0.25, 0.25, 0.25, 0.25],
        [0.0, 0.05, 0.05, 0.9],
        [0.25, 0.25, 0.25, 0.25],
    ])
    greedy, greedy_ll = generate(step_fn, [0], np.zeros((1, 1)), steps=2, temperature=0)
    beams, scores = beam_search(step_fn, [0], np.zeros((1, 1)), steps=2, beam_width=2)
    assert greedy[0, 0] == 1 and greedy_ll[0] == pytest.approx(np.log(0.15), rel=1e-5)
    assert beams[0, 0].tolist() == [2, 3] and scores[0, 0] == pytest.approx(np.log(0.36), rel=1e-5)
    assert beams[0, 1, 0] == 1 and scores[0, 1] == pytest.approx(np.log(0.15), rel=1e-5)


def nested_step_fn(vocabulary=4):
    """A step_fn with a nested state: the token before the current one (a second-order Markov
    chain) and how often each token occurred (repeats are penalised). Its best sequences need
    every part of the state gathered along with the beams."""
    first = ops.convert_to_tensor(RNG.normal(scale=1.5, size=(vocabulary, vocabulary)).astype("float32"))
    second = ops.convert_to_tensor(RNG.normal(scale=1.5, size=(vocabulary, vocabulary)).astype("float32"))

    def step_fn(tokens, state):
        tokens = ops.cast(tokens, "int32")
        (counts,) = state["memory"]
        logits = ops.take(first, tokens, axis=0) + ops.take(second, state["previous"], axis=0) - 0.8 * counts
        new_state = {"previous": tokens, "memory": (counts + ops.one_hot(tokens, vocabulary),)}
        return ops.log_softmax(logits, axis=-1), new_state

    def initial_state(tokens):
        return {"previous": ops.convert_to_tensor(np.asarray(tokens, "int32")),
                "memory": (ops.zeros((len(tokens), vocabulary)),)}

    return step_fn, initial_state


@pytest.mark.parametrize("model", ["rnn", "nested"])
def test_a_beam_as_wide_as_all_prefixes_is_exact(model):
    V, steps = 4, 3
    if model == "rnn":
        step_fn, make_state = rnn_step_fn(vocabulary=V)
        initial_state = lambda tokens: make_state(len(tokens))  # noqa: E731
    else:
        step_fn, initial_state = nested_step_fn(V)
    start = [1, 3]
    beams, scores = beam_search(step_fn, start, initial_state(start), steps=steps, beam_width=V ** (steps - 1))
    assert beams.shape == (2, V ** (steps - 1), steps)
    for row, token in enumerate(start):
        # brute force: score all V**steps sequences at once, one row each
        every = np.array(list(itertools.product(range(V), repeat=steps)))
        state, tokens, total = initial_state([token] * len(every)), np.full(len(every), token), 0.0
        for t in range(steps):
            log_probs, state = step_fn(ops.convert_to_tensor(tokens.astype("int32")), state)
            total = total + numpy_of(log_probs)[np.arange(len(every)), every[:, t]]
            tokens = every[:, t]
        best = np.argsort(-total, kind="stable")[: V ** (steps - 1)]
        np.testing.assert_array_equal(beams[row, 0], every[best[0]])
        np.testing.assert_allclose(scores[row], total[best], rtol=1e-5)


def test_beam_search_treats_batch_rows_independently():
    step_fn, make_state = rnn_step_fn(vocabulary=6)
    together, together_scores = beam_search(step_fn, [0, 4, 2], make_state(3), steps=5, beam_width=3)
    for row, token in enumerate([0, 4, 2]):
        alone, alone_scores = beam_search(step_fn, [token], make_state(1), steps=5, beam_width=3)
        np.testing.assert_array_equal(together[row], alone[0])
        np.testing.assert_allclose(together_scores[row], alone_scores[0], rtol=1e-5)


def test_end_token_finishes_a_beam_and_length_penalty_ranks_by_mean_log_probability():
    # Token 0 ends. From the start (token 1): end with 0.4, or 2 with 0.6; after 2: end with 0.5.
    step_fn = table_step_fn([[1.0, 0.0, 0.0], [0.4, 0.0, 0.6], [0.5, 0.0, 0.5]])
    short, short_scores = beam_search(step_fn, [1], np.zeros((1, 1)), steps=6, beam_width=2, end_token=0)
    # [end] scores log 0.4 = -0.92 > [2, end] = log 0.3 = -1.20: the raw sum prefers stopping.
    assert short[0, 0].tolist()[:1] == [0] and np.all(short[0, 0] == 0)
    assert short_scores[0, 0] == pytest.approx(np.log(0.4), rel=1e-5)
    assert short[0, 1].tolist()[:2] == [2, 0] and np.all(short[0, 1, 2:] == 0)
    assert short_scores[0, 1] == pytest.approx(np.log(0.3), rel=1e-5)
    # Per token, [2, end] is better (-0.60 against -0.92): length_penalty=1 ranks it first.
    long, long_scores = beam_search(step_fn, [1], np.zeros((1, 1)), steps=6, beam_width=2, end_token=0,
                                    length_penalty=1.0)
    assert long[0, 0].tolist()[:2] == [2, 0] and long_scores[0, 0] == pytest.approx(np.log(0.3), rel=1e-5)


def test_beam_search_stops_once_every_beam_has_ended():
    step_fn = table_step_fn([[1.0, 0.0], [0.9, 0.1]])
    beams, _ = beam_search(step_fn, [1], np.zeros((1, 1)), steps=50, beam_width=2, end_token=0)
    assert beams.shape[2] < 50 and np.all(beams[0, :, -1] == 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"beam_width": 0}, "beam_width"), ({"steps": 0}, "steps"), ({"length_penalty": -1.0}, "length_penalty")],
)
def test_beam_search_bad_input(kwargs, match):
    arguments = {"steps": 3, "beam_width": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        beam_search(table_step_fn(np.eye(2)), [0], np.zeros((1, 1)), **arguments)


@pytest.mark.parametrize("search", ["generate", "beam_search"])
@pytest.mark.parametrize(
    "broken, match",
    [
        # Before the check, logits were summed as if they were log-probabilities: a silent score.
        ("logits", r"`step_fn` must return log-probabilities.*row 0 has logsumexp 3 instead of 0"),
        ("probabilities", r"`step_fn` must return log-probabilities.*instead of 0"),
        ("nan", r"`step_fn` returned NaN"),
        ("one row", r"`step_fn` must return log-probabilities of shape \(rows, vocabulary\)"),
    ],
)
def test_search_checks_that_step_fn_returns_log_probabilities(search, broken, match):
    step_fn, initial_state = rnn_step_fn()
    fixes = {
        "logits": lambda p: p + 3.0,
        "probabilities": ops.exp,
        "nan": lambda p: p * float("nan"),
        "one row": lambda p: p[:1],
    }

    def broken_step_fn(tokens, state):
        log_probs, state = step_fn(tokens, state)
        return fixes[broken](log_probs), state

    run = {"generate": lambda f: generate(f, [0, 1], initial_state(2), steps=3, seed=0),
           "beam_search": lambda f: beam_search(f, [0, 1], initial_state(2), steps=3, beam_width=2)}
    run[search](step_fn)  # the contract kept: no error
    with pytest.raises(ValueError, match=match):
        run[search](broken_step_fn)
