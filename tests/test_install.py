"""The install a user gets: a wheel (and an sdist from a clean clone) in a fresh venv with its bundled pip, run elsewhere."""

from __future__ import annotations

import ast
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from newsearch.web import UI_FILES

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"requirements.lock": [], "requirements-test.lock": ["test"]}

SEED_TXT = """Accéder au contenu principal

Grève des contrôleurs aériens : des centaines de vols annulés à Orly

Grève des contrôleurs aériens : des centaines de vols annulés à Orly

Publié le 14 mars 2025
Mots-clés : Transports, Social

Les contrôleurs aériens ont cessé le travail jeudi matin à l’aéroport d’Orly, où la direction générale de l’aviation civile a demandé aux compagnies de réduire leur programme de vols de moitié.

Pin It

VOUS POUVEZ AUSSI AIMER
Un autre article sans rapport
12 mars 2025
"""

HTML_PAGE = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8">
<title>Vendanges précoces dans le Bordelais | La Gazette</title>
<meta property="og:title" content="Vendanges précoces dans le Bordelais">
<meta property="article:published_time" content="2024-08-20T07:30:00+02:00">
<meta property="article:tag" content="Agriculture">
<link rel="canonical" href="https://gazette.example/agriculture/vendanges-precoces.html">
</head><body><nav><a href="/">Accueil</a> <a href="/sport">Sport</a></nav>
<article><h1>Vendanges précoces dans le Bordelais</h1>
<p>Les viticulteurs girondins ont commencé les vendanges avec près de trois semaines d’avance, une précocité que la
chambre d’agriculture attribue aux fortes chaleurs du mois de juillet et à un printemps particulièrement doux.</p>
<p>Dans les rangs de merlot, les saisonniers coupent les grappes dès six heures du matin pour éviter la chaleur de
l’après-midi, qui abîme les raisins et complique le travail des équipes venues de toute la région.</p>
<p>Les négociants s’attendent à un millésime de qualité, mais à des volumes en baisse d’environ quinze pour cent.</p>
</article><footer>Mentions légales</footer></body></html>
"""

JSONL_RECORD = {
    "id": "install-jsonl-1",
    "url": "https://gazette.example/sciences/telescope-observatoire.html",
    "title": "Un nouveau télescope pour l’observatoire du pic du Midi",
    "body": "L’observatoire du pic du Midi a inauguré mardi un télescope capable de suivre les astéroïdes proches.",
    "date": "2023-05-02T10:00:00+02:00",
    "tags": ["Sciences"],
}


def run(*args, cwd, timeout=600, env=None) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output if it exits non-zero."""
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def fresh_venv(folder: Path, lock: str) -> Path:
    """Make a venv with the pip that `python -m venv` bundles (not upgraded) and install the lock into it."""
    base_python = getattr(sys, "_base_executable", sys.executable)
    run(base_python, "-m", "venv", str(folder), cwd=folder.parent)
    bin_dir = folder / "bin"
    run(str(bin_dir / "python"), "-m", "pip", "install", "-q", "--require-hashes", "-r", str(ROOT / lock), cwd=folder)
    return bin_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


class Served:
    """`newsearch serve` started from an installed venv, in a folder outside the checkout."""

    def __init__(self, bin_dir: Path, index_dir: Path, cwd: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(bin_dir / "newsearch"), "serve", "--index", str(index_dir), "--port", str(self.port)],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited: {self.proc.stdout.read()}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("newsearch serve did not start listening within 30 s")

    def get(self, path: str) -> tuple[int, str]:
        return fetch(self.base + path)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def clean_env() -> dict:
    """The environment less anything that would make the venv see the checkout's sources."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NEWSEARCH_INDEX")}


def write_articles(folder: Path) -> Path:
    articles = folder / "articles"
    articles.mkdir()
    (articles / "greve-orly.txt").write_text(SEED_TXT, encoding="utf-8")
    (articles / "vendanges.html").write_text(HTML_PAGE, encoding="utf-8")
    (articles / "fil.jsonl").write_text(json.dumps(JSONL_RECORD, ensure_ascii=False) + "\n", encoding="utf-8")
    return articles


def check_user_journey(bin_dir: Path, work: Path) -> None:
    """Index three formats, query them, serve the UI and the API: all as a user would, outside the checkout."""
    env = clean_env()
    articles = write_articles(work)
    index_dir = work / "index"
    newsearch = str(bin_dir / "newsearch")

    version = run(newsearch, "--version", cwd=work, env=env).stdout
    assert re.search(r"\d+\.\d+", version), version
    report = json.loads(
        run(newsearch, "index", str(articles), "--index", str(index_dir), "--json", cwd=work, env=env).stdout
    )
    assert (report["added"], report["skipped"], report["documents"]) == (3, [], 3)

    for query, expected in [("contrôleurs aériens", "Orly"), ("vendanges merlot", "Bordelais"), ("télescope", "Midi")]:
        result = json.loads(
            run(newsearch, "query", query, "--index", str(index_dir), "--json", cwd=work, env=env).stdout
        )
        assert result["total"] == 1 and expected in result["hits"][0]["title"], result

    stats = json.loads(run(newsearch, "stats", "--index", str(index_dir), "--json", cwd=work, env=env).stdout)
    assert stats["version"] == version.split()[-1]

    server = Served(bin_dir, index_dir, work)
    try:
        status, home = server.get("/")
        assert status == 200 and "Vendanges précoces" in home and f"Version {stats['version']}" in home
        status, page = server.get("/?q=vendanges")
        assert status == 200 and "<mark>" in page and "1 résultat" in page
        status, article = server.get("/article/install-jsonl-1")
        assert status == 200 and "astéroïdes" in article
        status, css = server.get("/static/style.css")
        assert status == 200 and "{" in css
        status, api = server.get("/api/search?q=gr%C3%A8ve")
        assert status == 200 and json.loads(api)["hits"][0]["title"].startswith("Grève")
    finally:
        server.stop()


@pytest.mark.slow
def test_wheel_installs_with_bundled_pip_and_serves_from_elsewhere(tmp_path):
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT), cwd=tmp_path)
    wheel = next(dist.glob("newsearch-*.whl"))
    bin_dir = fresh_venv(tmp_path / "venv", "requirements.lock")
    run(str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel), cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    check_user_journey(bin_dir, work)

    # An install that lost a template stops serve at start with one line, not a 500 on every page.
    site = run(
        str(bin_dir / "python"), "-c", "import newsearch, os; print(os.path.dirname(newsearch.__file__))", cwd=work
    )
    (Path(site.stdout.strip()) / "webui" / "templates" / "error.html").unlink()
    proc = subprocess.run(
        [str(bin_dir / "newsearch"), "serve", "--index", str(work / "index"), "--port", str(free_port())],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert proc.returncode == 6, proc
    assert proc.stderr.strip().count("\n") == 0 and "templates/error.html" in proc.stderr, proc.stderr


@pytest.mark.slow
def test_sdist_from_a_clean_clone_installs_and_serves(tmp_path):
    clone = tmp_path / "clone"
    run("git", "clone", "-q", str(ROOT), str(clone), cwd=tmp_path)
    run(sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path / "dist"), str(clone), cwd=tmp_path)
    sdist = next((tmp_path / "dist").glob("newsearch-*.tar.gz"))
    bin_dir = fresh_venv(tmp_path / "venv", "requirements.lock")
    run(str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", str(sdist), cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    check_user_journey(bin_dir, work)


def test_ui_files_are_found_through_the_package():
    from newsearch.web import ui_dir

    root = ui_dir()
    assert all((root / name).is_file() for name in UI_FILES)


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_pins_every_declared_dependency_within_its_range(lock):
    """Each dependency of pyproject.toml is pinned in the lock, with hashes, at a version its range allows."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    for extra in LOCKS[lock]:
        declared += [Requirement(r) for r in project["optional-dependencies"][extra]]
    text = (ROOT / lock).read_text(encoding="utf-8")
    pins: dict[str, list[str]] = {}
    for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", text, re.M):
        pins.setdefault(re.sub(r"[-_.]+", "-", name).lower(), []).append(version)
    assert text.count("--hash=sha256:") >= len(pins)
    for requirement in declared:
        versions = pins.get(re.sub(r"[-_.]+", "-", requirement.name).lower())
        assert versions, f"{requirement.name} is declared in pyproject.toml but not in {lock}: run `make lock`"
        assert any(requirement.specifier.contains(v, prereleases=True) for v in versions), (requirement, versions)


def imported_modules(folder: Path) -> set[str]:
    """Return the top-level names of every module imported by the Python files under folder."""
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(("folder", "extras"), [("src", []), ("tests", ["test"])])
def test_every_third_party_import_is_a_declared_dependency(folder, extras):
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {Requirement(r).name.lower().replace("_", "-") for r in project["dependencies"]}
    for extra in extras:
        declared |= {Requirement(r).name.lower().replace("_", "-") for r in project["optional-dependencies"][extra]}
    distributions = packages_distributions()
    local = {p.stem for p in (ROOT / folder).glob("*.py")} | {"newsearch"}
    for module in sorted(imported_modules(ROOT / folder) - set(sys.stdlib_module_names) - local):
        # A module named as its distribution counts even where its marker keeps it out (tomli on 3.11).
        owners = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        assert owners & declared, (
            f"{folder}/ imports {module} (from {owners or 'nowhere'}) but pyproject does not declare it"
        )


def test_python_m_newsearch_prints_the_version_from_the_metadata():
    from importlib.metadata import version

    proc = subprocess.run([sys.executable, "-m", "newsearch", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"newsearch, version {version('newsearch')}"
