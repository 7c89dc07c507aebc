#!/bin/bash
# test/demo/run.sh: `make demo`. 1,000 TCP connections with data queued both ways, checkpointed
# and restored through libsoccr in a private network namespace, then verified (see demo.c).
# Needs root (network namespace, TCP repair, nftables). Arguments go to the demo (-n N, -6).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $(id -u) -ne 0 ]]; then
	echo "demo: run as root (it makes a network namespace and uses TCP repair and nftables)" >&2
	exit 1
fi
exec "$here/demo" "$@"
