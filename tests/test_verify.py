"""`newsearch verify`: damage and disagreement are found and reported without a traceback; --full repairs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from newsearch.cli import cli
from newsearch.indexer import Indexer
from newsearch.schema import ARTICLE
from newsearch.store import META, IndexStore, open_whoosh
from newsearch.verify import verify


@pytest.fixture
def built(tmp_path, write_files):
    """An index of 12 articles in three segments, and its source folder."""
    folder = write_files(
        {
            **{f"t{i}.txt": f"Titre {i}\n\nLe corps du texte numéro {i}, sur la pluie.\n" for i in range(6)},
            "flux.jsonl": "".join(
                json.dumps({"id": f"d{i}", "title": f"Dépêche {i}", "body": f"Le marché {i}."}) + "\n" for i in range(6)
            ),
        }
    )
    ix = tmp_path / "ix"
    Indexer(IndexStore(ix), batch_size=5).run([folder])
    return ix, folder


def run_verify(ix, *extra):
    return CliRunner().invoke(cli, ["verify", "--index", str(ix), *extra])


def segment_files(ix):
    return sorted(p for p in IndexStore(ix).current_dir().iterdir() if p.name.startswith("MAIN_") and ".seg" in p.name)


def test_sound_index_passes(built):
    ix, _ = built
    result = run_verify(ix, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and data["problems"] == []
    assert data["documents"] == 12 and data["sources"] == 7 and data["segments"] >= 1
    assert "ok" in run_verify(ix).output


@pytest.mark.parametrize("damage", ["truncate", "delete", "garble"])
def test_damaged_segment_is_found_and_full_rebuild_repairs(built, damage):
    ix, folder = built
    victim = max(segment_files(ix), key=lambda p: p.stat().st_size)
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    elif damage == "delete":
        victim.unlink()
    else:
        data = bytearray(victim.read_bytes())
        data[len(data) // 3 : len(data) // 3 + 64] = b"\xff" * 64
        victim.write_bytes(bytes(data))
    result = run_verify(ix)
    assert result.exit_code == 3, result.output
    assert "problem:" in result.output and "Traceback" not in result.output
    assert "newsearch index --full" in result.output
    if damage == "garble":  # Whoosh may read a garbled posting back silently: the checksums catch it
        assert "checksum mismatch" in result.output
    # A plain run refuses the damaged index rather than building on it.
    plain = CliRunner().invoke(cli, ["index", str(folder), "--index", str(ix)])
    if damage != "garble":  # a garbled byte may sit in a posting only verify reads
        assert plain.exit_code == 3 and "Traceback" not in plain.output, plain.output
    rebuilt = CliRunner().invoke(cli, ["index", str(folder), "--index", str(ix), "--full", "--json"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads(rebuilt.output)["documents"] == 12
    assert run_verify(ix).exit_code == 0


def test_article_without_record_and_record_without_article(built):
    ix, _ = built
    writer = open_whoosh(IndexStore(ix).current_dir()).writer()
    writer.add_document(id="orphan-1", kind=ARTICLE, title="Orphelin", body="Sans fichier.")
    writer.delete_by_term("id", "d3")
    writer.commit()
    report = verify(IndexStore(ix))
    assert not report.ok
    text = " | ".join(report.problems)
    assert "1 article(s) have no source file record: orphan-1" in text
    assert "flux.jsonl names 1 article(s) missing from the index: d3" in text
    assert run_verify(ix).exit_code == 3


def test_duplicate_article_is_reported(built):
    ix, _ = built
    writer = open_whoosh(IndexStore(ix).current_dir()).writer()
    writer.add_document(id="d1", kind=ARTICLE, title="Doublon", body="Encore.")
    writer.commit()
    assert any("more than once: d1" in p for p in verify(IndexStore(ix)).problems)


def test_missing_index(tmp_path):
    result = run_verify(tmp_path / "nothing")
    assert result.exit_code == 3 and "no index in" in result.output and "Traceback" not in result.output


def test_damaged_toc_and_foreign_version(built):
    ix, _ = built
    gen = IndexStore(ix).current_dir()
    (gen / META).write_text(json.dumps({"version": "0.0"}))
    assert any("index version 0.0" in p for p in verify(IndexStore(ix)).problems)
    toc = next(gen.glob("_MAIN_*.toc"))
    toc.write_bytes(toc.read_bytes()[:40])
    result = run_verify(ix, "--json")
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert any("table of contents" in p for p in data["problems"])
    # What the check never reached is not counted as zero.
    assert (data["segments"], data["documents"], data["sources"]) == (None, None, None)
    assert "segment(s)" not in run_verify(ix).output
