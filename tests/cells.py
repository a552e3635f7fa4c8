"""Every recurrent cell the package exports, with small arguments for the common tests.

A new recipe cell must be added here: `test_every_exported_cell_is_covered` fails otherwise, so
the shape, gradient, save/load, masking and Bidirectional tests run for every cell.
"""

import recipes

CELL_FACTORIES = {
    "ElmanCell": lambda: recipes.ElmanCell(5),
    "JordanCell": lambda: recipes.JordanCell(5, output_units=3, context_decay=0.5),
    "FullyRecurrentCell": lambda: recipes.FullyRecurrentCell(6, output_units=2),
    "RMLPCell": lambda: recipes.RMLPCell([5, 4]),
    "LSTMCell": lambda: recipes.LSTMCell(5),
    "LSTMCell-peephole": lambda: recipes.LSTMCell(5, peephole=True),
    "GRUCell": lambda: recipes.GRUCell(5),
    "GRUCell-reset-before": lambda: recipes.GRUCell(5, reset_after=False),
    # The common gradient test needs trainable weights: the classical ESN has none.
    "EchoStateCell": lambda: recipes.EchoStateCell(
        6, connectivity=0.5, leak_rate=0.7, bias_scaling=0.2, trainable_reservoir=True, seed=1
    ),
    "CTRNNCell": lambda: recipes.CTRNNCell(5, tau=[0.5, 1.0, 1.0, 2.0, 4.0], dt=0.2),
    "CTRNNCell-center-crossing": lambda: recipes.CTRNNCell(5, center_crossing=True, dt=0.5),
    "MTRNNCell": lambda: recipes.MTRNNCell(3, fast_units=4, slow_units=2, slow_tau=10.0),
    "MTRNNCell-learned-initial-state": lambda: recipes.MTRNNCell(
        3, fast_units=4, slow_units=2, learn_initial_state=True
    ),
    "ClockworkCell": lambda: recipes.ClockworkCell(6, periods=3),
    "ClockworkCell-periods": lambda: recipes.ClockworkCell(4, periods=[1, 3]),
    "NTMCell": lambda: recipes.NTMCell(5, memory_size=6, memory_width=3),
    "NTMCell-feedforward-two-heads": lambda: recipes.NTMCell(
        5, memory_size=6, memory_width=3, read_heads=2, write_heads=2, controller="feedforward"
    ),
    "DNCCell": lambda: recipes.DNCCell(5, memory_size=6, memory_width=3, read_heads=2),
    "DNCCell-feedforward": lambda: recipes.DNCCell(
        5, memory_size=6, memory_width=3, controller="feedforward"
    ),
    "NeuralStackCell": lambda: recipes.NeuralStackCell(5, stack_width=3, stack_size=8),
    "NeuralStackCell-elman": lambda: recipes.NeuralStackCell(
        4, stack_width=2, stack_size=3, controller="elman"
    ),
    "NeuralStackCell-feedforward": lambda: recipes.NeuralStackCell(
        4, stack_width=2, stack_size=7, controller="feedforward", round_actions=True
    ),
    "NeuralStackCell-push-inputs": lambda: recipes.NeuralStackCell(
        3, stack_width=4, stack_size=7, controller="feedforward", push_inputs=True, output_read=True
    ),
}

# Output size of each factory's cell, for shape checks.
OUTPUT_UNITS = {"ElmanCell": 5, "JordanCell": 3, "FullyRecurrentCell": 2, "RMLPCell": 4,
                "LSTMCell": 5, "LSTMCell-peephole": 5, "GRUCell": 5, "GRUCell-reset-before": 5}
OUTPUT_UNITS.update({"EchoStateCell": 6, "CTRNNCell": 5, "CTRNNCell-center-crossing": 5,
                     "MTRNNCell": 3, "MTRNNCell-learned-initial-state": 3, "ClockworkCell": 6,
                     "ClockworkCell-periods": 4})
OUTPUT_UNITS.update({"NTMCell": 8, "NTMCell-feedforward-two-heads": 11, "DNCCell": 11,
                     "DNCCell-feedforward": 8})
OUTPUT_UNITS.update({"NeuralStackCell": 5, "NeuralStackCell-elman": 4,
                     "NeuralStackCell-feedforward": 4, "NeuralStackCell-push-inputs": 7})
