"""Snippets: the words of an article around the densest group of a query's terms, marked **like this**."""

from __future__ import annotations

from collections import Counter

from whoosh import query as wq

from .analysis import word_matches
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


def _best_window(spans: list, hits: list[int], terms: set[str], words: int) -> int:
    """Return the hit that starts the window of `words` words holding the most distinct query terms, then the
    most matches (the first such); the window slides over the hits, since a pasted passage can have hundreds
    of them (comparing every pair cost 2 ms a snippet)."""
    best, best_key = hits[0], (-1, -1)
    inside: Counter = Counter()
    end = 0
    for k, start in enumerate(hits):
        while end < len(hits) and hits[end] < start + words:
            inside.update(f for f in spans[hits[end]][2] if f in terms)
            end += 1
        key = (len(inside), end - k)
        if key > best_key:
            best, best_key = start, key
        for f in spans[start][2]:
            if f in terms:
                inside[f] -= 1
                if not inside[f]:
                    del inside[f]
    return best


class _Spans:
    """The (start, end, forms) of each word of a text, made only for the words a snippet looks at."""

    def __init__(self, matches: list, entries: list, count: int):
        self.matches, self.entries, self.count = matches, entries, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> tuple[int, int, tuple[str, ...]]:
        match = self.matches[i]
        skip, forms = self.entries[i]
        return match.start() + skip, match.end(), forms


def make_snippet(text: str, terms: set[str], words: int = SNIPPET_WORDS, scan_chars: int = SNIPPET_SCAN_CHARS) -> str:
    """Return about `words` words of text around the densest group of query terms, marked **like this**; only the
    first scan_chars characters are read."""
    cut = len(text) > scan_chars
    text = text[:scan_chars].replace(MARK, "* *")
    matches, entries, forms_of, hits = [], [], [], []
    hitting: set[tuple[str, ...]] = set()  # the forms (one per distinct word) that hold a query term
    seen: set[str] = set()
    stop = None
    truncated = False
    for run_matches, run_entries in word_matches(text):
        base = len(forms_of)
        matches += run_matches
        entries += run_entries
        run_forms = [entry[1] for entry in run_entries]
        forms_of += run_forms
        hitting |= {forms for forms in set(run_forms) if terms.intersection(forms)}
        for i, forms in enumerate(run_forms, base):
            if forms in hitting:
                hits.append(i)
                if stop is None:
                    seen.update(terms.intersection(forms))
                    if seen >= terms:
                        stop = max(i, hits[0] + 2 * words)
        if not terms and len(forms_of) > words:
            break  # nothing to mark: the opening words are the snippet, and more follow
        # Once every query term has been met, a window past the first hit is all that can be shown:
        # analysing the rest of a long article would only cost time (snippets dominate small searches).
        if stop is not None and stop < len(forms_of):
            truncated = True
            del matches[stop + 1 :], entries[stop + 1 :]
            hits = [h for h in hits if h <= stop]
            break
    count = len(matches)
    if not count:
        return ""
    spans = _Spans(matches, entries, count)
    first = max(0, _best_window(spans, hits, terms, words) - 4) if hits else 0
    last = min(count, first + words)
    pieces = []
    pos = spans[first][0]
    for i in range(first, last):
        start, end, forms = spans[i]
        pieces.append(text[pos:start])
        word = text[start:end]
        pieces.append(f"{MARK}{word}{MARK}" if forms in hitting else word)
        pos = end
    snippet = " ".join("".join(pieces).split())
    prefix = "… " if first > 0 else ""
    suffix = " …" if last < count or truncated or cut else ""
    return prefix + snippet + suffix
