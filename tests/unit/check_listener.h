/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP sockets on 127.0.0.1 that answer a connect in each of the ways reach
 * probes tell apart (quorum/reach.h): a listener accepts; a port bound and
 * released answers with a RST; a listener whose accept queue is full drops
 * the SYN unanswered (Linux drops a SYN to a full queue: the probe times
 * out, as behind a firewall that drops silently). Header only.
 */
#ifndef QUORATE_TESTS_UNIT_CHECK_LISTENER_H
#define QUORATE_TESTS_UNIT_CHECK_LISTENER_H

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

/* A TCP socket bound to a free port of 127.0.0.1 (in @port); listening with @backlog if >= 0. */
static inline int check_tcp_socket(int backlog, uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	if (backlog >= 0) {
		ck_assert_int_eq(listen(fd, backlog), 0);
	}
	return fd;
}

/* A port of 127.0.0.1 where nothing listens: the kernel answers a SYN with a RST. */
static inline uint16_t check_closed_port(void)
{
	uint16_t port;

	close(check_tcp_socket(-1, &port));
	return port;
}

/*
 * A listener whose accept queue is full: backlog 0 holds one connection,
 * made here (@filler) and never accepted; the next SYN goes unanswered.
 */
static inline int check_full_listener(uint16_t *port, int *filler)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = check_tcp_socket(0, port);

	a.sin_port = htons(*port);
	*filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*filler, 0);
	ck_assert_int_eq(connect(*filler, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

#endif
