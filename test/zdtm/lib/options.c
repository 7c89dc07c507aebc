/*
 * options.c: the test's command line. The library's own options (--pidfile,
 * --outfile) and the ones a test declares with TEST_OPTION() are all given as
 * --name=value or --name value; a bool option may be given bare.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zdtmtst.h"
#include "zdtmtst-internal.h"

/* Filled by constructors before main() runs; read-only afterwards. */
static struct test_opt *test_opts;

void test_opt_register(struct test_opt *opt)
{
	opt->next = test_opts;
	test_opts = opt;
}

static void opts_usage(const char *prog)
{
	fprintf(stderr, "usage: %s --pidfile=FILE --outfile=FILE [options]\n", prog);
	for (struct test_opt *opt = test_opts; opt; opt = opt->next)
		fprintf(stderr, "  --%s%s\t%s%s\n", opt->name, opt->type == TEST_OPT_BOOL ? "" : "=VALUE", opt->doc,
			opt->required ? " (required)" : "");
}

static int opt_set(struct test_opt *opt, const char *val)
{
	char *end;
	long num;

	switch (opt->type) {
	case TEST_OPT_STRING:
		*(const char **)opt->value = val;
		break;
	case TEST_OPT_INT:
		errno = 0;
		num = strtol(val, &end, 0);
		if (errno || *end || end == val || num < -2147483647L - 1 || num > 2147483647L) {
			fprintf(stderr, "option --%s: '%s' is not an integer\n", opt->name, val);
			return -EINVAL;
		}
		*(int *)opt->value = (int)num;
		break;
	case TEST_OPT_BOOL:
		if (!val || !strcmp(val, "1") || !strcmp(val, "yes") || !strcmp(val, "true"))
			*(bool *)opt->value = true;
		else if (!strcmp(val, "0") || !strcmp(val, "no") || !strcmp(val, "false"))
			*(bool *)opt->value = false;
		else {
			fprintf(stderr, "option --%s: '%s' is not a boolean\n", opt->name, val);
			return -EINVAL;
		}
		break;
	}
	opt->seen = true;
	return 0;
}

/* Parses one "--name[=value]" at argv[*i], consuming the next word if needed. */
static int opt_parse_one(int argc, char **argv, int *i, struct test_opt *lib_opts)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const char *val = eq ? eq + 1 : NULL;

	for (int pass = 0; pass < 2; pass++) {
		for (struct test_opt *opt = pass ? test_opts : lib_opts; opt; opt = opt->next) {
			if (strlen(opt->name) != len || strncmp(opt->name, arg, len))
				continue;
			if (!val && opt->type != TEST_OPT_BOOL) {
				if (*i + 1 >= argc) {
					fprintf(stderr, "option --%s needs a value\n", opt->name);
					return -EINVAL;
				}
				val = argv[++*i];
			}
			return opt_set(opt, val);
		}
	}
	fprintf(stderr, "unknown option %s\n", argv[*i]);
	return -EINVAL;
}

int test_opts_parse(int argc, char **argv, struct test_opt *lib_opts)
{
	for (int i = 1; i < argc; i++) {
		int ret;

		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			opts_usage(argv[0]);
			exit(0);
		}
		if (strncmp(argv[i], "--", 2)) {
			fprintf(stderr, "unexpected argument '%s'\n", argv[i]);
			opts_usage(argv[0]);
			return -EINVAL;
		}
		ret = opt_parse_one(argc, argv, &i, lib_opts);
		if (ret) {
			opts_usage(argv[0]);
			return ret;
		}
	}
	for (struct test_opt *opt = test_opts; opt; opt = opt->next) {
		if (opt->required && !opt->seen) {
			fprintf(stderr, "option --%s is required\n", opt->name);
			return -EINVAL;
		}
	}
	return 0;
}
