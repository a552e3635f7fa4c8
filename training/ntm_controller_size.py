"""Why the paper-setting NTM of copy_task.py did not learn to use a memory started at a constant: a measurement.

Trains notebook 15's NTM setting (4-bit vectors, lengths 1-10, a 32 x 8 memory, Adam 3e-3 with
cosine decay, gradient norm clipped at 10, batches of 128, 2,000 steps) with a controller of
`--units` LSTM units, and prints the wrong bits per sequence (of 40) on 200 sequences of length 10
every 250 steps, then (of 80) at length 20, twice the longest training length: a controller that
holds the sequence in its own state fails there, heads that walk the memory carry on. `--tanh-keys`
squashes the keys with tanh, and `--read-first` reads the memory before writing it, as Collier and
Beel's implementation does (see `NTMCell`'s docstring). Measured on 2 CPU cores (about 2 minutes
per 2,000 steps):

    python training/ntm_controller_size.py --units 16              # 14.1, 12.6, 11.1, 0.65, 0.71, 0.11, 0.07, 0.07; T = 20: 3.6
    python training/ntm_controller_size.py --units 100             # 12.5, 9.7, 7.1, 5.8, 4.8, 3.9, 3.5, 3.2
    python training/ntm_controller_size.py --units 100 --seed 1    # 12.1, 8.9, 6.6, 5.1, 3.8, 3.1, 2.9, 2.6
    python training/ntm_controller_size.py --units 100 --tanh-keys # 12.5, 9.6, 7.0, 5.9, 4.8, 3.9, 3.5, 3.1
    python training/ntm_controller_size.py --units 100 --read-first # 12.4, 9.6, 7.0, 5.6, 4.6, 3.9, 3.5, 3.2
    python training/ntm_controller_size.py --units 100 --steps 6000 # 1.0 at step 2,000, 0.01 from 5,250; T = 20: 29.8

(The 2,000-step runs of 100 units were measured before the T = 20 line was added.) The small
controller cannot hold the sequence itself: its error drops at once (11.1 to 0.65 between steps
750 and 1,000) when it finds the memory, and it carries on to T = 20 (3.6 of 80 wrong). The large
one improves smoothly, reaches 0.01 at T = 10 given 6,000 steps, and fails at T = 20 (29.8 of 80;
guessing: 40): it learned to hold sequences of up to 10 vectors in its 100 units, not to use the
memory. The same road the 100-unit runs of copy_task.py took from a constant initial memory (the
default here and in NTMCell); with a learnt one (`initial_memory="learned"`) that script's NTM
found the memory (see its docstring).
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: recipes/, training/

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from recipes.memory import NTMCell  # noqa: E402
from training import copy_task  # noqa: E402


class TanhKeysNTMCell(NTMCell):
    """NTMCell whose keys are tanh of the interface (Collier and Beel), not the clipped interface."""

    def address(self, memory, head, w_prev):
        m = self.memory_width
        return super().address(memory, ops.concatenate([ops.tanh(head[..., :m]), head[..., m:]], axis=-1), w_prev)


class ReadFirstNTMCell(NTMCell):
    """NTMCell in Collier and Beel's order: every head addresses M_{t-1}, the reads read M_{t-1},
    then the write makes M_t (ours writes first and reads M_t). One read and one write head, in
    float32 (what this measurement needs)."""

    def build(self, input_shape):
        if self.read_heads != 1 or self.write_heads != 1 or self.pieces != 1:
            raise ValueError("ReadFirstNTMCell has one read and one write head and runs in float32, got "
                             f"read_heads={self.read_heads}, write_heads={self.write_heads}, dtype {self.compute_dtype}")
        super().build(input_shape)

    def call(self, inputs, states, training=False):
        named = self.unpack_states(states)
        h_prev, reads_prev = self.split_output(named["output"])
        h, c = self.controller_step(inputs, reads_prev, h_prev, named.get("c"))
        xi = ops.cast(self.interface(h), "float32")
        n, m, hs = self.memory_size, self.memory_width, self.head_size()
        read_params, write_params, erase_add = (xi[:, :hs], xi[:, hs : 2 * hs], xi[:, 2 * hs :])
        memory = named["memory"]
        w_read = self.address(memory, ops.reshape(read_params, (-1, 1, hs)), named["read_weightings"])
        w_write = self.address(memory, ops.reshape(write_params, (-1, 1, hs)), named["write_weightings"])
        reads = ops.reshape(ops.einsum("brn,bnm->brm", w_read, memory), (-1, m))
        erase, add = ops.sigmoid(erase_add[:, :m]), ops.tanh(erase_add[:, m:])
        memory = memory * (1.0 - w_write[:, 0, :, None] * erase[:, None, :]) + w_write[:, 0, :, None] * add[:, None, :]
        output = ops.concatenate([h, reads], axis=-1)
        new_states = [output] + ([c] if c is not None else [])
        new_states += [ops.reshape(memory, (-1, n * m)), ops.reshape(w_read, (-1, n)), ops.reshape(w_write, (-1, n))]
        return output, new_states


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tanh-keys", action="store_true")
    parser.add_argument("--read-first", action="store_true")
    parser.add_argument("--steps", type=int, default=2000, help="training steps, a multiple of 250")
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    kind = ReadFirstNTMCell if args.read_first else TanhKeysNTMCell if args.tanh_keys else NTMCell
    cell = kind(args.units, memory_size=32, memory_width=8)
    inputs = keras.Input((None, 5))
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.RNN(cell, return_sequences=True)(inputs)))
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, args.steps, alpha=0.1), clipnorm=10.0),
                  keras.losses.BinaryCrossentropy(from_logits=True), jit_compile=True, steps_per_execution=250)
    rng = np.random.default_rng(args.seed)
    validation = copy_task.copy_batch(np.random.default_rng(99), np.full(200, 10), 21, bits=4)
    started = time.perf_counter()
    for block in range(args.steps // 250):
        batches = [copy_task.copy_batch(rng, rng.integers(1, 11, size=128), 21, bits=4) for _ in range(250)]
        x, y, w = (np.concatenate(a) for a in zip(*batches))
        model.fit(x, y, sample_weight=w, batch_size=128, epochs=1, verbose=0, shuffle=False)
        print(f"step {(block + 1) * 250:5d}: {copy_task.bit_errors(model, validation):6.2f} wrong bits of 40 at T = 10 "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    beyond = copy_task.copy_batch(np.random.default_rng(98), np.full(200, 20), 41, bits=4)
    print(f"at T = 20, twice the longest training length: {copy_task.bit_errors(model, beyond):.2f} wrong bits of 80 "
          "(guessing: 40)", flush=True)


if __name__ == "__main__":
    main()
