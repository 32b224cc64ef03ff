"""Search an index in stages: plan → selection (filters) → candidates → ranking → page, as plain data."""

from __future__ import annotations

import heapq
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from whoosh import query as wq
from whoosh import scoring
from whoosh.collectors import TimeLimit

from . import rerank
from .analysis import fold, text_terms
from .budget import Budget
from .dates import ordinal_to_date, parse_bound
from .didyoumean import suggest
from .docsets import DocSet, LeafCache, top_keys
from .errors import NewsearchError, NotFoundError, QueryError, echo
from .facets import FacetCache, month_histogram
from .parse import tag_key
from .query import PASSAGE_BOOSTS, QueryPlan, plan_query, whoosh_query
from .related import related_docs
from .schema import ARTICLE, PASSAGE_COLUMN, SEARCH_FIELDS, SOURCE
from .snippets import SNIPPET_SCAN_CHARS, make_snippet, query_terms
from .store import IndexStore
from .synonyms import load_synonyms
from .tuning import DEFAULT_TUNING, Tuning
from .vocabulary import FACET_KINDS, SORTS, VALUE_FACETS

MAX_LIMIT = 100
MAX_RESULTS_WINDOW = 10_000
# Repeated filters (tag=, personne=…) beyond these many are refused: each is a bitset to AND, and echoed.
MAX_FILTER_VALUES = 20
MAX_FILTER_CHARS = 200
# Longest id looked up: ids are short; a longer one is no article, and is not echoed back.
MAX_ID_CHARS = 200


@dataclass
class SearchRequest:
    """What to search for: the query string and the same filters the CLI and the web offer."""

    q: str = ""
    tags: list[str] = field(default_factory=list)
    since: str | None = None
    until: str | None = None
    # relevance: BM25F; date: newest first; recent: relevance blended with freshness (news wants both).
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
            raise QueryError("bad_sort", value=echo(self.sort))
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError("bad_limit", max=MAX_LIMIT)
        if self.page < 1 or self.page * self.limit > MAX_RESULTS_WINDOW:
            raise QueryError("bad_page", max=MAX_RESULTS_WINDOW // self.limit)
        for kind in VALUE_FACETS:
            values = self.chosen(kind)
            if len(values) > MAX_FILTER_VALUES:
                raise QueryError("too_many_filters", name=kind.param, count=len(values), max=MAX_FILTER_VALUES)
            for value in values:
                if len(value) > MAX_FILTER_CHARS:
                    raise QueryError("filter_too_long", count=len(value), max=MAX_FILTER_CHARS)
        for value in (self.since or "", self.until or ""):
            if len(value) > len("YYYY-MM-DD"):
                raise QueryError("bad_date", value=echo(value))
        if len(self.cluster or "") > MAX_FILTER_CHARS:
            raise QueryError("filter_too_long", count=len(self.cluster), max=MAX_FILTER_CHARS)

    def chosen(self, kind) -> list[str]:
        """Return the values chosen for a facet kind (vocabulary.FACET_KINDS), as given."""
        value = getattr(self, kind.attribute)
        if kind.select == "one":
            return [value] if value else []
        return list(value)


@dataclass
class SearchResults:
    """The answer to a search, as plain data."""

    query: str
    # The articles listed across the pages: with grouping on, one per story, its copies ("reprises") left out.
    total: int
    page: int
    limit: int
    hits: list[dict]
    facets: dict
    # Every matching article, copies included (total, when nothing was grouped).
    total_with_copies: int | None = None
    suggestion: str | None = None
    filters: dict = field(default_factory=dict)
    # Stages the time budget cut ("suggestion", "rerank", "facets", "snippets"); partial when any.
    cut: list[str] = field(default_factory=list)
    plan: dict = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        """Whether the time budget cut some stage: hits and total are right, the rest may be missing."""
        return bool(self.cut)

    @property
    def pages(self) -> int:
        """Number of result pages available."""
        return max(1, min(-(-self.total // self.limit), MAX_RESULTS_WINDOW // self.limit))

    def to_dict(self) -> dict:
        """Return the object `newsearch query --json` and `/api/search` print."""
        return {
            "query": self.query,
            "total": self.total,
            "total_with_copies": self.total if self.total_with_copies is None else self.total_with_copies,
            "page": self.page,
            "pages": self.pages,
            "hits": self.hits,
            "facets": self.facets,
            "suggestion": self.suggestion,
            "filters": self.filters,
            "plan": self.plan,
            "partial": self.partial,
            "cut": list(self.cut),
        }


def count_label(total: int, with_copies: int | None = None, number=str) -> str:
    """Say in French how many articles are listed, and how many with their copies: "4 articles, 6 avec les reprises"."""
    if with_copies is not None and with_copies > total:
        return f"{number(total)} article{'s' if total > 1 else ''}, {number(with_copies)} avec les reprises"
    return f"{number(total)} résultat{'s' if total > 1 else ''}"


# --- what passes between the stages -----------------------------------------------------------


@dataclass
class Selection:
    """What the filters leave of the index: the allowed articles as a bitset, and each filter as results echo it."""

    allowed: int
    values: dict[str, object]  # facet key → the chosen value(s), normalised as the facets show them
    date_phrase: str | None = None  # a date read in the query ("en 2019"), which narrowed since/until

    def echo(self, request: SearchRequest, plan: QueryPlan) -> dict:
        """Return the filters as SearchResults.filters lists them."""
        return {
            **{kind.key: self.values[kind.key] for kind in VALUE_FACETS},
            "since": request.since,
            "until": request.until,
            "sort": request.sort,
            "date_phrase": self.date_phrase,
            "synonyms": [list(g) for g in plan.synonyms],
            "cluster": request.cluster,
        }


@dataclass
class Matcher:
    """A plan's first-stage Whoosh query (None: no words, browse the newest), and whether it is a passage."""

    q: object | None
    passage: bool = False
    # A passage's words → document frequency, read once for both stages.
    df: dict[str, int] = field(default_factory=dict)


@dataclass
class Candidates:
    """The first stage's answer: the top documents the later stages need, their scores, and every match."""

    docs: list[int]
    scores: dict[int, float]
    total: int  # every match, copies included
    matched: DocSet
    copies: int = 0  # matches that grouping hides


# --- first stage: a passage --------------------------------------------------------------------


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


# --- the searcher ----------------------------------------------------------------------------


class Engine:
    """An open index: one searcher shared by all requests, refreshed when a job commits."""

    def __init__(self, index_dir=None, time_limit: float | None = None, tuning: Tuning | None = None):
        self.store = IndexStore(index_dir)
        self.time_limit = time_limit
        self.tuning = tuning or DEFAULT_TUNING
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
        searcher = ix.searcher(weighting=scoring.BM25F(B=self.tuning.bm25_b, K1=self.tuning.bm25_k1))
        # The old searcher is not closed: a request still using it would break; it goes with its last user.
        self._ix, self._searcher, self._generation = ix, searcher, gen
        self._cache = FacetCache(searcher, self.store.current_dir(), self.tuning)
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
                    self._cache = FacetCache(fresh, self.store.current_dir(), self.tuning)
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

    def search(self, request: SearchRequest, budget: Budget | None = None) -> SearchResults:
        """Run a search and return its page of hits with facets over every match.

        Every stage checks one budget (by default the engine's time limit, from now): past it, stages that can
        be cut are (the results say which), and a search with nothing to show raises BudgetExceededError.
        """
        budget = budget or Budget(self.time_limit)
        try:
            return self._search(request, budget)
        except NewsearchError:
            raise
        except Exception:
            # A reader caught in a job's commit can read a half-replaced file (seen once in hundreds of searches
            # during --full rebuilds; Whoosh then raises bare Exception, TypeError, EOFError or OSError): when the
            # index moved meanwhile, open it afresh and answer once more, in the same budget. On an index that
            # did not move, the error is a bug, and is not hidden behind a second try.
            if not self._moved():
                raise
            with self._lock:
                self._open()
            return self._search(request, budget)

    def _moved(self) -> bool:
        """Tell whether a commit or a switched generation made the open searcher stale."""
        try:
            return self.store.current_name() != self._generation or not self._searcher.up_to_date()
        except Exception:  # the table of contents itself half-written: it moved
            return True

    def plan(self, request: SearchRequest) -> QueryPlan:
        """Read a request's query into its plan (size bounds checked, date phrases and synonyms read)."""
        return plan_query(request.q, self.synonyms if request.synonyms else None, request.read_dates)

    def _search(self, request: SearchRequest, budget: Budget) -> SearchResults:
        request.validate()
        plan = self.plan(request)
        searcher, cache = self.refresh()
        selection = self._select(searcher, cache, request, plan)
        matcher = self._matcher(searcher, plan)
        candidates = self._candidates(searcher, cache, matcher, selection, request, budget)
        docs = self._rank(searcher, cache, matcher, candidates, plan, request, budget)
        return self._page(searcher, cache, docs, matcher, selection, candidates, plan, request, budget)

    # -- stage 1: the filters -------------------------------------------------------------------

    @staticmethod
    def _select(searcher, cache: FacetCache, request: SearchRequest, plan: QueryPlan) -> Selection:
        """AND the bitset of every filter: facet values, dates (given, and read in the query), one story."""
        allowed = cache.articles_bits
        values: dict[str, object] = {}
        for kind in VALUE_FACETS:
            chosen = [k for k in map(tag_key, request.chosen(kind)) if k] if kind.keyed else request.chosen(kind)
            for value in chosen:
                allowed &= cache.value_bits(kind.field, value)
            values[kind.key] = (chosen[0] if chosen else None) if kind.select == "one" else chosen
        first = parse_bound(request.since).toordinal() if request.since else None
        last = parse_bound(request.until, end=True).toordinal() if request.until else None
        if first is not None and last is not None and first > last:
            raise QueryError("since_after_until", since=request.since, until=request.until)
        date_phrase = None
        if plan.dates and plan.dates.phrase:
            # A date phrase in the query narrows the explicit filters further: the later start, the earlier end.
            date_phrase = plan.dates.phrase
            if plan.dates.since:
                start = parse_bound(plan.dates.since).toordinal()
                first = max(first or start, start)
            if plan.dates.until:
                end = parse_bound(plan.dates.until, end=True).toordinal()
                last = min(last or end, end)
        if first is not None or last is not None:
            allowed &= cache.in_days(first, last)
        if request.cluster:
            rep = searcher.document_number(id=request.cluster)
            cluster_rep = cache.cluster_of.get(rep) if rep is not None else None
            allowed &= cache.bits_of(cache.cluster_members.get(cluster_rep, [rep] if rep is not None else []))
        return Selection(allowed, values, date_phrase)

    # -- stage 2: the first-stage query and its candidates ----------------------------------------

    def _matcher(self, searcher, plan: QueryPlan) -> Matcher:
        """Turn the plan into the first-stage query: a passage by its rarest words, else the plan's own query."""
        if not plan.long:
            return Matcher(whoosh_query(plan, searcher.schema))
        matcher = Matcher(None, passage=True)
        frequency = self._leaves_of(searcher).doc_frequency
        matcher.q = passage_query(searcher, plan.match, self.tuning.passage_match_terms, matcher.df, frequency)
        if matcher.q is None:
            raise QueryError("no_searchable_word", value=echo(plan.typed))
        return matcher

    def _candidates(self, searcher, cache, matcher: Matcher, selection: Selection, request, budget) -> Candidates:
        """Every match within the selection, and as many top documents as the page and the second stage need."""
        collapse = request.collapse and not request.cluster and bool(cache.cluster_of)

        def wanted(matched: DocSet) -> tuple[int, int]:
            # Collapsing drops copies from the ranking: fetching that many more fills every page it counts.
            copies = self._copies(cache, matched) if collapse else 0
            size = min(request.page * request.limit + copies, MAX_RESULTS_WINDOW)
            if request.sort == "recent":
                size = min(max(size, 200), MAX_RESULTS_WINDOW)  # freshness can lift hits from further down
            if matcher.passage and request.sort != "date":
                size = max(size, self.tuning.passage_window)  # the second stage re-orders that many hits
            return size, copies

        if matcher.q is None:
            return self._browse(cache, selection.allowed, wanted)
        return self._match(searcher, cache, matcher.q, selection.allowed, request, wanted, budget)

    def _match(self, searcher, cache, q, allowed: int, request, wanted, budget: Budget) -> Candidates:
        """Match q within allowed: every match with its exact score, then the top ones by score or by date."""
        if not allowed:
            _, copies = wanted(DocSet(0))
            return Candidates([], {}, 0, DocSet(0), copies)
        # Every match with its exact Whoosh score, from the cached leaves: the total and the facets count
        # them all (Whoosh's pruning collector undercounted), and the top hits are taken from them.
        try:
            every = self._leaves_of(searcher).scores(q, budget)
        except TimeLimit:
            raise budget.exceeded() from None
        found = cache.bits_of(every)
        matched = DocSet(found & allowed)
        if matched.bits != found:  # filters left some out: keep the scores of the others
            every = {d: every[d] for d in matched.docs}
        size, copies = wanted(matched)
        if request.sort == "date":
            # Newest first, ties by docnum, as Whoosh's sort on the ts column.
            docs = top_keys(every, size, key=cache.doc_ts_array.__getitem__)
            return Candidates(docs, {}, len(every), matched, copies)
        # Highest score first, ties by docnum, as Whoosh's top collector.
        docs = top_keys(every, size)
        return Candidates(docs, {d: every[d] for d in docs}, len(every), matched, copies)

    @staticmethod
    def _browse(cache, allowed: int, wanted) -> Candidates:
        """No query words: the newest articles first, whatever the sort."""
        keep = DocSet(allowed)
        total = len(keep)
        size, copies = wanted(keep)
        if total * 16 <= cache.n:
            stamps, days = cache.doc_ts_array, cache.doc_day_array
            ordered = heapq.nsmallest(size, keep.docs, key=lambda d: (-(stamps[d] if days[d] else 0), d))
        else:
            ordered = []
            for d in cache.browse_order:
                if d in keep:
                    ordered.append(d)
                    if len(ordered) == size:
                        break
        return Candidates(ordered, {}, total, keep, copies)

    @staticmethod
    def _copies(cache: FacetCache, matched: DocSet) -> int:
        """Count the matches that grouping hides: every matching member of a story but one."""
        copies = 0
        for members in cache.cluster_members.values():
            found = sum(1 for m in members if m in matched)
            copies += max(0, found - 1)
        return copies

    # -- stage 3: ranking ---------------------------------------------------------------------------

    def _rank(self, searcher, cache, matcher: Matcher, candidates: Candidates, plan, request, budget) -> list[int]:
        """Order the candidates: exact forms and phrases, or a passage's second stage; freshness; one per story."""
        docs, scores = candidates.docs, candidates.scores
        ranked = matcher.q is not None and request.sort != "date"
        if ranked and not matcher.passage and budget.allows("rerank", optional=True):
            docs = self._rescore(searcher, docs, scores, plan.words)
        if ranked and matcher.passage and budget.allows("rerank", optional=True):
            go_on = partial(budget.allows, "rerank", optional=True)
            # An index without a segment has no column to open, and nothing to re-rank.
            column = self._leaves_of(searcher).column(PASSAGE_COLUMN) if docs else None
            found = rerank.rerank_passage(
                searcher, docs, scores, plan.match, matcher.df, go_on, self.tuning, column,
                plan.anchors, cache.doc_day_array,
            )  # fmt: skip
            docs = found or docs
        if matcher.q is not None and request.sort == "recent":
            docs = self._freshen(cache, docs, scores)
        if request.collapse and not request.cluster and cache.cluster_of:
            docs = self._collapse(cache, docs)
        return docs

    def _rescore(self, searcher, docs: list[int], scores: dict, words: list[str]) -> list[int]:
        """Lift, among the top hits, those with the words exactly as typed, and together in that order."""
        if not words or not docs:
            return docs
        tuning = self.tuning
        window = docs[: tuning.rescore_window]
        # Only what the user expressed counts: capitals, else accents; a plain lowercase word says nothing.
        exact = [
            re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)", 0 if w != w.lower() else re.IGNORECASE)
            for w in words
            if w != w.lower() or fold(w) != w.lower()
        ]
        phrase = " ".join(text_terms(" ".join(words))) if len(words) > 1 else None
        if not exact and not phrase:
            return docs  # nothing to lift: one plain lowercase word (the window would not move)
        for d in window:
            fields = searcher.stored_fields(d)
            body = fields.get("title", "") + "\n" + fields.get("body", "")[: tuning.rescore_chars]
            found = sum(1 for pattern in exact if pattern.search(body)) / len(exact) if exact else 0.0
            # Compared as analyzed words, stop words left out: "réforme retraites" meets "réforme des retraites".
            together = bool(phrase) and phrase in " ".join(text_terms(body))
            scores[d] = scores.get(d, 0.0) * (1 + tuning.exact_bonus * found) * (1 + tuning.phrase_bonus * together)
        # Bonuses only raise scores, so the window re-sorted still ranks above everything after it.
        return sorted(window, key=lambda d: -scores[d]) + docs[tuning.rescore_window :]

    def _freshen(self, cache: FacetCache, docs: list[int], scores: dict) -> list[int]:
        """Blend each hit's score with its freshness and re-sort (the "recent" sort)."""
        half_life = self.tuning.recent_half_life_days
        newest = cache.day_keys[-1] if cache.day_keys else 0
        for d in docs:
            age = max(0, newest - cache.doc_day.get(d, 0)) if d in cache.doc_day else 10 * half_life
            scores[d] = scores.get(d, 0.0) * (0.5 + 0.5 * 2 ** (-age / half_life))
        return sorted(docs, key=lambda d: -scores[d])

    @staticmethod
    def _collapse(cache: FacetCache, docs: list[int]) -> list[int]:
        """Keep the best-ranked article of each story (docs are in ranking order)."""
        seen, kept = set(), []
        for d in docs:
            key = cache.cluster_of.get(d, d)
            if key not in seen:
                seen.add(key)
                kept.append(d)
        return kept

    # -- stage 4: the page ------------------------------------------------------------------------

    def _page(self, searcher, cache, docs, matcher, selection, candidates, plan, request, budget) -> SearchResults:
        """Read the page's hits (snippets, stories), the suggestion and the facets into plain results."""
        page_docs = docs[(request.page - 1) * request.limit : request.page * request.limit]
        terms = query_terms(matcher.q)
        leaves = self._leaves_of(searcher)
        # A passage's best window is in the lead, which restates it: its snippets read the start of each article.
        scan = self.tuning.passage_snippet_chars if matcher.passage else SNIPPET_SCAN_CHARS
        hits = []
        for d in page_docs:
            terms_here = terms if budget.allows("snippets") else None
            hits.append(self._hit(searcher, d, candidates.scores.get(d), terms_here, leaves, scan_chars=scan))
        for d, hit in zip(page_docs, hits, strict=True):
            hit["cluster"] = self._cluster_info(searcher, cache, d, candidates.matched)
        suggestion = None
        if matcher.q is not None and not matcher.passage and budget.allows("suggestion", optional=True):
            leaves = self._leaves_of(searcher)
            suggestion = suggest(searcher, leaves, plan, candidates.total, budget, self.tuning)
        return SearchResults(
            query=request.q,
            total=candidates.total - candidates.copies,
            total_with_copies=candidates.total,
            page=request.page,
            limit=request.limit,
            hits=hits,
            facets=self._facets(cache, candidates.matched, budget),
            suggestion=suggestion,
            filters=selection.echo(request, plan),
            cut=list(budget.cut),
            plan=plan.to_dict(),
        )

    @staticmethod
    def _cluster_info(searcher, cache: FacetCache, docnum: int, matched: DocSet) -> dict | None:
        rep = cache.cluster_of.get(docnum)
        if rep is None:
            return None
        copies = sum(1 for m in cache.cluster_members[rep] if m != docnum and m in matched)
        return {"id": searcher.stored_fields(rep)["id"], "reprises": copies} if copies else None

    @staticmethod
    def _hit(searcher, docnum, score, terms, leaves=None, scan_chars: int = SNIPPET_SCAN_CHARS) -> dict:
        """One hit as plain data; terms None: no snippet (the budget cut them)."""
        fields = searcher.stored_fields(docnum)
        field = "body" if fields.get("body") else "summary"
        text = fields.get(field) or ""
        if terms and leaves is not None and not any(_may_hold(leaves, field, t, docnum) for t in terms):
            terms = set()  # the index says no query word is in this text (a title match): nothing to look for
        return {
            **_listing(fields),
            "score": round(score, 4) if score is not None else None,
            "snippet": make_snippet(text, terms, scan_chars=scan_chars) if terms is not None else "",
        }

    @staticmethod
    def _facets(cache: FacetCache, matched: DocSet, budget: Budget | None = None) -> dict:
        """Facet counts over every match, one per kind of vocabulary.FACET_KINDS; each the budget has no time
        for is left empty."""
        budget = budget or Budget(None)

        def count(kind) -> list[dict]:
            if kind.select == "range":
                return month_histogram(cache.count_months(matched))
            counts = cache.count_values(kind.field, matched, kind.size)
            return _ranked(counts, cache.value_labels(kind.field), kind.size)

        facets = {kind.key: count(kind) if budget.allows("facets", optional=True) else [] for kind in FACET_KINDS}
        cache.counted()
        return facets

    # -- single articles ------------------------------------------------------------------------

    def article(self, article_id: str) -> dict:
        """Return one article's stored fields, looked up by id in the index only."""
        searcher, _ = self.refresh()
        if article_id.startswith("source:") or len(article_id) > MAX_ID_CHARS:
            raise _no_article(article_id)
        fields = searcher.document(id=article_id)
        if not fields or fields.get("kind") != ARTICLE:
            raise _no_article(article_id)
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
        docnum = searcher.document_number(id=article_id) if len(article_id) <= MAX_ID_CHARS else None
        if docnum is None or docnum not in DocSet(cache.articles_bits):
            raise _no_article(article_id)
        found = related_docs(searcher, cache, docnum, limit, self.tuning.related_entity_boost)
        return [self._hit(searcher, d, score, set()) for score, d in found]

    # -- stats ------------------------------------------------------------------------------------

    def stats(self) -> dict:
        """Return document count, date range, top tags, size and version of the index."""
        from . import __version__
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
            "version": __version__,
        }


def _may_hold(leaves: LeafCache, field: str, term: str, docnum: int) -> bool:
    """Tell whether a document's field may hold a term: False only when the term's cached postings say so."""
    postings = leaves.cached(wq.Term(field, term))
    return postings is None or docnum in postings


def _no_article(article_id: str) -> NotFoundError:
    return NotFoundError("no_article", value=echo(article_id))


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
