/*
 * vfork_ng02 (crfail): vfork_ng00 with a second thread in the process whose
 * main thread is blocked in vfork(). The restore makes a vfork() again only
 * in a process with one thread, so the dump must refuse it, naming both, and
 * leave the tree running: after SIGTERM the process is still in vfork(), and
 * its child, released, ends it as in vfork_ng00.
 */
#define VFORK_EXIT 7
#define VFORK_THREAD 1
#include "vfork_ng00.c"
