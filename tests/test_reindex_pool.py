"""Big batches build documents in a worker process; that must work from any script."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def test_worker_pool_from_a_script_without_main_guard(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    lines = [
        json.dumps({"id": f"a{i}", "title": f"Dépêche {i} sur Emmanuel Macron", "body": f"À Paris, texte numéro {i}."})
        for i in range(30)
    ]
    (folder / "batch.jsonl").write_text("\n".join(lines), encoding="utf-8")
    script = tmp_path / "job.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import newsearch.indexer as indexer
            from newsearch.store import IndexStore
            from newsearch.tuning import IndexTuning
            tuning = IndexTuning(pool_min_articles=10)
            report = indexer.Indexer(IndexStore({str(tmp_path / "index")!r}), workers=1, tuning=tuning).run([{str(folder)!r}])
            print(report.documents)
            """
        ),
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "30"

    from newsearch.search import Engine, SearchRequest

    results = Engine(tmp_path / "index").search(SearchRequest(q="", persons=["Emmanuel Macron"], collapse=False))
    assert results.total == 30  # documents built by the worker carry their entities
