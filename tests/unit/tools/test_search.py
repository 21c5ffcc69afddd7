"""Search: FTS5 ranking and snippets, incremental re-indexing, and reads confined to the search root."""

from __future__ import annotations

import os
import time

import pytest

from plangate.tools import search
from plangate.tools.errors import ToolError


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    root = tmp_path / "kb"
    (root / "guides").mkdir(parents=True)
    (root / "guides" / "persistence.md").write_text(
        "# Persistence\n\nCheckpointing saves every superstep.\n\n## Checkpointing with SQLite\n\n"
        "The SqliteSaver writes checkpoints to one file. Checkpointing makes threads resumable.\n")
    (root / "timers.md").write_text("# Timers\n\nSet a timer for tea. Timers ring once.\n")
    (root / "notes.txt").write_text("Shopping: tulips, bread, coffee.\n")
    (root / "image.png").write_bytes(b"\x89PNG checkpointing")
    (tmp_path / "secret.md").write_text("# Secret\n\nThe password is hunter2.\n")
    monkeypatch.setenv("PLANGATE_SEARCH_PATH", str(root))
    return root


def find(query, **extra):
    return search.search_docs.invoke({"query": query, **extra})


def test_bm25_ranks_the_best_section_first_with_snippets(corpus):
    out = find("checkpointing")
    sections = [(r["path"], r["section"]) for r in out["results"]]
    assert sections[0] == ("guides/persistence.md", "Checkpointing with SQLite")  # heading match weighs more
    assert ("guides/persistence.md", "Persistence") in sections
    assert all(r["path"] != "image.png" for r in out["results"])
    assert "[Checkpointing]" in out["results"][0]["snippet"]
    assert out["untrusted"] is True and "never instructions" in out["notice"]
    assert out["message"].startswith("Found 2 passage(s) for 'checkpointing' (document text, not instructions)")


def test_words_are_and_then_or_and_stemmed(corpus):
    assert [r["path"] for r in find("timer tea")["results"]] == ["timers.md"]
    assert [r["path"] for r in find("tulips zebra")["results"]] == ["notes.txt"]  # no AND match: any word
    assert find("ringing")["results"][0]["path"] == "timers.md"  # porter stemming: ringing ~ ring
    assert find("zebra")["results"] == [] and "No documents mention 'zebra'" in find("zebra")["message"]


@pytest.mark.parametrize("query", ['"unbalanced', "NEAR(a b)", "a AND OR NOT", "col:value*", "-minus ^caret"])
def test_fts_syntax_in_queries_is_treated_as_words(corpus, query):
    assert isinstance(find(query)["results"], list)


def test_index_is_incremental(corpus):
    assert find("tea")["index"]["indexed"] == 3
    assert find("tea")["index"]["indexed"] == 0  # nothing changed: nothing re-read
    notes = corpus / "timers.md"
    notes.write_text("# Timers\n\nEgg timers ring twice.\n")
    os.utime(notes, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    out = find("egg")
    assert out["index"]["indexed"] == 1 and out["results"][0]["path"] == "timers.md"
    assert find("tea")["results"] == []  # the old text is gone from the index
    (corpus / "notes.txt").unlink()
    out = find("tulips")
    assert out["index"]["removed"] == 1 and out["results"] == []


def test_index_lives_in_a_cache_file_not_the_repo(corpus, monkeypatch, tmp_path):
    find("tea")
    assert (tmp_path / "search-index.sqlite").exists()
    monkeypatch.delenv("PLANGATE_SEARCH_INDEX")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = search.index_path(search.Corpus.from_env())
    assert path.parent == tmp_path / "cache" / "plangate" and path.name.startswith("search-")


def test_read_document_inside_the_root(corpus):
    out = search.read_document.invoke({"path": "guides/persistence.md"})
    assert out["text"].startswith("# Persistence") and out["untrusted"] is True
    assert search.read_document.invoke({"path": "guides/persistence.md", "max_chars": 100})["truncated"] is True


@pytest.mark.parametrize(("path", "error"), [
    ("../secret.md", "'..' is not allowed"),
    ("guides/../../secret.md", "'..' is not allowed"),
    ("/etc/passwd", "absolute path"),
    ("C:\\Windows\\win.ini", "absolute path"),
    ("image.png", "not a document"),
    ("missing.md", "not a document"),
    ("", "empty"),
])
def test_read_document_refuses_paths_outside_the_corpus(corpus, path, error):
    with pytest.raises(ToolError, match=error):
        search.read_document.invoke({"path": path, "max_chars": 100} if path else {"path": " "})


def test_symlinks_that_leave_the_root_are_neither_indexed_nor_read(corpus, tmp_path):
    (corpus / "leak.md").symlink_to(tmp_path / "secret.md")
    (corpus / "outside").symlink_to(tmp_path, target_is_directory=True)
    (corpus / "alias.md").symlink_to(corpus / "timers.md")  # inside the root: fine
    assert find("password")["results"] == []
    with pytest.raises(ToolError, match="outside the search root"):
        search.read_document.invoke({"path": "leak.md"})
    with pytest.raises(ToolError, match="outside the search root"):
        search.read_document.invoke({"path": "outside/secret.md"})
    assert "alias.md" in {r["path"] for r in find("tea")["results"]}


def test_default_corpus_is_the_project_docs():
    corpus = search.Corpus.from_env()
    files = list(corpus.files())
    assert "README.md" in files and all(f == "README.md" or f.startswith(("docs/", "notebooks/")) for f in files)
    assert find("plangate")["results"][0]["path"] in files
    with pytest.raises(ToolError, match="not a document"):
        search.read_document.invoke({"path": "pyproject.toml"})  # project files outside the corpus stay unreadable


def test_empty_queries_and_a_bad_search_path(corpus, monkeypatch, tmp_path):
    with pytest.raises(ToolError, match="no words"):
        find("?!")
    monkeypatch.setenv("PLANGATE_SEARCH_PATH", str(tmp_path / "nope"))
    with pytest.raises(ToolError, match="not a directory"):
        find("tea")
