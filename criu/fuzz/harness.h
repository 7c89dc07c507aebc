/*
 * The image readers of `criu restore` driven by arbitrary bytes, for the
 * coverage-guided fuzzer (fuzz-images.c, `make fuzz`) and for the test that
 * replays the inputs it found (../test/fuzz-replay.c).
 *
 * A target is one image file of one stored dump, named "SET/FILE" (for example
 * "everything00/pstree.img"): test/fuzz/images/SET holds the images of a real
 * dump. fuzz_setup() copies that set into a fresh directory; fuzz_run() puts
 * the input in place of FILE and reads every image of the set the way a restore
 * does before it touches anything (inventory, restore_images_load(), the
 * terminal check, sk_tcp_load()), then frees all of it.
 */
#ifndef CRIU_NG_FUZZ_HARNESS_H
#define CRIU_NG_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_ctx {
	char dir[128]; /* the copy of the set */
	int dirfd;
	char file[64]; /* the target's file name in it */
};

/* Copies @images/SET to a new directory for @target ("SET/FILE"). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int fuzz_setup(struct fuzz_ctx *ctx, const char *images, const char *target);

/* Reads the set with @data as the target file: 0 when every image was accepted, else -errno. */
int fuzz_run(const struct fuzz_ctx *ctx, const uint8_t *data, size_t size);

/* Removes the copy. */
void fuzz_teardown(struct fuzz_ctx *ctx);

#endif /* CRIU_NG_FUZZ_HARNESS_H */
