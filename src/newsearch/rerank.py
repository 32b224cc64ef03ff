"""Second-stage ranking of pasted passages: true BM25F over title and body, plus title coverage."""

from __future__ import annotations

import math
from collections import Counter

from .analysis import text_terms
from .tuning import DEFAULT_TUNING, Tuning


class PassageScorer:
    """Scores articles against one passage with field-weighted BM25 (BM25F) and title coverage."""

    def __init__(self, searcher, text: str, df: dict[str, int] | None = None, tuning: Tuning = DEFAULT_TUNING):
        self.tuning = tuning
        reader = searcher.reader()
        df = df or {}
        self.words = text_terms(text)  # repeats kept: a word said twice weighs twice
        self.distinct = set(self.words)
        n = max(1, searcher.doc_count())
        self.avg_title = max(1.0, reader.field_length("title") / n)
        self.avg_body = max(1.0, reader.field_length("body") / n)
        self.idf = {}
        for word in self.distinct:
            freq = df.get(word)
            if freq is None:
                freq = max(reader.doc_frequency("title", word), reader.doc_frequency("body", word))
            self.idf[word] = math.log(1 + (n - freq + 0.5) / (freq + 0.5))

    def score(self, fields: dict, title: list[str] | None = None) -> float:
        """Return the BM25F score of one article from its stored title (or its analysed words) and body."""
        t = self.tuning
        if title is None:
            title = text_terms(fields.get("title") or "")
        body = text_terms((fields.get("body") or "")[: t.passage_max_body_chars])
        title_tf, body_tf = Counter(title), Counter(body)
        lead = set(title) | set(body[: t.passage_lead_words])
        b = t.passage_b
        title_norm = 1 - b + b * len(title) / self.avg_title
        body_norm = 1 - b + b * len(body) / self.avg_body
        total = 0.0
        for word in self.words:
            tf = t.passage_title_weight * title_tf.get(word, 0) / title_norm + body_tf.get(word, 0) / body_norm
            if word in lead:
                tf += t.passage_lead_bonus
            if tf:
                total += self.idf[word] * tf / (t.passage_k1 + tf)
        return total

    def title_coverage(self, fields: dict, title: list[str] | None = None) -> float:
        """Return the share of the title's distinct words (analysed, if given) that the passage contains."""
        title = set(text_terms(fields.get("title") or "") if title is None else title)
        return len(title & self.distinct) / len(title) if title else 0.0


def rerank_passage(
    searcher,
    docs: list[int],
    scores: dict,
    text: str,
    df: dict[str, int] | None = None,
    allowed=None,
    stored: dict | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> list[int] | None:
    """Re-order a passage's first hits by BM25F plus title coverage; later hits keep their order below.

    df: document frequencies (the most of title and body) already looked up by the first stage.
    allowed(): checked before each article is read (a long body costs milliseconds); once it answers False,
    None is returned and the scores are left as they were.
    stored receives the stored fields read, by document number (the page's hits need them again).
    """
    if not docs:
        return docs
    scorer = PassageScorer(searcher, text, df, tuning)
    if not scorer.words:
        return docs
    window = docs[: tuning.passage_window]
    best = scores.get(window[0]) or 0.0
    least = tuning.passage_window_min
    if best > 0 and len(window) > least:
        kept = sum(1 for d in window[least:] if (scores.get(d) or 0.0) >= tuning.passage_window_share * best)
        window = window[: least + kept]
    stored = {} if stored is None else stored
    titles, bm25f = {}, {}
    for d in window:
        if allowed is not None and not allowed():
            return None
        stored[d] = searcher.stored_fields(d)
        titles[d] = text_terms(stored[d].get("title") or "")
        bm25f[d] = scorer.score(stored[d], titles[d])
    top = max(bm25f.values()) or 1.0
    for d in window:
        scores[d] = bm25f[d] / top + tuning.passage_title_coverage * scorer.title_coverage(stored[d], titles[d])
    ranked = sorted(window, key=lambda d: -scores[d])
    # Hits past the window stay below it, in their first-stage order, on the same scale.
    floor = min(scores[d] for d in window)
    rest = docs[len(window) :]
    if rest:
        first = scores.get(rest[0]) or 1.0
        for d in rest:
            scores[d] = floor * 0.999 * (scores.get(d) or 0.0) / first
    return ranked + rest
