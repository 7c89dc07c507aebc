#!/bin/bash
# test/bench/dump-conns.sh: `criu dump --display-stats` of a process holding N established TCP
# connections, the phases criu reports, for one or more criu binaries taking turns (to compare a
# change against its base on the same connections and the same load).
#
# In a network namespace of its own: a Python epoll server (RLIMIT_NOFILE 20,000) accepts N
# connections that a Python client opens from 127.0.x.y (no ephemeral port runs out); each criu
# then dumps the server with --tcp-established --leave-running, REPS times in turn. Printed, per
# criu, the median and the runs of "fds and sockets", "TCP extraction" and "frozen time" in
# microseconds:
#
#   dump-conns n=N criu=PATH fds_us=X tcp_us=X frozen_us=X runs_fds_us=X,X,...
#
# and whether each criu's files.img is byte for byte the first one's (same process, same sockets).
#
# Usage: test/bench/dump-conns.sh [-n N] [-r REPS] CRIU...   (root; default N 10000, REPS 5)

set -euo pipefail

n=10000
reps=5
while getopts "n:r:" opt; do
	case $opt in
	n) n=$OPTARG ;;
	r) reps=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [[ $# -lt 1 ]]; then
	echo "usage: $0 [-n N] [-r REPS] CRIU..." >&2
	exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "dump-conns: run as root" >&2
	exit 1
fi
if [[ -z ${DUMP_CONNS_NETNS:-} ]]; then
	DUMP_CONNS_NETNS=1 exec unshare -n "$0" -n "$n" -r "$reps" "$@"
fi

work=$(mktemp -d /tmp/dump-conns.XXXXXX)
server_pid=
client_pid=
cleanup()
{
	[[ -n $client_pid ]] && kill "$client_pid" 2>/dev/null
	[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/server.py" <<'EOF'
import os, resource, select, socket, sys
os.closerange(3, 65536)  # nothing inherited: criu refuses a pipe
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 7000))
ls.listen(4096)
ls.setblocking(False)
ep = select.epoll()
ep.register(ls.fileno(), select.EPOLLIN)
conns = {}
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
while True:
    for fd, ev in ep.poll():
        if fd == ls.fileno():
            while True:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    break
                c.setblocking(False)
                conns[c.fileno()] = c
                ep.register(c.fileno(), select.EPOLLIN)
            continue
        c = conns[fd]
        try:
            d = c.recv(65536)
        except BlockingIOError:
            continue
        if d:
            c.send(d)
        else:
            ep.unregister(fd)
            del conns[fd]
            c.close()
EOF
cat >"$work/client.py" <<'EOF'
import resource, signal, socket, sys
n, ready = int(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.%d.%d" % (1 + i // 250, 1 + i % 250), 0))
    s.connect(("127.0.0.1", 7000))
    socks.append(s)
for s in socks:  # a round trip each: the server accepted them all
    s.send(b"x")
for s in socks:
    s.recv(1)
with open(ready, "w") as f:
    f.write("ok")
signal.pause()
EOF

wait_file()
{
	for _ in $(seq 600); do
		[[ -s $1 ]] && return 0
		sleep 0.1
	done
	echo "dump-conns: $2 did not start" >&2
	exit 1
}

ip link set lo up
setsid /usr/bin/python3 "$work/server.py" "$work/server.pid" </dev/null >/dev/null 2>&1 &
wait_file "$work/server.pid" "the server"
server_pid=$(cat "$work/server.pid")
/usr/bin/python3 "$work/client.py" "$n" "$work/ready" </dev/null >/dev/null 2>&1 &
client_pid=$!
wait_file "$work/ready" "the client"

# phase_us NAME FILE: the microseconds of the --display-stats line NAME
phase_us()
{
	sed -n "s/^ *$1: *\([0-9]*\) us.*/\1/p" "$2"
}

median()
{
	tr ',' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

declare -A fds tcp frozen
for r in $(seq "$reps"); do
	i=0
	for criu in "$@"; do
		img=$work/img
		rm -rf "$img"
		mkdir -p "$img"
		if ! "$criu" dump -t "$server_pid" -D "$img" --tcp-established --leave-running --display-stats \
			-o dump.log >"$work/stats" 2>&1; then
			echo "dump-conns: $criu failed:" >&2
			tail -5 "$img/dump.log" >&2
			exit 1
		fi
		fds[$i]+=${fds[$i]:+,}$(phase_us "fds and sockets" "$work/stats")
		tcp[$i]+=${tcp[$i]:+,}$(phase_us "TCP extraction" "$work/stats")
		frozen[$i]+=${frozen[$i]:+,}$(phase_us "frozen time" "$work/stats")
		[[ $r -eq 1 ]] && cp "$img/files.img" "$work/files.$i.img"
		i=$((i + 1))
	done
done

i=0
for criu in "$@"; do
	echo "dump-conns n=$n criu=$criu fds_us=$(median <<<"${fds[$i]}") tcp_us=$(median <<<"${tcp[$i]}")" \
		"frozen_us=$(median <<<"${frozen[$i]}") runs_fds_us=${fds[$i]}"
	if [[ $i -gt 0 ]]; then
		if cmp -s "$work/files.0.img" "$work/files.$i.img"; then
			echo "dump-conns files.img of $criu: the same as $1's"
		else
			echo "dump-conns files.img of $criu: DIFFERS from $1's"
		fi
	fi
	i=$((i + 1))
done
