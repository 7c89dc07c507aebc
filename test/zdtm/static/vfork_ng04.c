/* vfork_ng04: vfork_ng02 with the main thread in vfork() and the second thread counting. */
#define VFORK_LEADER 1
#include "vfork_ng02.c"
