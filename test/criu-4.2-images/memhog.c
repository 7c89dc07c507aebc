/* memhog: a detached process with M MiB of touched anonymous memory and T threads, for
 * timing criu dump/restore of the same workload with two criu binaries.
 * usage: memhog MIB THREADS PIDFILE & (its caller reaps it after the dump); SIGUSR1 makes it verify its memory and exit 0/1. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned char *mem;
static size_t len;
static volatile sig_atomic_t check;

static void on_usr1(int s)
{
	(void)s;
	check = 1;
}
static void *idle(void *a)
{
	(void)a;
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	len = (size_t)atol(argv[1]) << 20;
	int threads = atoi(argv[2]);
	setsid();
	close_range(3, ~0U, 0);
	int fd = open("/dev/null", O_RDWR);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t i = 0; i < len; i++)
		mem[i] = (unsigned char)(i * 2654435761u >> 13);
	for (int i = 1; i < threads; i++) {
		pthread_t t;
		pthread_create(&t, NULL, idle, NULL);
	}
	signal(SIGUSR1, on_usr1);
	FILE *f = fopen(argv[3], "w");
	fprintf(f, "%d\n", getpid());
	fclose(f);
	while (!check)
		pause();
	for (size_t i = 0; i < len; i++)
		if (mem[i] != (unsigned char)(i * 2654435761u >> 13)) {
			FILE *o = fopen("/tmp/memhog.bad", "w");
			if (o)
				fclose(o);
			_exit(1);
		}
	FILE *o = fopen("/tmp/memhog.ok", "w");
	if (o)
		fclose(o);
	_exit(0);
}
