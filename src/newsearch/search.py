"""Search an index: French query parsing, filters, facets over all matches, snippets, plain-data results."""

from __future__ import annotations

import heapq
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from whoosh import query as wq
from whoosh import scoring
from whoosh.collectors import TimeLimit

from . import rerank
from .analysis import (
    fold,
    iter_words,
    light_stem,
    strip_elision,
    text_terms,
    word_term,
    word_terms,
)
from .budget import Budget
from .dates import ordinal_to_date, parse_bound
from .docsets import DocSet, LeafCache, top_keys
from .errors import NewsearchError, NotFoundError, QueryError, echo
from .facets import FacetCache, month_histogram
from .parse import tag_key
from .query import PASSAGE_BOOSTS, QueryPlan, plan_query, whoosh_query
from .schema import ARTICLE, ENTITY_FIELDS, SEARCH_FIELDS, SOURCE
from .store import IndexStore
from .synonyms import load_synonyms
from .typos import DOUBLED, closest_cost, first_letter_slips, spellings, typo_cost
from .vocabulary import SORTS

# relevance: BM25F; date: newest first; recent: relevance blended with freshness (news wants both).
# "recent": a hit's score is multiplied by 0.5 + 0.5 * 2^(-age / half-life), age counted back from the newest
# article in the index (not today: an archive from 2020 is not all stale), so freshness can at most halve it.
RECENT_HALF_LIFE_DAYS = 90
# Related articles: each named entity an article shares with the one shown multiplies its score by 1 + this.
RELATED_ENTITY_BOOST = 1.0
# A pasted passage is matched by its rarest words only (None: all of them); the second stage (rerank.py)
# then orders the first hits with every word.
PASSAGE_MATCH_TERMS: int | None = 12
ENTITY_FACET_SIZE = 20
TAG_FACET_SIZE = 100
MAX_LIMIT = 100
MAX_RESULTS_WINDOW = 10_000
# Repeated filters (tag=, personne=…) beyond these many are refused: each is a bitset to AND, and echoed.
MAX_FILTER_VALUES = 20
MAX_FILTER_CHARS = 200
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
# "Did you mean" ranks close words by their slips' cost (typos.py) less this weight times log10 of their
# document frequency: ten times more articles outweigh a third of a slip ("minstre": ministre, not monstre).
SUGGEST_FREQ_WEIGHT = 0.3
# A candidate this cheap explains the typed word; its first letter is then not doubted.
SUGGEST_ONE_SLIP = 1.0
# Frequent words of a query checked against how articles write them (each a read of a few articles).
SUGGEST_RESPELL_WORDS = 3
# Most articles read for the spellings of a suggested word, the one closest to what was typed being shown.
SURFACE_ARTICLES = 20
# Words of a query looked up for "did you mean" (each a scan of the lexicon), the first ones typed.
SUGGEST_MAX_WORDS = 8
# Longest id looked up: ids are short; a longer one is no article, and is not echoed back.
MAX_ID_CHARS = 200


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
            raise QueryError("bad_sort", value=echo(self.sort))
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError("bad_limit", max=MAX_LIMIT)
        if self.page < 1 or self.page * self.limit > MAX_RESULTS_WINDOW:
            raise QueryError("bad_page", max=MAX_RESULTS_WINDOW // self.limit)
        for name, values in (("tag", self.tags), ("personne", self.persons), ("lieu", self.places),
                             ("organisation", self.orgs)):  # fmt: skip
            if len(values) > MAX_FILTER_VALUES:
                raise QueryError("too_many_filters", name=name, count=len(values), max=MAX_FILTER_VALUES)
        for value in (self.since or "", self.until or ""):
            if len(value) > len("YYYY-MM-DD"):
                raise QueryError("bad_date", value=echo(value))
        for value in (*self.tags, *self.persons, *self.places, *self.orgs, self.section or "", self.cluster or ""):
            if len(value) > MAX_FILTER_CHARS:
                raise QueryError("filter_too_long", count=len(value), max=MAX_FILTER_CHARS)


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


# --- query parsing ---------------------------------------------------------------------------


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


def make_snippet(text: str, terms: set[str], words: int = SNIPPET_WORDS, scan_chars: int = SNIPPET_SCAN_CHARS) -> str:
    """Return about `words` words of text around the densest group of query terms, marked **like this**; only the
    first scan_chars characters are read."""
    cut = len(text) > scan_chars
    text = text[:scan_chars].replace(MARK, "* *")
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
    suffix = " …" if last < len(spans) or truncated or cut else ""
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
            # A reader caught in a job's commit can read a half-replaced file (seen once in hundreds of
            # searches during --full rebuilds): open the index afresh and answer once more, in the same budget.
            with self._lock:
                self._open()
            return self._search(request, budget)

    def plan(self, request: SearchRequest) -> QueryPlan:
        """Read a request's query into its plan (size bounds checked, date phrases and synonyms read)."""
        return plan_query(request.q, self.synonyms if request.synonyms else None, request.read_dates)

    def _search(self, request: SearchRequest, budget: Budget) -> SearchResults:
        request.validate()
        plan = self.plan(request)
        searcher, cache = self.refresh()
        date_phrase, query_days = None, (None, None)
        if plan.dates and plan.dates.phrase:
            date_phrase = plan.dates.phrase
            query_days = (
                parse_bound(plan.dates.since).toordinal() if plan.dates.since else None,
                parse_bound(plan.dates.until, end=True).toordinal() if plan.dates.until else None,
            )
        passage_df: dict[str, int] = {}
        if plan.long:
            frequency = self._leaves_of(searcher).doc_frequency
            q = passage_query(searcher, plan.match, PASSAGE_MATCH_TERMS, passage_df, frequency)
            if q is None:
                raise QueryError("no_searchable_word", value=echo(plan.typed))
        else:
            q = whoosh_query(plan, searcher.schema)
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
            raise QueryError("since_after_until", since=request.since, until=request.until)
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
        passage = q is not None and request.sort != "date" and plan.long
        copies = 0

        def fetch(matched: DocSet) -> int:
            # Collapsing drops copies from the ranking: fetching that many more fills every page it counts.
            nonlocal copies
            copies = self._copies(cache, matched) if collapse else 0
            size = min(wanted + copies, MAX_RESULTS_WINDOW)
            if request.sort == "recent":
                size = min(max(size, 200), MAX_RESULTS_WINDOW)  # freshness can lift hits from further down
            if passage:
                size = max(size, rerank.WINDOW)  # the second stage re-orders that many first-stage hits
            return size

        if q is None:
            hits_docs, total, matched = self._browse(searcher, cache, allowed, request, fetch)
            scores = {}
        else:
            hits_docs, scores, total, matched = self._run(searcher, cache, q, allowed, request, fetch, budget)
        if q is not None and request.sort != "date" and not plan.long and budget.allows("rerank", optional=True):
            hits_docs = self._rescore(searcher, hits_docs, scores, plan.words)
        stored: dict[int, dict] = {}  # stored fields the second stage read, for the page's hits
        if passage and budget.allows("rerank", optional=True):
            go_on = partial(budget.allows, "rerank", optional=True)
            hits_docs = (
                rerank.rerank_passage(searcher, hits_docs, scores, plan.match, passage_df, go_on, stored) or hits_docs
            )
        if q is not None and request.sort == "recent":
            hits_docs = self._freshen(cache, hits_docs, scores)
        if collapse:
            hits_docs = self._collapse(cache, hits_docs)
        page_docs = hits_docs[(request.page - 1) * request.limit : wanted]
        terms = query_terms(q)
        # A passage's best window is in the lead, which restates it: its snippets read the start of each article.
        scan = rerank.PASSAGE_SNIPPET_CHARS if passage else SNIPPET_SCAN_CHARS
        hits = [self._hit(searcher, d, scores.get(d), terms if budget.allows("snippets") else None, stored.get(d), scan)
                for d in page_docs]  # fmt: skip
        for d, hit in zip(page_docs, hits, strict=True):
            hit["cluster"] = self._cluster_info(searcher, cache, d, matched)
        suggestion = None
        if q is not None and not plan.long and budget.allows("suggestion", optional=True):
            suggestion = self.suggest(searcher, plan, found=total, budget=budget)
        facets = self._facets(cache, matched, budget)
        return SearchResults(
            query=request.q,
            total=total - copies,
            total_with_copies=total,
            page=request.page,
            limit=request.limit,
            hits=hits,
            facets=facets,
            suggestion=suggestion,
            filters={
                "tags": tag_keys,
                "since": request.since,
                "until": request.until,
                "sort": request.sort,
                "section": section_key,
                "date_phrase": date_phrase,
                "synonyms": [list(g) for g in plan.synonyms],
                "cluster": request.cluster,
                "personnes": list(request.persons),
                "lieux": list(request.places),
                "organisations": list(request.orgs),
            },
            cut=list(budget.cut),
            plan=plan.to_dict(),
        )

    @staticmethod
    def _rescore(searcher, docs: list[int], scores: dict, words: list[str]) -> list[int]:
        """Lift, among the top hits, those with the words exactly as typed, and together in that order."""
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
        newest = cache.day_keys[-1] if cache.day_keys else 0
        for d in docs:
            age = max(0, newest - cache.doc_day.get(d, 0)) if d in cache.doc_day else 10 * RECENT_HALF_LIFE_DAYS
            scores[d] = scores.get(d, 0.0) * (0.5 + 0.5 * 2 ** (-age / RECENT_HALF_LIFE_DAYS))
        return sorted(docs, key=lambda d: -scores[d])

    @staticmethod
    def _copies(cache: FacetCache, matched: DocSet) -> int:
        """Count the matches that grouping hides: every matching member of a story but one."""
        copies = 0
        for members in cache.cluster_members.values():
            found = sum(1 for m in members if m in matched)
            copies += max(0, found - 1)
        return copies

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

    @staticmethod
    def _cluster_info(searcher, cache: FacetCache, docnum: int, matched: DocSet) -> dict | None:
        rep = cache.cluster_of.get(docnum)
        if rep is None:
            return None
        copies = sum(1 for m in cache.cluster_members[rep] if m != docnum and m in matched)
        return {"id": searcher.stored_fields(rep)["id"], "reprises": copies} if copies else None

    def _run(self, searcher, cache, q, allowed: int, request, fetch, budget: Budget):
        """Match q within allowed; return the first fetch(matched) hits, their scores, the total and matches."""
        if not allowed:
            fetch(DocSet(0))
            return [], {}, 0, DocSet(0)
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
        wanted = fetch(matched)
        if request.sort == "date":
            # Newest first, ties by docnum, as Whoosh's sort on the ts column.
            docs = top_keys(every, wanted, key=cache.doc_ts_array.__getitem__)
            return docs, {}, len(every), matched
        # Highest score first, ties by docnum, as Whoosh's top collector.
        docs = top_keys(every, wanted)
        return docs, {d: every[d] for d in docs}, len(every), matched

    @staticmethod
    def _browse(searcher, cache, allowed: int, request, fetch):
        # No query words: the newest articles first, whatever the sort.
        keep = DocSet(allowed)
        total = len(keep)
        wanted = fetch(keep)
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
    def _hit(searcher, docnum, score, terms, fields=None, scan_chars: int = SNIPPET_SCAN_CHARS) -> dict:
        """One hit as plain data; terms None: no snippet (the budget cut them). fields: its stored fields, if read."""
        fields = fields or searcher.stored_fields(docnum)
        text = fields.get("body") or fields.get("summary") or ""
        return {
            **_listing(fields),
            "score": round(score, 4) if score is not None else None,
            "snippet": make_snippet(text, terms, scan_chars=scan_chars) if terms is not None else "",
        }

    @staticmethod
    def _facets(cache: FacetCache, matched: DocSet, budget: Budget | None = None) -> dict:
        """Facet counts over every match; each kind the budget has no time for is left empty."""
        budget = budget or Budget(None)
        counters = {
            "tags": lambda: _ranked(cache.count_tags(matched, TAG_FACET_SIZE), cache.labels, TAG_FACET_SIZE),
            "date": lambda: month_histogram(cache.count_months(matched)),
            "section": lambda: _ranked(cache.count_sections(matched), cache.section_labels),
        }
        for field_name, key in ENTITY_FIELDS.items():
            counters[key] = lambda f=field_name: _ranked(cache.count_entities(f, matched, ENTITY_FACET_SIZE), {},
                                                         ENTITY_FACET_SIZE)  # fmt: skip
        facets = {key: count() if budget.allows("facets", optional=True) else [] for key, count in counters.items()}
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
        # Terms are stems, and a name can share its stem with a common word ("Castex" and "castes"): the terms of
        # the article's named entities are left out of the more-like-this query, and each entity another article
        # names exactly (people, places, organisations) lifts it instead.
        entities = searcher.stored_fields(docnum).get("entities") or {}
        named = _named_entities(searcher.stored_fields(docnum))
        name_terms = set(text_terms(" ".join(name for names in entities.values() for name in names)))
        key_terms = [(t, w) for t, w in searcher.key_terms([docnum], "body", numterms=25 + len(name_terms))
                     if t not in name_terms][:25]  # fmt: skip
        top_weight = max((weight for _, weight in key_terms), default=1.0)
        clauses = [wq.Term("body", term, boost=weight) for term, weight in key_terms]
        clauses += [wq.Term(field, name.replace(",", " "), boost=top_weight)
                    for field, key in ENTITY_FIELDS.items() for name in entities.get(key, [])]  # fmt: skip
        if clauses:
            q = wq.Or(clauses)
            hits = searcher.search(q, limit=limit * 3 + 10, filter=set(cache.articles), mask={docnum})
            candidates = [(hit.score, hit.docnum) for hit in hits]
        else:
            candidates = []
        ranked = sorted(
            ((score * (1 + RELATED_ENTITY_BOOST * len(named & _named_entities(searcher.stored_fields(d)))), d)
             for score, d in candidates),
            key=lambda pair: -pair[0],
        )  # fmt: skip
        seen = {cache.cluster_of.get(docnum, docnum)}
        related = []
        for score, hit_docnum in ranked:
            key = cache.cluster_of.get(hit_docnum, hit_docnum)
            if key in seen:
                continue  # a wire copy of this article, or of one already listed
            seen.add(key)
            related.append(self._hit(searcher, hit_docnum, score, set()))
            if len(related) == limit:
                break
        return related

    # -- did you mean ---------------------------------------------------------------------------

    def suggest(self, searcher, plan: QueryPlan, found: int = 0, budget: Budget | None = None) -> str | None:
        """Return the query with unknown words replaced by close, frequent index words, or None.

        When the query found a few articles (found > 0), only words that are rare and have a far more
        frequent close word are replaced; past SUGGEST_FEW_HITS, only words that are a doubled or undoubled letter
        away from the usual spelling of their stem ("retraittes" finds retraites: say so). At most
        SUGGEST_MAX_WORDS words are looked up, and the budget bounds the lexicon scans: past its reserve, no
        suggestion.
        """
        budget = budget or Budget(None)
        reader = searcher.reader()
        within = self._leaves_of(searcher).terms_within
        replacements, examined, respelled = {}, [], 0
        for i, token in enumerate(plan.tokens):
            if token.kind != "word" or token.field or token.sign == "-" or token.fuzzy:
                continue
            core = token.text.strip(".,;:!?[]{}'")
            term = word_term(core)
            df = max(reader.doc_frequency("body", term), reader.doc_frequency("title", term)) if term else 0
            if not term or term.isdigit():
                continue
            if df > SUGGEST_RARE_DF and respelled < SUGGEST_RESPELL_WORDS and _may_be_respelt(core, term):
                # Each costs a search and a read of a few articles: as many as lexicon scans, in the same budget.
                if not budget.allows("suggestion", optional=True):
                    return None
                respelled += 1
                respelt = _respelt(searcher, core, term)
                if respelt:
                    replacements[i] = token.text.replace(core, respelt)
                    continue
            if (df and not found) or df > SUGGEST_RARE_DF or found > SUGGEST_FEW_HITS:
                continue
            if len(examined) == SUGGEST_MAX_WORDS:
                break
            examined.append(i)
            typed = fold(strip_elision(core))
            best = None
            # Words with the typed first letter, scanned; a slip on the first letter is looked for only when no
            # single slip explains the word, and then as that one edit: a few words looked up, no other scan.
            for candidate in within("body", term, 2 if len(term) > 5 else 1, prefix=1):
                if not budget.allows("suggestion", optional=True):
                    return None
                best = self._better(reader, typed, candidate, term, df, best)
            if best is None or best[0] > SUGGEST_ONE_SLIP:
                for candidate in sorted(first_letter_slips(term)):
                    best = self._better(reader, typed, candidate, term, df, best)
            if best is not None:
                word = core[word_terms(core).skip :]  # the elided article stays as typed: l'inflaton → l'inflation
                replacements[i] = token.text.replace(word, _surface(searcher, best[3], word))
        return plan.suggestion(replacements) if replacements else None

    @staticmethod
    def _better(reader, typed: str, candidate: str, term: str, df: int, best: tuple | None) -> tuple | None:
        """Return (cost, score, cost, candidate) of candidate when it ranks before best, else best."""
        freq = reader.doc_frequency("body", candidate)
        if candidate == term or not freq or freq < SUGGEST_RATIO * df:
            return best
        cost = closest_cost(typed, candidate, light_stem)
        key = (cost - SUGGEST_FREQ_WEIGHT * math.log10(freq), cost, candidate)
        return (cost, *key) if best is None or key < best[1:] else best

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


def _no_article(article_id: str) -> NotFoundError:
    return NotFoundError("no_article", value=echo(article_id))


def _may_be_respelt(typed: str, term: str) -> bool:
    """Tell whether a spelling of term is one doubled or undoubled letter away from the typed word (no I/O)."""
    folded = fold(strip_elision(typed))
    return any(0 < typo_cost(folded, w) <= DOUBLED for w in spellings(term, light_stem))


def _respelt(searcher, typed: str, term: str) -> str | None:
    """Return how articles write a frequent word typed with a letter doubled or undoubled by mistake, or None.

    The stemmer makes "retraittes" the term of retraites, so it finds the right articles, but the query shows a
    typo. A word that _may_be_respelt is looked up in the first articles holding its term, and replaced when they
    never write it so but write a spelling a doubled letter away.
    """
    folded = fold(strip_elision(typed))
    word = _surface(searcher, term, typed, goal=0.0)
    return word if 0 < typo_cost(folded, fold(word)) <= DOUBLED else None


def _named_entities(fields: dict) -> set[tuple[str, str]]:
    """Return an article's named entities as (kind, name) pairs, the name casefolded."""
    return {(kind, name.casefold()) for kind, names in (fields.get("entities") or {}).items() for name in names}


def _surface(searcher, term: str, typed: str, goal: float | None = None) -> str:
    """Return the word written in articles whose analyzed form is term (index terms are stems) that is the
    closest to what was typed ("ministtre": ministre, not ministres), the commonest of those.

    Articles holding term are read in index order, up to SURFACE_ARTICLES, until a word as close as goal (by
    default, the closest spelling of term) is met: the singular may come only in the fifth article.
    """
    folded = fold(strip_elision(typed))
    if goal is None:
        goal = min(typo_cost(folded, w) for w in spellings(term, light_stem))
    seen: Counter = Counter()
    best = None
    # The body's words first; a word only some titles hold is read from them (postings of a missing term raise).
    reader = searcher.reader()
    field = next((f for f in ("body", "title") if (f, term) in reader), None)
    if field is None:
        return term.capitalize() if typed[:1].isupper() else term
    # In posting order, not by score: scoring every posting would cost more than the search for a frequent word.
    matcher = searcher.postings(field, term)
    for _ in range(SURFACE_ARTICLES):
        if not matcher.is_active():
            break
        text = (searcher.stored_fields(matcher.id()).get(field) or "")[:SNIPPET_SCAN_CHARS]
        seen.update(text[start:end].lower() for start, end, forms in iter_words(text) if term in forms)
        best = min(seen, key=lambda w: (typo_cost(folded, fold(w)), -seen[w], w), default=None)
        if best is not None and typo_cost(folded, fold(best)) <= goal:
            break
        matcher.next()
    word = best or term
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
