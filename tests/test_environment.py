"""A broken install is not bad input: `newsearch index` stops with exit 6 before it changes the index (issue 12)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from newsearch.cli import EXIT_ENVIRONMENT
from newsearch.store import IndexStore
from newsearch.verify import verify

# The real CLI runs in a fresh interpreter where one thing of the install is made to fail for real:
# a None entry in sys.modules makes `import lxml.html.clean` (what jusText imports) raise ImportError.
BROKEN_IMPORT = "import sys; sys.modules[{module!r}] = None"
# The entity lists are data files of the package: pointed at an empty folder, they are missing.
MISSING_DATA = "import pathlib, newsearch.entities as e; e.DATA = pathlib.Path({empty!r})"
INSTALLED = "pass"


def newsearch(setup: str, *args) -> subprocess.CompletedProcess:
    """Run `newsearch ARGS…` in a new Python process after the setup line."""
    code = f"{setup}\nimport sys\nsys.argv[0] = 'newsearch'\nfrom newsearch.cli import main\nmain()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=300)


def index_files(index_dir: Path) -> dict:
    """Every file of the index but the lock, with its size and mtime: what "unchanged" compares."""
    if not index_dir.exists():
        return {}
    return {
        str(p.relative_to(index_dir)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(index_dir.rglob("*"))
        if p.name != "LOCK"
    }


@pytest.fixture
def corpus(tmp_path, examples_dir) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(examples_dir, folder)
    return folder


def test_a_missing_package_stops_the_run_before_the_index_changes(tmp_path, corpus):
    ix = tmp_path / "ix"
    run = newsearch(BROKEN_IMPORT.format(module="lxml.html.clean"), "index", corpus, "--index", ix, "--json")
    assert run.returncode == EXIT_ENVIRONMENT == 6, run.stderr
    (line,) = run.stderr.strip().splitlines()  # one line, no traceback
    assert "lxml_html_clean" in line and "pip install lxml_html_clean" in line
    assert run.stdout == "" and index_files(ix) == {}  # no report claiming skips, no index created

    # With the install fixed, the next run indexes everything, the HTML pages included.
    fixed = newsearch(INSTALLED, "index", corpus, "--index", ix, "--json")
    assert fixed.returncode == 0, fixed.stderr
    report = json.loads(fixed.stdout)
    assert report["added"] == 49 and report["skipped"] == [] and report["documents"] == 49


def test_a_broken_install_leaves_an_existing_index_exactly_as_it_was(tmp_path, corpus):
    ix = tmp_path / "ix"
    first = newsearch(INSTALLED, "index", corpus, "--index", ix)
    assert first.returncode == 0, first.stderr
    before = index_files(ix)
    page = corpus / "html" / "deserts-medicaux-commune-salarie-medecins.html"
    page.write_text(page.read_text(encoding="utf-8").replace("en main :", "en main, ce soir :", 1))
    run = newsearch(BROKEN_IMPORT.format(module="trafilatura"), "index", corpus, "--index", ix)
    assert run.returncode == EXIT_ENVIRONMENT, run.stderr
    assert "the Python package trafilatura" in run.stderr and "skipped" not in run.stderr
    assert index_files(ix) == before and verify(IndexStore(ix)).ok

    fixed = newsearch(INSTALLED, "index", corpus, "--index", ix, "--json")
    report = json.loads(fixed.stdout)
    assert (report["updated"], report["unchanged"], report["skipped"]) == (1, 48, [])


def test_a_missing_data_file_of_the_package_is_an_environment_error(tmp_path, corpus):
    ix = tmp_path / "ix"
    empty = tmp_path / "empty-data"
    empty.mkdir()
    run = newsearch(MISSING_DATA.format(empty=str(empty)), "index", corpus, "--index", ix)
    assert run.returncode == EXIT_ENVIRONMENT, run.stderr
    assert "broken install" in run.stderr and "lieux.txt" in run.stderr and index_files(ix) == {}


def test_a_broken_file_is_still_skipped_as_bad_input(tmp_path, corpus):
    (corpus / "html" / "vide.html").write_text("<html><body><nav>Menu</nav></body></html>", encoding="utf-8")
    run = newsearch(INSTALLED, "index", corpus, "--index", tmp_path / "ix", "--json")
    assert run.returncode == 4
    skipped = json.loads(run.stdout)["skipped"]
    assert skipped == [{"path": str(corpus / "html" / "vide.html"), "reason": "no article text found in the HTML page"}]
