/*
 * criu restore: system calls and memory writes in the process being restored
 * (see include/restore-ctl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "restore-ctl.h"

#define LOG_PREFIX "restore: "
#include "log.h"

int restore_ctl_init(struct restore_ctl *ctl, pid_t pid, uint64_t syscall_ip)
{
	char path[64];

	memset(ctl, 0, sizeof(*ctl));
	ctl->pid = pid;
	ctl->tgid = pid;
	ctl->inj.pid = pid;
	ctl->inj.syscall_ip = syscall_ip;
	ctl->page_size = (size_t)sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	ctl->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (ctl->mem_fd < 0) {
		pr_perror("Can't open %s", path);
		return -errno;
	}
	return 0;
}

void restore_ctl_fini(struct restore_ctl *ctl)
{
	if (ctl->mem_fd >= 0)
		close(ctl->mem_fd);
	ctl->mem_fd = -1;
}

long restore_ctl_syscall(struct restore_ctl *ctl, long nr, unsigned int nargs, ...)
{
	uint64_t args[6] = { 0 };
	va_list ap;
	long result;
	int ret;

	if (nargs > 6)
		return -EINVAL;
	va_start(ap, nargs);
	for (unsigned int i = 0; i < nargs; i++)
		args[i] = va_arg(ap, uint64_t);
	va_end(ap);
	ret = compel_inject_syscall(&ctl->inj, nr, args, nargs, &result);
	if (ret == -EINTR) {
		pr_err("process %d got signal %d at %#llx while running syscall %ld for the restore\n", ctl->pid,
		       ctl->inj.stop_signal, (unsigned long long)ctl->inj.stop_ip, nr);
		return ret;
	}
	if (ret) {
		pr_err("can't run syscall %ld in process %d: %s\n", nr, ctl->pid, strerror(-ret));
		return ret;
	}
	return result;
}

int restore_ctl_write(struct restore_ctl *ctl, uint64_t addr, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(ctl->mem_fd, (const char *)buf + done, len - done, (off_t)(addr + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			pr_err("can't write %zu bytes at %#llx of process %d: %s\n", len - done,
			       (unsigned long long)(addr + done), ctl->pid, strerror(err));
			return -err;
		}
		done += (size_t)n;
	}
	return 0;
}

int restore_ctl_put_data(struct restore_ctl *ctl, size_t off, const void *buf, size_t len, uint64_t *addr)
{
	if (!ctl->tramp || off < TRAMP_DATA || off + len > ctl->page_size || off + len < off) {
		pr_err("no room for %zu bytes at offset %zu of the trampoline\n", len, off);
		return -ENOSPC;
	}
	*addr = ctl->tramp + off;
	return restore_ctl_write(ctl, *addr, buf, len);
}
