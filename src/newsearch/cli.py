"""The `newsearch` command: a thin shell over newsearch's core modules.

\b
Exit codes, for scripts:
  0  success (query: at least one hit)
  1  query: no hit
  2  usage error, or a malformed query or filter
  3  no usable index (missing, damaged, or built by another version)
  4  index: some files or records were skipped (the rest was indexed)
  5  index: another job holds the lock (after --lock-timeout)
  6  index: a dependency is missing or broken (the install, not the input); nothing was changed
"""

from __future__ import annotations

import json
import os
import sys
import textwrap

import click

from .errors import (
    DependencyError,
    IndexDamagedError,
    IndexLockedError,
    IndexMissingError,
    NewsearchError,
    QueryError,
    SchemaVersionError,
)
from .parse import DEFAULT_LIMITS, MB

EXIT_NO_HIT = 1
EXIT_USAGE = 2
EXIT_INDEX = 3
EXIT_SKIPPED = 4
EXIT_LOCKED = 5
EXIT_ENVIRONMENT = 6


class DomainError(click.ClickException):
    """A newsearch error shown to the user without a traceback, with its documented exit code."""

    def __init__(self, error: NewsearchError):
        super().__init__(str(error))
        if isinstance(error, (IndexMissingError, IndexDamagedError, SchemaVersionError)):
            self.exit_code = EXIT_INDEX
        elif isinstance(error, IndexLockedError):
            self.exit_code = EXIT_LOCKED
        elif isinstance(error, QueryError):
            self.exit_code = EXIT_USAGE
        elif isinstance(error, DependencyError):
            self.exit_code = EXIT_ENVIRONMENT
        else:
            self.exit_code = 1


def index_option(f):
    return click.option(
        "--index",
        "index_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Index directory (default: $NEWSEARCH_INDEX, else ./index).",
    )(f)


@click.group(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsearch")
def cli():
    """Search French news articles."""


# --- index -------------------------------------------------------------------------------------


def _megabytes(name: str, limit: str, help: str):
    """Return a click option giving one of the parse limits in MB, its default from DEFAULT_LIMITS."""
    default = getattr(DEFAULT_LIMITS, limit) / MB
    return click.option(
        name, type=click.FloatRange(min=0, min_open=True), default=default, show_default=True, help=help
    )


@cli.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_option
@click.option("--full", is_flag=True, help="Rebuild from scratch into a new index, switched in when complete.")
@click.option("--dry-run", is_flag=True, help="Report what would change without writing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--lock-timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for another job.")
@click.option("--batch-size", type=click.IntRange(1), default=5000, show_default=True, help="Documents per commit.")
@click.option("--watch", is_flag=True, help="Keep running: index new or changed files as they appear (Ctrl-C stops).")
@click.option(
    "--follow-symlinks", is_flag=True, help="Read symlinks that lead outside the paths given (skipped otherwise)."
)
@_megabytes("--max-file-mb", "file_bytes", "Largest file read whole, once decompressed (all but big JSONL files).")
@_megabytes("--max-stream-mb", "stream_bytes", "Largest JSONL file read line by line, once decompressed.")
@_megabytes("--max-record-mb", "record_bytes", "Longest JSONL line; longer ones are skipped.")
@_megabytes(
    "--max-field-mb", "field_chars", "Longest body or summary (millions of characters); cut there, with a warning."
)
@_megabytes("--max-html-mb", "html_bytes", "Largest HTML page parsed; a bigger one is cut there, with a warning.")
@click.option(
    "--max-tags", type=click.IntRange(0), default=DEFAULT_LIMITS.tags, show_default=True, help="Tags kept per article."
)
@click.option(
    "--max-tag-chars", type=click.IntRange(1), default=DEFAULT_LIMITS.tag_chars, show_default=True,
    help="Longest tag; longer ones are dropped.",
)  # fmt: skip
def index_command(
    paths, index_dir, full, dry_run, as_json, lock_timeout, batch_size, watch, follow_symlinks,
    max_file_mb, max_stream_mb, max_record_mb, max_field_mb, max_html_mb, max_tags, max_tag_chars,
):  # fmt: skip
    """Index article files and folders (.txt, .html, .json, .jsonl, .jsonl.gz), incrementally."""
    from .indexer import Indexer
    from .parse import Limits
    from .store import IndexStore

    show_bar = sys.stderr.isatty() and not as_json and not watch
    bar = _ProgressBar() if show_bar else None
    limits = Limits(
        file_bytes=int(max_file_mb * MB),
        stream_bytes=int(max_stream_mb * MB),
        record_bytes=int(max_record_mb * MB),
        field_chars=int(max_field_mb * MB),
        html_bytes=int(max_html_mb * MB),
        tags=max_tags,
        tag_chars=max_tag_chars,
    )
    indexer = Indexer(
        IndexStore(index_dir),
        progress=bar,
        batch_size=batch_size,
        lock_timeout=lock_timeout,
        limits=limits,
        follow_symlinks=follow_symlinks,
    )
    if watch:
        if dry_run or full:
            raise click.UsageError("--watch cannot be combined with --dry-run or --full")
        _watch(indexer, paths, as_json)
        return
    try:
        report = indexer.run(paths, full=full, dry_run=dry_run)
    except NewsearchError as exc:
        raise DomainError(exc) from None
    finally:
        if bar:
            bar.close()
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        _echo_notes(report)
        click.echo(report.summary())
    if report.skipped:
        sys.exit(EXIT_SKIPPED)


def _echo_notes(report) -> None:
    """Print a run's skips, warnings and id conflicts on stderr, one line each."""
    for item in report.skipped:
        click.echo(f"skipped {item['path']}: {item['reason']}", err=True)
    for item in report.warnings:
        click.echo(f"warning {item['path']}: {item['reason']}", err=True)
    for item in report.conflicts:
        others = ", ".join(p for p in item["sources"] if p != item["shown"])
        click.echo(f"conflict: id {item['id']} is also given by {others}; shown from {item['shown']}", err=True)


class _ProgressBar:
    """Renders the indexer's progress callback as a click progress bar on stderr."""

    def __init__(self):
        self.bar = None

    def __call__(self, event, **info):
        if event != "file":
            return
        if self.bar is None:
            self.bar = click.progressbar(length=info["total"], label="indexing", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(info["done"] - self.bar.pos)

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _watch(indexer, paths, as_json):
    """Run `index --watch`: a summary per run that changed something; SIGINT/SIGTERM commit and exit 0."""
    import signal

    from .watch import Watcher

    def show(report):
        if as_json:
            click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        elif report.changed or report.skipped or watcher.runs == 1:
            _echo_notes(report)
            click.echo(report.summary())
        sys.stdout.flush()

    watcher = Watcher(indexer, paths, on_report=show, on_error=lambda exc: click.echo(f"newsearch: {exc}", err=True))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: watcher.stop())
    click.echo(f"newsearch: watching {', '.join(map(str, paths))} (Ctrl-C to stop)", err=True)
    try:
        watcher.run()
    except NewsearchError as exc:
        raise DomainError(exc) from None
    how = "file events" if watcher.mode == "events" else "polling"
    click.echo(f"newsearch: stopped after {watcher.runs} run(s) ({how}), index committed", err=True)


# --- verify ------------------------------------------------------------------------------------


@cli.command("verify")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify_command(index_dir, as_json):
    """Check the index: every segment and stored document reads, file records and articles agree (exit 3 if not)."""
    from .store import IndexStore
    from .verify import verify

    report = verify(IndexStore(index_dir))
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for line in report.lines():
            click.echo(line, err=not report.ok and line.startswith(("problem", "repair")))
    if not report.ok:
        sys.exit(EXIT_INDEX)


# --- query -------------------------------------------------------------------------------------


@cli.command("query")
@click.argument("query", required=False, default="")
@index_option
@click.option("--tag", "tags", multiple=True, help="Only articles with this tag (repeatable: all must match).")
@click.option("--since", help="From this date: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--until", help="Up to this date, included: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--section", help="Only articles of this section.")
@click.option("--person", "persons", multiple=True, help="Only articles naming this person (as in the facet).")
@click.option("--place", "places", multiple=True, help="Only articles naming this place.")
@click.option("--org", "orgs", multiple=True, help="Only articles naming this organisation.")
@click.option(
    "--sort",
    type=click.Choice(["relevance", "date", "recent"]),
    default="relevance",
    show_default=True,
    help="recent: relevance blended with freshness (half-life 90 days before the newest article).",
)
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--batch",
    type=click.File("r", encoding="utf-8"),
    help="Run one query per line of FILE (- for stdin); print one JSON object per line.",
)
def query_command(
    query, index_dir, tags, since, until, section, persons, places, orgs, sort, limit, page, as_json, batch
):
    """Search the index. QUERY: words (all must match when few), "phrase", « phrase », OR, -word, NOT, title:, tag:."""
    from .search import Engine, SearchRequest

    def request(q):
        return SearchRequest(
            q=q,
            tags=list(tags),
            since=since,
            until=until,
            sort=sort,
            page=page,
            limit=limit,
            section=section,
            persons=list(persons),
            places=list(places),
            orgs=list(orgs),
        )

    try:
        engine = Engine(index_dir)
    except NewsearchError as exc:
        raise DomainError(exc) from None
    if batch is not None:
        for line in batch:
            q = line.rstrip("\n")
            try:
                out = engine.search(request(q)).to_dict()
            except QueryError as exc:
                out = {"query": q, "error": str(exc)}
            click.echo(json.dumps(out, ensure_ascii=False))
        return
    try:
        results = engine.search(request(query))
    except NewsearchError as exc:
        raise DomainError(exc) from None
    data = results.to_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        click.echo(render_table(data, color=sys.stdout.isatty()))
    if not data["hits"]:
        sys.exit(EXIT_NO_HIT)


def render_table(data: dict, color: bool = False, width: int | None = None) -> str:
    """Render search results as a readable text table."""
    from .dates import french_date

    width = width or min(os.get_terminal_size().columns if sys.stdout.isatty() else 100, 120)
    lines = []
    first = (data["page"] - 1) * max(len(data["hits"]), 1)
    shown = f"page {data['page']}/{data['pages']}"
    lines.append(f"{data['total']} résultat(s) pour « {data['query']} » — {shown}")
    if data.get("filters", {}).get("date_phrase"):
        lines.append(f"Période lue dans la requête : {data['filters']['date_phrase']}")
    for group in data.get("filters", {}).get("synonyms") or []:
        lines.append("Synonymes cherchés aussi : " + " = ".join(group))
    if data.get("suggestion"):
        lines.append(f"Essayez plutôt : {data['suggestion']}")
    for i, hit in enumerate(data["hits"], first + 1):
        title = hit["title"] or "(sans titre)"
        date = french_date(hit["date"]) or "date inconnue"
        score = f"{hit['score']:.2f}" if hit.get("score") is not None else ""
        head = f"{i:>3}. {title}"
        lines.append(click.style(head, bold=True) if color else head)
        reprises = f"+{hit['cluster']['reprises']} reprise(s)" if hit.get("cluster") else ""
        meta = " · ".join(
            x for x in (date, ", ".join(hit["tags"]), f"score {score}" if score else "", reprises, hit["id"]) if x
        )
        lines.append(f"     {meta}")
        snippet = hit["snippet"]
        if color:
            parts = snippet.split("**")
            snippet = "".join(click.style(p, bold=True, fg="yellow") if k % 2 else p for k, p in enumerate(parts))
        for line in textwrap.wrap(snippet, width - 5) if not color else [snippet]:
            lines.append(f"     {line}")
    facets = data["facets"]
    if facets.get("tags"):
        lines.append("Tags : " + ", ".join(f"{t['label']} ({t['count']})" for t in facets["tags"][:10]))
    for key, title in (("personnes", "Personnes"), ("lieux", "Lieux"), ("organisations", "Organisations")):
        if facets.get(key):
            lines.append(f"{title} : " + ", ".join(f"{f['label']} ({f['count']})" for f in facets[key][:8]))
    if facets.get("date"):
        lines.append("Dates : " + ", ".join(f"{d['value']} ({d['count']})" for d in facets["date"][-12:]))
    return "\n".join(lines)


@cli.command("related")
@click.argument("article_id")
@index_option
@click.option("--limit", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
def related_command(article_id, index_dir, limit, as_json):
    """List articles related to ARTICLE_ID (more-like-this, wire copies of it left out)."""
    from .dates import french_date
    from .search import Engine

    try:
        related = Engine(index_dir).related(article_id, limit=limit)
    except NewsearchError as exc:
        raise DomainError(exc) from None
    for hit in related:
        if as_json:
            click.echo(json.dumps(hit, ensure_ascii=False))
        else:
            click.echo(f"{french_date(hit['date']) or '-':>18}  {hit['title']}  [{hit['id']}]")
    if not related:
        sys.exit(EXIT_NO_HIT)


# --- stats, serve ------------------------------------------------------------------------------


@cli.command("stats")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats_command(index_dir, as_json):
    """Show document count, date range, top tags, index size and version."""
    from .search import Engine

    try:
        stats = Engine(index_dir).stats()
    except NewsearchError as exc:
        raise DomainError(exc) from None
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False))
        return
    click.echo(f"documents      {stats['documents']} ({stats['undated']} undated)")
    click.echo(f"dates          {stats['date_min'] or '-'} … {stats['date_max'] or '-'}")
    click.echo(f"index          {stats['index_dir']} ({stats['generation']}, {stats['size_bytes'] / 1e6:.1f} MB)")
    click.echo(f"index version  {stats['index_version']}")
    click.echo("top tags       " + ", ".join(f"{t['label']} ({t['count']})" for t in stats["top_tags"]))


@cli.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--threads", type=int, default=4, show_default=True)
def serve_command(index_dir, host, port, threads):
    """Serve the web UI and the JSON API with waitress."""
    from waitress import serve

    from .web import create_app

    try:
        app = create_app({"INDEX_DIR": index_dir} if index_dir else None)
    except NewsearchError as exc:
        raise DomainError(exc) from None
    click.echo(f"newsearch: serving http://{host}:{port}/ (Ctrl-C to stop)")
    # Waitress would otherwise buffer up to 1 GB of request body before the app can answer 413.
    serve(app, host=host, port=port, threads=threads, ident="newsearch", max_request_body_size=65536)


def main():
    """Entry point for `python -m newsearch`."""
    cli(prog_name="newsearch")
