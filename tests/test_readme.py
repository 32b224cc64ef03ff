"""The README says what the program does: its table of commands and options is the CLI's own."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_commands_table_is_the_clis():
    spec = importlib.util.spec_from_file_location("commands_doc", ROOT / "docs" / "commands.py")
    commands_doc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(commands_doc)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert commands_doc.START in readme
    assert commands_doc.updated_readme(readme) == readme, (
        "the README's commands table is stale: python docs/commands.py --write"
    )


def test_every_synopsis_in_the_readme_names_every_option_of_its_command():
    import re

    import click

    from newsearch.cli import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ctx = click.Context(cli)
    # A synopsis: a line `newsearch CMD …[--option]…` and the indented lines that continue it.
    synopses = re.findall(r"^(newsearch (\w+) [^\n]*\[--[^\n]*(?:\n {10,}[^\n]*)*)", readme, flags=re.M)
    assert {name for _, name in synopses} >= {"index", "query", "serve"}
    for synopsis, name in synopses:
        command = cli.get_command(ctx, name)
        options = {max(p.opts, key=len) for p in command.params if isinstance(p, click.Option)}
        missing = {o for o in options if not re.search(re.escape(o) + r"\b(?!-)", synopsis)}
        assert not missing, f"the README's synopsis of `newsearch {name}` lacks {sorted(missing)}"
