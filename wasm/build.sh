#!/usr/bin/env bash
# Rebuilds the FEC engine from src/lib.rs into fec-simd.wasm (SIMD128 kernel) and
# fec-scalar.wasm (scalar kernel for engines without SIMD), byte for byte the same as the
# committed files when run with the toolchain named in toolchain.txt (Debian 12's rustc).
#
#   wasm/build.sh [OUT_DIR]      default OUT_DIR: this folder
#
# Uses /usr/bin/rustc explicitly: a rustup toolchain earlier on PATH usually lacks the
# wasm32 target and would give different bytes. No cargo, no crates. Exits 2 with a message
# on stderr when the toolchain is missing (wasm/check.sh relies on that).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${1:-$here}" && cd "${1:-$here}" && pwd)
rustc=/usr/bin/rustc
linker=/usr/bin/rust-lld
install_hint="install it with: apt-get update && apt-get install -y rustc libstd-rust-dev-wasm32 lld-14"

if [ ! -x "$rustc" ]; then
  echo "$rustc not found; $install_hint" >&2
  exit 2
fi
libdir=$("$rustc" --print target-libdir --target wasm32-unknown-unknown 2>/dev/null || true)
if [ -z "$libdir" ] || ! compgen -G "$libdir/libcore-*.rlib" >/dev/null; then
  echo "the wasm32-unknown-unknown standard library for $rustc is missing; $install_hint" >&2
  exit 2
fi
if [ ! -x "$linker" ]; then
  echo "$linker (lld) not found; $install_hint" >&2
  exit 2
fi

version=$("$rustc" -vV | grep -E '^(release|LLVM version):')
echo "compiler: $rustc ($(echo "$version" | tr '\n' ' ' | sed 's/ $//'))"
if [ "$version" != "$(cat "$here/toolchain.txt")" ]; then
  echo "warning: toolchain.txt pins $(tr '\n' ' ' <"$here/toolchain.txt")- the output will differ from the committed files" >&2
fi

# Flags are pinned here, not taken from the environment: RUSTFLAGS and friends are ignored.
flags=(
  --edition 2021
  --crate-name bering_fec
  --crate-type cdylib
  --target wasm32-unknown-unknown
  -C opt-level=3
  -C codegen-units=1
  -C panic=abort
  -C debuginfo=0
  -C strip=symbols
  -C "linker=$linker"
  --remap-path-prefix "$here=."
)

cd "$here"
"$rustc" "${flags[@]}" -C target-feature=+simd128 -o "$out/fec-simd.wasm" src/lib.rs
"$rustc" "${flags[@]}" -o "$out/fec-scalar.wasm" src/lib.rs
chmod 644 "$out/fec-simd.wasm" "$out/fec-scalar.wasm"
for f in fec-simd.wasm fec-scalar.wasm; do
  echo "built $out/$f ($(wc -c <"$out/$f") bytes, sha256 $(sha256sum "$out/$f" | cut -c1-16))"
done
