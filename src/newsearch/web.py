"""The Flask web app: search page, article page and JSON API over one shared Engine."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify, request

from .errors import NewsearchError
from .search import Engine, SearchRequest

WEB_DIR = Path(__file__).resolve().parents[2] / "web"


def search_request_from_args(args) -> SearchRequest:
    """Build a SearchRequest from query-string arguments (the same names as the CLI options)."""

    def number(name, default):
        value = args.get(name, "")
        if not value:
            return default
        try:
            return int(value)
        except ValueError:
            raise NewsearchError(f"{name} must be a whole number") from None

    return SearchRequest(
        q=args.get("q", ""),
        tags=args.getlist("tag"),
        since=args.get("since") or None,
        until=args.get("until") or None,
        sort=args.get("sort") or "relevance",
        page=number("page", 1),
        limit=number("limit", 10),
        section=args.get("section") or None,
    )


def create_app(config=None):
    """Create the web app; config may set INDEX_DIR."""
    app = Flask(__name__, template_folder=str(WEB_DIR / "templates"), static_folder=str(WEB_DIR / "static"))
    app.config.update(INDEX_DIR=None, SEARCH_TIME_LIMIT=2.0)
    if config:
        app.config.update(config)
    engine = Engine(app.config["INDEX_DIR"], time_limit=app.config["SEARCH_TIME_LIMIT"])
    app.extensions["newsearch"] = engine

    @app.errorhandler(NewsearchError)
    def domain_error(exc):
        return jsonify({"error": str(exc), "status": exc.status}), exc.status

    @app.get("/api/search")
    def api_search():
        return jsonify(engine.search(search_request_from_args(request.args)).to_dict())

    @app.get("/api/article/<path:article_id>")
    def api_article(article_id):
        return jsonify(engine.article(article_id))

    @app.get("/")
    def home():
        return (
            "<!doctype html><meta charset=utf-8><title>newsearch</title>"
            "<form action=/api/search><input name=q aria-label=Recherche><button>Rechercher</button></form>"
        )

    return app
