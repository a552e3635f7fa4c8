"""Bad input to every public function of recipes.text, recipes.ctc, recipes.metrics,
recipes.recursive and recipes.reservoir: empty inputs, NaN, wrong ranks, negative lengths.

Each must raise a ValueError that names the argument, never hang, crash with another error or
return a number as if nothing were wrong. The one exception is NaN inside the tensors of a
model (the logits of `ctc_loss`, the node features of a recursive layer): like any Keras layer
or loss, these give NaN out, which the last test checks (no check can read a traced tensor).
"""

import keras
import numpy as np
import pytest
from keras import ops

import recipes
from recipes import (
    ChildSumTreeLSTM,
    CharVocabulary,
    CTCLoss,
    EchoStateCell,
    KneserNeyLM,
    NaryTreeLSTM,
    RecursiveNN,
    RidgeReadout,
    beam_search,
    bits_per_character,
    bleu,
    check_trees,
    collect_states,
    ctc_beam_search_decode,
    ctc_best_path,
    ctc_collapse,
    ctc_forced_alignment,
    ctc_greedy_decode,
    ctc_loss,
    edit_distance,
    encode_trees,
    error_rate,
    exact_match,
    filter_logits,
    free_run,
    generate,
    parse_tree,
    perplexity,
    sample_next,
    sparse_reservoir,
    stateful_batches,
    target_log_probs,
)
from tests.helpers import numpy_of

MODULES = ("recipes.text", "recipes.ctc", "recipes.metrics", "recipes.recursive", "recipes.reservoir")
NAN = float("nan")


def table_step_fn(tokens, state):
    """A uniform language model over 3 tokens."""
    rows = ops.shape(ops.convert_to_tensor(tokens))[0]
    return ops.full((rows, 3), -np.log(3.0)), state


def fitted_lm():
    return KneserNeyLM(2, 4).fit([0, 1, 2, 3, 1, 2])


def fitted_readout(features=3):
    return RidgeReadout().fit(np.random.default_rng(0).normal(size=(20, features)), np.zeros((20, 1)))


LOGITS = np.zeros((2, 5, 3), "float32")
LABELS = np.array([[1, 2], [2, -1]])
TREE = encode_trees(["(a b)"], ["<pad>", "<node>", "a", "b"])
CHILDREN, LEVELS = TREE["children"], TREE["levels"]  # (1, 3, 2), (1, 3)
NODES = np.zeros((1, 3, 4), "float32")

# "function: what is wrong" -> (the call, the message it must raise).
CASES = {
    # --- recipes.text
    "CharVocabulary: no characters": (lambda: CharVocabulary([]), r"`chars` must be a non-empty"),
    "CharVocabulary: empty text": (lambda: CharVocabulary.from_text(""), r"`text` must hold at least one character"),
    "CharVocabulary: encode a list": (lambda: CharVocabulary("ab").encode(["a"]), r"`text` must be a string"),
    "CharVocabulary: decode NaN": (lambda: CharVocabulary("ab").decode([1, NAN]), r"`ids` must hold integer token ids"),
    "CharVocabulary: decode 2-D": (lambda: CharVocabulary("ab").decode([[1, 2]]), r"`ids` must be a 1-D sequence"),
    "stateful_batches: empty": (lambda: stateful_batches([], 2, 3), r"`ids` has 0 tokens"),
    "stateful_batches: NaN": (lambda: stateful_batches(np.full(30, NAN), 2, 3), r"`ids` must hold integer token ids"),
    "stateful_batches: 2-D": (lambda: stateful_batches(np.zeros((2, 30)), 2, 3), r"`ids` must be 1-D"),
    "stateful_batches: negative batch": (lambda: stateful_batches(np.arange(30), -2, 3), r"`batch_size` must be a positive integer"),
    "stateful_batches: negative window": (lambda: stateful_batches(np.arange(30), 2, -3), r"`window` must be a positive integer"),
    "target_log_probs: NaN": (lambda: target_log_probs(np.full((2, 3), NAN), [0, 1]), r"`predictions` must not hold NaN"),
    "target_log_probs: targets too high": (lambda: target_log_probs(np.zeros((2, 3)), [0, 3]), r"`targets` must be token ids in \[0, 3\)"),
    "target_log_probs: negative targets": (lambda: target_log_probs(np.zeros((2, 3)), [-1, 0]), r"`targets` must be token ids in \[0, 3\)"),
    "target_log_probs: wrong rank": (lambda: target_log_probs(np.zeros((2, 3)), [[0], [1]]), r"`targets` must have the shape of `predictions` without its last axis"),
    "target_log_probs: empty vocabulary": (lambda: target_log_probs(np.zeros((2, 0)), [0, 0]), r"`predictions` must score at least one token"),
    "bits_per_character: empty": (lambda: bits_per_character([]), r"`log_probs` must hold at least one"),
    "bits_per_character: NaN": (lambda: bits_per_character([-1.0, NAN]), r"`log_probs` must be natural-log probabilities"),
    "bits_per_character: probabilities": (lambda: bits_per_character([0.5, 0.25]), r"`log_probs` must be natural-log probabilities"),
    "perplexity: empty": (lambda: perplexity(np.zeros((0, 3))), r"`log_probs` must hold at least one"),
    "perplexity: NaN": (lambda: perplexity([NAN]), r"`log_probs` must be natural-log probabilities"),
    "KneserNeyLM: empty fit": (lambda: KneserNeyLM(2, 4).fit([]), r"`ids` must be a 1-D sequence of at least 2"),
    "KneserNeyLM: NaN fit": (lambda: KneserNeyLM(2, 4).fit([0, NAN, 1]), r"`ids` must hold integer token ids"),
    "KneserNeyLM: empty log_prob": (lambda: fitted_lm().log_prob([]), r"`ids` must be a 1-D sequence of at least 1"),
    "KneserNeyLM: 2-D log_prob": (lambda: fitted_lm().log_prob([[0, 1]]), r"`ids` must be a 1-D sequence"),
    "KneserNeyLM: negative context": (lambda: fitted_lm().distribution([-1]), r"`context` must lie in \[0, vocab_size\)"),
    "KneserNeyLM: negative order": (lambda: KneserNeyLM(-1, 4), r"`order` must be a positive integer"),
    "filter_logits: 1-D": (lambda: filter_logits(np.zeros(3), top_k=1), r"`logits` must have shape \(batch, vocabulary\)"),
    "filter_logits: empty vocabulary": (lambda: filter_logits(np.zeros((2, 0)), top_p=0.5), r"`logits` must have shape \(batch, vocabulary\)"),
    "filter_logits: NaN": (lambda: filter_logits(np.full((1, 3), NAN), top_k=1), r"`logits` must not hold NaN"),
    "filter_logits: NaN top_p": (lambda: filter_logits(np.zeros((1, 3)), top_p=NAN), r"`top_p` must be None or a float in \(0, 1\]"),
    "sample_next: NaN": (lambda: sample_next(np.array([[0.0, NAN, 1.0]]), seed=0), r"`logits` must not hold NaN"),
    "sample_next: 3-D": (lambda: sample_next(np.zeros((1, 2, 3)), seed=0), r"`logits` must have shape \(batch, vocabulary\)"),
    "sample_next: NaN temperature": (lambda: sample_next(np.zeros((1, 3)), temperature=NAN), r"`temperature` must be a float >= 0"),
    "generate: no tokens": (lambda: generate(table_step_fn, [], None, steps=2), r"`tokens` must hold at least one start token"),
    "generate: NaN token": (lambda: generate(table_step_fn, [NAN], None, steps=2), r"`tokens` must hold integer token ids"),
    "generate: 2-D tokens": (lambda: generate(table_step_fn, [[0, 1]], None, steps=2), r"`tokens` must be a 1-D sequence"),
    "generate: negative token": (lambda: generate(table_step_fn, [-1], None, steps=2), r"`tokens` must be token ids >= 0"),
    "generate: negative steps": (lambda: generate(table_step_fn, [0], None, steps=-1), r"`steps` must be a positive integer"),
    "generate: end token outside": (lambda: generate(table_step_fn, [0], None, steps=2, end_token=3), r"`end_token` must be None or a token id in \[0, 3\)"),
    "beam_search: no tokens": (lambda: beam_search(table_step_fn, np.zeros(0), None, steps=2), r"`tokens` must hold at least one"),
    "beam_search: NaN token": (lambda: beam_search(table_step_fn, [0.0, NAN], None, steps=2), r"`tokens` must hold integer token ids"),
    "beam_search: negative steps": (lambda: beam_search(table_step_fn, [0], None, steps=-2), r"`steps` must be a positive integer"),
    "beam_search: end token outside": (lambda: beam_search(table_step_fn, [0], np.zeros((1, 2)), steps=2, end_token=-1), r"`end_token` must be None or a token id"),
    "beam_search: no state": (lambda: beam_search(table_step_fn, [0], None, steps=2), r"`state` must be a nest of tensors whose leading dimension is the number of rows of `tokens`, 1"),
    "beam_search: state of other rows": (lambda: beam_search(table_step_fn, [0, 1], [np.zeros((3, 2))], steps=2), r"`state` must be a nest of tensors"),
    "beam_search: NaN length_penalty": (lambda: beam_search(table_step_fn, [0], None, steps=2, length_penalty=NAN), r"`length_penalty` must be a float >= 0"),
    # --- recipes.ctc
    "ctc_loss: no frames": (lambda: ctc_loss(LABELS, np.zeros((2, 0, 3), "float32")), r"`logits` must have at least one frame"),
    "ctc_loss: 2-D logits": (lambda: ctc_loss(LABELS, LOGITS[0]), r"`logits` must have shape \(batch, frames, classes\)"),
    "ctc_loss: 1-D labels": (lambda: ctc_loss(LABELS[0], LOGITS), r"`labels` must have shape \(batch, max_label_length\)"),
    "ctc_loss: NaN labels": (lambda: ctc_loss(np.array([[1.0, NAN], [2, -1]]), LOGITS), r"`labels` must be integers"),
    "ctc_loss: negative label_lengths": (lambda: ctc_loss(LABELS, LOGITS, label_lengths=[2, -1]), r"`label_lengths` must have shape \(2,\) and values in \[0, 2\]"),
    "ctc_loss: negative logit_lengths": (lambda: ctc_loss(LABELS, LOGITS, logit_lengths=[5, -1]), r"`logit_lengths` must be in \[0, 5\]"),
    "CTCLoss: the blank as a label": (lambda: CTCLoss()(np.array([[1, 0], [2, -1]]), LOGITS), r"`labels` must be class indices in \[0, 3\) other than the blank"),
    "CTCLoss: negative blank_index": (lambda: CTCLoss(blank_index=-1), r"`blank_index` must be an integer >= 0"),
    "ctc_greedy_decode: NaN": (lambda: ctc_greedy_decode(np.full((1, 4, 3), NAN, "float32")), r"`logits` must not hold NaN"),
    "ctc_greedy_decode: no frames": (lambda: ctc_greedy_decode(np.zeros((1, 0, 3), "float32")), r"`logits` must have at least one frame"),
    "ctc_greedy_decode: negative lengths": (lambda: ctc_greedy_decode(LOGITS, logit_lengths=[-1, 5]), r"`logit_lengths` must have shape \(2,\) and values in \[0, 5\]"),
    "ctc_beam_search_decode: NaN": (lambda: ctc_beam_search_decode(np.full((1, 4, 3), NAN, "float32")), r"`logits` must not hold NaN"),
    "ctc_beam_search_decode: 4-D": (lambda: ctc_beam_search_decode(LOGITS[None]), r"`logits` must have shape \(batch, frames, classes\)"),
    "ctc_beam_search_decode: negative beam": (lambda: ctc_beam_search_decode(LOGITS, beam_width=-1), r"`beam_width` must be a positive integer"),
    "ctc_collapse: NaN": (lambda: ctc_collapse([0, NAN, 1]), r"`path` must hold integer labels"),
    "ctc_collapse: 2-D": (lambda: ctc_collapse([[0, 1], [1, 0]]), r"`path` must be a 1-D sequence"),
    "ctc_best_path: NaN": (lambda: ctc_best_path(np.full((3, 3), NAN)), r"`posteriors` must not hold NaN"),
    "ctc_best_path: no classes": (lambda: ctc_best_path(np.zeros((3, 0))), r"`posteriors` must have shape \(frames, classes\) with at least one of each"),
    "ctc_best_path: negative length": (lambda: ctc_best_path(np.full((3, 3), 1 / 3), length=-1), r"`length` must be an integer in \[0, 3\]"),
    "ctc_forced_alignment: no frames": (lambda: ctc_forced_alignment(np.zeros((0, 3)), [1]), r"`posteriors` must have shape \(frames, classes\) with at least one"),
    "ctc_forced_alignment: NaN": (lambda: ctc_forced_alignment(np.full((3, 3), NAN), [1]), r"`posteriors` must not hold NaN"),
    "ctc_forced_alignment: NaN label": (lambda: ctc_forced_alignment(np.full((3, 3), 1 / 3), [NAN]), r"`labels` must hold integer labels"),
    "ctc_forced_alignment: 2-D labels": (lambda: ctc_forced_alignment(np.full((3, 3), 1 / 3), [[1], [2]]), r"`labels` must be a 1-D sequence"),
    # --- recipes.metrics
    "edit_distance: 2-D array": (lambda: edit_distance(np.zeros((2, 2)), [0]), r"`reference` must hold 1-D sequences"),
    "edit_distance: NaN token": (lambda: edit_distance([NAN], [NAN]), r"`reference` must hold sequences of tokens"),
    "edit_distance: a number": (lambda: edit_distance(5, "a"), r"`reference` must hold sequences"),
    "error_rate: empty": (lambda: error_rate([], []), r"`references` and `hypotheses` must not be empty"),
    "error_rate: empty references": (lambda: error_rate([""], ["a"]), r"`references` must hold at least one token"),
    "error_rate: NaN token": (lambda: error_rate([[1, 2]], [[1, NAN]]), r"`hypotheses` must hold sequences of tokens"),
    "exact_match: empty": (lambda: exact_match([], []), r"`references` and `hypotheses` must not be empty"),
    "exact_match: 2-D array": (lambda: exact_match([np.zeros((2, 2))], [[0]]), r"`references` must hold 1-D sequences"),
    "bleu: empty": (lambda: bleu([], []), r"`references` and `hypotheses` must not be empty"),
    "bleu: no hypothesis tokens": (lambda: bleu(["a b"], [""]), r"`hypotheses` must hold at least one token"),
    "bleu: NaN token": (lambda: bleu([[1, 2]], [[1, NAN]]), r"`hypotheses` must hold sequences of tokens"),
    "bleu: negative max_order": (lambda: bleu(["a"], ["a"], max_order=-1), r"`max_order` must be a positive integer"),
    # --- recipes.recursive
    "parse_tree: empty": (lambda: parse_tree(""), r"`text` must hold a tree"),
    "parse_tree: NaN": (lambda: parse_tree(NAN), r"`text` must be a bracketed string"),
    "encode_trees: empty": (lambda: encode_trees([], ["a"]), r"`trees` must be a non-empty list"),
    "encode_trees: negative max_nodes": (lambda: encode_trees(["a"], ["a"], max_nodes=-1), r"`max_nodes` must be a positive integer"),
    "check_trees: wrong rank": (lambda: check_trees(CHILDREN[0], LEVELS), r"`children` must have shape \(batch, nodes, children\)"),
    "check_trees: negative levels": (lambda: check_trees(CHILDREN, LEVELS - 3), r"`levels` must be >= -1"),
    "check_trees: float children": (lambda: check_trees(CHILDREN + 0.5, LEVELS), r"`children` must hold integers"),
    "RecursiveNN: no nodes": (lambda: RecursiveNN(4)(NODES[:, :0], CHILDREN[:, :0], LEVELS[:, :0]), r"needs at least one node slot"),
    "RecursiveNN: 2-D inputs": (lambda: RecursiveNN(4)(NODES[0], CHILDREN, LEVELS), r"expects `inputs` \(node features\) of shape"),
    "RecursiveNN: negative children": (lambda: RecursiveNN(4)(NODES, CHILDREN - 2, LEVELS), r"`children` must hold node indices"),
    "NaryTreeLSTM: float levels": (lambda: NaryTreeLSTM(4)(NODES, CHILDREN, LEVELS + 0.5), r"expects `levels` of an integer dtype"),
    "NaryTreeLSTM: negative units": (lambda: NaryTreeLSTM(-4), r"`units` must be a positive integer"),
    "ChildSumTreeLSTM: 3-D levels": (lambda: ChildSumTreeLSTM(4)(NODES, CHILDREN, LEVELS[..., None]), r"expects `levels` of shape \(batch, nodes\)"),
    "ChildSumTreeLSTM: negative max_levels": (lambda: ChildSumTreeLSTM(4, max_levels=-1), r"`max_levels` must be a positive integer"),
    # --- recipes.reservoir
    "sparse_reservoir: no units": (lambda: sparse_reservoir(0, 0.5, 0.9, np.random.default_rng(0)), r"`units` must be a positive integer"),
    "sparse_reservoir: negative connectivity": (lambda: sparse_reservoir(5, -0.1, 0.9, np.random.default_rng(0)), r"`connectivity` must be a float in \(0, 1\]"),
    "sparse_reservoir: NaN radius": (lambda: sparse_reservoir(5, 0.5, NAN, np.random.default_rng(0)), r"`spectral_radius` must be a positive float"),
    "sparse_reservoir: a seed for rng": (lambda: sparse_reservoir(5, 0.5, 0.9, 3), r"`rng` must be a `np.random.Generator`"),
    "EchoStateCell: NaN leak_rate": (lambda: EchoStateCell(5, leak_rate=NAN), r"`leak_rate` must be a float in \(0, 1\]"),
    "EchoStateCell: negative units": (lambda: EchoStateCell(-5), r"`units` must be a positive integer"),
    "collect_states: empty": (lambda: collect_states(EchoStateCell(4, seed=0), np.zeros((0, 1))), r"`inputs` must have shape \(time, features\)"),
    "collect_states: no features": (lambda: collect_states(EchoStateCell(4, seed=0), np.zeros((5, 0))), r"`inputs` must have shape .* one feature"),
    "collect_states: NaN": (lambda: collect_states(EchoStateCell(4, seed=0), np.full((5, 1), NAN)), r"`inputs` must hold finite numbers"),
    "collect_states: 1-D": (lambda: collect_states(EchoStateCell(4, seed=0), np.zeros(5)), r"`inputs` must have shape \(time, features\)"),
    "collect_states: bad initial_state": (lambda: collect_states(EchoStateCell(4, seed=0), np.zeros((5, 1)), initial_state=np.zeros(3)), r"`initial_state` must be finite, of shape \(4,\) or \(1, 4\)"),
    "collect_states: NaN initial_state": (lambda: collect_states(EchoStateCell(4, seed=0), np.zeros((5, 1)), initial_state=np.full(4, NAN)), r"`initial_state` must be finite"),
    "RidgeReadout: NaN ridge": (lambda: RidgeReadout(ridge=NAN), r"`ridge` must be a float >= 0"),
    "RidgeReadout: NaN states": (lambda: RidgeReadout().fit(np.full((10, 3), NAN), np.zeros((10, 1))), r"`states` must hold finite numbers"),
    "RidgeReadout: NaN targets": (lambda: RidgeReadout().fit(np.zeros((10, 3)), np.full((10, 1), NAN)), r"`targets` must hold finite numbers"),
    "RidgeReadout: empty": (lambda: RidgeReadout().fit(np.zeros((0, 3)), np.zeros((0, 1))), r"`washout` \(0\) must be smaller than the number of time steps of `states` \(0\)"),
    "RidgeReadout: negative washout": (lambda: RidgeReadout().fit(np.zeros((10, 3)), np.zeros((10, 1)), washout=-1), r"`washout` must be an integer >= 0"),
    "RidgeReadout: 4-D states": (lambda: RidgeReadout().fit(np.zeros((1, 2, 10, 3)), np.zeros((1, 2, 10, 1))), r"`states` must have shape \(time, k\) or \(batch, time, k\)"),
    "RidgeReadout: predict NaN": (lambda: fitted_readout().predict(np.full((2, 3), NAN)), r"`states` must hold finite numbers"),
    "free_run: NaN warm-up": (lambda: free_run(EchoStateCell(3, seed=0), fitted_readout(3), np.full((4, 1), NAN), steps=2), r"`warmup_inputs` must hold finite numbers"),
    "free_run: empty warm-up": (lambda: free_run(EchoStateCell(3, seed=0), fitted_readout(3), np.zeros((0, 1)), steps=2), r"`warmup_inputs` must have shape"),
    "free_run: negative steps": (lambda: free_run(EchoStateCell(3, seed=0), fitted_readout(3), np.zeros((4, 1)), steps=-1), r"`steps` must be a positive integer"),
}


def test_every_public_function_of_the_fuzzed_modules_is_fuzzed():
    public = {name for name in recipes.__all__
              if getattr(getattr(recipes, name), "__module__", None) in MODULES}
    assert len(public) == 32
    fuzzed = {case.split(":")[0] for case in CASES}
    assert public <= fuzzed, f"add cases to tests/test_fuzz.py for {sorted(public - fuzzed)}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_raises_a_value_error_naming_the_argument(case):
    call, message = CASES[case]
    with pytest.raises(ValueError, match=message):
        call()


# NaN inside the tensors of a model: NaN out, on every row it touches (and only there for the
# loss, whose rows are independent).
NAN_OUT = {
    "ctc_loss": lambda: ctc_loss(LABELS, np.where(np.arange(2)[:, None, None] == 0, NAN, LOGITS).astype("float32")),
    "CTCLoss": lambda: CTCLoss(reduction=None)(LABELS, np.where(np.arange(2)[:, None, None] == 0, NAN, LOGITS).astype("float32")),
    "RecursiveNN": lambda: RecursiveNN(4)(np.full_like(NODES, NAN), CHILDREN, LEVELS),
    "NaryTreeLSTM": lambda: NaryTreeLSTM(4)(np.full_like(NODES, NAN), CHILDREN, LEVELS),
    "ChildSumTreeLSTM": lambda: ChildSumTreeLSTM(4)(np.full_like(NODES, NAN), CHILDREN, LEVELS),
}


@pytest.mark.parametrize("name", sorted(NAN_OUT))
def test_nan_in_the_tensors_of_a_model_gives_nan_out(name):
    out = numpy_of(NAN_OUT[name]())
    if name in ("ctc_loss", "CTCLoss"):
        assert np.isnan(out[0]) and np.isfinite(out[1])
    else:
        assert np.isnan(out).all()

