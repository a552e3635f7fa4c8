"""The neural pushdown automaton (recipes/stack.py): the stack against the paper's equations and
against a discrete stack, the cell against a NumPy reference, invariants, save/load, bad input."""

import keras
import numpy as np
import pytest

from recipes.stack import NeuralStackCell, stack_read, stack_trace, stack_update
from tests.helpers import gradients, numpy_of

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 9, 4)).astype("float32")


# --- references written from the paper ------------------------------------------------------------


def paper_stack(pushes, pops, values):
    """Grefenstette et al. (2015), equations 1-3, for one sequence, in the paper's indexing: the
    stack grows by one row per step, row 1 is the bottom. Returns the reads r_t and, at every
    step, the strengths listed top first."""
    V, s, reads, strengths = [], [], [], []
    for d, u, v in zip(pushes, pops, values):
        t = len(s) + 1
        # s_t[i] = max(0, s_{t-1}[i] - max(0, u_t - sum_{j=i+1}^{t-1} s_{t-1}[j])) for i < t
        s = [max(0.0, s[i] - max(0.0, u - sum(s[i + 1 :]))) for i in range(t - 1)] + [d]
        V = V + [v]  # V_t[i] = V_{t-1}[i] for i < t, v_t for i = t
        # r_t = sum_i min(s_t[i], max(0, 1 - sum_{j=i+1}^{t} s_t[j])) V_t[i]
        reads.append(sum(min(s[i], max(0.0, 1.0 - sum(s[i + 1 :]))) * V[i] for i in range(t)))
        strengths.append(s[::-1])
    return np.array(reads), strengths


def run_stack(pushes, pops, values, size):
    """Our `stack_update` and `stack_read` over a batch: reads (batch, T, m) and strengths."""
    batch, steps, m = values.shape
    V, s = np.zeros((batch, size, m), "float32"), np.zeros((batch, size), "float32")
    reads, strengths = [], []
    for t in range(steps):
        V, s = stack_update(V, s, pushes[:, t, None], pops[:, t, None], values[:, t])
        reads.append(numpy_of(stack_read(V, s)))
        strengths.append(numpy_of(s))
    return np.stack(reads, 1), np.stack(strengths, 1)


def discrete_stack(pushes, pops, values):
    """A Python list used as a stack: pop (if not empty), then push; read the top or zeros."""
    stack, reads = [], []
    for d, u, v in zip(pushes, pops, values):
        if u and stack:
            stack.pop()
        if d:
            stack.append(v)
        reads.append(stack[-1] if stack else np.zeros_like(v))
    return np.array(reads)


def random_actions(shape, rng, hard):
    if hard:
        return rng.integers(0, 2, shape).astype("float32")
    # Mix exact 0s and 1s with values in between, so that the relu and min branches all occur.
    a = rng.uniform(size=shape)
    return np.where(rng.uniform(size=shape) < 0.3, np.round(a), a).astype("float32")


# --- the stack alone -------------------------------------------------------------------------------


def test_stack_update_and_read_match_the_papers_equations():
    rng = np.random.default_rng(1)
    batch, steps, m = 4, 12, 3
    d, u = random_actions((batch, steps), rng, False), random_actions((batch, steps), rng, False)
    v = rng.normal(size=(batch, steps, m)).astype("float32")
    reads, strengths = run_stack(d, u, v, size=steps)
    for b in range(batch):
        expected_reads, expected_strengths = paper_stack(d[b], u[b], v[b])
        np.testing.assert_allclose(reads[b], expected_reads, atol=1e-5)
        for t in range(steps):
            np.testing.assert_allclose(strengths[b, t, : t + 1], expected_strengths[t], atol=1e-5)
            np.testing.assert_array_equal(strengths[b, t, t + 1 :], 0.0)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_hard_push_and_pop_make_it_a_discrete_stack(seed):
    rng = np.random.default_rng(seed)
    batch, steps, m = 8, 30, 2
    d, u = random_actions((batch, steps), rng, True), random_actions((batch, steps), rng, True)
    v = rng.normal(size=(batch, steps, m)).astype("float32")
    reads, strengths = run_stack(d, u, v, size=steps)
    for b in range(batch):
        # Exactly equal: with 0/1 strengths every read weight is 0 or 1.
        np.testing.assert_array_equal(reads[b], discrete_stack(d[b], u[b], v[b]))
    assert set(np.unique(strengths)) <= {0.0, 1.0}
    # The stack was used: some reads are deeper than the last push.
    assert np.abs(reads).max() > 0 and (u.sum() > 0)


def test_slots_older_than_stack_size_steps_fall_off_the_bottom():
    # Every step takes a slot (a step without a push takes one of strength 0), so with K = 3
    # slots a value pushed more than 3 steps ago is gone. Push 1, 2, 3, then pop twice: the
    # first pop reads 2; the second would read 1, pushed 5 steps ago, and reads the empty stack.
    v = np.arange(1, 6, dtype="float32").reshape(1, 5, 1)
    d = np.array([[1, 1, 1, 0, 0]], "float32")
    u = np.array([[0, 0, 0, 1, 1]], "float32")
    reads, _ = run_stack(d, u, v, size=3)
    np.testing.assert_array_equal(reads[0, :, 0], [1, 2, 3, 2, 0])
    reads, _ = run_stack(d, u, v, size=5)  # K >= T: the discrete stack
    np.testing.assert_array_equal(reads[0, :, 0], [1, 2, 3, 2, 1])


def test_read_takes_one_unit_of_strength_from_the_top_down():
    # Derived by hand: strengths top first (0.5, 0.25, 0.75) with values 1, 2, 4: the read takes
    # 0.5 of the top, 0.25 of the next, then 0.25 of the third: 0.5 + 0.5 + 1 = 2.
    V = np.array([[[1.0], [2.0], [4.0]]], "float32")
    s = np.array([[0.5, 0.25, 0.75]], "float32")
    np.testing.assert_allclose(numpy_of(stack_read(V, s)), [[2.0]], atol=1e-6)
    # A pop of 0.6 removes the top 0.5 and 0.1 of the next: (0, 0.15, 0.75), then push 0.3.
    V2, s2 = stack_update(V, s, np.array([[0.3]], "float32"), np.array([[0.6]], "float32"),
                          np.array([[8.0]], "float32"))
    np.testing.assert_allclose(numpy_of(s2), [[0.3, 0.0, 0.15]], atol=1e-6)
    np.testing.assert_allclose(numpy_of(V2)[0, :, 0], [8.0, 1.0, 2.0])


# --- the cell ---------------------------------------------------------------------------------------


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cell_numpy(x, w, controller, units, m, push_inputs=False, output_read=False):
    """The controller equations in NumPy, with the paper's stack (`paper_stack`) step by step."""
    batch = x.shape[0]
    outs = np.zeros((batch, x.shape[1], units + (m if output_read else 0)))
    for b in range(batch):
        h, c, r = np.zeros(units), np.zeros(units), np.zeros(m)
        pushes, pops, values = [], [], []
        for t in range(x.shape[1]):
            z = np.concatenate([x[b, t], r]) @ w["kernel"] + w["bias"]
            if controller != "feedforward":
                z = z + h @ w["recurrent_kernel"]
            if controller == "lstm":
                i, f, g, o = np.split(z, 4)
                c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
                h = sigmoid(o) * np.tanh(c)
            else:
                h = np.tanh(z)
            a = h @ w["stack_kernel"] + w["stack_bias"]
            pushes.append(sigmoid(a[0]))
            pops.append(sigmoid(a[1]))
            values.append(x[b, t] if push_inputs else np.tanh(a[2:]))
            r = paper_stack(pushes, pops, values)[0][-1]
            outs[b, t] = np.concatenate([h, r]) if output_read else h
    return outs


def randomize(layer, scale=0.8, seed=1):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=scale, size=w.shape).astype("float32") for w in layer.get_weights()])
    return {w.path.split("/")[-1]: numpy_of(w) for w in layer.weights}


@pytest.mark.parametrize("controller", ["lstm", "elman", "feedforward"])
def test_cell_matches_numpy_equations(controller):
    layer = keras.layers.RNN(NeuralStackCell(5, stack_width=3, stack_size=9, controller=controller),
                             return_sequences=True)
    layer(X)
    w = randomize(layer)
    expected = cell_numpy(X, w, controller, units=5, m=3)
    np.testing.assert_allclose(numpy_of(layer(X)), expected, atol=1e-5)


@pytest.mark.parametrize("controller, push_inputs, output_read",
                         [("feedforward", True, True), ("elman", True, False), ("lstm", False, True)])
def test_cell_with_pushed_inputs_or_read_output_matches_numpy(controller, push_inputs, output_read):
    # push_inputs: v_t = x_t (the stack holds input symbols, as in Sun et al.'s NNPDA), so the
    # stack weights are only W_d, W_u; output_read: the cell outputs [h_t, r_t].
    cell = NeuralStackCell(5, stack_width=4, stack_size=9, controller=controller,
                           push_inputs=push_inputs, output_read=output_read)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(X)
    assert tuple(cell.stack_kernel.shape) == ((5, 2) if push_inputs else (5, 6))
    w = randomize(layer)
    expected = cell_numpy(X, w, controller, units=5, m=4, push_inputs=push_inputs, output_read=output_read)
    np.testing.assert_allclose(numpy_of(layer(X)), expected, atol=1e-5)
    assert NeuralStackCell.from_config(cell.get_config()).get_config() == cell.get_config()


def test_with_pushed_inputs_and_hard_actions_the_stack_holds_exactly_the_inputs():
    cell = NeuralStackCell(6, stack_width=4, stack_size=9, controller="feedforward", push_inputs=True,
                           output_read=True, round_actions=True)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(X)
    randomize(layer, scale=1.5, seed=3)
    trace = stack_trace(cell, X)
    assert set(np.unique(trace["push"])) == {0.0, 1.0} and set(np.unique(trace["pop"])) == {0.0, 1.0}
    np.testing.assert_array_equal(trace["value"], X)
    outputs = numpy_of(layer(X))
    for b in range(X.shape[0]):
        expected = discrete_stack(trace["push"][b], trace["pop"][b], X[b])
        np.testing.assert_allclose(trace["read"][b], expected, atol=1e-6)
        np.testing.assert_allclose(outputs[b, :, 6:], expected, atol=1e-6)  # the output's read part


def test_trace_agrees_with_the_rnn_layer_and_strengths_stay_in_zero_one():
    layer = keras.layers.RNN(NeuralStackCell(6, stack_width=2, stack_size=9), return_sequences=True,
                             return_state=True)
    layer(X)
    randomize(layer, scale=2.0, seed=5)  # large weights: strengths near 0 and 1 and in between
    outputs, *states = layer(X)
    trace = stack_trace(layer.cell, X)
    np.testing.assert_allclose(trace["output"], numpy_of(outputs), atol=1e-5)
    np.testing.assert_allclose(trace["strengths"][:, -1], numpy_of(states[-1]), atol=1e-5)
    np.testing.assert_allclose(trace["read"][:, -1], numpy_of(states[-3]), atol=1e-5)
    for key in ["push", "pop", "strengths"]:
        assert trace[key].min() >= 0.0 and trace[key].max() <= 1.0, key
    # The read weights of each step are a part of one unit: |r_t| <= max |v| <= 1.
    assert np.abs(trace["read"]).max() <= 1.0 + 1e-6
    assert ((trace["strengths"] > 0.05) & (trace["strengths"] < 0.95)).any()


def test_cell_with_saturated_decisions_is_a_discrete_stack():
    # An Elman controller wired by hand: input 0 says "push", input 1 says "pop", inputs 2-3 are
    # the value. Weights of +-100 make d_t and u_t 0 or 1 to float precision.
    cell = NeuralStackCell(4, stack_width=2, stack_size=25, controller="elman")
    layer = keras.layers.RNN(cell, return_sequences=True)
    features = 4
    layer(np.zeros((1, 1, features), "float32"))
    kernel = np.zeros((features + 2, 4), "float32")
    kernel[0, 0] = kernel[1, 1] = 20.0  # h_0 = tanh(20 push - 10): about +-1
    kernel[2, 2] = kernel[3, 3] = 1.0  # h_2, h_3 = tanh(value)
    bias = np.array([-10, -10, 0, 0], "float32")
    stack_kernel = np.zeros((4, 4), "float32")
    stack_kernel[0, 0] = stack_kernel[1, 1] = 100.0  # d = sigmoid(100 h_0)
    stack_kernel[2, 2] = stack_kernel[3, 3] = 1.0  # v = tanh(tanh(value))
    layer.set_weights([kernel, np.zeros((4, 4), "float32"), bias, stack_kernel, np.zeros(4, "float32")])
    rng = np.random.default_rng(7)
    steps = 25
    d, u = rng.integers(0, 2, (2, steps)), rng.integers(0, 2, (2, steps))
    x = np.concatenate([d[..., None], u[..., None], rng.normal(size=(2, steps, 2))], -1).astype("float32")
    trace = stack_trace(cell, x)
    np.testing.assert_array_equal(np.round(trace["push"]), d)
    np.testing.assert_array_equal(np.round(trace["pop"]), u)
    np.testing.assert_allclose(trace["value"], np.tanh(np.tanh(x[..., 2:])), atol=1e-6)
    for b in range(2):
        expected = discrete_stack(d[b], u[b], trace["value"][b])
        np.testing.assert_allclose(trace["read"][b], expected, atol=1e-6)


@pytest.mark.parametrize("controller, seed", [("lstm", 4), ("feedforward", 7)])
def test_rounded_actions_make_the_trained_cell_a_discrete_stack(controller, seed):
    soft = keras.layers.RNN(NeuralStackCell(6, stack_width=2, stack_size=9, controller=controller))
    soft(X)
    randomize(soft, scale=1.5, seed=seed)  # seeds whose weights both push and pop
    cell = NeuralStackCell(6, stack_width=2, stack_size=9, controller=controller, round_actions=True)
    keras.layers.RNN(cell)(X)
    cell.set_weights(soft.get_weights())  # the same weights: rounding is a test-time switch
    trace = stack_trace(cell, X)
    assert set(np.unique(trace["push"])) == {0.0, 1.0} and set(np.unique(trace["pop"])) == {0.0, 1.0}
    for b in range(X.shape[0]):
        expected = discrete_stack(trace["push"][b], trace["pop"][b], trace["value"][b])
        np.testing.assert_allclose(trace["read"][b], expected, atol=1e-6)
    assert NeuralStackCell.from_config(cell.get_config()).round_actions is True


def test_stack_size_changes_no_weight_and_no_output_on_short_sequences():
    # The weights do not depend on K, so a model trained with K slots runs with more.
    short = keras.layers.RNN(NeuralStackCell(5, stack_width=3, stack_size=9), return_sequences=True)
    short(X)
    randomize(short)
    long = keras.layers.RNN(NeuralStackCell(5, stack_width=3, stack_size=30), return_sequences=True)
    long(X)
    long.set_weights(short.get_weights())
    np.testing.assert_allclose(numpy_of(long(X)), numpy_of(short(X)), atol=1e-6)


def test_shapes_of_outputs_and_states():
    cell = NeuralStackCell(5, stack_width=3, stack_size=7)
    outputs, *states = keras.layers.RNN(cell, return_sequences=True, return_state=True)(X)
    assert tuple(outputs.shape) == (3, 9, 5)
    assert [tuple(s.shape) for s in states] == [(3, 5), (3, 5), (3, 3), (3, 21), (3, 7)]
    np.testing.assert_array_equal(numpy_of(states[0]), numpy_of(outputs[:, -1]))  # states[0] is the output
    assert NeuralStackCell(4, 2, 6, controller="elman").state_size == [4, 2, 12, 6]
    assert NeuralStackCell(4, 2, 6, controller="feedforward").state_size == [4, 2, 12, 6]


@pytest.mark.parametrize("controller, round_actions",
                         [("lstm", False), ("elman", False), ("feedforward", False), ("lstm", True)])
def test_gradients_reach_every_weight(controller, round_actions):
    # With rounded actions the gradient still reaches W_d and W_u (straight through the rounding).
    model = keras.Sequential([keras.Input((9, 4)), keras.layers.RNN(NeuralStackCell(
        5, stack_width=3, stack_size=9, controller=controller, round_actions=round_actions))])
    weight_grads, input_grad = gradients(model, X, lambda y: keras.ops.sum(y**2))
    for weight, grad in zip(model.trainable_weights, weight_grads):
        assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0, weight.path
    assert np.abs(input_grad[:, 0]).max() > 1e-6


def test_the_stack_alone_carries_memory_and_gradient_across_time():
    # The feed-forward controller forgets everything after one step; the first input can still
    # reach the last output, but only through the stack (pushed, then read back).
    cell = NeuralStackCell(5, stack_width=3, stack_size=9, controller="feedforward")
    model = keras.Sequential([keras.Input((9, 4)), keras.layers.RNN(cell)])
    assert cell.recurrent_kernel is None
    _, input_grad = gradients(model, X, lambda y: keras.ops.sum(y**2))
    assert np.abs(input_grad[:, 0]).max() > 1e-6
    # Cut the stack as well (no push: d_t = 0): the first input no longer matters.
    stack_bias = numpy_of(cell.stack_bias)
    stack_bias[0] = -1e4
    cell.stack_bias.assign(stack_bias)
    _, input_grad = gradients(model, X, lambda y: keras.ops.sum(y**2))
    assert np.abs(input_grad[:, 0]).max() < 1e-8


def test_save_and_load_keras_file_gives_identical_outputs(tmp_path):
    inputs = keras.Input((None, 4))
    cell = NeuralStackCell(5, stack_width=3, stack_size=12, controller="elman", name="stack")
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.RNN(cell, return_sequences=True)(inputs)))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(numpy_of(model(X)), numpy_of(loaded(X)))
    assert loaded.layers[1].cell.get_config() == cell.get_config()


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: NeuralStackCell(0, 2, 5), r"`units` must be a positive integer, got 0"),
        (lambda: NeuralStackCell(4, 0, 5), r"`stack_width` must be a positive integer, got 0"),
        (lambda: NeuralStackCell(4, 2, "8"), r"`stack_size` must be a positive integer, got '8'"),
        (lambda: NeuralStackCell(4, 2, 5, controller="gru"),
         r"`controller` must be one of \('lstm', 'elman', 'feedforward'\), got 'gru'"),
    ],
)
def test_bad_arguments_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_pushed_inputs_need_a_stack_as_wide_as_the_input():
    with pytest.raises(ValueError, match=r"`stack_width` must equal the number of input features, "
                                         r"got stack_width=3 and 4 features"):
        keras.layers.RNN(NeuralStackCell(5, stack_width=3, stack_size=9, push_inputs=True))(X)


def test_bad_step_input_and_bad_trace_calls():
    with pytest.raises(ValueError, match=r"NeuralStackCell expects per-step inputs"):
        keras.layers.RNN(NeuralStackCell(4, 2, 5))(keras.Input((None, None)))
    with pytest.raises(ValueError, match=r"`cell` must be built"):
        stack_trace(NeuralStackCell(4, 2, 5), X)
    with pytest.raises(ValueError, match=r"`cell` must be a NeuralStackCell, got LSTMCell"):
        stack_trace(keras.layers.LSTMCell(4), X)
    layer = keras.layers.RNN(NeuralStackCell(4, 2, 5))
    layer(X)
    with pytest.raises(ValueError, match=r"`inputs` must have shape \(batch, time, features\), got \(9, 4\)"):
        stack_trace(layer.cell, X[0])


@pytest.mark.parametrize(
    "change, message",
    [
        # A (batch,) pop broadcast against (batch, K) and popped every row by every row's u_t.
        ({"pop": np.full((2,), 0.5, "float32")}, r"`pop` must have shape \(batch, 1\) with batch=2, K=3, m=4, got \(2,\)"),
        ({"push": np.ones((2, 3), "float32")}, r"`push` must have shape \(batch, 1\)"),
        ({"value": np.ones((2, 5), "float32")}, r"`value` must have shape \(batch, m\) with batch=2, K=3, m=4, got \(2, 5\)"),
        ({"strengths": np.ones((2, 4), "float32")}, r"`strengths` must have shape \(batch, K\) with batch=2, K=3, m=4, got \(2, 4\)"),
        ({"values": np.ones((2, 12), "float32")}, r"`values` must have shape \(batch, K, m\), got \(2, 12\)"),
        ({"pop": np.ones((3, 1), "float32")}, r"`pop` must have shape \(batch, 1\) with batch=2"),
    ],
)
def test_stack_update_needs_the_documented_shapes(change, message):
    arguments = {"values": np.zeros((2, 3, 4), "float32"), "strengths": np.zeros((2, 3), "float32"),
                 "push": np.ones((2, 1), "float32"), "pop": np.zeros((2, 1), "float32"),
                 "value": np.ones((2, 4), "float32")}
    stack_update(**arguments)  # the documented shapes work
    with pytest.raises(ValueError, match=message):
        stack_update(**{**arguments, **change})


def test_stack_read_needs_the_documented_shapes():
    with pytest.raises(ValueError, match=r"`strengths` must have shape \(batch, K\) with batch=2, K=3"):
        stack_read(np.zeros((2, 3, 4), "float32"), np.zeros((2, 3, 1), "float32"))
