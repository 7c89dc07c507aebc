/*
 * criu restore, step one: read every image of the dump and check it before
 * anything is touched. A restore_image holds the decoded entries of one
 * process and its threads (pstree, core of each thread, mm, fs, the regular files it refers
 * to, its fds, the pagemap) with their cross references checked: every file id
 * names a file, every VMA is of a kind the restore handles, every fd is a
 * regular file or a terminal (restore-tty.h), the pagemap
 * lies inside private VMAs and pages-ID.img holds exactly the pages it lists
 * (shared anonymous objects: restore-shmem.h).
 */
#ifndef CRIU_NG_RESTORE_IMAGES_H
#define CRIU_NG_RESTORE_IMAGES_H

#include "restore-image.h"

/*
 * Reads and checks the images in @dirfd: one restore_image per process of
 * pstree.img, in its order (parents first), into *@imgs (*@nr of them, to be
 * freed each with restore_images_free() and the array with free(), also after
 * a failure). A zombie's image holds only its pstree entry and core (task_core
 * with its exit status). Every problem is logged with the image's name;
 * returns 0 or -errno (-EOPNOTSUPP for something valid that the restore
 * doesn't handle yet).
 */
__attribute__((warn_unused_result)) int restore_images_load(int dirfd, struct restore_image **imgs, size_t *nr);
void restore_images_free(struct restore_image *img);

#endif /* CRIU_NG_RESTORE_IMAGES_H */
