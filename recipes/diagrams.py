"""Architecture diagrams for the course, drawn with matplotlib.

Every figure of an architecture in the notebooks comes from a function here, so that it is code:
versioned, reviewed and redrawn by `make notebooks`. Each `draw_*` function takes no data, draws
one architecture on a fresh figure and returns the `matplotlib.figure.Figure` (the notebook shows
it with `plt.show()`); the primitives below (`canvas`, `box`, `circle`, `arrow`, `note`) are what
they are built from, and what a learner can use to draw their own.

Coordinates are in "boxes": a unit of about one box width, with (0, 0) at the bottom left.
matplotlib is the only dependency (imported here, not by the recipes themselves).

Example:

    from recipes import diagrams
    fig = diagrams.draw_unrolled_rnn(steps=3)
"""

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

# Colours by role, the same in every diagram: inputs, hidden state, outputs, memory and gates.
COLORS = {
    "input": "#d9ead3",
    "hidden": "#cfe2f3",
    "output": "#fce5cd",
    "memory": "#ead1dc",
    "gate": "#fff2cc",
    "plain": "#eeeeee",
}


def _color(role):
    if role not in COLORS:
        raise ValueError(f"role must be one of {sorted(COLORS)}, got {role!r}")
    return COLORS[role]


def canvas(width, height, title=None, scale=1.1):
    """A blank figure `width` x `height` boxes in size, axes hidden; returns (fig, ax)."""
    fig, ax = plt.subplots(figsize=(max(2.0, width * scale), max(1.5, height * scale)))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    return fig, ax


def box(ax, x, y, text="", width=1.0, height=0.6, role="plain", fontsize=10):
    """A rounded box centred at (x, y) with `text`, coloured by `role` (a key of COLORS)."""
    patch = FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                           boxstyle="round,pad=0.02,rounding_size=0.08",
                           facecolor=_color(role), edgecolor="0.25", linewidth=1.0, zorder=2)
    ax.add_patch(patch)
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3)
    return patch


def circle(ax, x, y, text="", radius=0.25, role="plain", fontsize=10):
    """A circle centred at (x, y) (a unit, or an operation such as + or x), coloured by `role`."""
    patch = Circle((x, y), radius, facecolor=_color(role), edgecolor="0.25", linewidth=1.0,
                   zorder=2)
    ax.add_patch(patch)
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3)
    return patch


def arrow(ax, start, end, text=None, curve=0.0, color="0.2", dashed=False, fontsize=9,
          shrink=4.0):
    """An arrow from `start` to `end` ((x, y) pairs), bent by `curve` (0: straight), with an
    optional label at its middle."""
    patch = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=color,
                            linewidth=1.2, linestyle="--" if dashed else "-",
                            connectionstyle=f"arc3,rad={curve}", shrinkA=shrink, shrinkB=shrink,
                            zorder=1)
    ax.add_patch(patch)
    if text:
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        ax.text(mx, my, text, ha="center", va="center", fontsize=fontsize, zorder=3,
                bbox=dict(facecolor="white", edgecolor="none", pad=0.5))
    return patch


def note(ax, x, y, text, fontsize=9, **kwargs):
    """Free text at (x, y), centred."""
    return ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, **kwargs)


# ---------------------------------------------------------------------------------------------
# The architectures, in the order of the course. Each section belongs to the notebooks it names.
# ---------------------------------------------------------------------------------------------

# Notebooks 00-03: unrolled RNN and BPTT, Elman/Jordan, LSTM and GRU gates, bidirectional.


# Notebooks 04-06 and 08: sampling, bidirectional classifier, encoder-decoder with attention.


# Notebooks 07 and 11: CTC alignment lattice, echo state network reservoir.


# Notebooks 09, 10, 12 and 13: forecasting windows, control loop, CTRNN/MTRNN, clockwork, Hopfield.


# Notebooks 14-18: tree, NTM/DNC heads, stack, history compressor, data parallelism.


# Notebook 19: multi-worker training.
def draw_multi_worker(workers=2, title="Multi-worker data parallelism: each worker reads its shard "
                      "of the global batch, an all-reduce\nsums the gradients, every worker applies "
                      "the same update and backs up the same weights"):
    """Workers of one job (worker 0 is the chief), each with its shard $S_k$ of the global batch,
    its copy of the weights and its gradient $g_k$; the all-reduce over the network returns
    $g = \\sum_k g_k$ to every worker; each backs up $\\theta_{t+1}$ (BackupAndRestore)."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    width = 3.2 * workers + 1.6
    fig, ax = canvas(width, 6.6, title=title, scale=1.0)
    centres = [1.6 + 3.2 * k + 0.8 for k in range(workers)]
    reduce_at = (width / 2, 3.2)
    for k, x in enumerate(centres):
        role = "chief" if k == 0 else ""
        box(ax, x, 0.5, f"shard $S_{{{k}}}$ of the\nglobal batch ($B/K$ rows)", width=2.2, height=0.7,
            role="input", fontsize=8)
        box(ax, x, 1.9, f"worker {k} {role}\n$\\theta_t \\to g_{{{k}}}$;  $\\theta_{{t+1}}$ from $g$", width=2.2,
            height=0.8, role="hidden", fontsize=8)
        arrow(ax, (x, 0.85), (x, 1.5), text="$x_i, y_i$")
        arrow(ax, (x - 0.4, 2.3), (reduce_at[0] - 0.3, reduce_at[1] - 0.15), text=f"$g_{{{k}}}$",
              color="#1f4e79")
        arrow(ax, (reduce_at[0] + 0.3, reduce_at[1] - 0.15), (x + 0.4, 2.3), text="$g$",
              color="#7f6000", curve=0.15)
        box(ax, x, 5.5, f"backup of worker {k}\n$\\theta_{{t+1}}$, Adam state, epoch", width=2.4,
            height=0.8, role="memory", fontsize=8)
        side = -0.9 if x < width / 2 else 0.9          # outside, clear of the all-reduce
        arrow(ax, (x + side, 2.3), (x + side, 5.1), text="save", dashed=True)
    circle(ax, *reduce_at, "all-reduce\n$g=\\sum_k g_k$", radius=0.75, role="gate", fontsize=8)
    note(ax, reduce_at[0], 4.25, "over the network (gRPC / Gloo)\nthe same $g$ on every worker",
         fontsize=8)
    return fig

