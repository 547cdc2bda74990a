#!/usr/bin/env bash
# Type-checks the whole tree and writes a compiled copy of it to .build/ (or the directory given),
# which scripts/test.sh runs the suite from.
#
# Why: Tide runs its TypeScript through tsx, whose loader hooks roughly double the CPU it takes
# node to load modules (every import crosses to the hooks' thread and back; @kubernetes/client-node
# alone is ~1,000 files). The suite starts a few hundred node processes — test files, `tide run`,
# `tide dev`, `tide apiserver` — on a 2-core machine, so that cost was a large share of its time.
#
# The copy has the repository's layout, so every `new URL('../..', import.meta.url)` finds what it
# finds in the tree: in the folders with TypeScript, tsc's .js (with source maps) beside a symlink
# to every other file (sources, fixtures, scripts); the other folders (manifests, charts, docs)
# and files linked whole — kustomize refuses a kustomization.yaml that is itself a symlink;
# node_modules linked; and bin/tide.js copied, not linked — a symlink would resolve back into the
# tree and load the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build}"
rm -rf "$out"
# tsc first, into an empty directory, so that it can never write through a symlink into the tree.
npx tsc -p tsconfig.json --noEmit false --outDir "$out" --rewriteRelativeImportExtensions --sourceMap
shopt -s dotglob
for entry in *; do
  case "$entry" in .git|node_modules|"$out") continue ;; esac
  if [ -d "$out/$entry" ]; then cp -rsn "$PWD/$entry" "$out/"; else ln -s "$PWD/$entry" "$out/$entry"; fi
done
ln -s "$PWD/node_modules" "$out/node_modules"
rm "$out/bin"
cp -r bin "$out/bin"
