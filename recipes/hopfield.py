"""Hopfield networks: the classical binary associative memory and the modern continuous one.

`HopfieldNetwork` is Hopfield's (1982) network of N bipolar units (+1/-1) with symmetric weights
and no self-connections. Patterns are stored in the weights by the Hebbian rule or Storkey's
rule; a cue is completed by updating one unit at a time (asynchronously) until no unit wants to
change. It is plain NumPy, not a Keras layer: the weights are set by a rule, not trained, and
the asynchronous updates are a sequential loop that no backend would speed up.

`ModernHopfield` is the continuous network of Ramsauer et al. (2020), whose update is the
attention of a Transformer: one step retrieves a pattern from a memory of exponentially many.
It is a Keras layer with the stored patterns as a weight: fixed (`store`) or learned
(trainable), inside any Keras model, on the TensorFlow, JAX and PyTorch backends.

Shared helpers: `recipes/base.py` (argument checks, config serialization, `matmul_2d`).
"""

import math

import keras
import numpy as np
from keras import initializers, ops, regularizers

from recipes.base import check_positive_int, matmul_2d, serialize

# Fields this close to zero count as ties (the unit keeps its state): the incremental fields of
# `recall` drift by rounding, far less than this, while a true Hebbian field is a multiple of 1/N.
_TIE = 1e-9


def _bipolar(name, values, units):
    """`values` as a float64 array of shape (count, units) with entries +1/-1, or a ValueError."""
    array = np.asarray(values)
    if array.ndim != 2 or array.shape[1] != units:
        raise ValueError(
            f"`{name}` must have shape (count, units) = (count, {units}); got shape "
            f"{array.shape} (use x[None] for a single pattern)."
        )
    array = array.astype(np.float64)
    if not np.all(np.abs(array) == 1.0):
        bad = np.unique(array[np.abs(array) != 1.0])[:5]
        raise ValueError(
            f"`{name}` must contain only +1 and -1 (bipolar units); got {bad.tolist()}."
        )
    return array


class HopfieldNetwork:
    """Hopfield's associative memory: bipolar units, symmetric weights, asynchronous updates.

    Units s_i = +1 or -1 (i = 1..N), weights w_ij = w_ji with w_ii = 0, and (no thresholds):

        h_i = sum_j w_ij s_j                        local field of unit i
        s_i <- sign(h_i)                            one unit at a time (s_i kept when h_i = 0,
                                                    taken as |h_i| <= 1e-9 against rounding)
        E(s) = -1/2 sum_ij w_ij s_i s_j             energy; never rises under these updates

    `store` sets the weights from patterns xi^1..xi^P by one of two rules:

        hebbian:  w_ij = 1/N sum_mu xi^mu_i xi^mu_j                          (i != j)
        storkey:  w^mu_ij = w^{mu-1}_ij + 1/N (xi_i xi_j - xi_i h_ji - h_ij xi_j),
                  h_ij = sum_{k != i, j} w^{mu-1}_ik xi_k                   (i != j)

    With the Hebbian rule random patterns are recalled up to a load P/N of about 0.138 (Amit,
    Gutfreund and Sompolinsky, 1985); Storkey's rule stores more, and correlated patterns better.

    `recall` updates the units of each cue in a random order, a new permutation per sweep,
    until a sweep changes nothing (a fixed point) or `max_sweeps` sweeps have run. The orders
    come from `np.random.default_rng(seed)`, drawn anew at each call: sweep k of every call
    uses the k-th permutation of that generator, for every cue, so a cue's result does not
    depend on the other cues recalled with it. All cues are updated together, one unit at a
    time, which keeps the one-unit-at-a-time semantics of each cue while NumPy works on all.

    References: J. J. Hopfield (1982), "Neural networks and physical systems with emergent
    collective computational abilities", PNAS 79(8). A. Storkey (1997), "Increasing the capacity
    of a Hopfield network without sacrificing functionality", ICANN'97.

    Args:
        units: N, the number of units.
        seed: seed of the update order; `None` draws a new order at every call.

    Example:
        >>> patterns = np.random.default_rng(0).choice([-1.0, 1.0], size=(5, 64))
        >>> net = HopfieldNetwork(64, seed=0).store(patterns)
        >>> bool(np.all(net.recall(patterns) == patterns))  # stored patterns are fixed points
        True
    """

    def __init__(self, units, seed=None):
        self.units = check_positive_int("units", units)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"`seed` must be an integer or None, got {seed!r}.")
        self.seed = seed
        self.weights = np.zeros((units, units))
        self.num_patterns = 0

    def store(self, patterns, rule="hebbian"):
        """Replace the stored patterns by `patterns`, shape (count, units), +1/-1 entries."""
        xi = _bipolar("patterns", patterns, self.units)
        n = self.units
        if rule == "hebbian":
            w = xi.T @ xi / n
        elif rule == "storkey":
            w = np.zeros((n, n))
            for x in xi:  # incremental: each pattern is learned on top of the previous ones
                f = w @ x  # f_i = sum_{k != i} w_ik x_k, since w_ii = 0
                # h_ij = f_i - w_ij x_j (k = j left out too), so for i != j, with x_j^2 = 1:
                # x_i x_j - x_i h_ji - h_ij x_j = x_i x_j - x_i f_j - f_i x_j + 2 w_ij
                #                               = (x - f)_i (x - f)_j - f_i f_j + 2 w_ij.
                # Written as below, in place, w stays exactly symmetric in floating point.
                u, g = (x - f) / np.sqrt(n), f / np.sqrt(n)
                w *= 1.0 + 2.0 / n
                w += np.outer(u, u)
                w -= np.outer(g, g)
                np.fill_diagonal(w, 0.0)
        else:
            raise ValueError(f"`rule` must be 'hebbian' or 'storkey', got {rule!r}.")
        np.fill_diagonal(w, 0.0)
        self.weights = w
        self.num_patterns = len(xi)
        return self

    def energy(self, states):
        """E(s) = -1/2 s^T W s of each row of `states`, shape (count, units): shape (count,)."""
        s = _bipolar("states", states, self.units)
        return -0.5 * np.einsum("ci,ci->c", s @ self.weights, s)

    def update(self, states, order):
        """Update the units listed in `order` one at a time, in that order; return new states."""
        s = _bipolar("states", states, self.units).copy()
        order = np.asarray(order, dtype=np.int64).reshape(-1)
        if order.size and (order.min() < 0 or order.max() >= self.units):
            raise ValueError(f"`order` must list unit indices in [0, {self.units}), got {order}.")
        self._sweep(s, s @ self.weights, order)
        return s

    def recall(self, cues, max_sweeps=100, return_sweeps=False):
        """Run each cue, shape (count, units), to a fixed point or for at most `max_sweeps`.

        Returns the final states, a float64 array (count, units) of +1/-1, and with
        `return_sweeps=True` also the number of sweeps that changed each cue (0 when the cue
        already was a fixed point).
        """
        check_positive_int("max_sweeps", max_sweeps)
        s = _bipolar("cues", cues, self.units).copy()
        sweeps = np.zeros(len(s), dtype=np.int64)
        rng = np.random.default_rng(self.seed)
        active = np.arange(len(s))  # the cues not yet at a fixed point, their states and fields
        states, fields = s.copy(), s @ self.weights
        for _ in range(max_sweeps):
            if not active.size:
                break
            changed = self._sweep(states, fields, rng.permutation(self.units))
            s[active] = states
            sweeps[active[changed]] += 1
            active, states, fields = active[changed], states[changed], fields[changed]
        return (s, sweeps) if return_sweeps else s

    def _sweep(self, s, h, order):
        """Asynchronous updates of all rows of s in place; h = s W is kept up to date in place.

        Unit i flips exactly when it disagrees with its field (s_i h_i < 0); the flip changes
        every field by 2 s_i w_i (w_ii = 0 keeps h_i itself unchanged), which only the rows that
        flipped pay for. Returns which rows changed.
        """
        changed = np.zeros(len(s), dtype=bool)
        for i in order:
            rows = np.flatnonzero(s[:, i] * h[:, i] < -_TIE)
            if rows.size:
                s[rows, i] = -s[rows, i]
                h[rows] += (2.0 * s[rows, i])[:, None] * self.weights[i]
                changed[rows] = True
        return changed


@keras.saving.register_keras_serializable(package="recipes")
class ModernHopfield(keras.layers.Layer):
    """Modern (continuous) Hopfield network: one update step retrieves a pattern by attention.

    With the stored patterns as the columns of X = (x_1, ..., x_N), a state (query) xi is
    updated by (Ramsauer et al., 2020, eq. 3):

        xi_new = X softmax(beta X^T xi)

    which is Transformer attention with keys and values both X. The energy

        E(xi) = -1/beta log sum_i exp(beta x_i^T xi) + 1/2 xi^T xi + 1/beta log N + 1/2 M^2,

    with M the largest norm of a pattern, never rises under the update. With a large beta and
    well separated patterns one step lands on the stored pattern nearest to xi; the number of
    patterns that can be retrieved so grows exponentially with the dimension. The softmax is
    computed stably: the largest logit is subtracted before the exponential, and in float32
    under mixed precision (the results are then cast to the compute dtype).

    Rows here: the patterns are the weight `patterns` of shape (num_patterns, features), one
    pattern per row, and inputs are (..., features), so xi_new = softmax(beta xi X^T) X.

    Reference: H. Ramsauer, B. Schäfl, J. Lehner, P. Seidl, M. Widrich, T. Adler, L. Gruber,
    M. Holzleitner, M. Pavlović, G. K. Sandve, V. Greiff, D. Kreil, M. Kopp, G. Klambauer,
    J. Brandstetter and S. Hochreiter (2020), "Hopfield networks is all you need", ICLR 2021.

    Args:
        num_patterns: N, the number of stored patterns.
        beta: inverse temperature, > 0; `None` for 1 / sqrt(features), as in attention.
        steps: number of update steps (one is usually enough).
        patterns_initializer: initializer of the patterns when they are learned.
        patterns_regularizer: optional regularizer of the patterns.
        trainable: `False` for a fixed memory filled by `store`; `True` (default) to learn the
            patterns with the rest of a model.

    Call arguments:
        inputs: the states xi, shape (batch, ..., features).
        return_attention_scores: also return softmax(beta X^T xi) of the last step, shape
            (batch, ..., num_patterns).

    Example:
        >>> patterns = np.random.default_rng(0).choice([-1.0, 1.0], size=(1000, 64))
        >>> memory = ModernHopfield(1000, beta=1.0, trainable=False).store(patterns)
        >>> memory(patterns[:32]).shape   # 1,000 patterns of 64 units, retrieved in one step
        (32, 64)
    """

    def __init__(
        self,
        num_patterns,
        beta=None,
        steps=1,
        patterns_initializer="random_normal",
        patterns_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_patterns = check_positive_int("num_patterns", num_patterns)
        if beta is not None and (
            isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0
        ):
            raise ValueError(f"`beta` must be a positive number or None, got {beta!r}.")
        self.beta = None if beta is None else float(beta)
        self.steps = check_positive_int("steps", steps)
        self.patterns_initializer = initializers.get(patterns_initializer)
        self.patterns_regularizer = regularizers.get(patterns_regularizer)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                "ModernHopfield expects inputs of shape (batch, ..., features) with a known "
                f"feature size; got shape {input_shape}."
            )
        self.features = int(input_shape[-1])
        self.patterns = self.add_weight(
            shape=(self.num_patterns, self.features),
            name="patterns",
            initializer=self.patterns_initializer,
            regularizer=self.patterns_regularizer,
        )

    @property
    def effective_beta(self):
        """beta, or 1 / sqrt(features) when it was left to the default (known once built)."""
        return self.beta if self.beta is not None else 1.0 / math.sqrt(self.features)

    def store(self, patterns):
        """Set the stored patterns, shape (num_patterns, features); builds the layer if needed."""
        patterns = np.asarray(patterns)
        if patterns.ndim != 2 or patterns.shape[0] != self.num_patterns:
            raise ValueError(
                f"`patterns` must have shape (num_patterns, features) = ({self.num_patterns}, "
                f"features); got shape {patterns.shape}."
            )
        if not self.built:
            self.build((None, patterns.shape[1]))
        if patterns.shape[1] != self.features:
            raise ValueError(
                f"`patterns` must have {self.features} features, as the layer's inputs; got "
                f"{patterns.shape[1]}."
            )
        self.patterns.assign(patterns.astype(self.patterns.dtype))
        return self

    def _attention(self, xi, x):
        """p = softmax(beta X^T xi) over the stored patterns x, stable for any beta."""
        logits = self.effective_beta * matmul_2d(xi, ops.transpose(x))
        # exp(a - max a) / sum exp(a - max a) is the same softmax and cannot overflow; the max is
        # held constant for the gradient, on which the softmax does not depend.
        logits = logits - ops.stop_gradient(ops.max(logits, axis=-1, keepdims=True))
        e = ops.exp(logits)
        return e / ops.sum(e, axis=-1, keepdims=True)

    def _logits_dtype(self):
        """float32 under mixed precision (see `call`), else the compute dtype."""
        return keras.backend.result_type(self.compute_dtype, "float32")

    def call(self, inputs, return_attention_scores=False):
        # In float32 under mixed precision: beta xi . x overflows float16 (above 65,504) for a
        # large beta, and bfloat16 rounds the logits to 1/256 of their size, far more than the
        # differences the softmax turns into weights. The results are in the compute dtype.
        dtype = self._logits_dtype()
        xi = ops.cast(inputs, dtype)
        x = ops.cast(self.patterns, dtype)
        for _ in range(self.steps):
            p = self._attention(xi, x)
            xi = matmul_2d(p, x)
        xi, p = ops.cast(xi, self.compute_dtype), ops.cast(p, self.compute_dtype)
        return (xi, p) if return_attention_scores else xi

    def energy(self, inputs):
        """E(xi) of Ramsauer et al. (2020, eq. 2) for each state, shape (batch, ...), in float32
        under mixed precision (as the logits in `call`)."""
        dtype = self._logits_dtype()
        xi = ops.cast(inputs, dtype)
        x = ops.cast(self.patterns, dtype)
        beta = self.effective_beta
        lse = ops.logsumexp(beta * matmul_2d(xi, ops.transpose(x)), axis=-1) / beta
        m = ops.max(ops.sum(x * x, axis=-1))  # M^2, the largest squared norm of a pattern
        return -lse + 0.5 * ops.sum(xi * xi, axis=-1) + math.log(self.num_patterns) / beta + 0.5 * m

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                num_patterns=self.num_patterns,
                beta=self.beta,
                steps=self.steps,
                patterns_initializer=self.patterns_initializer,
                patterns_regularizer=self.patterns_regularizer,
            ),
        }
