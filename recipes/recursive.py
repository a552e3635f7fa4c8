"""Recursive networks: a plain recursive network and two Tree-LSTMs, composed bottom-up on trees.

A recursive network reads a tree instead of a sequence: every node's state is computed from its
own input x_j (a word at a leaf, an operator or nothing at an inner node) and the states of its
children, with the same weights at every node, so the root's state encodes the whole tree.

Trees of different shapes are batched as padded arrays, which `encode_trees` builds from nested
tuples or bracketed strings such as "(+ (* 3 4) 5)" or "((a b) c)":

    tokens    (batch, nodes)           the token id of each node (0 at padding slots)
    children  (batch, nodes, K)        the index of each child within its tree, -1 for none
    levels    (batch, nodes)           0 for a leaf, 1 + the largest level of its children for an
                                       inner node, -1 at padding slots

Nodes at the same level do not depend on one another, so the layers compute a whole level of
every tree in the batch at once: the node states live in one (batch, nodes, units) tensor, and
for level l = 0, 1, ... (a Python loop over levels, never over nodes) the children's states are
gathered with one `ops.take` on the flattened states (in our measurements about twice as fast to
train on TensorFlow as one `ops.take_along_axis` per child), every node is composed, and only the
nodes of level l are written back with `ops.where`. The root is the node with the highest level; the layers return its state, or
every node's state with `return_nodes=True`. Nothing depends on the order of the trees in the
batch or of the nodes within a tree (tested). `check_trees` rejects arrays that describe no
tree (a child index past the node count, levels that disagree with the children); the layers
call it whenever the values exist, and inside a traced function, where they do not, return NaN
for such a tree.

Only `keras` and `keras.ops` are used, so the layers run on the TensorFlow, JAX and PyTorch
backends. Shared helpers: `recipes/base.py` (argument checks, `matmul_2d`).
"""

import keras
import numpy as np
from keras import activations, initializers, ops, regularizers

from recipes.base import check_positive_int, concrete, matmul_2d

# --- trees to arrays -----------------------------------------------------------------------------


def parse_tree(text):
    """Parse a bracketed string into nested tuples: "(+ (* 3 4) 5)" -> ("+", ("*", "3", "4"), "5").

    Tokens are separated by spaces or brackets; a string without brackets is a single leaf.
    Whether the first item of a bracket is the node's label or its first child is decided by
    `encode_trees(head_is_label=...)`, not here.
    """
    return _parse(text, "text")


def _parse(text, name):
    if not isinstance(text, str):
        raise ValueError(f"`{name}` must be a bracketed string, got {text!r}.")
    tokens = text.replace("(", " ( ").replace(")", " ) ").split()
    if not tokens:
        raise ValueError(f"`{name}` must hold a tree, got the empty string {text!r}.")
    stack = [[]]
    for token in tokens:
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                raise ValueError(f"`{name}` has an unmatched ')' in {text!r}.")
            items = stack.pop()
            if not items:
                raise ValueError(f"`{name}` has an empty bracket '()' in {text!r}.")
            stack[-1].append(tuple(items))
        else:
            stack[-1].append(token)
    if len(stack) > 1:
        raise ValueError(f"`{name}` has an unclosed '(' in {text!r}.")
    if len(stack[0]) != 1:
        raise ValueError(f"`{name}` must hold one tree, got {len(stack[0])} in {text!r}.")
    return stack[0][0]


def encode_trees(trees, vocabulary, head_is_label=False, max_nodes=None, max_children=None,
                 node_token="<node>"):
    """Encode a list of trees as the padded arrays the recursive layers read.

    Each tree is a bracketed string or nested tuples (a tuple or list is an inner node, anything
    else a leaf). With `head_is_label=True` the first item of each inner node is its label, as
    in "(+ (* 3 4) 5)"; otherwise inner nodes are unlabelled, as in "((a b) c)", and get the
    token `node_token`. Nodes are stored in post-order (children before their parent, root last:
    reverse Polish notation), but the layers do not rely on that order.

    Args:
        trees: a list of trees.
        vocabulary: the list of tokens; a token's id is its position. Id 0 is also what padding
            slots hold (they are ignored), so a padding token such as "<pad>" usually comes first.
        head_is_label: whether the first item of a bracket labels the node (see above).
        max_nodes: pad every tree to this many node slots (default: the largest tree).
        max_children: width of `children` (default: the most children of any node); use the
            `arity` of an N-ary layer here.
        node_token: the token of unlabelled inner nodes.

    Returns:
        A dict of int32 NumPy arrays: "tokens" (batch, max_nodes), "children" (batch,
        max_nodes, max_children) with -1 where a node has no child at that position, and
        "levels" (batch, max_nodes) with -1 at padding slots.

    Example:
        >>> arrays = encode_trees(["(+ (* 3 4) 5)"], ["<pad>", "+", "*", "3", "4", "5"], True)
        >>> arrays["tokens"], arrays["levels"]
        (array([[3, 4, 2, 5, 1]], dtype=int32), array([[0, 0, 1, 0, 2]], dtype=int32))
    """
    if isinstance(trees, (str, bytes)) or not isinstance(trees, (list, tuple)) or not trees:
        raise ValueError(
            f"`trees` must be a non-empty list of trees (wrap a single tree in a list), "
            f"got {trees!r}."
        )
    if isinstance(vocabulary, (str, bytes)) or not isinstance(vocabulary, (list, tuple)):
        raise ValueError(f"`vocabulary` must be a list of tokens, got {vocabulary!r}.")
    ids = {str(token): i for i, token in enumerate(vocabulary)}
    if len(ids) != len(vocabulary):
        raise ValueError(f"`vocabulary` must hold distinct tokens, got {list(vocabulary)!r}.")
    for name, value in [("max_nodes", max_nodes), ("max_children", max_children)]:
        if value is not None:
            check_positive_int(name, value)

    def token_id(token):
        if str(token) not in ids:
            if token is node_token:
                raise ValueError(
                    f"`vocabulary` must hold `node_token` {node_token!r} for the unlabelled "
                    f"inner nodes of `trees` (or pass head_is_label=True)."
                )
            raise ValueError(f"`trees` holds the token {token!r}, which is not in `vocabulary`.")
        return ids[str(token)]

    encoded = []  # per tree: list of (token id, child indices, level) in post-order
    for tree in trees:
        nodes = []

        def visit(node):
            if not isinstance(node, (tuple, list)):
                nodes.append((token_id(node), [], 0))
                return len(nodes) - 1
            label, items = node_token, list(node)
            if head_is_label:
                if len(items) < 2 or isinstance(items[0], (tuple, list)):
                    raise ValueError(
                        f"`trees`: with head_is_label=True every bracket must be a label followed "
                        f"by at least one child, got {node!r}."
                    )
                label, items = items[0], items[1:]
            if not items:
                raise ValueError(f"`trees` holds an inner node with no children: {node!r}.")
            kids = [visit(child) for child in items]
            nodes.append((token_id(label), kids, 1 + max(nodes[k][2] for k in kids)))
            return len(nodes) - 1

        visit(_parse(tree, "trees") if isinstance(tree, str) else tree)
        encoded.append(nodes)

    n_nodes = max(len(nodes) for nodes in encoded)
    n_children = max(len(kids) for nodes in encoded for _, kids, _ in nodes)
    if max_nodes is not None and max_nodes < n_nodes:
        raise ValueError(f"`max_nodes` is {max_nodes} but a tree in `trees` has {n_nodes} nodes.")
    if max_children is not None and max_children < n_children:
        raise ValueError(
            f"`max_children` is {max_children} but a node in `trees` has {n_children} children."
        )
    n_nodes, n_children = max_nodes or n_nodes, max_children or n_children
    tokens = np.zeros((len(trees), n_nodes), "int32")
    children = np.full((len(trees), n_nodes, n_children), -1, "int32")
    levels = np.full((len(trees), n_nodes), -1, "int32")
    for b, nodes in enumerate(encoded):
        for j, (token, kids, level) in enumerate(nodes):
            tokens[b, j], levels[b, j] = token, level
            children[b, j, : len(kids)] = kids
    return {"tokens": tokens, "children": children, "levels": levels}


def check_trees(children, levels):
    """Raise a ValueError unless `children` and `levels` describe a batch of trees as
    `encode_trees` writes them; the recursive layers call it on every call whose values exist.

    Every child index must be -1 (no child) or a node of the same tree, in [0, nodes), that is
    not a padding slot; every node's level must be 0 at a leaf and 1 + the largest level of its
    children otherwise, and -1 only at padding slots (which also rules out cycles); both arrays
    hold integers. Inside a traced function
    (`model.fit` on TensorFlow and JAX) the values cannot be read: there the layers return NaN
    for every node of a tree that fails these rules, instead of reading another tree's nodes.

    Args:
        children: (batch, nodes, children) integer child indices.
        levels: (batch, nodes) integer levels.
    """
    children, levels = concrete(children), concrete(levels)
    if children is None or levels is None:
        return
    if children.ndim != 3 or levels.shape != children.shape[:2]:
        raise ValueError(
            f"`children` must have shape (batch, nodes, children) and `levels` (batch, nodes), "
            f"got {children.shape} and {levels.shape}."
        )
    for name, value in (("children", children), ("levels", levels)):
        if value.dtype.kind not in "iu":
            raise ValueError(f"`{name}` must hold integers, got dtype {value.dtype}.")
    nodes = levels.shape[1]
    bad = (children < -1) | (children >= nodes)
    if bad.any():
        b, j, _ = np.argwhere(bad)[0]
        raise ValueError(
            f"`children` must hold node indices in [0, nodes) = [0, {nodes}) of the same tree, "
            f"or -1 for no child; tree {b}, node {j} has children {children[b, j].tolist()}."
        )
    if (levels < -1).any():
        b, j = np.argwhere(levels < -1)[0]
        raise ValueError(
            f"`levels` must be >= -1 (-1 at padding slots); tree {b}, node {j} has {levels[b, j]}."
        )
    present = children >= 0
    flat = np.maximum(children, 0).reshape(len(levels), nodes * children.shape[2], 1)
    child_levels = np.take_along_axis(levels[:, :, None], flat, 1)
    child_levels = np.where(present, child_levels.reshape(children.shape), -1)
    to_padding = (levels[:, :, None] >= 0) & present & (child_levels < 0)
    if to_padding.any():
        b, j, k = np.argwhere(to_padding)[0]
        raise ValueError(
            f"`children`: tree {b}, node {j} names node {children[b, j, k]} as a child, but "
            f"`levels` marks that node as a padding slot (-1)."
        )
    expected = child_levels.max(axis=-1, initial=-1) + 1
    wrong = (levels >= 0) & (levels != expected)
    if wrong.any():
        b, j = np.argwhere(wrong)[0]
        raise ValueError(
            f"`levels` must be 0 at a leaf and 1 + the largest level of its children at an inner "
            f"node; tree {b}, node {j} has level {levels[b, j]} and children "
            f"{children[b, j].tolist()} of levels {child_levels[b, j][present[b, j]].tolist()}."
        )


# --- the layers ----------------------------------------------------------------------------------


class _TreeLayer(keras.layers.Layer):
    """What the recursive layers share: arguments, shape checks, and the level-by-level schedule.

    A subclass sets `gates` (the column blocks of `kernel`), `state_count` (1 for h, 2 for h and
    c), `recurrent_shape(children, units)`, and `compose(x_proj, child_states)`, which maps
    every node's input projection and its children's states (one (batch, nodes, children,
    units) tensor per state, zero for absent children) to the node's new states.
    """

    gates = None
    state_count = 1

    def __init__(
        self,
        units,
        max_levels=None,
        return_nodes=False,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        if max_levels is not None:
            max_levels = check_positive_int("max_levels", max_levels)
        self.max_levels = max_levels
        self.return_nodes = bool(return_nodes)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def check_children(self, children):
        """Raise if `children` (the width of the children array) does not suit this layer."""

    def build(self, inputs_shape, children_shape, levels_shape):
        name = type(self).__name__
        if len(inputs_shape) != 3 or inputs_shape[-1] is None:
            raise ValueError(
                f"{name} expects `inputs` (node features) of shape (batch, nodes, features) with "
                f"a known feature size; got {inputs_shape}."
            )
        if len(children_shape) != 3 or children_shape[-1] is None:
            raise ValueError(
                f"{name} expects `children` of shape (batch, nodes, children) with a known "
                f"number of children; got {children_shape}."
            )
        if len(levels_shape) != 2:
            raise ValueError(
                f"{name} expects `levels` of shape (batch, nodes); got {levels_shape}."
            )
        sizes = {s[1] for s in (inputs_shape, children_shape, levels_shape)} - {None}
        if len(sizes) > 1:
            raise ValueError(
                f"{name}: `inputs`, `children` and `levels` must have the same number of nodes "
                f"(axis 1); got {inputs_shape}, {children_shape} and {levels_shape}."
            )
        if sizes and min(sizes) < 1:
            raise ValueError(
                f"{name} needs at least one node slot (axis 1 of `inputs`, `children`, `levels`); "
                f"got {inputs_shape}."
            )
        if self.max_levels is None and not sizes:
            raise ValueError(
                f"{name} needs `max_levels` (the most levels a tree may have) when the number of "
                f"nodes is not fixed; got max_levels=None and `inputs` of shape {inputs_shape}."
            )
        self.n_children = int(children_shape[-1])
        self.check_children(self.n_children)
        self.kernel = self.add_weight(
            shape=(int(inputs_shape[-1]), self.gates * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=self.recurrent_shape(self.n_children, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.gates * self.units,),
                name="bias",
                initializer=self.bias_initializer_for_build(),
                regularizer=self.bias_regularizer,
            )

    def bias_initializer_for_build(self):
        return self.bias_initializer

    def call(self, inputs, children, levels):
        # A tree of n nodes has at most n levels, so the node count is always enough levels.
        n_levels = self.max_levels or inputs.shape[1]
        if n_levels is None:
            raise ValueError(
                f"{type(self).__name__} needs `max_levels` when the number of nodes is not fixed; "
                f"got max_levels=None and `inputs` of shape {inputs.shape}."
            )
        for name, value in (("children", children), ("levels", levels)):
            dtype = value.dtype if hasattr(value, "dtype") else np.asarray(value).dtype
            dtype = keras.backend.standardize_dtype(dtype)
            if "int" not in dtype:
                raise ValueError(
                    f"{type(self).__name__} expects `{name}` of an integer dtype (node indices "
                    f"and levels, see `encode_trees`); got dtype {dtype}."
                )
        check_trees(children, levels)
        # The input part W x_j + b of every node, computed once for all nodes and levels.
        x_proj = matmul_2d(inputs, self.kernel)
        if self.bias is not None:
            x_proj = x_proj + self.bias
        children = ops.cast(children, "int32")
        levels = ops.cast(levels, "int32")
        # Node j of tree b is row b * nodes + j of the flattened (batch * nodes, units) states, so
        # the children of every node of every tree are gathered by one `ops.take`, into a
        # (batch, nodes, children, units) tensor. Absent children (-1) read row 0 of their tree
        # and are then zeroed, so a leaf composes from zero states. An index past the node count
        # is clipped, so it never reads the next tree; `bad_tree` below makes that tree NaN.
        batch, nodes = ops.shape(levels)[0], ops.shape(levels)[1]
        offset = ops.reshape(ops.arange(batch, dtype="int32") * nodes, (-1, 1, 1))
        rows = ops.reshape(ops.clip(children, 0, nodes - 1) + offset, (-1,))
        bad_tree = self._bad_trees(children, levels, rows, nodes)
        present = ops.expand_dims(ops.cast(children >= 0, x_proj.dtype), -1)
        child_shape = (batch, nodes, self.n_children, self.units)
        states = [ops.zeros_like(x_proj[..., : self.units])] * self.state_count
        for level in range(n_levels):
            child_states = [
                ops.reshape(ops.take(ops.reshape(s, (-1, self.units)), rows, axis=0), child_shape)
                * present
                for s in states
            ]
            new_states = self.compose(x_proj, child_states)
            at_level = ops.expand_dims(ops.equal(levels, level), -1)
            states = [ops.where(at_level, new, old) for new, old in zip(new_states, states)]
        h = states[0]
        # A node above the last level computed was never composed: NaN says so loudly.
        h = ops.where(ops.expand_dims(levels >= n_levels, -1), float("nan"), h)
        h = ops.where(ops.reshape(bad_tree, (-1, 1, 1)), float("nan"), h)
        if self.return_nodes:
            return h
        root = ops.expand_dims(ops.expand_dims(ops.argmax(levels, axis=1), -1), -1)
        return ops.take_along_axis(h, ops.cast(root, "int32"), axis=1)[:, 0, :]

    @staticmethod
    def _bad_trees(children, levels, rows, nodes):
        """(batch,) bool: the trees that `check_trees` rejects, computed in the graph, for the
        traced calls where it cannot read the values."""
        child_levels = ops.reshape(ops.take(ops.reshape(levels, (-1,)), rows), ops.shape(children))
        present = children >= 0
        child_levels = ops.where(present, child_levels, -1)
        expected = ops.max(child_levels, axis=-1) + 1
        bad_index = ops.logical_or(children < -1, children >= nodes)
        bad_child = ops.logical_or(bad_index, ops.logical_and(present, child_levels < 0))
        bad_node = ops.logical_and(
            levels >= 0, ops.logical_or(ops.not_equal(levels, expected), ops.any(bad_child, -1))
        )
        bad_node = ops.logical_or(bad_node, ops.any(bad_index, axis=-1))
        return ops.any(ops.logical_or(bad_node, levels < -1), axis=1)

    def compute_output_shape(self, inputs_shape, children_shape, levels_shape):
        if self.return_nodes:
            return (inputs_shape[0], inputs_shape[1], self.units)
        return (inputs_shape[0], self.units)

    def get_config(self):
        def serialize(value):
            return regularizers.serialize(value) if value is not None else None

        return {
            **super().get_config(),
            "units": self.units,
            "max_levels": self.max_levels,
            "return_nodes": self.return_nodes,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": serialize(self.kernel_regularizer),
            "recurrent_regularizer": serialize(self.recurrent_regularizer),
            "bias_regularizer": serialize(self.bias_regularizer),
        }


def _concatenate_children(child_h):
    """(batch, nodes, K, units) -> (batch, nodes, K units): [h_j1; ...; h_jK] for every node."""
    shape = ops.shape(child_h)
    return ops.reshape(child_h, (shape[0], shape[1], shape[2] * shape[3]))


class _NaryMixin:
    """Arity checks for the layers with one weight block per child position."""

    def check_children(self, children):
        if children != self.arity:
            raise ValueError(
                f"{type(self).__name__} with arity={self.arity} expects `children` of width "
                f"{self.arity} (encode the trees with max_children={self.arity}); got width "
                f"{children}."
            )


@keras.saving.register_keras_serializable(package="recipes")
class RecursiveNN(_NaryMixin, _TreeLayer):
    """A recursive neural network: one layer, shared by every node, composes the children's states.

    Equations (node j with input x_j and children j1 ... jK; an absent child's h is 0):

        h_j = f(W x_j + U_1 h_j1 + ... + U_K h_jK + b)

    This is the folding architecture of Goller and Kuechler (1996), with a label x_j at every
    node; Socher et al. (2011) compose a binary parse tree with p = f(W [c1; c2] + b). Weights:
    `kernel` W (features, units), `recurrent_kernel` [U_1; ...; U_K] (K units, units), `bias` b.

    References: C. Goller and A. Kuechler (1996), "Learning task-dependent distributed
    representations by backpropagation through structure", ICNN; R. Socher, C. C. Lin,
    A. Y. Ng and C. D. Manning (2011), "Parsing natural scenes and natural language with
    recursive neural networks", ICML.

    Args:
        units: size of h.
        arity: K, the most children of a node (the width of `children`).
        activation: f, default `"tanh"`.
        max_levels: how many levels are computed (the Python loop's length), at least the most
            levels of any tree (its root's level + 1); the weights do not depend on it. Default:
            the number of node slots of the inputs, which is always enough but slower. Nodes
            above it are never composed and come out as NaN.
        return_nodes: return the state of every node, (batch, nodes, units), zero at padding
            slots, instead of the root's, (batch, units).
        use_bias: whether to add b.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of W, U, b.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional regularizers.

    Call arguments:
        inputs: x, the node features, (batch, nodes, features); e.g. embedded `tokens`.
        children: (batch, nodes, children) int, each child's node index, -1 for none.
        levels: (batch, nodes) int, 0 at leaves, 1 + the children's largest level at inner
            nodes, -1 at padding slots (see `encode_trees`).

    Example:
        >>> arrays = encode_trees(["((a b) c)"], ["<pad>", "<node>", "a", "b", "c"])
        >>> x = keras.layers.Embedding(5, 8)(arrays["tokens"])
        >>> RecursiveNN(16)(x, arrays["children"], arrays["levels"]).shape
        (1, 16)
    """

    gates = 1

    def __init__(self, units, arity=2, activation="tanh", **kwargs):
        super().__init__(units, **kwargs)
        self.arity = check_positive_int("arity", arity)
        self.activation = activations.get(activation)

    def recurrent_shape(self, children, units):
        return (children * units, units)

    def compose(self, x_proj, child_states):
        (child_h,) = child_states
        h_children = _concatenate_children(child_h)  # [h_j1; ...; h_jK]
        return [self.activation(x_proj + matmul_2d(h_children, self.recurrent_kernel))]

    def get_config(self):
        return {
            **super().get_config(),
            "arity": self.arity,
            "activation": activations.serialize(self.activation),
        }


class _TreeLSTM(_TreeLayer):
    """Arguments shared by the two Tree-LSTMs (gate order i, f, u, o in every weight)."""

    gates = 4
    state_count = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def bias_initializer_for_build(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base = self.bias_initializer

        def initializer(shape, dtype=None):  # b_f starts at 1: the children's memories are kept
            u = shape[0] // 4
            return ops.concatenate(
                [base((u,), dtype=dtype), ops.ones((u,), dtype=dtype), base((2 * u,), dtype=dtype)]
            )

        return initializer

    def get_config(self):
        return {
            **super().get_config(),
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


@keras.saving.register_keras_serializable(package="recipes")
class NaryTreeLSTM(_NaryMixin, _TreeLSTM):
    """The N-ary Tree-LSTM: each child position has its own weights, and its own forget gate.

    Equations (Tai, Socher and Manning 2015, eqs. 9-14; node j, children j1 ... jN, an absent
    child's h and c are 0; sigma is `recurrent_activation`, tanh is `activation`):

        i_j  = sigma(W_i x_j + sum_l U_i,l h_jl + b_i)
        f_jk = sigma(W_f x_j + sum_l U_f,kl h_jl + b_f)        one forget gate per child k
        u_j  = tanh (W_u x_j + sum_l U_u,l h_jl + b_u)
        o_j  = sigma(W_o x_j + sum_l U_o,l h_jl + b_o)
        c_j  = i_j * u_j + sum_l f_jl * c_jl
        h_j  = o_j * tanh(c_j)

    With N = 2 this is the Binary Tree-LSTM of the paper's constituency-tree experiments.
    Weights: `kernel` [W_i W_f W_u W_o] (features, 4 units); `recurrent_kernel` (N units,
    (3 + N) units), rows for h_j1 ... h_jN, columns [U_i | U_f,1 ... U_f,N | U_u | U_o];
    `bias` [b_i b_f b_u b_o] (4 units). The layer outputs h.

    Reference: K. S. Tai, R. Socher and C. D. Manning (2015), "Improved semantic
    representations from tree-structured long short-term memory networks", ACL.

    Args:
        units: size of h and c.
        arity: N, the most children of a node (the width of `children`).
        activation, recurrent_activation: tanh and sigma above.
        unit_forget_bias: start b_f at 1, so the children's memories are kept at first.
        max_levels: how many levels are computed (the Python loop's length), at least the most
            levels of any tree (its root's level + 1); the weights do not depend on it. Default:
            the number of node slots of the inputs, which is always enough but slower. Nodes
            above it are never composed and come out as NaN.
        return_nodes: return the state of every node, (batch, nodes, units), zero at padding
            slots, instead of the root's, (batch, units).
        use_bias: whether to add b.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of W, U, b.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional regularizers.

    Call arguments:
        inputs: x, the node features, (batch, nodes, features); e.g. embedded `tokens`.
        children: (batch, nodes, children) int, each child's node index, -1 for none.
        levels: (batch, nodes) int, 0 at leaves, 1 + the children's largest level at inner
            nodes, -1 at padding slots (see `encode_trees`).

    Example:
        >>> arrays = encode_trees(["(+ (* 3 4) 5)"], ["<pad>", "+", "*", "3", "4", "5"], True)
        >>> x = keras.layers.Embedding(6, 8)(arrays["tokens"])
        >>> NaryTreeLSTM(16)(x, arrays["children"], arrays["levels"]).shape
        (1, 16)
    """

    def __init__(self, units, arity=2, **kwargs):
        super().__init__(units, **kwargs)
        self.arity = check_positive_int("arity", arity)

    def recurrent_shape(self, children, units):
        return (children * units, (3 + children) * units)

    def compose(self, x_proj, child_states):
        child_h, child_c = child_states
        n, u = self.arity, self.units
        x_i, x_f, x_u, x_o = ops.split(x_proj, 4, axis=-1)
        z = matmul_2d(_concatenate_children(child_h), self.recurrent_kernel)
        z_i, z_f, z_u, z_o = ops.split(z, [u, (1 + n) * u, (2 + n) * u], axis=-1)
        i = self.recurrent_activation(x_i + z_i)
        u_ = self.activation(x_u + z_u)
        o = self.recurrent_activation(x_o + z_o)
        z_f = ops.reshape(z_f, ops.shape(child_c))  # U_f,k [h_j1; ...; h_jN] in row k
        f = self.recurrent_activation(ops.expand_dims(x_f, -2) + z_f)  # f_jk for every child k
        c = i * u_ + ops.sum(f * child_c, axis=-2)
        h = o * self.activation(c)
        return [h, c]

    def get_config(self):
        return {**super().get_config(), "arity": self.arity}


@keras.saving.register_keras_serializable(package="recipes")
class ChildSumTreeLSTM(_TreeLSTM):
    """The Child-Sum Tree-LSTM: any number of unordered children, summed, each with a forget gate.

    Equations (Tai, Socher and Manning 2015, eqs. 2-8; C(j) are the children of node j):

        h~_j = sum_{k in C(j)} h_k
        i_j  = sigma(W_i x_j + U_i h~_j + b_i)
        f_jk = sigma(W_f x_j + U_f h_k + b_f)                  one forget gate per child k
        u_j  = tanh (W_u x_j + U_u h~_j + b_u)
        o_j  = sigma(W_o x_j + U_o h~_j + b_o)
        c_j  = i_j * u_j + sum_{k in C(j)} f_jk * c_k
        h_j  = o_j * tanh(c_j)

    The weights do not depend on the number or order of the children, so the tree may have any
    branching (the paper uses it on dependency trees), and swapping two children changes nothing.
    Weights: `kernel` [W_i W_f W_u W_o] (features, 4 units), `recurrent_kernel`
    [U_i U_f U_u U_o] (units, 4 units), `bias` (4 units). The layer outputs h.

    Reference: K. S. Tai, R. Socher and C. D. Manning (2015), "Improved semantic
    representations from tree-structured long short-term memory networks", ACL.

    Args:
        units: size of h and c.
        activation, recurrent_activation: tanh and sigma above.
        unit_forget_bias: start b_f at 1, so the children's memories are kept at first.
        max_levels: how many levels are computed (the Python loop's length), at least the most
            levels of any tree (its root's level + 1); the weights do not depend on it. Default:
            the number of node slots of the inputs, which is always enough but slower. Nodes
            above it are never composed and come out as NaN.
        return_nodes: return the state of every node, (batch, nodes, units), zero at padding
            slots, instead of the root's, (batch, units).
        use_bias: whether to add b.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of W, U, b.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional regularizers.

    Call arguments:
        inputs: x, the node features, (batch, nodes, features); e.g. embedded `tokens`.
        children: (batch, nodes, children) int, each child's node index, -1 for none.
        levels: (batch, nodes) int, 0 at leaves, 1 + the children's largest level at inner
            nodes, -1 at padding slots (see `encode_trees`).

    Example:
        >>> arrays = encode_trees(["(a b c (d e))"], ["<pad>", "<node>", *"abcde"])
        >>> x = keras.layers.Embedding(7, 8)(arrays["tokens"])
        >>> ChildSumTreeLSTM(16)(x, arrays["children"], arrays["levels"]).shape
        (1, 16)
    """

    def recurrent_shape(self, children, units):
        return (units, 4 * units)

    def compose(self, x_proj, child_states):
        child_h, child_c = child_states  # (batch, nodes, children, units)
        x_i, x_f, x_u, x_o = ops.split(x_proj, 4, axis=-1)
        U_i, U_f, U_u, U_o = ops.split(self.recurrent_kernel, 4, axis=-1)
        h_sum = ops.sum(child_h, axis=-2)
        i = self.recurrent_activation(x_i + matmul_2d(h_sum, U_i))
        u_ = self.activation(x_u + matmul_2d(h_sum, U_u))
        o = self.recurrent_activation(x_o + matmul_2d(h_sum, U_o))
        f = self.recurrent_activation(ops.expand_dims(x_f, -2) + matmul_2d(child_h, U_f))
        c = i * u_ + ops.sum(f * child_c, axis=-2)
        h = o * self.activation(c)
        return [h, c]
