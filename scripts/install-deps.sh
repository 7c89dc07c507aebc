#!/bin/bash
# criu-ng: install every Debian package that the build, the tests, the
# benchmarks, the man page and the Debian packaging need. Idempotent: when all
# of them are already installed it makes no apt call at all.
#
# Usage: sudo scripts/install-deps.sh
set -euo pipefail

# One package per line, grouped by what needs it.
PACKAGES=(
	# build
	build-essential
	pkg-config
	liburing-dev
	libnftnl-dev
	libmnl-dev
	libprotobuf-c-dev
	protobuf-c-compiler
	libcap-dev
	# tests and benchmarks: real namespaces, nftables, iptables
	nftables
	iptables
	iproute2
	procps
	util-linux
	coreutils
	# test scripts and crit run Debian's /usr/bin/python3 with these modules
	python3
	python3-protobuf
	python3-yaml
	# a real server migrated by the end-to-end test e2e-nginx (single-process mode)
	nginx-light
	# real servers migrated by e2e-redis and e2e-memcached (threads, pipes, eventfds)
	redis-server
	memcached
	# man page: asciidoc -> DocBook -> troff
	asciidoc-base
	xmlto
	# lint
	shellcheck
	clang-format
	# make fuzz: clang with libFuzzer and the sanitizer runtimes (libclang_rt.fuzzer)
	clang
	libclang-rt-14-dev
	# Debian packaging (dpkg-buildpackage), checked by scripts/check-package.sh:
	# lintian, man -l and col to render the man pages
	debhelper
	dpkg-dev
	lintian
	man-db
	bsdextrautils
)

is_installed()
{
	local status

	status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
	[ "$status" = "installed" ]
}

has_candidate()
{
	local candidate

	candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }')
	[ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	if ! is_installed "$pkg"; then
		missing+=("$pkg")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

echo "install-deps: missing: ${missing[*]}"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root to install them (sudo $0)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
updated=0

apt_update()
{
	if [ "$updated" -eq 0 ]; then
		apt-get update
		updated=1
	fi
}

for pkg in "${missing[@]}"; do
	if ! has_candidate "$pkg"; then
		echo "install-deps: $pkg not in the package lists, running apt-get update"
		apt_update
		break
	fi
done

# A stale package list can name files the mirror no longer has: refresh it once and retry.
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
	if [ "$updated" -ne 0 ]; then
		echo "install-deps: apt-get install failed" >&2
		exit 1
	fi
	echo "install-deps: apt-get install failed, retrying after apt-get update"
	apt_update
	apt-get install -y --no-install-recommends "${missing[@]}"
fi

still_missing=()
for pkg in "${missing[@]}"; do
	if ! is_installed "$pkg"; then
		still_missing+=("$pkg")
	fi
done
if [ "${#still_missing[@]}" -ne 0 ]; then
	echo "install-deps: still not installed: ${still_missing[*]}" >&2
	exit 1
fi

echo "install-deps: installed ${#missing[@]} packages"
