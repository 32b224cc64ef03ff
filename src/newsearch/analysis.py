"""French text analysis: the one place where text becomes words and words become terms.

Indexing (FRENCH, index_positions), querying (FRENCH through the schema), snippets (iter_words), passage
reranking and suggestions (text_terms, word_term), synonyms (word_key) and entities (WORD_PATTERN, fold,
strip_elision) all read words and terms from here, so that a word means the same everywhere.
"""

from __future__ import annotations

import re
from itertools import chain
from typing import NamedTuple

from unidecode import unidecode
from whoosh.analysis import Filter, RegexTokenizer

# Bump when anything below changes the tokens an index holds: the index refuses to mix versions.
ANALYSIS_VERSION = 5

# A dotted acronym (S.N.C.F., U.S.A.) is one word; else a word with inner apostrophes and hyphens kept, so that
# elision and compounds are read by word_parts. Each letter of an acronym stands alone: "M.Macron" is two words,
# and so is "h.L'école" (sentences glued together by a missing space are common in scraped text).
_ACRONYM = r"(?<!\w)[^\W\d_](?:\.[^\W\d_](?![\w'’]))+\.?"
_PLAIN_WORD = r"\w+(?:['’\-]\w+)*"
WORD_PATTERN = f"{_ACRONYM}|{_PLAIN_WORD}"
_WORD_RE = re.compile(WORD_PATTERN)
# The acronym branch costs half again as much as the rest, and most texts have no acronym: a text without
# ".X" (X a letter standing alone, found by a fast literal scan) is read with the plain branch alone.
_PLAIN_WORD_RE = re.compile(_PLAIN_WORD)
_MAY_HOLD_ACRONYM = re.compile(r"\.[^\W\d_](?![\w'’])")


def _word_regex(text: str) -> re.Pattern:
    return _WORD_RE if _MAY_HOLD_ACRONYM.search(text) else _PLAIN_WORD_RE


# Elided articles, pronouns and conjunctions. presqu' and quelqu' are left out: they elide only in presqu'île
# and quelqu'un, which are words of their own (like aujourd'hui and prud'homme).
ELISIONS = frozenset("l d j m n s t c qu jusqu lorsqu puisqu quoiqu".split())

# French stop words, accent-folded. "ete" (summer) and "pas" are kept out on purpose: both carry meaning in news.
STOP_WORDS = frozenset(
    """
    a ai aie aient aies ait as au aura aurai auraient aurais aurait auras aurez auriez aurions aurons auront
    aux avaient avais avait avec avez aviez avions avons ayant ayez ayons c ce ceci cela celle celles celui
    ces cet cette ceux d dans de des du elle elles en es est et etaient etais etait etant etiez etions etre
    eu eue eues eurent eus eusse eussent eusses eussiez eussions eut eux furent fus fusse fussent fusses
    fussiez fussions fut il ils j je l la le les leur leurs lui m ma mais me meme mes moi mon n ne nos notre
    nous on ont ou par pour qu que quel quelle quelles quels qui s sa sans se sera serai seraient serais
    serait seras serez seriez serions serons seront ses si soi soient sois soit sommes son sont soyez soyons
    suis sur t ta te tes toi ton tu un une vos votre vous y
    """.split()
)

_FOLD_CACHE: dict[str, str] = {}
_STEM_CACHE: dict[str, str] = {}
_CACHE_LIMIT = 500_000


def fold(text: str) -> str:
    """Return text lowercased, with ligatures expanded and accents removed (unidecode), letters and digits only."""
    folded = _FOLD_CACHE.get(text)
    if folded is None:
        folded = "".join(ch for ch in unidecode(text).lower() if ch.isalnum())
        if len(_FOLD_CACHE) > _CACHE_LIMIT:
            _FOLD_CACHE.clear()
        _FOLD_CACHE[text] = folded
    return folded


def fold_all(words: list[str]) -> list[str]:
    """Return fold() of each word; the words seen before are looked up in one C loop."""
    folded = list(map(_FOLD_CACHE.get, words))
    if None in folded:
        folded = [f if f is not None else fold(w) for f, w in zip(folded, words, strict=True)]
    return folded


def _singular(word: str) -> str:
    if word.endswith("eaux"):
        return word[:-1]
    if word.endswith("aux") and len(word) > 4:
        return word[:-2] + "l"
    if word.endswith("x") or (word.endswith("s") and not word.endswith("ss")):
        return word[:-1]
    return word


def singular(word: str) -> str:
    """Return a folded word without its plural ending (greves → greve, chevaux → cheval): light_stem's first step."""
    return _singular(word) if len(word) >= 4 and word.isalpha() else word


def _light_stem(word: str) -> str:
    # Plural first, so that the feminine rules see the singular form.
    word = _singular(word)
    if len(word) < 6:
        return word  # armée/arme, verte/vert: too short to tell a feminine from another word
    # Feminine and adjectival endings onto the masculine stem; -ere keeps its r so mere/mer stay apart.
    for suffix, replacement in (
        ("enne", "en"),
        ("euse", "eu"),
        ("ouse", "ou"),
        ("aise", "ai"),
        ("ive", "if"),
        ("ere", "er"),
        ("ee", ""),
    ):
        if word.endswith(suffix):
            return word[: len(word) - len(suffix)] + replacement
    if word.endswith("e"):
        word = word[:-1]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] in "lnt":
            word = word[:-1]
    return word


def light_stem(word: str) -> str:
    """Conflate singular/plural and masculine/feminine of a folded word, nothing more."""
    if len(word) < 4 or not word.isalpha():
        return word
    stem = _STEM_CACHE.get(word)
    if stem is None:
        stem = _light_stem(word)
        if len(_STEM_CACHE) > _CACHE_LIMIT:
            _STEM_CACHE.clear()
        _STEM_CACHE[word] = stem
    return stem


def strip_elision(word: str) -> str:
    """Return word without a leading elided article or pronoun (l', qu', jusqu'…), apostrophes made plain."""
    word = word.replace("’", "'")
    head, sep, tail = word.partition("'")
    if sep and tail and fold(head) in ELISIONS:
        return tail
    return word


def word_parts(word: str) -> list[tuple[int, int, str]]:
    """Return (start, end, folded text) of each part of one word: split at hyphens, each part without elision."""
    # "l'Île-de-France" gives île, de, france; "Côte-d'Ivoire" côte, ivoire; "aujourd'hui" one part, aujourdhui.
    parts = []
    start = 0
    for piece in word.split("-"):
        end = start + len(piece)
        core = strip_elision(piece)
        folded = fold(core)
        if folded:
            parts.append((end - len(core), end, folded))
        start = end + 1
    return parts


def word_tokens(word: str, mode: str = "index", removestops: bool = True):
    """Return the tokens one word makes, (folded text, position offset, start, end, stopped) each, and its width."""
    # When indexing, a hyphenated word's joined form comes first, at its first part's position, so that both
    # "nord-coréens" as a phrase and "nordcoréens" as one word match. Stop words take no position, so that
    # phrases match across them.
    parts = word_parts(word)
    tokens = []
    if mode == "index" and len(parts) > 1:
        joined = "".join(folded for _, _, folded in parts)
        if joined not in STOP_WORDS:
            tokens.append((joined, 0, parts[0][0], len(word), False))
    taken = 0
    for start, end, folded in parts:
        stop = folded in STOP_WORDS
        if not (stop and removestops):
            tokens.append((folded, taken, start, end, stop))
            taken += 1
    return tokens, taken


class WordTerms(NamedTuple):
    """What one word is made of, as every reader of text sees it."""

    skip: int  # characters of the elided article before the word proper (l'État: 2)
    index: tuple[tuple[str, int], ...]  # (term, position offset) as indexed: the joined form first, then the parts
    advance: int  # positions the word takes (stop words take none)
    query: tuple[str, ...]  # the parts' terms, stop words left out: what a query or a passage searches
    forms: tuple[str, ...]  # the parts' terms and the joined form: what a highlighted word may match
    key: str  # the whole word's term with stop words kept (hyphens joined): how synonyms compare words
    stop: bool  # the whole word is a stop word


_WORDS: dict[str, WordTerms] = {}
# The parts of WordTerms that the hot loops read, per word, filled and cleared with _WORDS: indexing, reranking
# and snippets look every word of whole bodies up, and a plain dict lookup and tuple is what keeps that cheap.
_INDEX: dict[str, tuple[tuple[tuple[str, int], ...], int]] = {}
_QUERY: dict[str, tuple[str, ...]] = {}
_SPANS: dict[str, tuple[int, tuple[str, ...]]] = {}
_CACHES = (_WORDS, _INDEX, _QUERY, _SPANS)


def word_terms(word: str) -> WordTerms:
    """Return the terms of one word (as WORD_PATTERN finds it), computed once per process."""
    found = _WORDS.get(word)
    if found is None:
        tokens, advance = word_tokens(word)
        index = tuple((light_stem(text), offset) for text, offset, _, _, _ in tokens)
        joined = len(index) > advance  # the joined form of a hyphenated word comes first
        query = tuple(term for term, _ in index[joined:])
        parts = word_parts(word)
        whole = "".join(folded for _, _, folded in parts)
        found = WordTerms(
            skip=parts[0][0] if parts else len(word),
            index=index,
            advance=advance,
            query=query,
            forms=query + tuple(term for term, _ in index[:joined]),
            key=light_stem(whole),
            stop=whole in STOP_WORDS,
        )
        if len(_WORDS) > _CACHE_LIMIT:
            for cache in _CACHES:
                cache.clear()
        _WORDS[word] = found
        _INDEX[word] = (found.index, found.advance)
        _QUERY[word] = found.query
        _SPANS[word] = (found.skip, found.forms)
    return found


def text_words(text: str) -> list[str]:
    """Return the words of text in order, as WORD_PATTERN finds them: what text_terms and index_positions read."""
    return _word_regex(text).findall(text)


def _per_word(cache: dict, text: str, words: list[str] | None = None) -> list:
    """Return cache's entry for each word of text (its text_words, if given), analysing the words not seen before."""
    words = text_words(text) if words is None else words
    found = list(map(cache.get, words))  # the loop stays in C for the words seen before
    if None in found:
        for i, entry in enumerate(found):
            if entry is None:
                word_terms(words[i])
                found[i] = cache[words[i]]
    return found


def text_terms(text: str, words: list[str] | None = None) -> list[str]:
    """Return the terms of a text in order, repeats kept, stop words left out: FRENCH's query mode, faster.

    words: text_words(text), when another pass over the same text has found them (indexing reads a body twice).
    """
    return list(chain.from_iterable(_per_word(_QUERY, text, words)))


def word_term(word: str) -> str:
    """Return the one term a whole word stands for (hyphenated parts joined, elision dropped), '' for a stop word."""
    entry = word_terms(word)
    return "" if entry.stop else entry.key


def word_key(word: str) -> str:
    """Return the term a whole word stands for, stop words included: how expressions are compared word by word."""
    return word_terms(word).key


def index_positions(text: str, words: list[str] | None = None) -> dict[str, list[int]]:
    """Return each term of text with its positions, exactly as FRENCH indexes them, at a fraction of the cost.

    The pipeline works on one word at a time (the position shifts of hyphens and stop words add up), so each
    distinct word is analysed once and its terms are replayed at each occurrence. words: as for text_terms.
    """
    positions: dict[str, list[int]] = {}
    base = 0
    for index, advance in _per_word(_INDEX, text, words):
        for term, offset in index:
            found = positions.get(term)
            if found is None:
                positions[term] = [base + offset]
            else:
                found.append(base + offset)
        base += advance
    return positions


def iter_words(text: str):
    """Yield (start, end, forms) for each word of text, start past its elided article, for highlighting."""
    for match in _word_regex(text).finditer(text):
        word = match.group()
        entry = _SPANS.get(word)
        if entry is None:
            word_terms(word)
            entry = _SPANS[word]
        skip, forms = entry
        yield match.start() + skip, match.end(), forms


class FrenchWordFilter(Filter):
    """Turns each word into its word_tokens (elision dropped, hyphens split, folded, stop words out), in place."""

    def __call__(self, tokens):
        shift = 0  # positions gained by hyphenated parts, minus those of stop words removed
        for t in tokens:
            pos = t.pos + shift if t.positions else 0
            start = t.startchar if t.chars else 0
            made, advance = word_tokens(t.text, t.mode, t.removestops)
            for text, offset, part_start, part_end, stopped in made:
                t.text, t.stopped = text, stopped
                if t.positions:
                    t.pos = pos + offset
                if t.chars:
                    t.startchar, t.endchar = start + part_start, start + part_end
                yield t
            shift += advance - 1


class LightStemFilter(Filter):
    """Light French stemming on folded words: plural and feminine endings only (soldats→soldat, coréennes→coreen)."""

    is_morph = True  # Whoosh skips it when asked for words as written (analyzer(..., no_morph=True))

    def __call__(self, tokens):
        for t in tokens:
            if not t.stopped:
                t.text = light_stem(t.text)
            yield t


def french_analyzer():
    """Return the French analyzer used for every text field."""
    return RegexTokenizer(WORD_PATTERN) | FrenchWordFilter() | LightStemFilter()


FRENCH = french_analyzer()


def analyze(text: str, mode: str = "query") -> list[str]:
    """Return the terms FRENCH makes of text (index or query mode)."""
    return [t.text for t in FRENCH(text, mode=mode)]
