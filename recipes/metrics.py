"""Metrics of sequence-to-sequence tasks: edit distance, error rates (PER, WER, CER), corpus BLEU
and exact match.

    edit_distance("kitten", "sitting")                        # 3
    error_rate(references, hypotheses, unit="word")           # WER: sum of edits / reference words
    bleu(references, hypotheses)                              # corpus BLEU-4 in [0, 1]
    exact_match(references, hypotheses)                       # fraction of exact outputs

A sequence is a list or tuple of tokens (words, phonemes, ids) or a string; `unit` says how a
string is read: as its characters ("char", the default of `edit_distance`) or its
whitespace-separated words ("word"). Pure Python and NumPy: no Keras, no backend.

Shared helper: `recipes/base.py` (argument checks).
"""

import collections
import math

import numpy as np

from recipes.base import check_positive_int

UNITS = ("token", "word", "char")


def _tokens(sequence, unit, name):
    if isinstance(sequence, str):
        return sequence.split() if unit == "word" else list(sequence)
    if isinstance(sequence, np.ndarray):
        if sequence.ndim != 1:
            raise ValueError(
                f"`{name}` must hold 1-D sequences of tokens, got an array of shape {sequence.shape}."
            )
        sequence = sequence.tolist()
    if not isinstance(sequence, (list, tuple)):
        raise ValueError(
            f"`{name}` must hold sequences (lists or tuples of tokens, or strings), got "
            f"{type(sequence).__name__}."
        )
    for token in sequence:  # tokens are compared and counted: hashable, and equal to themselves
        if isinstance(token, (list, dict, set, np.ndarray)) or (
            isinstance(token, (float, np.floating)) and math.isnan(token)
        ):
            raise ValueError(
                f"`{name}` must hold sequences of tokens (strings, integers), got the token "
                f"{token!r} in {sequence!r}."
            )
    return list(sequence)


def _check_unit(unit):
    if unit not in UNITS:
        raise ValueError(f"`unit` must be one of {UNITS}, got {unit!r}.")


def _check_pairs(references, hypotheses):
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ValueError(
            f"`references` and `hypotheses` must have the same length, got {len(references)} and "
            f"{len(hypotheses)}."
        )
    if not references:
        raise ValueError("`references` and `hypotheses` must not be empty.")
    return references, hypotheses


def edit_distance(reference, hypothesis, unit="char", return_counts=False):
    """Levenshtein distance: the fewest substitutions, deletions and insertions that turn
    `reference` into `hypothesis` (Levenshtein 1966), by dynamic programming (Wagner and Fischer
    1974):

        D[i, 0] = i,   D[0, j] = j
        D[i, j] = min(D[i-1, j] + 1,                         (delete reference token i)
                      D[i, j-1] + 1,                         (insert hypothesis token j)
                      D[i-1, j-1] + [r_i != h_j])            (match or substitute)

    Args:
        reference, hypothesis: sequences of tokens (lists, tuples) or strings.
        unit: how strings are read, "char" (characters) or "word" (whitespace-separated words).
        return_counts: also return the numbers of substitutions S, deletions D and insertions I
            of one optimal alignment (S + D + I is the distance).

    Returns:
        The distance (an int), or (distance, {"substitutions": S, "deletions": D,
        "insertions": I}).

    Example:
        >>> edit_distance("kitten", "sitting", return_counts=True)
        (3, {'substitutions': 2, 'deletions': 0, 'insertions': 1})
    """
    _check_unit(unit)
    ref = _tokens(reference, unit, "reference")
    hyp = _tokens(hypothesis, unit, "hypothesis")
    n, m = len(ref), len(hyp)
    D = np.zeros((n + 1, m + 1), dtype=np.int64)
    D[:, 0], D[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            D[i, j] = min(D[i - 1, j] + 1, D[i, j - 1] + 1, D[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]))
    distance = int(D[n, m])
    if not return_counts:
        return distance
    counts = {"substitutions": 0, "deletions": 0, "insertions": 0}
    i, j = n, m
    while i > 0 or j > 0:  # walk back one optimal path: diagonal first, then deletion
        if i > 0 and j > 0 and D[i, j] == D[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            counts["substitutions"] += int(ref[i - 1] != hyp[j - 1])
            i, j = i - 1, j - 1
        elif i > 0 and D[i, j] == D[i - 1, j] + 1:
            counts["deletions"] += 1
            i -= 1
        else:
            counts["insertions"] += 1
            j -= 1
    return distance, counts


def error_rate(references, hypotheses, unit="token"):
    """Sum of edit distances over sum of reference lengths: the phoneme, word or character
    error rate (PER, WER, CER) of a corpus, (S + D + I) / N. It can exceed 1 (insertions).

    Args:
        references, hypotheses: equally long lists of sequences (token lists or strings).
        unit: "token" (sequences as given; strings as characters), "word" (strings split on
            whitespace: WER) or "char" (strings as characters: CER).

    Example:
        >>> error_rate(["the cat sat", "on the mat"], ["the cat sat down", "on a mat"], unit="word")
        0.3333333333333333
    """
    _check_unit(unit)
    references, hypotheses = _check_pairs(references, hypotheses)
    string_unit = "word" if unit == "word" else "char"
    edits = total = 0
    for reference, hypothesis in zip(references, hypotheses):
        ref = _tokens(reference, string_unit, "references")
        edits += edit_distance(ref, _tokens(hypothesis, string_unit, "hypotheses"))
        total += len(ref)
    if total == 0:
        raise ValueError("`references` must hold at least one token in all.")
    return edits / total


def exact_match(references, hypotheses, unit="token"):
    """Fraction of hypotheses equal to their reference (compared as token sequences).

    In grapheme-to-phoneme work this is one minus the word error rate, where a word is wrong
    when any of its phonemes is.
    """
    _check_unit(unit)
    references, hypotheses = _check_pairs(references, hypotheses)
    string_unit = "word" if unit == "word" else "char"
    same = [
        _tokens(r, string_unit, "references") == _tokens(h, string_unit, "hypotheses")
        for r, h in zip(references, hypotheses)
    ]
    return float(np.mean(same))


def _ngrams(tokens, n):
    return collections.Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _looks_like_several(reference):
    """Whether one reference entry is a list of references: a list of token lists, or a list of
    strings of which one holds several whitespace-separated words (a token never does)."""
    if isinstance(reference, np.ndarray):
        reference = reference.tolist()
    if not isinstance(reference, (list, tuple)):
        return False
    return any(
        isinstance(item, (list, tuple, np.ndarray))
        or (isinstance(item, str) and len(item.split()) > 1)
        for item in reference
    )


def bleu(references, hypotheses, max_order=4, smoothing=False, epsilon=0.1,
         multiple_references=False, unit="word", return_details=False):
    """Corpus BLEU: the geometric mean of modified n-gram precisions times a brevity penalty.

    Equations (Papineni, Roukos, Ward and Zhu 2002; counts summed over the whole corpus):

        p_n  = sum_sentences sum_g min(count_hyp(g), max_ref count_ref(g)) / sum_sentences #n-grams(hyp)
        BP   = 1 if c > r else exp(1 - r / c)       (c: hypothesis tokens, r: closest reference
                                                      lengths, summed over the corpus)
        BLEU = BP * exp(sum_{n=1}^{N} (1/N) log p_n)

    A p_n of zero makes BLEU zero; `smoothing=True` replaces a zero numerator by `epsilon`
    (Chen and Cherry 2014, method 1), which matters for short sentences.

    Args:
        references: one reference per hypothesis (a token list, or a string split on whitespace
            with unit="word", into characters with unit="char"); with
            `multiple_references=True`, a list of references per hypothesis.
        hypotheses: the system outputs, as the references.
        max_order: N, the longest n-gram (4 for BLEU-4).
        smoothing, epsilon: Chen and Cherry's method 1.
        multiple_references: whether each reference entry is a list of references. Without
            it, an entry that looks like a list of references (a list of token lists, or of
            strings with several words) raises a ValueError, instead of being read as one
            reference whose "tokens" are whole sentences (which scored 0).
        unit: "word" or "char" for strings ("token": as "char").
        return_details: also return p_1 ... p_N, BP, c and r in a dict.

    Returns:
        BLEU in [0, 1] (multiply by 100 for the usual reporting), or (BLEU, details).

    Example:
        >>> bleu(["the cat is on the mat"], ["the the the the the the the"], max_order=1)
        0.2857142857142857
    """
    _check_unit(unit)
    max_order = check_positive_int("max_order", max_order)
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
        raise ValueError(f"`epsilon` must be a float > 0, got {epsilon!r}.")
    references, hypotheses = _check_pairs(references, hypotheses)
    string_unit = "word" if unit == "word" else "char"
    matches, totals = np.zeros(max_order), np.zeros(max_order)
    c = r = 0
    for index, (reference, hypothesis) in enumerate(zip(references, hypotheses)):
        if not multiple_references and _looks_like_several(reference):
            raise ValueError(
                f"`references` entry {index} looks like a list of references, not one: "
                f"{reference!r}. Pass `multiple_references=True` to score each hypothesis against "
                f"several references, or give each reference as one string or one token list."
            )
        refs = reference if multiple_references else [reference]
        if multiple_references and (isinstance(refs, str) or not len(refs)):
            raise ValueError(
                "With `multiple_references=True` every entry of `references` must be a non-empty "
                f"list of references, got {refs!r}."
            )
        refs = [_tokens(x, string_unit, "references") for x in refs]
        hyp = _tokens(hypothesis, string_unit, "hypotheses")
        c += len(hyp)
        r += min((abs(len(x) - len(hyp)), len(x)) for x in refs)[1]  # closest; ties: shorter
        for n in range(1, max_order + 1):
            counts = _ngrams(hyp, n)
            most = collections.Counter()
            for x in refs:
                most |= _ngrams(x, n)  # the maximum count of every n-gram over the references
            matches[n - 1] += sum(min(k, most[g]) for g, k in counts.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    if c == 0:
        raise ValueError("`hypotheses` must hold at least one token in all; BLEU of no output is undefined.")
    numerators = np.where((matches == 0) & smoothing, epsilon, matches)
    precisions = np.divide(numerators, totals, out=np.zeros(max_order), where=totals > 0)
    brevity = 1.0 if c > r else math.exp(1 - r / c)
    score = 0.0 if (precisions == 0).any() else brevity * math.exp(np.mean(np.log(precisions)))
    if return_details:
        details = {"precisions": precisions.tolist(), "brevity_penalty": brevity,
                   "hypothesis_length": c, "reference_length": r}
        return score, details
    return score
