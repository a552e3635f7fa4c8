"""Sequence metrics (recipes/metrics.py): edit distance on pairs worked out by hand and against a
brute-force recursion, error rates, BLEU on cases computed by hand (and against NLTK when it is
installed), exact match, bad input."""

import functools
import math

import numpy as np
import pytest

from recipes.metrics import bleu, edit_distance, error_rate, exact_match


# --- edit distance -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference, hypothesis, distance, counts",
    [
        # kitten -> sitting: k->s, e->i (substitutions), + g (insertion)
        ("kitten", "sitting", 3, (2, 0, 1)),
        # a b c -> a c: b deleted
        (["a", "b", "c"], ["a", "c"], 1, (0, 1, 0)),
        # empty reference: every hypothesis token is inserted
        ([], ["x", "y"], 2, (0, 0, 2)),
        # empty hypothesis: every reference token is deleted
        ("abc", "", 3, (0, 3, 0)),
        # identical
        (["HH", "AH0", "L", "OW1"], ["HH", "AH0", "L", "OW1"], 0, (0, 0, 0)),
        # flaw -> lawn: f deleted, n inserted (2), not two substitutions plus... (f->l, l->a...: 4)
        ("flaw", "lawn", 2, (0, 1, 1)),
        # one word replaced, one inserted: "the cat sat" -> "the dog sat down"
        ("the cat sat", "the dog sat down", 2, (1, 0, 1)),
    ],
)
def test_edit_distance_on_pairs_worked_out_by_hand(reference, hypothesis, distance, counts):
    unit = "word" if isinstance(reference, str) and " " in reference else "char"
    assert edit_distance(reference, hypothesis, unit=unit) == distance
    got, alignment = edit_distance(reference, hypothesis, unit=unit, return_counts=True)
    assert got == distance
    assert (alignment["substitutions"], alignment["deletions"], alignment["insertions"]) == counts


def levenshtein_recursive(a, b):
    @functools.lru_cache(maxsize=None)
    def d(i, j):
        if i == 0 or j == 0:
            return i + j
        return min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))

    return d(len(a), len(b))


def test_edit_distance_equals_the_recursive_definition_and_is_a_metric():
    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abc"), size=rng.integers(0, 7))) for _ in range(25)]
    for a, b, c in zip(words, words[1:], words[2:]):
        d, counts = edit_distance(a, b, return_counts=True)
        assert d == levenshtein_recursive(a, b) == edit_distance(b, a)
        assert sum(counts.values()) == d
        # every reference token is matched, substituted or deleted; every hypothesis token
        # matched, substituted or inserted
        assert len(a) - counts["deletions"] == len(b) - counts["insertions"]
        assert edit_distance(a, c) <= d + edit_distance(b, c)  # triangle inequality
        assert (d == 0) == (a == b)


def test_edit_distance_reads_token_ids_and_arrays():
    assert edit_distance([1, 2, 3], np.array([1, 3])) == 1
    assert edit_distance(("HH", "AY1"), ["HH", "AY0"]) == 1


# --- error rates and exact match -----------------------------------------------------------------


def test_error_rate_is_total_edits_over_total_reference_length():
    references = ["the cat sat", "on the mat"]
    hypotheses = ["the cat sat down", "on a mat"]
    # edits: 1 insertion + 1 substitution = 2, over 3 + 3 reference words
    assert error_rate(references, hypotheses, unit="word") == pytest.approx(2 / 6)
    # characters: "the cat sat" -> "the cat sat down" inserts " down" (5); "on the mat" -> "on a
    # mat": "the" -> "a" is 1 substitution + 2 deletions (3); over 11 + 10 characters
    assert error_rate(references, hypotheses, unit="char") == pytest.approx(8 / 21)
    # phonemes as token lists (PER): one substitution in 4 + 2 phonemes
    assert error_rate([["HH", "AH0", "L", "OW1"], ["AY1", "Z"]],
                      [["HH", "AH0", "L", "OW1"], ["AY1", "S"]]) == pytest.approx(1 / 6)
    # insertions can push it above 1
    assert error_rate(["a"], ["a b c"], unit="word") == pytest.approx(2.0)


def test_exact_match():
    assert exact_match(["a b", "c", "d e"], ["a b", "x", "d  e"], unit="word") == pytest.approx(2 / 3)
    assert exact_match([[1, 2], [3]], [[1, 2], [3, 4]]) == 0.5


# --- BLEU ----------------------------------------------------------------------------------------


def test_bleu_modified_precision_clips_repeated_words():
    # Papineni et al.'s example: "the" occurs 7 times in the hypothesis but at most 2 times in a
    # reference, so the modified unigram precision is 2/7; c = 7 > r = 6 gives BP = 1.
    refs = ["the cat is on the mat"]
    hyps = ["the the the the the the the"]
    score, details = bleu(refs, hyps, max_order=1, return_details=True)
    assert score == pytest.approx(2 / 7)
    assert details["precisions"] == pytest.approx([2 / 7]) and details["brevity_penalty"] == 1.0


def test_bleu_of_a_perfect_translation_is_one_and_of_a_disjoint_one_zero():
    refs = ["a b c d e", "f g h i"]
    assert bleu(refs, refs) == pytest.approx(1.0)
    assert bleu(refs, ["x y z w v", "u t s r"]) == 0.0


def test_bleu_brevity_penalty_worked_out_by_hand():
    # "the cat sat" against "the cat sat on the mat": p1 = 3/3, p2 = 2/2, c = 3, r = 6,
    # BP = exp(1 - 6/3) = exp(-1)
    score, details = bleu(["the cat sat on the mat"], ["the cat sat"], max_order=2, return_details=True)
    assert details["hypothesis_length"] == 3 and details["reference_length"] == 6
    assert score == pytest.approx(math.exp(-1))


def test_bleu_sums_counts_over_the_corpus_before_dividing():
    # sentence 1 matches fully (4 unigrams, 3 bigrams); sentence 2 "e f" vs "e g": 1 of 2
    # unigrams, 0 of 1 bigram. Corpus: p1 = 5/6, p2 = 3/4, c = r = 6, BLEU-2 = sqrt(5/6 * 3/4)
    score = bleu(["a b c d", "e g"], ["a b c d", "e f"], max_order=2)
    assert score == pytest.approx(math.sqrt(5 / 6 * 3 / 4))


def test_bleu_smoothing_method_1_replaces_zero_matches_by_epsilon():
    # "a b" vs "a c": p1 = 1/2, p2 = 0/1 -> 0; smoothed p2 = 0.1/1
    assert bleu(["a c"], ["a b"], max_order=2) == 0.0
    assert bleu(["a c"], ["a b"], max_order=2, smoothing=True) == pytest.approx(math.sqrt(0.5 * 0.1))
    assert bleu(["a c"], ["a b"], max_order=2, smoothing=True, epsilon=0.2) == pytest.approx(math.sqrt(0.5 * 0.2))


def test_bleu_with_multiple_references_clips_by_the_maximum_and_takes_the_closest_length():
    # "the the cat": "the" appears at most twice in one reference, "cat" once: p1 = 3/3;
    # bigrams "the the" (max count 1 in ref 2), "the cat" (1 in ref 1): p2 = 2/2;
    # lengths 2 and 4 are equally close to c = 3, the shorter counts: r = 2 < c, BP = 1
    refs = [["the cat", "the the big dog"]]
    score, details = bleu(refs, ["the the cat"], max_order=2, multiple_references=True, return_details=True)
    assert details["precisions"] == pytest.approx([1.0, 1.0])
    assert details["reference_length"] == 2 and score == pytest.approx(1.0)


def test_bleu_agrees_with_nltk_when_installed():
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    rng = np.random.default_rng(0)
    refs = [list(rng.choice(list("abcdef"), size=rng.integers(4, 12))) for _ in range(20)]
    hyps = [list(r[: len(r) - 1]) + list(rng.choice(list("abcdef"), size=2)) for r in refs]
    expected = nltk_bleu.corpus_bleu([[r] for r in refs], hyps)
    assert bleu(refs, hyps) == pytest.approx(expected, rel=1e-9)


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_raises_value_errors_naming_the_argument():
    with pytest.raises(ValueError, match="same length"):
        error_rate(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="references"):
        bleu([], [])
    with pytest.raises(ValueError, match="unit"):
        edit_distance("a", "b", unit="phone")
    with pytest.raises(ValueError, match="max_order"):
        bleu(["a"], ["a"], max_order=0)
    with pytest.raises(ValueError, match="epsilon"):
        bleu(["a"], ["a"], smoothing=True, epsilon=0)
    with pytest.raises(ValueError, match="hypotheses"):
        error_rate([["a"]], [5])
    with pytest.raises(ValueError, match="references"):
        error_rate([""], ["a"])
    with pytest.raises(ValueError, match="multiple_references"):
        bleu(["a b"], ["a b"], multiple_references=True)


@pytest.mark.parametrize(
    "references",
    [
        [["the cat is on the mat", "there is a cat on the mat"]],  # strings: each a whole sentence
        [[["the", "cat", "is", "on", "the", "mat"], ["there", "is", "a", "cat", "on", "the", "mat"]]],
        [(("the", "cat", "is", "on", "the", "mat"), ("there", "is", "a", "cat", "on", "the", "mat"))],
    ],
)
def test_bleu_refuses_a_list_of_references_without_multiple_references(references):
    hypotheses = ["the cat is on the mat"]
    # Before: each sentence (or token tuple) was read as one token, and the score was 0.
    with pytest.raises(ValueError, match=r"`references` entry 0 looks like a list of references.*"
                                         r"`multiple_references=True`"):
        bleu(references, hypotheses)
    assert bleu(references, hypotheses, multiple_references=True) == 1.0


def test_bleu_still_reads_token_lists_and_characters_as_one_reference():
    assert bleu([["the", "cat", "sat"]], ["the cat sat"], max_order=3) == 1.0
    assert bleu([list("the cat")], ["the cat"], unit="char") == 1.0  # " " is a token, not words
