"""French text analysis: one Whoosh pipeline shared by indexing, querying and snippets."""

from __future__ import annotations

import re

from unidecode import unidecode
from whoosh.analysis import Filter, RegexTokenizer

# Bump when anything below changes the tokens an index holds: the index refuses to mix versions.
ANALYSIS_VERSION = 4

# A word, with inner apostrophes and hyphens kept so that elision and compounds are handled by filters.
WORD_PATTERN = r"\w+(?:['’\-]\w+)*"
_WORD_RE = re.compile(WORD_PATTERN)

ELISIONS = frozenset("l d j m n s t c qu jusqu lorsqu puisqu quoiqu presqu quelqu".split())

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
    """Return text lowercased, with ligatures expanded and accents removed, letters and digits only."""
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


def _light_stem(word: str) -> str:
    # Plural first, so that the feminine rules see the singular form.
    if word.endswith("eaux"):
        word = word[:-1]
    elif word.endswith("aux") and len(word) > 4:
        word = word[:-2] + "l"
    elif word.endswith("x"):
        word = word[:-1]
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
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


def normalize_word(word: str) -> str:
    """Return the indexed form of one word (no hyphen), or '' for a stop word: the pipeline's per-token logic."""
    folded = fold(word)
    if not folded or folded in STOP_WORDS:
        return ""
    return light_stem(folded)


class ElisionFilter(Filter):
    """Removes French elided prefixes (l', d', qu', jusqu'…) with either apostrophe, and joins what remains."""

    def __call__(self, tokens):
        for t in tokens:
            text = t.text
            if "'" in text or "’" in text:
                stripped = strip_elision(text)
                if t.chars:
                    t.startchar += len(text) - len(stripped)
                # aujourd'hui, prud'hommes: the rest of the word is one word.
                t.text = stripped.replace("'", "")
            yield t


class HyphenFilter(Filter):
    """Splits hyphenated words into their parts at successive positions, plus the joined word when indexing.

    The joined form shares the first part's position so that both "nord-coréens" as a phrase and
    "nordcoréens" as one word match.
    """

    def __call__(self, tokens):
        shift = 0
        for t in tokens:
            if t.positions:
                t.pos += shift
            if "-" not in t.text:
                yield t
                continue
            parts = [p for p in t.text.split("-") if p]
            if len(parts) < 2:
                t.text = "".join(parts)
                yield t
                continue
            original = t.text
            base_pos = t.pos if t.positions else 0
            start = t.startchar if t.chars else 0
            if t.mode == "index":
                t.text = "".join(parts)
                yield t
            offset = 0
            for i, part in enumerate(parts):
                t.text = part
                if t.positions:
                    t.pos = base_pos + i
                if t.chars:
                    offset = original.find(part, offset)
                    t.startchar = start + offset
                    t.endchar = t.startchar + len(part)
                    offset += len(part)
                yield t
            shift += len(parts) - 1


class LigatureFilter(Filter):
    """Expands the French ligatures œ and æ, which unidecode also handles but the stemmer must never see."""

    def __call__(self, tokens):
        for t in tokens:
            text = t.text
            if "œ" in text or "æ" in text or "Œ" in text or "Æ" in text:
                t.text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
            yield t


class FoldFilter(Filter):
    """Lowercases and removes accents (unidecode), so that "Université" and "universite" are one term."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = fold(t.text)
            if t.text:
                yield t


class FrenchStopFilter(Filter):
    """Removes French stop words and closes the gaps they leave, so phrases match across them.

    Unlike Whoosh's StopFilter it renumbers by counting removed positions, which keeps a hyphenated
    word's joined form at the same position as its first part.
    """

    def __call__(self, tokens):
        removed = 0
        for t in tokens:
            if t.text in STOP_WORDS:
                if t.removestops:
                    removed += 1
                    continue
                t.stopped = True
            else:
                t.stopped = False
            if t.positions:
                t.pos -= removed
            yield t


class LightStemFilter(Filter):
    """Light French stemming on folded words: plural and feminine endings only (soldats→soldat, coréennes→coreen)."""

    def __call__(self, tokens):
        for t in tokens:
            if not t.stopped:
                t.text = light_stem(t.text)
            yield t


def french_analyzer():
    """Return the French analyzer used for every text field."""
    return (
        RegexTokenizer(WORD_PATTERN)
        | ElisionFilter()
        | HyphenFilter()
        | LigatureFilter()
        | FoldFilter()
        | FrenchStopFilter()
        | LightStemFilter()
    )


FRENCH = french_analyzer()


# A word the pipeline leaves as it is, appended to a word to read how many positions that word takes.
_SENTINEL = "zzzq"
_WORD_CACHE: dict[str, tuple[tuple[tuple[str, int], ...], int]] = {}


def word_terms(word: str) -> tuple[tuple[tuple[str, int], ...], int]:
    """Return what FRENCH makes of one word when indexing: its (term, position offset) pairs and positions taken."""
    cached = _WORD_CACHE.get(word)
    if cached is None:
        tokens = FRENCH(word + " " + _SENTINEL, positions=True, mode="index")
        *terms, (_, advance) = [(t.text, t.pos) for t in tokens if not t.stopped]
        cached = (tuple(terms), advance)
        if len(_WORD_CACHE) > _CACHE_LIMIT:
            _WORD_CACHE.clear()
        _WORD_CACHE[word] = cached
    return cached


def index_positions(text: str) -> dict[str, list[int]]:
    """Return each term of text with its positions, exactly as FRENCH indexes them, at a fraction of the cost.

    Every filter of the pipeline works on one word at a time (the position shifts of hyphens and stop words
    add up), so the pipeline runs once per distinct word and its output is replayed at each occurrence.
    """
    words = _WORD_RE.findall(text)
    entries = list(map(_WORD_CACHE.get, words))  # the loop stays in C for the words seen before
    if None in entries:
        entries = [entry or word_terms(word) for entry, word in zip(entries, words, strict=True)]
    positions: dict[str, list[int]] = {}
    base = 0
    for terms, advance in entries:
        for term, offset in terms:
            found = positions.get(term)
            if found is None:
                positions[term] = [base + offset]
            else:
                found.append(base + offset)
        base += advance
    return positions


def analyze(text: str, mode: str = "query") -> list[str]:
    """Return the terms the French analyzer makes of text (a helper for tests, snippets and tools)."""
    return [t.text for t in FRENCH(text, mode=mode)]


def iter_words(text: str):
    """Yield (start, end, terms) for each word of text, terms being its analyzed forms, for highlighting."""
    for match in _WORD_RE.finditer(text):
        word = strip_elision(match.group())
        start = match.end() - len(word)
        parts = [p for p in word.replace("'", "").split("-") if p]
        terms = [normalize_word(p) for p in parts]
        if len(parts) > 1:
            terms.append(normalize_word("".join(parts)))
        yield start, match.end(), [t for t in terms if t]
