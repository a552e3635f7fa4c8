"""Memory-augmented networks (recipes/memory.py): one NTM step and one DNC step against NumPy
references written from the papers' equations, the allocation and shift by hand, invariants of
the weightings, usage and link matrix at every step, shapes, gradients, save/load, bad input."""

import keras
import numpy as np
import pytest

from recipes.memory import DNCCell, NTMCell, memory_trace
from tests.helpers import gradients, numpy_of

EPS = 1e-6
RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 5, 4)).astype("float32")


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def softplus(v):
    return np.log1p(np.exp(v))


def softmax(v):
    e = np.exp(v - v.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def built_randomized(cell, scale=0.7, seed=1):
    keras.layers.RNN(cell)(X)
    rng = np.random.default_rng(seed)
    for w in cell.weights:
        w.assign(rng.normal(scale=scale, size=w.shape).astype("float32"))
    return cell


def split(v, sizes):
    out, start = [], 0
    for s in sizes:
        out.append(v[..., start : start + s])
        start += s
    return out


def controller_numpy(cell, weights, x, reads, h, c):
    z = np.concatenate([x, reads], -1) @ weights["kernel"] + weights["bias"]
    z = z + h @ weights["recurrent_kernel"]
    zi, zf, zc, zo = np.split(z, 4, axis=-1)
    c = sigmoid(zf) * c + sigmoid(zi) * np.tanh(zc)
    h = sigmoid(zo) * np.tanh(c)
    xi = np.clip(h @ weights["interface_kernel"] + weights["interface_bias"], -cell.clip_value, cell.clip_value)
    return h, c, xi


def content_numpy(memory, key, beta):
    """softmax_i(beta * cos(k, M[i])) for one head of one sequence."""
    norm = lambda v: np.sqrt((v * v).sum(-1) + EPS**2)  # noqa: E731
    cos = memory @ key / (norm(memory) * norm(key))
    return softmax(beta * cos)


def weights_of(cell):
    return {w.path.split("/")[-1]: numpy_of(w) for w in cell.weights}


# --- the NTM -------------------------------------------------------------------------------------


def ntm_address_numpy(memory, params, w_prev, m, shift_range):
    """Graves et al. 2014, section 3.3: content, interpolation, circular shift, sharpening."""
    k, beta, g, s, gamma = split(params, [m, 1, 1, 2 * shift_range + 1, 1])
    beta, g, gamma = softplus(beta[0]), sigmoid(g[0]), 1 + softplus(gamma[0])
    s = softmax(s)
    w_c = content_numpy(memory, k, beta)
    w_g = g * w_c + (1 - g) * w_prev
    n = len(w_g)
    # w~(i) = sum_j w^g(j) s(i - j), s zero outside -S..S (indices mod N)
    w_tilde = np.array([sum(s[k + shift_range] * w_g[(i - k) % n]
                            for k in range(-shift_range, shift_range + 1)) for i in range(n)])
    w = (w_tilde + EPS) ** gamma
    return w / w.sum()


# A batch of 1 and single heads too: batched products with sizes of 1 are where TensorFlow 2.20's
# oneDNN kernels went wrong for broadcast products (issue 17).
@pytest.mark.parametrize(
    "read_heads, write_heads, shift_range, batch", [(1, 1, 1, 2), (2, 2, 2, 2), (1, 1, 1, 1)]
)
def test_ntm_step_matches_numpy_reference(read_heads, write_heads, shift_range, batch):
    n, m, units = 7, 4, 5
    cell = built_randomized(
        NTMCell(units, memory_size=n, memory_width=m, read_heads=read_heads,
                write_heads=write_heads, shift_range=shift_range, clip_value=2.0)
    )
    rng = np.random.default_rng(3)
    h0, c0 = rng.normal(size=(batch, units)), rng.normal(size=(batch, units))
    reads0 = rng.normal(size=(batch, read_heads * m))
    memory0 = rng.normal(size=(batch, n, m))
    w_read0 = softmax(rng.normal(size=(batch, read_heads, n)))
    w_write0 = softmax(rng.normal(size=(batch, write_heads, n)))
    states = [np.concatenate([h0, reads0], -1), c0, memory0.reshape(batch, -1),
              w_read0.reshape(batch, -1), w_write0.reshape(batch, -1)]
    x = rng.normal(size=(batch, 4))
    out, new = cell.call(keras.ops.convert_to_tensor(x.astype("float32")),
                         [keras.ops.convert_to_tensor(s.astype("float32")) for s in states])

    weights = weights_of(cell)
    hs = m + 3 + 2 * shift_range + 1
    for b in range(batch):
        h, c, xi = controller_numpy(cell, weights, x[b], reads0[b], h0[b], c0[b])
        read_p, write_p, erase_add = split(xi, [read_heads * hs, write_heads * hs, write_heads * 2 * m])
        memory = memory0[b]
        w_write = np.stack([ntm_address_numpy(memory, write_p[i * hs : (i + 1) * hs], w_write0[b, i], m, shift_range)
                            for i in range(write_heads)])
        keep = np.ones_like(memory)
        added = np.zeros_like(memory)
        for i in range(write_heads):
            e = sigmoid(erase_add[i * 2 * m : i * 2 * m + m])
            a = np.tanh(erase_add[i * 2 * m + m : (i + 1) * 2 * m])
            keep *= 1 - np.outer(w_write[i], e)
            added += np.outer(w_write[i], a)
        memory = memory * keep + added
        w_read = np.stack([ntm_address_numpy(memory, read_p[i * hs : (i + 1) * hs], w_read0[b, i], m, shift_range)
                           for i in range(read_heads)])
        reads = (w_read @ memory).reshape(-1)
        expected = [np.concatenate([h, reads]), c, memory.reshape(-1), w_read.reshape(-1), w_write.reshape(-1)]
        np.testing.assert_allclose(numpy_of(out)[b], expected[0], atol=1e-4)
        for got, want in zip(new, expected):
            np.testing.assert_allclose(numpy_of(got)[b], want, atol=1e-4)


def test_ntm_location_addressing_moves_a_one_hot_weighting_by_the_shift():
    # Derived by hand: a constant memory makes the content weighting uniform; with g = 0 the
    # head keeps w_{t-1} = e_2; a shift distribution on +1 moves it to e_3 and gamma keeps it.
    cell = NTMCell(3, memory_size=5, memory_width=2, shift_range=1)
    keras.layers.RNN(cell)(X)
    memory = keras.ops.ones((1, 5, 2))
    big = 30.0
    # k, beta, g, s(-1, 0, +1), gamma
    params = np.array([[[0.1, 0.2, 0.0, -big, -big, -big, big, 0.0]]], "float32")
    params = keras.ops.convert_to_tensor(params)
    w_prev = keras.ops.convert_to_tensor(np.eye(5, dtype="float32")[None, 2:3])
    w = numpy_of(cell.address(memory, params, w_prev))
    np.testing.assert_allclose(w[0, 0], np.eye(5)[3], atol=1e-5)
    # and with wrap-around from the last location to the first
    w_prev = keras.ops.convert_to_tensor(np.eye(5, dtype="float32")[None, 4:5])
    w = numpy_of(cell.address(memory, params, w_prev))
    np.testing.assert_allclose(w[0, 0], np.eye(5)[0], atol=1e-5)


@pytest.mark.parametrize("flat", [True, False])
def test_ntm_sharpening_with_the_largest_gamma_over_1000_rows_matches_numpy(flat):
    # gamma = 1 + softplus(clip_value) ~ 21; a weighting of about 1/1000 to that power is about
    # 1e-63, below float32's smallest number, so w^gamma / sum w^gamma as written is 0/0. The
    # reference computes the paper's formula in float64, where it is representable.
    n, m, c = 1000, 2, 20.0
    cell = NTMCell(3, memory_size=n, memory_width=m, shift_range=1, clip_value=c)
    keras.layers.RNN(cell)(X)
    memory = np.ones((1, n, m), "float32")  # a constant memory: a uniform content weighting
    # k, beta, g (sigmoid(-c): keep w_prev), s(-1, 0, +1) (no shift), gamma (the largest)
    params = np.array([[[0.1, 0.2, 0.0, -c, -c, c, -c, c]]], "float32")
    logits = 0.0 if flat else np.random.default_rng(0).normal(scale=0.1, size=n)
    w_prev = softmax(np.broadcast_to(logits, (1, 1, n))).astype("float32")
    w = numpy_of(cell.address(*map(keras.ops.convert_to_tensor, (memory, params, w_prev))))[0, 0]
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(w.sum(), 1.0, atol=1e-5)
    expected = ntm_address_numpy(memory[0].astype("float64"), params[0, 0].astype("float64"),
                                 w_prev[0, 0].astype("float64"), m, 1)
    assert np.all(expected > 0)  # representable in float64
    np.testing.assert_allclose(w, expected, rtol=1e-3, atol=1e-9)
    if flat:
        np.testing.assert_allclose(w, 1 / n, rtol=1e-4)
    else:
        assert w.max() > 20 * w.min()  # the sharpening sharpened


# --- the DNC -------------------------------------------------------------------------------------


def allocation_numpy(u):
    """Graves et al. 2016, Methods: a[phi[j]] = (1 - u[phi[j]]) prod_{i<j} u[phi[i]]."""
    u = EPS + (1 - EPS) * u
    phi = np.argsort(u, kind="stable")
    a = np.zeros_like(u)
    for j, loc in enumerate(phi):
        a[loc] = (1 - u[loc]) * np.prod(u[phi[:j]])
    return a


def test_allocation_by_hand():
    # usage [0.5, 0.1, 0.9]: the free list (ascending usage) is locations 1, 0, 2, so
    # a[1] = 1 - 0.1 = 0.9, a[0] = (1 - 0.5) * 0.1 = 0.05, a[2] = (1 - 0.9) * 0.1 * 0.5 = 0.005
    got = numpy_of(DNCCell.allocation(keras.ops.convert_to_tensor(np.array([[0.5, 0.1, 0.9]], "float32"))))
    np.testing.assert_allclose(got[0], [0.05, 0.9, 0.005], atol=1e-5)
    # all locations free: the first one in the free list gets everything
    got = numpy_of(DNCCell.allocation(keras.ops.zeros((1, 4))))
    assert got[0].max() > 1 - 1e-5 and got[0].sum() < 1 + 1e-5


def dnc_step_numpy(cell, weights, x, state):
    n, w, r = cell.memory_size, cell.memory_width, cell.read_heads
    h, c, xi = controller_numpy(cell, weights, x, state["reads"], state["h"], state["c"])
    (k_r, beta_r, k_w, beta_w, e, v, f, g_a, g_w, pi) = split(xi, [r * w, r, w, 1, w, w, r, 1, 1, 3 * r])
    k_r, beta_r, beta_w = k_r.reshape(r, w), 1 + softplus(beta_r), 1 + softplus(beta_w[0])
    e, f, g_a, g_w = sigmoid(e), sigmoid(f), sigmoid(g_a[0]), sigmoid(g_w[0])
    pi = softmax(pi.reshape(r, 3))
    w_r_prev, w_w_prev = state["w_read"], state["w_write"]
    psi = np.prod(1 - f[:, None] * w_r_prev, axis=0)
    u = (state["usage"] + w_w_prev - state["usage"] * w_w_prev) * psi
    a = allocation_numpy(u)
    c_w = content_numpy(state["memory"], k_w, beta_w)
    w_w = g_w * (g_a * a + (1 - g_a) * c_w)
    memory = state["memory"] * (1 - np.outer(w_w, e)) + np.outer(w_w, v)
    link = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                link[i, j] = (1 - w_w[i] - w_w[j]) * state["link"][i, j] + w_w[i] * state["precedence"][j]
    p = (1 - w_w.sum()) * state["precedence"] + w_w
    w_r = np.zeros((r, n))
    for i in range(r):
        fwd, bwd = link @ w_r_prev[i], link.T @ w_r_prev[i]
        w_r[i] = pi[i, 0] * bwd + pi[i, 1] * content_numpy(memory, k_r[i], beta_r[i]) + pi[i, 2] * fwd
    reads = (w_r @ memory).reshape(-1)
    return [np.concatenate([h, reads]), c, memory.reshape(-1), u, link.reshape(-1), p, w_r.reshape(-1), w_w]


def random_dnc_state(rng, n, w, r, units):
    w_write = softmax(rng.normal(size=n)) * 0.8
    link = rng.uniform(size=(n, n)) / n
    np.fill_diagonal(link, 0)
    return {
        "h": rng.normal(size=units), "c": rng.normal(size=units), "reads": rng.normal(size=r * w),
        "memory": rng.normal(size=(n, w)), "usage": rng.uniform(size=n), "link": link,
        "precedence": softmax(rng.normal(size=n)) * 0.9,
        "w_read": softmax(rng.normal(size=(r, n))) * 0.9, "w_write": w_write,
    }


@pytest.mark.parametrize("batch, r", [(3, 2), (1, 1)])
def test_dnc_step_matches_numpy_reference(batch, r):
    n, w, units = 6, 3, 5
    cell = built_randomized(DNCCell(units, memory_size=n, memory_width=w, read_heads=r, clip_value=3.0))
    rng = np.random.default_rng(4)
    s = [random_dnc_state(rng, n, w, r, units) for _ in range(batch)]
    s[min(1, batch - 1)]["usage"][[1, 4]] = 0.0  # ties and exact zeros in the free list
    states = [
        np.stack([np.concatenate([v["h"], v["reads"]]) for v in s]),
        np.stack([v["c"] for v in s]),
        np.stack([v["memory"].reshape(-1) for v in s]),
        np.stack([v["usage"] for v in s]),
        np.stack([v["link"].reshape(-1) for v in s]),
        np.stack([v["precedence"] for v in s]),
        np.stack([v["w_read"].reshape(-1) for v in s]),
        np.stack([v["w_write"] for v in s]),
    ]
    x = rng.normal(size=(batch, 4))
    out, new = cell.call(keras.ops.convert_to_tensor(x.astype("float32")),
                         [keras.ops.convert_to_tensor(v.astype("float32")) for v in states])
    weights = weights_of(cell)
    names = ["output", "c", "memory", "usage", "link", "precedence", "read weightings", "write weighting"]
    for b in range(batch):
        expected = dnc_step_numpy(cell, weights, x[b], s[b])
        np.testing.assert_allclose(numpy_of(out)[b], expected[0], atol=1e-4)
        for name, got, want in zip(names, new, expected):
            np.testing.assert_allclose(numpy_of(got)[b], want, atol=1e-4, err_msg=name)


class UsageOfThePreviousWrite(keras.layers.Layer):
    """u_t of one step of a built DNCCell as a function of w^w_{t-1} alone (other states fixed)."""

    def __init__(self, cell, x, states, **kwargs):
        super().__init__(**kwargs)
        self.cell, self.x, self.fixed = cell, x, states

    def call(self, w_write_prev):
        states = [keras.ops.convert_to_tensor(v) for v in self.fixed[:-1]] + [w_write_prev]
        _, new = self.cell.call(keras.ops.convert_to_tensor(self.x), states)
        # + 0 w: the input stays in the graph, so every backend returns its gradient (PyTorch
        # refuses to differentiate with respect to an unused input, TensorFlow returns None).
        return self.cell.unpack_states(new)["usage"] + 0.0 * w_write_prev


@pytest.mark.parametrize("stop_usage_gradient", [False, True])
def test_stop_usage_gradient_stops_only_the_gradient_through_the_previous_write(stop_usage_gradient):
    # u_t = (u_{t-1} + w - u_{t-1} w) psi_t: d sum(u_t) / dw = (1 - u_{t-1}) psi_t in the paper;
    # zero in DeepMind's implementation (stop_gradient on w), with the same forward pass.
    n, w, r, units = 6, 3, 2, 5
    rng = np.random.default_rng(4)
    cells = {stop: DNCCell(units, memory_size=n, memory_width=w, read_heads=r, stop_usage_gradient=stop)
             for stop in (False, True)}
    for cell in cells.values():
        cell.build((None, 4))
        cell.set_weights([rng.normal(scale=0.7, size=v.shape).astype("float32") for v in cells[False].weights])
    cells[True].set_weights(cells[False].get_weights())
    s = [random_dnc_state(rng, n, w, r, units) for _ in range(3)]
    states = [np.stack([np.concatenate([v["h"], v["reads"]]) for v in s]), np.stack([v["c"] for v in s]),
              np.stack([v["memory"].reshape(-1) for v in s]), np.stack([v["usage"] for v in s]),
              np.stack([v["link"].reshape(-1) for v in s]), np.stack([v["precedence"] for v in s]),
              np.stack([v["w_read"].reshape(-1) for v in s]), np.stack([v["w_write"] for v in s])]
    states = [v.astype("float32") for v in states]
    x = rng.normal(size=(3, 4)).astype("float32")
    models = {stop: keras.Sequential([keras.Input((n,), batch_size=3), UsageOfThePreviousWrite(cell, x, states)])
              for stop, cell in cells.items()}
    np.testing.assert_allclose(numpy_of(models[True](states[-1])), numpy_of(models[False](states[-1])))
    _, input_grad = gradients(models[stop_usage_gradient], states[-1], keras.ops.sum)
    if stop_usage_gradient:
        np.testing.assert_array_equal(input_grad, 0.0)
    else:
        usage = numpy_of(models[False](states[-1]))
        u_prev, w_prev = states[3], states[-1]
        psi = usage / (u_prev + w_prev - u_prev * w_prev)
        np.testing.assert_allclose(input_grad, (1 - u_prev) * psi, rtol=1e-4)
    assert DNCCell.from_config(cells[stop_usage_gradient].get_config()).stop_usage_gradient is stop_usage_gradient


# --- invariants at every step of a random run ----------------------------------------------------


def random_run(cell, scale=1.5, time=8, seed=5):
    built_randomized(cell, scale=scale, seed=seed)
    x = np.random.default_rng(seed).normal(scale=2.0, size=(4, time, 4)).astype("float32")
    return memory_trace(cell, x)


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_ntm_weightings_are_distributions_at_every_step(controller):
    trace = random_run(NTMCell(6, memory_size=8, memory_width=3, read_heads=2, write_heads=2,
                               controller=controller))
    for key in ["read_weightings", "write_weightings"]:
        w = trace[key]
        assert w.shape == (4, 8, 2, 8)
        assert w.min() >= 0
        np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.isfinite(trace["memory"]))


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_dnc_weightings_usage_and_links_stay_valid_at_every_step(controller):
    n = 7
    trace = random_run(DNCCell(6, memory_size=n, memory_width=3, read_heads=3, controller=controller))
    tol = 1e-5
    for key in ["read_weightings", "write_weightings"]:
        w = trace[key]
        assert w.min() >= -tol and w.sum(-1).max() <= 1 + tol, key
    assert trace["read_weightings"].shape == (4, 8, 3, n)
    usage = trace["usage"]
    assert usage.min() >= -tol and usage.max() <= 1 + tol
    link = trace["link"]
    assert link.min() >= -tol
    np.testing.assert_array_equal(np.diagonal(link, axis1=-2, axis2=-1), 0.0)
    assert link.sum(-1).max() <= 1 + tol and link.sum(-2).max() <= 1 + tol
    p = trace["precedence"]
    assert p.min() >= -tol and p.sum(-1).max() <= 1 + tol
    # the run is not trivial: the write head wrote somewhere and the links are not all zero
    assert trace["write_weightings"].sum(-1).max() > 0.1 and link.max() > 0.01


def test_dnc_allocates_a_new_location_at_every_step_and_links_them_in_order():
    # Hard gates by hand: g^w = g^a = 1 (allocate), all free gates 0; the usage of a written
    # location becomes 1 at the next step, so every step writes a location not used before,
    # and the link matrix records L[next, previous] = 1.
    n = 5
    cell = DNCCell(2, memory_size=n, memory_width=2, read_heads=1)
    keras.layers.RNN(cell)(X)
    for weight in cell.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    big = cell.clip_value
    size = cell.interface_size()
    # [k_r(2), beta_r, k_w(2), beta_w, e(2), v(2), f, g_a, g_w, pi(3)]
    bias = np.zeros(size, "float32")
    bias[10] = -big  # free gate
    bias[[11, 12]] = big  # allocation and write gates
    bias[15] = big  # read mode: forward
    cell.interface_bias.assign(bias)
    trace = memory_trace(cell, np.zeros((1, 4, 4), "float32"))
    written = trace["write_weightings"][0, :, 0].argmax(-1)
    assert len(set(written)) == 4  # four different locations (ties in the free list: any order)
    assert trace["write_weightings"][0, :, 0].max(-1).min() > 0.99
    link = trace["link"][0, -1]
    for prev, nxt in zip(written[:-1], written[1:]):
        assert link[nxt, prev] > 0.98


# --- shapes, gradients, save/load, bad input -----------------------------------------------------

CELLS = {
    "ntm": lambda: NTMCell(5, memory_size=6, memory_width=3, read_heads=2, write_heads=1),
    "ntm-feedforward": lambda: NTMCell(5, memory_size=6, memory_width=3, controller="feedforward"),
    "ntm-learned-memory": lambda: NTMCell(5, memory_size=6, memory_width=3, initial_memory="learned"),
    "dnc": lambda: DNCCell(5, memory_size=6, memory_width=3, read_heads=2),
    "dnc-feedforward": lambda: DNCCell(5, memory_size=6, memory_width=3, controller="feedforward"),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_shapes_and_state_sizes(name):
    cell = CELLS[name]()
    outputs = keras.layers.RNN(cell, return_sequences=True, return_state=True)(X)
    assert tuple(outputs[0].shape) == (3, 5, cell.output_size)
    assert cell.output_size == 5 + cell.read_heads * 3
    assert [tuple(s.shape) for s in outputs[1:]] == [(3, size) for size in cell.state_size]
    # the first state is the output (Keras masking reads the previous output from it)
    np.testing.assert_allclose(numpy_of(outputs[1]), numpy_of(outputs[0][:, -1]), atol=1e-6)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_gradients_reach_every_weight_and_the_first_step(name):
    model = keras.Sequential([keras.Input((5, 4)), keras.layers.RNN(CELLS[name]())])
    weight_grads, input_grad = gradients(model, X, lambda y: keras.ops.sum(y**2))
    for weight, grad in zip(model.trainable_weights, weight_grads):
        assert np.all(np.isfinite(grad)), weight.path
        assert np.abs(grad).max() > 0, weight.path
    assert np.abs(input_grad[:, 0]).max() > 1e-7


@pytest.mark.parametrize("name", sorted(CELLS))
def test_save_and_load_keras_file_gives_identical_outputs(name, tmp_path):
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, keras.layers.RNN(CELLS[name](), return_sequences=True)(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(numpy_of(model(X)), numpy_of(loaded(X)))
    assert loaded.layers[1].cell.get_config() == model.layers[1].cell.get_config()


@pytest.mark.parametrize("initial_memory", ["constant", "learned"])
def test_initial_memory_is_the_constant_or_the_learnt_rows(initial_memory):
    cell = NTMCell(5, memory_size=6, memory_width=3, initial_memory=initial_memory)
    keras.layers.RNN(cell)(X)
    memory = numpy_of(cell.unpack_states(cell.get_initial_state(batch_size=2))["memory"])
    if initial_memory == "constant":
        np.testing.assert_array_equal(memory, np.full((2, 6, 3), EPS, "float32"))
        assert not any("initial_memory" in w.path for w in cell.weights)
    else:  # every sequence starts from the same learnt M_0, rows distinct (Collier and Beel's learned_init)
        values = numpy_of(cell.initial_memory_values).reshape(6, 3)
        np.testing.assert_array_equal(memory, np.stack([values, values]))
        assert np.abs(values).max() <= np.sqrt(6 / (1 + 18)) and len(np.unique(values.round(6), axis=0)) == 6


def test_memory_trace_matches_the_rnn_layer():
    cell = built_randomized(NTMCell(5, memory_size=6, memory_width=3))
    layer = keras.layers.RNN(cell, return_sequences=True)
    np.testing.assert_allclose(memory_trace(cell, X)["output"], numpy_of(layer(X)), atol=1e-5)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: NTMCell(0), r"`units` must be a positive integer, got 0"),
        (lambda: NTMCell(4, memory_size=0), r"`memory_size` must be a positive integer, got 0"),
        (lambda: DNCCell(4, memory_width=2.5), r"`memory_width` must be a positive integer, got 2.5"),
        (lambda: DNCCell(4, read_heads=0), r"`read_heads` must be a positive integer, got 0"),
        (lambda: NTMCell(4, write_heads=-1), r"`write_heads` must be a positive integer, got -1"),
        (lambda: NTMCell(4, shift_range=-1), r"`shift_range` must be an integer >= 0, got -1"),
        (lambda: NTMCell(4, memory_size=4, shift_range=2), r"`shift_range` must be at most .* got 2"),
        (lambda: DNCCell(4, controller="gru"), r"`controller` must be 'lstm' or 'feedforward', got 'gru'"),
        (lambda: NTMCell(4, clip_value=0), r"`clip_value` must be a float > 0, got 0"),
        (lambda: NTMCell(4, initial_memory="zeros"), r"`initial_memory` must be 'constant' or 'learned', got 'zeros'"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("name", sorted(CELLS))
def test_rejects_inputs_without_a_known_feature_size(name):
    with pytest.raises(ValueError, match=r"per-step inputs of shape \(batch, features\)"):
        keras.layers.RNN(CELLS[name]())(keras.Input((None, None)))
