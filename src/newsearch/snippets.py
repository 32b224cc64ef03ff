"""Snippets: the words of an article around the densest group of a query's terms, marked **like this**."""

from __future__ import annotations

from whoosh import query as wq

from .analysis import iter_words
from .schema import SEARCH_FIELDS

SNIPPET_WORDS = 32
SNIPPET_SCAN_CHARS = 6_000
MARK = "**"


def query_terms(q) -> set[str]:
    """Return the analyzed terms a query looks for in text fields (for snippets)."""
    terms = set()
    if q is None:
        return terms
    for fieldname, text in q.iter_all_terms(phrases=True):
        if fieldname in SEARCH_FIELDS:
            terms.add(text.decode("utf-8") if isinstance(text, bytes) else text)
    return terms - _negated_terms(q)


def _negated_terms(q) -> set[str]:
    out = set()
    if isinstance(q, wq.Not):
        out |= {t.decode() if isinstance(t, bytes) else t for _, t in q.query.iter_all_terms(phrases=True)}
    elif isinstance(q, wq.compound.CompoundQuery):
        for sub in q.subqueries:
            out |= _negated_terms(sub)
    return out


def _best_window(matches: dict[int, list[str]], hits: list[int], words: int) -> int:
    """Return the hit that starts the window of `words` words holding the most distinct query terms, then the
    most matches (the first such); the window slides over the hits, since a pasted passage can have hundreds
    of them (comparing every pair cost 2 ms a snippet). matches: each hit's query terms."""
    best, best_key = hits[0], (-1, -1)
    inside: dict[str, int] = {}
    end = 0
    for k, start in enumerate(hits):
        while end < len(hits) and hits[end] < start + words:
            for f in matches[hits[end]]:
                inside[f] = inside.get(f, 0) + 1
            end += 1
        key = (len(inside), end - k)
        if key > best_key:
            best, best_key = start, key
        for f in matches[start]:
            if inside[f] == 1:
                del inside[f]
            else:
                inside[f] -= 1
    return best


def make_snippet(text: str, terms: set[str], words: int = SNIPPET_WORDS, scan_chars: int = SNIPPET_SCAN_CHARS) -> str:
    """Return about `words` words of text around the densest group of query terms, marked **like this**; only the
    first scan_chars characters are read."""
    cut = len(text) > scan_chars
    text = text[:scan_chars].replace(MARK, "* *")
    spans, hits, truncated = [], [], False
    matches: dict[int, list[str]] = {}  # each hit's query terms
    missing = set(terms)  # query terms not met yet
    for i, span in enumerate(iter_words(text)):
        spans.append(span)
        if not terms.isdisjoint(span[2]):
            hits.append(i)
            matches[i] = [f for f in span[2] if f in terms]
            missing.difference_update(matches[i])
        if not terms and i >= words:
            break  # nothing to mark (a title match): the opening words are the snippet, and more follow
        # Once every query term has been met, a window past the first hit is all that can be shown:
        # analysing the rest of a long article would only cost time (snippets dominate small searches).
        if hits and not missing and i >= hits[0] + 2 * words:
            truncated = True
            break
    if not spans:
        return ""
    first = max(0, _best_window(matches, hits, words) - 4) if hits else 0
    last = min(len(spans), first + words)
    pieces = []
    pos = spans[first][0]
    for i in range(first, last):
        start, end, _ = spans[i]
        pieces.append(text[pos:start])
        word = text[start:end]
        pieces.append(f"{MARK}{word}{MARK}" if i in matches else word)
        pos = end
    snippet = " ".join("".join(pieces).split())
    prefix = "… " if first > 0 else ""
    suffix = " …" if last < len(spans) or truncated or cut else ""
    return prefix + snippet + suffix
