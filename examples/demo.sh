#!/usr/bin/env bash
# The offline main job on the bundled example: what CI and the gate do for a pull request.
#
#   bash examples/demo.sh [DEST]        (default: a new temporary folder)
#
# 1. builds a reproducible git history of examples/governed-repo: main, and a branch that
#    promotes the routing rules 1.0.0 -> 1.1.0 with its change request;
# 2. validate: the change requests and the policy;
# 3. check:    the branch changes exactly what it declares, and the policy's checks pass;
# 4. approvals: the decision for the pull request's snapshots (approved, then pending).
# It exits non-zero unless every step gives the expected answer. No network, no GitHub.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bot=${PROMOTION_BOT:-$here/../.venv/bin/promotion-bot}  # the README's install; else PATH
[ -x "$bot" ] || bot=$(command -v promotion-bot) || { echo "demo: install first" >&2; exit 2; }
python=$(dirname "$bot")/python
dest=${1:-$(mktemp -d)/demo}
snapshots="$here/governed-repo/snapshots"

step() { printf '\n== %s\n' "$*"; }

step "a governed repository with a pull request branch ($dest)"
"$python" "$here/make_demo_history.py" "$dest"
cd "$dest"

step "promotion-bot validate"
"$bot" validate

step "promotion-bot check --base main --head demo/ruleset-1.1.0"
"$bot" check --base main --head demo/ruleset-1.1.0 --output-dir "$dest.checks"

step "promotion-bot approvals (snapshot: approved.json)"
"$bot" approvals --base main --head demo/ruleset-1.1.0 --snapshot "$snapshots/approved.json"

step "promotion-bot approvals (snapshot: pending.json): exit 1 expected"
status=0
"$bot" approvals --base main --head demo/ruleset-1.1.0 --snapshot "$snapshots/pending.json" \
  || status=$?
if [ "$status" -ne 1 ]; then
  echo "demo: expected exit 1 (pending), got $status" >&2
  exit 1
fi
printf '\ndemo: all steps gave the expected answers (repository left in %s)\n' "$dest"
