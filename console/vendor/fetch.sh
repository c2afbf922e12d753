#!/usr/bin/env bash
# Re-fetches the vendored modules from the npm registry at their pinned versions and checks them
# against SHA256SUMS. Run from anywhere; needs npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
for spec in preact@10.29.8 htm@3.1.1 @dagrejs/dagre@3.1.3; do
  npm pack --silent "$spec" >/dev/null
done
unpack() { mkdir -p "$2" && tar xzf "$1" -C "$2"; }
unpack preact-10.29.8.tgz preact
unpack htm-3.1.1.tgz htm
unpack dagrejs-dagre-3.1.3.tgz dagre
cp preact/package/dist/preact.module.js "$here/preact.module.js"
cp preact/package/hooks/dist/hooks.module.js "$here/preact-hooks.module.js"
cp htm/package/dist/htm.module.js "$here/htm.module.js"
cp dagre/package/dist/dagre.esm.js "$here/dagre.esm.js"
cd "$here" && sha256sum --check SHA256SUMS
