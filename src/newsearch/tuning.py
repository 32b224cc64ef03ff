"""The search path's tuning knobs, in one object an Engine is given: a test or a benchmark changes a copy."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Tuning:
    """How the engine weighs and bounds its optional work; the defaults are what bench/known_item.py measured."""

    # Whoosh's per-field BM25 (first stage of every query).
    bm25_b: float = 0.75
    bm25_k1: float = 1.2
    # A pasted passage is matched by its rarest words only (None: all of them); the second stage (rerank.py)
    # then orders the first hits with every word.
    passage_match_terms: int | None = 12
    # "recent": a hit's score is multiplied by 0.5 + 0.5 * 2^(-age / half-life), age counted back from the newest
    # article in the index (not today: an archive from 2020 is not all stale), so freshness can at most halve it.
    recent_half_life_days: float = 90
    # Related articles: each named entity an article shares with the one shown multiplies its score by 1 + this.
    related_entity_boost: float = 1.0
    # Exact-form and phrase bonuses, applied to the top hits of keyword queries (see Engine._rescore).
    rescore_window: int = 20
    rescore_chars: int = 1500
    exact_bonus: float = 3.0
    phrase_bonus: float = 1.0
    # "Did you mean" also for a query with this few hits, when one of its words is in at most suggest_rare_df
    # articles and a close word is in suggest_ratio times more: a typo that some article happens to share.
    suggest_few_hits: int = 3
    suggest_rare_df: int = 3
    suggest_ratio: int = 20
    # Close words rank by their slips' cost (typos.py) less this weight times log10 of their document
    # frequency: ten times more articles outweigh a third of a slip ("minstre": ministre, not monstre).
    suggest_freq_weight: float = 0.3
    # A candidate this cheap explains the typed word; its first letter is then not doubted.
    suggest_one_slip: float = 1.0
    # Frequent words of a query checked against how articles write them (each a read of a few articles).
    suggest_respell_words: int = 3
    # Words of a query looked up for "did you mean" (each a scan of the lexicon), the first ones typed.
    suggest_max_words: int = 8
    # Most articles read for the spellings of a suggested word, the one closest to what was typed being shown.
    surface_articles: int = 20
    # The second stage of a pasted passage (rerank.py), tuned on the known-item harness (bench/known_item.py, dev
    # ids only; bench/RESULTS.md has every setting tried). First-stage hits re-ranked at most (the answer is in
    # the top 100 for 96 % of the dev passages), of which only those scoring at least passage_window_share of
    # the best first-stage score, but at least passage_window_min: an article far below the best one is not
    # lifted to the top ten (the same MRR@10 and R@10 at 0.3; 39 articles read on average instead of 100).
    passage_window: int = 100
    passage_window_share: float = 0.5
    passage_window_min: int = 20
    # BM25F over title and body: a title word counts as this many body words, before saturation.
    passage_title_weight: float = 3.0
    passage_k1: float = 0.9
    passage_b: float = 0.75
    # The title and this many first analysed body words are the article's lead; a passage word the lead has
    # adds this to its weighted frequency.
    passage_lead_words: int = 60
    passage_lead_bonus: float = 0.5
    # Weight of the share of the title's words found in the passage.
    passage_title_coverage: float = 0.55
    # What sets an article apart from its closest rivals, most often other articles of the same story: each
    # passage word it has counts its idf times its rarity among the first passage_distinct_hits first-stage
    # hits, ln((hits + 1) / (holders + 0.5)); the sum, over the window's best, weighs this much.
    passage_distinct_weight: float = 0.2
    passage_distinct_hits: int = 10
    # A longer body holds more of any passage's words, the distinctive ones included: each article gains this
    # times ln((1 + rerank.MAX_BODY_CHARS) / (1 + its body's terms)), i.e. loses 0.069 when its body doubles.
    passage_length_prior: float = 0.1
    # News names its own day: a passage saying "lundi" or "le 23 mars" was most likely published that day or the
    # next. Added to an article's second-stage score (rerank.rerank_passage) when it was published
    # 0 or 1 days after a weekday the passage names, and 0, 1, 2 or 3 days from a calendar day it names. On the
    # dev passages the answer fell on the weekday named 59 % of the time (its rivals 16 %), on the day named 39 %
    # (its rivals 1 %).
    passage_weekday_bonus: tuple[float, ...] = (0.2, 0.1)
    passage_date_bonus: tuple[float, ...] = (0.4, 0.2, 0.1, 0.1)
    # Characters of each hit read for a passage's snippet (keyword queries read 6,000): its best window is in the
    # lead, which restates it, and the snippets of a page of 100 passage hits were 40 % of the known-item call.
    passage_snippet_chars: int = 1_500
    # Facet counting: "walk" the matched articles, AND "bits"ets of each value, or None: the cheaper by the cost
    # model of facets.py; and the bitsets kept per field and searcher, at most (n/8 bytes each: 4 KB on the
    # full corpus, 42 KB at 10x).
    facet_strategy: str | None = None
    facet_bitset_bytes: int = 16 << 20

    def changed(self, settings: dict[str, object]) -> Tuning:
        """Return a copy with some knobs changed, refusing a name that is no knob."""
        return _changed(self, settings)


DEFAULT_TUNING = Tuning()


@dataclass(frozen=True)
class IndexTuning:
    """How an indexing job spreads and bounds its work; what gets indexed does not depend on it."""

    # Below this many articles to (re)write in a file, worker processes cost more to start than they save.
    pool_min_articles: int = 2000
    # Segments of one size tier (1–9, 10–99, 100–999… live documents) that merge into one. Whoosh merges in the
    # job's process, re-reading and re-writing every posting, while the workers wait: 7 minutes for 40,000
    # articles here, about the time it takes to index them. Search hardly depends on the number of segments
    # (8,000 articles in 6 or 57 segments: same median and p95), so big segments (1,000 documents and more)
    # merge only once 256 pile up, which bounds the open files; tiny ones (source records, small updates)
    # merge cheaply and soon.
    merge_factor_tiny: int = 4
    merge_factor: int = 16
    merge_factor_big: int = 256
    # JSONL files above this size (decompressed or not) are read line by line, so memory does not grow with them.
    stream_min_bytes: int = 4 * 1024**2

    def changed(self, settings: dict[str, object]) -> IndexTuning:
        """Return a copy with some knobs changed, refusing a name that is no knob."""
        return _changed(self, settings)


DEFAULT_INDEX_TUNING = IndexTuning()


def _changed(knobs, settings: dict[str, object]):
    """Return a copy of a frozen dataclass of knobs with some changed, refusing a name that is no knob."""
    unknown = set(settings) - {f.name for f in fields(knobs)}
    if unknown:
        raise ValueError(f"no such tuning knob: {', '.join(sorted(unknown))}")
    return replace(knobs, **settings)
