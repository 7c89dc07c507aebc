/*
 * established-v4.c: a few established IPv4 connections (127.1.x.y -> 127.0.0.1..8), with data
 * queued both ways (unread receive queue; sent-but-unacknowledged and unsent send queue), locked,
 * dumped, closed, restored, repair off, unlocked, then verified byte by byte plus a round trip;
 * five passes on the same connections: io_uring and plain syscalls, one worker and one per CPU,
 * addresses read from the sockets or given by the caller. The dumped queue lengths are checked
 * against SIOCINQ, SIOCOUTQ and SIOCOUTQNSD.
 */
#include "scenario.h"
#include "testutil.h"

int main(int argc, char **argv)
{
	struct scenario_opts opts = {
		.family = CONNFIX_IPV4,
		.n = 16,
		.passes = scenario_all_passes,
		.nr_passes = scenario_nr_all_passes,
	};

	(void)argc;
	test_init(argv[0]);
	return scenario_run(&opts);
}
