#!/usr/bin/env bash
# Regenerates pack/SHA256SUMS from the files of the deployable pack.
set -euo pipefail
cd "$(dirname "$0")/.."
find configs prompts templates -type f | LC_ALL=C sort | xargs sha256sum > pack/SHA256SUMS
echo "pack/SHA256SUMS: $(wc -l < pack/SHA256SUMS) files"
