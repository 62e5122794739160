#!/usr/bin/env bash
# The benchmark run behind docs/benchmarks.md, in one command:
#
#   bash benchmarks/run.sh          full run: every BenchmarkDotNet class (ShortRun job with 10 iterations: 3 warm-ups,
#                                   10 measured iterations, one process per case), then the --roundtrips, --concurrency,
#                                   --e2e, --memory, --ttfb and --cluster modes and redis-ideas.sh, and --outage (UseRedis's defaults with redis-server
#                                   frozen 8 s; not in --ci), then docs/benchmarks-*.svg and the tables from the CSVs,
#                                   then EventPipe profiles of the StateKit cases whose targets are hardest (Redis
#                                   read-modify-write, in-memory, JWT), summarised by benchmarks/profile.py into
#                                   artifacts/benchmarks/profiles.md. About 35 minutes on 2 cores.
#   bash benchmarks/run.sh --ci     smoke mode for CI: every benchmark case once, in process (BenchmarkDotNet's Dry job),
#                                   and each console mode with tiny bounds. Proves they all run; its numbers mean nothing.
#
# Needs redis-server on PATH (every benchmark process starts its own on a free 127.0.0.1 port). Markdown reports and the
# console tables land in artifacts/benchmarks; BenchmarkDotNet's own output in BenchmarkDotNet.Artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
if [[ "${1:-}" == "--ci" ]]; then mode=ci; shift; fi
out=artifacts/benchmarks
mkdir -p "$out"
rm -rf BenchmarkDotNet.Artifacts/results

dotnet build -c Release benchmarks/StateKit.Benchmarks --nologo -v quiet
dotnet build -c Release samples/ShoppingCart --nologo -v quiet
bench() { dotnet run -c Release --no-build --project benchmarks/StateKit.Benchmarks -- "$@"; }

if [[ $mode == ci ]]; then
  bench --filter '*' --job dry --inProcess "$@"
  bench --roundtrips | tee "$out/roundtrips.md"
  bench --concurrency 0.2 both | tee "$out/concurrency.md"
  bench --e2e 200 2 4 | tee "$out/e2e.md"
  bench --memory | tee "$out/memory.md"
  bench --ttfb 40 | tee "$out/ttfb.md"
  bench --cluster 0.3 300 | tee "$out/cluster.md"
  bash benchmarks/redis-ideas.sh 2000 | tee "$out/redis-ideas.md"
  charts=$out
else
  bench --filter '*' --job short --iterationCount 10 "$@"
  bench --roundtrips | tee "$out/roundtrips.md"
  bench --concurrency 3 both | tee "$out/concurrency.md"
  bench --e2e 20000 10 16 | tee "$out/e2e.md"
  bench --memory | tee "$out/memory.md"
  bench --outage 3 8 | tee "$out/outage.md"
  bench --ttfb 2000 | tee "$out/ttfb.md"
  bench --cluster 3 10000 | tee "$out/cluster.md"
  bash benchmarks/redis-ideas.sh 200000 | tee "$out/redis-ideas.md"
  charts=docs
fi

cp BenchmarkDotNet.Artifacts/results/*-report-github.md "$out/"
python3 benchmarks/report.py BenchmarkDotNet.Artifacts/results "$charts" | tee "$out/report.md"

if [[ $mode == full ]]; then
  rm -rf artifacts/profiles
  bench --filter '*RedisRequest*StateKitRedis_RMW*' '*InMemoryRequest*StateKit*' '*JwtBenchmarks*StateKit*' '*JwtBenchmarks*Raw*' \
    --job short --profiler EP --artifacts artifacts/profiles > /dev/null
  python3 benchmarks/profile.py artifacts/profiles/*.speedscope.json --top 12 > "$out/profiles.md"
  echo "profiles: $out/profiles.md (docs/benchmarks-profiles.md is this file with a header)"
fi
