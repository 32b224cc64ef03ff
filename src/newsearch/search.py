"""Search an index: French query parsing, filters, facets over all matches, snippets, plain-data results."""

from __future__ import annotations

import heapq
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from whoosh import qparser, scoring
from whoosh import query as wq
from whoosh.collectors import TimeLimit

from . import rerank
from .analysis import STOP_WORDS, fold, iter_words, text_terms, word_term, word_terms
from .dates import ordinal_to_date, parse_bound
from .docsets import DocSet, LeafCache, top_keys
from .errors import NewsearchError, NotFoundError, QueryError
from .facets import FacetCache, month_histogram
from .parse import tag_key
from .querydates import extract_date_filters
from .schema import ARTICLE, ENTITY_FIELDS, SEARCH_FIELDS, SOURCE
from .store import IndexStore
from .synonyms import load_synonyms

# relevance: BM25F; date: newest first; recent: relevance blended with freshness (news wants both).
SORTS = ("relevance", "date", "recent")
# "recent": a hit's score is multiplied by 0.5 + 0.5 * 2^(-age / half-life), age counted back from the newest
# article in the index (not today: an archive from 2020 is not all stale), so freshness can at most halve it.
RECENT_HALF_LIFE_DAYS = 90
MAX_QUERY_CHARS = 2000
# A pasted passage is matched by its rarest words only (None: all of them); the second stage (rerank.py)
# then orders the first hits with every word.
PASSAGE_MATCH_TERMS: int | None = 12
ENTITY_FACET_SIZE = 20
TAG_FACET_SIZE = 100
MAX_WORD_CHARS = 80
MAX_DEPTH = 8
MAX_LIMIT = 100
MAX_RESULTS_WINDOW = 10_000
# Up to this many words every word must match; beyond, it is a pasted passage: any word may match.
LONG_QUERY_WORDS = 6
SNIPPET_WORDS = 32
SNIPPET_SCAN_CHARS = 6_000
MARK = "**"
# Exact-form and phrase bonuses, applied to the top hits of keyword queries (see Engine._rescore).
RESCORE_WINDOW = 20
RESCORE_CHARS = 1500
EXACT_BONUS = 3.0
PHRASE_BONUS = 1.0
# "Did you mean" also for a query with this few hits, when one of its words is in at most SUGGEST_RARE_DF
# articles and a close word is in SUGGEST_RATIO times more: a typo that some article happens to share.
SUGGEST_FEW_HITS = 3
SUGGEST_RARE_DF = 3
SUGGEST_RATIO = 20

FIELD_BOOSTS = {"title": 2.0, "summary": 1.2, "body": 1.0, "tags": 1.5}
# A pasted passage is matched against content: a strong title boost lets title words drown it
# (known-item dev ids: title 2.0 gave MRR@10 0.674; on the first 200 ids 1.0 gave 0.700, 1.2 gave 0.692).
PASSAGE_BOOSTS = {"title": 1.0, "summary": 1.0, "body": 1.0, "tags": 1.0}
QUERY_FIELDS = {"title": "title", "titre": "title", "tag": "tags", "tags": "tags", "body": "body",
                "texte": "body", "summary": "summary", "chapo": "summary"}  # fmt: skip

_OPERATOR_WORDS = {"AND", "OR", "NOT", "ET", "OU", "SAUF"}
_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‟": '"', "’": "'", "‘": "'"})
# Syntax a user typed on purpose; quotes and parentheses in a pasted passage are not.
_EXPLICIT = re.compile(r"\b(?:AND|OR|NOT|ET|OU|SAUF)\b|(?:^|\s)-\w|\b\w+:(?=\S)")


@dataclass
class SearchRequest:
    """What to search for: the query string and the same filters the CLI and the web offer."""

    q: str = ""
    tags: list[str] = field(default_factory=list)
    since: str | None = None
    until: str | None = None
    sort: str = "relevance"
    page: int = 1
    limit: int = 10
    section: str | None = None
    # Read French date phrases in q ("depuis janvier 2026", "en 2019") as date filters.
    read_dates: bool = True
    # Expand words of the editable synonyms list (OTAN ↔ NATO, PS ↔ Parti socialiste).
    synonyms: bool = True
    # Only articles naming these people, places, organisations (canonical names, as in the facets; AND).
    persons: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    # Show one article per wire story (the best ranked), with the number of other copies.
    collapse: bool = True
    # Only the copies of this story (the id of its representative), to show them on demand.
    cluster: str | None = None

    def validate(self) -> None:
        """Raise QueryError for values out of range."""
        if self.sort not in SORTS:
            raise QueryError(f"invalid sort {self.sort!r}: use relevance, date or recent")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
        if self.page < 1 or self.page * self.limit > MAX_RESULTS_WINDOW:
            raise QueryError(f"page must be between 1 and {MAX_RESULTS_WINDOW // self.limit}")
        if len(self.q) > MAX_QUERY_CHARS:
            raise QueryError(f"query too long ({len(self.q)} characters, at most {MAX_QUERY_CHARS})")


@dataclass
class SearchResults:
    """The answer to a search, as plain data."""

    query: str
    total: int
    page: int
    limit: int
    hits: list[dict]
    facets: dict
    suggestion: str | None = None
    filters: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Number of result pages available."""
        return max(1, min(-(-self.total // self.limit), MAX_RESULTS_WINDOW // self.limit))

    def to_dict(self) -> dict:
        """Return the object `newsearch query --json` and `/api/search` print."""
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "pages": self.pages,
            "hits": self.hits,
            "facets": self.facets,
            "suggestion": self.suggestion,
            "filters": self.filters,
        }


# --- query parsing ---------------------------------------------------------------------------


def normalize_query(text: str) -> str:
    """Make French typography parseable: « » and curly quotes become ", ’ becomes '."""
    text = text.translate(_QUOTES)
    # An odd quote would swallow the rest of the query: drop the last one.
    if text.count('"') % 2:
        i = text.rfind('"')
        text = text[:i] + " " + text[i + 1 :]
    return " ".join(text.split())


def _check_shape(text: str) -> None:
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise QueryError(f"query nested too deeply (more than {MAX_DEPTH} levels of parentheses)")
        elif ch == ")":
            depth = max(0, depth - 1)
    for word in text.split():
        if len(word) > MAX_WORD_CHARS:
            raise QueryError(f"word too long in query ({len(word)} characters, at most {MAX_WORD_CHARS})")


def is_long_query(text: str) -> bool:
    """Tell whether a query is a pasted passage (many words, no operator or field) rather than keywords."""
    if _EXPLICIT.search(text):
        return False
    # Words as typed: an elided "jusqu'à" or "qu'il" is one word the user wrote, though it has no term.
    words = [w for w in text.split() if fold(w) not in STOP_WORDS and fold(w) or "-" in w]
    return len(words) > LONG_QUERY_WORDS


def typed_words(text: str) -> list[str]:
    """Return the words of a keyword query as typed, without operators, fields, exclusions or stop words."""
    words = []
    for token in normalize_query(text).split():
        if token in _OPERATOR_WORDS or token.startswith("-") or ":" in token:
            continue
        # Each word without its elided article: "l'État" is typed as "État".
        words += [token[start:end] for start, end, forms in iter_words(token) if forms]
    return words


def passage_query(searcher, text: str, keep: int | None, df: dict[str, int] | None = None, frequency=None):
    """Return the first-stage query of a pasted passage: its rarest words, in every article field, OR-ed.

    df receives each word's document frequency (the most of title and body), for the second stage;
    frequency(field, term) looks one up (default: the reader's doc_frequency).
    """
    frequency = frequency or searcher.reader().doc_frequency
    df = {} if df is None else df
    for term in text_terms(text):
        if term not in df:
            df[term] = max(frequency(f, term) for f in ("title", "body"))
    if not df:
        return None
    # Words absent from the index cannot match: leaving them out keeps the rarest that can.
    found = sorted((n, t) for t, n in df.items() if n) or [(0, t) for t in df]
    terms = [t for _, t in found[:keep]]
    return wq.Or([wq.Term(f, t, boost=PASSAGE_BOOSTS[f]) for t in terms for f in SEARCH_FIELDS])


def strip_syntax(text: str) -> str:
    """Remove quotes, parentheses and +/- prefixes: a pasted passage is words, not syntax."""
    return " ".join(re.sub(r'["()+]|(?:^|(?<=\s))-', " ", text).split())


def build_parser(schema, long_query: bool):
    """Return a parser over the article fields with only the syntax newsearch documents."""
    # Plain OR: the coordination bonus of OrGroup.factory() disables Whoosh's fast matcher (3x slower).
    group = qparser.OrGroup if long_query else qparser.AndGroup
    boosts = PASSAGE_BOOSTS if long_query else FIELD_BOOSTS
    parser = qparser.MultifieldParser(list(SEARCH_FIELDS), schema, fieldboosts=boosts, group=group)
    # Wildcards, ranges and single quotes (French apostrophes!) are not part of the language.
    for plugin_class in (
        qparser.WildcardPlugin,
        qparser.RangePlugin,
        qparser.SingleQuotePlugin,
        qparser.BoostPlugin,
        qparser.EveryPlugin,
        qparser.FieldsPlugin,
    ):
        parser.remove_plugin_class(plugin_class)
    names = "|".join(sorted(QUERY_FIELDS, key=len, reverse=True))
    parser.add_plugin(qparser.FieldsPlugin(expr=rf"(?P<text>(?i:{names})):"))
    parser.add_plugin(qparser.FieldAliasPlugin({"title": ["titre"], "tags": ["tag"], "body": ["texte"],
                                                 "summary": ["chapo"]}))  # fmt: skip
    # Only a leading - excludes: the hyphen inside "Nord-Coréens" is part of the word.
    parser.add_plugin(
        qparser.PlusMinusPlugin(plusexpr=r"(?:^|(?<=[\s(]))\+(?=\w)", minusexpr=r"(?:^|(?<=[\s(]))-(?=\w)")
    )
    parser.add_plugin(qparser.FuzzyTermPlugin())
    parser.replace_plugin(
        qparser.OperatorsPlugin(
            And=r"(?<=\s)(?:AND|ET)(?=\s)",
            Or=r"(?<=\s)(?:OR|OU)(?=\s)",
            Not=r"(^|(?<=(\s|[()])))(?:NOT|SAUF)(?=\s)",
            AndNot=None,
            AndMaybe=None,
            Require=None,
        )
    )
    return parser


def _lower_field_names(text: str) -> str:
    return re.sub(
        r"\b(\w+):", lambda m: m.group(1).lower() + ":" if m.group(1).lower() in QUERY_FIELDS else m.group(0), text
    )


def parse_query(text: str, schema):
    """Parse a user query into a Whoosh query, or None for an empty query (browse everything)."""
    text = normalize_query(text)
    if not text:
        return None
    _check_shape(text)
    text = _lower_field_names(text)
    long_query = is_long_query(text)
    if long_query:
        text = strip_syntax(text)
    try:
        q = build_parser(schema, long_query).parse(text)
    except RecursionError:
        raise QueryError("query nested too deeply") from None
    except Exception:  # Whoosh's parser raises assorted exceptions on odd input: read it as plain words
        try:
            q = build_parser(schema, long_query).parse(strip_syntax(text))
        except Exception as exc:
            raise QueryError(f"malformed query: {exc}") from None
    q = _bound_fuzzy(q)
    if q is None or q is wq.NullQuery or isinstance(q, wq.NullQuery.__class__):
        raise QueryError(f"the query {text!r} has no searchable word (only stop words or operators)")
    if _only_negative(q):
        raise QueryError("a query needs at least one word that must match, not only excluded words")
    return q


def _only_negative(q) -> bool:
    if isinstance(q, wq.Not):
        return True
    if isinstance(q, wq.And):
        return all(_only_negative(sub) for sub in q.subqueries)
    return False


def _bound_fuzzy(q):
    """Keep fuzzy terms cheap: at most 2 edits and a 2-letter prefix that must match."""
    if isinstance(q, wq.FuzzyTerm):
        q.maxdist = min(q.maxdist, 1 if len(q.text) < 5 else 2)
        q.prefixlength = min(max(q.prefixlength, 2), len(q.text))
        return q
    if isinstance(q, wq.compound.CompoundQuery):
        q.subqueries = [s for s in (_bound_fuzzy(s) for s in q.subqueries) if s is not None]
    elif isinstance(q, wq.Not):
        q.query = _bound_fuzzy(q.query)
    return q


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


# --- snippets --------------------------------------------------------------------------------


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


def make_snippet(text: str, terms: set[str], words: int = SNIPPET_WORDS) -> str:
    """Return about `words` words of text around the densest group of query terms, marked **like this**."""
    text = text[:SNIPPET_SCAN_CHARS].replace(MARK, "* *")
    spans, hits, seen, truncated = [], [], set(), False
    for i, span in enumerate(iter_words(text)):
        spans.append(span)
        found = terms.intersection(span[2])
        if found:
            hits.append(i)
            seen |= found
        # Once every query term has been met, a window past the first hit is all that can be shown:
        # analysing the rest of a long article would only cost time (snippets dominate small searches).
        if hits and seen >= terms and i >= hits[0] + 2 * words:
            truncated = True
            break
    if not spans:
        return ""
    if hits:
        first = max(0, _best_window(spans, hits, terms, words) - 4)
    else:
        first = 0
    last = min(len(spans), first + words)
    pieces = []
    pos = spans[first][0]
    for i in range(first, last):
        start, end, forms = spans[i]
        pieces.append(text[pos:start])
        word = text[start:end]
        pieces.append(f"{MARK}{word}{MARK}" if terms.intersection(forms) else word)
        pos = end
    snippet = " ".join("".join(pieces).split())
    prefix = "… " if first > 0 else ""
    suffix = " …" if last < len(spans) or truncated else ""
    return prefix + snippet + suffix


# --- the searcher ----------------------------------------------------------------------------


class Engine:
    """An open index: one searcher shared by all requests, refreshed when a job commits."""

    def __init__(self, index_dir=None, time_limit: float | None = None):
        self.store = IndexStore(index_dir)
        self.time_limit = time_limit
        self._lock = threading.Lock()
        self._generation = None
        self._ix = None
        self._searcher = None
        self._cache = None
        self._leaves = None
        self.synonyms = load_synonyms()
        self._open()

    def _open(self):
        gen = self.store.current_name()
        ix = self.store.open()
        searcher = ix.searcher(weighting=scoring.BM25F(B=0.75, K1=1.2))
        # The old searcher is not closed: a request still using it would break; it goes with its last user.
        self._ix, self._searcher, self._generation = ix, searcher, gen
        self._cache = FacetCache(searcher, self.store.current_dir())
        self._leaves = LeafCache(searcher)

    def refresh(self):
        """Pick up new commits and a switched generation; returns the searcher and cache to use."""
        with self._lock:
            if self.store.current_name() != self._generation:
                self._open()
            else:
                fresh = self._searcher.refresh()
                if fresh is not self._searcher:
                    self._searcher = fresh
                    self._cache = FacetCache(fresh, self.store.current_dir())
                    self._leaves = LeafCache(fresh)
            return self._searcher, self._cache

    def _leaves_of(self, searcher) -> LeafCache:
        """The leaf cache of this searcher: another thread may have refreshed to a newer one meanwhile, whose
        document numbers differ; such a request gets a cache of its own."""
        leaves = self._leaves
        return leaves if leaves is not None and leaves.searcher is searcher else LeafCache(searcher)

    @property
    def schema(self):
        """The index's schema."""
        return self._ix.schema

    def close(self):
        """Release the searcher."""
        if self._searcher is not None:
            self._searcher.close()

    # -- search ---------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResults:
        """Run a search and return its page of hits with facets over every match."""
        try:
            return self._search(request)
        except NewsearchError:
            raise
        except Exception:
            # A reader caught in a job's commit can read a half-replaced file (seen once in hundreds of
            # searches during --full rebuilds): open the index afresh and answer once more.
            with self._lock:
                self._open()
            return self._search(request)

    def _search(self, request: SearchRequest) -> SearchResults:
        request.validate()
        searcher, cache = self.refresh()
        text, date_phrase, query_days = request.q, None, (None, None)
        # A pasted passage mentions dates of events ("en 2017"), not the period wanted: only keyword queries.
        if request.read_dates and not is_long_query(normalize_query(request.q)):
            found = extract_date_filters(request.q)
            if found.phrase:
                text, date_phrase = found.query, found.phrase
                query_days = (
                    parse_bound(found.since).toordinal() if found.since else None,
                    parse_bound(found.until, end=True).toordinal() if found.until else None,
                )
        groups = []
        if request.synonyms and text and not is_long_query(normalize_query(text)):
            groups = self.synonyms.groups_for(text)
            if groups:
                text = self.synonyms.expand(text)
        passage_df: dict[str, int] = {}
        if is_long_query(normalize_query(text)):
            _check_shape(normalize_query(text))
            q = passage_query(searcher, text, PASSAGE_MATCH_TERMS, passage_df, self._leaves_of(searcher).doc_frequency)
            if q is None:
                raise QueryError(f"the query {text!r} has no searchable word (only stop words or operators)")
        else:
            q = parse_query(text, searcher.schema)
        allowed = cache.articles_bits  # a bitset: each filter below ANDs another one
        tag_keys = [tag_key(t) for t in request.tags if tag_key(t)]
        for key in tag_keys:
            allowed &= cache.tag_bits(key)
        for field_name, names in (("person", request.persons), ("place", request.places), ("org", request.orgs)):
            for name in names:
                allowed &= cache.entity_bits(field_name, name)
        section_key = tag_key(request.section) if request.section else None
        if section_key:
            allowed &= cache.section_bits(section_key)
        first = parse_bound(request.since).toordinal() if request.since else None
        last = parse_bound(request.until, end=True).toordinal() if request.until else None
        if first is not None and last is not None and first > last:
            raise QueryError("--since is after --until")
        # A date phrase in the query narrows the explicit filters further: the later start, the earlier end.
        if query_days[0] is not None:
            first = max(first or query_days[0], query_days[0])
        if query_days[1] is not None:
            last = min(last or query_days[1], query_days[1])
        if first is not None or last is not None:
            allowed &= cache.in_days(first, last)
        cluster_rep = None
        if request.cluster:
            rep = searcher.document_number(id=request.cluster)
            cluster_rep = cache.cluster_of.get(rep) if rep is not None else None
            allowed &= cache.bits_of(cache.cluster_members.get(cluster_rep, [rep] if rep is not None else []))
        collapse = request.collapse and not request.cluster and bool(cache.cluster_of)
        wanted = request.page * request.limit
        # Collapsing drops copies from the ranking: fetch more so that the page still fills up.
        fetch = min(wanted * 2 + 20, MAX_RESULTS_WINDOW) if collapse else wanted
        if request.sort == "recent":
            fetch = min(max(fetch, 200), MAX_RESULTS_WINDOW)  # freshness can lift hits from further down
        passage = q is not None and request.sort != "date" and is_long_query(normalize_query(text))
        if passage:
            fetch = max(fetch, rerank.WINDOW)  # the second stage re-orders that many first-stage hits
        if q is None:
            hits_docs, total, matched = self._browse(searcher, cache, allowed, request, fetch)
            scores = {}
        else:
            hits_docs, scores, total, matched = self._run(searcher, cache, q, allowed, request, fetch)
        if q is not None and request.sort != "date" and not is_long_query(normalize_query(text)):
            hits_docs = self._rescore(searcher, hits_docs, scores, text)
        if passage:
            hits_docs = rerank.rerank_passage(searcher, hits_docs, scores, text, passage_df)
        if q is not None and request.sort == "recent":
            hits_docs = self._freshen(cache, hits_docs, scores)
        if collapse:
            hits_docs = self._collapse(cache, hits_docs)
        page_docs = hits_docs[(request.page - 1) * request.limit : wanted]
        terms = query_terms(q)
        hits = [self._hit(searcher, d, scores.get(d), terms) for d in page_docs]
        for d, hit in zip(page_docs, hits, strict=True):
            hit["cluster"] = self._cluster_info(searcher, cache, d, matched)
        suggestion = (
            self.suggest(searcher, request.q, found=total) if q is not None and total <= SUGGEST_FEW_HITS else None
        )
        return SearchResults(
            query=request.q,
            total=total,
            page=request.page,
            limit=request.limit,
            hits=hits,
            facets=self._facets(cache, matched),
            suggestion=suggestion,
            filters={
                "tags": tag_keys,
                "since": request.since,
                "until": request.until,
                "sort": request.sort,
                "section": section_key,
                "date_phrase": date_phrase,
                "synonyms": [list(g) for g in groups],
                "cluster": request.cluster,
                "personnes": list(request.persons),
                "lieux": list(request.places),
                "organisations": list(request.orgs),
            },
        )

    @staticmethod
    def _rescore(searcher, docs: list[int], scores: dict, text: str) -> list[int]:
        """Lift, among the top hits, those with the words exactly as typed, and together in that order."""
        words = typed_words(text)
        if not words or not docs:
            return docs
        window = docs[:RESCORE_WINDOW]
        # Only what the user expressed counts: capitals, else accents; a plain lowercase word says nothing.
        exact = [
            re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)", 0 if w != w.lower() else re.IGNORECASE)
            for w in words
            if w != w.lower() or fold(w) != w.lower()
        ]
        phrase = " ".join(text_terms(" ".join(words))) if len(words) > 1 else None
        for d in window:
            fields = searcher.stored_fields(d)
            body = fields.get("title", "") + "\n" + fields.get("body", "")[:RESCORE_CHARS]
            found = sum(1 for pattern in exact if pattern.search(body)) / len(exact) if exact else 0.0
            # Compared as analyzed words, stop words left out: "réforme retraites" meets "réforme des retraites".
            together = bool(phrase) and phrase in " ".join(text_terms(body))
            scores[d] = scores.get(d, 0.0) * (1 + EXACT_BONUS * found) * (1 + PHRASE_BONUS * together)
        # Bonuses only raise scores, so the window re-sorted still ranks above everything after it.
        return sorted(window, key=lambda d: -scores[d]) + docs[RESCORE_WINDOW:]

    @staticmethod
    def _freshen(cache: FacetCache, docs: list[int], scores: dict) -> list[int]:
        """Blend each hit's score with its freshness and re-sort (the "recent" sort)."""
        newest = cache._day_keys[-1] if cache._day_keys else 0
        for d in docs:
            age = max(0, newest - cache.doc_day.get(d, 0)) if d in cache.doc_day else 10 * RECENT_HALF_LIFE_DAYS
            scores[d] = scores.get(d, 0.0) * (0.5 + 0.5 * 2 ** (-age / RECENT_HALF_LIFE_DAYS))
        return sorted(docs, key=lambda d: -scores[d])

    @staticmethod
    def _collapse(cache: FacetCache, docs: list[int]) -> list[int]:
        seen, kept = set(), []
        for d in docs:
            key = cache.cluster_of.get(d, d)
            if key not in seen:
                seen.add(key)
                kept.append(d)
        return kept

    @staticmethod
    def _cluster_info(searcher, cache: FacetCache, docnum: int, matched: DocSet) -> dict | None:
        rep = cache.cluster_of.get(docnum)
        if rep is None:
            return None
        copies = sum(1 for m in cache.cluster_members[rep] if m != docnum and m in matched)
        return {"id": searcher.stored_fields(rep)["id"], "reprises": copies} if copies else None

    def _run(self, searcher, cache, q, allowed: int, request, wanted):
        if not allowed:
            return [], {}, 0, DocSet(0)
        # Every match with its exact Whoosh score, from the cached leaves: the total and the facets count
        # them all (Whoosh's pruning collector undercounted), and the top hits are taken from them.
        deadline = time.monotonic() + self.time_limit if self.time_limit else None
        try:
            every = self._leaves_of(searcher).scores(q, deadline)
        except TimeLimit:
            raise QueryError("query too costly: it took longer than the time limit; make it more specific") from None
        found = cache.bits_of(every)
        matched = DocSet(found & allowed)
        if matched.bits != found:  # filters left some out: keep the scores of the others
            every = {d: every[d] for d in matched.docs}
        if request.sort == "date":
            # Newest first, ties by docnum, as Whoosh's sort on the ts column.
            docs = top_keys(every, wanted, key=cache.doc_ts_array.__getitem__)
            return docs, {}, len(every), matched
        # Highest score first, ties by docnum, as Whoosh's top collector.
        docs = top_keys(every, wanted)
        return docs, {d: every[d] for d in docs}, len(every), matched

    @staticmethod
    def _browse(searcher, cache, allowed: int, request, wanted):
        # No query words: the newest articles first, whatever the sort.
        keep = DocSet(allowed)
        total = len(keep)
        if total * 16 <= cache.n:
            stamps, days = cache.doc_ts_array, cache.doc_day_array
            ordered = heapq.nsmallest(wanted, keep.docs, key=lambda d: (-(stamps[d] if days[d] else 0), d))
        else:
            ordered = []
            for d in cache.browse_order:
                if d in keep:
                    ordered.append(d)
                    if len(ordered) == wanted:
                        break
        return ordered, total, keep

    @staticmethod
    def _hit(searcher, docnum, score, terms) -> dict:
        fields = searcher.stored_fields(docnum)
        text = fields.get("body") or fields.get("summary") or ""
        return {
            **_listing(fields),
            "score": round(score, 4) if score is not None else None,
            "snippet": make_snippet(text, terms),
        }

    @staticmethod
    def _facets(cache: FacetCache, matched: DocSet) -> dict:
        facets = {
            "tags": _ranked(cache.count_tags(matched, TAG_FACET_SIZE), cache.labels, TAG_FACET_SIZE),
            "date": month_histogram(cache.count_months(matched)),
            "section": _ranked(cache.count_sections(matched), cache.section_labels),
        }
        for field_name, key in ENTITY_FIELDS.items():
            counts = cache.count_entities(field_name, matched, ENTITY_FACET_SIZE)
            facets[key] = _ranked(counts, {}, ENTITY_FACET_SIZE)
        cache.counted()
        return facets

    # -- single articles ------------------------------------------------------------------------

    def article(self, article_id: str) -> dict:
        """Return one article's stored fields, looked up by id in the index only."""
        searcher, _ = self.refresh()
        if article_id.startswith("source:"):
            raise NotFoundError(f"no article with id {article_id!r}")
        fields = searcher.document(id=article_id)
        if not fields or fields.get("kind") != ARTICLE:
            raise NotFoundError(f"no article with id {article_id!r}")
        return {
            **_listing(fields),
            "author": fields.get("author", ""),
            "summary": fields.get("summary", ""),
            "body": fields.get("body", ""),
            "path": fields.get("path", ""),
            "entities": fields.get("entities", {}),
        }

    def related(self, article_id: str, limit: int = 5) -> list[dict]:
        """Return articles like this one (Whoosh more-like-this), one per story and none a copy of it."""
        searcher, cache = self.refresh()
        docnum = searcher.document_number(id=article_id)
        if docnum is None or docnum not in DocSet(cache.articles_bits):
            raise NotFoundError(f"no article with id {article_id!r}")
        results = searcher.more_like(docnum, "body", top=limit * 3 + 10, numterms=25, filter=set(cache.articles))
        seen = {cache.cluster_of.get(docnum, docnum)}
        related = []
        for hit in results:
            key = cache.cluster_of.get(hit.docnum, hit.docnum)
            if key in seen:
                continue  # a wire copy of this article, or of one already listed
            seen.add(key)
            related.append(self._hit(searcher, hit.docnum, hit.score, set()))
            if len(related) == limit:
                break
        return related

    # -- did you mean ---------------------------------------------------------------------------

    def suggest(self, searcher, text: str, found: int = 0) -> str | None:
        """Return the query with unknown words replaced by close, frequent index words, or None.

        When the query found a few articles (found > 0), only words that are rare and have a far more
        frequent close word are replaced.
        """
        reader = searcher.reader()
        changed = False
        out = []
        for token in normalize_query(text).split():
            core = token.strip('"().,;:!?[]{}~')
            plain = core and ":" not in core and not core.startswith("-") and core not in _OPERATOR_WORDS | {"TO"}
            term = word_term(core) if plain else ""
            df = max(reader.doc_frequency("body", term), reader.doc_frequency("title", term)) if term else 0
            if not term or term.isdigit() or (df and not found) or df > SUGGEST_RARE_DF:
                out.append(token)
                continue
            best = None
            within = self._leaves_of(searcher).terms_within
            for candidate in within("body", term, 2 if len(term) > 5 else 1, prefix=1):
                freq = reader.doc_frequency("body", candidate)
                if candidate != term and freq >= SUGGEST_RATIO * df and (best is None or freq > best[0]):
                    best = (freq, candidate)
            if best is None:
                out.append(token)
                continue
            changed = True
            word = core[word_terms(core).skip :]  # the elided article stays as typed: l'inflaton → l'inflation
            out.append(token.replace(word, _surface(searcher, best[1], word)))
        return " ".join(out) if changed else None

    # -- stats ------------------------------------------------------------------------------------

    def stats(self) -> dict:
        """Return document count, date range, top tags, size and version of the index."""
        from .schema import INDEX_VERSION

        searcher, cache = self.refresh()
        days = cache.day_keys
        tags = Counter(cache.tag_counts())
        return {
            "documents": len(cache.articles),
            "sources": sum(1 for _ in searcher.document_numbers(kind=SOURCE)),
            "date_min": ordinal_to_date(days[0]).isoformat() if days else None,
            "date_max": ordinal_to_date(days[-1]).isoformat() if days else None,
            "undated": len(cache.articles) - len(days),
            "top_tags": [
                {"value": key, "label": cache.labels.get(key, key), "count": count}
                for key, count in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
            ],
            "index_dir": str(self.store.root),
            "generation": self._generation,
            "size_bytes": self.store.size_bytes(),
            "index_version": INDEX_VERSION,
        }


def _surface(searcher, term: str, typed: str) -> str:
    """Return a word as written in an article whose analyzed form is term (index terms are stems)."""
    word = term
    hits = searcher.search(wq.Term("body", term), limit=1)
    if hits:
        text = hits[0].get("body", "")[:SNIPPET_SCAN_CHARS]
        for start, end, forms in iter_words(text):
            if term in forms:
                word = text[start:end].lower()
                break
    return word.capitalize() if typed[:1].isupper() else word


def _listing(fields: dict) -> dict:
    """Return the stored fields every listing of an article shows."""
    return {
        "id": fields["id"],
        "title": fields.get("title", ""),
        "url": fields.get("url", ""),
        "date": fields.get("date", ""),
        "tags": fields.get("taglist", []),
        "section": fields.get("section", ""),
    }


def _ranked(counts: Counter, labels: dict, size: int | None = None) -> list[dict]:
    """Return facet values {value, label, count}, most frequent first (ties alphabetical)."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
    return [{"value": value, "label": labels.get(value, value), "count": count} for value, count in ranked]
