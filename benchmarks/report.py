#!/usr/bin/env python3
"""Turns BenchmarkDotNet's CSV reports into the tables and charts of docs/benchmarks.md.

    python3 benchmarks/report.py [results-dir] [docs-dir]

Reads <results-dir>/StateKit.Benchmarks.*-report.csv (default BenchmarkDotNet.Artifacts/results), prints markdown
(the per-strategy table with ratios against the ASP.NET Core session rows of the same payload, and the headline ratios)
and writes two SVG charts into <docs-dir> (default docs): benchmarks-strategies.svg and benchmarks-ratios.svg.
Plain Python 3, no packages: the SVG is written by hand here, from the numbers, never drawn.
"""
import csv
import math
import os
import sys
from xml.sax.saxutils import escape

RESULTS = sys.argv[1] if len(sys.argv) > 1 else os.path.join("BenchmarkDotNet.Artifacts", "results")
DOCS = sys.argv[2] if len(sys.argv) > 2 else "docs"
TIME = {"ns": 1e-3, "us": 1.0, "μs": 1.0, "µs": 1.0, "ms": 1e3, "s": 1e6}
SIZE = {"B": 1, "KB": 1024, "MB": 1024 * 1024, "GB": 1024 ** 3}


def micros(cell):
    """'2.089 ms' -> 2089.0 (microseconds); None when BenchmarkDotNet printed NA."""
    value, _, unit = cell.replace(",", "").strip().partition(" ")
    return None if value in ("", "NA", "?") else float(value) * TIME[unit]


def size(cell):
    value, _, unit = cell.replace(",", "").strip().partition(" ")
    return 0 if value in ("-", "", "NA") else float(value) * SIZE.get(unit or "B", 1)


def load(name):
    path = os.path.join(RESULTS, f"StateKit.Benchmarks.{name}-report.csv")
    if not os.path.exists(path):
        return None
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def row(rows, **where):
    for r in rows or []:
        if all(r.get(k) == v for k, v in where.items()):
            return r
    return None


def fmt_time(us):
    if us is None:
        return "NA"
    return f"{us * 1000:,.1f} ns" if us < 1 else f"{us:,.2f} µs" if us < 1000 else f"{us / 1000:,.2f} ms"


def fmt_size(b):
    return "0 B" if b == 0 else f"{b:,.0f} B" if b < 1024 else f"{b / 1024:,.1f} KB"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt_ratio(r):
    return "NA" if r is None else f"{r:.2f}"


PAYLOADS = ["256", "4096", "65536"]
PAYLOAD_NAMES = {"256": "256 B", "4096": "4 KB", "65536": "64 KB"}
NAMES = {
    "AspNetCoreSessionRedis": "ASP.NET Core session / RedisCache (baseline)",
    "AspNetCoreSessionMemory": "ASP.NET Core session / MemoryDistributedCache (baseline)",
    "RawRedis2RoundTrips": "raw SE.Redis GET then SET (2 round trips, floor)",
    "RawRedis1RoundTrip": "raw SE.Redis GET+SET pipelined (1 round trip, floor)",
    "InMemory": "StateKit in-memory",
    "Sticky": "StateKit sticky",
    "Redis": "StateKit Redis",
    "DistributedCacheRedis": "StateKit IDistributedCache / RedisCache",
    "JwtHs256": "StateKit JWT HS256",
    "JwtEs256": "StateKit JWT ES256",
    "ClientSideSealed": "StateKit sealed client-side",
    "Tiered": "StateKit tiered (cart: Redis, rest: memory)",
    "NearCacheRedis": "StateKit Redis behind the near cache",
}


def strategies_table(rows):
    data = {}
    for r in rows:
        strategy, _, payload = r["Case"].partition("/")
        data[(strategy, payload)] = (micros(r["Mean"]), size(r.get("Allocated", "-")))
    out = []
    for payload in PAYLOADS:
        redis = data.get(("AspNetCoreSessionRedis", payload), (None, 0))[0]
        memory = data.get(("AspNetCoreSessionMemory", payload), (None, 0))[0]
        out.append(f"\n**{PAYLOAD_NAMES[payload]} session** (load, read `cart`, change it, commit)\n")
        out.append("| strategy | mean | allocated | time vs ASP.NET Core / Redis | time vs ASP.NET Core / memory |")
        out.append("|---|---:|---:|---:|---:|")
        for strategy in NAMES:
            if (strategy, payload) not in data:
                if strategy in ("JwtHs256", "JwtEs256", "ClientSideSealed"):
                    out.append(f"| {NAMES[strategy]} | — | — | over the client-held limit | |")
                continue
            mean, alloc = data[(strategy, payload)]
            out.append(f"| {NAMES[strategy]} | {fmt_time(mean)} | {fmt_size(alloc)} | {fmt_ratio(ratio(mean, redis))} | {fmt_ratio(ratio(mean, memory))} |")
    return "\n".join(out), data


def svg_strategies(data, path):
    strategies = [s for s in NAMES if any((s, p) in data for p in PAYLOADS)]
    colors = {"256": "#4e79a7", "4096": "#f28e2b", "65536": "#59a14f"}
    values = [v[0] for v in data.values() if v[0]]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    left, width, bar, gap = 330, 560, 7, 8
    height = 60 + len(strategies) * (3 * bar + gap) + 40

    def x(v):
        return left + width * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 30}" height="{height}" font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="10" y="18" font-size="14" font-weight="bold">One request (load, change one key, commit): mean time per strategy, log scale</text>']
    decade = lo
    while decade <= hi:
        parts.append(f'<line x1="{x(decade):.1f}" y1="35" x2="{x(decade):.1f}" y2="{height - 35}" stroke="#ddd"/>')
        parts.append(f'<text x="{x(decade):.1f}" y="{height - 20}" text-anchor="middle">{fmt_time(decade)}</text>')
        decade *= 10
    y = 45
    for s in strategies:
        parts.append(f'<text x="{left - 6}" y="{y + 1.5 * bar + 4}" text-anchor="end">{escape(NAMES[s])}</text>')
        for i, p in enumerate(PAYLOADS):
            v = data.get((s, p), (None,))[0]
            if v:
                parts.append(f'<rect x="{left}" y="{y + i * bar}" width="{max(1, x(v) - left):.1f}" height="{bar - 1}" fill="{colors[p]}"><title>{escape(NAMES[s])}, {PAYLOAD_NAMES[p]}: {fmt_time(v)}</title></rect>')
        y += 3 * bar + gap
    for i, p in enumerate(PAYLOADS):
        parts.append(f'<rect x="{left + i * 90}" y="{height - 12}" width="10" height="8" fill="{colors[p]}"/><text x="{left + i * 90 + 14}" y="{height - 4}">{PAYLOAD_NAMES[p]}</text>')
    parts.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


def headline():
    """(label, how many times better StateKit is, target) from the per-class CSVs."""
    out = []

    def mean(rows, **where):
        r = row(rows, **where)
        return micros(r["Mean"]) if r else None

    mem = load("InMemoryRequestBenchmarks")
    if mem:
        for p in PAYLOADS:
            out.append((f"In-memory vs ASP.NET Core session / memory, {PAYLOAD_NAMES[p]}", ratio(mean(mem, Method="AspNetCoreSessionOverMemoryCache", PayloadBytes=p), mean(mem, Method="StateKitInMemory", PayloadBytes=p)), 10))
    red = load("RedisRequestBenchmarks")
    if red:
        for p in PAYLOADS:
            out.append((f"Redis read-modify-write vs ASP.NET Core session / RedisCache, {PAYLOAD_NAMES[p]}", ratio(mean(red, Method="AspNetCoreSession_RMW", PayloadBytes=p), mean(red, Method="StateKitRedis_RMW", PayloadBytes=p)), 1.4))
            out.append((f"Redis read-only vs ASP.NET Core session, {PAYLOAD_NAMES[p]}", ratio(mean(red, Method="AspNetCoreSession_Read", PayloadBytes=p), mean(red, Method="StateKitRedis_Read", PayloadBytes=p)), 3))
            out.append((f"Redis read-modify-write vs raw GET then SET, {PAYLOAD_NAMES[p]} (target: >= 1/1.15)", ratio(mean(red, Method="RawGetThenSet_RMW", PayloadBytes=p), mean(red, Method="StateKitRedis_RMW", PayloadBytes=p)), 1 / 1.15))
    br = load("CircuitBreakerBenchmarks")
    if br:
        direct = mean(br, Method="DirectCall")
        sk = mean(br, Method="StateKitBreaker_Closed")
        polly = mean(br, Method="PollyBreaker_Closed")
        # Overhead over the direct call; a floor of 1 ns keeps the ratio finite when StateKit's is within noise of zero.
        out.append(("Breaker closed: Polly v8 overhead / StateKit overhead", ratio(max(polly - direct, 0.001), max(sk - direct, 0.001)) if None not in (direct, sk, polly) else None, 5))
        out.append(("Breaker open: Polly ExecuteOutcomeAsync / StateKit rejection", ratio(mean(br, Method="PollyBreaker_Open_Outcome"), mean(br, Method="StateKitBreaker_Open")), 1))
    l1 = load("NearCacheHitBenchmarks")
    if l1:
        near = mean(l1, Method="StateKitNearCache")
        out.append(("L1 hit: raw MemoryCache / near cache (target: >= 1/1.5)", ratio(mean(l1, Method="RawMemoryCache"), near), 1 / 1.5))
        out.append(("L1 hit: FusionCache / near cache", ratio(mean(l1, Method="FusionCache"), near), 1))
        out.append(("L1 hit: HybridCache (mutable type) / near cache", ratio(mean(l1, Method="HybridCache_MutableType"), near), 1))
    jwt = load("JwtBenchmarks")
    if jwt:
        out.append(("JWT commit + load (issued token remembered, no signature check on load): raw create+validate / StateKit", ratio(mean(jwt, Method="RawJsonWebTokenHandler"), mean(jwt, Method="StateKitJwtStore")), 1 / 1.2))
        out.append(("JWT create + full validate (cache off): raw JsonWebTokenHandler / StateKit (target: >= 1/1.2)", ratio(mean(jwt, Method="RawJsonWebTokenHandler"), mean(jwt, Method="StateKitJwtStore_CacheOff")), 1 / 1.2))
        out.append(("JWT unchanged token: ValidateTokenAsync / StateKit load", ratio(mean(jwt, Method="RawValidateTokenAsync"), mean(jwt, Method="StateKitLoadUnchangedToken")), 5))
    seal = load("ClientSideSealBenchmarks")
    if seal:
        out.append(("Sealed 1 KB: Data Protection / StateKit public path", ratio(mean(seal, Method="DataProtectionProtectUnprotect"), mean(seal, Method="StateKitCommitAndLoad")), 3))
        out.append(("Sealed 1 KB: raw AesGcm / StateKit public path (target: >= 1/1.5)", ratio(mean(seal, Method="RawAesGcm"), mean(seal, Method="StateKitCommitAndLoad")), 1 / 1.5))
        out.append(("Sealed 1 KB: raw AesGcm / StateKit seal + open alone (target: >= 1/1.5)", ratio(mean(seal, Method="RawAesGcm"), mean(seal, Method="StateKitSealAndOpen")), 1 / 1.5))
    return out


def svg_ratios(items, path):
    items = [i for i in items if i[1] is not None]
    left, width, bar = 470, 380, 18
    height = 50 + len(items) * (bar + 8) + 30
    top = max(max(v for _, v, _ in items), max(t for _, _, t in items)) * 1.1
    lo = min(0.1, min(v for _, v, _ in items) / 1.5)

    def x(v):
        return left + width * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(top) - math.log10(lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="10" y="18" font-size="14" font-weight="bold">How many times better StateKit is than its baseline (same run; log scale; | = target)</text>',
             f'<line x1="{x(1):.1f}" y1="30" x2="{x(1):.1f}" y2="{height - 25}" stroke="#999" stroke-dasharray="3,3"/>',
             f'<text x="{x(1):.1f}" y="{height - 10}" text-anchor="middle">1x (equal)</text>']
    y = 35
    for label, value, target in items:
        met = value >= target
        parts.append(f'<text x="{left - 6}" y="{y + bar - 5}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{max(1, x(value) - left):.1f}" height="{bar}" fill="{"#59a14f" if met else "#e15759"}"><title>{value:.2f}x (target {target:.2f}x)</title></rect>')
        parts.append(f'<line x1="{x(target):.1f}" y1="{y - 2}" x2="{x(target):.1f}" y2="{y + bar + 2}" stroke="black" stroke-width="2"/>')
        parts.append(f'<text x="{x(value) + 4:.1f}" y="{y + bar - 5}">{value:.2f}x</text>')
        y += bar + 8
    parts.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


def main():
    rows = load("StrategyRequestBenchmarks")
    if rows:
        table, data = strategies_table(rows)
        print("## Per request, every strategy\n" + table)
        svg_strategies(data, os.path.join(DOCS, "benchmarks-strategies.svg"))
    items = headline()
    if items:
        print("\n## Headline ratios (how many times better StateKit is; target)\n")
        print("| comparison | StateKit advantage | target | met |")
        print("|---|---:|---:|---|")
        for label, value, target in items:
            print(f"| {label} | {fmt_ratio(value)}x | {target:.2f}x | {'yes' if value is not None and value >= target else 'no'} |")
        svg_ratios(items, os.path.join(DOCS, "benchmarks-ratios.svg"))


if __name__ == "__main__":
    main()
