#!/usr/bin/env bash
# Checks a running consumer app over HTTP, as a browser would: curl with a cookie jar per visitor.
# Usage: check.sh BASE_URL PROFILE [JAR_DIR]
#   PROFILE aot:     GET /count answers "n=1", "n=2"... per visitor; POST /cart/{sku} answers the cart as JSON.
#   PROFILE readme:  POST /cart/{sku} answers the number of items (the README's snippet).
#   PROFILE resume:  the visitor of a previous "aot" run (same JAR_DIR) comes back to a restarted app: "n=4".
# Prints one "ok"/"not ok" line per check and exits non-zero when any failed.
set -uo pipefail

base=$1
profile=$2
jars=${3:-$(mktemp -d)}
failures=0
checks=0

# request METHOD PATH JAR: sets $status, $body and $headers.
request() {
  local method=$1 path=$2 jar=$3 out
  headers=$(mktemp)
  out=$(curl -sS -X "$method" -b "$jar" -c "$jar" -D "$headers" -w $'\n%{http_code}' "$base$path") || out=$'\n000'
  status=${out##*$'\n'}
  body=${out%$'\n'*}
}

expect() {
  local what=$1 want=$2
  checks=$((checks + 1))
  if [[ $status == 200 && $body == "$want" ]]; then
    echo "ok - $what: $body"
  else
    echo "not ok - $what: expected 200 '$want', got $status '$body'"
    failures=$((failures + 1))
  fi
}

expect_cookie() {
  local what=$1
  checks=$((checks + 1))
  if grep -qi '^set-cookie: statekit=.*httponly' "$headers"; then
    echo "ok - $what"
  else
    echo "not ok - $what: no HttpOnly 'statekit' cookie in the response headers:"
    sed 's/^/    /' "$headers"
    failures=$((failures + 1))
  fi
}

case $profile in
  aot)
    request GET /count "$jars/ana"
    expect "a new visitor's first count" "n=1"
    expect_cookie "the first count sets the session cookie"
    request GET /count "$jars/ana"
    expect "the same visitor's second count (state round-trips through the cookie and the store)" "n=2"
    request GET /count "$jars/bob"
    expect "another visitor starts from scratch" "n=1"
    request POST /cart/apple "$jars/ana"
    expect "a typed object (Cart) as the response body" '{"items":["apple"]}'
    request POST /cart/pear "$jars/ana"
    expect "the cart grows in the same session" '{"items":["apple","pear"]}'
    request GET /count "$jars/ana"
    expect "the count survived the cart's writes" "n=3"
    ;;
  resume)
    request GET /count "$jars/ana"
    expect "after a restart of the app the session is still in the store" "n=4"
    ;;
  readme)
    request POST /cart/book "$jars/ana"
    expect "the README handler answers the cart's size" "1"
    expect_cookie "the first write sets the session cookie"
    request POST /cart/pen "$jars/ana"
    expect "the same visitor's cart grows" "2"
    request POST /cart/book "$jars/bob"
    expect "another visitor has a cart of their own" "1"
    ;;
  *)
    echo "unknown profile '$profile'" >&2
    exit 2
    ;;
esac

echo "checks: $((checks - failures)) ok, $failures not ok"
((failures == 0))
