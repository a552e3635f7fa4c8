"""Properties of every exported cell (tests/cells.py), checked by Hypothesis on drawn examples:
finite outputs, masked steps that leave the state as it was, and bad shapes that raise a
ValueError naming the argument.

Cost: an eager `keras.layers.RNN` call costs 1-3 s per call on JAX for the memory cells (the
scan is compiled again at every call), so 10 examples of 24 cells would add minutes to the JAX
run. Each cell is therefore run by one compiled model of a fixed shape, (2 * ROWS, STEPS,
FEATURES), one call per example: the drawn batch size and sequence length are the rows and
steps that the mask leaves in, the rest of the array is masked out (and must change nothing).
Examples are derandomized, so every run checks the same ones.
"""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cells import CELL_FACTORIES

NAMES = sorted(CELL_FACTORIES)
ROWS, STEPS, FEATURES = 3, 5, 4
PROPERTY = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_MODELS = {}


def compiled(name):
    """A model (x, mask) -> [output, *final states] around a fresh cell, and the cell: built and
    compiled once per cell and test module."""
    if name not in _MODELS:
        keras.utils.set_random_seed(0)
        cell = CELL_FACTORIES[name]()
        x = keras.Input((STEPS, FEATURES), batch_size=2 * ROWS)
        mask = keras.Input((STEPS,), batch_size=2 * ROWS, dtype="bool")
        outputs = keras.layers.RNN(cell, return_state=True)(x, mask=mask)
        model = keras.Model([x, mask], outputs)
        model.compile()
        _MODELS[name] = model, cell
    return _MODELS[name]


@st.composite
def masked_batches(draw):
    """(x, mask, batch): rows 0..batch-1 hold sequences of up to STEPS steps with masked steps
    anywhere (holes), rows ROWS..ROWS+batch-1 the same sequences with the kept steps moved to the
    front and the rest masked; every other row is fully masked. Masked steps hold large values
    that would change the state if they were read."""
    batch = draw(st.integers(1, ROWS))
    length = draw(st.integers(1, STEPS))
    keep = draw(st.floats(0.0, 1.0))
    scale = draw(st.sampled_from([0.1, 1.0, 3.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.choice([-100.0, 100.0], size=(2 * ROWS, STEPS, FEATURES)).astype("float32")
    mask = np.zeros((2 * ROWS, STEPS), bool)
    for row in range(batch):
        kept = np.flatnonzero(rng.uniform(size=length) < keep)  # the steps of a sequence of `length`
        values = rng.normal(scale=scale, size=(len(kept), FEATURES))
        x[row, kept], mask[row, kept] = values, True
        x[ROWS + row, : len(kept)], mask[ROWS + row, : len(kept)] = values, True
    return x, mask, batch


def initial_states(cell):
    return [keras.ops.convert_to_numpy(s)[0] for s in cell.get_initial_state(batch_size=1)]


@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(example=masked_batches())
def test_masked_steps_leave_the_state_unchanged_and_outputs_stay_finite(name, example):
    x, mask, batch = example
    model, cell = compiled(name)
    output, *states = model.predict_on_batch([x, mask])
    for value in [output, *states]:
        assert np.all(np.isfinite(value))
    for state, initial in zip(states, initial_states(cell)):
        # Holes in a sequence change nothing: the state is that of the kept steps alone.
        np.testing.assert_allclose(state[:batch], state[ROWS : ROWS + batch], atol=1e-5)
        # A row with no kept step (every padding row, and a drawn row whose steps were all
        # masked) ends in the initial state.
        for row in np.flatnonzero(~mask.any(axis=1)):
            np.testing.assert_allclose(state[row], initial, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(
    features=st.integers(1, 7).filter(lambda f: f != FEATURES),
    rank=st.sampled_from([2, 3, 4]),
    batch=st.integers(1, 3),
)
def test_inputs_of_the_wrong_rank_or_feature_size_raise_a_value_error(name, features, rank, batch):
    shape = {2: (batch, features), 3: (batch, 2, features), 4: (batch, 2, 3, features)}[rank]
    x = np.zeros(shape, "float32")
    if rank != 3:  # an unbuilt cell reads the step shape in `build`
        with pytest.raises(ValueError, match=r"expects per-step inputs of shape \(batch, features\)"):
            keras.layers.RNN(CELL_FACTORIES[name]())(x)
    # A built cell refuses another feature size or rank than it was built for. (A 2-D input
    # never reaches a built cell: keras.layers.RNN itself fails on it first.)
    if rank != 2:
        _, cell = compiled(name)
        with pytest.raises(ValueError, match=rf"was built for `inputs` with {FEATURES} features"):
            keras.layers.RNN(cell)(x)
