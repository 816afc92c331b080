// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The iSCSI server object: configuration, the registry of targets (with their
 * ACLs and CHAP credentials), the session list for administration, and the
 * size-classed data buffer pool that SCSI tasks borrow from.
 *
 * Invariants: target names are unique; a target's ACL list empty means "every
 * initiator"; CHAP secrets are copied and wiped on removal, and never logged.
 * Buffers in the pool are SCSI_BUF_ALIGN-aligned so that O_DIRECT stores
 * can use them directly; a class holds buffers of exactly its size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/base/log.h"

uint64_t iscsi_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void chap_store_clear(struct iscsi_chap_store *c)
{
	char **fields[] = {&c->user, &c->secret, &c->mutual_user, &c->mutual_secret};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (*fields[i]) {
			explicit_bzero(*fields[i], strlen(*fields[i]));
			free(*fields[i]);
			*fields[i] = NULL;
		}
	}
	c->enabled = false;
}

static int chap_store_set(struct iscsi_chap_store *c, const struct iscsi_chap_cred *cred)
{
	struct iscsi_chap_store n = {.enabled = true};

	chap_store_clear(c);
	if (!cred) {
		return 0;
	}
	if (!cred->user || !cred->secret || !!cred->mutual_user != !!cred->mutual_secret) {
		return -EINVAL;
	}
	n.user = strdup(cred->user);
	n.secret = strdup(cred->secret);
	if (cred->mutual_user) {
		n.mutual_user = strdup(cred->mutual_user);
		n.mutual_secret = strdup(cred->mutual_secret);
	}
	if (!n.user || !n.secret || (cred->mutual_user && (!n.mutual_user || !n.mutual_secret))) {
		chap_store_clear(&n);
		return -ENOMEM;
	}
	*c = n;
	return 0;
}

void iscsi_server_set_runtime(struct iscsi_server *server, const struct iscsi_server_config *cfg)
{
	struct iscsi_server_config *c = &server->cfg;

	c->nop_interval_s = cfg->nop_interval_s;
	c->nop_timeout_s = cfg->nop_timeout_s;
	c->max_sessions = cfg->max_sessions;
	c->max_discovery_sessions = cfg->max_discovery_sessions;
	c->discovery_idle_timeout_s = cfg->discovery_idle_timeout_s;
	c->max_login_connections = cfg->max_login_connections;
	c->chap_backoff_max_s = cfg->chap_backoff_max_s;
	c->require_mutual_chap = cfg->require_mutual_chap;
	c->allow_cold_reset = cfg->allow_cold_reset;
}

int iscsi_server_create(qb_loop_t *loop, const struct iscsi_server_config *cfg,
			struct iscsi_server **out)
{
	struct iscsi_server *s;

	if (!loop || !cfg || !out) {
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	s->loop = loop;
	s->cfg = *cfg;
	if (s->cfg.queue_depth == 0) {
		s->cfg.queue_depth = 64;
	}
	iscsi_params_init_limits(&s->limits);
	if (cfg->max_recv_dsl) {
		s->limits.max_recv_dsl = cfg->max_recv_dsl;
	}
	if (cfg->max_burst) {
		s->limits.max_burst = cfg->max_burst;
	}
	if (cfg->first_burst) {
		s->limits.first_burst = cfg->first_burst;
	}
	if (cfg->max_outstanding_r2t) {
		s->limits.max_outstanding_r2t = cfg->max_outstanding_r2t;
	}
	iscsi_params_limits_sanitize(&s->limits);
	/* A burst must fit one task buffer. */
	if (s->limits.max_burst > ISCSI_EDTL_MAX) {
		s->limits.max_burst = ISCSI_EDTL_MAX;
	}
	if (s->limits.first_burst > s->limits.max_burst) {
		s->limits.first_burst = s->limits.max_burst;
	}
	qb_list_init(&s->portals);
	qb_list_init(&s->targets);
	qb_list_init(&s->sessions);
	qb_list_init(&s->conns);
	qb_list_init(&s->dead_conns);
	s->tsih_next = 1;
	*out = s;
	return 0;
}

void iscsi_server_logout_all(struct iscsi_server *server)
{
	struct iscsi_conn *c;

	qb_list_for_each_entry(c, &server->conns, node) {
		if (c->state == ISCSI_CONN_FULL_FEATURE && c->session && !c->session->discovery) {
			iscsi_conn_send_async_logout(c);
		}
	}
}

void iscsi_server_destroy(struct iscsi_server *server)
{
	struct iscsi_conn *c, *cn;
	struct iscsi_session *s, *sn;
	struct iscsi_target_entry *t, *tn;

	if (!server) {
		return;
	}
	iscsi_server_logout_all(server);
	server->destroying = true;
	iscsi_admit_fini(server);
	iscsi_portal_close_all(server);
	qb_list_for_each_entry_safe(c, cn, &server->conns, node) {
		/* Best effort: push the Async Message out before closing. */
		iscsi_conn_tx_kick(c);
		iscsi_conn_close(c, "server shutdown");
	}
	iscsi_conn_reap_dead(server);
	qb_list_for_each_entry_safe(s, sn, &server->sessions, node) {
		iscsi_session_destroy(s);
	}
	qb_list_for_each_entry_safe(t, tn, &server->targets, node) {
		iscsi_target_unregister(server, t->name);
	}
	chap_store_clear(&server->discovery_chap);
	iscsi_discovery_fini(&server->discovery);
	for (uint32_t i = 0; i < ISCSI_BUF_CLASSES; i++) {
		for (uint32_t j = 0; j < server->bufs[i].nfree; j++) {
			free(server->bufs[i].free[j]);
		}
	}
	free(server->rx_stage);
	free(server);
}

struct iscsi_target_entry *iscsi_target_find(struct iscsi_server *server, const char *name)
{
	struct iscsi_target_entry *t;

	qb_list_for_each_entry(t, &server->targets, node) {
		if (strcmp(t->name, name) == 0) {
			return t;
		}
	}
	return NULL;
}

int iscsi_target_register(struct iscsi_server *server, struct scsi_target *target,
			  const char *alias)
{
	struct iscsi_target_entry *t;
	const char *name;

	if (!server || !target) {
		return -EINVAL;
	}
	name = scsi_target_name(target);
	if (!name || strlen(name) >= ISCSI_NAME_BUF || (alias && strlen(alias) >= ISCSI_ALIAS_BUF)) {
		return -EINVAL;
	}
	if (iscsi_target_find(server, name)) {
		return -EEXIST;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		return -ENOMEM;
	}
	t->scsi = target;
	strcpy(t->name, name);
	if (alias) {
		strcpy(t->alias, alias);
	}
	qb_list_init(&t->acl);
	qb_list_add_tail(&t->node, &server->targets);
	log_info("iscsi: serving target '%s'", t->name);
	return 0;
}

int iscsi_target_set_alias(struct iscsi_server *server, const char *target_name,
			   const char *alias)
{
	struct iscsi_target_entry *t = iscsi_target_find(server, target_name);

	if (!t) {
		return -ENOENT;
	}
	if (alias && strlen(alias) >= ISCSI_ALIAS_BUF) {
		return -EINVAL;
	}
	snprintf(t->alias, sizeof(t->alias), "%s", alias ? alias : "");
	return 0;
}

int iscsi_target_unregister(struct iscsi_server *server, const char *target_name)
{
	struct iscsi_target_entry *t = iscsi_target_find(server, target_name);
	struct iscsi_acl_entry *a, *an;
	struct iscsi_session *s, *sn;

	if (!t) {
		return -ENOENT;
	}
	/* Sessions borrow the entry: drop them first. */
	qb_list_for_each_entry_safe(s, sn, &server->sessions, node) {
		if (s->target == t) {
			/* Shutting down may free a session without tasks: detach first. */
			s->target = NULL;
			iscsi_session_shutdown(s, "target removed");
		}
	}
	qb_list_for_each_entry_safe(a, an, &t->acl, node) {
		qb_list_del(&a->node);
		free(a);
	}
	chap_store_clear(&t->chap);
	qb_list_del(&t->node);
	free(t);
	return 0;
}

int iscsi_target_acl_add(struct iscsi_server *server, const char *target_name,
			 const char *initiator_name)
{
	struct iscsi_target_entry *t = iscsi_target_find(server, target_name);
	struct iscsi_acl_entry *a;

	if (!t) {
		return -ENOENT;
	}
	if (!initiator_name || strlen(initiator_name) >= ISCSI_NAME_BUF) {
		return -EINVAL;
	}
	qb_list_for_each_entry(a, &t->acl, node) {
		if (strcmp(a->name, initiator_name) == 0) {
			return -EEXIST;
		}
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		return -ENOMEM;
	}
	strcpy(a->name, initiator_name);
	qb_list_add_tail(&a->node, &t->acl);
	return 0;
}

int iscsi_target_acl_remove(struct iscsi_server *server, const char *target_name,
			    const char *initiator_name)
{
	struct iscsi_target_entry *t = iscsi_target_find(server, target_name);
	struct iscsi_acl_entry *a;

	if (!t) {
		return -ENOENT;
	}
	qb_list_for_each_entry(a, &t->acl, node) {
		if (strcmp(a->name, initiator_name) == 0) {
			qb_list_del(&a->node);
			free(a);
			return 0;
		}
	}
	return -ENOENT;
}

bool iscsi_target_acl_allows(const struct iscsi_target_entry *t, const char *initiator)
{
	const struct iscsi_acl_entry *a;

	if (qb_list_empty(&t->acl)) {
		return true;
	}
	qb_list_for_each_entry(a, &t->acl, node) {
		/* iSCSI names are case-insensitive (RFC 3722): ACL entries
		 * and valid login names are both in canonical (lower-case)
		 * form (name.h); case is ignored for any other name too. */
		if (strcasecmp(a->name, initiator) == 0) {
			return true;
		}
	}
	return false;
}

int iscsi_chap_set(struct iscsi_server *server, const char *target_name,
		   const struct iscsi_chap_cred *cred)
{
	struct iscsi_target_entry *t;

	if (!server) {
		return -EINVAL;
	}
	if (!target_name) {
		return chap_store_set(&server->discovery_chap, cred);
	}
	t = iscsi_target_find(server, target_name);
	if (!t) {
		return -ENOENT;
	}
	return chap_store_set(&t->chap, cred);
}

void iscsi_server_foreach_session(struct iscsi_server *server, iscsi_session_fn fn, void *ctx)
{
	struct iscsi_session *s;

	qb_list_for_each_entry(s, &server->sessions, node) {
		struct iscsi_session_info info;

		iscsi_session_info_fill(s, &info);
		fn(&info, ctx);
	}
}

int iscsi_session_close(struct iscsi_server *server, uint16_t tsih)
{
	struct iscsi_session *s = iscsi_session_find_tsih(server, tsih);

	if (!s) {
		return -ENOENT;
	}
	iscsi_session_shutdown(s, "closed by administrator");
	return 0;
}

/*
 * Buffer pool. Class n holds buffers of 4 KiB << (2n) bytes (4K, 16K, 64K,
 * 256K, 1M, 4M, 16M). A freed buffer goes back to its class's cache, so
 * steady-state I/O of a given size never reaches malloc.
 */
int iscsi_buf_get(struct iscsi_server *server, uint32_t len, uint8_t **buf, uint32_t *cap,
		  uint32_t *cls)
{
	uint32_t c;
	size_t size = 0;
	void *p;

	for (c = 0; c < ISCSI_BUF_CLASSES; c++) {
		size = (size_t)1u << (ISCSI_BUF_CLASS_MIN_SHIFT + 2u * c);
		if (len <= size) {
			break;
		}
	}
	if (c == ISCSI_BUF_CLASSES) {
		return -E2BIG;
	}
	if (server->bufs[c].nfree) {
		p = server->bufs[c].free[--server->bufs[c].nfree];
	} else if (posix_memalign(&p, SCSI_BUF_ALIGN, size) != 0) {
		return -ENOMEM;
	}
	*buf = p;
	*cap = (uint32_t)size;
	*cls = c;
	return 0;
}

static uint32_t buf_cache_limit(uint32_t cls)
{
	uint32_t n = ISCSI_BUF_CACHE_BYTES >> (ISCSI_BUF_CLASS_MIN_SHIFT + 2u * cls);

	return n < 2 ? 2 : n > ISCSI_BUF_CACHE_MAX ? ISCSI_BUF_CACHE_MAX : n;
}

void iscsi_buf_put(struct iscsi_server *server, uint8_t *buf, uint32_t cls)
{
	if (!buf) {
		return;
	}
	if (cls < ISCSI_BUF_CLASSES && server->bufs[cls].nfree < buf_cache_limit(cls)) {
		server->bufs[cls].free[server->bufs[cls].nfree++] = buf;
		return;
	}
	free(buf);
}
