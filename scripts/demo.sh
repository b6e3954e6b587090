#!/usr/bin/env bash
# The main job on the built-in dataset: compile -> train -> eval (the ranking step on the
# exported inference.onnx). Runs from a fresh clone after `npm ci` (which builds dist/), and
# again: a second run replaces the artifacts and the run it wrote the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/src/commands/compile.js ] || npm run build
out=${1:-artifacts/demo}
./bin/run.js compile --preset builtin --data builtin --out "$out" --force
./bin/run.js train "$out" --data builtin --overwrite
./bin/run.js eval "$out" --data builtin
