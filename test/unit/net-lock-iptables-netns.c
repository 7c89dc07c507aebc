/*
 * net-lock-iptables-netns.c: the checks of net-lock-netns.c (everything in the namespace dropped, lo
 * included, except packets with the exempt mark; -EEXIST under the same id; traffic back after unlock)
 * with the iptables backend. Skips (77) without iptables.
 */
#define NLT_NETNS_MODE NETLOCK_IPTABLES
#include "net-lock-netns.c"
