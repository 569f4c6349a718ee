#!/usr/bin/env sh
# Builds native/udpbatch-<platform>-<arch>.node, the batched UDP sender (native/udpbatch.c), with
# the machine's C compiler against Node's own headers. N-API keeps the binary good for any Node
# version from 20 on; other platforms build their own with this script, and without one the
# relays use Node's dgram sends (slower, same bytes).
set -eu
cd "$(dirname "$0")"
headers="$(node -p "require('node:path').resolve(process.execPath, '../../include/node')")"
target="udpbatch-$(node -p 'process.platform')-$(node -p 'process.arch').node"
out="${1:-$target}"
${CC:-cc} -O2 -fPIC -shared -Wall -Wextra -Werror -fvisibility=hidden -I"$headers" udpbatch.c -o "$out"
echo "built native/$out"
