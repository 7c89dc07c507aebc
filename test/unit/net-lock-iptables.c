/*
 * net-lock-iptables.c: the checks of net-lock-conns.c (live IPv4/IPv6 connections dropped both ways,
 * other connections flowing, -EEXIST on a second lock, retransmitted data after unlock) run with the
 * iptables backend: one iptables-restore and one ip6tables-restore per lock. Skips (77) without iptables.
 */
#define NLT_CONNS_MODE NETLOCK_IPTABLES
#include "net-lock-conns.c"
