"""Search benchmark: build, serialize and load the index of a synthetic catalog; time queries.

From the repository root: `.venv/bin/python bench/search.py [--items 5000] [--queries 2000]`.
The catalog is bench/catalog_fixture.py's synthetic items (each with FAQs) plus its hand-written
realistic set; the queries are the fixed list QUERIES below, cycled. Prints the figures and
appends them, dated, to bench/RESULTS.md.
"""

import argparse
import gc
import os
import statistics
import time
from datetime import date
from pathlib import Path

from catalog_fixture import (
    SYNONYMS,
    CatalogBundle,
    CatalogItem,
    generate_bundles,
    generate_catalog,
    realistic_catalog,
)
from machine import cpu_busy_percent, machine_line
from paths import REPO_DIR, RESULTS_FILE
from results import write_section

from app.search import SearchDocument, SearchIndex

# (class, query, region): what citizens type, fixed so runs compare.
QUERIES: list[tuple[str, str, str | None]] = [
    *(("chinese", q, None) for q in (
        "社会保障卡", "社会保障卡申领", "驾驶证", "机动车驾驶证期满换证", "住房公积金提取",
        "营业执照", "企业设立登记", "食品经营许可", "生育登记", "挂失", "证", "许可", "怎么办",
        "需要哪些材料", "养老保险", "不动产权转移登记", "企业开办一件事", "异地就医")),
    *(("pinyin", q, None) for q in (
        "shebaoka", "she bao ka", "gongjijin", "jiashizheng", "yingyezhizhao", "shengyudengji",
        "jiashizheng huanzheng", "shehuibaozhangkashenling", "s", "she", "budongchan")),
    *(("initials", q, None) for q in ("sbk", "jsz", "gjj", "yyzz", "sydj", "qysldj", "bdc")),
    *(("synonym", q, None) for q in (
        "社保卡", "社保", "驾照", "驾照换证", "公积金", "身份证", "医保", "低保", "开公司")),
    *(("typo", q, None) for q in (
        "shebaoak", "shbaoka", "jiashizhneg", "gongjjin", "yingyezhizao", "shengyudnegji",
        "shehuibaozhnagka", "budongcahn")),
    *(("junk", q, None) for q in ("!!!", "   ", "😀😀", "？？", "——", "\u200b")),
    *(("region", q, r) for q, r in (
        ("社保卡", "530102"), ("sbk", "530300"), ("登记", "530000"), ("驾照", "532901"))),
]


def main() -> None:
    """Run the benchmark and record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000, help="synthetic items (default 5000)")
    parser.add_argument("--faqs", type=int, default=2, help="FAQs per item (default 2)")
    parser.add_argument("--queries", type=int, default=2000, help="queries timed (default 2000)")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()

    busy_before = cpu_busy_percent()
    items = generate_catalog(args.items, seed=args.seed, faqs_per_item=args.faqs)
    real_items, real_bundles = realistic_catalog()
    documents = search_documents(items + real_items,
                                 generate_bundles(items, seed=args.seed) + real_bundles)
    counts = {kind: sum(1 for d in documents if d.kind == kind) for kind in ("item", "bundle",
                                                                             "faq")}
    print(f"catalog: {counts['item']:,} items, {counts['bundle']} bundles, {counts['faq']:,} FAQs"
          f" ({len(documents):,} documents); CPU {busy_before:.0f}% busy before")

    started = time.perf_counter()
    built = SearchIndex.build(documents, SYNONYMS)
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    data = built.to_bytes()
    dump_seconds = time.perf_counter() - started
    del built
    gc.collect()
    rss_before = resident_mib()
    started = time.perf_counter()
    index = SearchIndex.from_bytes(data)
    load_seconds = time.perf_counter() - started
    index_mib = resident_mib() - rss_before
    print(f"build {build_seconds:.2f} s; to_bytes {dump_seconds:.2f} s, "
          f"{len(data) / 2**20:.2f} MiB; from_bytes {load_seconds:.2f} s, "
          f"+{index_mib:.0f} MiB resident")

    for _, query, region in QUERIES:  # warm-up: first-call costs are not query costs
        index.search(query, region=region)
    timings: dict[str, list[float]] = {}
    hit_counts: dict[str, list[int]] = {}
    gc.disable()  # a collection pause belongs to the app, not to this code
    started = time.perf_counter()
    for number in range(args.queries):
        query_class, query, region = QUERIES[number % len(QUERIES)]
        begun = time.perf_counter_ns()
        hits = index.search(query, region=region)
        timings.setdefault(query_class, []).append((time.perf_counter_ns() - begun) / 1e6)
        hit_counts.setdefault(query_class, []).append(len(hits))
    wall_seconds = time.perf_counter() - started
    gc.enable()

    every = [t for values in timings.values() for t in values]
    rows = [("all", every, [n for values in hit_counts.values() for n in values])]
    rows += [(name, timings[name], hit_counts[name]) for name in timings]
    table = latency_table(rows)
    qps = args.queries / wall_seconds
    print(f"{args.queries:,} queries ({len(QUERIES)} distinct, cycled): {qps:,.0f} queries/s")
    print(table)
    if not args.no_record:
        record(args, counts, busy_before, build_seconds, dump_seconds, len(data), load_seconds,
               index_mib, qps, table)
        print(f"recorded in {RESULTS_FILE.relative_to(REPO_DIR)}")


def search_documents(items: list[CatalogItem], bundles: list[CatalogBundle],
                     ) -> list[SearchDocument]:
    """Items, their FAQs and bundles as the app would index them."""
    documents = []
    for item in items:
        regions = tuple(item.regions)
        guide = "；".join([item.conditions, "、".join(item.materials), item.department])
        documents.append(SearchDocument(kind="item", key=item.code, title=item.name,
                                        keywords=tuple(item.keywords), text=guide,
                                        popularity=item.visits, regions=regions))
        for number, faq in enumerate(item.faqs, start=1):
            documents.append(SearchDocument(kind="faq", key=f"{item.code}#faq{number}",
                                            title=faq["question"], text=faq["answer"],
                                            popularity=item.visits / 10, regions=regions))
    for bundle in bundles:
        documents.append(SearchDocument(kind="bundle", key=bundle.code, title=bundle.name,
                                        keywords=tuple(bundle.keywords),
                                        text=bundle.description, popularity=bundle.visits))
    return documents


def latency_table(rows: list[tuple[str, list[float], list[int]]]) -> str:
    """A Markdown table of latency percentiles (ms) per query class."""
    lines = ["| class | queries | p50 ms | p95 ms | p99 ms | max ms | mean hits |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, values, hits in rows:
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        lines.append(f"| {name} | {len(values):,} | {cuts[49]:.3f} | {cuts[94]:.3f} | "
                     f"{cuts[98]:.3f} | {max(values):.3f} | {statistics.fmean(hits):.1f} |")
    return "\n".join(lines)


def record(args: argparse.Namespace, counts: dict[str, int], busy_before: float,
           build_seconds: float, dump_seconds: float, size_bytes: int, load_seconds: float,
           index_mib: float, qps: float, table: str) -> None:
    """Write this run's section of RESULTS.md; a rerun with the same heading replaces it."""
    heading = (f"Search index, {date.today().isoformat()}, {args.items:,} items × "
               f"{args.faqs} FAQs, {args.queries:,} queries")
    write_section(heading, "\n".join([
        f"- machine: {machine_line()}; {busy_before:.0f}% of its CPU busy just before",
        f"- command: `.venv/bin/python bench/search.py --items {args.items} --faqs {args.faqs} "
        f"--queries {args.queries}` (one process, one thread, in-process `SearchIndex.search`)",
        f"- catalog: {counts['item']:,} items, {counts['bundle']} bundles, {counts['faq']:,} FAQs"
        f" (bench/catalog_fixture.py, seed {args.seed}, plus its realistic set)",
        f"- build {build_seconds:.2f} s; `to_bytes` {dump_seconds:.2f} s, "
        f"{size_bytes / 2**20:.2f} MiB; `from_bytes` {load_seconds:.2f} s, "
        f"+{index_mib:.0f} MiB resident",
        f"- {qps:,.0f} queries/s, {len(QUERIES)} distinct queries cycled (`QUERIES` in "
        "bench/search.py), limit 20",
        "",
        table,
    ]))


def resident_mib() -> float:
    """This process's resident memory in MiB (0 when /proc is not there)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


if __name__ == "__main__":
    main()
