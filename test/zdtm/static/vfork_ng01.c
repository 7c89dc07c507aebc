/* vfork_ng01: vfork_ng00 with a vfork() child that _exit()s (code 7) instead of exec'ing. */
#define VFORK_EXIT 7
#include "vfork_ng00.c"
