"""Every benchmark at a tiny size, so none of them can rot: each runs through ``run_one`` (the
same path as ``python -m bench``), writes its JSON, and renders its part of the README table.

The answer and load smokes use the real embedded model with one or two questions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import (
    END,
    LOAD_END,
    LOAD_START,
    START,
    main,
    render,
    run_one,
    update_load_table,
    update_readme,
)
from bench.corpus import make_corpus, source_sentences
from bench.measure import peak_rss_bytes, percentile, reset_peak_rss, rss_bytes, summarize, write_json
from core.settings import PROJECT_ROOT


def _run(name: str, tmp_path: Path, model_cache: Path) -> dict:
    results = tmp_path / "results"
    doc = run_one(name, "tiny", tmp_path / "work", results, None, cache_dir=model_cache)
    assert "error" not in doc, doc.get("traceback")
    assert json.loads((results / f"{name}.json").read_text())["benchmark"] == name
    readme = tmp_path / "README.md"
    readme.write_text(f"# Benchmarks\n\nintro\n\n{START}\nold\n{END}\n\nafter\n")
    update_readme(readme, render(results))
    text = readme.read_text()
    assert "old" not in text and text.startswith("# Benchmarks") and text.rstrip().endswith("after")
    assert "| target | measured | goal | met |" in text
    return doc


def test_percentiles_and_memory_readings() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    stats = summarize([1.0, 2.0, 3.0, 4.0])
    assert stats["n"] == 4 and stats["p50"] == 2.5 and stats["max"] == 4.0
    assert rss_bytes() and peak_rss_bytes() and peak_rss_bytes() >= rss_bytes() // 2
    reset_peak_rss()  # allowed to be a no-op; must not raise


def test_synthetic_corpus_is_deterministic(tmp_path: Path) -> None:
    a = make_corpus(tmp_path / "a", 3, seed=5)
    b = make_corpus(tmp_path / "b", 3, seed=5)
    assert [p.read_bytes() for p in a.paths] == [p.read_bytes() for p in b.paths]
    sentences = set(source_sentences())
    # Every body line is made of the real articles' sentences.
    body = a.paths[0].read_text().split("\n\n")[1]
    assert any(s in body for s in sentences)
    # A second call reuses the files untouched (same mtimes: re-ingest sees them as unchanged).
    mtimes = [p.stat().st_mtime_ns for p in a.paths]
    make_corpus(tmp_path / "a", 3, seed=5)
    assert [p.stat().st_mtime_ns for p in a.paths] == mtimes


def test_unknown_benchmark_is_refused() -> None:
    with pytest.raises(SystemExit):
        main(["--only", "nope"])


def test_ingest_smoke(tmp_path: Path, model_cache: Path) -> None:
    r = _run("ingest", tmp_path, model_cache)["results"]
    assert r["embedding"]["chunks_per_s"] > 0
    assert r["pipeline"]["documents"] == 4 and r["pipeline"]["chunks"] > 4
    assert r["index_size"]["consistent"] and r["index_size"]["mb_per_1000_chunks"] > 0
    reingest = r["reingest_unchanged"]
    assert reingest["statuses"] == ["unchanged"]
    assert reingest["texts_embedded"] == 0 and reingest["vectors_changed"] == 0


def test_retrieval_smoke(tmp_path: Path, model_cache: Path) -> None:
    r = _run("retrieval", tmp_path, model_cache)["results"]
    rows = r["rows"]
    assert {(row["scale"], row["store"], row["synthetic_text"]) for row in rows} == {
        (30, "embedded", "sentence-mix"),
        (30, "server", "sentence-mix"),
        (60, "embedded", "sentence-mix"),
        (60, "server", "sentence-mix"),
        # Mostly synthetic: measured again with the synthetic words respelled.
        (60, "embedded", "respelled"),
        (60, "server", "respelled"),
    }
    respelled = {row["store"]: row for row in rows if row["synthetic_text"] == "respelled"}
    mixed = {row["store"]: row for row in rows if row["scale"] == 60 and row["synthetic_text"] != "respelled"}
    assert all(respelled[s]["lexical_matches"]["p50"] <= mixed[s]["lexical_matches"]["p50"] for s in mixed)
    for row in rows:
        assert row["chunks"] == row["vectors"] == row["scale"]
        assert row["real_chunks"] + row["synthetic_chunks"] == row["scale"]
        assert row["latency_ms"]["hybrid"]["n"] == 4 and row["latency_ms"]["hybrid"]["p50"] > 0
    assert any(row["synthetic_chunks"] for row in rows)
    assert all(row["server_rss_mb"] for row in rows if row["store"] == "server")


@pytest.mark.slow
def test_answer_smoke(tmp_path: Path, model_cache: Path) -> None:
    r = _run("answer", tmp_path, model_cache)["results"]
    assert r["items"] == 1
    for name in ("default", "rules", "naive"):
        p = r[name]
        assert p["questions"] >= 1 and not p["errors"]
        assert p["ttft_s"]["p50"] > 0 and p["total_s"]["p50"] >= p["ttft_s"]["p50"]
        assert p["prompt_tokens"]["p50"] > 0 and p["prefill_tokens_per_s"] > 0
        assert p["peak_rss_mb"] > 100
    assert r["ratios_default_over_naive"]["ttft_p50"] > 0
    assert r["ratios_default_over_rules"]["ttft_p50"] > 0
    # The yes/no support check is off by default (it did not earn its latency).
    assert r["default"]["support_check_s"]["n"] == 0 and r["rules"]["support_check_s"]["n"] == 0


@pytest.mark.slow
def test_load_smoke(tmp_path: Path, model_cache: Path) -> None:
    r = _run("load", tmp_path, model_cache)["results"]
    # One slot against two, in the same run, on the same questions.
    assert (r["baseline"], r["tested"]) == ("one slot", "2 slots")
    assert {name: app["slots"] for name, app in r["apps"].items()} == {"one slot": 1, "2 slots": 2}
    (level,) = r["levels"]
    assert level["sessions"] == 2 and level["order"] == ["one slot", "2 slots"]
    for name in ("one slot", "2 slots"):
        assert level[name]["completed"] == 2 and level[name]["errors"] == 0
        assert level[name]["first_token_s"]["n"] == 2
        assert r["apps"][name]["peak_rss_mb"] > 100
    assert level["ratios"]["throughput"] > 0 and r["host"] == "127.0.0.1"
    # The project README's load table is regenerated between its markers.
    readme = tmp_path / "PROJECT.md"
    readme.write_text(f"# P\n\n{LOAD_START}\nold\n{LOAD_END}\n\nafter\n")
    assert update_load_table(readme, tmp_path / "results")
    text = readme.read_text()
    assert "old" not in text and "| 2 | 2 slots / one slot |" not in text
    assert "| 2 | one slot | 2/2 | 0 |" in text and "| 2 | *2 slots / one slot* |" in text
    assert text.rstrip().endswith("after")


def test_results_name_project_paths_relative_to_the_project(tmp_path: Path) -> None:
    out = write_json(
        tmp_path / "r.json",
        {"work": str(PROJECT_ROOT / "bench" / "results" / "tmp"), "rows": [str(PROJECT_ROOT / "x")], "n": 1},
    )
    assert json.loads(out.read_text()) == {"work": "bench/results/tmp", "rows": ["x"], "n": 1}
