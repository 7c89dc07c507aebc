/*
 * file_locks01: file_locks00 checkpointed without --file-locks. The dump must
 * refuse the process holding locks and fail (the .desc says crfail), and the
 * test runs on with every lock held as before, as file_locks00 checks.
 */
#include "file_locks00.c"
