/*
 * fpu02: fpu00 with the AVX-512 state (zmm0-31, k0-7), in the main thread
 * and two more.
 */
#define FPU_AVX512 1
#define FPU_THREADS 2
#include "fpu00.c"
