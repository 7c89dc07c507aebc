/*
 * Arrays that grow by doubling, for the tables a dump or a restore fills one
 * entry at a time.
 */
#ifndef CRIU_NG_ARRAY_H
#define CRIU_NG_ARRAY_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/* Room for entry @nr in *@v (@size bytes each, @cap of them, @first at the start). 0 or -ENOMEM. */
static inline int array_reserve(void **v, size_t *cap, size_t nr, size_t size, size_t first)
{
	size_t ncap;
	void *nv;

	if (nr < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : first;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

#define ARRAY_RESERVE(arr, nr, cap, first) array_reserve((void **)&(arr), &(cap), (nr), sizeof(*(arr)), (first))

#endif /* CRIU_NG_ARRAY_H */
