#!/usr/bin/env bash
# Pack verification: every file of the deployable pack is listed in pack/SHA256SUMS with the
# right SHA-256, and nothing in the pack is unlisted.
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=pack/SHA256SUMS
[ -f "$manifest" ] || { echo "verify_pack: $manifest is missing" >&2; exit 1; }
sha256sum --check --strict --quiet "$manifest"
listed=$(awk '{print $2}' "$manifest" | sort)
present=$(find configs prompts templates -type f | sort)
unlisted=$(comm -13 <(echo "$listed") <(echo "$present"))
if [ -n "$unlisted" ]; then
  echo "verify_pack: files in the pack but not in $manifest:" >&2
  echo "$unlisted" >&2
  echo "run scripts/update_pack.sh and commit the manifest" >&2
  exit 1
fi
echo "verify_pack: $(wc -l < "$manifest") files match $manifest"
