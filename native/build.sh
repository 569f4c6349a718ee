#!/usr/bin/env sh
# Builds the native modules with the machine's C compiler against Node's own headers:
#   native/udpbatch-<platform>-<arch>.node  batched UDP I/O (native/udpbatch.c)
#   native/aead-<platform>-<arch>.node      ChaCha20-Poly1305 through Node's OpenSSL (native/aead.c)
# N-API keeps the binaries good for any Node version from 20 on; other platforms build their own
# with this script, and without them the relays use dgram and libsodium (slower, same bytes).
# `build.sh` builds both; `build.sh MODULE [OUT]` builds one, to OUT if given.
set -eu
cd "$(dirname "$0")"
headers="$(node -p "require('node:path').resolve(process.execPath, '../../include/node')")"
suffix="$(node -p 'process.platform')-$(node -p 'process.arch').node"
build() {
  ${CC:-cc} -O2 -fPIC -shared -Wall -Wextra -Werror -fvisibility=hidden -I"$headers" "$1.c" -o "$2"
  echo "built native/$2"
}
if [ $# -eq 0 ]; then
  build udpbatch "udpbatch-$suffix"
  build aead "aead-$suffix"
else
  build "$1" "${2:-$1-$suffix}"
fi
