/*
 * zdtmtst-internal.h: what the library's files share with each other and not
 * with the tests.
 */
#ifndef ZDTMTST_INTERNAL_H
#define ZDTMTST_INTERNAL_H

#include "zdtmtst.h"

/* Parses argv with lib_opts (a list) and every TEST_OPTION(); 0 or -EINVAL. */
int test_opts_parse(int argc, char **argv, struct test_opt *lib_opts);
/* Installs the SIGTERM handler test_waitsig() and test_go() rely on. */
int test_signals_init(void);

#endif /* ZDTMTST_INTERNAL_H */
