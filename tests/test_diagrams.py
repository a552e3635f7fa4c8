"""Every architecture diagram draws, with its defaults, on a fresh figure and returns it."""

import inspect

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from recipes import diagrams  # noqa: E402

DRAWINGS = sorted(name for name, f in inspect.getmembers(diagrams, inspect.isfunction)
                  if name.startswith("draw_"))


def test_primitives_draw_on_a_canvas():
    fig, ax = diagrams.canvas(4, 2, title="primitives")
    diagrams.box(ax, 1, 1, "h", role="hidden")
    diagrams.circle(ax, 3, 1, "+")
    diagrams.arrow(ax, (1, 1), (3, 1), text="W")
    diagrams.note(ax, 2, 0.3, "note")
    assert len(ax.patches) == 3 and len(ax.texts) == 4
    matplotlib.pyplot.close(fig)


def test_unknown_role_names_the_argument():
    fig, ax = diagrams.canvas(2, 2)
    with pytest.raises(ValueError, match="role must be one of .*nonsense"):
        diagrams.box(ax, 1, 1, role="nonsense")
    matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("name", DRAWINGS)
def test_drawing_returns_a_titled_figure_with_shapes(name):
    fig = getattr(diagrams, name)()
    assert isinstance(fig, matplotlib.figure.Figure)
    axes = fig.get_axes()
    assert axes and any(ax.get_title() for ax in axes), f"{name}: a title says what to see"
    assert sum(len(ax.patches) for ax in axes) >= 3, f"{name}: fewer than 3 shapes"
    matplotlib.pyplot.close(fig)
