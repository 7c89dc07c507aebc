/*
 * Version strings of the criu tool. "Version:" carries the CRIU release whose
 * command line and image format criu-ng follows, because scripts compare it;
 * the criu-ng line names what actually runs.
 */
#ifndef CRIU_NG_VERSION_H
#define CRIU_NG_VERSION_H

#define CRIU_COMPAT_VERSION "4.0"
#define CRIU_NG_VERSION "0.1.0"

#endif /* CRIU_NG_VERSION_H */
