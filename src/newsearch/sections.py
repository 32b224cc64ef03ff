"""French labels for section slugs ("societe/sante" → "Société › Santé"), from data/sections.txt."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "sections.txt"
SEPARATOR = " › "
_SLUG = re.compile(r"[a-z0-9]+(?:[-_/][a-z0-9]+)*")


@cache
def _labels() -> dict[str, str]:
    """Return the slug → label table of the data file."""
    table = {}
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            slug, _, label = line.partition("=")
            table[slug.strip()] = label.strip()
    return table


def section_label(name: str) -> str:
    """Return the label to show for a section: its French label if it is a slug, else the name as written."""
    if not _SLUG.fullmatch(name):
        return name
    table = _labels()
    parts = [table.get(part) or part.replace("-", " ").replace("_", " ").capitalize() for part in name.split("/")]
    return SEPARATOR.join(parts)
