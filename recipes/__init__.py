"""RNN Recipes: one readable Keras 3 layer per recurrent architecture.

Every cell runs inside `keras.layers.RNN` on the TensorFlow, JAX and PyTorch backends.
"""

from recipes.datasets import Play, shakespeare, shakespeare_split
from recipes.gated import GRU, LSTM, GRUCell, LSTMCell
from recipes.simple import ElmanCell, FullyRecurrentCell, JordanCell, RMLPCell

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
]
__version__ = "0.1.0"
