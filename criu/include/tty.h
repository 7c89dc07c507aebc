/*
 * Terminals held by fds (the stdio of a --shell-job): one tty_info_entry per
 * terminal in tty-info.img (kind, pty index, termios, locked termios, window
 * size, session and foreground group, device), one tty_file_entry per open file
 * of it in files.img, pointing at a REG entry with the terminal's path (regf_id)
 * for restore to reopen it or reattach to its own terminal.
 */
#ifndef CRIU_NG_TTY_H
#define CRIU_NG_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "files-reg.h"

#include "tty.pb-c.h"

struct cr_img;

#define TTY_NCCS 19	       /* c_cc entries of the kernel's struct termios */
#define TTY_PTY_INDEX_MAX 1000 /* CRIU's: ids of ptys stay below those of the console, VTs and /dev/tty */

struct tty_info {
	uint32_t id;
	uint32_t type; /* TTY_TYPE__* */
	dev_t rdev;
	dev_t dev;
	uint32_t uid;
	uint32_t gid;
	uint32_t index; /* of a pty: N of /dev/pts/N */
	bool master;	/* a pty master (/dev/ptmx) */
	int copy_fd;	/* a pty's: criu's copy of the first description seen, for its queued bytes; else -1 */
	pid_t pid;	/* the first fd seen on it, for messages */
	int fd;
	bool locked;	/* a pty master's TIOCGPTLCK */
	bool exclusive; /* TIOCGEXCL */
	bool packet_mode;
	uint32_t sid;  /* session the terminal controls, 0 when none of ours */
	uint32_t pgrp; /* its foreground process group */
	struct termios termios;
	struct termios termios_locked;
	bool has_termios_locked;
	struct winsize winsize;
};

struct tty_file {
	uint32_t id;
	uint32_t info_id;
	uint32_t flags;
	uint32_t regf_id;
	struct reg_fown fown;
	pid_t pid; /* the first fd seen on it, for messages */
	int fd;
	uint32_t ctty_nr; /* /dev/tty: its holder's controlling terminal (tty_nr of /proc/PID/stat) */
};

struct tty_table {
	struct tty_info *infos;
	size_t nr_infos;
	struct tty_file *files;
	size_t nr_files;
	pid_t *pids; /* the processes whose fds were walked (tty_note_process()) */
	size_t nr_pids;
	bool shell_job; /* --shell-job: a terminal whose master is outside the tree is the job's */
};

/* What files.c knows of an fd on a terminal. */
struct tty_fd_info {
	pid_t pid;
	int fd;
	int dup_fd;   /* our copy of the description, for the ioctls */
	int *take_fd; /* where dup_fd is kept: a pty's copy is taken (set to -1 there) */
	const char *path;
	uint32_t flags;
	struct reg_fown fown;
	const struct stat *st;
};

/* True for the character devices this file records as terminals (ptys, VTs, serial, console, /dev/tty). */
bool tty_is_terminal(const struct stat *st);

/*
 * Records the terminal (once per device, once per pty end) and the open file of
 * @info; sets *@id to the file's id, given from @fr's id space (its path also
 * becomes a REG entry of @fr). Whether a pty end's peer is in the tree is
 * checked once the whole tree is walked (pty.h). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int tty_add_fd(struct tty_table *t, struct files_reg *fr,
						   const struct tty_fd_info *info, uint32_t *id);

/* Appends one TTY file_entry per open terminal file to @img (files.img). */
__attribute__((warn_unused_result)) int tty_write_files(const struct tty_table *t, struct cr_img *img);

/* Writes tty-info.img in @dirfd when there is a terminal. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int tty_write_info(const struct tty_table *t, int dirfd);

/* Records process @pid of the tree: a pty's session needs its leader in the tree. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int tty_note_process(struct tty_table *t, pid_t pid);

/* @tio's fields set from a termios_entry of tty-info.img (the others left as they are). */
void tty_termios_from_entry(struct termios *tio, const TermiosEntry *te);

void tty_table_free(struct tty_table *t);

#endif /* CRIU_NG_TTY_H */
