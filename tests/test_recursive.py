"""Recursive networks (recipes/recursive.py): the tree encoding, the three layers against a NumPy
recursion written from the equations node by node, invariants of the batching, save/load,
gradients, and bad input."""

import keras
import numpy as np
import pytest

from tests.helpers import gradients, numpy_of
from recipes.recursive import ChildSumTreeLSTM, NaryTreeLSTM, RecursiveNN, encode_trees, parse_tree

VOCAB = ["<pad>", "<node>", "+", "*", "max", "a", "b", "c", "d", "e"]
FEATURES = 4
EMBEDDING = np.random.default_rng(0).normal(size=(len(VOCAB), FEATURES)).astype("float32")
# Trees of different shapes and depths in one batch: a lone leaf, a unary node, a deep chain.
BINARY = ["(+ (* a b) c)", "d", "(* (+ (max a b) (* c d)) e)", "(max (+ a (* b (+ c d))))"]
TERNARY = ["(+ a b c)", "(max (* a b) c (+ d e a))", "e", "(* (+ (max a b c) d) (max e))"]

# The trees above have at most 5 levels; max_levels=6 keeps the tests fast (the default, one
# level per node slot, is tested in test_max_levels_...).
LAYERS = {
    "RecursiveNN": lambda: RecursiveNN(5, arity=2, max_levels=6),
    "RecursiveNN-3": lambda: RecursiveNN(5, arity=3, activation="sigmoid", max_levels=6),
    "NaryTreeLSTM": lambda: NaryTreeLSTM(5, arity=2, max_levels=6),
    "NaryTreeLSTM-3": lambda: NaryTreeLSTM(5, arity=3, max_levels=6),
    "ChildSumTreeLSTM": lambda: ChildSumTreeLSTM(5, max_levels=6),
}


def trees_for(layer):
    return BINARY if getattr(layer, "arity", 3) == 2 else TERNARY


def encode(trees, layer, **kwargs):
    arrays = encode_trees(trees, VOCAB, head_is_label=True, max_children=getattr(layer, "arity", None), **kwargs)
    return EMBEDDING[arrays["tokens"]], arrays["children"], arrays["levels"]


def built(name, **kwargs):
    layer = LAYERS[name]()
    if kwargs:
        layer = type(layer).from_config({**layer.get_config(), **kwargs})
    layer(*encode(trees_for(layer), layer))
    rng = np.random.default_rng(1)  # every weight random, the biases too, so that they are tested
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def with_config(layer, inputs, **changes):
    """A copy of a built layer with some arguments changed, the same weights, built on `inputs`."""
    clone = type(layer).from_config({**layer.get_config(), **changes})
    clone(*inputs)
    clone.set_weights(layer.get_weights())
    return clone


# --- the encoding ----------------------------------------------------------------------------------


def test_parse_tree_gives_nested_tuples():
    assert parse_tree("(+ (* 3 4) 5)") == ("+", ("*", "3", "4"), "5")
    assert parse_tree("((a b) c)") == (("a", "b"), "c")
    assert parse_tree(" x ") == "x"


def test_encode_labelled_tree_by_hand():
    # Post-order (reverse Polish): 3 4 * 5 +; levels 0 0 1 0 2; * has children 0, 1; + has 2, 3.
    vocabulary = ["<pad>", "+", "*", "3", "4", "5"]
    arrays = encode_trees(["(+ (* 3 4) 5)", "4"], vocabulary, head_is_label=True)
    np.testing.assert_array_equal(arrays["tokens"], [[3, 4, 2, 5, 1], [4, 0, 0, 0, 0]])
    np.testing.assert_array_equal(arrays["levels"], [[0, 0, 1, 0, 2], [0, -1, -1, -1, -1]])
    children = np.full((2, 5, 2), -1)
    children[0, 2], children[0, 4] = [0, 1], [2, 3]
    np.testing.assert_array_equal(arrays["children"], children)
    assert all(a.dtype == np.int32 for a in arrays.values())


def test_encode_unlabelled_tree_by_hand_and_nested_tuples_agree_with_strings():
    vocabulary = ["<pad>", "<node>", "a", "b", "c"]
    arrays = encode_trees(["((a b) c)"], vocabulary)
    np.testing.assert_array_equal(arrays["tokens"], [[2, 3, 1, 4, 1]])
    np.testing.assert_array_equal(arrays["levels"], [[0, 0, 1, 0, 2]])
    np.testing.assert_array_equal(arrays["children"][0, [2, 4]], [[0, 1], [2, 3]])
    from_tuples = encode_trees([(("a", "b"), "c")], vocabulary)
    for key in arrays:
        np.testing.assert_array_equal(from_tuples[key], arrays[key])
    # Atoms are looked up as strings, so integer leaves work.
    ints = encode_trees([((1, 2), 3)], ["<pad>", "<node>", "1", "2", "3"])
    np.testing.assert_array_equal(ints["tokens"], [[2, 3, 1, 4, 1]])


def test_encode_pads_to_max_nodes_and_max_children():
    arrays = encode_trees(["(a b)"], ["<pad>", "<node>", "a", "b"], max_nodes=6, max_children=3)
    assert arrays["tokens"].shape == (1, 6) and arrays["children"].shape == (1, 6, 3)
    np.testing.assert_array_equal(arrays["children"][0, 2], [0, 1, -1])
    np.testing.assert_array_equal(arrays["levels"][0, 3:], -1)


# --- references: a NumPy recursion over the nested tuples, written from the equations -------------


def sigma(v):
    return 1 / (1 + np.exp(-v))


def label_and_children(tree):
    return (tree, []) if isinstance(tree, str) else (tree[0], list(tree[1:]))


def recursive_nn_numpy(tree, w, units, activation):
    """h_j = f(W x_j + sum_k U_k h_jk + b), with U_k the k-th block of rows of the recurrent kernel."""
    label, kids = label_and_children(tree)
    z = EMBEDDING[VOCAB.index(label)] @ w["kernel"] + w["bias"]
    for k, kid in enumerate(kids):
        z = z + recursive_nn_numpy(kid, w, units, activation) @ w["recurrent_kernel"][k * units : (k + 1) * units]
    return activation(z)


def nary_tree_lstm_numpy(tree, w, units, arity):
    """Tai et al. (2015), eqs. 9-14, one node at a time; returns (h_j, c_j)."""
    u = units
    label, kids = label_and_children(tree)
    x = EMBEDDING[VOCAB.index(label)]
    W = {g: w["kernel"][:, i * u : (i + 1) * u] for i, g in enumerate("ifuo")}
    b = {g: w["bias"][i * u : (i + 1) * u] for i, g in enumerate("ifuo")}
    R = w["recurrent_kernel"]  # rows: child l; columns: [U_i | U_f,1 .. U_f,N | U_u | U_o]

    def U(gate, l, k=0):
        column = {"i": 0, "f": 1 + k, "u": 1 + arity, "o": 2 + arity}[gate]
        return R[l * u : (l + 1) * u, column * u : (column + 1) * u]

    states = [nary_tree_lstm_numpy(kid, w, units, arity) for kid in kids]
    hs, cs = [s[0] for s in states], [s[1] for s in states]
    i = sigma(x @ W["i"] + sum(h @ U("i", l) for l, h in enumerate(hs)) + b["i"])
    u_ = np.tanh(x @ W["u"] + sum(h @ U("u", l) for l, h in enumerate(hs)) + b["u"])
    o = sigma(x @ W["o"] + sum(h @ U("o", l) for l, h in enumerate(hs)) + b["o"])
    c = i * u_
    for k, c_k in enumerate(cs):
        f_k = sigma(x @ W["f"] + sum(h @ U("f", l, k) for l, h in enumerate(hs)) + b["f"])
        c = c + f_k * c_k
    return o * np.tanh(c), c


def child_sum_tree_lstm_numpy(tree, w, units):
    """Tai et al. (2015), eqs. 2-8, one node at a time; returns (h_j, c_j)."""
    u = units
    label, kids = label_and_children(tree)
    x = EMBEDDING[VOCAB.index(label)]
    W = {g: w["kernel"][:, i * u : (i + 1) * u] for i, g in enumerate("ifuo")}
    U = {g: w["recurrent_kernel"][:, i * u : (i + 1) * u] for i, g in enumerate("ifuo")}
    b = {g: w["bias"][i * u : (i + 1) * u] for i, g in enumerate("ifuo")}
    states = [child_sum_tree_lstm_numpy(kid, w, units) for kid in kids]
    h_tilde = sum((h for h, _ in states), np.zeros(u))
    i = sigma(x @ W["i"] + h_tilde @ U["i"] + b["i"])
    u_ = np.tanh(x @ W["u"] + h_tilde @ U["u"] + b["u"])
    o = sigma(x @ W["o"] + h_tilde @ U["o"] + b["o"])
    c = i * u_ + sum((sigma(x @ W["f"] + h_k @ U["f"] + b["f"]) * c_k for h_k, c_k in states), np.zeros(u))
    return o * np.tanh(c), c


def reference(name, layer, tree):
    w = {v.path.split("/")[-1]: numpy_of(v).astype("float64") for v in layer.weights}
    if name.startswith("RecursiveNN"):
        return recursive_nn_numpy(tree, w, 5, np.tanh if name == "RecursiveNN" else sigma)
    if name.startswith("NaryTreeLSTM"):
        return nary_tree_lstm_numpy(tree, w, 5, layer.arity)[0]
    return child_sum_tree_lstm_numpy(tree, w, 5)[0]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_root_and_every_node_match_the_numpy_recursion(name):
    layer = built(name)
    trees = trees_for(layer)
    x, children, levels = encode(trees, layer)
    roots = numpy_of(layer(x, children, levels))
    assert roots.shape == (len(trees), 5)
    for b, tree in enumerate(trees):
        np.testing.assert_allclose(roots[b], reference(name, layer, parse_tree(tree)), atol=1e-5)
    # With return_nodes, node j of a tree is the root of its subtree: encode each subtree alone.
    nodes = numpy_of(with_config(layer, (x, children, levels), return_nodes=True)(x, children, levels))
    assert nodes.shape == (*levels.shape, 5)
    np.testing.assert_array_equal(nodes[levels < 0], 0.0)  # padding slots stay zero
    tree = parse_tree(trees[-1])
    subtrees = []

    def post_order(t):
        for kid in label_and_children(t)[1]:
            post_order(kid)
        subtrees.append(t)

    post_order(tree)
    for j, subtree in enumerate(subtrees):
        np.testing.assert_allclose(nodes[-1, j], reference(name, layer, subtree), atol=1e-5)


@pytest.mark.parametrize("trees", [["a"], ["(+ a)"], ["a", "b", "c"], ["(+ a)", "b", "(* c)"]])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_roots_match_the_numpy_recursion_with_sizes_of_one(name, trees):
    # One tree, one node, one child; the Child-Sum layer with 6 child slots, so its children's
    # states are (3, 1, 6, 5) for three one-node trees. TensorFlow 2.20 with oneDNN on AVX-512
    # CPUs computed broadcast batched products of such shapes wrongly (or corrupted the heap).
    layer = LAYERS[name]()
    arrays = encode_trees(trees, VOCAB, head_is_label=True, max_children=getattr(layer, "arity", 6))
    inputs = EMBEDDING[arrays["tokens"]], arrays["children"], arrays["levels"]
    layer(*inputs)
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()])
    roots = numpy_of(layer(*inputs))
    for b, tree in enumerate(trees):
        np.testing.assert_allclose(roots[b], reference(name, layer, parse_tree(tree)), atol=1e-5)


def test_leaf_of_recursive_nn_is_f_of_its_projection_only():
    # Hand-derived: a leaf has no children, so h = tanh(W x + b); with W = 0, b = 0.5 it is tanh(0.5).
    layer = RecursiveNN(3, bias_initializer=keras.initializers.Constant(0.5), kernel_initializer="zeros")
    x, children, levels = encode(["a"], layer)
    np.testing.assert_allclose(numpy_of(layer(x, children, levels)), np.full((1, 3), np.tanh(0.5)), atol=1e-6)


# --- invariants of the batching ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_permuting_the_trees_of_a_batch_permutes_the_outputs(name):
    layer = built(name)
    x, children, levels = encode(trees_for(layer), layer)
    order = np.array([2, 0, 3, 1])
    expected = numpy_of(layer(x, children, levels))[order]
    got = numpy_of(layer(x[order], children[order], levels[order]))
    np.testing.assert_allclose(got, expected, atol=1e-6)


def permute_nodes(x, children, levels, rng):
    """Move node j of every tree to slot pos[j] (padding slots included), renumbering children."""
    x2, children2, levels2 = np.zeros_like(x), np.zeros_like(children), np.zeros_like(levels)
    positions = []
    for b in range(len(levels)):
        pos = rng.permutation(levels.shape[1])
        x2[b, pos], levels2[b, pos] = x[b], levels[b]
        children2[b, pos] = np.where(children[b] >= 0, pos[np.maximum(children[b], 0)], -1)
        positions.append(pos)
    return x2, children2, levels2, np.array(positions)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_node_order_within_the_encoding_does_not_matter(name):
    layer = built(name, return_nodes=True)
    x, children, levels = encode(trees_for(layer), layer, max_nodes=14)
    nodes = numpy_of(layer(x, children, levels))
    x2, children2, levels2, pos = permute_nodes(x, children, levels, np.random.default_rng(3))
    assert not np.array_equal(levels2, levels)
    nodes2 = numpy_of(layer(x2, children2, levels2))
    for b in range(len(levels)):
        np.testing.assert_allclose(nodes2[b, pos[b]], nodes[b], atol=1e-6)
    # and the root is found wherever it is
    roots = with_config(layer, (x, children, levels), return_nodes=False)
    np.testing.assert_allclose(numpy_of(roots(x2, children2, levels2)), numpy_of(roots(x, children, levels)), atol=1e-6)


def test_child_sum_ignores_the_order_of_children_and_nary_does_not():
    for name, invariant in [("ChildSumTreeLSTM", True), ("NaryTreeLSTM-3", False)]:
        layer = built(name)
        x, children, levels = encode(TERNARY, layer)
        swapped = children[..., ::-1].copy()  # reverse every node's children (absent ones too)
        change = np.abs(numpy_of(layer(x, swapped, levels)) - numpy_of(layer(x, children, levels))).max()
        assert (change < 1e-6) if invariant else (change > 1e-3), (name, change)


@pytest.mark.parametrize("name", ["RecursiveNN", "NaryTreeLSTM", "ChildSumTreeLSTM"])
def test_max_levels_computes_that_many_levels_and_nan_marks_deeper_trees(name):
    layer = built(name)
    inputs = encode(trees_for(layer), layer)
    full = numpy_of(layer(*inputs))
    heights = inputs[2].max(axis=1)  # 2, 0, 3, 4 for BINARY; 1, 2, 0, 3 for TERNARY
    # The default computes one level per node slot, always enough; exactly enough gives the same.
    for max_levels in [None, int(heights.max()) + 1]:
        np.testing.assert_allclose(numpy_of(with_config(layer, inputs, max_levels=max_levels)(*inputs)), full,
                                   atol=1e-6)
    out = numpy_of(with_config(layer, inputs, max_levels=3)(*inputs))
    fits = heights < 3
    np.testing.assert_allclose(out[fits], full[fits], atol=1e-6)
    assert np.isnan(out[~fits]).all() and (~fits).any()


# --- gradients, training, save/load ---------------------------------------------------------------


class FixedTrees(keras.Model):
    """The layer on fixed trees, as a model of the node features alone (for conftest.gradients)."""

    def __init__(self, layer, children, levels):
        super().__init__()
        self.tree_layer, self.children, self.levels = layer, children, levels

    def call(self, x, training=False):
        return self.tree_layer(x, self.children, self.levels)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradients_reach_every_weight_and_the_deepest_leaf_but_not_padding_or_other_trees(name):
    layer = built(name)
    x, children, levels = encode(trees_for(layer), layer)
    model = FixedTrees(layer, children, levels)
    model(x)
    deepest = int(np.argmax(levels.max(axis=1)))
    weight_grads, input_grad = gradients(model, x, lambda y: keras.ops.sum(y[deepest] ** 2))
    assert len(weight_grads) == len(layer.trainable_weights) == 3
    for weight, grad in zip(layer.trainable_weights, weight_grads):
        assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0, weight.path
    # Every node of the deepest tree, its leaves at the bottom included, receives a gradient...
    assert (np.abs(input_grad[deepest][levels[deepest] >= 0]).max(axis=-1) > 1e-7).all()
    # ...and nothing leaks to its padding slots or to the other trees of the batch.
    np.testing.assert_array_equal(input_grad[deepest][levels[deepest] < 0], 0.0)
    np.testing.assert_array_equal(np.delete(input_grad, deepest, axis=0), 0.0)


def tree_model(layer):
    inputs = {
        "tokens": keras.Input((None,), dtype="int32", name="tokens"),
        "children": keras.Input((None, getattr(layer, "arity", 3)), dtype="int32", name="children"),
        "levels": keras.Input((None,), dtype="int32", name="levels"),
    }
    x = keras.layers.Embedding(len(VOCAB), FEATURES)(inputs["tokens"])
    return keras.Model(inputs, keras.layers.Dense(2)(layer(x, inputs["children"], inputs["levels"])))


@pytest.mark.parametrize("name", ["RecursiveNN-3", "NaryTreeLSTM", "ChildSumTreeLSTM"])
def test_save_and_load_keras_file_gives_identical_outputs(name, tmp_path):
    layer = LAYERS[name]()
    model = tree_model(layer)
    arrays = encode_trees(trees_for(layer), VOCAB, head_is_label=True, max_children=getattr(layer, "arity", 3))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects: registered as recipes>...
    np.testing.assert_array_equal(numpy_of(model(arrays)), numpy_of(loaded(arrays)))
    assert type(loaded.layers[-2]) is type(layer) and loaded.layers[-2].get_config() == layer.get_config()


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_config_round_trip(name):
    layer = LAYERS[name]()
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    assert keras.saving.get_registered_name(type(layer)) == f"recipes>{type(layer).__name__}"


def test_fit_learns_the_label_of_the_root_on_every_backend():
    # Class = whether the root is "+": the compiled train step (tf.function, jax.jit, torch) runs
    # and the loss falls.
    model = tree_model(NaryTreeLSTM(8, max_levels=5))
    arrays = encode_trees(BINARY * 4, VOCAB, head_is_label=True, max_children=2)
    y = np.array([t.startswith("(+") for t in BINARY * 4], "int32")
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    loss = model.fit(arrays, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert np.isfinite(loss).all() and loss[-1] < 0.5 * loss[0], loss


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: RecursiveNN(0), r"`units` must be a positive integer, got 0"),
        (lambda: NaryTreeLSTM(4, arity=0), r"`arity` must be a positive integer, got 0"),
        (lambda: ChildSumTreeLSTM(4, max_levels=-1), r"`max_levels` must be a positive integer, got -1"),
        (lambda: RecursiveNN(4, arity=2.5), r"`arity` must be a positive integer, got 2.5"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_shapes_raise_value_errors_that_name_the_argument():
    x, children, levels = encode(BINARY, NaryTreeLSTM(4))
    with pytest.raises(ValueError, match=r"`inputs` \(node features\) of shape \(batch, nodes, features\)"):
        NaryTreeLSTM(4)(x[..., 0], children, levels)
    with pytest.raises(ValueError, match=r"arity=3 expects `children` of width 3 .*got width 2"):
        NaryTreeLSTM(4, arity=3)(x, children, levels)
    with pytest.raises(ValueError, match=r"`levels` of shape \(batch, nodes\)"):
        RecursiveNN(4)(x, children, levels[..., None])
    with pytest.raises(ValueError, match=r"same number of nodes"):
        ChildSumTreeLSTM(4)(x[:, :-1], children, levels)
    with pytest.raises(ValueError, match=r"needs `max_levels`"):
        ChildSumTreeLSTM(4)(keras.Input((None, 3)), keras.Input((None, 2), dtype="int32"),
                            keras.Input((None,), dtype="int32"))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: encode_trees("(a b)", VOCAB), r"`trees` must be a non-empty list of trees"),
        (lambda: encode_trees([], VOCAB), r"`trees` must be a non-empty list of trees"),
        (lambda: encode_trees(["(a z)"], VOCAB), r"`trees` holds the token 'z', which is not in `vocabulary`"),
        (lambda: encode_trees(["(a b)"], ["<pad>", "a", "b"]), r"`vocabulary` must hold `node_token` '<node>'"),
        (lambda: encode_trees(["(a b"], VOCAB), r"`trees` has an unclosed '\('"),
        (lambda: encode_trees(["a b)"], VOCAB), r"`trees` has an unmatched '\)'"),
        (lambda: encode_trees(["a b"], VOCAB), r"`trees` must hold one tree, got 2"),
        (lambda: encode_trees(["(a ())"], VOCAB), r"`trees` has an empty bracket"),
        (lambda: encode_trees([()], VOCAB), r"`trees` holds an inner node with no children"),
        (lambda: encode_trees(["((a b) c)"], VOCAB, head_is_label=True),
         r"`trees`: with head_is_label=True every bracket must be a label followed by at least one child"),
        (lambda: encode_trees(["(+ a)"], VOCAB, True, max_nodes=1), r"`max_nodes` is 1 but a tree in `trees` has 2"),
        (lambda: encode_trees(["(+ a b c)"], VOCAB, True, max_children=2), r"`max_children` is 2 but a node .* 3"),
        (lambda: encode_trees(["a"], VOCAB, max_nodes=0), r"`max_nodes` must be a positive integer, got 0"),
        (lambda: encode_trees(["a"], "abc"), r"`vocabulary` must be a list of tokens"),
        (lambda: encode_trees(["a"], ["a", "a"]), r"`vocabulary` must hold distinct tokens"),
        (lambda: parse_tree(3), r"`text` must be a bracketed string, got 3"),
    ],
)
def test_bad_trees_raise_value_errors_that_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _bad_encodings():
    """name -> (a change to a valid encoding that no tree has, the message it gets)."""
    def root(levels):  # the root of tree 0, an inner node
        return int(np.argmax(levels[0]))

    def lone_leaf(levels):
        return int(np.flatnonzero((levels >= 0).sum(axis=1) == 1)[0])

    def child_past_the_nodes(children, levels):  # read the next tree's first nodes before
        children[0, root(levels), 0] = children.shape[1] + 1

    def child_below_minus_one(children, levels):
        children[0, root(levels), 0] = -2

    def wrong_level(children, levels):
        levels[0, root(levels)] += 1

    def leaf_with_a_level(children, levels):
        levels[lone_leaf(levels), 0] = 2

    def child_at_a_padding_slot(children, levels):
        b = lone_leaf(levels)
        children[b, 0, 0], levels[b, 0] = levels.shape[1] - 1, 1

    def cycle(children, levels):
        children[0, 0, 0] = root(levels)  # the first leaf names the root as its child

    return {
        "child_past_the_nodes": (child_past_the_nodes, r"`children` must hold node indices in \[0, nodes\)"),
        "child_below_minus_one": (child_below_minus_one, r"`children` must hold node indices"),
        "wrong_level": (wrong_level, r"`levels` must be 0 at a leaf and 1 \+ the largest level of its children"),
        "leaf_with_a_level": (leaf_with_a_level, r"`levels` must be 0 at a leaf"),
        "child_at_a_padding_slot": (child_at_a_padding_slot, r"`levels` marks that node as a padding slot"),
        "cycle": (cycle, r"`levels` must be 0 at a leaf"),
    }


BAD_ENCODINGS = _bad_encodings()


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("bad", sorted(BAD_ENCODINGS))
def test_children_and_levels_that_are_no_tree_raise_value_errors(name, bad):
    layer = LAYERS[name]()
    x, children, levels = encode(trees_for(layer), layer)
    change, message = BAD_ENCODINGS[bad]
    children, levels = children.copy(), levels.copy()
    change(children, levels)
    with pytest.raises(ValueError, match=message):
        layer(x, children, levels)
    with pytest.raises(ValueError, match=message):  # eager backend tensors are read too
        layer(x, keras.ops.convert_to_tensor(children), keras.ops.convert_to_tensor(levels))


@pytest.mark.parametrize("name", ["RecursiveNN", "ChildSumTreeLSTM"])
def test_float_children_or_levels_raise_a_value_error(name):
    layer = LAYERS[name]()
    x, children, levels = encode(BINARY, layer)
    with pytest.raises(ValueError, match=r"expects `children` of an integer dtype .* got dtype float32"):
        layer(x, children.astype("float32") + 0.5, levels)
    with pytest.raises(ValueError, match=r"expects `levels` of an integer dtype"):
        layer(x, children, levels.astype("float64"))


@pytest.mark.parametrize("bad", ["child_past_the_nodes", "wrong_level", "cycle"])
def test_a_tree_that_is_no_tree_comes_out_nan_in_a_traced_model_and_others_do_not(bad):
    # model.predict traces the layer on TensorFlow and JAX (no values to check): the bad tree's
    # root is NaN there, the other trees' roots as before. PyTorch runs eagerly and raises.
    layer = LAYERS["RecursiveNN"]()
    model = tree_model(layer)
    arrays = encode_trees(BINARY, VOCAB, head_is_label=True, max_children=2)
    good = model.predict(arrays, verbose=0)
    change, message = BAD_ENCODINGS[bad]
    arrays = {key: value.copy() for key, value in arrays.items()}
    change(arrays["children"], arrays["levels"])
    if keras.backend.backend() == "torch":
        with pytest.raises(ValueError, match=message):
            model.predict(arrays, verbose=0)
        return
    out = model.predict(arrays, verbose=0)
    assert np.all(np.isnan(out[0]))
    np.testing.assert_allclose(out[1:], good[1:], atol=1e-6)
