/*
 * The table of fd kinds (see include/fd-kind.h): one row per kind of open
 * file criu dumps and restores.
 */
#include <stddef.h>

#include "eventfd.h"
#include "eventpoll.h"
#include "fd-kind.h"
#include "inotify.h"
#include "pipes.h"
#include "memfd.h"
#include "nsfile.h"
#include "pty.h"
#include "regular.h"
#include "signalfd.h"
#include "sk-inet.h"
#include "sk-netlink.h"
#include "sk-unix.h"
#include "timerfd.h"

const struct fd_kind fd_kinds[FD_KIND_NR] = {
	[FD_KIND_EVENTPOLL] = {
		.name = "an epoll instance",
		.type = FD_TYPES__EVENTPOLL,
		.flags = FD_KIND_SETTLE,
		.match = epoll_match,
		.dump = epoll_dump,
		.finish = epoll_check_targets,
		.write_files = epoll_write_files,
		.dump_free = epoll_dump_free,
		.check_entry = epoll_check_entry,
		.load = epoll_load,
		.load_free = epoll_load_free,
		.open = epoll_open,
		.install = epoll_install,
	},
	[FD_KIND_EVENTFD] = {
		.name = "an eventfd",
		.type = FD_TYPES__EVENTFD,
		.flags = FD_KIND_SETTLE,
		.match = eventfd_match,
		.dump = eventfd_dump,
		.write_files = eventfd_write_files,
		.dump_free = eventfd_dump_free,
		.check_entry = eventfd_check_entry,
		.open = eventfd_open,
	},
	[FD_KIND_TIMERFD] = {
		.name = "a timerfd",
		.type = FD_TYPES__TIMERFD,
		.flags = FD_KIND_SETTLE,
		.match = timerfd_match,
		.dump = timerfd_dump,
		.write_files = timerfd_write_files,
		.dump_free = timerfd_dump_free,
		.check_entry = timerfd_check_entry,
		.open = timerfd_open,
	},
	[FD_KIND_SIGNALFD] = {
		.name = "a signalfd",
		.type = FD_TYPES__SIGNALFD,
		.flags = FD_KIND_SETTLE,
		.match = signalfd_match,
		.dump = signalfd_dump,
		.write_files = signalfd_write_files,
		.dump_free = signalfd_dump_free,
		.check_entry = signalfd_check_entry,
		.open = signalfd_open,
	},
	[FD_KIND_INOTIFY] = {
		.name = "an inotify instance",
		.type = FD_TYPES__INOTIFY,
		.flags = FD_KIND_SETTLE,
		.match = inotify_match,
		.dump = inotify_dump,
		.write_files = inotify_write_files,
		.dump_free = inotify_dump_free,
		.check_entry = inotify_check_entry,
		.open = inotify_open,
	},
	[FD_KIND_PIPE] = {
		.name = "a pipe",
		.type = FD_TYPES__PIPE,
		.flags = FD_KIND_COPY | FD_KIND_SETTLE | FD_KIND_TREE,
		.match = pipe_match,
		.dump = pipe_dump,
		.write_files = pipe_write_files,
		.write_images = pipe_write_images,
		.dump_free = pipe_dump_free,
		.check_entry = pipe_check_entry,
		.load = pipe_load,
		.load_free = pipe_load_free,
		.open = pipe_open,
	},
	/* Its path is a REG entry of files-reg.c; its queued bytes are kept with the pipes'. */
	[FD_KIND_FIFO] = {
		.name = "a FIFO",
		.type = FD_TYPES__FIFO,
		.flags = FD_KIND_COPY | FD_KIND_SETTLE | FD_KIND_TREE,
		.match = fifo_match,
		.dump = fifo_dump,
		.write_files = fifo_write_files,
		.check_entry = fifo_check_entry,
		.check_restore = fifo_check_restore,
		.open = fifo_open,
	},
	/* Made once per memfd (contents, seals) for the tree's first process; mappings share it. */
	[FD_KIND_MEMFD] = {
		.name = "a memfd",
		.type = FD_TYPES__MEMFD,
		.flags = FD_KIND_COPY | FD_KIND_SETTLE | FD_KIND_TREE,
		.match = memfd_match,
		.dump = memfd_dump,
		.write_files = memfd_write_files,
		.write_images = memfd_write_images,
		.dump_free = memfd_dump_free,
		.check_entry = memfd_check_entry,
		.load = memfd_load,
		.load_free = memfd_load_free,
		.open = memfd_open,
	},
	/* /proc/self/ns/KIND opened by criu, in the namespaces the tree is restored in. */
	[FD_KIND_NS] = {
		.name = "a namespace file",
		.type = FD_TYPES__NS,
		.flags = FD_KIND_SETTLE | FD_KIND_OPEN_PATH,
		.match = nsfile_match,
		.dump = nsfile_dump,
		.write_files = nsfile_write_files,
		.dump_free = nsfile_dump_free,
		.check_entry = nsfile_check_entry,
		.open = nsfile_open,
	},
	/* Opened by restore-fork.c above the dumped fd numbers (a file may be mapped, the cwd or the exe too). */
	[FD_KIND_REG] = {
		.name = "a regular file",
		.type = FD_TYPES__REG,
		.flags = FD_KIND_COPY | FD_KIND_OPEN_PATH,
		.match = reg_match,
		.dump = reg_dump,
		.write_images = reg_write_ghosts,
		.check_entry = reg_check_entry,
	},
	/* Pty pairs of the tree made by pty.c; a shell job's terminal attached by restore-tty.c (--shell-job). */
	[FD_KIND_TTY] = {
		.name = "a terminal",
		.type = FD_TYPES__TTY,
		.flags = FD_KIND_COPY | FD_KIND_SETTLE | FD_KIND_TREE,
		.match = tty_match,
		.dump = tty_dump,
		.finish = tty_finish,
		.write_files = tty_write_all,
		.write_images = tty_write_images,
		.dump_free = tty_free_all,
		.load = pty_load,
		.load_free = pty_load_free,
		.open = pty_open,
	},
	/* The TCP connections among them are rebuilt together by sk-tcp.c. */
	[FD_KIND_INETSK] = {
		.name = "an inet socket",
		.type = FD_TYPES__INETSK,
		.flags = FD_KIND_COPY | FD_KIND_SETTLE | FD_KIND_TREE | FD_KIND_ONE_FILE,
		.match = inet_sk_match,
		.dump = inet_sk_dump,
		.write_files = inet_sk_write_all,
		.dump_free = inet_sk_free_all,
		.check_entry = inet_sk_check_entry,
		.take_entry = inet_sk_take_entry,
		.load = inet_sk_load,
		.load_free = inet_sk_load_free,
		.open = inet_sk_open_all,
	},
	/* Bound, joined to its groups and connected again; refused with messages queued. */
	[FD_KIND_NETLINKSK] = {
		.name = "a netlink socket",
		.type = FD_TYPES__NETLINKSK,
		.flags = FD_KIND_COPY | FD_KIND_SETTLE | FD_KIND_ONE_FILE,
		.match = netlink_sk_match,
		.dump = netlink_sk_dump,
		.write_files = netlink_sk_write_files,
		.dump_free = netlink_sk_dump_free,
		.check_entry = netlink_sk_check_entry,
		.open = netlink_sk_open,
	},
	/* Both ends of a connection made at once, queues refilled, before the fork. */
	[FD_KIND_UNIXSK] = {
		.name = "a unix socket",
		.type = FD_TYPES__UNIXSK,
		.flags = FD_KIND_COPY | FD_KIND_SETTLE | FD_KIND_TREE | FD_KIND_ONE_FILE,
		.match = unix_sk_match,
		.dump = unix_sk_dump,
		.finish = unix_sk_finish,
		.write_files = unix_sk_write_files,
		.write_images = unix_sk_write_queues,
		.dump_free = unix_sk_dump_free,
		.check_entry = unix_sk_check_entry,
		.check_restore = unix_sk_check_restore,
		.load = unix_sk_load,
		.load_free = unix_sk_load_free,
		.open = unix_sk_open,
	},
};

const struct fd_kind *fd_kind_of_type(uint32_t type)
{
	for (size_t i = 0; i < FD_KIND_NR; i++)
		if (fd_kinds[i].type == type)
			return &fd_kinds[i];
	return NULL;
}

/* Sockets, epolls, eventfds, ... are made by criu itself: settled at their fd numbers (settle_fds() in restore-fork.c). */
bool restore_fds_made_here(const FileEntry *fe)
{
	const struct fd_kind *k = fd_kind_of_type(fe->type);

	return k && (k->flags & FD_KIND_SETTLE);
}
