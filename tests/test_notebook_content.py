"""What every committed notebook must hold, read from the .ipynb files (nothing is executed here).

A learner reads the committed outputs on GitHub; these tests fail when a notebook lacks its goals,
prerequisites, equations, diagram or exercise solutions, when a code cell grows past what a
learner can follow, or when an output shows framework log lines, warnings or stray object reprs.
The notebooks themselves are executed by `make test-notebooks` (nbmake).
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = ROOT / "notebooks" / "solutions"
BADGE = "https://colab.research.google.com/github/rnn-recipes/rnn-recipes/blob/main/notebooks/{}"
SETUP_START = "# Setup, the same in every notebook."
MAX_LINES = 30
# TensorFlow / absl / XLA start-up lines, oneDNN and CUDA notices, retracing and other warnings.
LOG_NOISE = re.compile(
    r"^[EIWF]\d{4} \d\d:\d\d|oneDNN custom operations|cuInit|cuda_(?:dnn|blas|fft)|Grappler|"
    r"retracing|absl::|WARNING: All log messages|Warning:|UserWarning|DeprecationWarning|"
    r"RuntimeWarning|FutureWarning|ConvergenceWarning|tf\.function|This TensorFlow binary",
    re.M)
STRAY_REPR = re.compile(r"object at 0x[0-9a-f]+|^\[?<matplotlib\.|^<keras\.|^<tensorflow\.", re.M)
# Text that leans on evidence a learner cannot see.
HIDDEN_EVIDENCE = re.compile(r"\bthe issue\b|\bprivately\b|outside (?:this|the) notebook",
                             re.I)
# Notebooks not yet brought to the course standard of issue 16 (goals, equations, diagram,
# solutions, short cells), by number. Empty: all 20 chapters meet it; a new chapter may wait here
# for its solutions, and leaves when it meets the standard.
PENDING = set()


def load(path):
    return json.loads(path.read_text())


def text(cell):
    return "".join(cell["source"])


def output_texts(cell):
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            yield output["name"], "".join(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            yield output["output_type"], "".join(output.get("data", {}).get("text/plain", ""))
        elif output["output_type"] == "error":
            yield "error", output["ename"]


def solutions_path(path):
    return SOLUTIONS / f"{path.stem}_solutions.ipynb"


def exercises(nb):
    """The numbers of the exercises listed under the last '### Exercises' heading."""
    for cell in reversed(nb["cells"]):
        source = text(cell)
        if cell["cell_type"] == "markdown" and "### Exercises" in source:
            listed = source.split("### Exercises", 1)[1]
            return [int(n) for n in re.findall(r"^(\d+)\. ", listed, re.M)]
    return []


def all_notebooks():
    paths = list(NOTEBOOKS)
    if SOLUTIONS.exists():
        paths += sorted(SOLUTIONS.glob("*.ipynb"))
    return paths


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: p.name)
def test_outputs_are_clean_and_executed(path):
    """Every code cell was executed; no output is a log line, a warning, an error or a repr."""
    for index, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("execution_count") is not None, f"{path.name} cell {index}: not executed"
        for kind, body in output_texts(cell):
            assert kind not in ("stderr", "error"), f"{path.name} cell {index}: {kind}: {body[:300]}"
            noise = LOG_NOISE.search(body)
            assert noise is None, f"{path.name} cell {index}: log noise {noise[0]!r} in {body[:300]}"
            stray = STRAY_REPR.search(body)
            assert stray is None, f"{path.name} cell {index}: stray repr {stray[0]!r}"


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: p.name)
def test_no_text_leans_on_hidden_evidence(path):
    for index, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "markdown" and path.name[:2] not in PENDING:
            found = HIDDEN_EVIDENCE.search(text(cell))
            assert found is None, f"{path.name} cell {index}: {found[0]!r}: show the evidence"


def course_notebooks():
    return [p for p in NOTEBOOKS if p.name[:2] not in PENDING]


@pytest.mark.parametrize("path", course_notebooks(), ids=lambda p: p.name)
def test_opens_with_title_goals_prerequisites_and_badge(path):
    cells = load(path)["cells"]
    first = text(cells[0])
    assert cells[0]["cell_type"] == "markdown" and first.startswith(f"# {path.name[:2]} · ")
    assert "**After this notebook you can**" in first, "goals: '**After this notebook you can**'"
    assert "**Prerequisites**" in first, "prerequisites: '**Prerequisites**'"
    assert BADGE.format(path.name) in first, "the Colab badge must open this notebook"
    assert text(cells[1]).startswith(SETUP_START), "the second cell is the setup cell"


@pytest.mark.parametrize("path", course_notebooks(), ids=lambda p: p.name)
def test_has_displayed_equations_and_a_diagram(path):
    cells = load(path)["cells"]
    markdown = "\n".join(text(c) for c in cells if c["cell_type"] == "markdown")
    code = "\n".join(text(c) for c in cells if c["cell_type"] == "code")
    assert "$$" in markdown, "no displayed equation ($$ ... $$)"
    assert re.search(r"\bdiagrams\.draw_\w+\(", code), "no diagram (recipes.diagrams.draw_*)"


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: p.name)
def test_code_cells_are_short(path):
    if path.name[:2] in PENDING:
        pytest.skip("not yet brought to the course standard")
    for index, cell in enumerate(load(path)["cells"][2:], start=2):
        if cell["cell_type"] == "code":
            lines = len(text(cell).splitlines())
            assert lines <= MAX_LINES, f"{path.name} cell {index}: {lines} lines > {MAX_LINES}"


@pytest.mark.parametrize("path", course_notebooks(), ids=lambda p: p.name)
def test_every_exercise_has_a_worked_solution(path):
    numbers = exercises(load(path))
    assert numbers and numbers == list(range(1, len(numbers) + 1)), "exercises 1..n under '### Exercises'"
    solutions = solutions_path(path)
    assert solutions.exists(), f"no {solutions.relative_to(ROOT)}"
    cells = load(solutions)["cells"]
    first = text(cells[0])
    assert first.startswith(f"# {path.name[:2]} · Solutions"), "title: '# NN · Solutions ...'"
    assert f"../{path.name}" in first, "links back to its chapter"
    assert BADGE.format(f"solutions/{solutions.name}") in first, "its own Colab badge"
    chapter_setup, setup = text(load(path)["cells"][1]), text(cells[1])
    assert setup.startswith(SETUP_START)
    extra = re.search(r'^EXTRA = "(\w+)"', chapter_setup, re.M)[1]
    assert re.search(rf'^EXTRA = "{extra}"', setup, re.M), f"the chapter's extra, {extra}"
    headings = [int(n) for c in cells if c["cell_type"] == "markdown"
                for n in re.findall(r"^## Exercise (\d+)\b", text(c), re.M)]
    assert headings == numbers, f"solutions for exercises {headings}, the chapter lists {numbers}"
