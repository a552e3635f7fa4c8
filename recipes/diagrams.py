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


# Notebooks 09, 10, 12 and 13: forecasting windows, control loop, CTRNN/MTRNN, clockwork, Hopfield.


# Notebooks 14-18: tree, NTM/DNC heads, stack, history compressor, data parallelism.


# Notebook 19: multi-worker training.
