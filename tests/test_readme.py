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
