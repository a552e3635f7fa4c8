"""RNN Recipes: one readable Keras 3 layer per recurrent architecture.

Every cell runs inside `keras.layers.RNN` on the TensorFlow, JAX and PyTorch backends.
"""

from recipes.checkpoints import load_checkpoint
from recipes.compressor import HistoryCompressor
from recipes.continuous import CTRNNCell, MTRNNCell
from recipes.ctc import (
    CTCLoss,
    ctc_beam_search_decode,
    ctc_best_path,
    ctc_collapse,
    ctc_forced_alignment,
    ctc_greedy_decode,
    ctc_loss,
)
from recipes.datasets import Play, shakespeare, shakespeare_split
from recipes.gated import GRU, LSTM, GRUCell, LSTMCell
from recipes.hierarchical import ClockworkCell
from recipes.hopfield import HopfieldNetwork, ModernHopfield
from recipes.memory import DNCCell, NTMCell, memory_trace
from recipes.metrics import bleu, edit_distance, error_rate, exact_match
from recipes.recursive import (
    ChildSumTreeLSTM,
    NaryTreeLSTM,
    RecursiveNN,
    check_trees,
    encode_trees,
    parse_tree,
)
from recipes.reservoir import EchoStateCell, RidgeReadout, collect_states, free_run, sparse_reservoir
from recipes.seq2seq import AttentionDecoder, BahdanauAttention, LuongAttention, Seq2Seq, greedy_decode
from recipes.simple import ElmanCell, FullyRecurrentCell, JordanCell, RMLPCell
from recipes.speech import ESpeakNG, fsdd_mfcc, spoken_digit_tfds
from recipes.stack import NeuralStackCell, stack_read, stack_trace, stack_update
from recipes.text import (
    CharVocabulary,
    KneserNeyLM,
    beam_search,
    bits_per_character,
    filter_logits,
    generate,
    perplexity,
    sample_next,
    stateful_batches,
    target_log_probs,
)

__all__ = [
    # simple recurrent family (recipes/simple.py)
    "ElmanCell",
    "FullyRecurrentCell",
    "JordanCell",
    "RMLPCell",
    # gated memory (recipes/gated.py)
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    # offline datasets (recipes/datasets.py)
    "Play",
    "shakespeare",
    "shakespeare_split",
    # trained full-scale models of data/checkpoints/ (recipes/checkpoints.py)
    "load_checkpoint",
    # reservoir computing (recipes/reservoir.py)
    "EchoStateCell",
    "RidgeReadout",
    "collect_states",
    "free_run",
    "sparse_reservoir",
    # continuous time and multiple timescales (recipes/continuous.py)
    "CTRNNCell",
    "MTRNNCell",
    # hierarchical (recipes/hierarchical.py)
    "ClockworkCell",
    # associative memory (recipes/hopfield.py)
    "HopfieldNetwork",
    "ModernHopfield",
    # recursive networks on trees (recipes/recursive.py)
    "ChildSumTreeLSTM",
    "NaryTreeLSTM",
    "RecursiveNN",
    "check_trees",
    "encode_trees",
    "parse_tree",
    # history compression (recipes/compressor.py)
    "HistoryCompressor",
    # memory-augmented networks (recipes/memory.py)
    "DNCCell",
    "NTMCell",
    "memory_trace",
    # neural pushdown automaton (recipes/stack.py)
    "NeuralStackCell",
    "stack_read",
    "stack_trace",
    "stack_update",
    # sequence to sequence with attention (recipes/seq2seq.py)
    "AttentionDecoder",
    "BahdanauAttention",
    "LuongAttention",
    "Seq2Seq",
    "greedy_decode",
    # sequence metrics (recipes/metrics.py)
    "bleu",
    "edit_distance",
    "error_rate",
    "exact_match",
    # connectionist temporal classification (recipes/ctc.py)
    "CTCLoss",
    "ctc_beam_search_decode",
    "ctc_best_path",
    "ctc_collapse",
    "ctc_forced_alignment",
    "ctc_greedy_decode",
    "ctc_loss",
    # offline speech (recipes/speech.py)
    "ESpeakNG",
    "fsdd_mfcc",
    "spoken_digit_tfds",
    # text machinery (recipes/text.py)
    "CharVocabulary",
    "KneserNeyLM",
    "beam_search",
    "bits_per_character",
    "filter_logits",
    "generate",
    "perplexity",
    "sample_next",
    "stateful_batches",
    "target_log_probs",
]
__version__ = "0.1.0"
