"""Search French news: index article files, search them from the shell, serve a web UI.

Start with `newsearch index FOLDER`, then `newsearch query "words"` or `newsearch serve`.
Every command has its own --help, with examples.

\b
Exit codes, for scripts:
  0  success (query: at least one hit)
  1  query: no hit
  2  usage error, or a malformed query or filter
  3  no usable index (missing, damaged, or built by another version)
  4  index: some files or records were skipped (the rest was indexed)
  5  index: another job holds the lock (after --lock-timeout)
  6  newsearch's installation is incomplete: a package or a data file is missing or broken; nothing was changed
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from dataclasses import replace

import click
from click.core import ParameterSource

from . import __version__
from .errors import (
    DependencyError,
    IndexDamagedError,
    IndexLockedError,
    IndexMissingError,
    NewsearchError,
    QueryError,
    SchemaVersionError,
    ServeError,
)
from .parse import DEFAULT_LIMITS, MB
from .vocabulary import DEFAULT_SORT, FACET_KINDS, SORTS, VALUE_FACETS

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
        elif isinstance(error, (QueryError, ServeError)):
            self.exit_code = EXIT_USAGE
        elif isinstance(error, DependencyError):
            self.exit_code = EXIT_ENVIRONMENT
        else:
            self.exit_code = 1


def complete_from_index(field: str):
    """Return a Click shell_complete callback offering the values of an index field (tags, sections)."""

    def complete(ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        from .store import IndexStore
        from .suggest import index_values

        try:
            reader = IndexStore(ctx.params.get("index_dir")).open().reader()
            values = index_values(reader, field, incomplete)
        except (NewsearchError, OSError):
            return []  # no index yet: nothing to offer, and nothing printed into the shell
        return [CompletionItem(value, help=f"{count} article(s)") for value, count in values]

    return complete


def index_option(f):
    return click.option(
        "--index",
        "index_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Index directory (default: $NEWSEARCH_INDEX, else ./index).",
    )(f)


@click.group(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsearch")
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
    """Renders the indexer's progress callback (bytes read of all files) as a click progress bar on stderr."""

    def __init__(self):
        self.bar = None

    def __call__(self, event, **info):
        if event != "bytes":
            return
        if self.bar is None:
            self.bar = click.progressbar(length=max(info["total"], 1), label="indexing", file=sys.stderr)
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


class QueryCommand(click.Command):
    """A command whose query words may start with '-' (an exclusion such as -Macron) without a '--' before them."""

    def parse_args(self, ctx, args):
        takes_value, flags = set(), set()
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                (flags if param.is_flag else takes_value).update(param.opts + param.secondary_opts)
        options, words = [], []
        tokens = iter(args)
        for token in tokens:
            name = token.split("=", 1)[0]
            if token == "--":
                words.extend(tokens)
            elif token in takes_value:
                options += [token, next(tokens, "")]
            elif name in takes_value or token in flags:
                options.append(token)
            else:
                words.append(token)
        return super().parse_args(ctx, [*options, "--", *words] if words else options)


# What each facet's option does, and where its values are completed from (vocabulary.FACET_KINDS has the rest).
FACET_OPTION_HELP = {
    "tags": ("Only articles with this tag (repeatable: all must match).", "tagform"),
    "section": ("Only articles of this section.", "section"),
    "personnes": ("Only articles naming this person (as in the facet).", None),
    "lieux": ("Only articles naming this place.", None),
    "organisations": ("Only articles naming this organisation.", None),
}


def facet_options(command):
    """Give a command one filter option per facet of the vocabulary (--tag, --section, --person…)."""
    for kind in reversed(VALUE_FACETS):
        help_text, completed_from = FACET_OPTION_HELP[kind.key]
        command = click.option(
            kind.option,
            kind.attribute,
            multiple=kind.select == "many",
            shell_complete=complete_from_index(completed_from) if completed_from else None,
            help=help_text,
        )(command)
    return command


@cli.command("query", cls=QueryCommand)
@click.argument("words", nargs=-1)
@index_option
@facet_options
@click.option("--since", help="From this date: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--until", help="Up to this date, included: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option(
    "--sort",
    type=click.Choice(list(SORTS)),
    default=DEFAULT_SORT,
    show_default=True,
    help="recent: relevance blended with freshness (half-life 90 days before the newest article).",
)
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="Hits per page.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True, help="Which page of hits to show.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--no-collapse", "no_collapse", is_flag=True,
              help="List every copy of a wire story (\"reprises\"), not only the best-ranked one.")  # fmt: skip
@click.option(
    "--batch",
    type=click.File("r", encoding="utf-8"),
    help="Run one query per line of FILE (- for stdin); print one JSON object per line.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "json"]),
    help="Export every hit, not one page: CSV (one row per article), JSON Lines, or the --json object.",
)
@click.option("--max", "max_hits", type=click.IntRange(1, 10_000), default=10_000, show_default=True,
              help="With --format: export at most this many hits.")  # fmt: skip
@click.option("--bom", is_flag=True, help="With --format csv: start with a UTF-8 BOM (for Excel).")
def query_command(
    words, index_dir, since, until, sort, limit, page, as_json, no_collapse, batch, fmt, max_hits, bom, **chosen
):  # fmt: skip
    """Search the index. WORDS: all must match when few; "phrase", « phrase », OR, -word, NOT, title:, tag:.

    The words may be given quoted as one argument or unquoted; a word such as -Macron excludes it.
    """
    from .search import Engine, SearchRequest

    query = " ".join(words)

    # Every query of the command (one, or each line of --batch) shares its filters and page; each has its words.
    facets = {name: list(value) if isinstance(value, tuple) else value for name, value in chosen.items()}
    shared = SearchRequest(since=since, until=until, sort=sort, page=page, limit=limit, collapse=not no_collapse)
    shared = replace(shared, **facets)

    def request(q):
        return replace(shared, q=q)

    try:
        engine = Engine(index_dir)
    except NewsearchError as exc:
        raise DomainError(exc) from None
    if fmt:
        _export(engine, request(query), fmt, max_hits, bom)
        return
    if batch is not None:
        # One output line per input line, so a script can pair them; blank lines would list the whole index.
        failed = False
        for line in batch:
            q = line.rstrip("\r\n")
            if not q.strip():
                out = {"query": q, "skipped": "empty line"}
            else:
                try:
                    out = engine.search(request(q)).to_dict()
                except QueryError as exc:
                    out, failed = {"query": q, "error": exc.english, "code": exc.code}, True
            click.echo(json.dumps(out, ensure_ascii=False))
        if failed:
            sys.exit(EXIT_USAGE)
        return
    try:
        results = engine.search(request(query))
    except NewsearchError as exc:
        raise DomainError(exc) from None
    data = results.to_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        click.echo(render_table(data, color=sys.stdout.isatty(), limit=limit))
    if not data["hits"]:
        sys.exit(EXIT_NO_HIT)


def _export(engine, request, fmt, max_hits, bom):
    """Stream `query --format` to stdout as UTF-8; exit 1 when nothing matched."""
    from .export import Export, export_chunks

    ctx = click.get_current_context()
    for name in ("limit", "page", "as_json", "batch"):
        if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT:
            raise click.UsageError(
                f"--format exports every hit: it cannot be combined with --{name.removeprefix('as_')}"
            )
    try:
        export = Export(engine, request, cap=max_hits)
        out = sys.stdout.buffer
        for chunk in export_chunks(export, fmt, bom=bom):
            out.write(chunk.encode("utf-8"))
        out.flush()
    except NewsearchError as exc:
        raise DomainError(exc) from None
    if not export.first.total:
        sys.exit(EXIT_NO_HIT)


def render_table(data: dict, color: bool = False, width: int | None = None, limit: int = 10) -> str:
    """Render search results as a readable text table (limit: hits per page, to number them)."""
    from .dates import french_date
    from .search import count_label

    width = width or (shutil.get_terminal_size().columns if sys.stdout.isatty() else 100)
    lines = []
    first = (data["page"] - 1) * limit
    shown = f"page {data['page']}/{data['pages']}"
    counted = count_label(data["total"], data.get("total_with_copies"))
    lines.append(f"{counted} pour « {data['query']} » — {shown}" if data["query"] else f"{counted} — {shown}")
    plan = data.get("plan") or {}
    if plan.get("notes"):
        lines.append(f"Requête lue comme : {plan['read_as']}")
        lines += plan["notes"]
    if data.get("partial"):
        lines.append("Résultats partiels (temps écoulé) : " + ", ".join(data.get("cut") or []) + " omis")
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
        lines += [f"     {line}" for line in _wrap_marked(hit["snippet"], width - 5, color)]
    facets = data["facets"]
    for kind in FACET_KINDS:
        if not facets.get(kind.key):
            continue
        if kind.select == "range":  # the last twelve months (or years) of the histogram
            lines.append(f"{kind.label} : " + ", ".join(f"{d['value']} ({d['count']})" for d in facets[kind.key][-12:]))
        else:
            lines.append(f"{kind.label} : " + ", ".join(f"{f['label']} ({f['count']})" for f in facets[kind.key][:10]))
    return "\n".join(lines)


def _wrap_marked(snippet: str, width: int, color: bool) -> list[str]:
    """Wrap a snippet to width, its **marked** words in bold yellow on a terminal (marks take no room there)."""
    wrap = {"break_long_words": False, "break_on_hyphens": False}
    if not color:
        return textwrap.wrap(snippet, width, **wrap)
    # Wrap the text without its marks, then style it word by word; a mark may span words ("**réforme des**").
    raw = snippet.split()
    out, i, inside = [], 0, False
    for line in textwrap.wrap(" ".join(w.replace("**", "") for w in raw), width, **wrap):
        styled = []
        for word in raw[i : i + len(line.split())]:
            parts = []
            for k, part in enumerate(word.split("**")):
                inside = inside != (k > 0)
                parts.append(click.style(part, bold=True, fg="yellow") if inside and part else part)
            styled.append("".join(parts))
        out.append(" ".join(styled))
        i += len(line.split())
    return out


@cli.command("related")
@click.argument("article_id")
@index_option
@click.option("--limit", type=click.IntRange(1, 50), default=5, show_default=True, help="How many articles to list.")
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
    click.echo(f"index version  {stats['index_version']} (newsearch {stats['version']})")
    click.echo("top tags       " + ", ".join(f"{t['label']} ({t['count']})" for t in stats["top_tags"]))


@cli.command("export")
@index_option
@click.option("--opensearch", "folder", type=click.Path(file_okay=False), required=True,
              help="Folder to write the OpenSearch/Elasticsearch index template and _bulk files into.")  # fmt: skip
@click.option("--index-name", default="newsearch", show_default=True, help="Name of the index in the cluster.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def export_command(index_dir, folder, index_name, as_json):
    """Write the index for a cluster: an index template mirroring the French analyzer, the articles as _bulk files."""
    from .opensearch_export import export_for_cluster
    from .search import Engine

    try:
        searcher, _ = Engine(index_dir).refresh()
        report = export_for_cluster(searcher, folder, index_name=index_name)
    except NewsearchError as exc:
        raise DomainError(exc) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {folder}: {exc.strerror}") from None
    if as_json:
        data = {"folder": str(report.folder), "documents": report.documents, "files": report.files}
        click.echo(json.dumps({**data, "commands": report.commands}, ensure_ascii=False))
        return
    click.echo(f"{report.documents} articles in {len(report.files)} bulk file(s), template and load.sh in {folder}")
    click.echo(f"load them (in {folder}, with OPENSEARCH=http://host:9200):")
    for line in report.commands:
        click.echo(f"  {line}")


@cli.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", type=int, default=5000, show_default=True, help="1-65535.")
@click.option("--threads", type=int, default=16, show_default=True, help="Worker threads (requests in progress).")
@click.option(
    "--searches", type=int, default=2, show_default=True, help="Searches run at once; one is kept for cheap ones."
)
@click.option("--connection-limit", type=int, default=400, show_default=True, help="Open client connections.")
@click.option("--channel-timeout", type=int, default=20, show_default=True, help="Seconds an idle connection stays.")
@click.option("--backlog", type=int, default=1024, show_default=True, help="Connections queued by the kernel.")
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    help="Host name the server answers for (repeatable; * for any). Default: what --host implies.",
)
@click.option("--url-prefix", default="", help="Serve under this path (/news) when a proxy forwards it as it is.")
@click.option("--proxies", type=int, default=0, show_default=True,
              help="Trust X-Forwarded-For/-Proto/-Host/-Prefix from this many reverse proxies in front.")  # fmt: skip
@click.option("--access-log", type=click.Path(dir_okay=False, allow_dash=True),
              help="Log every request in the common log format to FILE (- for stderr).")  # fmt: skip
def serve_command(index_dir, **options):
    """Serve the web UI and the JSON API with waitress, costly searches kept from starving cheap ones."""
    from .server import ServeOptions, build

    # The options are named as ServeOptions' fields, which validates them all in one place.
    options = ServeOptions(**{**options, "allowed_hosts": tuple(options["allowed_hosts"]) or None})
    try:
        server = build(options, index_dir)
    except NewsearchError as exc:
        raise DomainError(exc) from None
    if options.access_log:
        _log_requests_to(options.access_log)
    shown = f"[{options.host}]" if ":" in options.host else options.host
    prefix = options.url_prefix.rstrip("/")
    # The handler goes in before the line that tells the user (or a test) to press Ctrl-C: a signal between the
    # two once reached click as a bare KeyboardInterrupt, which it reports as "Aborted!" with exit code 1.
    _stop_surely_on_ctrl_c()
    try:
        click.echo(f"newsearch: serving http://{shown}:{options.port}{prefix}/ (Ctrl-C to stop)")
        server.run()
    except KeyboardInterrupt:
        server.close()


# Seconds a Ctrl-C leaves waitress to finish the requests in progress and Python to exit.
STOP_GRACE = 5.0


def _stop_surely_on_ctrl_c() -> None:
    """Make Ctrl-C stop the server in STOP_GRACE seconds at most, whatever might hold the exit up.

    Waitress stops on the KeyboardInterrupt and waits for its threads; on a loaded machine the process was once
    seen still up long after the signal, so the interrupt also starts a timer that ends the process outright.
    """
    import os
    import signal
    import threading

    def interrupted(signum, frame):
        timer = threading.Timer(STOP_GRACE, os._exit, args=(0,))
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)


def _log_requests_to(target: str) -> None:
    """Send the access log (newsearch.wsgi) to a file, or to stderr for -, one line per request."""
    import logging

    from .wsgi import ACCESS_LOGGER

    handler = logging.StreamHandler(sys.stderr) if target == "-" else logging.FileHandler(target, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


@cli.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell):
    """Print the shell completion script for SHELL (commands, options, and tags and sections from the index)."""
    from click.shell_completion import get_completion_class

    completion = get_completion_class(shell)(cli, {}, "newsearch", "_NEWSEARCH_COMPLETE")
    click.echo(completion.source())


def _add_examples():
    """Give every command's --help an Examples: block, as sqlite-utils does (test_cli_help checks none lacks one)."""
    from .help_examples import EXAMPLES, epilog

    cli.epilog = epilog(EXAMPLES[""])
    for name, command in cli.commands.items():
        if name in EXAMPLES:
            command.epilog = epilog(EXAMPLES[name])


_add_examples()


def main():
    """Entry point for `python -m newsearch`."""
    cli(prog_name="newsearch")
