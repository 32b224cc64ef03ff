"""Kill and concurrency trials: SIGKILL at random moments and at each file operation of a commit, two jobs at
once, readers searching while a job commits. After every kill the index must open, pass verify, hold exactly
a state that some commit produced, have no stale lock, and a re-run must finish the job."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from newsearch.indexer import Indexer, _Job, read_records
from newsearch.schema import ARTICLE
from newsearch.search import Engine, SearchRequest
from newsearch.store import IndexStore
from newsearch.verify import verify

SEED = 20251125
WORDS = (
    "pluie gouvernement réforme école hôpital grève élection village rivière tempête marché prix énergie "
    "santé médecin agriculteur récolte football musée théâtre"
).split()

# Runs the real CLI, after arranging to SIGKILL itself at the Nth storage operation (create, rename, delete).
KILL_RUNNER = """
import os, signal, sys
from whoosh.filedb.filestore import FileStorage

KILL_AT = int(os.environ.get("NEWSEARCH_KILL_AT", "0"))
calls = [0]


def wrap(name):
    original = getattr(FileStorage, name)

    def wrapper(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, *args, **kwargs)

    setattr(FileStorage, name, wrapper)


for name in ("create_file", "rename_file", "delete_file"):
    wrap(name)
from newsearch.cli import cli

try:
    cli(prog_name="newsearch", standalone_mode=False)
finally:
    with open(os.environ["NEWSEARCH_OPS_LOG"], "w") as fh:
        fh.write(str(calls[0]))
"""


def make_corpus(base: Path, seed: int, txt: int, jsonl: int, lines: int) -> Path:
    """Write txt small text articles and jsonl files of lines articles each."""
    rng = random.Random(seed)

    def words(n):
        return " ".join(rng.choice(WORDS) for _ in range(n))

    for i in range(txt):
        p = base / f"d{i % 10}" / f"article-{i:04d}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"Titre {i} {words(4)}\n\n{words(12).capitalize()}.\n\n{words(12).capitalize()}.\n", "utf-8")
    for j in range(jsonl):
        p = base / "flux" / f"depeches-{j:03d}.jsonl"
        p.parent.mkdir(parents=True, exist_ok=True)
        records = [
            {"id": f"d{j}-{k}", "title": words(5), "body": words(30), "tags": [rng.choice(WORDS)]} for k in range(lines)
        ]
        p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return base


def mutate(corpus: Path, seed: int) -> None:
    """Change a corpus the way a day of news does: edits, deletions, new files, lines appended and removed."""
    rng = random.Random(seed)
    texts = sorted(corpus.rglob("*.txt"))
    for p in rng.sample(texts, 3):
        p.write_text(p.read_text("utf-8") + "\nUn paragraphe ajouté après coup.\n", "utf-8")
    for p in rng.sample([t for t in texts if "ajouté" not in t.read_text("utf-8")], 2):
        p.unlink()
    for i in range(4):
        (corpus / "new").mkdir(exist_ok=True)
        (corpus / "new" / f"n{i}.txt").write_text(f"Nouveau {i}\n\nUn article arrivé ce matin, le {i}.\n", "utf-8")
    feeds = sorted(corpus.rglob("*.jsonl"))
    lines = feeds[0].read_text("utf-8").splitlines(keepends=True)
    feeds[0].write_text("".join(lines[:-2]), "utf-8")
    with open(feeds[-1], "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "late-1", "title": "Tardive", "body": "Une dépêche tardive."}) + "\n")


def state(index_dir: Path):
    """The committed state an index holds: its file records and its article ids (None without an index)."""
    store = IndexStore(index_dir)
    if not store.exists():
        return None
    with store.open().searcher() as searcher:
        records = read_records(searcher)
        articles = sorted(fields["id"] for fields in searcher.documents(kind=ARTICLE))
    return (
        tuple(sorted((p, r.sha256, r.complete, tuple(sorted(r.ids.items()))) for p, r in records.items())),
        tuple(articles),
    )


def reference_states(monkeypatch, index_dir: Path, paths, batch_size: int, full: bool = False, **options) -> list:
    """Run the indexer uninterrupted and return the state after each of its commits (first: before any)."""
    states = [state(index_dir)]
    real_commit = _Job.commit

    def commit(job):
        real_commit(job)
        states.append(state(index_dir))

    with monkeypatch.context() as m:
        m.setattr(_Job, "commit", commit)
        Indexer(IndexStore(index_dir), batch_size=batch_size, **options).run(paths, full=full)
    states.append(state(index_dir))
    return states


def newsearch(*args) -> list[str]:
    return [sys.executable, "-m", "newsearch", *map(str, args)]


def check_after_kill(index_dir: Path, allowed: list, paths, final, full: bool, batch_size: int, what: str) -> None:
    """The index holds a committed state, verifies, and a re-run (which must find no lock) completes it."""
    got = state(index_dir)
    assert got in allowed, f"{what}: the index holds a state no commit produced"
    if got is not None:
        report = verify(IndexStore(index_dir))
        assert report.ok, f"{what}: {report.problems}"
    # lock_timeout=0: a lock left behind by the killed job would fail here.
    Indexer(IndexStore(index_dir), batch_size=batch_size, lock_timeout=0).run(paths, full=full)
    assert state(index_dir) == final, f"{what}: the re-run did not complete the job"
    store = IndexStore(index_dir)
    assert verify(store).ok
    leftovers = [p.name for p in store.current_dir().iterdir() if ".toc." in p.name or p.name.endswith(".tmp")]
    assert leftovers == [], f"{what}: stray files survived the re-run: {leftovers}"
    assert store.unfinished_generations() == [] or not full


# --- SIGKILL at random moments --------------------------------------------------------------------


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path, monkeypatch):
    corpus = make_corpus(tmp_path / "corpus", SEED, txt=60, jsonl=10, lines=5)  # 110 articles
    batch = 8
    fresh = reference_states(monkeypatch, tmp_path / "ref", [corpus], batch)
    final = fresh[-1]
    assert len(final[1]) == 110 and len(set(fresh)) > 10
    # An empty generation goes live before the first commit of a first run.
    fresh_allowed = [None, ((), ()), *fresh]
    # A --full rebuild is invisible until its switch: the live index is the old one or the new one.
    full_allowed = [final]

    # A full rebuild writes what a first run writes: one timing serves both kinds of trial.
    shutil.copytree(tmp_path / "ref", tmp_path / "timing")
    started = time.monotonic()
    subprocess.run(
        newsearch("index", corpus, "--index", tmp_path / "timing", "--batch-size", batch, "--full"), check=True
    )
    duration = time.monotonic() - started

    rng = random.Random(SEED)
    landed = 0
    for trial in range(25):
        full = trial % 3 == 2
        ix = tmp_path / f"trial-{trial}"
        if full:
            shutil.copytree(tmp_path / "ref", ix)
        args = ["--full"] if full else []
        proc = subprocess.Popen(
            newsearch("index", corpus, "--index", ix, "--batch-size", batch, *args),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.05, duration * 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        landed += proc.returncode == -signal.SIGKILL
        check_after_kill(ix, full_allowed if full else fresh_allowed, [corpus], final, full, batch, f"trial {trial}")
        shutil.rmtree(ix)
    assert landed >= 15  # most kills hit a running job, not one that had finished


# Indexes with worker processes (as for a big file) in batches of 50, the way the CLI would.
POOLED_JOB = """
import sys
import newsearch.indexer as indexer
from newsearch.store import IndexStore

from newsearch.tuning import IndexTuning

tuning = IndexTuning(pool_min_articles=10)
indexer.Indexer(IndexStore(sys.argv[1]), batch_size=50, workers=2, tuning=tuning).run([sys.argv[2]])
"""


@pytest.mark.slow
def test_sigkill_while_workers_build_segments(tmp_path, monkeypatch):
    from newsearch.tuning import IndexTuning

    rng = random.Random(SEED)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [
        json.dumps({"id": f"w-{i}", "title": f"Dépêche {i}", "body": " ".join(rng.choices(WORDS, k=60))}) + "\n"
        for i in range(400)
    ]
    (corpus / "flux.jsonl").write_text("".join(lines), "utf-8")
    states = reference_states(monkeypatch, tmp_path / "ref", [corpus], 50, tuning=IndexTuning(pool_min_articles=10))
    assert len(set(states)) >= 8 and len(states[-1][1]) == 400
    job = tmp_path / "job.py"
    job.write_text(POOLED_JOB, "utf-8")
    started = time.monotonic()
    subprocess.run([sys.executable, str(job), str(tmp_path / "timing"), str(corpus)], check=True, timeout=120)
    duration = time.monotonic() - started
    killed = 0
    for trial in range(6):
        ix = tmp_path / f"trial-{trial}"
        proc = subprocess.Popen([sys.executable, str(job), str(ix), str(corpus)], stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, duration * 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        killed += proc.returncode == -signal.SIGKILL
        # The workers die with the job (they hold its lock while alive): the lock is free within moments.
        with IndexStore(ix).lock(timeout=5):
            pass
        check_after_kill(ix, [None, ((), ()), *states], [corpus], states[-1], False, 50, f"trial {trial}")
        shutil.rmtree(ix)
    assert killed >= 4


# --- SIGKILL at each file operation of a commit ---------------------------------------------------


def kill_at_each_operation(tmp_path, monkeypatch, base: Path, corpus: Path, batch: int, full: bool, step: int = 1):
    runner = tmp_path / "kill_runner.py"
    runner.write_text(KILL_RUNNER, "utf-8")
    ops_log = tmp_path / "ops.txt"
    ref = tmp_path / "ref"
    shutil.copytree(base, ref)
    states = reference_states(monkeypatch, ref, [corpus], batch, full=full)
    final = states[-1]
    allowed = [states[0], final] if full else states
    args = ["index", corpus, "--index", None, "--batch-size", batch] + (["--full"] if full else [])

    def run(ix: Path, kill_at: int) -> subprocess.CompletedProcess:
        argv = [sys.executable, str(runner)] + [str(ix if a is None else a) for a in args]
        env = {**os.environ, "NEWSEARCH_KILL_AT": str(kill_at), "NEWSEARCH_OPS_LOG": str(ops_log)}
        return subprocess.run(argv, env=env, capture_output=True, timeout=60)

    counting = tmp_path / "counting"
    shutil.copytree(base, counting)
    assert run(counting, 0).returncode == 0
    assert state(counting) == final
    operations = int(ops_log.read_text())
    assert operations > 20
    for n in range(1, operations + 1, step):
        ix = tmp_path / f"kill-{n}"
        shutil.copytree(base, ix)
        result = run(ix, n)
        assert result.returncode == -signal.SIGKILL, f"operation {n} of {operations} was not reached"
        check_after_kill(ix, allowed, [corpus], final, full, batch, f"killed at operation {n}/{operations}")
        shutil.rmtree(ix)
    return operations


@pytest.mark.slow
def test_sigkill_at_each_file_operation_of_incremental_commits(tmp_path, monkeypatch):
    corpus = make_corpus(tmp_path / "corpus", SEED, txt=30, jsonl=6, lines=5)
    base = tmp_path / "base"
    Indexer(IndexStore(base)).run([corpus])
    mutate(corpus, SEED)
    operations = kill_at_each_operation(tmp_path, monkeypatch, base, corpus, batch=6, full=False)
    assert operations >= 40  # several commits with merges and deletions were interrupted


@pytest.mark.slow
def test_sigkill_at_each_file_operation_of_a_full_rebuild(tmp_path, monkeypatch):
    corpus = make_corpus(tmp_path / "corpus", SEED + 1, txt=8, jsonl=2, lines=4)
    base = tmp_path / "base"
    Indexer(IndexStore(base)).run([corpus])
    mutate(corpus, SEED + 1)
    kill_at_each_operation(tmp_path, monkeypatch, base, corpus, batch=8, full=True)


# --- two jobs at once -----------------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from newsearch.store import IndexStore
with IndexStore(sys.argv[1]).lock(timeout=0):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock(ix: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(ix), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_job_gives_up_after_lock_timeout(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", SEED, txt=5, jsonl=1, lines=2)
    ix = tmp_path / "ix"
    holder = hold_lock(ix, 30)
    try:
        started = time.monotonic()
        result = subprocess.run(
            newsearch("index", corpus, "--index", ix, "--lock-timeout", "1"), capture_output=True, text=True
        )
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 5, result.stderr
    assert "another newsearch job is writing" in result.stderr and "Traceback" not in result.stderr
    assert 1 <= waited < 20
    # The holder was SIGKILLed: its flock died with it.
    assert subprocess.run(newsearch("index", corpus, "--index", ix, "--lock-timeout", "0")).returncode == 0


def test_second_job_waits_for_the_lock_then_runs(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", SEED, txt=5, jsonl=1, lines=2)
    ix = tmp_path / "ix"
    holder = hold_lock(ix, 2)
    started = time.monotonic()
    result = subprocess.run(
        newsearch("index", corpus, "--index", ix, "--lock-timeout", "60", "--json"), capture_output=True, text=True
    )
    waited = time.monotonic() - started
    holder.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    assert waited >= 1.0  # it did wait for the holder
    assert json.loads(result.stdout)["documents"] == 7


@pytest.mark.slow
def test_two_real_jobs_at_once_both_land(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", SEED, txt=60, jsonl=8, lines=5)  # 100 articles
    ix = tmp_path / "ix"
    cmd = newsearch("index", corpus, "--index", ix, "--batch-size", "10", "--lock-timeout", "120", "--json")
    jobs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [job.communicate(timeout=120) for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], outputs
    reports = sorted((json.loads(out) for out, _ in outputs), key=lambda r: r["added"])
    assert reports[0]["added"] == 0 and reports[0]["unchanged"] == 100  # the second found the work done
    assert reports[1]["added"] == 100
    assert verify(IndexStore(ix)).ok


# --- readers during commits -----------------------------------------------------------------------


@pytest.mark.slow
def test_readers_never_see_a_half_commit(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", SEED, txt=100, jsonl=16, lines=5)
    ix = tmp_path / "ix"
    seed_file = tmp_path / "seed" / "first.txt"
    seed_file.parent.mkdir()
    seed_file.write_text("Premier\n\nLe premier article, pour que l'index existe.\n", "utf-8")
    Indexer(IndexStore(ix)).run([seed_file.parent])
    engine = Engine(ix)
    stop = threading.Event()
    seen: list[int] = []
    errors: list[str] = []

    def read():
        while not stop.is_set():
            try:
                total = engine.search(SearchRequest(q="", limit=1)).total
                engine.search(SearchRequest(q="pluie marché", limit=5))
                searcher, _ = engine.refresh()
                records = read_records(searcher)
                articles = {f["id"] for f in searcher.documents(kind=ARTICLE)}
                claimed = {aid for r in records.values() for aid in r.ids}
                if claimed != articles:
                    errors.append(f"records and articles disagree: {len(claimed)} vs {len(articles)}")
                seen.append(total)
            except Exception as exc:  # any failure of a reader is the bug this test looks for
                errors.append(f"{type(exc).__name__}: {exc}")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for extra in ([], ["--full"]):
            subprocess.run(
                newsearch("index", corpus, seed_file.parent, "--index", ix, "--batch-size", "5", *extra),
                check=True,
                capture_output=True,
            )
    finally:
        stop.set()
        reader.join(timeout=60)
    engine.close()
    assert errors == []
    assert len(seen) > 20 and len(set(seen)) > 3  # the reader really ran across many commits
    assert seen == sorted(seen)  # counts only grow while articles are added
    assert seen[-1] <= 181
