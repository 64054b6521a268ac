"""``python -m bench [--quick] [--only ingest,retrieval,answer,load]``.

Runs the benchmarks in order, writes ``bench/results/<name>.json`` for each, and regenerates the
results section of ``bench/README.md`` from every JSON file there (so ``--only`` refreshes its own
rows and keeps the others). When the machine is already busy (1-minute load average above
``--busy-load``), the LLM-bound parts (answer, load) run at a reduced size unless ``--full-llm``
is given; the JSON and the README say so.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.measure import load_average, machine_info, write_json
from core.cli import ArgumentParser, run_cli
from core.settings import PROJECT_ROOT

BENCH_DIR = PROJECT_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
WORK_DIR = RESULTS_DIR / "tmp"  # git-ignored: corpus, indexes, logs
README = BENCH_DIR / "README.md"
PROJECT_README = PROJECT_ROOT / "README.md"  # holds the load table too, between its own markers
NAMES = ("ingest", "retrieval", "answer", "load")
LLM_BOUND = ("answer", "load")
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
LOAD_START, LOAD_END = "<!-- load:start -->", "<!-- load:end -->"


def _module(name: str) -> Any:
    import importlib

    return importlib.import_module(f"bench.{name}")


def _config(name: str, size: str, work: Path, cache_dir: Path | None) -> Any:
    module = _module(name)
    cls = {
        "ingest": "IngestConfig",
        "retrieval": "RetrievalConfig",
        "answer": "AnswerConfig",
        "load": "LoadConfig",
    }[name]
    return getattr(module, cls).preset(size, work, cache_dir)


def run_one(
    name: str, size: str, work: Path, results: Path, note: str | None, cache_dir: Path | None = None
) -> dict[str, Any]:
    """Run one benchmark and write its JSON (also when it fails: then with the error)."""
    module = _module(name)
    cfg = _config(name, size, work, cache_dir)
    doc: dict[str, Any] = {
        "benchmark": name,
        "size": size,
        "note": note,
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "config": cfg.record(),
        "machine_before": machine_info(),
    }
    started = time.perf_counter()
    try:
        result = module.run(cfg)
        doc["results"] = result
        doc["targets"] = module.targets(result, cfg.n_docs) if name == "ingest" else module.targets(result)
    except Exception as exc:
        doc["error"] = f"{type(exc).__name__}: {exc}"
        doc["traceback"] = traceback.format_exc()[-4000:]
    doc["duration_s"] = round(time.perf_counter() - started, 1)
    doc["machine_after"] = machine_info()
    write_json(results / f"{name}.json", doc)
    return doc


# --- the README table -------------------------------------------------------------------------
def _v(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text} {unit}".strip()


def _header(doc: dict[str, Any]) -> str:
    load = (doc.get("machine_before") or {}).get("load_average")
    parts = [f"size `{doc['size']}`", f"{doc.get('duration_s', 0):,.0f} s"]
    if load:
        parts.append(f"load average at start {load[0]:.1f} on {doc['machine_before'].get('cpus')} cores")
    if doc.get("note"):
        parts.append(doc["note"])
    return f"*{'; '.join(parts)}.*"


def _targets(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets as the current code words them (recomputed from the stored results)."""
    if "results" not in doc:
        return []
    module = _module(doc["benchmark"])
    if doc["benchmark"] == "ingest":
        return module.targets(doc["results"], doc["config"]["n_docs"])
    return module.targets(doc["results"])


def render_targets(docs: list[dict[str, Any]]) -> list[str]:
    lines = ["| target | measured | goal | met |", "|---|---|---|---|"]
    for doc in docs:
        for t in _targets(doc):
            mark = "yes" if t["met"] else "**no**"
            lines.append(f"| {t['name']} | {_v(t['value'], t['unit'])} | {t['target']} | {mark} |")
    return lines


def render_ingest(doc: dict[str, Any]) -> list[str]:
    r = doc["results"]
    e, p, s, u = r["embedding"], r["pipeline"], r["index_size"], r["reingest_unchanged"]
    rows = [
        (
            "synthetic corpus",
            f"{r['corpus']['n_docs']:,} documents, {p['corpus_mb']} MB, {p['chunks']:,} chunks",
        ),
        (
            f"embedding, ~{e['mean_tokens']:.0f}-token chunks (median of {e['repeats']})",
            f"{_v(e['chunks_per_s'], 'chunks/s')} ({_v(e.get('chunks_per_cpu_s'))} per CPU-second; "
            f"the process got {_v(e.get('cpu_share'))} cores)",
        ),
        (
            "whole pipeline (load, clean, chunk, embed, store)",
            f"{_v(p['docs_per_s'], 'docs/s')}, "
            f"{_v(p['mb_per_s'], 'MB/s')}, {_v(p['chunks_per_s'], 'chunks/s')} ({p['seconds']} s, "
            f"{round(100 * p['embedding_share'])}% of it embedding)",
        ),
        (
            "index size on disk per 1,000 chunks",
            f"{_v(s['mb_per_1000_chunks'], 'MB')} (Chroma {s['chroma_mb_per_1000_chunks']} MB, "
            f"SQLite + FTS5 {s['sqlite_mb_per_1000_chunks']} MB)",
        ),
        (
            f"re-ingest of the unchanged corpus (median of {len(u['seconds_runs'])})",
            f"{_v(u['seconds'], 's')}; {u['texts_embedded']} texts embedded, "
            f"{u['vectors_changed']} vectors changed",
        ),
        ("same, reopening the index first", _v(u["reopen_and_sync_s"], "s")),
    ]
    if "cli_build_s" in u:
        rows.append(
            ("same, as `python -m index build` (interpreter and imports included)", _v(u["cli_build_s"], "s"))
        )
    rows.append(("peak RSS of the ingest", _v(p["peak_rss_mb"], "MB")))
    return ["| measure | value |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows]]


def render_retrieval(doc: dict[str, Any]) -> list[str]:
    r = doc["results"]
    lines = [
        f"Queries: the {r['queries']['n']} questions of `{r['queries']['file']}`, each asked "
        f"{doc['config']['repeats']} times after a warm-up; latency in ms. {r['synthetic']} "
        "Before/after the fixes of *Findings*: `bench/results/before/`.",
        "",
        "| chunks (real + synthetic) | store | synthetic text | hybrid p50 / p95 | dense p50 / p95 "
        "| lexical p50 / p95 "
        "| query embedding p50 | chunks matching a query's BM25 terms, p50 "
        "| process RSS | server RSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        lat = row["latency_ms"]

        def pp(kind: str, lat: dict[str, Any] = lat) -> str:
            if kind not in lat:
                return "–"
            return f"{_v(lat[kind]['p50'])} / {_v(lat[kind]['p95'])}"

        matches = (row.get("lexical_matches") or {}).get("p50")
        lines.append(
            f"| {row['scale']:,} ({row['real_chunks']:,} + {row['synthetic_chunks']:,}) | {row['store']} | "
            f"{row.get('synthetic_text', '–')} | "
            f"{pp('hybrid')} | {pp('dense')} | {pp('lexical')} | {_v(lat['embed_query']['p50'])} | "
            f"{_v(int(matches) if matches is not None else None)} | "
            f"{_v(row['rss_mb'], 'MB')} | {_v(row.get('server_rss_mb'), 'MB')} |"
        )
    return lines


def render_answer(doc: dict[str, Any]) -> list[str]:
    r = doc["results"]
    names = [k for k in ("default", "rules", "naive") if k in r]
    p = {k: r[k] for k in names}
    vs_rules = r.get("ratios_default_over_rules", {})
    vs_naive = r["ratios_default_over_naive"]

    def pp(x: dict[str, Any], key: str) -> str:
        return f"{_v(x[key]['p50'])} / {_v(x[key]['p95'])}"

    def processed(x: dict[str, Any]) -> str:
        return f"{_v(x['prompt_tokens']['p50'])} ({_v(x['prompt_tokens_processed']['p50'])})"

    rows: list[tuple[str, list[Any], Any, Any]] = [
        ("questions asked", [p[k]["questions"] for k in names], None, None),
        (
            "time to first token p50 / p95 (s)",
            [pp(p[k], "ttft_s") for k in names],
            vs_rules.get("ttft_p50"),
            vs_naive["ttft_p50"],
        ),
        (
            "whole answer p50 / p95 (s)",
            [pp(p[k], "total_s") for k in names],
            vs_rules.get("total_p50"),
            vs_naive["total_p50"],
        ),
        (
            "yes/no support check p50 / p95 (s)",
            [pp(p[k], "support_check_s") if p[k].get("support_check_s", {}).get("n") else "–" for k in names],
            None,
            None,
        ),
        (
            "llama.cpp generation rate (tokens/s)",
            [_v(p[k]["decode_tokens_per_s"]) for k in names],
            None,
            None,
        ),
        (
            "llama.cpp prompt processing (tokens/s)",
            [_v(p[k]["prefill_tokens_per_s"]) for k in names],
            None,
            None,
        ),
        (
            "prompt tokens p50 (processed, after KV-cache reuse)",
            [processed(p[k]) for k in names],
            None,
            vs_naive["prompt_tokens_p50"],
        ),
        (
            "peak RSS of the answering process (MB)",
            [_v(p[k]["peak_rss_mb"]) for k in names],
            None,
            vs_naive["peak_rss"],
        ),
        ("errors", [len(p[k]["errors"]) for k in names], None, None),
    ]
    rows = [row for row in rows if any(v != "–" for v in row[1])]  # e.g. no pipeline ran the check
    labels = {
        "default": "product (default)",
        "rules": "free answers + rules (before)",
        "naive": "naive baseline",
    }
    head = " | ".join(labels[k] for k in names)
    return [
        f"{r['items']} of the {r['items_in_split']} items of `{r['dataset']}` (every question asked, "
        f"earlier turns included, is one sample), all pipelines in the same run, in rotating order.",
        "",
        f"| measure | {head} | default / before | default / naive |",
        "|" + "---|" * (len(names) + 3),
        *[
            f"| {a} | " + " | ".join(_v(v) for v in vals) + f" | {_v(x)} | {_v(y)} |"
            for a, vals, x, y in rows
        ],
    ]


def render_load(doc: dict[str, Any]) -> list[str]:
    r = doc["results"]
    names = [r["baseline"], r["tested"]]
    apps = "; ".join(
        f"{name}: started in {r['apps'][name]['startup_s']} s, {_v(r['apps'][name]['rss_idle_mb'], 'MB')} "
        f"idle, peak {_v(r['apps'][name]['peak_rss_mb'], 'MB')}"
        for name in names
    )
    lines = [
        f"`python -m ui` on {r['host']}, twice: {apps}. Each session is a separate gradio_client "
        "with its own conversation; both apps get the same questions, level by level, in "
        "alternating order (same run, same machine). Latency from submit to the checked answer; "
        "first token: submit to the first streamed update, queue wait included.",
        "",
        "| sessions | configuration | answers | errors | throughput (answers/min) | latency p50 / p95 (s) "
        "| first token p50 (s) | app RSS after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lv in r["levels"]:
        for name in names:
            row = lv[name]
            lines.append(
                f"| {lv['sessions']} | {name} | {row['completed']}/{row['requests']} | {row['errors']} | "
                f"{_v(row['throughput_answers_per_min'])} | "
                f"{_v(row['latency_s']['p50'])} / {_v(row['latency_s']['p95'])} | "
                f"{_v(row['first_token_s']['p50'])} | {_v(row['app_rss_mb'], 'MB')} |"
            )
        ratios = lv["ratios"]
        lines.append(
            f"| {lv['sessions']} | *{names[1]} / {names[0]}* | | | *{_v(ratios['throughput'])}×* | "
            f"*{_v(ratios['latency_p50'])} / {_v(ratios['latency_p95'])}* | "
            f"*{_v(ratios['first_token_p50'])}* | |"
        )
    return lines


RENDER = {
    "ingest": render_ingest,
    "retrieval": render_retrieval,
    "answer": render_answer,
    "load": render_load,
}
TITLES = {"ingest": "Ingest", "retrieval": "Retrieval at scale", "answer": "Answering", "load": "Load"}


def render(results: Path) -> str:
    docs = []
    for name in NAMES:
        path = results / f"{name}.json"
        if path.is_file():
            docs.append(json.loads(path.read_text(encoding="utf-8")))
    if not docs:
        return "No results yet: run `make bench`."
    lines = ["### Targets", "", *render_targets(docs)]
    for doc in docs:
        lines += ["", f"### {TITLES[doc['benchmark']]}", "", _header(doc), ""]
        if doc.get("error"):
            lines.append(f"Failed: `{doc['error']}` (see `bench/results/{doc['benchmark']}.json`).")
        else:
            lines += RENDER[doc["benchmark"]](doc)
    return "\n".join(lines)


def update_load_table(readme: Path, results: Path) -> bool:
    """The load table (with its header line and targets) between the load markers of ``readme``;
    False when there is no load result or no such markers."""
    path = results / "load.json"
    if not path.is_file() or not readme.is_file():
        return False
    text = readme.read_text(encoding="utf-8")
    if LOAD_START not in text or LOAD_END not in text:
        return False
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("error"):
        return False
    block = [_header(doc), "", *render_load(doc), "", *render_targets([doc])]
    head, rest = text.split(LOAD_START, 1)
    _, tail = rest.split(LOAD_END, 1)
    readme.write_text(f"{head}{LOAD_START}\n" + "\n".join(block) + f"\n{LOAD_END}{tail}", encoding="utf-8")
    return True


def update_readme(readme: Path, table: str) -> None:
    text = readme.read_text(encoding="utf-8") if readme.is_file() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n## Results\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: _run(argv))


def _run(argv: list[str] | None) -> int:
    parser = ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes in all)")
    parser.add_argument("--size", choices=("full", "quick", "tiny"), help="explicit size (tiny: smoke)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(NAMES)}")
    parser.add_argument("--full-llm", action="store_true", help="full answer/load sizes even when busy")
    parser.add_argument("--busy-load", type=float, default=2.5, help="load average counted as busy")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where the JSON files go")
    parser.add_argument("--work", type=Path, default=WORK_DIR, help="scratch folder (corpus, indexes)")
    parser.add_argument("--readme", type=Path, default=README, help="README whose table is regenerated")
    args = parser.parse_args(argv)
    names = NAMES if not args.only else tuple(n.strip() for n in args.only.split(",") if n.strip())
    unknown = set(names) - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    size = args.size or ("quick" if args.quick else "full")
    load = load_average()
    busy = load is not None and load[0] > args.busy_load
    failed = []
    started = time.perf_counter()
    for name in NAMES:
        if name not in names:
            continue
        this_size, note = size, None
        if name in LLM_BOUND and size == "full" and busy and not args.full_llm:
            this_size = "reduced"
            note = (
                f"reduced size: the machine was busy (load average {load[0]:.1f} > {args.busy_load} "  # type: ignore[index]
                f"at the start of the run)"
            )
        print(f"bench: {name} ({this_size})…", file=sys.stderr, flush=True)
        doc = run_one(name, this_size, args.work, args.results, note)
        if doc.get("error"):
            failed.append(name)
            print(f"bench: {name} failed: {doc['error']}", file=sys.stderr, flush=True)
        else:
            print(f"bench: {name} done in {doc['duration_s']} s", file=sys.stderr, flush=True)
    table = render(args.results)
    update_readme(args.readme, table)
    if "load" in names and args.readme == README:  # a run into another README leaves the project's
        update_load_table(PROJECT_README, args.results)
    print(table)
    print(
        f"\nbench: {time.perf_counter() - started:,.0f} s in all; results in {args.results}", file=sys.stderr
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
