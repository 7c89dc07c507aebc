/*
 * vfork_ng05: vfork_ng00 with P and C as nobody (uid and gid 65534, no
 * groups). P's restored credentials can't choose C's pid (clone3's set_tid
 * needs CAP_CHECKPOINT_RESTORE), so the restore makes it the next pid through
 * ns_last_pid, and C keeps the credentials it is made with, which are its own.
 */
#define VFORK_UID 65534
#include "vfork_ng00.c"
