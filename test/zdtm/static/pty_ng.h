/*
 * What the pty_ng tests share: waiting for bytes to reach one end of a pair.
 */
#ifndef ZDTM_PTY_NG_H
#define ZDTM_PTY_NG_H

#include <sys/ioctl.h>
#include <unistd.h>

/* Polls until @fd has exactly @want bytes to read (FIONREAD), 5 s at most: 0, or -1 (more, or none in time). */
static inline int wait_queued(int fd, int want)
{
	int n = -1;

	for (int tries = 0; tries < 5000; tries++) {
		if (ioctl(fd, FIONREAD, &n))
			return -1;
		if (n >= want)
			return n == want ? 0 : -1;
		usleep(1000);
	}
	return -1;
}

#endif /* ZDTM_PTY_NG_H */
