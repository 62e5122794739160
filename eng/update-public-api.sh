#!/usr/bin/env bash
# Rewrites a project's PublicAPI.Unshipped.txt to list exactly the public symbols not in PublicAPI.Shipped.txt,
# from the analyzer's own RS0016 report. Usage: eng/update-public-api.sh src/StateKit
set -euo pipefail
dir=$1
file="$dir/PublicAPI.Unshipped.txt"
echo '#nullable enable' > "$file"
{ dotnet build "$dir" --no-incremental 2>&1 || true; } \
  | grep -o "RS0016: Symbol '.*' is not part of the declared public API" \
  | sed -E "s/^RS0016: Symbol '(.*)' is not part of the declared public API$/\1/" \
  | sort -u >> "$file"
echo "$(($(wc -l < "$file") - 1)) unshipped symbols in $file"
