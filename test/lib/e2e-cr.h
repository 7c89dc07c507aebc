/*
 * e2e-cr.h: the two criu steps of a host-to-host migration, as the e2e tests run them:
 *
 *   criu dump -t PID -D IMG --tcp-established --display-stats -v4 -o dump.log --network-lock L
 *             [--tcp-images criu]
 *   criu restore -D IMG --tcp-established --restore-detached --pidfile F --display-stats -v4
 *             -o restore.log --network-lock L [--external ARG]
 *
 * each in the network namespace of its host, its stdout and stderr in DIR/dump.out and
 * DIR/restore.out (the log in IMG), timed, with its peak RSS. The dumped process must be a child
 * of the caller (it is reaped after criu kills it); the restored one becomes the caller's child
 * when criu exits (the caller is a child subreaper).
 */
#ifndef TEST_LIB_E2E_CR_H
#define TEST_LIB_E2E_CR_H

#include <limits.h>
#include <sys/types.h>

#ifndef __must_check
#define __must_check __attribute__((warn_unused_result))
#endif

struct e2e_cr {
	/* set by the caller */
	const char *dir;      /* work directory: the .out files and the pidfile */
	const char *img;      /* images directory */
	const char *lock;     /* --network-lock; NULL: nftables */
	int criu_images;      /* --tcp-images criu on the dump */
	const char *external; /* --external ARG on the restore, or NULL */
	int verbose;	      /* print each step's --display-stats */
	/* set by the steps */
	char criu[PATH_MAX];
	double dump_ms, restore_ms, frozen_ms;
	long dump_rss_kib, restore_rss_kib;
	char why[1024]; /* what failed, or what criu refused */
};

/* Finds the criu binary of this tree. */
int e2e_cr_init(struct e2e_cr *cr) __must_check;
/*
 * Dump @pid from namespace @netns (a path), then reap it (criu kills it). 0, -EOPNOTSUPP when criu
 * refused something it does not support yet (cr->why has its words), or -errno (cr->why).
 */
int e2e_cr_dump(struct e2e_cr *cr, const char *netns, pid_t pid) __must_check;
/* Restore in namespace @netns: *@pid, the restored process, running. Returns as e2e_cr_dump(). */
int e2e_cr_restore(struct e2e_cr *cr, const char *netns, pid_t *pid) __must_check;

#endif /* TEST_LIB_E2E_CR_H */
