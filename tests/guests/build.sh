#!/usr/bin/env bash
# Rebuilds the test guests: tests/guests/*.c and *.wat -> NAME.wasm next to the source,
# and examples/*.c -> examples/*.wasm (with sdk/c on the include path). The .wasm files are committed, so the
# tests need no toolchain; run this (npm run build:guests) after changing a source.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
CC="${CC:-clang-14}"
SYSROOT="${WASI_SYSROOT:-/usr}"
CFLAGS=(--target=wasm32-wasi --sysroot="$SYSROOT" -O2 -Wall -Wextra -Wno-unused-parameter -I"$repo/sdk/c")

need_packages() {
  echo "build.sh: $1 not found." >&2
  echo "Install the WASI C toolchain (Debian 12):" >&2
  echo "  apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 wabt" >&2
  exit 1
}

command -v "$CC" >/dev/null 2>&1 || need_packages "$CC"

build_c() {
  local src="$1" out="${1%.c}.wasm"
  echo "  CC   ${src#"$repo"/}"
  "$CC" "${CFLAGS[@]}" "$src" -o "$out"
}

shopt -s nullglob
for src in "$here"/*.c; do build_c "$src"; done
for src in "$repo"/examples/*.c; do build_c "$src"; done

wats=("$here"/*.wat)
if ((${#wats[@]})); then
  command -v wat2wasm >/dev/null 2>&1 || need_packages wat2wasm
  for src in "${wats[@]}"; do
    echo "  WAT  ${src#"$repo"/}"
    wat2wasm "$src" -o "${src%.wat}.wasm"
  done
fi
echo "build.sh: done"
