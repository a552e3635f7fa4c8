"""Memory-augmented networks: the Neural Turing Machine and the Differentiable Neural Computer.

Both cells pair a small controller network (an LSTM, or a feed-forward layer) with an external
memory matrix of N rows ("locations") of width M that it reads and writes through soft,
differentiable weightings over the rows. They run inside `keras.layers.RNN` on every backend;
the memory, the weightings and the other addressing state are ordinary (flattened) RNN states.
They are computed in float32 under mixed precision too; as `keras.layers.RNN` hands every state
to the cell in the compute dtype, each is then carried as 2 (float16) or 3 (bfloat16) numbers
that sum to its float32 value, so that small writes to the memory are not rounded away.

The output of both cells at step t is [h_t, r_t^1, ..., r_t^R], the controller output and the
read vectors side by side, so a `keras.layers.Dense` on top gives the papers' output
y_t = W_y h_t + W_r [r_t^1 ... r_t^R]. It is also the first state, as Keras masking expects.

`memory_trace(cell, inputs)` runs a cell step by step and returns its weightings at every step
(read, write and, for the DNC, usage), for plots and tests.

Shared helper: `recipes/base.py` (argument checks).
"""

import keras
import numpy as np
from keras import activations, initializers, ops

from recipes.base import (
    check_built_input,
    check_number,
    check_positive_int,
    check_step_input,
    serialize,
)

_EPSILON = 1e-6


def _pieces(dtype):
    """How many numbers of the compute dtype carry one float32 value of the memory (see _split)."""
    return {"float16": 2, "bfloat16": 3}.get(keras.backend.standardize_dtype(dtype), 1)


def _split(x, dtype, pieces):
    """A float32 tensor as `pieces` tensors of `dtype` side by side on the last axis, whose sum
    is x to about float32 precision: x rounded to dtype, then what that lost, rounded, and so on.

    `keras.layers.RNN` hands every state to the cell in the compute dtype at every step; in
    float16 (11 bits) or bfloat16 (8 bits) a memory of 1.0 would lose every write below 5e-4 or
    4e-3. Two float16 or three bfloat16 numbers hold 22 or 24 bits (float32 has 24)."""
    parts = []
    for _ in range(pieces - 1):
        parts.append(ops.cast(x, dtype))
        x = x - ops.cast(parts[-1], "float32")
    parts.append(ops.cast(x, dtype))
    return parts[0] if pieces == 1 else ops.concatenate(parts, axis=-1)


def _join(x, pieces):
    """The float32 value of a state written by _split."""
    x = ops.cast(x, "float32")
    if pieces == 1:
        return x
    parts = ops.split(x, pieces, axis=-1)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def content_weighting(memory, keys, strengths):
    """Content addressing: softmax_i(beta K(k, M[i])) with the cosine similarity K.

    memory (batch, N, M), keys (batch, heads, M), strengths beta (batch, heads): returns the
    weightings (batch, heads, N). The norms are sqrt(v . v + eps^2), so an all-zero memory gets
    the uniform weighting and a finite gradient (the square root of 0 has none)."""
    dot = ops.einsum("bhm,bnm->bhn", keys, memory)
    key_norm = ops.sqrt(ops.sum(keys * keys, axis=-1) + _EPSILON**2)[:, :, None]
    memory_norm = ops.sqrt(ops.sum(memory * memory, axis=-1) + _EPSILON**2)[:, None, :]
    similarity = dot / (key_norm * memory_norm)
    return ops.softmax(strengths[:, :, None] * similarity, axis=-1)


class _MemoryCell(keras.layers.Layer):
    """What NTMCell and DNCCell share: the controller, the interface projection and the config.

    The controller reads [x_t, r_{t-1}] and returns h_t; the interface is xi_t = clip(h_t W_xi
    + b_xi), split by the subclass into the parameters of its heads."""

    def __init__(
        self,
        units,
        memory_size=16,
        memory_width=8,
        read_heads=1,
        controller="lstm",
        controller_activation="tanh",
        clip_value=20.0,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.memory_size = check_positive_int("memory_size", memory_size)
        self.memory_width = check_positive_int("memory_width", memory_width)
        self.read_heads = check_positive_int("read_heads", read_heads)
        if controller not in ("lstm", "feedforward"):
            raise ValueError(
                f"`controller` must be 'lstm' or 'feedforward', got {controller!r}."
            )
        self.controller = controller
        self.controller_activation = activations.get(controller_activation)
        self.clip_value = check_number("clip_value", clip_value, lambda v: v > 0, "a float > 0")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.read_size = self.read_heads * self.memory_width
        self.output_size = self.units + self.read_size
        # The memory and the addressing state are float32 whatever the compute dtype: under
        # mixed precision each is carried as `pieces` numbers of the compute dtype (_split).
        self.pieces = _pieces(self.compute_dtype)

    def interface_size(self):
        raise NotImplementedError

    def build(self, input_shape):
        features = check_step_input(type(self).__name__, input_shape)
        self.input_features = features
        gates = 4 if self.controller == "lstm" else 1
        self.kernel = self.add_weight(
            shape=(features + self.read_size, gates * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
        )
        if self.controller == "lstm":
            self.recurrent_kernel = self.add_weight(
                shape=(self.units, 4 * self.units),
                name="recurrent_kernel",
                initializer=self.recurrent_initializer,
            )
            units, base = self.units, self.bias_initializer

            def bias_initializer(shape, dtype=None):  # forget gate bias 1 (Jozefowicz et al.)
                return ops.concatenate(
                    [base((units,), dtype), ops.ones((units,), dtype), base((2 * units,), dtype)]
                )

        else:
            bias_initializer = self.bias_initializer
        self.bias = self.add_weight(
            shape=(gates * self.units,), name="bias", initializer=bias_initializer
        )
        self.interface_kernel = self.add_weight(
            shape=(self.units, self.interface_size()),
            name="interface_kernel",
            initializer=self.kernel_initializer,
        )
        self.interface_bias = self.add_weight(
            shape=(self.interface_size(),), name="interface_bias", initializer="zeros"
        )

    def controller_step(self, x, reads, h_prev, c_prev):
        """h_t (and c_t for the LSTM) from the input x_t and the previous read vectors."""
        z = ops.matmul(ops.concatenate([x, reads], axis=-1), self.kernel) + self.bias
        if self.controller == "feedforward":
            return self.controller_activation(z), None
        z = z + ops.matmul(h_prev, self.recurrent_kernel)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(z_f) * c_prev + ops.sigmoid(z_i) * self.controller_activation(z_c)
        h = ops.sigmoid(z_o) * self.controller_activation(c)
        return h, c

    def interface(self, h):
        """xi_t = clip(h_t W_xi + b_xi, -clip_value, clip_value) (Collier and Beel 2018)."""
        xi = ops.matmul(h, self.interface_kernel) + self.interface_bias
        return ops.clip(xi, -self.clip_value, self.clip_value)

    def split_output(self, output):
        """h_{t-1} and the read vectors r_{t-1} (batch, R * M) from the previous output."""
        return output[:, : self.units], output[:, self.units :]

    def get_config(self):
        return {
            **super().get_config(),
            **serialize(
                units=self.units,
                memory_size=self.memory_size,
                memory_width=self.memory_width,
                read_heads=self.read_heads,
                controller=self.controller,
                controller_activation=self.controller_activation,
                clip_value=self.clip_value,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                bias_initializer=self.bias_initializer,
            ),
        }


def _take(xi, sizes):
    """Split the last axis of xi into consecutive pieces of the given sizes."""
    pieces, start = [], 0
    for size in sizes:
        pieces.append(xi[..., start : start + size])
        start += size
    return pieces


@keras.saving.register_keras_serializable(package="recipes")
class NTMCell(_MemoryCell):
    """Neural Turing Machine: a controller that reads and writes an N x M memory through heads
    that address it by content and by location.

    Equations (Graves, Wayne and Danihelka 2014; each head, at each step t, with its own
    parameters read from the clipped controller interface xi_t = clip(h_t W_xi + b_xi)):

        key k_t, strength beta_t = softplus(.), gate g_t = sigmoid(.),
        shift s_t = softmax(.) over the shifts -S..S, sharpening gamma_t = 1 + softplus(.)
        w^c_t(i) = exp(beta_t K(k_t, M_{t-1}(i))) / sum_j exp(beta_t K(k_t, M_{t-1}(j)))
        w^g_t = g_t w^c_t + (1 - g_t) w_{t-1}                          (interpolation)
        w~_t(i) = sum_j w^g_t(j) s_t(i - j)       (circular convolution, indices mod N)
        w_t(i) = w~_t(i)^gamma_t / sum_j w~_t(j)^gamma_t                (sharpening)
        write heads, erase e_t = sigmoid(.) and add a_t = tanh(.):
        M_t(i) = M_{t-1}(i) prod_heads [1 - w_t(i) e_t] + sum_heads w_t(i) a_t
        read heads (on the memory just written):  r_t = sum_i w_t(i) M_t(i)

    K is the cosine similarity. The write heads address M_{t-1}; the read heads then address
    and read M_t, so a value can be read at the step it is written (as in the DNC; Collier and
    Beel read before writing, see below). The
    controller (an LSTM, or a feed-forward layer with `controller="feedforward"`) reads
    [x_t, r_{t-1}] and gives h_t; the cell outputs [h_t, r_t]. A small epsilon is added to w~
    before sharpening so that 0^gamma has a finite gradient; the sharpening is computed as
    softmax(gamma log(w~ + eps)), equal to the formula above but safe from underflow (with the
    largest gamma, about 21, and a flat w~ over N >~ 140 rows every power is below float32's
    range, and the quotient would be 0/0).

    Initialisation after Collier and Beel (2018), who found it stable: the initial read vectors
    r_0 (`initial_reads`) and the initial weightings w_0 = softmax(`initial_read_logits`,
    `initial_write_logits`) are learnt, and the interface is clipped to [-clip_value, clip_value].
    The memory starts at a fixed small constant (1e-6, `initial_memory="constant"`), or at a learnt
    M_0 (`initial_memory="learned"`, started uniform in +-sqrt(6 / (1 + N M)) as Collier and Beel's
    `learned_init`). With the constant, every row looks alike to content addressing until the
    heads have written, so only a sharp w_0 and the shifts can spread the writes; a small
    controller finds that, a large one may not: at Collier and Beel's copy-task setting (100-unit
    controller, 128 x 20 memory, length 20) ours had 47 wrong bits of 160 after 2,500 steps
    with the constant (still 32 after 26,500) and 5.2 with a learnt M_0, which went on to copy
    sequences of 80 without error (training/copy_task.py). Scaling the controller up: use
    "learned". The default stays "constant", which notebook 15's small NTM was measured with.

    Deviations from Collier and Beel's implementation (github.com/MarkPKCollier/
    NeuralTuringMachine, `ntm.py`), which the paper leaves open:
    - keys: ours is the clipped interface itself, k_t in [-clip_value, clip_value]; theirs is
      tanh of it, in (-1, 1). The cosine similarity sees only the key's direction, which the
      tanh changes by squashing its large entries.
    - initial reads: ours r_0 = `initial_reads` as learnt; theirs tanh of a learnt vector.
    - order: ours writes first and reads the memory just written (M_t, with read weightings
      addressed on M_t); theirs addresses every head on M_{t-1} and reads M_{t-1}, then writes,
      so a value written at step t is read at t + 1 at the earliest.
    - several write heads: ours erases with all of them, then adds all (the paper's
      M_{t-1} prod (1 - w e) + sum w a); theirs erases and adds head by head.
    - initial memory: ours a fixed constant 1e-6 or a learnt M_0; theirs a learnt M_0 by default
      (`run_tasks.py`), or a variable started at 1e-6 ("constant" mode, which TensorFlow 1
      trains too), or a fixed random one.
    - ours adds 1e-6 to w~ before sharpening (finite gradient of 0^gamma); theirs does not.
    - output: ours [h_t, r_t] (add a Dense); theirs a clipped dense layer of [h_t, r_t].

    The states are [y_t = [h_t, r_t], (c_t for the LSTM controller), M_t (flattened N * M),
    read weightings (R * N), write weightings (W * N)]; `unpack_states` names them (in float32).
    Under mixed precision the last three are `pieces` (2 or 3) times longer (see above).

    References: A. Graves, G. Wayne and I. Danihelka (2014), "Neural Turing Machines",
    arXiv:1410.5401; M. Collier and J. Beel (2018), "Implementing Neural Turing Machines",
    ICANN (arXiv:1807.08518).

    Args:
        units: size of the controller output h.
        memory_size: N, number of memory locations.
        memory_width: M, size of each location.
        read_heads, write_heads: number of read and write heads.
        shift_range: S, the largest shift; the heads can move by -S..S locations per step.
        initial_memory: "constant" (M_0 = 1e-6 everywhere, fixed) or "learned" (a trainable M_0).
        controller: "lstm" or "feedforward".
        controller_activation: activation of the controller (tanh).
        clip_value: bound of the controller interface.
        kernel_initializer, recurrent_initializer, bias_initializer: controller and interface
            initializers.

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: the list of states above.

    Example:
        >>> layer = keras.layers.RNN(NTMCell(32, memory_size=16, memory_width=8))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 40)
    """

    def __init__(
        self,
        units,
        memory_size=16,
        memory_width=8,
        read_heads=1,
        write_heads=1,
        shift_range=1,
        initial_memory="constant",
        **kwargs,
    ):
        super().__init__(
            units, memory_size=memory_size, memory_width=memory_width, read_heads=read_heads,
            **kwargs,
        )
        if initial_memory not in ("constant", "learned"):
            raise ValueError(f"`initial_memory` must be 'constant' or 'learned', got {initial_memory!r}.")
        self.initial_memory = initial_memory
        self.write_heads = check_positive_int("write_heads", write_heads)
        if isinstance(shift_range, bool) or not isinstance(shift_range, int) or shift_range < 0:
            raise ValueError(f"`shift_range` must be an integer >= 0, got {shift_range!r}.")
        if 2 * shift_range + 1 > self.memory_size:
            raise ValueError(
                f"`shift_range` must be at most (memory_size - 1) / 2 = "
                f"{(self.memory_size - 1) // 2}, got {shift_range!r}."
            )
        self.shift_range = shift_range
        n, m, k = self.memory_size, self.memory_width, self.pieces
        self.state_size = [self.output_size] + ([self.units] if self.controller == "lstm" else [])
        self.state_size += [k * n * m, k * self.read_heads * n, k * self.write_heads * n]

    def head_size(self):
        """k (M), beta, g, s (2S + 1), gamma."""
        return self.memory_width + 3 + 2 * self.shift_range + 1

    def interface_size(self):
        heads = self.read_heads + self.write_heads
        return heads * self.head_size() + self.write_heads * 2 * self.memory_width

    def build(self, input_shape):
        super().build(input_shape)
        n = self.memory_size
        self.initial_reads = self.add_weight(
            shape=(self.read_size,),
            name="initial_reads",
            initializer=keras.initializers.RandomNormal(stddev=0.5),
        )
        self.initial_read_logits = self.add_weight(
            shape=(self.read_heads, n), name="initial_read_logits", initializer="random_normal"
        )
        self.initial_write_logits = self.add_weight(
            shape=(self.write_heads, n), name="initial_write_logits", initializer="random_normal"
        )
        if self.initial_memory == "learned":  # Collier and Beel's learned_init: glorot of (1, N M)
            limit = float(np.sqrt(6.0 / (1 + n * self.memory_width)))
            self.initial_memory_values = self.add_weight(
                shape=(n * self.memory_width,), name="initial_memory_values",
                initializer=keras.initializers.RandomUniform(-limit, limit),
            )

    def get_initial_state(self, batch_size=None):
        if not self.built:
            raise ValueError("NTMCell learns its initial state: build it (or its RNN) first.")
        dtype = self.compute_dtype
        zeros = ops.zeros((batch_size, self.units), dtype=dtype)
        reads = ops.broadcast_to(ops.cast(self.initial_reads, dtype), (batch_size, self.read_size))
        states = [ops.concatenate([zeros, reads], axis=-1)]
        if self.controller == "lstm":
            states.append(zeros)
        n, m = self.memory_size, self.memory_width
        if self.initial_memory == "learned":
            memory = ops.cast(self.initial_memory_values, "float32")[None]
            memory = ops.broadcast_to(memory, (batch_size, n * m))
        else:
            memory = ops.full((batch_size, n * m), _EPSILON, dtype="float32")
        states.append(_split(memory, dtype, self.pieces))
        for logits in (self.initial_read_logits, self.initial_write_logits):
            w = ops.reshape(ops.softmax(ops.cast(logits, "float32"), axis=-1), (1, -1))
            w = ops.broadcast_to(w, (batch_size, ops.shape(w)[1]))
            states.append(_split(w, dtype, self.pieces))
        return states

    def unpack_states(self, states):
        """A dict of the named states: output, h, reads (batch, R, M), memory (batch, N, M),
        read_weightings (batch, R, N), write_weightings (batch, W, N), and c for the LSTM."""
        states = list(states)
        output = states.pop(0)
        named = {"output": output}
        named["h"], reads = self.split_output(output)
        named["reads"] = ops.reshape(reads, (-1, self.read_heads, self.memory_width))
        if self.controller == "lstm":
            named["c"] = states.pop(0)
        n, m = self.memory_size, self.memory_width
        states = [_join(state, self.pieces) for state in states]  # float32
        named["memory"] = ops.reshape(states[0], (-1, n, m))
        named["read_weightings"] = ops.reshape(states[1], (-1, self.read_heads, n))
        named["write_weightings"] = ops.reshape(states[2], (-1, self.write_heads, n))
        return named

    def address(self, memory, head, w_prev):
        """w_t for the heads whose raw parameters are `head` (batch, heads, head_size)."""
        m, s = self.memory_width, 2 * self.shift_range + 1
        k, beta, g, shift, gamma = _take(head, [m, 1, 1, s, 1])
        beta = ops.softplus(beta[..., 0])
        g = ops.sigmoid(g)
        shift = ops.softmax(shift, axis=-1)
        gamma = 1.0 + ops.softplus(gamma)
        w_c = content_weighting(memory, k, beta)
        w_g = g * w_c + (1.0 - g) * w_prev
        w_tilde = 0.0
        for index, offset in enumerate(range(-self.shift_range, self.shift_range + 1)):
            w_tilde = w_tilde + shift[..., index : index + 1] * ops.roll(w_g, offset, axis=-1)
        # w~^gamma / sum w~^gamma computed as softmax(gamma log w~): the same weighting, but
        # with gamma ~ 21 and w~ ~ 1/N every power underflows float32 for N >~ 140 (0/0).
        return ops.softmax(gamma * ops.log(w_tilde + _EPSILON), axis=-1)

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        named = self.unpack_states(states)
        h_prev, reads_prev = self.split_output(named["output"])
        h, c = self.controller_step(inputs, reads_prev, h_prev, named.get("c"))
        # Addressing and memory in float32 whatever the compute dtype (mixed precision): the
        # softmaxes and the cosine's epsilon are not safe in float16, nor small writes.
        xi = ops.cast(self.interface(h), "float32")
        n, m, hs = self.memory_size, self.memory_width, self.head_size()
        r_heads, w_heads = self.read_heads, self.write_heads
        read_params, write_params, erase_add = _take(
            xi, [r_heads * hs, w_heads * hs, w_heads * 2 * m]
        )
        memory = named["memory"]
        w_write = self.address(
            memory, ops.reshape(write_params, (-1, w_heads, hs)), named["write_weightings"]
        )
        erase_add = ops.reshape(erase_add, (-1, w_heads, 2 * m))
        erase = ops.sigmoid(erase_add[..., :m])
        add = ops.tanh(erase_add[..., m:])
        keep = ops.prod(1.0 - w_write[..., :, None] * erase[..., None, :], axis=1)
        memory = memory * keep + ops.einsum("bwn,bwm->bnm", w_write, add)
        w_read = self.address(
            memory, ops.reshape(read_params, (-1, r_heads, hs)), named["read_weightings"]
        )
        reads = ops.reshape(ops.einsum("brn,bnm->brm", w_read, memory), (-1, self.read_size))
        dtype = h.dtype
        output = ops.concatenate([h, ops.cast(reads, dtype)], axis=-1)
        new_states = [output] + ([c] if c is not None else [])
        new_states += [
            _split(ops.reshape(memory, (-1, n * m)), dtype, self.pieces),
            _split(ops.reshape(w_read, (-1, r_heads * n)), dtype, self.pieces),
            _split(ops.reshape(w_write, (-1, w_heads * n)), dtype, self.pieces),
        ]
        return output, new_states

    def get_config(self):
        return {
            **super().get_config(),
            "write_heads": self.write_heads,
            "shift_range": self.shift_range,
            "initial_memory": self.initial_memory,
        }


@keras.saving.register_keras_serializable(package="recipes")
class DNCCell(_MemoryCell):
    """Differentiable Neural Computer: a controller with an N x W memory, one write head that
    allocates free locations, and read heads that follow the order of writing.

    Equations (Graves et al. 2016, Methods; the interface xi_t = clip(h_t W_xi + b_xi) gives
    R read keys k^{r,i}, read strengths beta^{r,i} = oneplus(.), a write key k^w and strength
    beta^w, erase e = sigmoid(.), write vector v, free gates f^i = sigmoid(.), allocation gate
    g^a = sigmoid(.), write gate g^w = sigmoid(.), read modes pi^i = softmax(.) over 3;
    oneplus(x) = 1 + softplus(x), C is content addressing with the cosine similarity):

        psi_t = prod_i (1 - f^i_t w^{r,i}_{t-1})                         (retention)
        u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} * w^w_{t-1}) * psi_t        (usage)
        phi_t = indices of u_t sorted ascending                          (free list)
        a_t[phi_t[j]] = (1 - u_t[phi_t[j]]) prod_{i<j} u_t[phi_t[i]]     (allocation)
        c^w_t = C(M_{t-1}, k^w_t, beta^w_t)
        w^w_t = g^w_t [g^a_t a_t + (1 - g^a_t) c^w_t]
        M_t = M_{t-1} * (E - w^w_t e_t^T) + w^w_t v_t^T
        L_t[i, j] = (1 - w^w_t[i] - w^w_t[j]) L_{t-1}[i, j] + w^w_t[i] p_{t-1}[j],  L_t[i, i] = 0
        p_t = (1 - sum_i w^w_t[i]) p_{t-1} + w^w_t                       (precedence)
        f^i_t = L_t w^{r,i}_{t-1},   b^i_t = L_t^T w^{r,i}_{t-1}         (forward, backward)
        w^{r,i}_t = pi^i_t[1] b^i_t + pi^i_t[2] C(M_t, k^{r,i}_t, beta^{r,i}_t) + pi^i_t[3] f^i_t
        r^i_t = M_t^T w^{r,i}_t

    The sort is not differentiated (gradients flow through the sorted usage values, not the
    order), as in the paper; as in DeepMind's implementation the usage is mapped to
    eps + (1 - eps) u before the product, so the gradient of the product stays finite. The
    controller reads [x_t, r_{t-1}] and the cell outputs [h_t, r_t]. All states start at zero.

    The usage equation is differentiated as the paper writes it, through w^w_{t-1} too.
    DeepMind's implementation (github.com/google-deepmind/dnc, `addressing.Freeness`) stops the
    gradient of the usage through the previous write weighting; `stop_usage_gradient=True` does
    the same (the forward pass is identical either way).

    The states are [y_t = [h_t, r_t], (c_t for the LSTM controller), M_t (N * W), u_t (N),
    L_t (N * N), p_t (N), read weightings (R * N), write weighting (N)]; `unpack_states`
    names them (in float32). Under mixed precision the states from M_t on are `pieces` (2 or
    3) times longer (see the module's docstring).

    Reference: A. Graves, G. Wayne, M. Reynolds et al. (2016), "Hybrid computing using a neural
    network with dynamic external memory", Nature 538.

    Args:
        units: size of the controller output h.
        memory_size: N, number of memory locations.
        memory_width: W, the word size.
        read_heads: R, number of read heads.
        controller: "lstm" or "feedforward".
        controller_activation: activation of the controller (tanh).
        clip_value: bound of the controller interface.
        kernel_initializer, recurrent_initializer, bias_initializer: controller and interface
            initializers.
        stop_usage_gradient: stop the gradient of u_t through w^w_{t-1}, as DeepMind's
            implementation does (default False: the paper's equation, differentiated fully).

    Call arguments:
        inputs: x_t, shape (batch, features).
        states: the list of states above.

    Example:
        >>> layer = keras.layers.RNN(DNCCell(32, memory_size=16, memory_width=8, read_heads=2))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 48)
    """

    def __init__(self, units, memory_size=16, memory_width=8, read_heads=1,
                 stop_usage_gradient=False, **kwargs):
        super().__init__(
            units, memory_size=memory_size, memory_width=memory_width, read_heads=read_heads,
            **kwargs,
        )
        self.stop_usage_gradient = bool(stop_usage_gradient)
        n, w, r, k = self.memory_size, self.memory_width, self.read_heads, self.pieces
        self.state_size = [self.output_size] + ([self.units] if self.controller == "lstm" else [])
        self.state_size += [k * size for size in (n * w, n, n * n, n, r * n, n)]

    def interface_size(self):
        w, r = self.memory_width, self.read_heads
        return r * w + r + w + 1 + w + w + r + 1 + 1 + 3 * r

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def unpack_states(self, states):
        """A dict of the named states: output, h, reads (batch, R, W), memory (batch, N, W),
        usage (batch, N), link (batch, N, N), precedence (batch, N), read_weightings
        (batch, R, N), write_weightings (batch, 1, N), and c for the LSTM."""
        states = list(states)
        output = states.pop(0)
        named = {"output": output}
        named["h"], reads = self.split_output(output)
        named["reads"] = ops.reshape(reads, (-1, self.read_heads, self.memory_width))
        if self.controller == "lstm":
            named["c"] = states.pop(0)
        n, w = self.memory_size, self.memory_width
        states = [_join(state, self.pieces) for state in states]  # float32
        named["memory"] = ops.reshape(states[0], (-1, n, w))
        named["usage"] = states[1]
        named["link"] = ops.reshape(states[2], (-1, n, n))
        named["precedence"] = states[3]
        named["read_weightings"] = ops.reshape(states[4], (-1, self.read_heads, n))
        named["write_weightings"] = ops.reshape(states[5], (-1, 1, n))
        return named

    @staticmethod
    def allocation(usage):
        """a_t from u_t (batch, N): free locations first, in order of increasing usage."""
        usage = _EPSILON + (1.0 - _EPSILON) * usage
        order = ops.stop_gradient(ops.argsort(usage, axis=-1))
        sorted_usage = ops.take_along_axis(usage, order, axis=-1)
        before = ops.cumprod(sorted_usage, axis=-1)
        before = ops.concatenate([ops.ones_like(before[:, :1]), before[:, :-1]], axis=-1)
        sorted_allocation = (1.0 - sorted_usage) * before
        # Back to memory order: location order[j] gets sorted_allocation[j].
        unsort = ops.one_hot(order, ops.shape(usage)[-1], dtype=usage.dtype)
        return ops.einsum("bj,bjn->bn", sorted_allocation, unsort)

    def call(self, inputs, states, training=False):
        check_built_input(self, inputs)
        s = self.unpack_states(states)
        h_prev, reads_prev = self.split_output(s["output"])
        h, c = self.controller_step(inputs, reads_prev, h_prev, s.get("c"))
        n, w, r = self.memory_size, self.memory_width, self.read_heads
        (read_keys, read_strengths, write_key, write_strength, erase, write_vector,
         free_gates, allocation_gate, write_gate, read_modes) = _take(
            # Memory, usage and links in float32 whatever the compute dtype (mixed precision).
            ops.cast(self.interface(h), "float32"), [r * w, r, w, 1, w, w, r, 1, 1, 3 * r]
        )
        read_keys = ops.reshape(read_keys, (-1, r, w))
        read_strengths = 1.0 + ops.softplus(read_strengths)
        write_strength = 1.0 + ops.softplus(write_strength)
        erase, free_gates = ops.sigmoid(erase), ops.sigmoid(free_gates)
        allocation_gate, write_gate = ops.sigmoid(allocation_gate), ops.sigmoid(write_gate)
        read_modes = ops.softmax(ops.reshape(read_modes, (-1, r, 3)), axis=-1)

        w_read_prev, w_write_prev = s["read_weightings"], s["write_weightings"][:, 0]
        memory, link, precedence = s["memory"], s["link"], s["precedence"]
        # usage and allocation
        if self.stop_usage_gradient:  # as DeepMind's implementation (the paper: differentiated)
            w_write_prev = ops.stop_gradient(w_write_prev)
        psi = ops.prod(1.0 - free_gates[:, :, None] * w_read_prev, axis=1)
        usage = (s["usage"] + w_write_prev - s["usage"] * w_write_prev) * psi
        allocation = self.allocation(usage)
        # write
        content = content_weighting(memory, write_key[:, None, :], write_strength)[:, 0]
        w_write = write_gate * (allocation_gate * allocation + (1.0 - allocation_gate) * content)
        memory = memory * (1.0 - w_write[:, :, None] * erase[:, None, :])
        memory = memory + w_write[:, :, None] * write_vector[:, None, :]
        # temporal links
        link = (1.0 - w_write[:, :, None] - w_write[:, None, :]) * link
        link = (link + w_write[:, :, None] * precedence[:, None, :]) * (1.0 - ops.eye(n))
        precedence = (1.0 - ops.sum(w_write, axis=-1, keepdims=True)) * precedence + w_write
        # read
        forward = ops.einsum("bij,brj->bri", link, w_read_prev)
        backward = ops.einsum("bji,brj->bri", link, w_read_prev)
        content = content_weighting(memory, read_keys, read_strengths)
        w_read = (read_modes[..., 0:1] * backward + read_modes[..., 1:2] * content
                  + read_modes[..., 2:3] * forward)
        reads = ops.reshape(ops.einsum("brn,bnw->brw", w_read, memory), (-1, r * w))

        dtype = h.dtype
        output = ops.concatenate([h, ops.cast(reads, dtype)], axis=-1)
        new_states = [output] + ([c] if c is not None else [])
        new_states += [
            _split(v, dtype, self.pieces)
            for v in (ops.reshape(memory, (-1, n * w)), usage, ops.reshape(link, (-1, n * n)),
                      precedence, ops.reshape(w_read, (-1, r * n)), w_write)
        ]
        return output, new_states

    def get_config(self):
        return {**super().get_config(), "stop_usage_gradient": self.stop_usage_gradient}


def memory_trace(cell, inputs):
    """Run `cell` (an NTMCell or DNCCell) step by step on `inputs` (batch, time, features).

    Returns a dict of NumPy arrays with a time axis after the batch axis: every entry of
    `cell.unpack_states` after each step, e.g. "read_weightings" (batch, time, heads, N) and
    "write_weightings" (batch, time, heads, N), for plots of where the heads look. The cell is
    built on the inputs' shape if it is not built yet; its weights are used as they are.
    """
    inputs = ops.convert_to_tensor(inputs, dtype=cell.compute_dtype)
    batch, time = ops.shape(inputs)[0], ops.shape(inputs)[1]
    if not cell.built:
        cell.build((batch, ops.shape(inputs)[2]))
    states = cell.get_initial_state(batch_size=batch)
    steps = []
    for t in range(time):
        _, states = cell.call(inputs[:, t], states)
        steps.append({k: ops.convert_to_numpy(v) for k, v in cell.unpack_states(states).items()})
    return {key: np.stack([step[key] for step in steps], axis=1) for key in steps[0]}
