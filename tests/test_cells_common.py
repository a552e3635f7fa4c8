"""What every recipe cell must do, whatever its family: shapes, gradients through time,
save/load, config round trip, masking and Bidirectional on padded batches."""

import inspect

import keras
import numpy as np
import pytest

import recipes
from tests.cells import CELL_FACTORIES, OUTPUT_UNITS
from tests.helpers import gradients

NAMES = sorted(CELL_FACTORIES)
BATCH, TIME, FEATURES = 3, 7, 4


def _inputs(seed=0, batch=BATCH, time=TIME):
    return np.random.default_rng(seed).normal(size=(batch, time, FEATURES)).astype("float32")


def test_every_exported_cell_is_covered():
    exported = {
        name
        for name in recipes.__all__
        if inspect.isclass(getattr(recipes, name)) and name.endswith("Cell")
    }
    assert exported, "recipes exports no cells"
    covered = {name.split("-")[0] for name in CELL_FACTORIES}
    assert exported <= covered, f"add to tests/cells.py: {exported - covered}"


@pytest.mark.parametrize("name", NAMES)
def test_shapes_sequences_and_states(name):
    cell = CELL_FACTORIES[name]()
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    outputs = layer(_inputs())
    sequences, states = outputs[0], outputs[1:]
    assert tuple(sequences.shape) == (BATCH, TIME, OUTPUT_UNITS[name])
    sizes = cell.state_size if isinstance(cell.state_size, list) else [cell.state_size]
    assert [tuple(s.shape) for s in states] == [(BATCH, size) for size in sizes]
    last = keras.layers.RNN(cell)(_inputs())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(last), keras.ops.convert_to_numpy(sequences[:, -1]), atol=1e-6
    )


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_weight_and_the_first_step(name):
    model = keras.Sequential([keras.Input((TIME, FEATURES)), keras.layers.RNN(CELL_FACTORIES[name]())])
    weight_grads, input_grad = gradients(model, _inputs(), lambda y: keras.ops.sum(y**2))
    assert len(weight_grads) == len(model.trainable_weights) > 0
    for weight, grad in zip(model.trainable_weights, weight_grads):
        assert np.all(np.isfinite(grad)), weight.path
        assert np.abs(grad).max() > 0, f"no gradient reaches {weight.path}"
    # The loss reads only the last output: a gradient at step 0 has come back through time.
    assert np.abs(input_grad[:, 0]).max() > 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_save_and_load_keras_file_gives_identical_outputs(name, tmp_path):
    inputs = keras.Input((None, FEATURES))
    outputs = keras.layers.RNN(CELL_FACTORIES[name](), return_sequences=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(outputs))
    path = tmp_path / "model.keras"
    model.save(path)
    # No custom_objects: the cells are registered under the "recipes" package.
    loaded = keras.saving.load_model(path)
    x = _inputs(seed=1)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(x)), keras.ops.convert_to_numpy(loaded(x))
    )
    assert type(loaded.layers[1].cell) is type(model.layers[1].cell)


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    cell = CELL_FACTORIES[name]()
    config = cell.get_config()
    clone = type(cell).from_config(config)
    assert clone.get_config() == config
    assert keras.saving.get_registered_name(type(cell)) == f"recipes>{type(cell).__name__}"


def _padded_batch(lengths, seed=2):
    x = _inputs(seed=seed, batch=len(lengths))
    mask = np.arange(TIME)[None, :] < np.array(lengths)[:, None]
    return x * mask[..., None], mask


@pytest.mark.parametrize("name", NAMES)
def test_mask_carries_state_over_padding(name):
    lengths = [TIME, 3, 5]
    x, mask = _padded_batch(lengths)
    layer = keras.layers.RNN(CELL_FACTORIES[name]())
    batched = keras.ops.convert_to_numpy(layer(x, mask=mask))
    for i, length in enumerate(lengths):
        alone = keras.ops.convert_to_numpy(layer(x[i : i + 1, :length]))
        np.testing.assert_allclose(batched[i], alone[0], atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_bidirectional_on_padded_batch_reverses_only_the_valid_part(name):
    lengths = [TIME, 2, 4]
    x, mask = _padded_batch(lengths, seed=3)
    bi = keras.layers.Bidirectional(
        keras.layers.RNN(CELL_FACTORIES[name](), return_sequences=True), merge_mode="concat"
    )
    batched = keras.ops.convert_to_numpy(bi(x, mask=mask))
    units = OUTPUT_UNITS[name]
    assert batched.shape == (len(lengths), TIME, 2 * units)
    for i, length in enumerate(lengths):
        alone = keras.ops.convert_to_numpy(bi(x[i : i + 1, :length]))[0]
        np.testing.assert_allclose(batched[i, :length], alone, atol=1e-5)
        # The backward half at step 0 is the state after reading x[length-1], ..., x[0]:
        # the whole valid sequence and none of the padding.
        backward = bi.backward_layer(x[i : i + 1, :length])
        np.testing.assert_allclose(
            batched[i, 0, units:], keras.ops.convert_to_numpy(backward)[0, -1], atol=1e-5
        )


@pytest.mark.parametrize("name", NAMES)
def test_cell_rejects_inputs_without_a_known_feature_size(name):
    cell = CELL_FACTORIES[name]()
    with pytest.raises(ValueError, match=r"per-step inputs of shape \(batch, features\)"):
        keras.layers.RNN(cell)(keras.Input((None, None)))


@pytest.mark.parametrize("name", NAMES)
def test_cell_rejects_negative_units(name):
    with pytest.raises(ValueError, match=r"`units.*` must be a positive integer, got -2"):
        type(CELL_FACTORIES[name]())(**{**CELL_FACTORIES[name]().get_config(), "units": -2})


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="JAX compiles every other test with XLA already; torch has no XLA")
@pytest.mark.parametrize("name", NAMES)
def test_train_step_compiles_with_xla_and_matches_eager(name):
    # On a GPU runtime Keras compiles `fit` with XLA by default (TensorFlow's jit_compile="auto"
    # turns it on wherever a GPU exists): every cell must compile, and give the eager numbers.
    x, y = _inputs(seed=3), np.random.default_rng(4).normal(size=(BATCH, OUTPUT_UNITS[name]))
    losses, weights = [], []
    for jit in (False, True):
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((TIME, FEATURES)), keras.layers.RNN(CELL_FACTORIES[name]())])
        model.compile(keras.optimizers.SGD(0.01), "mse", jit_compile=jit, run_eagerly=not jit)
        losses.append(model.train_on_batch(x, y))
        weights.append(model.get_weights())
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4, atol=1e-6)
    for eager, compiled in zip(*weights):
        np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=1e-5)
