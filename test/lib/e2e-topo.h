/*
 * e2e-topo.h: the three network namespaces of a host-to-host migration test: host A and host B,
 * and a third (the "wire") that holds a bridge and the clients, with a veth pair from the bridge
 * to each host. The service address S starts on host A; e2e_topo_move() moves it to host B and
 * makes the wire forget where it was (its neighbour entry for S is deleted).
 *
 *   wire (br0 10.199.0.1/24, the clients) --veth-- A (eth0 10.199.0.2, S = 10.199.0.100)
 *                                         --veth-- B (eth0 10.199.0.3)
 *
 * The namespaces are named "e2e-mig-PID-{a,b,w}" (PID: ours), so runs side by side do not meet;
 * the addresses exist only inside them. Processes are put into a namespace with setns() on its
 * /run/netns path, never `ip netns exec` (which also makes a new mount namespace, and criu
 * refuses a process whose mount namespace is not its own).
 *
 * e2e_topo_create() also removes namespaces of this naming left by runs whose process is gone
 * (killed before they could clean up), and arranges that SIGINT, SIGTERM and SIGHUP delete ours
 * (and kill the process registered with e2e_topo_watch_pid()) before the process exits.
 */
#ifndef TEST_LIB_E2E_TOPO_H
#define TEST_LIB_E2E_TOPO_H

#include <limits.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/types.h>

struct mnl_socket;

#ifndef __must_check
#define __must_check __attribute__((warn_unused_result))
#endif

enum e2e_host {
	E2E_HOST_A,
	E2E_HOST_B,
	E2E_WIRE,
	E2E_NR_HOSTS
};

#define E2E_SERVICE_ADDR "10.199.0.100"
#define E2E_CLIENT_ADDR "10.199.0.1"

struct e2e_topo {
	char name[E2E_NR_HOSTS][32];
	char path[E2E_NR_HOSTS][48]; /* /run/netns/NAME */
	int made[E2E_NR_HOSTS];
	int self_ns;			     /* our own network namespace, to go back to */
	enum e2e_host service_on;	     /* where S is */
	struct mnl_socket *nl[E2E_NR_HOSTS]; /* rtnetlink, one in each namespace: the move is 3 messages */
	unsigned int ifindex[E2E_NR_HOSTS];  /* eth0 on the hosts, br0 on the wire */
	uint32_t nl_seq;
	struct in_addr service; /* S */
};

int e2e_topo_create(struct e2e_topo *t) __must_check;
/* Kills the watched process if any, goes back to our namespace, deletes the three. */
void e2e_topo_destroy(struct e2e_topo *t);
/*
 * Deletes namespace @h (as `ip netns del`): it goes away once no process holds it, and with it
 * its end of the veth to the wire and so the wire's end too. 0 or -errno.
 */
int e2e_topo_remove(struct e2e_topo *t, enum e2e_host h) __must_check;
/* Move this process (single-threaded) into namespace @h, or back to its own (@h == E2E_NR_HOSTS). */
int e2e_topo_enter(struct e2e_topo *t, enum e2e_host h) __must_check;
/*
 * S from its host to @to, then the wire's neighbour entry for S deleted: three rtnetlink messages
 * on sockets opened beforehand, so the move costs what it would on real hosts, not three `ip` runs.
 */
int e2e_topo_move(struct e2e_topo *t, enum e2e_host to) __must_check;
/*
 * Host @h made to drop every packet under the network lock that `criu restore` of process @pid
 * looks for (@mode as --network-lock: "nftables", "iptables" or "skip", which takes none), as
 * an operator prepares a destination host: between the moment it takes S and the moment criu
 * restore has rebuilt the connections, a client's packet (a delayed ACK, a retransmission)
 * would otherwise meet no socket there and be answered with a reset that kills its connection.
 * criu restore finds the lock held and lifts it once the process runs. Taken before the dump:
 * host B carries no traffic until it holds S, so it costs the migration nothing.
 */
int e2e_topo_prelock(struct e2e_topo *t, enum e2e_host h, const char *mode, pid_t pid) __must_check;
/* The process a signal must kill before the namespaces go (the server), or 0. */
void e2e_topo_watch_pid(pid_t pid);

/*
 * Start @argv (argv[0] a path) in namespace @h, in a session of its own (criu dumps it alone), with
 * stdin /dev/null, stdout and stderr appended to @out, no other fd but, with @ready, a pipe as fd
 * 3 (then wait until the program closes it, as the e2e server does once it listens). It is the
 * process the signal handler kills. 0 with *@pid, or -errno (-ECHILD: it died at once).
 */
int e2e_topo_spawn(struct e2e_topo *t, enum e2e_host h, char *const argv[], const char *out, int ready,
		   pid_t *pid) __must_check;

#endif /* TEST_LIB_E2E_TOPO_H */
