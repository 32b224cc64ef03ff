"""Typing-slip costs for "did you mean": an edit distance in which the slips people make most cost least."""

from __future__ import annotations

from functools import lru_cache

# An AZERTY keyboard's letter rows, each with its offset in key widths from the row above's left edge.
AZERTY_ROWS = (("azertyuiop", 0.0), ("qsdfghjklm", 0.25), ("wxcvbn", 0.75))
VOWELS = frozenset("aeiouy")
# Costs of one edit: a doubled or undoubled letter, a key next to the right one, two letters swapped and a
# wrong vowel are the commonest slips, so they cost less than an unrelated letter added, dropped or changed.
DOUBLED = 0.5
NEIGHBOUR = 0.6
SWAPPED = 0.6
VOWEL = 0.8
OTHER = 1.0


def _neighbours() -> dict[str, frozenset[str]]:
    """Map each letter to the keys touching it on an AZERTY keyboard (same row, or the rows above and below)."""
    where = {ch: (row, col + shift) for row, (keys, shift) in enumerate(AZERTY_ROWS) for col, ch in enumerate(keys)}
    return {
        a: frozenset(b for b, (row2, x2) in where.items() if b != a and abs(row - row2) <= 1 and abs(x - x2) < 1.1)
        for a, (row, x) in where.items()
    }


NEIGHBOURS = _neighbours()


def first_letter_slips(word: str) -> set[str]:
    """Return the words this typed one is if its only slip is on the first letter: a neighbour key or another
    vowel typed instead, or the first two letters swapped."""
    if len(word) < 2:
        return set()
    first = word[0]
    letters = set(NEIGHBOURS.get(first, ())) | (VOWELS if first in VOWELS else set())
    return {letter + word[1:] for letter in letters - {first}} | {word[1] + word[0] + word[2:]} - {word}


def _substitution(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if b in NEIGHBOURS.get(a, ()):
        return NEIGHBOUR
    if a in VOWELS and b in VOWELS:
        return VOWEL
    return OTHER


def _extra(word: str, i: int) -> float:
    """Cost of word[i] being one letter too many: cheap when it doubles a letter next to it."""
    doubled = (i > 0 and word[i - 1] == word[i]) or (i + 1 < len(word) and word[i + 1] == word[i])
    return DOUBLED if doubled else OTHER


@lru_cache(maxsize=50_000)
def typo_cost(typed: str, word: str) -> float:
    """Return the cheapest sequence of slips that turns word into typed (optimal string alignment distance)."""
    n, m = len(typed), len(word)
    previous2: list[float] = []
    previous = [0.0]
    for j in range(m):
        previous.append(previous[j] + _extra(word, j))
    for i in range(1, n + 1):
        row = [previous[0] + _extra(typed, i - 1)]
        for j in range(1, m + 1):
            cost = min(
                previous[j] + _extra(typed, i - 1),  # a letter typed too many
                row[j - 1] + _extra(word, j - 1),  # a letter left out
                previous[j - 1] + _substitution(typed[i - 1], word[j - 1]),
            )
            if i > 1 and j > 1 and typed[i - 1] == word[j - 2] and typed[i - 2] == word[j - 1] != word[j - 2]:
                cost = min(cost, previous2[j - 2] + SWAPPED)
            row.append(cost)
        previous2, previous = previous, row
    return previous[m]


# Endings the light stemmer takes off (plural, feminine): a stem in the index stands for itself and these.
ENDINGS = ("", "e", "s", "es", "x", "ee", "ees", "le", "les", "ne", "nes", "te", "tes")


def spellings(stem: str, stemmer) -> list[str]:
    """Return the words made of stem and one ending that stemmer (analysis.light_stem) turns back into stem."""
    out = [stem + ending for ending in ENDINGS if stemmer(stem + ending) == stem]
    if stem.endswith("l"):
        out += [w for w in (stem[:-1] + "aux",) if stemmer(w) == stem]
    return out or [stem]


def closest_cost(typed: str, stem: str, stemmer) -> float:
    """Return the cost of the cheapest slips from a spelling of stem to typed (both folded)."""
    return min(typo_cost(typed, word) for word in spellings(stem, stemmer))
