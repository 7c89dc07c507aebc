#!/bin/bash
# test/demo/run.sh: `make demo`. A server holding 1,000 TCP connections with data queued both
# ways, migrated from host A to host B (network namespaces) with criu dump/restore
# --tcp-established, every byte checked (see demo.c). Needs root (network namespaces, TCP repair,
# nftables, ptrace). Arguments go to the demo (-n N, -k).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $(id -u) -ne 0 ]]; then
	echo "demo: run as root (it makes network namespaces and runs criu)" >&2
	exit 1
fi
exec "$here/demo" "$@"
