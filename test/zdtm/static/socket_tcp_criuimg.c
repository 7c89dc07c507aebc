/*
 * socket_tcp_criuimg: socket_tcp4 with the streams written in CRIU's own
 * format (--tcp-images criu: one tcp-stream-INO.img per connection), which
 * crit must decode and encode back (the runner's --crit) and criu must restore from.
 */
#include "socket_tcp4.c"
