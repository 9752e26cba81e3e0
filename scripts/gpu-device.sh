#!/usr/bin/env bash
# The WebGPU backend on a bare GPU machine (no Node, no network, no Vulkan loader), in one prepared script.
#   here:        bash scripts/gpu-device.sh prepare   builds .gpu/ (git-ignored): node, Dawn, Vulkan loader debs (as
#                ../shared/gpu/prepare.sh) plus one-file bundles of the CLI (.gpu/cli/gra.mjs) and of the GPU checks
#                (.gpu/cli/checks.mjs), so no node_modules travel; then carry .gpu and build.
#   on the GPU:  bash scripts/gpu-device.sh run       unpacks, runs the GPU checks on the real adapter, then
#                gra bench --device webgpu for R = 1, 16, 32 (teacher-student 100/100, d=4, T=32, B=64) and
#                in-context regression (80/80, T=12), printing one JSON line each.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
prepare)
  [[ -d node_modules/webgpu/dist/linux-x64 ]] || { echo "node_modules/webgpu missing: npm ci first"; exit 1; }
  npm run build:ts >/dev/null
  rm -rf .gpu && mkdir -p .gpu/debs .gpu/webgpu/dist/linux-x64 .gpu/cli
  xz -T0 -6 -c "$(command -v node)" > .gpu/node.xz
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json .gpu/webgpu/
  xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .gpu/webgpu/dist/linux-x64/dawn.node.xz
  (cd .gpu/debs && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libopengl0 libgl1 libgles2 >/dev/null)
  cp ../shared/gpu/on-device.sh .gpu/
  # resvg (native, figures only) is replaced by a stub; require() of Node built-ins inside bundled CommonJS works
  # through createRequire
  echo 'export class Resvg { constructor() { throw new Error("resvg is not on this machine"); } }' > .gpu/cli/resvg-stub.mjs
  banner='import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);'
  # dist/cli/main.js runs main() itself when it is the entry script (true of the bundle), so the entry only imports it
  echo 'import "../../dist/cli/main.js";' > .gpu/cli/gra-entry.mjs
  for pair in ".gpu/cli/gra-entry.mjs:gra" "test/gpu/webgpu.checks.ts:checks"; do
    npx esbuild "${pair%%:*}" --bundle --platform=node --format=esm --target=node20 --outfile=".gpu/cli/${pair##*:}.mjs" \
      --external:webgpu --alias:@resvg/resvg-js=./.gpu/cli/resvg-stub.mjs --banner:js="$banner" --log-level=warning
  done
  du -sh .gpu
  ;;
run)
  exec bash .gpu/on-device.sh bash scripts/gpu-device.sh inner
  ;;
inner)
  nvidia-smi -L 2>/dev/null || true
  echo "== GPU checks (test/gpu/webgpu.checks.ts) on the real adapter"
  node .gpu/cli/checks.mjs 2>&1 | grep -v XDG_RUNTIME | grep -E "^# |^ok|^not ok|error:" || true
  echo "== gra bench --device webgpu"
  for R in 1 16 32; do
    node .gpu/cli/gra.mjs bench --device webgpu --runs "$R" --steps 1024 --json 2>&1 | grep -v XDG_RUNTIME || true
  done
  for R in 1 16; do
    node .gpu/cli/gra.mjs bench --task icl-regression --device webgpu --runs "$R" --steps 1024 --json 2>&1 | grep -v XDG_RUNTIME || true
  done
  ;;
*)
  echo "usage: bash scripts/gpu-device.sh prepare|run"; exit 2
  ;;
esac
