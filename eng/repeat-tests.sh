#!/usr/bin/env bash
# Runs the whole test suite several times in a row, in Debug and in Release, while another build of the solution keeps
# both cores busy, and prints one line per run. A test that depends on timing or on running alone fails here first.
#
#   bash eng/repeat-tests.sh [runs per configuration, default 5]
#
# The load is a second copy of the repository (a clone of HEAD in a temporary directory) rebuilt from scratch in a
# loop; it stops when the runs end. Each run's full log is kept in the printed directory.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-5}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out=$(mktemp -d /tmp/statekit-repeat.XXXXXX)
load_dir="$out/load"
git clone -q . "$load_dir"

# Its own process group, and no build servers that outlive it, so the trap stops all of it.
setsid bash -c 'cd "$1" && while true; do
    dotnet build StateKit.sln --no-incremental --disable-build-servers -c Debug -v quiet --nologo >/dev/null 2>&1 || true
  done' load "$load_dir" &
load_pid=$!
trap 'kill -- -"$load_pid" 2>/dev/null || true' EXIT

failures=0
for config in Debug Release; do
  dotnet build StateKit.sln -c "$config" -v quiet --nologo
  for i in $(seq 1 "$runs"); do
    log="$out/$config-$i.log"
    status=0
    dotnet test StateKit.sln -c "$config" --no-build >"$log" 2>&1 || status=$?
    summary=$(awk '
      /(Passed|Failed)! +- +Failed: / {
        for (i = 1; i <= NF; i++) {
          if ($i == "Failed:")  { f += $(i+1) + 0 }
          if ($i == "Passed:")  { p += $(i+1) + 0 }
          if ($i == "Skipped:") { s += $(i+1) + 0 }
        }
      }
      END { printf "%d passed, %d failed, %d skipped", p, f, s }' "$log")
    printf '%s run %d: %s (exit %d)\n' "$config" "$i" "$summary" "$status"
    if ((status != 0)); then
      failures=$((failures + 1))
      grep -E '^\s+Failed [A-Za-z]' "$log" | sed 's/^/    /' || true
    fi
  done
done

echo "logs: $out"
exit $((failures > 0))
