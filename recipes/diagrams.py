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


# Notebook 19: multi-worker training.
