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


# Notebooks 14-18: tree, NTM/DNC heads, stack, history compressor, data parallelism.


# Notebook 19: multi-worker training.
