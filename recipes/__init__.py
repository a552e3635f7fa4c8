"""RNN Recipes: one readable Keras 3 layer per recurrent architecture.

Every cell runs inside `keras.layers.RNN` on the TensorFlow, JAX and PyTorch backends.
"""

from recipes.simple import ElmanCell, FullyRecurrentCell, JordanCell, RMLPCell

__all__ = ["ElmanCell", "FullyRecurrentCell", "JordanCell", "RMLPCell"]
__version__ = "0.1.0"
