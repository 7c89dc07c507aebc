/*
 * criu restore: the files criu holds for a process before its fork (see
 * include/restore-fds.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "restore-fds.h"
#include "sk-unix.h"

int restore_fds_make_each(const struct restore_image *ri, struct restore_fds *fds, uint32_t type,
			  int (*make)(const FileEntry *fe))
{
	for (size_t i = 0; i < ri->nr_files; i++) {
		/* fds[i] set: made for an earlier process of the tree (restore_fds.given). */
		if (ri->files[i]->type != type || !restore_fds_wanted(ri, fds, i) || fds->fds[i] >= 0)
			continue;
		fds->fds[i] = make(ri->files[i]);
		if (fds->fds[i] < 0) {
			int ret = fds->fds[i];

			fds->fds[i] = -1;
			return ret;
		}
	}
	return 0;
}

/* settle_fds() puts a file's source at its lowest dumped fd, with that fd's FD_CLOEXEC. */
int restore_fds_targets(const struct restore_image *ri, int **firstp, uint32_t **flagsp)
{
	int *first = malloc((ri->nr_files ? ri->nr_files : 1) * sizeof(*first));
	uint32_t *flags = calloc(ri->nr_files ? ri->nr_files : 1, sizeof(*flags));

	if (!first || !flags) {
		free(first);
		free(flags);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ri->nr_files; i++)
		first[i] = -1;
	for (size_t i = 0; i < ri->nr_fdinfo; i++) {
		ssize_t f = restore_images_file_idx(ri, ri->fdinfo[i]->id);

		if (f >= 0 && first[f] < 0) {
			first[f] = (int)ri->fdinfo[i]->fd;
			flags[f] = ri->fdinfo[i]->flags;
		}
	}
	*firstp = first;
	*flagsp = flags;
	return 0;
}

int restore_fds_get(const struct restore_fds *fds, const struct restore_image *ri, uint32_t id)
{
	ssize_t i = restore_images_file_idx(ri, id);

	return i < 0 || (size_t)i >= fds->nr ? -1 : fds->fds[i];
}

bool restore_fds_needed(const struct restore_image *ri, size_t i)
{
	return ri->file_fds[i] || restore_image_maps_file(ri, ri->files[i]->id);
}

bool restore_fds_wanted(const struct restore_image *ri, const struct restore_fds *fds, size_t i)
{
	return ri->file_fds[i] || restore_fds_in_flight(ri, fds, i);
}

bool restore_fds_in_flight(const struct restore_image *ri, const struct restore_fds *fds, size_t i)
{
	return !fds->given && unix_sk_in_flight(ri, i);
}
