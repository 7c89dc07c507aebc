/*
 * libFuzzer entry points for the image readers of criu restore (`make fuzz`,
 * scripts/fuzz.sh). The target comes from the environment, since libFuzzer owns
 * the command line: FUZZ_TARGET names it ("SET/FILE", see harness.h) and
 * FUZZ_IMAGES the directory of stored dumps (default test/fuzz/images).
 *
 * libFuzzer calls these from one thread; the context below is set once by
 * LLVMFuzzerInitialize() and only read afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_ctx fuzz_ctx = { .dirfd = -1 };

static void fuzz_fini(void)
{
	fuzz_teardown(&fuzz_ctx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *images = getenv("FUZZ_IMAGES"), *target = getenv("FUZZ_TARGET");
	int ret;

	(void)argc;
	(void)argv;
	if (!target) {
		fprintf(stderr, "fuzz-images: set FUZZ_TARGET to SET/FILE (an image of test/fuzz/images)\n");
		exit(2);
	}
	ret = fuzz_setup(&fuzz_ctx, images ? images : "test/fuzz/images", target);
	if (ret) {
		fprintf(stderr, "fuzz-images: can't set up %s: %s\n", target, strerror(-ret));
		exit(2);
	}
	atexit(fuzz_fini);
	/* Refusals are what most inputs get: keep only the errors, and off the terminal. */
	if (log_init(-1, getenv("FUZZ_LOG") ? getenv("FUZZ_LOG") : "/dev/null", LOG_ERROR))
		exit(2);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(&fuzz_ctx, data, size);
	return 0;
}
