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
