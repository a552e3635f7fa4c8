"""Sequence to sequence (recipes/seq2seq.py): attention against NumPy references of the papers'
equations, the decoder against a NumPy reference, decoding (teacher forcing equals step by step,
beam 1 equals greedy), masking, gradients, save/load and bad input."""

import keras
import numpy as np
import pytest

from recipes.gated import GRUCell, LSTMCell
from recipes.seq2seq import (
    AttentionDecoder,
    BahdanauAttention,
    LuongAttention,
    Seq2Seq,
    greedy_decode,
)
from recipes.text import beam_search, generate
from tests.helpers import gradients, numpy_of

RNG = np.random.default_rng(0)
Q = RNG.normal(size=(3, 4)).astype("float32")  # (batch, Dq)
V = RNG.normal(size=(3, 6, 5)).astype("float32")  # (batch, S, Dv)
MASK = np.arange(6)[None, :] < np.array([6, 2, 4])[:, None]


def randomize(layer, seed=1, scale=0.5):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=scale, size=w.shape).astype("float32") for w in layer.get_weights()])


def softmax_masked(e, mask):
    e = np.where(mask, e, -np.inf)
    w = np.exp(e - e.max(axis=-1, keepdims=True))
    return w / w.sum(axis=-1, keepdims=True)


def bahdanau_numpy(q, values, mask, W_q, W_k, v_a):
    # e_s = v_a^T tanh(W_q q + W_k h_s); alpha = softmax(e); c = sum_s alpha_s h_s
    e = np.stack([np.tanh(q @ W_q + values[:, s] @ W_k) @ v_a[:, 0] for s in range(values.shape[1])], 1)
    alpha = softmax_masked(e, mask)
    return np.einsum("bs,bsd->bd", alpha, values), alpha


def luong_numpy(q, values, mask, W_a=None):
    # score = q^T W_a h_s ("general") or q^T h_s ("dot")
    qa = q if W_a is None else q @ W_a
    alpha = softmax_masked(np.einsum("bd,bsd->bs", qa, values), mask)
    return np.einsum("bs,bsd->bd", alpha, values), alpha


# --- attention -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [None, MASK], ids=["no-mask", "mask"])
def test_bahdanau_attention_matches_numpy_equations(mask):
    layer = BahdanauAttention(7)
    layer(Q, V)
    randomize(layer)
    W_q, W_k, v_a = layer.get_weights()
    assert W_q.shape == (4, 7) and W_k.shape == (5, 7) and v_a.shape == (7, 1)
    context, weights = layer(Q, V, mask=mask)
    full = np.ones((3, 6), bool) if mask is None else mask
    expected_c, expected_w = bahdanau_numpy(Q, V, full, W_q, W_k, v_a)
    np.testing.assert_allclose(numpy_of(weights), expected_w, atol=1e-5)
    np.testing.assert_allclose(numpy_of(context), expected_c, atol=1e-5)


@pytest.mark.parametrize("score", ["general", "dot"])
@pytest.mark.parametrize("mask", [None, MASK], ids=["no-mask", "mask"])
def test_luong_attention_matches_numpy_equations(score, mask):
    q = Q if score == "general" else RNG.normal(size=(3, 5)).astype("float32")
    layer = LuongAttention(score)
    layer(q, V)
    randomize(layer)
    W_a = layer.get_weights()[0] if score == "general" else None
    assert score == "dot" or W_a.shape == (4, 5)
    context, weights = layer(q, V, mask=mask)
    full = np.ones((3, 6), bool) if mask is None else mask
    expected_c, expected_w = luong_numpy(q, V, full, W_a)
    np.testing.assert_allclose(numpy_of(weights), expected_w, atol=1e-5)
    np.testing.assert_allclose(numpy_of(context), expected_c, atol=1e-5)


# Sizes of 1 (one decoder step, one sequence, one source position) are where TensorFlow's oneDNN
# broadcast batch matmul returned wrong numbers on AVX-512 CPUs (TF 2.20 and 2.21): (B, 1, S, U) @
# (U, 1) was off by up to 4. Every shape here must equal the NumPy equations, query by query.
@pytest.mark.parametrize("batch, steps, sources, units", [(1, 1, 1, 16), (3, 1, 6, 7), (1, 1, 9, 16),
                                                          (4, 1, 5, 16), (2, 3, 1, 7), (2, 5, 6, 33)])
@pytest.mark.parametrize("kind", ["bahdanau", "general", "dot"])
def test_attention_equals_numpy_at_sizes_of_one(kind, batch, steps, sources, units):
    rng = np.random.default_rng(batch * 100 + steps * 10 + sources)
    dq = 5 if kind == "dot" else 4
    q = rng.normal(size=(batch, steps, dq)).astype("float32")
    v = rng.normal(size=(batch, sources, 5)).astype("float32")
    layer = BahdanauAttention(units) if kind == "bahdanau" else LuongAttention(kind)
    layer(q, v)
    randomize(layer, seed=2)
    context, weights = (numpy_of(x) for x in layer(q, v))
    for t in range(steps):
        full = np.ones((batch, sources), bool)
        if kind == "bahdanau":
            expected_c, expected_w = bahdanau_numpy(q[:, t], v, full, *layer.get_weights())
        else:
            expected_c, expected_w = luong_numpy(q[:, t], v, full, *layer.get_weights())
        np.testing.assert_allclose(weights[:, t], expected_w, atol=1e-5)
        np.testing.assert_allclose(context[:, t], expected_c, atol=1e-5)
    single_c, single_w = (numpy_of(x) for x in layer(q[:, 0], v))  # the decoder's (batch, Dq) query
    np.testing.assert_allclose(single_w, weights[:, 0], atol=1e-5)
    np.testing.assert_allclose(single_c, context[:, 0], atol=1e-5)


@pytest.mark.parametrize("make", [lambda: BahdanauAttention(7), lambda: LuongAttention()], ids=["bahdanau", "luong"])
def test_attention_weights_are_a_distribution_that_ignores_masked_positions(make):
    layer = make()
    context, weights = layer(Q, V, mask=MASK)
    weights = numpy_of(weights)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert (weights >= 0).all()
    np.testing.assert_array_equal(weights[~MASK], 0.0)
    # what is behind the mask cannot change the context
    noisy = V + 100.0 * (~MASK)[:, :, None]
    np.testing.assert_allclose(numpy_of(layer(Q, noisy, mask=MASK)[0]), numpy_of(context), atol=1e-5)
    # T queries at once give the same as one at a time
    queries = np.stack([Q, 2 * Q], axis=1)
    c2, w2 = layer(queries, V, mask=MASK)
    assert tuple(c2.shape) == (3, 2, 5) and tuple(w2.shape) == (3, 2, 6)
    np.testing.assert_allclose(numpy_of(w2)[:, 0], weights, atol=1e-6)
    np.testing.assert_allclose(numpy_of(c2)[:, 1], numpy_of(layer(2 * Q, V, mask=MASK)[0]), atol=1e-5)


@pytest.mark.parametrize("make", [lambda: BahdanauAttention(7), lambda: LuongAttention("general")], ids=["bahdanau", "luong"])
def test_attention_save_load_round_trip(make, tmp_path):
    q_in, v_in = keras.Input((4,)), keras.Input((6, 5))
    context, weights = make()(q_in, v_in)
    model = keras.Model([q_in, v_in], [context, weights])
    randomize(model)
    path = str(tmp_path / "attention.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    for got, expected in zip(loaded([Q, V]), model([Q, V])):
        np.testing.assert_allclose(numpy_of(got), numpy_of(expected), atol=1e-6)


def test_attention_bad_arguments():
    for units in [0, -3, 2.5, "8", True]:
        with pytest.raises(ValueError, match="units"):
            BahdanauAttention(units)
    with pytest.raises(ValueError, match="score"):
        LuongAttention("concat")
    with pytest.raises(ValueError, match="score"):
        LuongAttention("dot")(Q, V)  # Dq = 4, Dv = 5
    with pytest.raises(ValueError, match="values"):
        LuongAttention()(Q, V[:, 0])
    with pytest.raises(ValueError, match="query"):
        BahdanauAttention(3)(Q[:, :, None, None], V)
    with pytest.raises(ValueError, match="mask"):
        LuongAttention()(Q, V, mask=MASK[:, :4])


# --- the decoder ---------------------------------------------------------------------------------


def decoder_numpy(x, values, mask, cell_weights, W_a, W_c, W_b, b_b):
    """Luong's decoder with input feeding and a bridge, on an Elman (SimpleRNN) cell."""
    W, U, b = cell_weights
    m = mask[:, :, None].astype(float)
    s = np.tanh((values * m).sum(1) / m.sum(1) @ W_b + b_b)  # s_0
    feed = np.zeros((x.shape[0], W_c.shape[1]))
    outputs, alphas = [], []
    for t in range(x.shape[1]):
        s = np.tanh(np.concatenate([x[:, t], feed], -1) @ W + s @ U + b)  # h_t = s_t
        context, alpha = luong_numpy(s, values, mask, W_a)
        feed = np.tanh(np.concatenate([context, s], -1) @ W_c)  # h~_t
        outputs.append(feed)
        alphas.append(alpha)
    return np.stack(outputs, 1), np.stack(alphas, 1)


X = RNG.normal(size=(3, 4, 2)).astype("float32")  # embedded target inputs (batch, T, features)


def test_attention_decoder_matches_numpy_equations():
    decoder = AttentionDecoder(keras.layers.SimpleRNNCell(6), LuongAttention(), units=3)
    decoder(X, V, values_mask=MASK)
    randomize(decoder)
    W, U, b = decoder.cell.get_weights()
    assert W.shape == (2 + 3, 6)  # input feeding: [x_t ; h~_{t-1}]
    (W_a,) = decoder.attention.get_weights()
    W_c, W_b, b_b = decoder.output_kernel, decoder.bridge_kernel, decoder.bridge_bias
    expected, expected_alpha = decoder_numpy(
        X, V, MASK, (W, U, b), W_a, numpy_of(W_c), numpy_of(W_b), numpy_of(b_b)
    )
    outputs, alpha = decoder(X, V, values_mask=MASK, return_attention=True)
    np.testing.assert_allclose(numpy_of(outputs), expected, atol=1e-5)
    np.testing.assert_allclose(numpy_of(alpha), expected_alpha, atol=1e-5)


def test_attention_decoder_without_input_feeding_and_bridge():
    decoder = AttentionDecoder(GRUCell(6), BahdanauAttention(5), units=3, input_feeding=False, bridge=False)
    outputs = decoder(X, V)
    assert tuple(outputs.shape) == (3, 4, 3)
    assert decoder.cell.kernel.shape == (2, 18)  # the cell reads x_t only
    assert not hasattr(decoder, "bridge_kernel")
    # without input feeding, step t depends on x_1 ... x_t only (causal)
    changed = X.copy()
    changed[:, 2:] += 1.0
    np.testing.assert_allclose(numpy_of(decoder(changed, V))[:, :2], numpy_of(outputs)[:, :2], atol=1e-6)


class _DecoderOnConcatenation(keras.Model):
    """A one-input model for the gradient helper: x = [values ; target inputs] along time."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def call(self, x, training=None):
        return self.decoder(x[:, 6:, :2], x[:, :6], training=training)


@pytest.mark.parametrize("cell", [lambda: GRUCell(6), lambda: LSTMCell(6)], ids=["GRU", "LSTM"])
def test_gradients_reach_every_weight_and_the_inputs(cell):
    model = _DecoderOnConcatenation(AttentionDecoder(cell(), BahdanauAttention(5), units=3))
    x = np.concatenate([V, np.pad(X, ((0, 0), (0, 0), (0, 3)))], axis=1)
    model(x)
    weight_grads, x_grad = gradients(model, x, lambda y: keras.ops.sum(y ** 2))
    assert len(weight_grads) == len(model.trainable_weights) == 3 + 3 + 3  # cell, attention, W_c W_b b_b
    for w, g in zip(model.trainable_weights, weight_grads):
        assert np.isfinite(g).all() and np.abs(g).max() > 0, w.path
    assert np.abs(x_grad[:, :6]).max() > 0 and np.abs(x_grad[:, 6:, :2]).max() > 0


def test_attention_decoder_bad_arguments():
    with pytest.raises(ValueError, match="cell"):
        AttentionDecoder("gru", LuongAttention(), units=3)
    with pytest.raises(ValueError, match="attention"):
        AttentionDecoder(GRUCell(4), keras.layers.Dense(3), units=3)
    with pytest.raises(ValueError, match="units"):
        AttentionDecoder(GRUCell(4), LuongAttention(), units=0)
    with pytest.raises(ValueError, match="inputs"):
        AttentionDecoder(GRUCell(4), LuongAttention(), units=3)(X[:, 0], V)


# --- the encoder-decoder and decoding ------------------------------------------------------------

SOURCE = np.array([[3, 4, 5, 6, 2], [7, 3, 0, 0, 0], [5, 5, 5, 9, 0]], dtype="int32")  # 0 = padding
TARGET_IN = np.array([[1, 4, 5, 6], [1, 3, 0, 0], [1, 8, 8, 2]], dtype="int32")
START, END = 1, 2


def make_model(attention="luong", cell=GRUCell, **cell_kwargs):
    encoder = keras.layers.Bidirectional(keras.layers.RNN(GRUCell(6), return_sequences=True))
    att = LuongAttention() if attention == "luong" else BahdanauAttention(5)
    model = Seq2Seq(10, 9, encoder, AttentionDecoder(cell(8, **cell_kwargs), att, units=7), embedding_dim=4)
    model((SOURCE, TARGET_IN))
    randomize(model, scale=1.0)
    for w in model.weights:  # no biases and a sharp output layer, so that the choices vary
        if "bias" in w.path:
            w.assign(np.zeros(w.shape, "float32"))
    model.output_layer.kernel.assign(3.0 * model.output_layer.kernel)
    return model


@pytest.mark.parametrize("attention, cell", [("luong", GRUCell), ("bahdanau", LSTMCell)], ids=["luong-GRU", "bahdanau-LSTM"])
def test_seq2seq_shapes_and_padding_invariance(attention, cell):
    model = make_model(attention, cell)
    logits, alpha = model((SOURCE, TARGET_IN), return_attention=True)
    assert tuple(logits.shape) == (3, 4, 9) and tuple(alpha.shape) == (3, 4, 5)
    np.testing.assert_array_equal(numpy_of(alpha).transpose(0, 2, 1)[SOURCE == 0], 0.0)
    # more padding on the source changes nothing
    padded = np.pad(SOURCE, ((0, 0), (0, 3)))
    np.testing.assert_allclose(numpy_of(model((padded, TARGET_IN))), numpy_of(logits), atol=1e-5)


@pytest.mark.parametrize("attention, cell", [("luong", GRUCell), ("bahdanau", LSTMCell)], ids=["luong-GRU", "bahdanau-LSTM"])
def test_step_by_step_decoding_equals_teacher_forcing(attention, cell):
    model = make_model(attention, cell)
    tokens, scores = greedy_decode(model.step_fn, np.full(3, START), model.encode(SOURCE), steps=6)
    assert tokens.shape == (3, 6) and len(set(tokens.ravel().tolist())) > 2  # not a constant output
    # fed back as the teacher-forced input, the greedy tokens are the arg max at every position
    target_in = np.concatenate([np.full((3, 1), START), tokens[:, :-1]], axis=1)
    log_probs = numpy_of(keras.ops.log_softmax(model((SOURCE, target_in)), axis=-1))
    np.testing.assert_array_equal(log_probs.argmax(-1), tokens)
    expected = np.take_along_axis(log_probs, tokens[:, :, None], axis=-1)[:, :, 0].sum(1)
    np.testing.assert_allclose(scores, expected, rtol=1e-4)


def test_beam_of_width_one_equals_greedy():
    model = make_model()
    state = model.encode(SOURCE)
    greedy, greedy_scores = greedy_decode(model.step_fn, np.full(3, START), state, steps=6, end_token=END)
    beam, beam_scores = beam_search(model.step_fn, np.full(3, START), state, steps=6, beam_width=1, end_token=END)
    np.testing.assert_array_equal(beam[:, 0], greedy)
    np.testing.assert_allclose(beam_scores[:, 0], greedy_scores, rtol=1e-6)
    sampled, _ = generate(model.step_fn, np.full(3, START), state, steps=greedy.shape[1], temperature=0, end_token=END)
    np.testing.assert_array_equal(sampled, greedy)


def test_beam_search_scores_are_the_models_log_probabilities_of_its_sequences():
    model = make_model("bahdanau", LSTMCell)
    beams, scores = beam_search(model.step_fn, np.full(3, START), model.encode(SOURCE), steps=5, beam_width=3)
    assert beams.shape == (3, 3, 5) and (np.diff(scores, axis=1) <= 1e-9).all()  # best first
    for j in range(3):  # score every beam again by teacher forcing
        target_in = np.concatenate([np.full((3, 1), START), beams[:, j, :-1]], axis=1)
        log_probs = numpy_of(keras.ops.log_softmax(model((SOURCE, target_in)), axis=-1))
        expected = np.take_along_axis(log_probs, beams[:, j, :, None], axis=-1)[:, :, 0].sum(1)
        np.testing.assert_allclose(scores[:, j], expected, rtol=1e-4)


def test_greedy_decode_pads_finished_rows_with_the_end_token():
    def step_fn(tokens, state):  # row 0 ends at once, row 1 says 3 then ends
        t = state["t"]
        logits = np.full((2, 4), -5.0)
        logits[0, END] = 0.0
        logits[1, 3 if numpy_of(t)[1] == 0 else END] = 0.0
        return keras.ops.log_softmax(logits), {"t": t + 1}

    tokens, scores = greedy_decode(step_fn, np.full(2, START), {"t": keras.ops.zeros((2,))}, steps=5, end_token=END)
    np.testing.assert_array_equal(tokens, [[END, END], [3, END]])
    assert scores.shape == (2,) and (scores < 0).all()


def test_seq2seq_trains_with_dropout_and_every_weight_moves():
    model = make_model(cell=GRUCell, dropout=0.2, recurrent_dropout=0.2)
    target_out = np.concatenate([TARGET_IN[:, 1:], np.full((3, 1), END)], axis=1)
    # Compiling the step is cheaper than running it eagerly on JAX, dearer with XLA on TensorFlow.
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=keras.backend.backend() == "jax",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [numpy_of(w).copy() for w in model.trainable_weights]
    model.fit((SOURCE, TARGET_IN), target_out, sample_weight=(target_out != 0).astype("float32"),
              epochs=1, batch_size=3, verbose=0)
    for w, b in zip(model.trainable_weights, before):
        assert np.abs(numpy_of(w) - b).max() > 0, w.path


def test_seq2seq_save_load_round_trip(tmp_path):
    model = make_model("bahdanau", LSTMCell)
    path = str(tmp_path / "seq2seq.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.decoder.attention, BahdanauAttention)
    np.testing.assert_allclose(numpy_of(loaded((SOURCE, TARGET_IN))), numpy_of(model((SOURCE, TARGET_IN))), atol=1e-6)
    tokens, _ = greedy_decode(model.step_fn, np.full(3, START), model.encode(SOURCE), steps=4)
    loaded_tokens, _ = greedy_decode(loaded.step_fn, np.full(3, START), loaded.encode(SOURCE), steps=4)
    np.testing.assert_array_equal(loaded_tokens, tokens)


def test_seq2seq_and_greedy_decode_bad_arguments():
    encoder = keras.layers.Bidirectional(keras.layers.RNN(GRUCell(6), return_sequences=True))
    with pytest.raises(ValueError, match="decoder"):
        Seq2Seq(10, 9, encoder, GRUCell(4))
    with pytest.raises(ValueError, match="source_vocab_size"):
        Seq2Seq(0, 9, encoder, AttentionDecoder(GRUCell(4), LuongAttention(), 3))
    with pytest.raises(ValueError, match="steps"):
        greedy_decode(lambda t, s: (t, s), np.ones(2), {}, steps=0)
    with pytest.raises(ValueError, match="tokens"):
        greedy_decode(lambda t, s: (t, s), np.ones(0), {}, steps=3)


# --- the optional TFDS path ----------------------------------------------------------------------


def test_ted_hrlr_translate_loads_pairs_from_mock_data():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("TensorFlow Datasets runs with TensorFlow")
    tfds = pytest.importorskip("tensorflow_datasets")
    from recipes.seq2seq import ted_hrlr_translate

    with tfds.testing.mock_data(num_examples=5):
        pairs = ted_hrlr_translate("pt_to_en", split="train")
        assert len(pairs) == 5
        assert all(isinstance(s, str) and isinstance(t, str) for s, t in pairs)
        assert len(ted_hrlr_translate("pt_to_en", split="test", limit=3)) == 3
    with pytest.raises(ValueError, match="pair"):
        ted_hrlr_translate("portuguese")
    with pytest.raises(ValueError, match="limit"):
        ted_hrlr_translate("pt_to_en", limit=0)
