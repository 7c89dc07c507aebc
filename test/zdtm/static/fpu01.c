/*
 * fpu01: fpu00 in several threads at once, each with values of its own.
 */
#define FPU_THREADS 4
#include "fpu00.c"
