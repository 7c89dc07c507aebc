#define PTY_OUTSIDE_HOLDS_SLAVE 1
#include "pty_outside_ng00.c"
