#!/usr/bin/env bash
# Builds apps that consume StateKit as users do, from the packed nupkgs, runs them and checks them over HTTP.
#
# Usage: bash tests/consumers/run.sh [jit] [aot] [old-pattern]
#   jit          the README's "Use it" snippet as a plain ASP.NET Core app (WebApp); also fails if a Microsoft.Extensions
#                assembly or DiagnosticSource lands app-local, lifted over the shared framework.
#   aot          AotApp, written as docs/aspnetcore.md teaches, published with native AOT, checked on the in-memory,
#                Redis (a redis-server of its own on a free port) and JWT stores.
#   old-pattern  AotApp's handler as the docs taught before (GetAsync("n", AppJson.Default.Int32)), published with
#                native AOT: the check must FAIL on it (the Request Delegate Generator drops the body). Passes when it does.
#   (none)       jit and aot.
# Needs artifacts/packages from `dotnet pack StateKit.sln -c Release -o artifacts/packages`, and for aot clang and
# zlib1g-dev (Debian). Prints one "PASS:" or "FAIL:" line per step; exits non-zero when any step failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
feed=$root/artifacts/packages
art=$root/artifacts/consumers
steps=("$@")
((${#steps[@]})) || steps=(jit aot)

nupkg=$(ls "$feed"/StateKit.AspNetCore.*.nupkg 2>/dev/null | grep -v '\.snupkg$' | head -n 1)
if [[ -z $nupkg ]]; then
  echo "FAIL: no StateKit packages in $feed; run: dotnet pack StateKit.sln -c Release -o artifacts/packages"
  exit 1
fi
version=$(basename "$nupkg" .nupkg)
version=${version#StateKit.AspNetCore.}

# A packages folder of the consumers' own: the packed StateKit is always 0.1.0, so a copy extracted by an earlier run
# (or anywhere else) must never be reused. Everything else stays cached between runs.
export NUGET_PACKAGES=$art/nuget-packages
mkdir -p "$NUGET_PACKAGES"
rm -rf "$NUGET_PACKAGES"/statekit "$NUGET_PACKAGES"/statekit.*
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 ASPNETCORE_ENVIRONMENT=Development

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  pids=()
}
trap cleanup EXIT

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# from_packages APP: the StateKit libraries in APP's restore came from packages, never from projects.
from_packages() {
  local assets=$art/$1/obj/project.assets.json
  if grep -q '"type": "project"' "$assets"; then
    echo "  $1 restored a project reference; consumers must take StateKit from $feed only"
    return 1
  fi
  grep -q "\"StateKit.AspNetCore/$version\"" "$assets" || { echo "  $1 did not restore StateKit.AspNetCore $version"; return 1; }
}

# start NAME COMMAND...: runs the app on a free loopback port (Kestrel binds port 0) and sets $url from its log.
start() {
  local name=$1 log=$art/$1.log i
  shift
  "$@" --urls http://127.0.0.1:0 >"$log" 2>&1 &
  pids+=($!)
  url=
  for ((i = 0; i < 300; i++)); do
    url=$(grep -o 'Now listening on: http://127.0.0.1:[0-9]*' "$log" | head -n 1 | sed 's/Now listening on: //')
    [[ -n $url ]] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.2
  done
  echo "  $name did not start; its log:"
  sed 's/^/    /' "$log"
  return 1
}

stop_last() {
  kill "${pids[-1]}" 2>/dev/null
  wait "${pids[-1]}" 2>/dev/null
  unset 'pids[-1]'
}

status=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; status=1; }

run_jit() {
  local out=$art/WebApp/publish local_copies
  mkdir -p "$art/WebApp"
  # Like tests/consumers/.editorconfig: the repository's analyzer rules stop here.
  printf 'root = true\n' >"$art/.editorconfig"
  # The README's first "Use it" snippet, verbatim.
  awk '/^## Use it/ { in_section = 1 } in_section && /^```csharp/ { grab = 1; next } grab && /^```/ { exit } grab' \
    "$root/README.md" >"$art/WebApp/Program.cs"
  if ! grep -q 'UseStateKit' "$art/WebApp/Program.cs"; then
    fail "jit consumer: no ASP.NET Core snippet under README.md's \"Use it\""
    return
  fi

  local start_time=$SECONDS
  if ! dotnet publish "$here/WebApp" -c Release -o "$out" -p:StateKitVersion="$version" --nologo -v q >"$art/WebApp.build.log" 2>&1; then
    sed 's/^/    /' "$art/WebApp.build.log"
    fail "jit consumer: the README snippet does not build against the packages"
    return
  fi
  echo "  WebApp published in $((SECONDS - start_time)) s"
  from_packages WebApp || { fail "jit consumer: not built from the packages"; return; }

  # Item 6: nothing the shared framework already has may be lifted app-local by StateKit's dependencies.
  local_copies=$(cd "$out" && ls Microsoft.Extensions.*.dll System.Diagnostics.DiagnosticSource.dll System.Threading.RateLimiting.dll 2>/dev/null)
  echo "  app-local Microsoft.Extensions*/DiagnosticSource/RateLimiting assemblies: ${local_copies:-none}"
  [[ -z $local_copies ]] || fail "jit consumer: StateKit's dependencies lift shared-framework assemblies app-local: $local_copies"

  if start WebApp dotnet "$out/WebApp.dll" && bash "$here/check.sh" "$url" readme "$(mktemp -d)"; then
    pass "jit consumer (README snippet, packages from artifacts/packages): a session round-trips over HTTP"
  else
    fail "jit consumer (README snippet): the HTTP check failed"
  fi
  cleanup
}

# publish_aot OUT [MSBuild args...]
publish_aot() {
  local out=$1 start_time=$SECONDS
  shift
  if ! dotnet publish "$here/AotApp" -c Release -r linux-x64 -p:PublishAot=true -p:StateKitVersion="$version" -o "$out" "$@" --nologo -v q >"$art/AotApp.build.log" 2>&1; then
    sed 's/^/    /' "$art/AotApp.build.log"
    return 1
  fi
  echo "  AotApp native AOT publish took $((SECONDS - start_time)) s ($(du -h "$out/AotApp" | cut -f1) executable)"
  from_packages AotApp
}

run_aot() {
  local out=$art/AotApp/publish app redis_port jwtkey store jars ok=1
  if ! publish_aot "$out"; then
    fail "aot consumer: native AOT publish failed"
    return
  fi
  app=$out/AotApp
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$art/redis.log" 2>&1 &
  pids+=($!)
  for ((i = 0; i < 100; i++)); do
    [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] && break
    sleep 0.1
  done
  jwtkey=$(head -c 32 /dev/urandom | base64)
  for store in memory redis jwt; do
    echo "  store: $store"
    jars=$(mktemp -d)
    local args=(--store "$store" --redis "127.0.0.1:$redis_port" --jwtkey "$jwtkey")
    if ! { start "AotApp-$store" "$app" "${args[@]}" && bash "$here/check.sh" "$url" aot "$jars"; }; then
      ok=0
      continue
    fi
    stop_last
    # Redis and JWT keep the session outside the process: a restarted app finds it.
    if [[ $store != memory ]] && ! { start "AotApp-$store-restarted" "$app" "${args[@]}" && bash "$here/check.sh" "$url" resume "$jars"; }; then
      ok=0
    fi
    [[ $store == memory ]] || stop_last
  done
  cleanup
  if ((ok)); then
    pass "aot consumer (native AOT, packages from artifacts/packages): bodies, cookies and state round-trip on memory, redis and jwt"
  else
    fail "aot consumer (native AOT): the HTTP check failed"
  fi
}

run_old_pattern() {
  local out=$art/AotApp/publish-old-pattern
  # Either way the old pattern must not pass: the Request Delegate Generator mis-types the handler, and the publish
  # fails inside its generated code (CS1031/CS7003) or the app answers without the handler's body.
  if ! publish_aot "$out" -p:OldPattern=true; then
    if grep -q 'GeneratedRouteBuilderExtensions.g.cs.*error CS' "$art/AotApp.build.log"; then
      pass "old-pattern control: the handler the docs taught before (GetAsync(\"n\", AppJson.Default.Int32)) is caught: its native AOT publish fails in the Request Delegate Generator's code"
    else
      fail "old-pattern control: native AOT publish failed for another reason"
    fi
    return
  fi
  if start AotApp-old-pattern "$out/AotApp" --store memory && ! bash "$here/check.sh" "$url" aot "$(mktemp -d)"; then
    pass "old-pattern control: the handler the docs taught before (GetAsync(\"n\", AppJson.Default.Int32)) is caught by the HTTP check"
  else
    fail "old-pattern control: the check passed on the old pattern; it no longer proves anything"
  fi
  cleanup
}

for step in "${steps[@]}"; do
  case $step in
    jit) run_jit ;;
    aot) run_aot ;;
    old-pattern) run_old_pattern ;;
    *) fail "unknown step '$step' (jit, aot, old-pattern)" ;;
  esac
done
exit "$status"
