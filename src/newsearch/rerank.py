"""Second-stage ranking of pasted passages: BM25F over title and body, title coverage, distinctiveness, days."""

from __future__ import annotations

import math
from collections import Counter

from .analysis import text_terms
from .dates import ordinal_to_date
from .querydates import DayAnchors
from .schema import PASSAGE_COLUMN
from .tuning import DEFAULT_TUNING, Tuning

# A bound on the work per article; longer bodies are rare (dossiers, live blogs). Read when an article is indexed:
# a change to it or to pack_terms' format is a change of the index, which bumps schema.SCHEMA_VERSION.
MAX_BODY_CHARS = 50_000
# Terms are folded words, never holding a control character: these two separate them in the passage column.
_TERM_SEP, _FIELD_SEP = "\x1f", "\x1e"


def article_terms(title: str, body: str, body_words: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Return what the second stage reads of an article: its title's terms and its body's, in order, repeats kept.

    body_words: analysis.text_words(body), if the indexer has them already.
    """
    if len(body) > MAX_BODY_CHARS:
        body, body_words = body[:MAX_BODY_CHARS], None
    return text_terms(title), text_terms(body, body_words)


def pack_terms(title: str, body: str, body_words: list[str] | None = None) -> bytes:
    """Return article_terms as the index's passage column keeps them, analysed once when the article is indexed."""
    title_terms, body_terms = article_terms(title, body, body_words)
    return (_TERM_SEP.join(title_terms) + _FIELD_SEP + _TERM_SEP.join(body_terms)).encode("utf-8")


def unpack_terms(data: bytes) -> tuple[list[str], list[str]]:
    """Return the (title terms, body terms) that pack_terms packed."""
    title, _, body = data.decode("utf-8").partition(_FIELD_SEP)
    return (title.split(_TERM_SEP) if title else []), (body.split(_TERM_SEP) if body else [])


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

    def score(self, title: list[str], body: list[str]) -> float:
        """Return the BM25F score of one article from its title's and body's terms (article_terms)."""
        return self.match(title, body)[0]

    def match(self, title: list[str], body: list[str]) -> tuple[float, set[str]]:
        """Return an article's BM25F score and the passage's terms it has, in its title or body, in one pass."""
        t = self.tuning
        # Only the passage's words are looked up: counting the others (most of a body) was a third of the call.
        title_tf, body_tf = Counter(title), Counter(filter(self.distinct.__contains__, body))
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
        return total, self.distinct.intersection(title_tf).union(body_tf)

    def title_coverage(self, title: list[str]) -> float:
        """Return the share of the title's distinct terms that the passage contains."""
        distinct = set(title)
        return len(distinct & self.distinct) / len(distinct) if distinct else 0.0

    def length_prior(self, body: list[str]) -> float:
        """Return what an article gains for a short body (never below 0: bodies are cut at MAX_BODY_CHARS)."""
        return self.tuning.passage_length_prior * math.log((1 + MAX_BODY_CHARS) / (1 + len(body)))


def distinctiveness(scorer: PassageScorer, window: list[int], present: dict[int, set[str]]) -> dict[int, float]:
    """Return, per article, the idf of its passage words weighted by their rarity among the first hits, over the most.

    The first hits are mostly the passage's story told by several articles: a word they all have tells none apart.
    """
    hits = window[: scorer.tuning.passage_distinct_hits]
    holders = Counter(word for d in hits for word in present[d])
    weight = {w: scorer.idf[w] * max(0.0, math.log((len(hits) + 1) / (holders[w] + 0.5))) for w in scorer.distinct}
    raw = {d: sum(weight[w] for w in present[d]) for d in window}
    top = max(raw.values(), default=0.0) or 1.0
    return {d: value / top for d, value in raw.items()}


def anchor_bonus(anchors: DayAnchors, day: int, tuning: Tuning = DEFAULT_TUNING) -> float:
    """Return what an article published on this day ordinal (0: undated) gains from the days a passage names."""
    if not anchors or day <= 0:
        return 0.0
    published = ordinal_to_date(day)
    bonus = 0.0
    for lag, table in (
        (anchors.weekday_lag(published), tuning.passage_weekday_bonus),
        (anchors.date_lag(published), tuning.passage_date_bonus),
    ):
        if lag is not None and lag < len(table):
            bonus += table[lag]
    return bonus


def rerank_passage(
    searcher,
    docs: list[int],
    scores: dict,
    text: str,
    df: dict[str, int] | None = None,
    allowed=None,
    tuning: Tuning = DEFAULT_TUNING,
    column=None,
    anchors: DayAnchors | None = None,
    days=None,
) -> list[int] | None:
    """Re-order a passage's first hits by BM25F, title coverage, distinctiveness, length and days; later hits below.

    df: document frequencies (the most of title and body) already looked up by the first stage.
    allowed(): checked before each article is read; once it answers False, None is returned and the scores are
    left as they were. Each article's terms come from the passage column (pack_terms), not from its text: column
    is its reader, if the caller keeps one open. anchors: the days the passage names; days[docnum] is each
    article's day ordinal (facets.FacetCache.doc_day_array), 0 if undated.
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
    if column is None:  # a column reader is falsy (its len is 0)
        column = searcher.reader().column_reader(PASSAGE_COLUMN)
    titles, bm25f, present, prior = {}, {}, {}, {}
    for d in window:
        if allowed is not None and not allowed():
            return None
        titles[d], body = unpack_terms(column[d])
        bm25f[d], present[d] = scorer.match(titles[d], body)
        prior[d] = scorer.length_prior(body)
    top = max(bm25f.values()) or 1.0
    distinct = distinctiveness(scorer, window, present)
    anchored = bool(anchors) and days is not None
    for d in window:
        scores[d] = (
            bm25f[d] / top
            + tuning.passage_title_coverage * scorer.title_coverage(titles[d])
            + tuning.passage_distinct_weight * distinct[d]
            + prior[d]
        )
        if anchored:
            scores[d] += anchor_bonus(anchors, days[d], tuning)
    ranked = sorted(window, key=lambda d: -scores[d])
    # Hits past the window stay below it, in their first-stage order, on the same scale.
    floor = min(scores[d] for d in window)
    rest = docs[len(window) :]
    if rest:
        first = scores.get(rest[0]) or 1.0
        for d in rest:
            scores[d] = floor * 0.999 * (scores.get(d) or 0.0) / first
    return ranked + rest
