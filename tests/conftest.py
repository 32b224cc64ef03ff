"""Shared fixtures: the project's own sample corpus, one session-scoped index of it, indexes built from records,
and ../shared."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from newsearch.indexer import Indexer
from newsearch.search import Engine
from newsearch.store import IndexStore
from newsroom import build_newsroom_index

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = Path(os.environ.get("NEWSEARCH_SHARED", ROOT.parent / "shared"))
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared data set (real articles, eval ids); tests that need it skip without it."""
    if not (SHARED / "corpus" / "orangesum.jsonl.gz").is_file():
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The sample corpus the project wrote itself."""
    return EXAMPLES


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory) -> Path:
    """One index of the sample corpus, built once per test session; tests must not write to it."""
    index_dir = tmp_path_factory.mktemp("sample-index")
    report = Indexer(IndexStore(index_dir)).run([EXAMPLES])
    assert not report.skipped, report.skipped
    return index_dir


@pytest.fixture(scope="session")
def engine(sample_index) -> Engine:
    """A search engine over the sample index."""
    return Engine(sample_index)


@pytest.fixture(scope="session")
def index_from_records(tmp_path_factory):
    """Index a list of article records (dicts of id, title, body, date, tags…) and return the index folder.

    The records go through the real path: a JSONL file on disk, then Indexer.run into a fresh folder.
    """

    def build(records: list[dict], **indexer_options) -> Path:
        folder = tmp_path_factory.mktemp("records")
        source = folder / "records.jsonl"
        source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        report = Indexer(IndexStore(folder / "index"), **indexer_options).run([source])
        assert report.documents == len({r["id"] for r in records}) and not report.skipped, report
        return folder / "index"

    return build


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save screenshots and reports for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def write_files(tmp_path):
    """Write {relative name: str or bytes} under a fresh folder and return the folder."""

    def write(files: dict, folder: str = "articles") -> Path:
        base = tmp_path / folder
        for name, content in files.items():
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return base

    return write


@pytest.fixture(scope="session")
def newsroom_index(tmp_path_factory) -> Path:
    """An index of tests/newsroom.py's 230 made-up articles (more than two pages of 100); tests must not write to it."""
    base = tmp_path_factory.mktemp("newsroom")
    build_newsroom_index(base / "articles", base / "index")
    return base / "index"
