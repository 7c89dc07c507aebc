/*
 * Files in flight for the zdtm tests: one datagram or stream message carrying
 * files (SCM_RIGHTS), sent and received.
 */
#ifndef ZDTM_SCM_H
#define ZDTM_SCM_H

#define SCM_TEST_MAX 8 /* the most files one message of these helpers carries */

/* Sends @msg on @sk with the @nr files of @fds. 0 or -1. */
int scm_send(int sk, const char *msg, const int *fds, int nr);

/*
 * Receives one message on @sk without waiting: its bytes must be @msg and it
 * must carry exactly @nr files, stored into @fds. 0, or -1 after fail().
 */
int scm_recv(int sk, const char *msg, int *fds, int nr);

/* Whether @a and @b of this process are one open file description (kcmp). */
int scm_same_file(int a, int b);

#endif
