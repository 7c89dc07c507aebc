/*
 * e2e-nginx-workers.c: e2e-nginx.c with nginx as packaged servers run it, a master and two
 * workers: the whole process tree migrated host to host with its keep-alive clients connected.
 */
/* timeout: 300 */
#define NGINX_WORKERS 2
#include "e2e-nginx.c"
