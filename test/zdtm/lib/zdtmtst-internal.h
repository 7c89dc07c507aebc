/*
 * zdtmtst-internal.h: what the library's files share with each other and not
 * with the tests.
 */
#ifndef ZDTMTST_INTERNAL_H
#define ZDTMTST_INTERNAL_H

#include <sys/types.h>

#include "zdtmtst.h"

/* Parses argv with lib_opts (a list) and every TEST_OPTION(); 0 or -EINVAL. */
int test_opts_parse(int argc, char **argv, struct test_opt *lib_opts);
/* Installs the SIGTERM handler test_waitsig() and test_go() rely on. */
int test_signals_init(void);
/*
 * Before test_daemon(): tells the runner that pid is a helper of the test
 * (its pid goes on a line of PIDFILE.helpers). 0 or -errno; nothing to do
 * when the test runs without a pidfile.
 */
int test_helper_declare(pid_t pid);

#endif /* ZDTMTST_INTERNAL_H */
