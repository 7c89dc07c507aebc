#!/bin/bash
# test/bench/run.sh: `make bench`. The soccr benchmark (soccr-bench.c: N = 1,000 and 10,000, the
# library with io_uring, with syscalls, the serial single-socket baseline and the kernel floor,
# median of 3 each), then the network-lock benchmark if it was built. Needs root.
#
# The loopback device hands packets to the stack through one per-CPU backlog of
# net.core.netdev_max_backlog packets (1,000 by default). 10,000 restored connections all
# retransmit in the same timer tick about a second after the restore; on lo that burst
# overflows the backlog, the dropped segments back the connections off for minutes, and the
# verification that follows every measured cycle times out. The benchmark measures dump and
# restore, not loopback's burst tolerance: the backlog is raised for the run and put back after.
# scripts/run-tests.sh does not do this, so the scale tests still see that behaviour.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $(id -u) -ne 0 ]]; then
	echo "bench: run as root (network namespaces, TCP repair, nftables)" >&2
	exit 1
fi

backlog_key=net.core.netdev_max_backlog
backlog_want=65536
backlog_was=$(sysctl -n "$backlog_key")
put_back()
{
	sysctl -qw "$backlog_key=$backlog_was" || echo "bench: could not put $backlog_key back to $backlog_was" >&2
}
if ((backlog_was < backlog_want)); then
	trap put_back EXIT
	sysctl -qw "$backlog_key=$backlog_want"
	echo "# $backlog_key raised from $backlog_was to $backlog_want for this run"
fi

echo "# $(uname -sr), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
"$here/soccr-bench" "$@"
if [[ -x $here/lock-bench ]]; then
	"$here/lock-bench"
fi
