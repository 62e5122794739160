#!/usr/bin/env bash
# Before/after: runs the BenchmarkDotNet classes of two commits back to back on the same machine (base, then head), and prints each StateKit case's time and allocation against the other commit's.
#
#   bash benchmarks/compare.sh <base-commit> [filter ...]    e.g. bash benchmarks/compare.sh main~5 '*InMemoryRequest*'
#
# The head is the working tree; the base is checked out into a temporary git worktree and built there. Each side runs its
# own benchmark project, so a case is compared when its name is the same in both. Output: artifacts/benchmarks/compare.md.
# Needs redis-server on PATH, like run.sh, and a quiet machine: a busy neighbour moves one side and not the other.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: compare.sh <base-commit> [filter ...]}
shift
filters=("$@")
((${#filters[@]})) || filters=('*')
iterations=${ITERATIONS:-10}
out=artifacts/benchmarks
mkdir -p "$out"
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add -q --detach "$work/base" "$base"

for side in base head; do
  dir=$([[ $side == base ]] && echo "$work/base" || pwd)
  dotnet build -c Release "$dir/benchmarks/StateKit.Benchmarks" --nologo -v quiet
done

# One BenchmarkDotNet process per side: it builds its generated project once for every class (a build per class would
# add minutes per class). Base first, then head.
for side in base head; do
  dir=$([[ $side == base ]] && echo "$work/base" || pwd)
  (cd "$dir" && dotnet run -c Release --no-build --project benchmarks/StateKit.Benchmarks -- \
    --filter "${filters[@]}" --job short --iterationCount "$iterations" --exporters csv --buildTimeout 900 \
    --artifacts "$work/$side" > "$work/$side.log" 2>&1) || { tail -30 "$work/$side.log"; exit 1; }
done
python3 benchmarks/compare.py "$work/base/results" "$work/head/results" "$base" | tee "$out/compare.md"
