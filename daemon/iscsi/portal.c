// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Listening portals (RFC 7143 §4.2.2.2 network portals): one non-blocking
 * listening socket per "HOST:PORT", registered on the qb_loop. Each accepted
 * socket becomes a connection in the login phase (conn.c).
 *
 * "[v6addr]:port" and "v4addr:port" are accepted; an empty host or "*" means
 * the IPv6 wildcard with IPv4-mapped addresses. A wildcard portal is
 * remembered as such so that SendTargets reports the address a connection
 * actually came in on instead of 0.0.0.0 (discovery.c).
 *
 * Portals come and go at run time ('portal add|remove', a reload of
 * [iscsi] listen). Closing one closes only its listening socket: the
 * connections accepted through it are the server's, not the portal's, and
 * keep running (an initiator's sessions end by logout, 'session logout' or
 * 'session close', not because the administrator moved a portal).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/base/log.h"

#define PORTAL_BACKLOG 128

void iscsi_sockaddr_str(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, len, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(out, len, "%s:%u", host, port);
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			snprintf(out, len, "[%s]:%u", host, port);
		}
	} else {
		snprintf(out, len, "?");
	}
}

/* Split "host:port" / "[v6]:port" into its parts. @return 0 or -EINVAL. */
static int portal_parse(const char *host_port, char *host, size_t host_len, char *port,
			size_t port_len)
{
	const char *colon;
	size_t hl;

	if (host_port[0] == '[') {
		const char *end = strchr(host_port, ']');

		if (!end || end[1] != ':') {
			return -EINVAL;
		}
		hl = (size_t)(end - host_port - 1);
		if (hl >= host_len) {
			return -EINVAL;
		}
		memcpy(host, host_port + 1, hl);
		host[hl] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(host_port, ':');
		if (!colon) {
			return -EINVAL;
		}
		hl = (size_t)(colon - host_port);
		if (hl >= host_len) {
			return -EINVAL;
		}
		memcpy(host, host_port, hl);
		host[hl] = '\0';
	}
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= port_len) {
		return -EINVAL;
	}
	strcpy(port, colon + 1);
	return 0;
}

int iscsi_portal_numeric(const char *host_port, char *out, size_t cap)
{
	struct sockaddr_storage sa;
	char buf[ISCSI_ADDR_STR_MAX];
	bool wildcard;
	int rc = iscsi_portal_resolve(host_port, &sa, &wildcard);

	if (rc < 0) {
		return rc;
	}
	iscsi_sockaddr_str((const struct sockaddr *)&sa, buf, sizeof(buf));
	return snprintf(out, cap, "%s", buf) < (int)cap ? 0 : -ENAMETOOLONG;
}

bool iscsi_portal_is_numeric(const char *host_port)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char host[ISCSI_ADDR_STR_MAX], port[8], *end;
	unsigned long n;

	if (!host_port || portal_parse(host_port, host, sizeof(host), port, sizeof(port)) < 0 ||
	    port[0] < '0' || port[0] > '9') {
		return false;
	}
	n = strtoul(port, &end, 10);
	if (*end != '\0' || n == 0 || n > UINT16_MAX) {
		return false;
	}
	return inet_pton(host_port[0] == '[' ? AF_INET6 : AF_INET, host, addr) == 1;
}

int32_t iscsi_portal_accept_cb(int32_t fd, int32_t revents, void *data)
{
	struct iscsi_portal *p = data;
	(void)revents;

	iscsi_conn_reap_dead(p->server);
	/* Accept everything pending; the socket is non-blocking. */
	for (;;) {
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		int one = 1;
		int cfd =
			accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR) {
				continue;
			}
			/* Out of descriptors: the listener stays readable, so
			 * it leaves the loop for a while (admit.c). */
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    !iscsi_admit_accept_failed(p, errno)) {
				log_warn("iscsi: accept on %s: %s", p->addr, strerror(errno));
			}
			break;
		}
		/* Small PDUs (responses, R2Ts) must not wait for Nagle. */
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (getsockname(cfd, (struct sockaddr *)&local, &llen) != 0) {
			close(cfd);
			continue;
		}
		if (!p->server->destroying) {
			char peer_str[ISCSI_ADDR_STR_MAX];

			iscsi_sockaddr_str((struct sockaddr *)&peer, peer_str, sizeof(peer_str));
			if (!iscsi_admit_conn(p->server, peer_str)) {
				close(cfd);
				continue;
			}
		}
		if (iscsi_conn_create(p->server, cfd, (struct sockaddr *)&peer,
				      (struct sockaddr *)&local, llen) != 0) {
			close(cfd);
		}
	}
	return 0;
}

int iscsi_portal_resolve(const char *host_port, struct sockaddr_storage *sa, bool *wildcard)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL;
	char host[256], port[16];
	int rc;

	if (!host_port || strlen(host_port) >= ISCSI_ADDR_STR_MAX) {
		return -EINVAL;
	}
	rc = portal_parse(host_port, host, sizeof(host), port, sizeof(port));
	if (rc) {
		return rc;
	}
	rc = getaddrinfo((host[0] && strcmp(host, "*") != 0) ? host : NULL, port, &hints, &res);
	if (rc != 0 || !res) {
		log_err("iscsi: portal '%s': %s", host_port, gai_strerror(rc));
		return -EINVAL;
	}
	memset(sa, 0, sizeof(*sa));
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	if (res->ai_family == AF_INET) {
		*wildcard = ((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr.s_addr ==
			    htonl(INADDR_ANY);
	} else {
		*wildcard = IN6_IS_ADDR_UNSPECIFIED(
			&((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr);
	}
	freeaddrinfo(res);
	return 0;
}

/*
 * A non-blocking socket bound to @host_port and listening. @return the fd or
 * -errno (the address does not resolve: -EINVAL; not on this host:
 * -EADDRNOTAVAIL; taken: -EADDRINUSE).
 */
static int portal_socket(const char *host_port, struct sockaddr_storage *sa, socklen_t *sa_len,
			 bool *wildcard)
{
	int one = 1, rc, fd;

	rc = iscsi_portal_resolve(host_port, sa, wildcard);
	if (rc) {
		return rc;
	}
	*sa_len = sa->ss_family == AF_INET ? sizeof(struct sockaddr_in)
					   : sizeof(struct sockaddr_in6);
	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, *sa_len) != 0 ||
	    listen(fd, PORTAL_BACKLOG) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int iscsi_portal_probe(const char *host_port)
{
	struct sockaddr_storage sa;
	socklen_t sa_len;
	bool wildcard;
	int fd = portal_socket(host_port, &sa, &sa_len, &wildcard);

	if (fd < 0) {
		return fd;
	}
	close(fd);
	return 0;
}

int iscsi_server_add_portal(struct iscsi_server *server, const char *host_port)
{
	struct sockaddr_storage sa;
	socklen_t sa_len;
	struct iscsi_portal *p;
	bool wildcard;
	int rc, fd;

	if (!server) {
		return -EINVAL;
	}
	fd = portal_socket(host_port, &sa, &sa_len, &wildcard);
	if (fd < 0) {
		log_perror(fd, "iscsi: listen on '%s'", host_port);
		return fd;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->server = server;
	p->fd = fd;
	snprintf(p->addr, sizeof(p->addr), "%s", host_port);
	p->sa = sa;
	p->sa_len = sa_len;
	p->wildcard = wildcard;
	/* While accepting is paused (admit.c), resuming polls every portal. */
	rc = server->admit.accept_paused
		     ? 0
		     : qb_loop_poll_add(server->loop, QB_LOOP_MED, fd, POLLIN, p,
					iscsi_portal_accept_cb);
	if (rc != 0) {
		close(fd);
		free(p);
		return rc;
	}
	qb_list_add_tail(&p->node, &server->portals);
	log_info("iscsi: listening on %s", host_port);
	return 0;
}

static void portal_close(struct iscsi_server *server, struct iscsi_portal *p)
{
	if (!server->admit.accept_paused) {
		qb_loop_poll_del(server->loop, p->fd);
	}
	close(p->fd);
	qb_list_del(&p->node);
	free(p);
}

int iscsi_server_remove_portal(struct iscsi_server *server, const char *host_port)
{
	struct iscsi_portal *p, *pn;

	qb_list_for_each_entry_safe(p, pn, &server->portals, node) {
		if (strcmp(p->addr, host_port) == 0) {
			portal_close(server, p);
			log_info("iscsi: no longer listening on %s", host_port);
			return 0;
		}
	}
	return -ENOENT;
}

void iscsi_portal_close_all(struct iscsi_server *server)
{
	struct iscsi_portal *p, *pn;

	qb_list_for_each_entry_safe(p, pn, &server->portals, node) {
		portal_close(server, p);
	}
}
