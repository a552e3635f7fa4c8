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
}

# Output size of each factory's cell, for shape checks.
OUTPUT_UNITS = {"ElmanCell": 5, "JordanCell": 3, "FullyRecurrentCell": 2, "RMLPCell": 4,
                "LSTMCell": 5, "LSTMCell-peephole": 5, "GRUCell": 5, "GRUCell-reset-before": 5}
