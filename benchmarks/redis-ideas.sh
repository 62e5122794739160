#!/usr/bin/env bash
# Issue 17's "ideas to weigh" that are about Redis itself, measured on a throwaway redis-server with redis-benchmark:
# the server's own CPU per call (INFO commandstats usec_per_call), not the client's.
#   1. EVALSHA against FCALL (Redis Functions) for the same Lua: the store's touch script.
#   2. A load as HGETALL + PEXPIRE against the touch script + HGETALL (before issue 17).
#   3. RESP2 against RESP3 for HGETALL.
# Usage: bash benchmarks/redis-ideas.sh [requests per case, default 200000]. Needs redis-server, redis-cli, redis-benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --logfile /dev/null
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
cli() { redis-cli -p "$port" "$@"; }

# The touch script exactly as the store sends it (RedisScripts.cs: the prelude, then the script).
touch=$(python3 - <<'PY'
import re
src = open('src/StateKit.Redis/RedisScripts.cs').read()
def block(name):
    m = re.search(name + r' = new\("[a-z-]+", (Prelude \+ )?"""\n(.*?)\n\s*"""\);', src, re.S)
    return m.group(2)
pre = re.search(r'Prelude = """\n(.*?)\n\s*""";', src, re.S).group(1)
print("\n".join(l.strip() for l in (pre + "\n" + block("Touch")).splitlines()))
PY
)
sha=$(cli script load "$touch")
body=$(printf '%s\n' "$touch" | sed -e 's/KEYS\[1\]/keys[1]/g' -e 's/ARGV\[1\]/args[1]/g')
cli function load REPLACE "#!lua name=statekit
redis.register_function('touch', function(keys, args)
$body
end)" >/dev/null

value256=$(head -c 192 /dev/zero | tr '\0' 'x')
value4k=$(head -c 4032 /dev/zero | tr '\0' 'x')
now=$(($(date +%s%3N)))
seed() { cli hset "$1" m:v 1 m:a "$now" m:x $((now + 86400000)) m:i 1200000 m:n 256 m:k 1 d:cart "$2" w:cart 1 >/dev/null; }
seed 's:{small}' "$value256"
seed 's:{large}' "$value4k"

usec() { cli info commandstats | tr -d '\r' | awk -F'[:=,]' -v c="cmdstat_$1" '$1 == c { print $7 }'; }

# run LABEL STAT [redis-benchmark options] -- COMMAND...: the server's µs per call of STAT over the case.
run() {
  local label=$1 stat=$2; shift 2
  local opts=()
  while [[ $1 != -- ]]; do opts+=("$1"); shift; done
  shift
  cli config resetstat >/dev/null
  redis-benchmark -p "$port" -n "$n" -c 16 -q "${opts[@]}" "$@" >/dev/null
  printf '| %s | %s |\n' "$label" "$(usec "$stat")"
}

echo "redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1, $n calls per case, 16 clients."
echo "Server CPU per call from INFO commandstats (µs; a script's time includes the commands it runs)."
echo
echo "| case | µs per call |"
echo "|---|---:|"
run "touch script, EVALSHA (256 B session)" evalsha -- evalsha "$sha" 1 's:{small}' "$now"
run "touch script, FCALL (256 B session)" fcall -- fcall touch 1 's:{small}' "$now"
run "HGETALL, 256 B session, RESP2" hgetall -- hgetall 's:{small}'
run "HGETALL, 256 B session, RESP3" hgetall -3 -- hgetall 's:{small}'
run "HGETALL, 4 KB session, RESP2" hgetall -- hgetall 's:{large}'
run "HGETALL, 4 KB session, RESP3" hgetall -3 -- hgetall 's:{large}'
run "PEXPIRE" pexpire -- pexpire 's:{small}' 1200000
