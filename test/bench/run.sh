#!/bin/bash
# test/bench/run.sh: `make bench`. The soccr benchmark (soccr-bench.c: N = 1,000 and 10,000, the
# library with io_uring, with syscalls, the serial single-socket baseline and the kernel floor,
# median of 3 each), the socket options criu reads per socket, one syscall each against a batch
# (sockopt-bench.c: N = 10,000), then the network-lock benchmark if it was built, then criu
# dump/restore (engine-bench.c), then the host-to-host migration of N = 1, 1,000 and 10,000
# connections through criu with its floor (e2e-bench.c). Needs root.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $(id -u) -ne 0 ]]; then
	echo "bench: run as root (network namespaces, TCP repair, nftables)" >&2
	exit 1
fi

echo "# $(uname -sr), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
"$here/soccr-bench" "$@"
"$here/sockopt-bench"
if [[ -x $here/lock-bench ]]; then
	"$here/lock-bench"
fi
"$here/engine-bench"
"$here/e2e-bench"
