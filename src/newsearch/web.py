"""The Flask web app: search page, article page and JSON API over one shared Engine."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import bleach
from flask import Flask, Response, abort, jsonify, make_response, render_template, request, stream_with_context, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from . import __version__
from .admission import RELATED_COST, Gate, estimate_cost
from .dates import MONTH_ABBR, bucket_label, french_date, parse_iso
from .errors import DependencyError, NewsearchError, QueryError, message
from .export import EXPORT_CAP, Export, export_chunks
from .feed import ATOM_TYPE, FEED_SIZE, atom_feed
from .parse import tag_key
from .search import MAX_FILTER_VALUES, Engine, SearchRequest, count_label
from .searchbar import DESCRIPTION_TYPE, SUGGESTIONS_TYPE, opensearch_description, suggestions_payload
from .sections import section_label
from .suggest import MAX_SUGGESTIONS, Suggester
from .vocabulary import ENTITY_KINDS, FACETS, SORTS, VALUE_FACETS
from .wsgi import wrap

# Installed from the top-level web/ folder as the package newsearch.webui (pyproject.toml), in a wheel and in a checkout.
UI_PACKAGE = "newsearch.webui"
UI_FILES = (
    "templates/base.html",
    "templates/search.html",
    "templates/article.html",
    "templates/error.html",
    "static/style.css",
    "static/app.js",
)

PAGE_SIZE = 10
# A 2,000-character query (the Engine's limit) of plain letters fits; pasted megabytes do not reach the Engine.
MAX_QUERY_STRING = 8 * 1024
MAX_CONTENT_LENGTH = 16 * 1024
READ_METHODS = ("GET", "HEAD")
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
VISIBLE_TAGS = 12
MORE_TAGS = 60
BAR_LEVELS = 20
TICKED_BARS = 8

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
ERROR_TITLES = {
    400: "Requête invalide",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    409: "Index indisponible",
    413: "Requête trop volumineuse",
    500: "Erreur interne",
    503: "Service momentanément surchargé",
}
# The error code (errors.MESSAGES) of each HTTP error the app answers by itself.
HTTP_ERRORS = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
# A Host header: a DNS name (labels of letters, digits and inner hyphens), an IPv4 or a bracketed IPv6 address,
# then an optional port. Anything else (".", "a..b", 300 letters) would fail deep in URL building.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST = re.compile(rf"(?P<name>\[[0-9A-Fa-f:.]+\]|{_LABEL}(?:\.{_LABEL})*\.?)(?::\d{{1,5}})?")

_MARKED = re.compile(r"\*\*(.+?)\*\*")
# French names of the stages the time budget may cut, for the page's "partial results" line.
CUT_LABELS = {"rerank": "classement fin", "suggestion": "suggestion", "facets": "décomptes des filtres",
              "snippets": "extraits"}  # fmt: skip


class ArticleIdConverter(BaseConverter):
    """An article id in a URL: anything, slashes included, percent-encoded whole so that every id links back."""

    regex = r"[\s\S]+"
    part_isolating = False

    def to_url(self, value: str) -> str:
        return quote(value, safe="")


# --- small pure helpers (tested directly) --------------------------------------------------------


def highlight(snippet: str) -> Markup:
    """Escape a snippet, then turn the search module's **matches** into <mark> elements."""
    marked = _MARKED.sub(r"<mark>\1</mark>", str(escape(snippet)))
    # The escaping above is what makes this safe; bleach is a second lock on the same door.
    return Markup(bleach.clean(marked, tags={"mark"}, attributes={}, protocols=set(), strip=True))


def safe_url(url: str) -> str | None:
    """Return url when it is an absolute http(s) URL a link may point to, else None."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        return parts.geturl()
    return None


def source_name(url: str) -> str:
    """Return the site an article comes from ("le-globe.example"), or "" without a link."""
    if not safe_url(url):
        return ""
    host = urlsplit(url.strip()).hostname or ""
    return host.removeprefix("www.")


def french_number(n: int) -> str:
    """Write a count the French way, thousands grouped by a narrow no-break space: "33 954"."""
    return f"{n:,}".replace(",", "\u202f")


def paragraphs(text: str) -> list[str]:
    """Split an article body into its paragraphs (separated by blank lines)."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text or "") if p.strip()]


def period_label(since: str | None, until: str | None) -> str:
    """Describe a since/until filter in French: "juil. 2020", "depuis le 3 mars 2021", "2021 – juin 2022"."""

    def label(value: str) -> str:
        if len(value) == 10:
            return french_date(value) or value
        if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            return bucket_label(value)
        return value

    if since and until:
        return label(since) if since == until else f"{label(since)} – {label(until)}"
    if since:
        return f"depuis le {label(since)}" if len(since) == 10 else f"depuis {label(since)}"
    if until:
        return f"jusqu’au {label(until)}" if len(until) == 10 else f"jusqu’en {label(until)}"
    return ""


def whole_number(args, name: str, default: int) -> int:
    """Read a whole-number query argument, default when absent; QueryError when it is not a number."""
    value = args.get(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise QueryError("not_a_number", name=name) from None


def collapse_arg(args) -> bool:
    """Read the collapse argument: copies of a story are grouped unless it says no (0, false, non, no)."""
    return args.get("collapse", "1").lower() not in ("0", "false", "non", "no")


def host_name(header: str) -> str | None:
    """Return the host a Host header names, lowercased, without port, final dot or IPv6 brackets; None if malformed."""
    match = _HOST.fullmatch(header or "")
    if not match or len(match["name"]) > 255:
        return None
    return match["name"].lower().rstrip(".").strip("[]")


class HostGuard:
    """WSGI middleware: a request whose Host is malformed or not allowed is flagged and given a valid one."""

    # The flag makes the app answer 400; the placeholder host lets that error page be built at all (URL building
    # fails on a host such as ".", which was a 500).

    def __init__(self, app, allowed_hosts=None):
        self.app = app
        self.allowed = None if allowed_hosts is None else {host_name(h) or h.lower() for h in allowed_hosts}

    def __call__(self, environ, start_response):
        header = environ.get("HTTP_HOST")
        if header is not None:
            name = host_name(header)
            if name is None or (self.allowed is not None and name not in self.allowed):
                environ["newsearch.bad_host"] = header
                environ["HTTP_HOST"] = "localhost"
        return self.app(environ, start_response)


def search_request_from_args(args, limit: int | None = None) -> SearchRequest:
    """Build a SearchRequest from query-string arguments (the same names as the CLI options)."""

    def number(name, default):
        return whole_number(args, name, default)

    # Facet values go to the Engine as given: it refuses too many or too long ones with a clear error.
    chosen = {
        kind.attribute: args.get(kind.param) or None if kind.select == "one" else args.getlist(kind.param)
        for kind in VALUE_FACETS
    }
    return SearchRequest(
        q=args.get("q", ""),
        since=args.get("since") or None,
        until=args.get("until") or None,
        sort=args.get("sort") or "relevance",
        page=number("page", 1),
        limit=limit or number("limit", PAGE_SIZE),
        # collapse=0 lists every wire copy; cluster=ID lists the copies of one story.
        collapse=collapse_arg(args),
        cluster=args.get("cluster") or None,
        **chosen,
    )


# --- turning plain results into template data ------------------------------------------------


class SearchState:
    """The filters a search page shows, and the URLs of the same search with one of them changed."""

    def __init__(self, q="", chosen=None, since=None, until=None, sort="relevance", cluster=None, collapse=True):
        self.q = q
        # One story's copies listed (the id of its representative), and whether copies are grouped at all.
        self.cluster = cluster
        self.collapse = collapse
        # The values chosen for each facet, by its URL argument (tag, section, personne…), as the Engine reads
        # them: keyed facets by key ("SANTÉ" in a URL is the facet "sante"); repeats capped as the Engine caps
        # them, so that a page never echoes hundreds of them.
        self.chosen = {}
        for kind in VALUE_FACETS:
            values = (chosen or {}).get(kind.param) or []
            if kind.keyed:
                values = [k for k in map(tag_key, values) if k]
            self.chosen[kind.param] = list(dict.fromkeys(values))[: 1 if kind.select == "one" else MAX_FILTER_VALUES]
        self.since = since
        self.until = until
        self.sort = sort

    @property
    def tags(self) -> list[str]:
        """The chosen tag keys."""
        return self.chosen["tag"]

    @property
    def section(self) -> str | None:
        """The chosen section key, if any."""
        return next(iter(self.chosen["section"]), None)

    @classmethod
    def from_args(cls, args) -> SearchState:
        """Read the state from query-string arguments, even ones the Engine will refuse."""
        return cls(
            q=args.get("q", ""),
            chosen={kind.param: [v for v in args.getlist(kind.param) if v] for kind in VALUE_FACETS},
            since=args.get("since") or None,
            until=args.get("until") or None,
            sort=args.get("sort") or "relevance",
            cluster=args.get("cluster") or None,
            collapse=collapse_arg(args),
        )

    def url(self, page: int = 1, endpoint: str = "search_page", values: dict | None = None, **changes) -> str:
        """Return the search page URL (or endpoint's) for this state with some filters changed (back to page 1).

        A facet's change is given by its URL argument, as a list of values (tag=[...]) or one value or None.
        """
        pairs = self.pairs(**changes)
        if page > 1:
            pairs.append(("page", str(page)))
        base = url_for(endpoint, **(values or {}))
        return f"{base}?{urlencode(pairs)}" if pairs else base

    def pairs(self, **changes) -> list[tuple[str, str]]:
        """Return the query-string arguments of this state with some filters changed, page left out."""
        state = {
            "q": self.q,
            "since": self.since,
            "until": self.until,
            "sort": self.sort,
            "cluster": self.cluster,
            "collapse": self.collapse,
            **self.chosen,
        }
        state.update(changes)
        pairs = [("q", state["q"])] if state["q"] else []
        for kind in VALUE_FACETS:
            values = state[kind.param]
            values = [values] if isinstance(values, str) else values or []
            pairs += [(kind.param, value) for value in values]
            if kind.param == "section":  # the dates follow the section, as the URLs always had them
                pairs += [(name, state[name]) for name in ("since", "until") if state[name]]
        if state["sort"] and state["sort"] != "relevance":
            pairs.append(("sort", state["sort"]))
        if state["cluster"]:
            pairs.append(("cluster", state["cluster"]))
        if not state["collapse"]:
            pairs.append(("collapse", "0"))
        return pairs


def choice_facets(kind, facets: list[dict], state: SearchState) -> list[dict]:
    """Return a facet's values as {value, label, count, selected, url}: the url toggles the value, among
    others for a facet of many values (all must match), instead of the chosen one for a facet of one."""
    chosen = state.chosen[kind.param]
    items = []
    for facet in facets:
        selected = facet["value"] in chosen
        if kind.select == "one":
            values = [] if selected else [facet["value"]]
        else:
            values = [v for v in chosen if v != facet["value"]] if selected else [*chosen, facet["value"]]
        items.append({**facet, "selected": selected, "url": state.url(**{kind.param: values})})
    return items


def tag_facets(facets: list[dict], state: SearchState) -> tuple[list[dict], list[dict]]:
    """Return the tag facet as (shown first, shown on demand), each {value, label, count, selected, url}."""
    items = choice_facets(FACETS["tags"], facets, state)
    # Selected tags always stay in view, whatever their rank.
    first = [f for i, f in enumerate(items) if i < VISIBLE_TAGS or f["selected"]]
    rest = [f for i, f in enumerate(items) if i >= VISIBLE_TAGS and not f["selected"]][:MORE_TAGS]
    return first, rest


def entity_facets(facets: dict, state: SearchState) -> list[dict]:
    """Return the entity facets as [{title, key, items: [{value, label, count, selected, url}]}], multi-select."""
    out = []
    for kind in ENTITY_KINDS:
        items = choice_facets(kind, facets.get(kind.key, [])[:VISIBLE_TAGS], state)
        if items:
            out.append({"title": kind.label, "key": kind.key, "items": items})
    return out


def section_facets(facets: list[dict], state: SearchState) -> list[dict]:
    """Return the section facet as {value, label, count, selected, url}; one section at a time."""
    return choice_facets(FACETS["section"], facets, state)


def _bucket_range(first: str, last: str) -> list[str]:
    """Every bucket from first to last, so that empty months or years show as gaps."""
    if len(first) == 4:
        return [f"{year:04d}" for year in range(int(first), int(last) + 1)]
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def date_facets(buckets: list[dict], state: SearchState) -> list[dict]:
    """Return histogram bars {value, label, count, selected, url, level}; empty buckets have no url."""
    if not buckets:
        return []
    counts = {b["value"]: b for b in buckets}
    values = _bucket_range(buckets[0]["value"], buckets[-1]["value"])
    if len(values) > 240:  # a stray date far in the past would stretch the axis into thousands of empty bars
        values = [b["value"] for b in buckets]
    peak = max(b["count"] for b in buckets)
    bars = []
    # Few bars get a tick each, the month over its year (the year only where it changes), so that each fits its bar.
    ticked = len(values) <= TICKED_BARS
    for position, value in enumerate(values):
        bucket = counts.get(value, {"value": value, "label": bucket_label(value), "count": 0})
        selected = state.since == value and state.until == value
        if selected:
            url = state.url(since=None, until=None)
        elif bucket["count"]:
            url = state.url(since=value, until=value)
        else:
            url = None
        bars.append(
            {
                **bucket,
                "selected": selected,
                "url": url,
                # Heights in twentieths, drawn by CSS classes: the CSP forbids inline styles.
                "level": -(-bucket["count"] * BAR_LEVELS // peak) if bucket["count"] else 0,
                "tick": _tick(value, values[position - 1] if position else None) if ticked else [],
            }
        )
    return bars


def _tick(value: str, previous: str | None) -> list[str]:
    """Return the lines under a histogram bar: "2020"; or "mars" over "2020" where the year starts or changes."""
    if len(value) == 4:
        return [value]
    month = MONTH_ABBR[int(value[5:7])]
    return [month, value[:4]] if previous is None or previous[:4] != value[:4] else [month]


def date_axis(bars: list[dict]) -> list[str]:
    """Return the labels of the histogram's two ends, shown under it when its bars are too many for ticks."""
    return [bars[0]["label"], bars[-1]["label"]] if len(bars) > TICKED_BARS else []


def hit_view(hit: dict, labels: dict[str, str], state: SearchState | None) -> dict:
    """Return one hit ready to render: French date, tag links, highlighted snippet, article link."""
    base = state or SearchState()
    tags = []
    for form in hit.get("tags") or []:
        key = tag_key(form)
        if key:
            # Clicking a tag on a hit narrows the current search to it, as its facet would.
            tags.append({"label": labels.get(key, form), "url": base.url(tag=list(dict.fromkeys([*base.tags, key])))})
    moment = parse_iso(hit.get("date", ""))
    return {
        "id": hit["id"],
        "title": hit.get("title") or "(sans titre)",
        "url": url_for("article_page", article_id=hit["id"]),
        "date": moment.date().isoformat() if moment else "",
        "date_label": french_date(hit.get("date", "")),
        "source": source_name(hit.get("url", "")),
        "section": section_label(hit.get("section") or ""),
        "tags": tags,
        "snippet": highlight(hit.get("snippet", "")),
        "reprises": (hit.get("cluster") or {}).get("reprises", 0),
        # The copies of this story among the same search's matches (the count above counts those).
        "reprises_url": base.url(cluster=hit["cluster"]["id"]) if hit.get("cluster") else "",
    }


def pagination(page: int, pages: int, state: SearchState) -> dict:
    """Return previous/next links and a window of page numbers with gaps ("…") as None."""
    numbers = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    items, previous = [], 0
    for n in numbers:
        if n - previous > 1:
            items.append(None)
        items.append({"number": n, "url": state.url(page=n), "current": n == page})
        previous = n
    return {
        "links": items if pages > 1 else [],
        "previous": state.url(page=page - 1) if page > 1 else None,
        "next": state.url(page=page + 1) if page < pages else None,
    }


def search_view(data: dict, state: SearchState) -> dict:
    """Turn SearchResults.to_dict() into what the search template loops over."""
    facets = data["facets"]
    labels = {f["value"]: f["label"] for f in facets.get("tags", [])}
    tags_first, tags_more = tag_facets(facets.get("tags", []), state)
    chips = []
    for kind in VALUE_FACETS:
        shown = {f["value"]: f["label"] for f in facets.get(kind.key, [])}
        for value in state.chosen[kind.param]:
            label = shown.get(value) or (section_label(value) if kind.field == "section" else value)
            others = [v for v in state.chosen[kind.param] if v != value]
            chips.append({"kind": kind.item_label, "label": label, "url": state.url(**{kind.param: others})})
    if state.since or state.until:
        chips.append(
            {
                "kind": "Période",
                "label": period_label(state.since, state.until),
                "url": state.url(since=None, until=None),
            }
        )
    first = (data["page"] - 1) * PAGE_SIZE + 1
    filters = data.get("filters") or {}
    understood = []
    plan = data.get("plan") or {}
    if plan.get("notes") or (plan.get("read_as") and plan["read_as"] != " ".join(state.q.split())):
        understood.append(f"Requête lue comme : {plan['read_as']}")
    understood += plan.get("notes") or []
    if plan.get("passage"):
        understood.append(
            "Lue comme un passage : les articles qui partagent le plus de ses mots, et les plus rares, d’abord."
        )
    if data.get("partial"):
        cut = ", ".join(CUT_LABELS.get(stage, stage) for stage in data.get("cut") or [])
        understood.append(f"Résultats partiels : le temps de calcul était écoulé ({cut} omis).")
    if filters.get("date_phrase"):
        understood.append(f"Période lue dans la requête : {filters['date_phrase']}")
    for group in filters.get("synonyms") or []:
        understood.append("Synonymes cherchés aussi : " + " = ".join(group))
    return {
        "understood": understood,
        "total": data["total"],
        "total_count": french_number(data["total"]),
        "total_label": count_label(data["total"], data.get("total_with_copies"), french_number),
        "cluster": bool(state.cluster),
        # Back from one story's copies to the search they were found in.
        "back_url": state.url(cluster=None) if state.cluster else None,
        "collapse_url": _collapse_toggle(data, state),
        "page": data["page"],
        "pages": data["pages"],
        "first": first,
        "last": first + len(data["hits"]) - 1,
        "hits": [hit_view(hit, labels, state) for hit in data["hits"]],
        "tags": tags_first,
        "more_tags": tags_more,
        "sections": section_facets(facets.get("section", []), state),
        "entities": entity_facets(facets, state),
        "dates": date_facets(facets.get("date", []), state),
        "date_axis": date_axis(date_facets(facets.get("date", []), state)),
        "chips": chips,
        "clear_url": state.url(since=None, until=None, **{kind.param: [] for kind in VALUE_FACETS}),
        "suggestion": (
            {"text": data["suggestion"], "url": state.url(q=data["suggestion"])} if data.get("suggestion") else None
        ),
        "pagination": pagination(data["page"], data["pages"], state),
        "feed_url": state.url(endpoint="atom_feed_of_search", sort="relevance"),
        "export_urls": [(fmt, state.url(endpoint="api_export", values={"fmt": fmt})) for fmt in EXPORT_TYPES],
    }


def _collapse_toggle(data: dict, state: SearchState) -> dict | None:
    """Return the link that shows every copy of each story, or groups them again, when it changes the list."""
    if state.cluster:
        return None
    if not state.collapse:
        return {"label": "Regrouper les reprises", "url": state.url(collapse=True)}
    if (data.get("total_with_copies") or 0) > data["total"]:
        return {"label": "Afficher aussi les reprises", "url": state.url(collapse=False)}
    return None


def form_view(state: SearchState | None) -> dict:
    """Return the search form's fields: the query, the kept filters and the sort choices."""
    state = state or SearchState()
    return {
        "q": state.q,
        "tags": state.tags,
        "section": state.section or "",
        "since": state.since or "",
        "until": state.until or "",
        "sort": state.sort,
        "sorts": [{"value": v, "label": label, "selected": v == state.sort} for v, label in SORTS.items()],
    }


def article_view(article: dict, related: list[dict]) -> dict:
    """Turn Engine.article() and Engine.related() into what the article template shows."""
    moment = parse_iso(article.get("date", ""))
    empty = SearchState()
    tags = [
        {"label": form, "url": empty.url(tag=[tag_key(form)])} for form in article.get("tags") or [] if tag_key(form)
    ]
    return {
        "id": article["id"],
        "title": article.get("title") or "(sans titre)",
        "date": moment.date().isoformat() if moment else "",
        "date_label": french_date(article.get("date", "")),
        "author": article.get("author", ""),
        "section": section_label(article.get("section") or ""),
        "source": source_name(article.get("url", "")),
        "original_url": safe_url(article.get("url", "")),
        "summary": article.get("summary", ""),
        "paragraphs": paragraphs(article.get("body", "")),
        "tags": tags,
        # People, places, organisations named in the article, each a link to the articles naming them too.
        "entities": [
            {
                "title": kind.label,
                "items": [{"label": name, "url": empty.url(**{kind.param: [name]})} for name in names],
            }
            for kind in ENTITY_KINDS
            if (names := (article.get("entities") or {}).get(kind.key))
        ],
        "related": [hit_view({**hit, "snippet": ""}, {}, None) for hit in related if hit["id"] != article["id"]],
    }


def public_article(article: dict) -> dict:
    """Return the article as the API shows it: without the file path it was read from on the server."""
    return {key: value for key, value in article.items() if key != "path"}


# --- the app -----------------------------------------------------------------------------------


def ui_dir() -> Path:
    """Return the folder of the UI's templates and static files, or raise DependencyError if any is missing."""
    try:
        root = Path(str(resources.files(UI_PACKAGE)))
    except ModuleNotFoundError:
        raise DependencyError(f"the web UI files ({UI_PACKAGE}) are not installed: reinstall newsearch") from None
    missing = [name for name in UI_FILES if not (root / name).is_file()]
    if missing:
        raise DependencyError(
            f"the web UI files are incomplete in {root} (missing {', '.join(missing)}): reinstall newsearch"
        )
    return root


def create_app(config=None):
    """Create the web app; config may set INDEX_DIR, SEARCH_TIME_LIMIT, MAX_QUERY_STRING, ALLOWED_HOSTS, ADMISSION."""
    web_dir = ui_dir()
    app = Flask(__name__, template_folder=str(web_dir / "templates"), static_folder=str(web_dir / "static"))
    app.config.update(
        INDEX_DIR=None,
        SEARCH_TIME_LIMIT=2.0,
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        MAX_QUERY_STRING=MAX_QUERY_STRING,
        # Host names the app answers for (None: any well-formed one); `newsearch serve` sets what --host implies.
        ALLOWED_HOSTS=None,
        # Admission control for searches (newsearch.admission.Gate); the default one suits the test client too.
        ADMISSION=None,
        DEBUG=False,
        # Behind a reverse proxy: how many proxies' X-Forwarded-* headers to trust (0: none, the safe default).
        PROXIES=0,
        # Served under this path ("/news"), when a proxy forwards it without saying so in X-Forwarded-Prefix.
        URL_PREFIX="",
        ACCESS_LOG=False,
    )
    if config:
        app.config.update(config)
    app.jinja_env.globals["newsearch_version"] = __version__
    # The Host check sees the host a trusted proxy forwarded: ProxyFix (in wrap) runs first.
    app.wsgi_app = HostGuard(app.wsgi_app, app.config["ALLOWED_HOSTS"])
    app.wsgi_app = wrap(app.wsgi_app, app.config["URL_PREFIX"], int(app.config["PROXIES"]), app.config["ACCESS_LOG"])
    gate = app.config["ADMISSION"] or Gate()
    app.extensions["newsearch.admission"] = gate
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.url_map.converters["article_id"] = ArticleIdConverter
    engine = Engine(app.config["INDEX_DIR"], time_limit=app.config["SEARCH_TIME_LIMIT"])
    app.extensions["newsearch"] = engine
    suggester = Suggester(engine, background=True)

    def wants_json() -> bool:
        return request.path.startswith("/api/")

    def error_response(status: int, code: str, error_id: str | None = None, form=None, **values):
        # One code, two wordings: a stable English message for programs, the French one for people.
        if wants_json():
            body = {"error": message(code, french=False, **values), "code": code, "status": status}
            if error_id:
                body["error_id"] = error_id
            return make_response(jsonify(body), status)
        title = ERROR_TITLES.get(status, "Erreur")
        page = render_template("error.html", status=status, title=title, message=message(code, **values),
                               form=form or form_view(None))  # fmt: skip
        return make_response(page, status)

    def logged_failure(status: int, code: str, log_message: str, *args, exc_info=False):
        # The visitor gets a short id to quote; the log has the details (never shown: they name server paths).
        error_id = secrets.token_hex(4)
        app.logger.log(logging.ERROR, f"[{error_id}] {log_message}", *args, exc_info=exc_info)
        return error_response(status, code, error_id, ref=error_id)

    def searching(search_request: SearchRequest):
        # Admitted (or refused with a 503) on its estimated cost, so that costly searches cannot starve cheap ones;
        # a request out of bounds gets its 400 first, without waiting for a slot.
        search_request.validate()
        with gate.admit(estimate_cost(search_request)):
            return engine.search(search_request)

    @app.before_request
    def refuse_oversized_or_writing_requests():
        if "newsearch.bad_host" in request.environ:
            return error_response(400, "bad_host")
        if (request.content_length or 0) > app.config["MAX_CONTENT_LENGTH"]:
            abort(413)
        if len(request.query_string) > app.config["MAX_QUERY_STRING"]:
            abort(413, f"query string longer than {app.config['MAX_QUERY_STRING']} bytes")
        if request.method not in READ_METHODS:
            abort(405, valid_methods=list(READ_METHODS))

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(NewsearchError)
    def domain_error(exc):
        if exc.status in (400, 404):
            code = exc.code or ("not_found" if exc.status == 404 else "bad_request")
            return error_response(exc.status, code, **exc.values)
        if exc.status == 503:
            # The query stays in the box: trying again is one click.
            form = form_view(SearchState.from_args(request.args))
            response = error_response(503, exc.code or "overloaded", form=form, **exc.values)
            response.headers["Retry-After"] = str(getattr(exc, "retry_after", 1))
            return response
        # A damaged, locked or mismatched index is the operator's business; its message names server paths.
        return logged_failure(exc.status, "index_unavailable", "index unavailable: %s", exc)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        status = exc.code or 500
        if status >= 500:
            return logged_failure(status, "internal_error", "HTTP error %s on %s", status, request.path[:200])
        response = error_response(status, HTTP_ERRORS.get(status, "bad_request"))
        if exc.code == 405:
            response.headers["Allow"] = ", ".join(READ_METHODS)
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        # Logged with its traceback for the operator; the visitor only learns that it failed.
        return logged_failure(500, "internal_error", "unexpected error on %s", request.path[:200], exc_info=True)

    @app.get("/api/search")
    def api_search():
        return jsonify(searching(search_request_from_args(request.args)).to_dict())

    @app.get("/api/search.<any(csv, jsonl):fmt>")
    def api_export(fmt):
        # The first page is searched here, so that a bad query is a 400 and not a broken download.
        # Admitted on its first page's cost; the pages streamed after it run outside the gate.
        search = search_request_from_args(request.args)
        search.validate()
        with gate.admit(estimate_cost(search)):
            export = Export(engine, search, cap=whole_number(request.args, "max", EXPORT_CAP))
        bom = request.args.get("bom", "0").lower() in ("1", "true", "oui", "yes")
        chunks = (chunk.encode("utf-8") for chunk in export_chunks(export, fmt, bom=bom))
        response = Response(stream_with_context(chunks), content_type=EXPORT_TYPES[fmt])
        response.headers["Content-Disposition"] = f'attachment; filename="newsearch.{fmt}"'
        response.headers["X-Total-Count"] = str(export.first.total)
        return response

    @app.get("/feed.atom")
    def atom_feed_of_search():
        state = SearchState.from_args(request.args)
        # A feed follows a story: the newest matches first, whatever sort the page was showing.
        search = search_request_from_args(request.args, limit=FEED_SIZE)
        search.sort, search.page = "date", 1
        hits = searching(search).hits
        filters = state.pairs(sort="relevance")
        try:
            committed = datetime.fromtimestamp(engine.store.current_dir().stat().st_mtime, timezone.utc)
        except OSError:
            committed = datetime.fromtimestamp(0, timezone.utc)
        body = atom_feed(
            hits,
            key=urlencode(filters),
            title="newsearch — " + (" · ".join(value for _, value in filters) or "derniers articles"),
            self_url=request.host_url.rstrip("/") + state.url(endpoint="atom_feed_of_search", sort="relevance"),
            html_url=request.host_url.rstrip("/") + state.url(sort="date"),
            article_url=lambda article_id: url_for("article_page", article_id=article_id, _external=True),
            original_url=safe_url,
            fallback=committed,
        )
        return Response(body, content_type=ATOM_TYPE)

    @app.get("/opensearch.xml")
    def opensearch_description_xml():
        body = opensearch_description(
            search=url_for("search_page", _external=True),
            suggest=url_for("api_suggest", _external=True),
            feed=url_for("atom_feed_of_search", _external=True),
            self_url=url_for("opensearch_description_xml", _external=True),
            home=url_for("search_page", _external=True),
            icon=url_for("static", filename="favicon.svg", _external=True),
        )
        return Response(body, content_type=f"{DESCRIPTION_TYPE}; charset=utf-8")

    @app.get("/api/suggest")
    def api_suggest():
        typed = request.args.get("q", "")
        size = max(1, min(whole_number(request.args, "limit", MAX_SUGGESTIONS), MAX_SUGGESTIONS))
        payload = suggestions_payload(
            typed,
            suggester.suggest(typed, size),
            article_url=lambda article_id: url_for("article_page", article_id=article_id, _external=True),
            search_url=lambda text: url_for("search_page", q=text, _external=True),
        )
        response = jsonify(payload)
        response.content_type = f"{SUGGESTIONS_TYPE}; charset=utf-8"
        return response

    @app.get("/healthz")
    def healthz():
        # For load balancers and monitors: 200 only when the index opens now, with what it holds.
        try:
            searcher, cache = engine.refresh()
            engine.store.current_dir()
        except Exception as exc:  # any failure to open is the answer, not an error page
            app.logger.error("health check: index unavailable: %s", exc)
            return jsonify({"status": "unavailable", "index": False}), 503
        return jsonify(
            {"status": "ok", "index": True, "documents": len(cache.articles), "generation": engine.store.current_name()}
        )

    @app.get("/api/article/<article_id:article_id>", merge_slashes=False)
    def api_article(article_id):
        return jsonify(public_article(engine.article(article_id)))

    @app.get("/")
    def search_page():
        state = SearchState.from_args(request.args)
        try:
            data = searching(search_request_from_args(request.args, limit=PAGE_SIZE)).to_dict()
        except QueryError as exc:
            # The page stays usable: the query is still in the box, ready to be fixed.
            return render_template("search.html", form=form_view(state), error=str(exc), view=None), exc.status
        return render_template("search.html", form=form_view(state), error=None, view=search_view(data, state))

    @app.get("/article/<article_id:article_id>", merge_slashes=False)
    def article_page(article_id):
        article = engine.article(article_id)
        with gate.admit(RELATED_COST):
            related = engine.related(article_id)
        return render_template("article.html", form=form_view(None), article=article_view(article, related))

    return app
