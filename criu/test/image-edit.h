/*
 * Editing a dump's images in the tests that break them on purpose: a pagemap image
 * rewritten entry by entry.
 */
#ifndef CRIU_NG_TEST_IMAGE_EDIT_H
#define CRIU_NG_TEST_IMAGE_EDIT_H

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "image.h"

#include "pagemap.pb-c.h"

#define TEST_PAGEMAP_MAX 4096 /* entries of a pagemap the tests rewrite */

/* Rewrites pagemap-@pid.img in @dir, each run (@i from 0) through @edit. Returns 0 or -errno. */
static inline int test_edit_pagemap(const char *dir, pid_t pid, void (*edit)(PagemapEntry *pe, size_t i))
{
	struct cr_img *in, *out;
	PagemapHead *head = NULL;
	void *msg[TEST_PAGEMAP_MAX];
	size_t n = 0;
	int dirfd, ret;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	ret = img_open(&in, dirfd, IMG_READ, CR_IMG_PAGEMAP, (unsigned int)pid);
	if (!ret) {
		ret = img_read_entry_as(in, &pagemap_head__descriptor, (void **)&head);
		while (!ret && n < TEST_PAGEMAP_MAX && !(ret = img_read_entry(in, &msg[n])) && msg[n])
			n++;
		img_close(in);
	}
	for (size_t i = 0; !ret && i < n; i++)
		edit(msg[i], i);
	if (!ret && head && n) {
		ret = img_open(&out, dirfd, IMG_WRITE, CR_IMG_PAGEMAP, (unsigned int)pid);
		if (!ret) {
			ret = img_write_entry(out, head);
			for (size_t i = 0; !ret && i < n; i++)
				ret = img_write_entry(out, msg[i]);
			ret = img_close(out) ?: ret;
		}
	}
	for (size_t i = 0; i < n; i++)
		img_free_entry(msg[i]);
	img_free_entry(head);
	close(dirfd);
	return ret;
}

#endif /* CRIU_NG_TEST_IMAGE_EDIT_H */
