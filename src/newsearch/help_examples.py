"""The Examples: block of each command's --help: real invocations to copy, as sqlite-utils shows them."""

from __future__ import annotations

EXAMPLES = {
    "": [
        "newsearch index articles/ --index /srv/index",
        'newsearch query "réforme des retraites" --since 2023 --index /srv/index',
        "newsearch serve --index /srv/index --port 8080",
        'eval "$(newsearch completion bash)"',
    ],
    "index": [
        "newsearch index articles/ depeches.jsonl.gz --index /srv/index",
        "newsearch index articles/ --dry-run --json",
        "newsearch index articles/ --full",
        "newsearch index articles/ --watch",
    ],
    "verify": [
        "newsearch verify --index /srv/index",
        "newsearch verify --json || newsearch index articles/ --full",
    ],
    "query": [
        'newsearch query "grève SNCF" --since 2023-01 --sort date',
        'newsearch query "OTAN OR NATO" --tag international --json',
        'newsearch query "« réforme des retraites »" --format csv --bom > retraites.csv',
        'newsearch query "" --section politique --format jsonl --max 500',
        "newsearch query --batch requetes.txt > resultats.jsonl",
    ],
    "related": [
        "newsearch related lpq-2026-0210",
        "newsearch related lpq-2026-0210 --limit 10 --json",
    ],
    "stats": ["newsearch stats", "newsearch stats --json | jq .documents"],
    "export": [
        "newsearch export --opensearch cluster/ --index /srv/index",
        "cd cluster && OPENSEARCH=http://localhost:9200 sh load.sh",
    ],
    "serve": [
        "newsearch serve --index /srv/index --port 8080",
        "newsearch serve --url-prefix /news --access-log /var/log/newsearch/access.log",
        "newsearch serve --proxies 1 --access-log -",
    ],
    "completion": [
        'eval "$(newsearch completion bash)"   # in ~/.bashrc',
        'eval "$(newsearch completion zsh)"    # in ~/.zshrc',
        "newsearch completion fish > ~/.config/fish/completions/newsearch.fish",
    ],
}


def epilog(lines: list[str]) -> str:
    """Return an Examples: block that Click prints as it is (\\b stops it from rewrapping the lines)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
