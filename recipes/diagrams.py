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
def _edge_arrow(ax, start, end, text=None, gap=(0.3, 0.3), **kwargs):
    """An arrow between two centres, pulled back by gap[0] at the start and gap[1] at the end
    (in boxes), so that it starts and ends at the shapes' edges rather than under them."""
    (x0, y0), (x1, y1) = start, end
    length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    return arrow(ax, (x0 + gap[0] * ux, y0 + gap[0] * uy), (x1 - gap[1] * ux, y1 - gap[1] * uy),
                 text=text, **kwargs)


def draw_unrolled_rnn(steps=4, window=None):
    """The simple RNN of notebook 00 unrolled over `steps` steps: U, W and V are shared by every
    step; backpropagation through time sends dL/ds_t back along W (red, dashed). With `window`,
    truncated BPTT: the state is carried across the boundary of each window of `window` steps,
    the gradient stops there."""
    width = 2.2 * steps + 1.4
    title = ("Unrolled RNN: the same U, W, V at every step; BPTT sends the gradient back through "
             "time (red)") if window is None else (
             f"Truncated BPTT, windows of {window} steps: the state crosses the boundary, the "
             "gradient (red) does not")
    fig, ax = canvas(width, 5.6, title=title)
    red = "#c0392b"
    xs = [1.9 + 2.2 * t for t in range(steps)]
    box(ax, 0.5, 2.3, "$s_0$", width=0.7, height=0.55, role="hidden")
    for t, x in enumerate(xs, start=1):
        box(ax, x, 0.6, f"$x_{t}$", width=0.7, height=0.55, role="input")
        box(ax, x, 2.3, f"$s_{t}$", width=0.7, height=0.55, role="hidden")
        box(ax, x, 4.0, f"$o_{t}$", width=0.7, height=0.55, role="output")
        circle(ax, x, 5.1, f"$L_{t}$", radius=0.28)
        _edge_arrow(ax, (x, 0.6), (x, 2.3), "$U$", gap=(0.28, 0.28))
        _edge_arrow(ax, (x, 2.3), (x, 4.0), "$V$", gap=(0.28, 0.28))
        _edge_arrow(ax, (x, 4.0), (x, 5.1), gap=(0.28, 0.28))
        previous = 0.5 if t == 1 else xs[t - 2]
        _edge_arrow(ax, (previous, 2.5), (x, 2.5), "$W$", gap=(0.35, 0.35))
        # BPTT: the error of the output comes down through V^T, the future's back through W^T.
        _edge_arrow(ax, (x + 0.25, 4.8), (x + 0.25, 2.55), gap=(0.0, 0.0), color=red, dashed=True)
        note(ax, x + 0.62, 3.25, r"$V^\top\delta o_{%d}$" % t, color=red, fontsize=8)
        if window is not None and t > 1 and (t - 1) % window == 0:
            ax.plot([x - 1.1, x - 1.1], [1.2, 4.6], color="0.4", ls=":", lw=1.5, zorder=1)
            note(ax, x - 1.1, 1.05, "window boundary:\nstate carried,\ngradient stopped", fontsize=8)
        elif t > 1:
            _edge_arrow(ax, (x, 2.05), (previous, 2.05), gap=(0.35, 0.35), color=red, dashed=True)
            note(ax, (x + previous) / 2, 1.78, r"$W^\top \delta z_{%d}$" % t, color=red, fontsize=8)
    note(ax, width / 2, 0.05, r"forward: $s_t = \tanh(U x_t + W s_{t-1} + b)$, "
         r"$o_t = \mathrm{softmax}(V s_t + c)$;   backward (red): "
         r"$\partial L/\partial s_t = V^\top \delta o_t + W^\top \delta z_{t+1}$", fontsize=9)
    return fig


def draw_elman_jordan():
    """Elman's network feeds its hidden layer back as context; Jordan's feeds back its output,
    as a decaying trace c_t = mu c_{t-1} + y_t."""
    fig, ax = canvas(9.0, 4.6, title="Elman: the context is a copy of the hidden layer.   "
                     "Jordan: the context is a trace of the outputs")
    for left, name in [(0.0, "Elman (1990)"), (4.7, "Jordan (1986)")]:
        note(ax, left + 2.1, 4.25, name, fontsize=11, fontweight="bold")
        box(ax, left + 1.4, 0.5, "$x_t$", width=0.9, role="input")
        box(ax, left + 1.4, 2.0, "$s_t$" if left == 0 else "$h_t$", width=0.9, role="hidden")
        box(ax, left + 1.4, 3.5, "$o_t$" if left == 0 else "$y_t$", width=0.9, role="output")
        _edge_arrow(ax, (left + 1.4, 0.5), (left + 1.4, 2.0), "$U$", gap=(0.3, 0.3))
        _edge_arrow(ax, (left + 1.4, 2.0), (left + 1.4, 3.5), "$V$", gap=(0.3, 0.3))
    # Elman: context units hold s_{t-1}, copied from the hidden layer.
    box(ax, 3.2, 2.0, "context\n$s_{t-1}$", width=1.1, height=0.8, role="memory", fontsize=9)
    arrow(ax, (1.85, 2.15), (2.65, 2.35), curve=-0.5, dashed=True)
    note(ax, 2.25, 2.75, "copy\n(delay 1)", fontsize=8)
    _edge_arrow(ax, (2.65, 1.85), (1.85, 1.85), gap=(0.0, 0.0))
    note(ax, 2.25, 1.6, "$W$", fontsize=10)
    note(ax, 2.1, 0.0, r"$s_t = f(U x_t + W s_{t-1} + b)$,  $o_t = g(V s_t + c)$", fontsize=9)
    # Jordan: context units hold a decaying sum of the outputs.
    box(ax, 7.9, 2.0, "context\n$c_{t-1}$", width=1.1, height=0.8, role="memory", fontsize=9)
    arrow(ax, (6.55, 3.5), (7.9, 2.42), curve=-0.35, dashed=True)
    note(ax, 7.75, 3.45, r"$c_t = \mu\, c_{t-1} + y_t$", fontsize=8)
    _edge_arrow(ax, (7.35, 1.85), (6.55, 1.85), gap=(0.0, 0.0))
    note(ax, 6.95, 1.6, "$W_y$", fontsize=10)
    arrow(ax, (8.35, 1.6), (8.45, 2.4), curve=1.4)
    note(ax, 8.75, 1.95, r"$\mu$", fontsize=10)
    note(ax, 6.8, 0.0, r"$h_t = f(U x_t + W_y c_{t-1} + b)$,  $y_t = g(V h_t + d)$", fontsize=9)
    return fig


def _gate(ax, x, y, symbol, activation, weights, side=1):
    """A gate of an LSTM or GRU: a box with its activation, fed from the bus below by its
    weights, and named by its symbol above (on the right, or on the left with side=-1)."""
    box(ax, x, y, activation, width=0.6, height=0.45, role="gate")
    note(ax, x + 0.42 * side, y + 0.35, symbol, fontsize=10)
    _edge_arrow(ax, (x, 0.9), (x, y), gap=(0.0, 0.23))
    note(ax, x, (0.9 + y) / 2 - 0.1, weights, fontsize=7, bbox=dict(facecolor="white", edgecolor="none", pad=0.3))


def _gated_cell_frame(ax, bus_end, state, role, times_x, plus_x):
    """What the LSTM and GRU drawings share: x_t and h_{t-1} on a bus along the bottom (to
    `bus_end`), and the state path along the top, state_{t-1} -> x -> + -> state_t."""
    box(ax, 0.5, 0.9, "$h_{t-1}$", width=0.8, height=0.5, role="hidden")
    box(ax, 0.5, 0.15, "$x_t$", width=0.8, height=0.4, role="input")
    ax.plot([0.9, bus_end], [0.9, 0.9], color="0.2", lw=1.2, zorder=1)
    ax.plot([0.9, 1.3, 1.3], [0.15, 0.15, 0.9], color="0.2", lw=1.2, zorder=1)
    box(ax, 0.5, 4.3, f"${state}_{{t-1}}$", width=0.8, height=0.5, role=role)
    box(ax, 8.5, 4.3, f"${state}_t$", width=0.7, height=0.5, role=role)
    circle(ax, times_x, 4.3, r"$\times$", radius=0.22)
    circle(ax, plus_x, 4.3, "+", radius=0.22)
    _edge_arrow(ax, (0.5, 4.3), (times_x, 4.3), gap=(0.4, 0.22))
    _edge_arrow(ax, (times_x, 4.3), (plus_x, 4.3), gap=(0.22, 0.22))
    _edge_arrow(ax, (plus_x, 4.3), (8.5, 4.3), gap=(0.22, 0.35))


def draw_lstm_cell():
    """One LSTM step: forget, input and output gates and the candidate read [x_t, h_{t-1}]; the
    cell state c runs along the top, scaled by f_t and added to by i_t * c~_t."""
    fig, ax = canvas(9.0, 5.2, title="LSTM cell: the gates f, i, o scale what is kept, written "
                     "and read; the cell state c runs along the top")
    # Inputs on a bus that feeds every gate; the cell state path along the top.
    _gated_cell_frame(ax, bus_end=6.3, state="c", role="memory", times_x=2.0, plus_x=4.2)
    _gate(ax, 2.0, 2.3, "$f_t$", r"$\sigma$", "$W_f, U_f$")
    _edge_arrow(ax, (2.0, 2.3), (2.0, 4.3), gap=(0.23, 0.22))
    _gate(ax, 3.3, 2.3, "$i_t$", r"$\sigma$", "$W_i, U_i$")
    _gate(ax, 4.6, 2.3, r"$\tilde c_t$", "tanh", "$W_c, U_c$")
    circle(ax, 4.2, 3.35, r"$\times$", radius=0.22)
    _edge_arrow(ax, (3.3, 2.3), (4.2, 3.35), gap=(0.3, 0.22))
    _edge_arrow(ax, (4.6, 2.3), (4.2, 3.35), gap=(0.3, 0.22))
    _edge_arrow(ax, (4.2, 3.35), (4.2, 4.3), gap=(0.22, 0.22))
    _gate(ax, 6.0, 2.3, "$o_t$", r"$\sigma$", "$W_o, U_o$")
    # Reading the memory: h_t = o_t * tanh(c_t).
    box(ax, 7.0, 3.35, "tanh", width=0.6, height=0.4, role="plain", fontsize=9)
    _edge_arrow(ax, (7.0, 4.3), (7.0, 3.35), gap=(0.0, 0.2))
    circle(ax, 7.0, 2.3, r"$\times$", radius=0.22)
    _edge_arrow(ax, (7.0, 3.35), (7.0, 2.3), gap=(0.2, 0.22))
    _edge_arrow(ax, (6.0, 2.3), (7.0, 2.3), gap=(0.3, 0.22))
    box(ax, 8.5, 2.3, "$h_t$", width=0.7, height=0.5, role="hidden")
    _edge_arrow(ax, (7.0, 2.3), (8.5, 2.3), gap=(0.22, 0.35))
    note(ax, 4.5, 4.85, r"$c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t$", fontsize=10)
    note(ax, 7.75, 1.55, r"$h_t = o_t \odot \tanh(c_t)$", fontsize=10)
    note(ax, 4.6, 0.3, r"each gate: $\sigma(x_t W_\bullet + h_{t-1} U_\bullet + b_\bullet)$ "
         r"($\tanh$ for $\tilde c_t$)", fontsize=9)
    return fig


def draw_gru_cell():
    """One GRU step: the update gate z_t mixes the old state with a candidate, and the reset gate
    r_t decides how much of the old state the candidate sees (Keras's convention)."""
    fig, ax = canvas(9.0, 5.2, title="GRU cell: the update gate z keeps the old state or takes "
                     "the candidate; the reset gate r hides the old state from it")
    # The state path along the top: h_t = z * h_{t-1} + (1 - z) * h~.
    _gated_cell_frame(ax, bus_end=4.3, state="h", role="hidden", times_x=2.2, plus_x=6.6)
    _gate(ax, 2.2, 2.3, "$z_t$", r"$\sigma$", "$W_z, U_z$", side=-1)
    _edge_arrow(ax, (2.2, 2.3), (2.2, 4.3), gap=(0.23, 0.22))
    box(ax, 3.3, 3.3, "$1 - z_t$", width=0.8, height=0.4, role="plain", fontsize=9)
    _edge_arrow(ax, (2.2, 2.3), (3.3, 3.3), gap=(0.35, 0.2))
    circle(ax, 6.6, 3.3, r"$\times$", radius=0.22)
    _edge_arrow(ax, (3.3, 3.3), (6.6, 3.3), gap=(0.4, 0.22))
    _edge_arrow(ax, (6.6, 3.3), (6.6, 4.3), gap=(0.22, 0.22))
    # The candidate sees r_t * (h_{t-1} U_h).
    _gate(ax, 3.9, 1.7, "$r_t$", r"$\sigma$", "$W_r, U_r$")
    box(ax, 5.1, 1.5, r"$h_{t-1} U_h$", width=0.95, height=0.4, role="plain", fontsize=9)
    _edge_arrow(ax, (5.1, 0.9), (5.1, 1.5), gap=(0.0, 0.2))
    circle(ax, 5.1, 2.5, r"$\times$", radius=0.22)
    _edge_arrow(ax, (3.9, 1.7), (5.1, 2.5), gap=(0.3, 0.22))
    _edge_arrow(ax, (5.1, 1.5), (5.1, 2.5), gap=(0.2, 0.22))
    box(ax, 6.6, 2.3, r"tanh", width=0.6, height=0.45, role="gate")
    note(ax, 7.05, 2.65, r"$\tilde h_t$", fontsize=10)
    _edge_arrow(ax, (5.1, 2.5), (6.6, 2.35), gap=(0.22, 0.3))
    ax.plot([4.3, 6.6], [0.9, 0.9], color="0.2", lw=1.2, zorder=1)
    _edge_arrow(ax, (6.6, 0.9), (6.6, 2.3), gap=(0.0, 0.23))
    note(ax, 6.6, 1.45, "$W_h$", fontsize=7, bbox=dict(facecolor="white", edgecolor="none", pad=0.3))
    _edge_arrow(ax, (6.6, 2.3), (6.6, 3.3), gap=(0.23, 0.22))
    note(ax, 4.4, 4.85, r"$h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t$", fontsize=10)
    note(ax, 4.6, 0.3, r"$\tilde h_t = \tanh(x_t W_h + r_t \odot (h_{t-1} U_h) + b_h)$;  "
         r"each gate: $\sigma(x_t W_\bullet + h_{t-1} U_\bullet + b_\bullet)$", fontsize=9)
    return fig


def draw_bidirectional_rnn(steps=4):
    """A bidirectional RNN: one RNN reads left to right, another right to left, and the output
    at step t sees both states."""
    width = 2.0 * steps + 1.6
    fig, ax = canvas(width, 5.0, title="Bidirectional RNN: the output at step t sees the past "
                     r"($\overrightarrow{h}_t$) and the future ($\overleftarrow{h}_t$)")
    xs = [1.5 + 2.0 * t for t in range(steps)]
    for t, x in enumerate(xs, start=1):
        box(ax, x, 0.5, f"$x_{t}$", width=0.7, height=0.5, role="input")
        box(ax, x - 0.4, 1.9, r"$\overrightarrow{h}_%d$" % t, width=0.7, height=0.5, role="hidden")
        box(ax, x + 0.4, 2.9, r"$\overleftarrow{h}_%d$" % t, width=0.7, height=0.5, role="memory")
        box(ax, x, 4.2, f"$y_{t}$", width=0.7, height=0.5, role="output")
        _edge_arrow(ax, (x, 0.5), (x - 0.4, 1.9), gap=(0.25, 0.27))
        _edge_arrow(ax, (x, 0.5), (x + 0.4, 2.9), gap=(0.25, 0.27))
        _edge_arrow(ax, (x - 0.4, 1.9), (x, 4.2), gap=(0.27, 0.27))
        _edge_arrow(ax, (x + 0.4, 2.9), (x, 4.2), gap=(0.27, 0.27))
        if t < steps:
            _edge_arrow(ax, (x - 0.4, 1.9), (xs[t] - 0.4, 1.9), gap=(0.37, 0.37))
            _edge_arrow(ax, (xs[t] + 0.4, 2.9), (x + 0.4, 2.9), gap=(0.37, 0.37))
    note(ax, 0.45, 1.9, "forward\nRNN", fontsize=8)
    note(ax, width - 0.4, 2.9, "backward\nRNN", fontsize=8)
    note(ax, width / 2, 4.75, r"$y_t = g(V\,[\overrightarrow{h}_t ; \overleftarrow{h}_t] + c)$",
         fontsize=10)
    return fig



# Notebooks 04-06 and 08: sampling, bidirectional classifier, encoder-decoder with attention.
def draw_sampling_decoders(temperatures=(0.5, 1.0, 2.0)):
    """Decoding a character model: the softmax at several temperatures (left), and greedy
    decoding against a beam of 2 on a small tree of log-probabilities (right)."""
    import numpy as np
    fig, (ax_p, ax_t) = plt.subplots(1, 2, figsize=(11.5, 4.2), gridspec_kw={"width_ratios": [1, 1.25]})
    chars = ["e", "a", "o", "t", "i", "s", "r"]
    z = np.array([2.0, 1.3, 0.9, 0.5, 0.2, -0.4, -1.0])
    width = 0.8 / len(temperatures)
    for k, tau in enumerate(temperatures):
        p = np.exp(z / tau) / np.exp(z / tau).sum()
        ax_p.bar(np.arange(len(z)) + (k - (len(temperatures) - 1) / 2) * width, p, width,
                 label=f"$\\tau$ = {tau:g}")
    p1 = np.exp(z) / np.exp(z).sum()
    nucleus = int(np.searchsorted(np.cumsum(p1), 0.9)) + 1
    ax_p.axvline(2.5, color="0.3", ls=":", lw=1)
    ax_p.text(2.45, 0.62, "top-k, k = 3 |", ha="right", fontsize=8)
    ax_p.axvline(nucleus - 0.5, color="0.3", ls="--", lw=1)
    ax_p.text(nucleus - 0.45, 0.36, f"nucleus,\np = 0.9\n({nucleus} chars\nat $\\tau$ = 1)", ha="left", fontsize=8)
    ax_p.set_xticks(range(len(z)), chars)
    ax_p.set(xlabel="next character w (logits $z_w$ fixed)", ylabel="$p_\\tau(w)$", ylim=(0, 0.7),
             title="softmax($z/\\tau$): low $\\tau$ sharpens, high $\\tau$ flattens")
    ax_p.legend(fontsize=8, loc="upper right")

    ax_t.set_xlim(0, 7.2)
    ax_t.set_ylim(0, 5)
    ax_t.axis("off")
    ax_t.set_title("Greedy (red path) takes the best character now; a beam of 2 (blue)\n"
                   "keeps two prefixes and finds the more probable text", fontsize=10)
    box(ax_t, 0.7, 2.6, "prompt", width=1.1, role="input")
    first = {"t": (2.9, 4.1, -0.7, "hidden"), "a": (2.9, 2.6, -0.9, "hidden"), "w": (2.9, 1.0, -2.3, "plain")}
    for ch, (x, y, lp, role) in first.items():
        box(ax_t, x, y, f"'{ch}'  {lp:.1f}", width=1.3, role=role)
        arrow(ax_t, (1.25, 2.6), (x - 0.65, y), text=f"{lp:.1f}",
              color={"t": "tab:red", "a": "tab:blue"}.get(ch, "0.6"))
    second = [("t", "h", 4.6, -1.6, "output"), ("t", "o", 3.7, -1.9, "plain"),
              ("a", "n", 2.6, -0.2, "hidden"), ("a", "s", 1.7, -2.0, "plain")]
    for parent, ch, y, lp, role in second:
        px, py = first[parent][:2]
        total = first[parent][2] + lp
        box(ax_t, 5.6, y, f"'{parent}{ch}'  {total:.1f}", width=1.5, role=role)
        color = "tab:red" if parent + ch == "th" else ("tab:blue" if parent + ch == "an" else "0.6")
        arrow(ax_t, (px + 0.65, py), (4.85, y), text=f"{lp:.1f}", color=color)
    note(ax_t, 5.6, 0.75, "scores: $\\sum_t \\log p(x_t \\mid x_{<t})$\ngreedy ends at -2.3, the beam at -1.1",
         fontsize=8)
    note(ax_t, 2.9, 0.3, "pruned: outside the beam", fontsize=8, color="0.4")
    fig.tight_layout()
    return fig


def draw_sequence_classifier(letters=("c", "a", "s", "a"), padding=2):
    """A bidirectional GRU classifier of a padded sequence: the mask m_t = 0 at the padding keeps
    each direction's state unchanged, so the classifier reads exactly the real letters."""
    n = len(letters) + padding
    fig, ax = canvas(n * 1.5 + 3.6, 6.2, title="Bidirectional GRU with a mask: padded steps (grey, $m_t = 0$)\n"
                     "carry the state through unchanged; the classifier reads $[\\overrightarrow{h}_n ; \\overleftarrow{h}_1]$")
    tokens = list(letters) + ["<pad>"] * padding
    xs = [1.2 + 1.5 * t for t in range(n)]
    for t, (x, tok) in enumerate(zip(xs, tokens)):
        real = t < len(letters)
        box(ax, x, 0.6, f"{tok}\n$m_{{{t + 1}}}$={int(real)}", width=1.1, height=0.8,
            role="input" if real else "plain", fontsize=9)
        box(ax, x, 1.9, f"$E x_{{{t + 1}}}$", width=1.0, role="input" if real else "plain")
        arrow(ax, (x, 1.0), (x, 1.6))
        box(ax, x, 3.1, f"$\\overrightarrow{{h}}_{{{t + 1}}}$", width=1.0, role="hidden" if real else "plain")
        box(ax, x, 4.3, f"$\\overleftarrow{{h}}_{{{t + 1}}}$", width=1.0, role="hidden" if real else "plain")
        arrow(ax, (x, 2.2), (x, 2.8))
        arrow(ax, (x - 0.3, 2.2), (x - 0.3, 4.0), curve=-0.15, color="0.5")
        if t + 1 < n:
            arrow(ax, (x + 0.5, 3.1), (x + 1.0, 3.1), color="0.2" if t + 1 < len(letters) else "0.6",
                  dashed=t + 1 >= len(letters))
            arrow(ax, (x + 1.0, 4.3), (x + 0.5, 4.3), color="0.2" if t + 1 < len(letters) else "0.6",
                  dashed=t + 1 >= len(letters))
    note(ax, (xs[len(letters)] + xs[-1]) / 2, 5.0, "masked: the state passes unchanged\n"
         "(dashed), in both directions", fontsize=8, color="0.35")
    x_out = xs[-1] + 2.4
    box(ax, x_out, 3.7, "$[\\overrightarrow{h}_n ; \\overleftarrow{h}_1]$", width=1.5, role="hidden")
    arrow(ax, (xs[-1] + 0.5, 3.1), (x_out - 0.75, 3.6),
          text=f"$\\overrightarrow{{h}}_{{{n}}} = \\overrightarrow{{h}}_{{{len(letters)}}}$")
    arrow(ax, (xs[0], 4.6), (x_out - 0.5, 4.0), curve=-0.25)
    box(ax, x_out, 5.4, "softmax$(V\\,\\cdot + c)$\n$p(y \\mid x)$", width=1.8, height=0.8, role="output")
    arrow(ax, (x_out, 4.0), (x_out, 5.0), text="V")
    return fig


def draw_attention_encoder_decoder(source=("forty", "-", "two"), query="h_t"):
    """An encoder-decoder with (Luong) attention: at decoder step t the scores of h_t against every
    encoder state h_s give weights alpha_ts, whose weighted sum is the context c_t."""
    S = len(source)
    fig, ax = canvas(9.5, 7.0, title="Encoder-decoder with attention: the weights $\\alpha_{ts}$ over the encoder "
                     "states\nmake the context $c_t$ for decoder step $t$")
    xs = [1.0 + 1.6 * s for s in range(S)]
    for s, (x, tok) in enumerate(zip(xs, source)):
        box(ax, x, 0.5, tok, width=1.1, role="input")
        box(ax, x, 1.7, f"$h_{s + 1}$", width=1.0, role="hidden")
        arrow(ax, (x, 0.8), (x, 1.4))
        if s + 1 < S:
            arrow(ax, (x + 0.5, 1.8), (x + 1.1, 1.8))
            arrow(ax, (x + 1.1, 1.6), (x + 0.5, 1.6))
        circle(ax, x, 3.2, f"$\\alpha_{{t{s + 1}}}$", radius=0.33, role="gate")
        arrow(ax, (x, 2.0), (x, 2.87), text="$W_a$")
    note(ax, xs[S // 2], 1.1, "bidirectional GRU encoder: $h_s = [\\overrightarrow{h}_s ; \\overleftarrow{h}_s]$",
         fontsize=8)
    xd = xs[-1] + 3.0
    box(ax, xd, 1.7, "$h_t$ (GRU)", width=1.3, role="hidden")
    box(ax, xd, 0.5, "$[E y_{t-1} ; \\tilde h_{t-1}]$", width=1.8, role="input")
    arrow(ax, (xd, 0.8), (xd, 1.4))
    arrow(ax, (xd - 0.65, 1.9), (xs[-1] + 0.35, 3.2), curve=0.2,
          text="score $h_t^\\top W_a h_s$", color="tab:blue")
    circle(ax, xs[S // 2], 4.7, "$\\Sigma$", radius=0.33, role="memory")
    for x in xs:
        arrow(ax, (x, 3.53), (xs[S // 2], 4.37))
    note(ax, xs[S // 2] - 1.2, 4.7, "$c_t = \\sum_s \\alpha_{ts} h_s$", fontsize=9)
    box(ax, xd, 4.7, "$\\tilde h_t = \\tanh(W_c [c_t ; h_t])$", width=2.6, role="hidden")
    arrow(ax, (xs[S // 2] + 0.33, 4.7), (xd - 1.3, 4.7), text="$c_t$")
    arrow(ax, (xd, 2.0), (xd, 4.4), text="$h_t$")
    box(ax, xd, 6.1, "softmax$(W_s \\tilde h_t)$: $y_t$", width=2.4, role="output")
    arrow(ax, (xd, 5.0), (xd, 5.8))
    note(ax, xs[S // 2], 6.1, "$\\alpha_{ts} = \\mathrm{softmax}_s(h_t^\\top W_a h_s)$", fontsize=10)
    return fig


def draw_show_attend_tell(grid=3):
    """Show, Attend and Tell: a CNN turns the image into a grid of annotation vectors a_i; at each
    step the decoder scores them from h_{t-1}, takes their weighted mean z_t and feeds it to a GRU."""
    fig, ax = canvas(11.2, 6.4, title="Show, Attend and Tell: the CNN's grid of annotations $a_i$, additive "
                     "attention\nfrom $h_{t-1}$, the context $z_t$, and a GRU that writes $y_t$")
    box(ax, 1.0, 3.0, "image\n36×36", width=1.3, height=1.3, role="input")
    box(ax, 2.8, 3.0, "CNN\n+ (row, col)", width=1.4, height=1.0, role="plain")
    arrow(ax, (1.65, 3.0), (2.1, 3.0))
    weights = [[0.02, 0.05, 0.02], [0.05, 0.7, 0.06], [0.02, 0.06, 0.02]]
    x0, y0, size = 4.3, 2.1, 0.6
    for r in range(grid):
        for c in range(grid):
            role = "gate" if weights[r % 3][c % 3] > 0.5 else "hidden"
            box(ax, x0 + c * size, y0 + (grid - 1 - r) * size, f"$a_{{{r * grid + c + 1}}}$", width=size * 0.9,
                height=size * 0.9, role=role, fontsize=8)
    arrow(ax, (3.5, 3.0), (x0 - 0.3, 3.0))
    note(ax, x0 + size, y0 - 0.65, "$L$ locations (9×9 in the notebook)", fontsize=8)
    xa = 8.1
    box(ax, xa, 3.0, "$e_{ti} = v^\\top \\tanh(W_h h_{t-1} + W_a a_i)$\n"
        "$\\alpha_{ti} = \\mathrm{softmax}_i(e_{ti})$", width=3.3, height=1.0, role="gate", fontsize=9)
    arrow(ax, (x0 + 2.5 * size, 3.0), (xa - 1.65, 3.0), text="$a_i$")
    circle(ax, xa, 4.5, "$z_t$", radius=0.35, role="memory")
    arrow(ax, (xa, 3.5), (xa, 4.15), text="$\\sum_i \\alpha_{ti} a_i$")
    box(ax, xa - 2.3, 4.5, "$h_{t-1}$", width=1.0, role="hidden")
    arrow(ax, (xa - 2.3, 4.2), (xa - 1.0, 3.5), text="query", color="tab:blue")
    box(ax, xa - 2.3, 5.8, "$E y_{t-1}$", width=1.1, role="input")
    box(ax, xa + 0.3, 5.8, "GRU: $h_t$", width=1.4, role="hidden")
    arrow(ax, (xa - 1.75, 5.8), (xa - 0.4, 5.8))
    arrow(ax, (xa, 4.85), (xa + 0.1, 5.5), text="$z_t$")
    arrow(ax, (xa - 1.8, 4.55), (xa - 0.3, 5.55), curve=-0.2)
    box(ax, 10.4, 4.5, "softmax\n$W_o[h_t ; z_t]$\n$y_t$", width=1.3, height=1.0, role="output", fontsize=9)
    arrow(ax, (xa + 1.0, 5.8), (10.4, 5.0))
    arrow(ax, (xa + 0.35, 4.5), (9.75, 4.5))
    box(ax, 2.8, 1.0, "$h_0 = \\tanh(W_{\\mathrm{init}}\\,\\mathrm{mean}_i\\, a_i)$", width=3.2, role="hidden", fontsize=9)
    arrow(ax, (2.8, 2.5), (2.8, 1.3))
    return fig


# Notebooks 07 and 11: CTC alignment lattice, echo state network reservoir.


def draw_ctc_lattice(labels=(4, 1, 1), frames=8):
    """The CTC lattice of Graves et al. (2006): the extended label sequence l' (the labels with
    blanks interleaved, one row each) against the frames t (columns), every allowed transition
    of the forward recursion (grey) and one path through it (dark) that collapses to `labels`."""
    extended = ["-"]
    for label in labels:
        extended += [str(label), "-"]
    rows = len(extended)
    if frames < len(labels) + sum(a == b for a, b in zip(labels, labels[1:])):
        raise ValueError(f"`frames` ({frames}) is too few for the labels {labels}")
    x0, y_top = 1.6, rows + 1.5
    fig, ax = canvas(x0 + frames + 0.6, rows + 2.6, scale=0.8,
                     title=f"CTC lattice for l = {' '.join(map(str, labels))}: stay, step down one, "
                           f"or skip a blank between two different labels")

    def at(t, s):  # frame t (1-based), row s (1-based, s = 1 at the top)
        return x0 + t - 0.5, y_top - s

    def allowed(s):  # the rows s - 1 and s - 2 a path may come from
        skip = s >= 3 and extended[s - 1] != "-" and extended[s - 1] != extended[s - 3]
        return [s - 1] + ([s - 2] if skip else [])

    reachable = {(1, 1), (1, 2)}
    for t in range(2, frames + 1):
        for s in range(1, rows + 1):
            sources = [r for r in [s] + allowed(s) if (t - 1, r) in reachable]
            if sources and rows - s <= 2 * (frames - t) + 1:  # can still reach the end in time
                reachable.add((t, s))
                for r in sources:
                    arrow(ax, at(t - 1, r), at(t, s), color="0.75", shrink=8)
    path = _ctc_path(extended, frames)
    for t in range(2, frames + 1):
        arrow(ax, at(t - 1, path[t - 2]), at(t, path[t - 1]), color="0.1", shrink=8)
    for (t, s) in reachable:
        on_path = path[t - 1] == s
        role = "output" if on_path else "plain" if extended[s - 1] == "-" else "hidden"
        circle(ax, *at(t, s), "", radius=0.16, role=role)
    for s, symbol in enumerate(extended, start=1):
        note(ax, 0.9, y_top - s, f"l'$_{{{s}}}$ = {symbol}", fontsize=9)
    for t in range(1, frames + 1):
        note(ax, x0 + t - 0.5, y_top - rows - 0.45, f"t={t}", fontsize=9)
    emitted = "".join(extended[s - 1] for s in path)
    note(ax, (x0 + frames) / 2 + 0.3, 0.25,
         rf"dark path $\pi$ = {' '.join(emitted)}   $\to$   $\mathcal{{B}}(\pi)$ = "
         f"{' '.join(map(str, labels))}  (merge repeats, then drop blanks)", fontsize=9)
    note(ax, (x0 + frames) / 2 + 0.3, rows + 2.1,
         r"$\alpha_t(s) = \left(\alpha_{t-1}(s) + \alpha_{t-1}(s-1) "
         r"[+\,\alpha_{t-1}(s-2)]\right)\, y^t_{l'_s}$   (blue: label rows, grey: blanks, "
         "orange: one path)", fontsize=9)
    return fig


def _ctc_path(extended, frames):
    """One path through the CTC lattice that spells the labels: blank, each label, blank..."""
    rows, path = len(extended), [1]
    targets = [s for s in range(2, rows + 1)]  # visit every row once, then repeat the last
    for s in targets:
        if len(path) < frames:
            path.append(s)
    while len(path) < frames:
        path.insert(1, 1)  # wait in the first blank
    return path[:frames]


def draw_echo_state_network(units=9, spectral_radius=0.9):
    """An echo state network: the input u(n) enters a fixed, sparse, random reservoir through
    W_in; W (fixed, rescaled to spectral radius rho) connects the reservoir; only the linear
    readout W_out is trained; in generative mode the output is fed back as the next input."""
    import numpy as np

    fig, ax = canvas(10.5, 6.2, title="Echo state network: random fixed reservoir, trained linear "
                                      "readout (bold), output fed back when it runs free")
    rng = np.random.default_rng(3)
    centre, radius = np.array([5.0, 2.9]), 1.55
    angles = np.linspace(0, 2 * np.pi, units, endpoint=False) + 0.3
    spots = centre + np.stack([np.cos(angles), np.sin(angles)], 1) * radius * rng.uniform(0.45, 0.9, units)[:, None]
    ax.add_patch(plt.Circle(centre, radius + 0.35, facecolor="#f4f8fc", edgecolor="0.5", ls="--", zorder=0))
    for i, j in rng.choice(units * units, size=int(1.6 * units), replace=False).reshape(-1, 1) // [units, 1] % units:
        if i != j:
            arrow(ax, spots[i], spots[j], color="0.6", shrink=7)
    for x, y in spots:
        circle(ax, x, y, "", radius=0.2, role="hidden")
    note(ax, centre[0], centre[1] + radius + 0.6,
         rf"reservoir h(n): $W$ fixed, sparse, spectral radius $\rho(W)$ = {spectral_radius}", fontsize=9)
    box(ax, 1.0, 2.9, "u(n)", width=1.0, role="input")
    box(ax, 9.4, 2.9, "y(n)", width=1.0, role="output")
    for k in (0, 2, 5):
        arrow(ax, (1.5, 2.9), spots[k], color="0.35", shrink=6)
    note(ax, 2.35, 3.55, r"$W_{in}$ (fixed)", fontsize=9)
    for k in (1, 4, 7):
        arrow(ax, spots[k], (8.9, 2.9), color="C1", shrink=6)
    note(ax, 7.9, 3.8, r"$W_{out}$ (trained)", fontsize=9, color="C1", fontweight="bold", zorder=3)
    arrow(ax, (9.4, 2.55), (1.0, 2.55), curve=-0.45, dashed=True, color="C3", shrink=2)
    note(ax, 5.2, 0.25, "generative mode: the output is the next input, u(n+1) = y(n)", fontsize=9, color="C3")
    note(ax, 5.2, 5.85, r"$h(n) = (1-a)\,h(n-1) + a\,\tanh(u(n) W_{in} + h(n-1) W + b)$,   "
                        r"$y(n) = h(n) W_{out} + b_{out}$", fontsize=9)
    return fig


# Notebooks 09, 10, 12 and 13: forecasting windows, control loop, CTRNN/MTRNN, clockwork, Hopfield.


def draw_forecast_windows(lookback=4, horizon=3):
    """Notebook 09: a one-step window, and the two ways of forecasting H steps ahead."""
    width = lookback + horizon + 4.2
    fig, ax = canvas(width, 5.6, title="A window of L past values predicts what follows: recursive "
                     "feeds its forecasts back,\ndirect predicts all H steps at once", scale=1.2)
    x0 = 2.0

    def row(y, label, n_future):
        note(ax, 0.75, y, label, fontsize=10)
        for k in range(lookback):
            box(ax, x0 + k, y, f"$z_{{t-{lookback - k}}}$", width=0.9, height=0.55, role="input")
        for k in range(n_future):
            label = "$\\hat z_{t}$" if k == 0 else f"$\\hat z_{{t+{k}}}$"
            box(ax, x0 + lookback + k + 0.2, y, label, width=0.9, height=0.55, role="output")

    row(4.6, "one step", 1)
    note(ax, x0 + (lookback - 1) / 2, 5.15, f"window of L = {lookback} values (the lookback)",
         fontsize=9)
    row(3.0, "recursive", horizon)
    for k in range(horizon - 1):
        arrow(ax, (x0 + lookback + k + 0.2, 2.7), (x0 + lookback + k + 1.2, 2.7), curve=0.6,
              color="tab:red")
    note(ax, x0 + lookback + horizon + 0.9, 3.0,
         "one-step model,\nforecast fed back:\nerrors compound", fontsize=9, color="tab:red")
    row(1.4, "direct", horizon)
    box(ax, x0 + lookback / 2 - 0.5, 0.4, "GRU, then Dense(H)", width=2.6, height=0.5,
        role="hidden", fontsize=9)
    arrow(ax, (x0 + lookback / 2 - 0.5, 1.1), (x0 + lookback / 2 - 0.5, 0.65))
    for k in range(horizon):
        arrow(ax, (x0 + lookback / 2 + 0.8, 0.4), (x0 + lookback + k + 0.2, 1.1), color="0.45")
    note(ax, x0 + lookback + horizon + 0.9, 1.4, "H outputs at once:\nno feedback", fontsize=9)
    return fig


def draw_control_loop():
    """Notebook 10: the recurrent policy in closed loop with the plant, and the DAgger expert."""
    fig, ax = canvas(10, 5.4, title="Closed loop: the GRU policy sees positions only; the LQR "
                     "expert reads the true state and labels every step (DAgger)")
    box(ax, 2.0, 3.4, "policy $\\pi$: GRU\n$h_t = \\mathrm{GRU}(o_t, h_{t-1})$", width=2.4,
        height=1.0, role="hidden")
    circle(ax, 4.6, 3.4, "+", radius=0.3)
    box(ax, 7.6, 3.4, "plant (MuJoCo)\n$s_{t+1} = f(s_t, u_t)$", width=2.6, height=1.0)
    box(ax, 7.6, 1.0, "expert (LQR)\n$u^*_t = -K s_t$", width=2.6, height=0.9, role="gate")
    box(ax, 2.0, 1.0, "loss\n$(u_t - u^*_t)^2$", width=2.4, height=0.9, role="output")
    arrow(ax, (3.2, 3.4), (4.3, 3.4), text="$u_t$")
    note(ax, 4.6, 2.5, "motor noise\n$\\sigma = 0.5$", fontsize=8)
    arrow(ax, (4.6, 2.8), (4.6, 3.1))
    arrow(ax, (4.9, 3.4), (6.3, 3.4))
    arrow(ax, (7.6, 3.9), (2.0, 3.9), curve=0.35)
    note(ax, 4.8, 5.0, "$o_{t+1} = (x, \\theta)$: positions only", fontsize=9)
    arrow(ax, (7.6, 2.9), (7.6, 1.45),
          text="true state $s_t = (x, \\theta, \\dot x, \\dot\\theta)$")
    arrow(ax, (6.3, 1.0), (3.2, 1.0), text="label $u^*_t$", dashed=True)
    arrow(ax, (2.0, 1.45), (2.0, 2.9), text="gradient", dashed=True)
    return fig


def draw_multiple_timescales(fast=4, slow=2):
    """Notebook 12: a CTRNN/MTRNN with fast units (small tau) and slow units (large tau)."""
    fig, ax = canvas(10, 5.6, title="MTRNN: the input reaches only the fast units ($\\tau_f = 5$), "
                     "the slow units ($\\tau_s = 70$) talk to them")
    box(ax, 0.9, 2.6, "input\n$x_t$", width=1.2, height=0.8, role="input")
    box(ax, 9.1, 2.6, "output\n$y_t$", width=1.2, height=0.8, role="output")
    fx = [3.4 + 1.0 * i for i in range(fast)]
    sx = [4.4 + 1.0 * i for i in range(slow)]
    box(ax, (fx[0] + fx[-1]) / 2, 2.6, "", width=fast + 0.3, height=1.1, role="plain")
    box(ax, (sx[0] + sx[-1]) / 2, 4.6, "", width=slow + 0.3, height=1.1, role="plain")
    for x in fx:
        circle(ax, x, 2.6, "$u^f$", radius=0.32, role="hidden", fontsize=8)
    for x in sx:
        circle(ax, x, 4.6, "$u^s$", radius=0.32, role="memory", fontsize=8)
    note(ax, (fx[0] + fx[-1]) / 2, 1.75, f"fast context units: $\\tau_f = 5$", fontsize=9)
    note(ax, sx[-1] + 2.2, 4.6, "slow context units:\n$\\tau_s = 70$", fontsize=9)
    arrow(ax, (1.5, 2.6), (fx[0] - 0.5, 2.6), text="$W_{in}$")
    arrow(ax, (fx[-1] + 0.5, 2.6), (8.5, 2.6), text="$W_{out}$")
    arrow(ax, (sx[0] - 0.2, 4.05), (fx[1], 3.15), text="$W_{sf}$")
    arrow(ax, (fx[-2], 3.15), (sx[-1] + 0.2, 4.05), text="$W_{fs}$")
    arrow(ax, (sx[0] - 1.4, 5.3), (sx[0] - 0.6, 4.85), text="")
    note(ax, sx[0] - 2.2, 5.35, "learnt initial state\n$u^s_0$ picks the sequence", fontsize=8)
    note(ax, 5.0, 0.6, "each unit leaks: $u_{i,t} = (1 - 1/\\tau_i)\\, u_{i,t-1} + "
         "(1/\\tau_i) \\sum_j w_{ij} c_{j,t-1}$", fontsize=9)
    return fig


def draw_clockwork(periods=(1, 2, 4, 8)):
    """Notebook 12: clockwork modules, their periods, and the block-triangular recurrent mask."""
    n = len(periods)
    title = ("Clockwork RNN: module $i$ updates when $t \\ \\mathrm{mod}\\ T_i = 0$ and receives "
             "only from itself and slower modules")
    fig, ax = canvas(11.2, 4.8, title=title)
    ys = 1.0
    xs = [1.0 + 1.6 * i for i in range(n)]
    for i, (x, p) in enumerate(zip(xs, periods)):
        box(ax, x, ys + 1.6, f"module {i + 1}\n$T_{i + 1} = {p}$", width=1.3, height=0.8,
            role="hidden", fontsize=8)
        arrow(ax, (x - 0.3, ys + 2.0), (x + 0.3, ys + 2.0), curve=-2.2)
        ticks = " ".join("|" if t % p == 0 else "." for t in range(8))
        note(ax, x, ys + 0.6, ticks, fontsize=8, family="monospace")
    note(ax, xs[0] - 0.2, ys + 0.15, "ticks at t = 0..7", fontsize=8)
    for i in range(1, n):
        arrow(ax, (xs[i] - 0.65, ys + 1.45), (xs[i - 1] + 0.65, ys + 1.45), curve=0.0)
    note(ax, (xs[0] + xs[-1]) / 2, ys + 2.9, "arrows: slow to fast only, and each module to itself",
         fontsize=8)
    # The block mask of W_H, rows = from, columns = to, as in h_{t-1} W_H.
    cell, gx, gy = 0.7, 8.1, 1.0
    for r in range(n):
        for c in range(n):
            role = "hidden" if periods[r] >= periods[c] else "plain"
            box(ax, gx + c * cell, gy + (n - 1 - r) * cell, "$W$" if role == "hidden" else "0",
                width=cell * 0.95, height=cell * 0.95, role=role, fontsize=8)
    note(ax, gx + (n - 1) * cell / 2, gy + n * cell + 0.1, "$W_H$ block mask", fontsize=9)
    note(ax, gx + (n - 1) * cell / 2, gy - 0.65, "column: to module $1..4$", fontsize=8)
    note(ax, gx - 0.85, gy + (n - 1) * cell / 2, "row:\nfrom\nmodule\n$1..4$", fontsize=8)
    return fig


def draw_hopfield(units=6):
    """Notebook 13: a Hopfield network, every unit connected to every other by symmetric weights."""
    import math
    fig, ax = canvas(9, 6, title="Hopfield network: $\\pm 1$ units, symmetric weights "
                     "$w_{ij} = w_{ji}$, no self-connections; recall descends the energy")
    cx, cy, r = 3.0, 3.0, 2.0
    points = [(cx + r * math.cos(2 * math.pi * k / units + math.pi / 2),
               cy + r * math.sin(2 * math.pi * k / units + math.pi / 2)) for k in range(units)]
    for i in range(units):
        for j in range(i + 1, units):
            ax.plot(*zip(points[i], points[j]), color="0.6", lw=1.0, zorder=1)
    for k, (x, y) in enumerate(points):
        circle(ax, x, y, f"$s_{k + 1}$", radius=0.33, role="hidden")
    (x1, y1), (x2, y2) = points[0], points[1]
    note(ax, (x1 + x2) / 2 - 0.35, (y1 + y2) / 2 + 0.3, "$w_{12} = w_{21}$", fontsize=9,
         bbox=dict(facecolor="white", edgecolor="none", pad=0.5))
    box(ax, 7.0, 4.4, "$w_{ij} = \\frac{1}{N} \\sum_\\mu \\xi^\\mu_i \\xi^\\mu_j$\n(Hebb)",
        width=3.2, height=1.0, role="memory")
    box(ax, 7.0, 2.9, "$s_i \\leftarrow \\mathrm{sign}(\\sum_j w_{ij} s_j)$\none unit at a time",
        width=3.2, height=1.0, role="gate")
    box(ax, 7.0, 1.4, "$E(s) = -\\frac{1}{2} \\sum_{ij} w_{ij} s_i s_j$\nnever rises",
        width=3.2, height=1.0, role="output")
    arrow(ax, (7.0, 3.9), (7.0, 3.4))
    arrow(ax, (7.0, 2.4), (7.0, 1.9))
    return fig


# Notebooks 14-18: tree, NTM/DNC heads, stack, history compressor, data parallelism.


def draw_tree_composition():
    """A recursive network composing the tree of (MAX 3 (MIN 7 2)) bottom-up, one level at a time.

    Every node j computes h_j = f(W x_j + U_1 h_j1 + U_2 h_j2 + b) from its own token x_j and its
    children's states; the nodes of one level do not depend on each other and are composed at once."""
    fig, ax = canvas(10, 6.4, title="A tree composed bottom-up: each node's state $h_j$ from its "
                     "token $x_j$ and its children's states, level by level")
    nodes = {"3": (2.6, 1.3), "7": (5.4, 1.3), "2": (7.8, 1.3), "MIN": (6.6, 3.0),
             "MAX": (4.4, 4.7)}
    for label, (x, y) in nodes.items():
        circle(ax, x, y, f"$h$ ({label})", radius=0.45, role="hidden", fontsize=8)
        box(ax, x + 1.2, y - 0.55, f"$x$ = {label}", width=0.9, height=0.38, role="input",
            fontsize=8)
        arrow(ax, (x + 0.8, y - 0.45), (x + 0.4, y - 0.25), text="$W$", fontsize=8, shrink=1)
    for child, parent, weight in [("3", "MAX", "$U_1$"), ("MIN", "MAX", "$U_2$"),
                                  ("7", "MIN", "$U_1$"), ("2", "MIN", "$U_2$")]:
        (cx, cy), (px, py) = nodes[child], nodes[parent]
        arrow(ax, (cx, cy + 0.45), (px, py - 0.45), text=weight, fontsize=9, shrink=2)
    for level, y in enumerate((1.3, 3.0, 4.7)):
        note(ax, 0.6, y, f"level {level}", fontsize=9, fontweight="bold")
        ax.plot([1.2, 9.8], [y - 0.85, y - 0.85], color="0.85", lw=0.8, zorder=0)
    box(ax, 4.4, 5.85, "classifier reads $h_{root}$", width=2.4, height=0.45, role="output",
        fontsize=8)
    arrow(ax, (4.4, 5.15), (4.4, 5.62), shrink=1)
    note(ax, 8.0, 5.3, "$h_j = f(W x_j + U_1 h_{j1} + U_2 h_{j2} + b)$\n"
         "a leaf: $h_j = f(W x_j + b)$", fontsize=9)
    return fig


def draw_history_compressor(steps=8):
    """Schmidhuber's history compressor: the automatiser A reads every step and predicts the next;
    only the steps it did not expect (p_t < theta), with their time t, go up to the chunker C."""
    fig, ax = canvas(12, 5.6, title="History compression: the automatiser reads every step; only "
                     "its surprises ($p_t < \\theta$) reach the chunker")
    surprises = {0, steps - 1}
    xs = [1.6 + 1.25 * t for t in range(steps)]
    for t, x in enumerate(xs):
        label = "$x_{%d}$" % t if t < steps - 1 else "$x_T$"
        box(ax, x, 0.6, label, width=0.8, height=0.5, role="input", fontsize=9)
        box(ax, x, 1.9, "A", width=0.8, height=0.6, role="hidden")
        arrow(ax, (x, 0.85), (x, 1.6), shrink=1)
        if t:
            arrow(ax, (xs[t - 1] + 0.4, 1.9), (x - 0.4, 1.9), shrink=1)
        surprise = t in surprises
        note(ax, x, 2.55, "$p_t$ low" if surprise else "$p_t \\geq \\theta$", fontsize=7,
             color="tab:red" if surprise else "0.4")
    chunker = [xs[0], xs[-1]]
    for i, (t, x) in enumerate(zip(sorted(surprises), chunker)):
        box(ax, x, 4.2, "C", width=0.8, height=0.6, role="memory")
        arrow(ax, (x, 2.7), (x, 3.9), text="($x_{%s}$, %s)" % ("0" if t == 0 else "T",
                                                                "0" if t == 0 else "T"),
              color="tab:red", fontsize=8)
    arrow(ax, (chunker[0] + 0.4, 4.2), (chunker[1] - 0.4, 4.2),
          text="one chunker step spans the whole predictable stretch", fontsize=8)
    note(ax, 0.5, 1.9, "automatiser\n(every step)", fontsize=8)
    note(ax, 0.5, 4.2, "chunker\n(surprises)", fontsize=8)
    note(ax, 6.0, 5.05, "$p_t = P_A(x_t \\mid x_0, \\dots, x_{t-1})$: $x_t$ goes up when "
         "$p_t < \\theta$", fontsize=9)
    return fig


def draw_data_parallel(replicas=2):
    """Data parallelism: the global batch is split over replicas that hold the same weights; each
    computes the gradient of its share, an all-reduce sums them, and every replica applies the
    same update."""
    fig, ax = canvas(11, 6.4, title="Data parallelism: replicas of one model on shares of the "
                     "batch; an all-reduce adds their gradients before one identical update")
    box(ax, 5.5, 5.6, "global batch $B = R\\,b$", width=3.2, role="input")
    xs = [2.8 + 5.4 * r / max(1, replicas - 1) for r in range(replicas)]
    for r, x in enumerate(xs):
        box(ax, x, 4.3, f"share {r}: $b$ examples", width=2.4, height=0.5, role="input",
            fontsize=9)
        arrow(ax, (5.5, 5.3), (x, 4.55))
        box(ax, x, 3.1, f"replica {r}\nweights $\\theta$ (a copy)", width=2.4, height=0.8,
            role="hidden", fontsize=9)
        arrow(ax, (x, 4.05), (x, 3.5))
        box(ax, x, 1.9, f"gradient $g_{r}$ of its share", width=2.4, height=0.5, role="gate",
            fontsize=9)
        arrow(ax, (x, 2.7), (x, 2.15))
        arrow(ax, (x, 1.65), (5.5, 0.95))
    box(ax, 5.5, 0.7, "all-reduce: $g = \\frac{1}{R}\\sum_r g_r$", width=3.4, height=0.5,
        role="memory", fontsize=9)
    for x in xs:
        arrow(ax, (5.5 + (x - 5.5) * 0.55, 0.95), (x + (1.3 if x < 5.5 else -1.3), 2.9),
              curve=-0.25 if x < 5.5 else 0.25, dashed=True)
    note(ax, 5.5, 2.6, "every replica applies\nthe same update\n"
         "$\\theta \\leftarrow \\theta - \\eta\\, g$", fontsize=9)
    return fig


def draw_ntm(memory_rows=6):
    """The NTM cell: a controller, a write head and a read head over a memory matrix.

    Each head turns the controller's interface into a weighting w_t over the N rows of M_t in four
    steps (content, interpolation, shift, sharpening); the write head erases and adds along its
    weighting, the read head returns r_t = sum_i w_t(i) M_t(i), fed back to the controller."""
    fig, ax = canvas(13.5, 7.2, title="NTM: the controller steers a write and a read head; each "
                     "head addresses the rows of $M_t$ by content, then by location")
    box(ax, 0.7, 3.6, "$x_t$", width=0.8, role="input")
    box(ax, 2.5, 3.6, "controller\n(LSTM)\n$h_t$", width=1.6, height=1.4, role="hidden")
    arrow(ax, (1.1, 3.6), (1.7, 3.6))
    box(ax, 2.5, 6.5, "$y_t = W_y h_t + W_r r_t$", width=2.5, role="output")
    arrow(ax, (2.5, 4.3), (2.5, 6.2))
    steps = [("content\n$k_t,\\ \\beta_t$", "$w^c_t$"), ("interpolate\n$g_t$", "$w^g_t$"),
             ("shift\n$s_t$", "$\\tilde w_t$"), ("sharpen\n$\\gamma_t$", None)]
    for y, head, w in ((5.4, "write head", "$w^w_t$"), (1.8, "read head", "$w^r_t$")):
        note(ax, 6.9, y + 0.75, head, fontsize=10, fontweight="bold")
        for i, (step, out) in enumerate(steps):
            x = 4.8 + 1.55 * i
            box(ax, x, y, step, width=1.1, height=0.8, role="gate", fontsize=8)
            if out:
                arrow(ax, (x + 0.55, y), (x + 1.0, y))
                note(ax, x + 0.775, y - 0.3, out, fontsize=9)
        arrow(ax, (3.3, 3.6), (4.25, y), text="interface", fontsize=7)
    top, height = 4.9, 0.42
    for row in range(memory_rows):
        box(ax, 11.8, top - row * height, f"$M_t({row})$" if row < 2 else "", width=2.2,
            height=0.36, role="memory", fontsize=8)
    note(ax, 11.8, top + 0.5, "memory $M_t$: N rows of width M", fontsize=9)
    arrow(ax, (9.95, 5.4), (10.7, 4.95))
    note(ax, 10.95, 5.85, "$w^w_t$, erase $e_t$, add $a_t$", fontsize=8)
    note(ax, 10.2, 6.6, "write: $M_t(i) = M_{t-1}(i)\\,[1 - w^w_t(i)\\, e_t] + w^w_t(i)\\, a_t$",
         fontsize=9)
    box(ax, 11.8, 1.0, "$r_t = \\sum_i w^r_t(i)\\, M_t(i)$", width=2.3, role="hidden", fontsize=9)
    arrow(ax, (9.95, 1.8), (10.65, 1.1), text="$w^r_t$", fontsize=9)
    arrow(ax, (11.8, 2.65), (11.8, 1.3))
    arrow(ax, (10.65, 0.9), (2.2, 2.9), curve=-0.35)
    note(ax, 6.4, 0.15, "$r_t$ goes back to the controller, read with $x_{t+1}$", fontsize=8)
    note(ax, 6.9, 3.6, "content: cosine of $k_t$ with every row of $M_t$\n"
         "location: $w^g_t$ interpolates with $w_{t-1}$, shifts, sharpens", fontsize=8,
         style="italic")
    return fig


def draw_neural_stack(slots=5):
    """The differentiable stack of a neural pushdown automaton (Grefenstette et al. 2015).

    A feed-forward controller reads x_t and the previous read r_{t-1} and emits the push strength
    d_t, the pop strength u_t and the pushed value v_t (the input itself with push_inputs); the
    stack holds values V_t[i] with strengths s_t[i] and returns the top unit of strength r_t."""
    fig, ax = canvas(12.5, 6.4, title="A stack with strengths: the controller pops $u_t$, pushes "
                     "$v_t$ with strength $d_t$, and reads the top unit of strength $r_t$")
    box(ax, 0.7, 3.6, "$x_t$", width=0.8, role="input")
    box(ax, 3.2, 3.6, "controller\n$h_t = \\tanh([x_t, r_{t-1}]\\,W + b)$", width=2.6,
        height=1.1, role="hidden")
    arrow(ax, (1.1, 3.6), (1.9, 3.6))
    box(ax, 3.2, 5.6, "output: softmax of $[h_t, r_t]$", width=2.9, role="output", fontsize=9)
    arrow(ax, (3.2, 4.15), (3.2, 5.3))
    actions = [(5.0, "push $d_t = \\sigma(h_t W_d + b_d)$", "gate"),
               (3.8, "value $v_t = x_t$", "input"),
               (2.6, "pop $u_t = \\sigma(h_t W_u + b_u)$", "gate")]
    for y, text, role in actions:
        box(ax, 6.4, y, text, width=2.7, role=role, fontsize=9)
        arrow(ax, (4.5, 3.6), (5.05, y))
    values = ["$v_t$", "$V_{t-1}[0]$", "$V_{t-1}[1]$", "...", ""]
    strengths = ["$d_t$", "$s_t[1]$", "$s_t[2]$", "...", ""]
    for i in range(slots):
        y = 5.0 - i * 0.7
        box(ax, 9.7, y, values[i] if i < 4 else "", width=1.3, height=0.56, role="memory",
            fontsize=9)
        box(ax, 11.05, y, strengths[i] if i < 4 else "", width=1.3, height=0.56, role="gate",
            fontsize=9)
    note(ax, 9.7, 5.6, "values $V_t[i]$", fontsize=9)
    note(ax, 11.05, 5.6, "strengths $s_t[i]$", fontsize=9)
    note(ax, 8.35, 5.2, "slot 0\n(top)", fontsize=7)
    arrow(ax, (7.75, 5.0), (9.05, 5.0))
    arrow(ax, (7.75, 3.8), (9.05, 4.9))
    arrow(ax, (7.75, 2.6), (9.05, 3.55), text="pop", fontsize=8)
    note(ax, 10.3, 1.6, "$s_t[i] = \\mathrm{relu}(s_{t-1}[i] - \\mathrm{relu}(u_t - "
         "\\sum_{j<i} s_{t-1}[j]))$", fontsize=8)
    box(ax, 10.2, 0.9, "read $r_t = \\sum_i \\min(s_t[i],\\, \\mathrm{relu}(1 - \\sum_{j<i}"
        " s_t[j]))\\, V_t[i]$", width=4.0, height=0.6, role="hidden", fontsize=8)
    arrow(ax, (8.3, 0.9), (2.6, 3.05), curve=-0.25)
    note(ax, 5.0, 0.45, "$r_t$ goes back to the controller with $x_{t+1}$, and to the output",
         fontsize=8)
    return fig


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

