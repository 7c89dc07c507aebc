/*
 * CRIU configuration files for the criu tool: read them and merge their options
 * in front of the command line (see include/config.h for the rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define LOG_PREFIX "config: "
#include "log.h"

struct word_list {
	char **v;
	int n;
	int cap;
};

/* Takes ownership of @s (freed here on failure). */
static int words_push(struct word_list *w, char *s)
{
	if (!s)
		return -ENOMEM;
	if (w->n == w->cap) {
		int cap = w->cap ? w->cap * 2 : 16;
		char **v = realloc(w->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return -ENOMEM;
		}
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = s;
	return 0;
}

static void words_free(struct word_list *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = w->cap = 0;
}

/* Splits @line into at most two words; quotes group, '#' starts a comment. */
static int split_line(char *line, char *words[2], int *nr, const char *path, int lineno)
{
	char *p = line;

	*nr = 0;
	while (*p) {
		char *start;

		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			break;
		if (*nr == 2) {
			pr_err("%s:%d: more than an option and one value on a line\n", path, lineno);
			return -EINVAL;
		}
		if (*p == '"' || *p == '\'') {
			char quote = *p++;

			start = p;
			p = strchr(p, quote);
			if (!p) {
				pr_err("%s:%d: unterminated quote\n", path, lineno);
				return -EINVAL;
			}
		} else {
			start = p;
			while (*p && *p != ' ' && *p != '\t' && *p != '\r')
				p++;
		}
		words[(*nr)++] = start;
		if (*p)
			*p++ = '\0';
	}
	return 0;
}

static int parse_line(struct word_list *out, char *line, const char *path, int lineno)
{
	char *words[2];
	char *opt;
	int nr, ret;

	ret = split_line(line, words, &nr, path, lineno);
	if (ret || nr == 0)
		return ret;

	if (words[0][0] == '-' && words[0][1] != '-') {
		/* A short option: value, if any, as its own word. */
		ret = words_push(out, strdup(words[0]));
		if (!ret && nr == 2)
			ret = words_push(out, strdup(words[1]));
		return ret;
	}
	if (words[0][0] == '-')
		words[0] += 2;
	if (nr == 2)
		ret = asprintf(&opt, "--%s=%s", words[0], words[1]);
	else
		ret = asprintf(&opt, "--%s", words[0]);
	if (ret < 0)
		return -ENOMEM;
	return words_push(out, opt);
}

static int read_whole_file(const char *path, bool must_exist, char **text)
{
	struct stat st;
	ssize_t n;
	char *buf;
	int fd, ret;

	*text = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		pr_perror("Can't open configuration file %s", path);
		return -errno;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		pr_perror("Can't stat configuration file %s", path);
		goto out_close;
	}
	if (st.st_size > CONFIG_MAX_SIZE) {
		pr_err("Configuration file %s is larger than %d bytes\n", path, CONFIG_MAX_SIZE);
		ret = -EFBIG;
		goto out_close;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	n = read(fd, buf, st.st_size);
	if (n < 0) {
		ret = -errno;
		pr_perror("Can't read configuration file %s", path);
		free(buf);
		goto out_close;
	}
	buf[n] = '\0';
	*text = buf;
	ret = 0;
out_close:
	close(fd);
	return ret;
}

static int read_config_file(struct word_list *out, const char *path, bool must_exist)
{
	char *text, *line, *next;
	int lineno = 0;
	int ret;

	ret = read_whole_file(path, must_exist, &text);
	if (ret || !text)
		return ret;

	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		ret = parse_line(out, line, path, ++lineno);
		if (ret)
			break;
	}
	free(text);
	return ret;
}

/* Finds --no-default-config and --config FILE on the command line before parsing it. */
static int prescan(int argc, char **argv, bool *no_default, const char **config_file)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--no-default-config")) {
			*no_default = true;
		} else if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				pr_err("option --config needs a file name\n");
				return -EINVAL;
			}
			*config_file = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			*config_file = argv[i] + 9;
		}
	}
	return 0;
}

static int collect_config_words(struct word_list *words, struct config_args *out, int argc, char **argv)
{
	const char *config_file = NULL;
	bool no_default = false;
	const char *env, *home;
	char *user_path;
	int ret;

	ret = prescan(argc, argv, &no_default, &config_file);
	if (ret)
		return ret;
	out->no_default_config = no_default;
	out->config_file = config_file;

	if (!no_default) {
		ret = read_config_file(words, CONFIG_GLOBAL_FILE, false);
		if (ret)
			return ret;
		home = getenv("HOME");
		if (home && *home) {
			if (asprintf(&user_path, "%s/%s", home, CONFIG_USER_FILE) < 0)
				return -ENOMEM;
			ret = read_config_file(words, user_path, false);
			free(user_path);
			if (ret)
				return ret;
		}
	}
	env = getenv(CONFIG_ENV);
	if (env && *env) {
		ret = read_config_file(words, env, true);
		if (ret)
			return ret;
	}
	if (config_file)
		return read_config_file(words, config_file, true);
	return 0;
}

int config_args_build(struct config_args *out, int argc, char **argv)
{
	struct word_list words = {};
	char **v;
	int ret;

	memset(out, 0, sizeof(*out));
	if (argc < 1 || !argv[0])
		return -EINVAL;
	ret = collect_config_words(&words, out, argc, argv);
	if (ret)
		goto out_free_words;

	v = calloc(argc + words.n + 1, sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		goto out_free_words;
	}
	v[0] = argv[0];
	if (words.n)
		memcpy(v + 1, words.v, words.n * sizeof(*v));
	memcpy(v + 1 + words.n, argv + 1, (argc - 1) * sizeof(*v));
	out->argc = argc + words.n;
	out->argv = v;
	out->nr_owned = words.n;
	free(words.v); /* the strings now belong to @out */
	return 0;

out_free_words:
	words_free(&words);
	return ret;
}

void config_args_free(struct config_args *args)
{
	if (!args->argv)
		return;
	for (int i = 1; i <= args->nr_owned; i++)
		free(args->argv[i]);
	free(args->argv);
	memset(args, 0, sizeof(*args));
}
