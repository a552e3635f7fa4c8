"""The neural history compressor: a predictor below, and above it a network that sees only surprises.

Schmidhuber (1992) stacks two recurrent networks. The lower one, the *automatizer*, reads the
input sequence and predicts its next input. Whatever it predicts well carries no news. Only the
inputs it fails to predict, each with its time step, go up to the higher network, the
*chunker*. The chunker reads this much shorter sequence and learns to predict the next
unpredicted input. A dependency that spans hundreds of predictable steps spans only a few
steps for the chunker, so ordinary gradient descent through time reaches across it.

The recipe:

    compressor = HistoryCompressor(symbols, ElmanCell(32), ElmanCell(16), threshold=0.9)
    compressor.automatizer.fit(*compressor.automatizer_data(train))   # 1. the automatizer
    x, y, w = compressor.chunker_data(train)                          # 2. its surprises
    compressor.chunker.fit(x, y, sample_weight=w)                     # 3. the chunker
    probabilities = compressor.predict(sequences)                     # 4. both together

(compile each model first). Sequences are one-hot, shape (batch, time, symbols).
`compress(sequences)` returns the unpredicted inputs with their time steps, moved to the front
and padded, and a mask. The selection is a vectorised sort (keras.ops, no per-step Python loop),
so `HistoryCompressor` is also an ordinary Keras model that predicts, saves and loads on every
backend.

Shared helper: `recipes/base.py` (argument checks).
"""

import keras
from keras import ops

from recipes.base import check_number, check_positive_int


def probability_of_inputs(predictions, sequences):
    """p_t = P_A(x_t | x_0..x_{t-1}), shape (batch, time), from next-step predictions.

    `predictions[:, t]` is the automatizer's distribution over x_{t+1}; `sequences` is one-hot.
    Nothing predicts the first input, so p_0 = 0: the first step always reaches the chunker.
    """
    p = ops.sum(predictions[:, :-1] * sequences[:, 1:], axis=-1)
    return ops.pad(p, [[0, 0], [1, 0]])


def select_steps(sequences, selected):
    """Move the selected steps of each sequence to the front, in time order (a vectorised sort).

    Args:
        sequences: (batch, time, features).
        selected: (batch, time) booleans.

    Returns:
        `(inputs, times, mask)`, all of length `time`: `inputs[b, k]` is the k-th selected step
        of sequence b, `times[b, k]` its time step (int32) and `mask[b, k]` whether there is one.
        Padding (mask False) is zero in `inputs` and `times`.
    """
    length = ops.shape(sequences)[1]
    t = ops.arange(length, dtype="int32")
    # Selected steps sort by their time, the others after all of them.
    order = ops.argsort(ops.where(selected, t, t + length), axis=1)
    mask = ops.take_along_axis(selected, order, axis=1)
    inputs = ops.take_along_axis(sequences, ops.expand_dims(order, -1), axis=1)
    inputs = inputs * ops.cast(ops.expand_dims(mask, -1), inputs.dtype)
    times = ops.where(mask, ops.cast(order, "int32"), 0)
    return inputs, times, mask


@keras.saving.register_keras_serializable(package="recipes")
class HistoryCompressor(keras.Model):
    """Schmidhuber's neural history compressor: an automatizer, and a chunker fed its surprises.

    Equations (x_t one-hot over the symbols, theta the surprise threshold):

        p_t = P_A(x_t | x_0..x_{t-1})            the automatizer A, an RNN predicting x_{t+1}
        x_t goes up, with t, iff p_t < theta     (p_0 = 0: the first input always goes up)
        t_1 < t_2 < ... are those steps;         C reads (x_{t_k}, t_k / time_scale)
        P_C(x_{t_{k+1}} | x_{t_1}, ..., x_{t_k})  the chunker C predicts the next surprise

    Prediction combines the two: after step t, if A gives every symbol less than theta, the next
    input is sure to be a surprise, so the chunker's prediction for it is used (its output
    after the last surprise up to t); otherwise A's prediction is used. Schmidhuber's further
    step, "collapsing" C into A by teaching A to predict C's state, is left out.

    The two Keras models, built here around the cells given:
    `automatizer`: (batch, time, symbols) -> RNN(automatizer_cell) -> Dense(symbols, softmax),
    its output at t is the distribution of x_{t+1}; `chunker`: (batch, k, symbols + 1) ->
    Masking -> RNN(chunker_cell) -> Dense(symbols, softmax). Train them one after the other
    (`automatizer_data`, then `chunker_data`, which compresses with the trained automatizer).

    Reference: J. Schmidhuber (1992), "Learning complex, extended sequences using the principle
    of history compression", Neural Computation 4(2), 234-242.

    Args:
        symbols: size of the one-hot input alphabet.
        automatizer_cell, chunker_cell: two distinct recurrent cells (e.g. `ElmanCell(32)`,
            `LSTMCell(16)`), each keeping its output as `states[0]`.
        threshold: theta in (0, 1]; an input is a surprise when the automatizer gave it a
            probability below theta.
        time_scale: the chunker reads the time step t as the feature t / time_scale; about the
            sequence length.

    Call arguments:
        sequences: one-hot inputs, shape (batch, time, symbols).
        training: passed to both models.

    Returns the combined next-step distributions, shape (batch, time, symbols); [:, t] is the
    distribution of x_{t+1}.

    Example:
        >>> compressor = HistoryCompressor(4, ElmanCell(8), ElmanCell(8), threshold=0.9)
        >>> compressor(np.eye(4, dtype="float32")[None, [0, 1, 2, 3, 0]]).shape
        (1, 5, 4)
    """

    def __init__(
        self,
        symbols,
        automatizer_cell,
        chunker_cell,
        threshold=0.9,
        time_scale=100.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.symbols = check_positive_int("symbols", symbols)
        if automatizer_cell is chunker_cell:
            raise ValueError(
                "`chunker_cell` must be a different cell object from `automatizer_cell`: the two "
                "networks have their own weights; got the same cell twice."
            )
        self.threshold = check_number("threshold", threshold, lambda v: 0 < v <= 1, "in (0, 1]")
        self.time_scale = check_number("time_scale", time_scale, lambda v: v > 0, "positive")
        self.automatizer_cell = automatizer_cell
        self.chunker_cell = chunker_cell
        self.automatizer = keras.Sequential(
            [
                keras.Input((None, self.symbols)),
                keras.layers.RNN(automatizer_cell, return_sequences=True),
                keras.layers.Dense(self.symbols, activation="softmax"),
            ],
            name="automatizer",
        )
        self.chunker = keras.Sequential(
            [
                keras.Input((None, self.symbols + 1)),
                keras.layers.Masking(),  # a padded step is all zeros, a real one has its symbol
                keras.layers.RNN(chunker_cell, return_sequences=True),
                keras.layers.Dense(self.symbols, activation="softmax"),
            ],
            name="chunker",
        )
        self.built = True  # both networks are built above, from their keras.Input shapes

    def _check(self, sequences):
        shape = tuple(ops.shape(sequences))
        if len(shape) != 3 or shape[-1] != self.symbols:
            raise ValueError(
                f"`sequences` must be one-hot of shape (batch, time, symbols={self.symbols}); "
                f"got shape {shape}."
            )
        return ops.convert_to_tensor(sequences, dtype=self.automatizer.compute_dtype)

    def _threshold(self, threshold):
        if threshold is None:
            return self.threshold
        return check_number("threshold", threshold, lambda v: 0 < v <= 1, "in (0, 1]")

    def chunker_inputs(self, inputs, times, mask):
        """What the chunker reads at each compressed step: [x_{t_k}, t_k / time_scale], zero padded."""
        t = ops.cast(ops.expand_dims(times, -1), inputs.dtype) / self.time_scale
        t = t * ops.cast(ops.expand_dims(mask, -1), inputs.dtype)
        return ops.concatenate([inputs, t], axis=-1)

    def input_probabilities(self, sequences):
        """p_t, the probability the automatizer gave each actual input (p_0 = 0), (batch, time)."""
        sequences = self._check(sequences)
        predictions = self.automatizer.predict(sequences, verbose=0)
        return probability_of_inputs(ops.convert_to_tensor(predictions), sequences)

    def surprises(self, sequences, threshold=None):
        """Which steps reach the chunker: p_t < threshold, booleans of shape (batch, time)."""
        return self.input_probabilities(sequences) < self._threshold(threshold)

    def compress(self, sequences, threshold=None):
        """The unpredicted inputs with their time steps, for the chunker (eager, not in a graph).

        Returns `(inputs, times, mask)`: `inputs` (batch, k, symbols) the surprising inputs in
        time order, `times` (batch, k) their time steps, `mask` (batch, k) False on padding, with
        k the largest number of surprises in any sequence of the batch.
        """
        sequences = self._check(sequences)
        selected = self.surprises(sequences, threshold)
        k = int(ops.convert_to_numpy(ops.max(ops.sum(ops.cast(selected, "int32"), axis=1))))
        inputs, times, mask = select_steps(sequences, selected)
        return inputs[:, :k], times[:, :k], mask[:, :k]

    def automatizer_data(self, sequences):
        """`(x, y)` for `automatizer.fit`: read x_0..x_{T-2}, predict x_1..x_{T-1} (NumPy)."""
        sequences = ops.convert_to_numpy(self._check(sequences))
        return sequences[:, :-1], sequences[:, 1:]

    def chunker_data(self, sequences, threshold=None):
        """`(x, y, sample_weight)` for `chunker.fit` (NumPy): read the compressed sequence,
        predict the next surprise; the weight is 0 where there is none (padding, the last one)."""
        inputs, times, mask = self.compress(sequences, threshold)
        x = self.chunker_inputs(inputs, times, mask)
        y = ops.pad(inputs[:, 1:], [[0, 0], [0, 1], [0, 0]])
        weight = ops.pad(ops.cast(mask[:, 1:], x.dtype), [[0, 0], [0, 1]])
        return tuple(ops.convert_to_numpy(v) for v in (x, y, weight))

    def call(self, sequences, training=False):
        predictions = self.automatizer(sequences, training=training)
        selected = probability_of_inputs(predictions, sequences) < self.threshold
        # Every step of the sequence, surprising ones first: static shapes, fine in a graph.
        inputs, times, mask = select_steps(sequences, selected)
        chunk_predictions = self.chunker(self.chunker_inputs(inputs, times, mask), training=training)
        # After step t the chunker has read the surprises up to t; the last is number k(t).
        k = ops.cumsum(ops.cast(selected, "int32"), axis=1) - 1
        from_chunker = ops.take_along_axis(chunk_predictions, ops.expand_dims(k, -1), axis=1)
        sure = ops.max(predictions, axis=-1, keepdims=True) >= self.threshold
        return ops.where(sure, predictions, from_chunker)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "symbols": self.symbols,
            "automatizer_cell": keras.saving.serialize_keras_object(self.automatizer_cell),
            "chunker_cell": keras.saving.serialize_keras_object(self.chunker_cell),
            "threshold": self.threshold,
            "time_scale": self.time_scale,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("automatizer_cell", "chunker_cell"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
