/*
 * dump-abandon.c: a dump that is given up. Established IPv4 connections with data queued both ways
 * are locked and dumped (repair on, queues read), then, without closing them, repair is turned
 * off again with libsoccr_repair_off_batch() (libsoccr_repair_off() in the single-socket pass),
 * and unlocked: the connections must carry on as if nothing happened: every byte in both
 * directions exactly once, repair mode off, then a fresh round trip. Passes: io_uring batch,
 * syscall batch, single-socket calls; the same connections each time.
 */
#include <errno.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "connfix.h"
#include "soccr-cycle.h"
#include "testutil.h"

#define NR_CONNS 12

struct abandon_pass {
	uint32_t ctx_flags;
	unsigned int cycle_flags;
	const char *name;
};

static const struct abandon_pass passes[] = {
	{ 0, 0, "batch, io_uring if the kernel has it" },
	{ SOCCR_CTX_NO_URING, 0, "batch, plain syscalls" },
	{ 0, CYCLE_SINGLE, "single-socket calls" },
};

static int check_repair_off(struct connfix *fix)
{
	uint32_t i;

	for (i = 0; i < connfix_count(fix); i++) {
		int repair = -1;
		socklen_t len = sizeof(repair);

		if (getsockopt(connfix_fd(fix, i), IPPROTO_TCP, TCP_REPAIR, &repair, &len) < 0) {
			test_msg("conn %u: TCP_REPAIR: %s", i, strerror(errno));
			return -errno;
		}
		if (repair) {
			test_msg("conn %u: still in repair mode (%d)", i, repair);
			return -EPROTO;
		}
	}
	return 0;
}

static int abandon_once(struct connfix *fix, const struct abandon_pass *p)
{
	struct libsoccr_ctx *ctx;
	struct cycle cy;
	int ret;

	ret = test_ctx_create(p->ctx_flags, 0, &ctx);
	if (ret)
		return ret;
	ret = cycle_init(&cy, ctx, fix, 0, connfix_count(fix), p->cycle_flags);
	if (ret)
		goto out_destroy_ctx;
	ret = connfix_queue_start(fix, CONNFIX_PEER_BYTES, CONNFIX_SENT_BYTES);
	ret = ret ?: connfix_lock(fix, NETLOCK_NFTABLES);
	ret = ret ?: connfix_queue_finish(fix, CONNFIX_UNSENT_BYTES);
	ret = ret ?: connfix_check_queues(fix);
	ret = ret ?: cycle_dump(&cy);
	ret = ret ?: cycle_check_dump(&cy, TCP_ESTABLISHED);
	ret = ret ?: cycle_abandon(&cy);
	ret = ret ?: check_repair_off(fix);
	ret = ret ?: connfix_unlock(fix);
	ret = ret ?: connfix_verify(fix);
	test_msg("%s (%s): %s", p->name, cycle_backend(ctx), ret ? strerror(-ret) : "connections intact");
	cycle_fini(&cy);
out_destroy_ctx:
	libsoccr_ctx_destroy(ctx);
	return ret;
}

int main(int argc, char **argv)
{
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = NR_CONNS };
	struct connfix *fix;
	unsigned int k;
	int ret;

	(void)argc;
	test_init(argv[0]);
	ret = test_env_setup();
	if (ret)
		return ret;
	ret = connfix_create(&fo, &fix);
	if (ret)
		return test_fail("cannot make the connections");
	for (k = 0; k < sizeof(passes) / sizeof(passes[0]) && !ret; k++)
		ret = abandon_once(fix, &passes[k]);
	connfix_destroy(fix);
	if (ret)
		return test_fail("an abandoned dump broke the connections: %s", strerror(-ret));
	test_msg("PASS");
	return TEST_PASS;
}
