/*
 * vfork_ng06: vfork_ng00 with a vfork() child that leads a session of its own
 * (setsid(), as posix_spawn()'s POSIX_SPAWN_SETSID does before exec) and then
 * waits. The restore makes the child with its parent's session, so the dump
 * refuses it (crfail) before it ends the vfork(): the child is not killed,
 * and once released the parent's vfork() returns its pid as usual.
 */
#define VFORK_NG_SETSID 1
#include "vfork_ng00.c"
