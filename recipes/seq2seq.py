"""Sequence to sequence with attention: additive and multiplicative attention, an attention
decoder built on any recurrent cell, and an encoder-decoder model with a step function for
greedy and beam-search decoding.

The pieces, in the order a translation notebook uses them:

    attention = BahdanauAttention(64)                   # or LuongAttention("general")
    context, weights = attention(query, values)         # (batch, Dv), (batch, S)
    decoder = AttentionDecoder(GRUCell(64), attention, units=64)
    model = Seq2Seq(source_vocab, target_vocab, encoder, decoder)
    logits = model((source, target_in))                  # teacher forcing, (batch, T, vocab)
    state = model.encode(source)                         # everything a decoding step needs
    sequences, scores = beam_search(model.step_fn, start_tokens, state, steps, beam_width=4)

`model.step_fn(tokens, state) -> (log_probs, new_state)` is the interface of `recipes.text`'s
`generate` and `beam_search`: the state is a dict of tensors whose leading dimension is the number
of rows, so a beam search can repeat and reorder it. `greedy_decode` below is the same loop with
the arg max at every step (a beam of width 1).

Only `keras`, `keras.ops` and NumPy are used, so everything runs on the TensorFlow, JAX and
PyTorch backends.

Shared helper: `recipes/base.py` (argument checks).
"""

import keras
import numpy as np
from keras import initializers, ops

from recipes.base import check_positive_int, serialize


# --- attention -----------------------------------------------------------------------------------


def _project(x, kernel):
    """x (..., D) times kernel (D, K) as one 2-D product, reshaped back to (..., K).

    `ops.matmul` of a rank-3 or rank-4 tensor by a matrix is a broadcast batch matmul, and
    TensorFlow's oneDNN kernel for it returns wrong numbers (and can corrupt the heap) on
    AVX-512 CPUs for shapes with a dimension of 1, such as one decoder step: (B, 1, S, U) @ (U, 1)
    was off by 0.8-4 on TensorFlow 2.20 with Keras 3.13 (Keras 3.15 routes it through tensordot;
    plain tf.matmul on 2.21 still fails). A plain 2-D product has no such case.
    """
    shape = ops.shape(x)
    flat = ops.matmul(ops.reshape(x, (-1, shape[-1])), kernel)
    return ops.reshape(flat, tuple(shape[:-1]) + (ops.shape(kernel)[-1],))


class _Attention(keras.layers.Layer):
    """What the two attention layers share: shape checks, masking, the softmax and the context.

    Subclasses define `keys(values)` (what can be computed once per source sequence) and
    `score(query, keys)`, which maps queries (batch, T, Dq) to scores (batch, T, S).
    """

    def build(self, query_shape, values_shape):
        name = type(self).__name__
        if query_shape is None or len(query_shape) not in (2, 3) or query_shape[-1] is None:
            raise ValueError(
                f"{name} expects a `query` of shape (batch, Dq) (or (batch, T, Dq)) with a known "
                f"Dq, got shape {query_shape}."
            )
        if values_shape is None or len(values_shape) != 3 or values_shape[-1] is None:
            raise ValueError(
                f"{name} expects `values` of shape (batch, S, Dv) with a known Dv, got shape "
                f"{values_shape}."
            )
        self.query_size, self.values_size = int(query_shape[-1]), int(values_shape[-1])

    def keys(self, values):
        """The part of the score that depends on the values only (computed once per sequence)."""
        return values

    def attend(self, query, values, keys, mask=None):
        """Context and weights for queries (batch, Dq) or (batch, T, Dq), given `keys(values)`."""
        single = len(query.shape) == 2
        if single:
            query = ops.expand_dims(query, 1)
        scores = self.score(query, keys)  # (batch, T, S)
        if mask is not None:
            mask = ops.expand_dims(ops.cast(mask, "bool"), 1)
            scores = ops.where(mask, scores, ops.cast(-1e9, scores.dtype))
        weights = ops.softmax(scores, axis=-1)
        if mask is not None:  # exactly zero, also for a row whose positions are all masked
            weights = weights * ops.cast(mask, weights.dtype)
        context = ops.matmul(weights, values)  # (batch, T, Dv)
        if single:
            context, weights = ops.squeeze(context, 1), ops.squeeze(weights, 1)
        return context, weights

    def call(self, query, values, mask=None):
        if mask is not None and len(mask.shape) != 2:
            raise ValueError(
                f"`mask` must have shape (batch, S) like the first two axes of `values` "
                f"{tuple(values.shape)}, got shape {tuple(mask.shape)}."
            )
        if mask is not None and None not in (mask.shape[1], values.shape[1]) and (
            mask.shape[1] != values.shape[1]
        ):
            raise ValueError(
                f"`mask` must have shape (batch, S) with S = {values.shape[1]} source positions, "
                f"got shape {tuple(mask.shape)}."
            )
        return self.attend(query, values, self.keys(values), mask)

    def compute_mask(self, query, previous_mask=None):
        return None

    def compute_output_shape(self, query_shape, values_shape):
        return tuple(query_shape[:-1]) + (values_shape[-1],), tuple(query_shape[:-1]) + (
            values_shape[1],
        )


@keras.saving.register_keras_serializable(package="recipes")
class BahdanauAttention(_Attention):
    """Additive attention: a one-hidden-layer network scores every source position.

    Equations (Bahdanau, Cho and Bengio 2015, eq. 6 and appendix A; q is the decoder's query,
    h_s the s-th of the S values, v_a, W_q and W_k the weights):

        e_s      = v_a^T tanh(W_q q + W_k h_s)
        alpha_s  = exp(e_s) / sum_s' exp(e_s')          (masked positions get alpha_s = 0)
        c        = sum_s alpha_s h_s

    Bahdanau et al. score the previous decoder state s_{i-1}; in `AttentionDecoder` the query is
    the current state h_t, which Luong et al. (2015) call the "concat" score. W_k h_s does not
    depend on the query: `keys(values)` computes it once per source sequence. Weights:
    `query_kernel` W_q (Dq, units), `key_kernel` W_k (Dv, units), `score_vector` v_a (units,).

    Reference: D. Bahdanau, K. Cho and Y. Bengio (2015), "Neural machine translation by jointly
    learning to align and translate", ICLR.

    Args:
        units: size of the hidden layer of the scoring network.
        kernel_initializer: initializer of W_q, W_k and v_a.

    Call arguments:
        query: q, shape (batch, Dq) (or (batch, T, Dq) for T queries at once).
        values: h_1 ... h_S, shape (batch, S, Dv).
        mask: optional bool (batch, S), False at padded source positions. Pass it explicitly:
            Keras fills an empty `mask` with the mask of `query`, not of `values`.

    Returns:
        (context, weights): c of shape (batch, Dv) and alpha of shape (batch, S) (with a
        (batch, T, .) query, (batch, T, Dv) and (batch, T, S)).

    Example:
        >>> context, weights = BahdanauAttention(8)(np.zeros((2, 4), "float32"), np.zeros((2, 5, 3), "float32"))
        >>> tuple(context.shape), tuple(weights.shape)
        ((2, 3), (2, 5))
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.kernel_initializer = initializers.get(kernel_initializer)

    def build(self, query_shape, values_shape):
        super().build(query_shape, values_shape)
        add = lambda name, shape: self.add_weight(  # noqa: E731
            shape=shape, name=name, initializer=self.kernel_initializer
        )
        self.query_kernel = add("query_kernel", (self.query_size, self.units))
        self.key_kernel = add("key_kernel", (self.values_size, self.units))
        self.score_vector = add("score_vector", (self.units, 1))

    def keys(self, values):
        return _project(values, self.key_kernel)  # W_k h_s, (batch, S, units)

    def score(self, query, keys):
        q = _project(query, self.query_kernel)  # W_q q, (batch, T, units)
        hidden = ops.tanh(ops.expand_dims(q, 2) + ops.expand_dims(keys, 1))  # (batch, T, S, units)
        return ops.squeeze(_project(hidden, self.score_vector), -1)  # v_a^T tanh(.)

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(units=self.units, kernel_initializer=self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="recipes")
class LuongAttention(_Attention):
    """Multiplicative attention: the score is a (bilinear) dot product of query and value.

    Equations (Luong, Pham and Manning 2015, eq. 7 and 8; q is the decoder's query h_t, h_s the
    s-th of the S values):

        score(q, h_s) = q^T h_s              ("dot": needs Dq = Dv, no weights)
        score(q, h_s) = q^T W_a h_s          ("general": W_a of shape (Dq, Dv))
        alpha_s       = exp(score(q, h_s)) / sum_s' exp(score(q, h_s'))   (masked: alpha_s = 0)
        c             = sum_s alpha_s h_s

    The product q^T W_a is computed first, so a step costs Dq Dv + S Dv multiplications rather
    than S Dq Dv. Weight (for "general"): `kernel` W_a (Dq, Dv).

    Reference: M.-T. Luong, H. Pham and C. D. Manning (2015), "Effective approaches to
    attention-based neural machine translation", EMNLP.

    Args:
        score: "general" (default) or "dot".
        kernel_initializer: initializer of W_a.

    Call arguments:
        query: q, shape (batch, Dq) (or (batch, T, Dq) for T queries at once).
        values: h_1 ... h_S, shape (batch, S, Dv).
        mask: optional bool (batch, S), False at padded source positions. Pass it explicitly:
            Keras fills an empty `mask` with the mask of `query`, not of `values`.

    Returns:
        (context, weights): c of shape (batch, Dv) and alpha of shape (batch, S) (with a
        (batch, T, .) query, (batch, T, Dv) and (batch, T, S)).

    Example:
        >>> context, weights = LuongAttention("dot")(np.zeros((2, 3), "float32"), np.zeros((2, 5, 3), "float32"))
        >>> tuple(context.shape), tuple(weights.shape)
        ((2, 3), (2, 5))
    """

    scores = ("dot", "general")

    def __init__(self, score="general", kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if score not in self.scores:
            raise ValueError(f"`score` must be one of {self.scores}, got {score!r}.")
        self.score_name = score
        self.kernel_initializer = initializers.get(kernel_initializer)

    def build(self, query_shape, values_shape):
        super().build(query_shape, values_shape)
        self.kernel = None
        if self.score_name == "dot" and self.query_size != self.values_size:
            raise ValueError(
                f"`score`='dot' needs queries and values of the same size, got Dq = "
                f"{self.query_size} and Dv = {self.values_size}; use score='general'."
            )
        if self.score_name == "general":
            self.kernel = self.add_weight(
                shape=(self.query_size, self.values_size),
                name="kernel",
                initializer=self.kernel_initializer,
            )

    def score(self, query, keys):
        if self.kernel is not None:
            query = _project(query, self.kernel)  # q^T W_a, (batch, T, Dv)
        return ops.matmul(query, ops.transpose(keys, (0, 2, 1)))  # (batch, T, S)

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(score=self.score_name, kernel_initializer=self.kernel_initializer),
        }


# --- the decoder ---------------------------------------------------------------------------------


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


@keras.saving.register_keras_serializable(package="recipes")
class AttentionDecoder(keras.layers.Layer):
    """A recurrent decoder that attends over the encoder's outputs at every step.

    Equations (Luong, Pham and Manning 2015, global attention with input feeding; x_t is the
    embedded previous target token, h_t the cell's output, h_1 ... h_S the encoder's outputs):

        h_t, s_t = cell([x_t ; h~_{t-1}], s_{t-1})       (without input feeding: cell(x_t, .))
        c_t, alpha_t = attention(h_t, h_1 ... h_S)
        h~_t     = tanh(W_c [c_t ; h_t])                  (the attentional hidden state)
        s_0      = tanh(W_b mean_s(h_s) + b_b)            (the bridge; zeros with bridge=False)

    A `keras.layers.Dense(vocabulary)` on h~_t gives the next token's logits. Input feeding
    hands the previous step's h~ to the cell, so the decoder knows what it attended to before.
    Any `keras.layers.RNN` cell works (`recipes.GRUCell`, `recipes.LSTMCell`, Keras's own); any
    attention with `keys(values)` and `attend(query, values, keys, mask)` works
    (`BahdanauAttention`, `LuongAttention`). The bridge starts the decoder from the (masked) mean
    of the encoder's outputs, as Bahdanau et al. start it from the backward encoder's first
    state. Weights: `output_kernel` W_c (Dv + Dh, units); with the bridge `bridge_kernel` W_b
    (Dv, sum of the cell's state sizes) and `bridge_bias` b_b.

    Training is teacher-forced: `call` runs the steps over the given target inputs (a Python loop
    over a known number of steps T). Decoding runs `step` one token at a time (see `Seq2Seq`).

    Reference: M.-T. Luong, H. Pham and C. D. Manning (2015), "Effective approaches to
    attention-based neural machine translation", EMNLP.

    Args:
        cell: a recurrent cell (`call(inputs, states, training) -> (h_t, new_states)`, a
            `state_size`); its first state is its output.
        attention: an attention layer, e.g. `BahdanauAttention(64)` or `LuongAttention()`.
        units: size of the attentional hidden state h~.
        input_feeding: feed h~_{t-1} to the cell with x_t.
        bridge: start the cell's states from the encoder's outputs (else from zeros).
        kernel_initializer: initializer of W_c and W_b.

    Call arguments:
        inputs: the embedded target inputs x_1 ... x_T (teacher forcing), (batch, T, features).
        values: the encoder's outputs, (batch, S, Dv).
        values_mask: optional bool (batch, S), False at padded source positions (Keras fills it
            from the mask that travels with `values`).
        return_attention: also return the weights alpha, (batch, T, S).
        training: whether the cell applies dropout.

    Returns:
        h~_1 ... h~_T, shape (batch, T, units) (and alpha with `return_attention=True`).

    Example:
        >>> decoder = AttentionDecoder(keras.layers.GRUCell(16), LuongAttention(), units=16)
        >>> tuple(decoder(np.zeros((2, 7, 5), "float32"), np.zeros((2, 4, 8), "float32")).shape)
        (2, 7, 16)
    """

    def __init__(self, cell, attention, units, input_feeding=True, bridge=True,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if not (hasattr(cell, "state_size") and callable(cell)):
            raise ValueError(f"`cell` must be a recurrent cell with a `state_size`, got {cell!r}.")
        if not (hasattr(attention, "keys") and hasattr(attention, "attend")):
            raise ValueError(
                f"`attention` must be an attention layer with `keys` and `attend` (e.g. "
                f"BahdanauAttention or LuongAttention), got {attention!r}."
            )
        self.cell = cell
        self.attention = attention
        self.units = check_positive_int("units", units)
        self.input_feeding = bool(input_feeding)
        self.bridge = bool(bridge)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.state_sizes = [int(s) for s in _as_list(cell.state_size)]

    def build(self, inputs_shape, values_shape):
        if inputs_shape is None or len(inputs_shape) != 3 or inputs_shape[-1] is None:
            raise ValueError(
                f"AttentionDecoder expects `inputs` of shape (batch, T, features) with known "
                f"features, got shape {inputs_shape}."
            )
        if values_shape is None or len(values_shape) != 3 or values_shape[-1] is None:
            raise ValueError(
                f"AttentionDecoder expects `values` of shape (batch, S, Dv) with a known Dv, got "
                f"shape {values_shape}."
            )
        features, values_size = int(inputs_shape[-1]), int(values_shape[-1])
        self.cell_input_size = features + (self.units if self.input_feeding else 0)
        if not self.cell.built:
            self.cell.build((None, self.cell_input_size))
        output_size = getattr(self.cell, "output_size", None) or self.state_sizes[0]
        if not self.attention.built:
            self.attention.build((None, output_size), tuple(values_shape))
        self.output_kernel = self.add_weight(
            shape=(values_size + output_size, self.units),
            name="output_kernel",
            initializer=self.kernel_initializer,
        )
        if self.bridge:
            self.bridge_kernel = self.add_weight(
                shape=(values_size, sum(self.state_sizes)),
                name="bridge_kernel",
                initializer=self.kernel_initializer,
            )
            self.bridge_bias = self.add_weight(
                shape=(sum(self.state_sizes),), name="bridge_bias", initializer="zeros"
            )

    def memory(self, values, values_mask=None):
        """What every step reads: the values, their keys and the mask (all ones when None)."""
        if values_mask is None:
            values_mask = ops.ones(ops.shape(values)[:2], dtype="bool")
        return {
            "values": values,
            "keys": self.attention.keys(values),
            "mask": ops.cast(values_mask, "bool"),
        }

    def initial_carry(self, memory):
        """The states before the first step: s_0 (the bridge or zeros) and h~_0 = 0."""
        values, mask = memory["values"], memory["mask"]
        batch = ops.shape(values)[0]
        if self.bridge:
            weights = ops.expand_dims(ops.cast(mask, values.dtype), -1)
            mean = ops.sum(values * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
            s0 = ops.tanh(ops.matmul(mean, self.bridge_kernel) + self.bridge_bias)
            ends = np.cumsum(self.state_sizes)
            states = [s0[:, end - size : end] for size, end in zip(self.state_sizes, ends)]
        else:
            states = [ops.zeros((batch, size), dtype=values.dtype) for size in self.state_sizes]
        return {"states": states, "feed": ops.zeros((batch, self.units), dtype=values.dtype)}

    def step(self, x, carry, memory, training=None):
        """One decoder step: returns (h~_t, alpha_t, new carry) for x of shape (batch, features)."""
        cell_input = ops.concatenate([x, carry["feed"]], axis=-1) if self.input_feeding else x
        h, states = self.cell(cell_input, carry["states"], training=training)
        context, alpha = self.attention.attend(h, memory["values"], memory["keys"], memory["mask"])
        attentional = ops.tanh(ops.matmul(ops.concatenate([context, h], axis=-1), self.output_kernel))
        return attentional, alpha, {"states": _as_list(states), "feed": attentional}

    def call(self, inputs, values, values_mask=None, initial_state=None, return_attention=False,
             training=None):
        steps = inputs.shape[1]
        if steps is None:
            raise ValueError(
                "AttentionDecoder needs `inputs` with a known number of steps T (pad the target "
                f"sequences to one length), got shape {inputs.shape}."
            )
        memory = self.memory(values, values_mask)
        carry = self.initial_carry(memory)
        if initial_state is not None:
            carry["states"] = _as_list(initial_state)
        if training and hasattr(self.cell, "get_dropout_mask"):  # one mask for the whole sequence
            batch = ops.shape(inputs)[0]
            self.cell.get_dropout_mask(ops.zeros((batch, self.cell_input_size), inputs.dtype))
            self.cell.get_recurrent_dropout_mask(carry["states"][0])
        outputs, alphas = [], []
        for t in range(steps):
            attentional, alpha, carry = self.step(inputs[:, t], carry, memory, training=training)
            outputs.append(attentional)
            alphas.append(alpha)
        if hasattr(self.cell, "reset_dropout_mask"):
            self.cell.reset_dropout_mask()
            self.cell.reset_recurrent_dropout_mask()
        outputs = ops.stack(outputs, axis=1)
        return (outputs, ops.stack(alphas, axis=1)) if return_attention else outputs

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def get_config(self):
        return {
            **super().get_config(),
            "cell": keras.layers.serialize(self.cell),
            "attention": keras.layers.serialize(self.attention),
            **serialize(
                units=self.units,
                input_feeding=self.input_feeding,
                bridge=self.bridge,
                kernel_initializer=self.kernel_initializer,
            ),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.layers.deserialize(config["cell"])
        config["attention"] = keras.layers.deserialize(config["attention"])
        return cls(**config)


# --- the encoder-decoder model -------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="recipes")
class Seq2Seq(keras.Model):
    """An encoder-decoder with attention: embeddings, any encoder, an `AttentionDecoder`, a
    softmax output; teacher-forced in training, one token at a time in decoding.

    Equations (Sutskever, Vinyals and Le 2014; Bahdanau et al. 2015; Luong et al. 2015):

        h_1 ... h_S = encoder(E_x x_1 ... E_x x_S)
        h~_t        = decoder(E_y y_{t-1}, h~_{t-1}, s_{t-1}; h_1 ... h_S)   (`AttentionDecoder`)
        p(y_t | y_<t, x) = softmax(W_s h~_t + b_s)

    Token id 0 is padding in both vocabularies: source positions with id 0 are masked for the
    encoder and the attention. Training pairs are (source, target_in) -> target_out, where
    target_in = [start, y_1 ... y_n] and target_out = [y_1 ... y_n, end] (padded with 0; give the
    loss `sample_weight = target_out != 0`).

    Decoding: `state = model.encode(source)` and `model.step_fn(tokens, state)` fit
    `recipes.text.generate` and `recipes.text.beam_search`, and `greedy_decode` below.

    References: I. Sutskever, O. Vinyals and Q. V. Le (2014), "Sequence to sequence learning with
    neural networks", NeurIPS; D. Bahdanau, K. Cho and Y. Bengio (2015), "Neural machine
    translation by jointly learning to align and translate", ICLR; M.-T. Luong, H. Pham and
    C. D. Manning (2015), "Effective approaches to attention-based neural machine translation",
    EMNLP.

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes (padding id 0 included).
        encoder: a layer mapping (batch, S, embedding_dim) and `mask` to (batch, S, Dv), e.g.
            `keras.layers.Bidirectional(keras.layers.RNN(GRUCell(64), return_sequences=True))`.
        decoder: an `AttentionDecoder`.
        embedding_dim: size of both embeddings.

    Call arguments:
        inputs: (source, target_in), int arrays (batch, S) and (batch, T).
        return_attention: also return the attention weights, (batch, T, S).
        training: whether dropout is applied.

    Returns:
        logits (batch, T, target_vocab_size) (and the weights with `return_attention=True`).

    Example:
        >>> encoder = keras.layers.Bidirectional(keras.layers.RNN(keras.layers.GRUCell(8), return_sequences=True))
        >>> model = Seq2Seq(12, 10, encoder, AttentionDecoder(keras.layers.GRUCell(8), BahdanauAttention(8), 8))
        >>> tuple(model((np.ones((2, 5), "int32"), np.ones((2, 3), "int32"))).shape)
        (2, 3, 10)
    """

    def __init__(self, source_vocab_size, target_vocab_size, encoder, decoder, embedding_dim=64,
                 **kwargs):
        super().__init__(**kwargs)
        self.source_vocab_size = check_positive_int("source_vocab_size", source_vocab_size)
        self.target_vocab_size = check_positive_int("target_vocab_size", target_vocab_size)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        if not isinstance(decoder, AttentionDecoder):
            raise ValueError(f"`decoder` must be an AttentionDecoder, got {decoder!r}.")
        self.encoder = encoder
        self.decoder = decoder
        self.source_embedding = keras.layers.Embedding(source_vocab_size, embedding_dim)
        self.target_embedding = keras.layers.Embedding(target_vocab_size, embedding_dim)
        self.output_layer = keras.layers.Dense(target_vocab_size)

    def build(self, inputs_shape):
        source_shape, target_shape = inputs_shape
        source = np.ones((1, source_shape[1] or 1), "int32")
        target = np.ones((1, target_shape[1] or 1), "int32")
        self.call((source, target))  # creates every weight

    def encode_values(self, source, training=None):
        """The encoder's outputs h_1 ... h_S and the source mask (id 0 is padding)."""
        source = ops.convert_to_tensor(source)
        mask = ops.not_equal(source, 0)
        values = self.encoder(self.source_embedding(source), mask=mask, training=training)
        return values, mask

    def call(self, inputs, return_attention=False, training=None):
        source, target_in = inputs
        values, mask = self.encode_values(source, training=training)
        out = self.decoder(self.target_embedding(target_in), values, values_mask=mask,
                           return_attention=return_attention, training=training)
        if return_attention:
            return self.output_layer(out[0]), out[1]
        return self.output_layer(out)

    def encode(self, source):
        """The decoding state for `step_fn`: a dict of tensors with leading dimension batch."""
        values, mask = self.encode_values(source)
        memory = self.decoder.memory(values, mask)
        return {**memory, **self.decoder.initial_carry(memory)}

    def step_fn(self, tokens, state):
        """One decoding step: (tokens (rows,), state) -> (log_probs (rows, vocab), new state)."""
        x = self.target_embedding(ops.cast(ops.convert_to_tensor(tokens), "int32"))
        memory = {key: state[key] for key in ("values", "keys", "mask")}
        attentional, alpha, carry = self.decoder.step(
            x, {"states": state["states"], "feed": state["feed"]}, memory
        )
        log_probs = ops.log_softmax(self.output_layer(attentional), axis=-1)
        return log_probs, {**memory, **carry, "attention": alpha}

    def get_config(self):
        return {
            **super().get_config(),
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            "encoder": keras.layers.serialize(self.encoder),
            "decoder": keras.layers.serialize(self.decoder),
            "embedding_dim": self.embedding_dim,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.layers.deserialize(config["encoder"])
        config["decoder"] = keras.layers.deserialize(config["decoder"])
        return cls(**config)


def greedy_decode(step_fn, tokens, state, steps, end_token=None):
    """Decode by taking the most probable token at every step (a beam search of width 1).

    Args:
        step_fn: `step_fn(tokens, state) -> (log_probs, new_state)` (e.g. `Seq2Seq.step_fn`).
        tokens: (batch,) start tokens.
        state: the state after reading the source (e.g. `Seq2Seq.encode(source)`).
        steps: maximum number of tokens.
        end_token: optional; a row that produced it is padded with it, at no cost, and decoding
            stops when every row has.

    Returns:
        (sequences, scores): int32 NumPy array (batch, length) with length <= steps, and float64
        NumPy array (batch,) of total log-probabilities, as `recipes.text.beam_search` returns
        for its best beam.
    """
    steps = check_positive_int("steps", steps)
    tokens = np.asarray(ops.convert_to_numpy(tokens)).astype(np.int32).reshape(-1)
    if len(tokens) == 0:
        raise ValueError("`tokens` must hold at least one start token.")
    finished = np.zeros(len(tokens), dtype=bool)
    scores = np.zeros(len(tokens))
    out = []
    for _ in range(steps):
        log_probs, state = step_fn(ops.convert_to_tensor(tokens), state)
        log_probs = np.asarray(ops.convert_to_numpy(log_probs), dtype=np.float64)
        chosen = np.argmax(log_probs, axis=-1)
        if end_token is not None:
            chosen = np.where(finished, end_token, chosen)
        scores += np.where(finished, 0.0, log_probs[np.arange(len(chosen)), chosen])
        if end_token is not None:
            finished |= chosen == end_token
        tokens = chosen.astype(np.int32)
        out.append(tokens)
        if finished.all():
            break
    return np.stack(out, axis=1), scores


# --- optional data with internet -----------------------------------------------------------------


def ted_hrlr_translate(pair="pt_to_en", split="train", limit=None, data_dir=None):
    """Sentence pairs of the TED talks translation corpus (Qi et al. 2018) through TensorFlow
    Datasets: an optional path for readers with internet (the course's notebooks never call it).

    It needs `tensorflow-datasets` (and TensorFlow), which the recipes otherwise never import;
    the first call downloads and prepares the data (tens of MB).

    Reference: Y. Qi, D. Sachan, M. Felix, S. Padmanabhan and G. Neubig (2018), "When and why are
    pre-trained word embeddings useful for neural machine translation?", NAACL.

    Args:
        pair: a configuration of `ted_hrlr_translate`, "SOURCE_to_TARGET" such as "pt_to_en".
        split: "train", "validation" or "test" (TFDS split syntax such as "train[:10%]" works).
        limit: optional maximum number of pairs.
        data_dir: optional TFDS data directory.

    Returns:
        A list of (source sentence, target sentence) string pairs.
    """
    if not isinstance(pair, str) or len(pair.split("_to_")) != 2 or not all(pair.split("_to_")):
        raise ValueError(f"`pair` must look like 'pt_to_en', got {pair!r}.")
    if limit is not None:
        limit = check_positive_int("limit", limit)
    import tensorflow_datasets as tfds  # optional: only this function needs it

    dataset = tfds.load(f"ted_hrlr_translate/{pair}", split=split, as_supervised=True,
                        data_dir=data_dir)
    if limit is not None:
        dataset = dataset.take(limit)
    return [(s.decode("utf-8"), t.decode("utf-8")) for s, t in tfds.as_numpy(dataset)]
