/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config export and the plan of config apply (admin_config.h): read-only
 * over the model. The plan names the admin commands quoratectl then runs
 * one by one, so every change takes the path the same command would take
 * by hand (node-local checks, the replicated mutation, the uid in the log).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/admin_config.h"
#include "daemon/admin_portal.h"
#include "daemon/base/domain.h"
#include "daemon/iscsi/name.h"
#include "daemon/lun_file.h"

/* ---- export ------------------------------------------------------------------ */

static struct json_object *chap_json(const struct state_chap *c, bool secrets)
{
	struct json_object *o;

	if (c == NULL) {
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "user", json_object_new_string(c->rec.user));
	json_object_object_add(o, "mutual_user", json_object_new_string(c->rec.mutual_user));
	if (secrets) {
		json_object_object_add(o, "secret", json_object_new_string(c->rec.secret));
		json_object_object_add(o, "mutual_secret",
				       json_object_new_string(c->rec.mutual_secret));
	}
	return o;
}

static struct json_object *lun_doc(const struct store_lun *l)
{
	struct json_object *o = json_object_new_object();
	char naa[2 * STORE_NAA_LEN + 1], uuid[LUN_UUID_STR_LEN + 1];

	admin_hex_format(naa, l->naa, sizeof(l->naa));
	lun_uuid_format(uuid, l->uuid);
	json_object_object_add(o, "lun", json_object_new_int(l->lun));
	json_object_object_add(o, "backing", json_object_new_string(l->backing));
	json_object_object_add(o, "path", json_object_new_string(l->path));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)l->size_bytes));
	json_object_object_add(o, "block_size", json_object_new_int64(l->block_size));
	json_object_object_add(o, "direct", json_object_new_boolean(l->direct_io));
	json_object_object_add(o, "thin", json_object_new_boolean(l->thin));
	json_object_object_add(o, "read_only", json_object_new_boolean(l->read_only));
	json_object_object_add(o, "write_cache", json_object_new_boolean(l->write_cache));
	json_object_object_add(o, "offline", json_object_new_boolean(l->offline));
	json_object_object_add(o, "alias", json_object_new_string(l->alias));
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(o, "naa", json_object_new_string(naa));
	json_object_object_add(o, "serial", json_object_new_string(l->serial));
	return o;
}

/* The run-time portals of every node ('portal add'), in the model's order. */
static struct json_object *runtime_portals_doc(struct daemon *d)
{
	struct json_object *arr = json_object_new_array();

	for (const struct state_portal *p = state_portal_first(d->state); p != NULL;
	     p = state_portal_next(p)) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "node", json_object_new_int64(p->rec.node));
		json_object_object_add(o, "portal", json_object_new_string(p->rec.address));
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *admin_config_export(struct daemon *d, bool secrets)
{
	struct json_object *doc = json_object_new_object(), *node = json_object_new_object();
	struct json_object *portals = json_object_new_array(), *targets = json_object_new_array();

	json_object_object_add(doc, "format", json_object_new_string(ADMIN_CONFIG_FORMAT));
	json_object_object_add(doc, "version", json_object_new_int(ADMIN_CONFIG_VERSION));
	json_object_object_add(node, "id", json_object_new_int64(d->cfg.node_id));
	for (unsigned int i = 0; i < d->cfg.listen_count; i++) {
		json_object_array_add(portals, json_object_new_string(d->cfg.listen[i]));
	}
	json_object_object_add(node, "portals", portals);
	json_object_object_add(doc, "node", node);
	for (const struct state_target *t = state_target_first(d->state); t != NULL;
	     t = state_target_next(t)) {
		struct json_object *o = json_object_new_object(), *luns = json_object_new_array();
		struct json_object *acl = json_object_new_array();

		json_object_object_add(o, "name", json_object_new_string(t->rec.name));
		json_object_object_add(o, "alias", json_object_new_string(t->rec.alias));
		for (const struct state_lun *l = state_lun_first(t); l != NULL;
		     l = state_lun_next(l)) {
			json_object_array_add(luns, lun_doc(&l->rec));
		}
		json_object_object_add(o, "luns", luns);
		for (const struct state_acl *a = state_acl_first(t); a != NULL;
		     a = state_acl_next(a)) {
			json_object_array_add(acl, json_object_new_string(a->initiator));
		}
		json_object_object_add(o, "acl", acl);
		json_object_object_add(o, "chap",
				       chap_json(state_chap_find(d->state, t->rec.name), secrets));
		json_object_array_add(targets, o);
	}
	json_object_object_add(doc, "targets", targets);
	json_object_object_add(doc, "discovery_chap",
			       chap_json(state_chap_find(d->state, ""), secrets));
	json_object_object_add(doc, "portals", runtime_portals_doc(d));
	return doc;
}

/* ---- reading the document ------------------------------------------------------ */

struct plan {
	struct daemon *d;
	bool prune;
	struct json_object *steps;
	struct json_object *conflicts;
	char *err;
	size_t errlen;
	int rc;				 /* -EINVAL once the document is found wrong */
	char where[STORE_NAME_MAX + 64]; /* what is being read, for errors */
};

static bool bad(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A document error (the first one wins). @return false. */
static bool bad(struct plan *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->rc == 0) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(p->err, p->errlen, "%s: %s", p->where, msg);
		p->rc = -EINVAL;
	}
	return false;
}

/* Member @key of object @o of type @type; NULL (an error unless @optional) if absent. */
static struct json_object *member(struct plan *p, struct json_object *o, const char *key,
				  enum json_type type, bool optional)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		if (!optional) {
			bad(p, "'%s' is missing", key);
		}
		return NULL;
	}
	if (!json_object_is_type(v, type)) {
		bad(p, "'%s' must be %s", key, json_type_to_name(type));
		return NULL;
	}
	return v;
}

static const char *member_str(struct plan *p, struct json_object *o, const char *key,
			      const char *dflt)
{
	struct json_object *v = member(p, o, key, json_type_string, dflt != NULL);

	return v != NULL ? json_object_get_string(v) : dflt != NULL ? dflt : "";
}

static bool member_bool(struct plan *p, struct json_object *o, const char *key, bool dflt)
{
	struct json_object *v = member(p, o, key, json_type_boolean, true);

	return v != NULL ? json_object_get_boolean(v) : dflt;
}

static uint64_t member_u64(struct plan *p, struct json_object *o, const char *key, uint64_t max)
{
	struct json_object *v = member(p, o, key, json_type_int, false);
	int64_t n = v != NULL ? json_object_get_int64(v) : 0;

	if (v != NULL && (n < 0 || (uint64_t)n > max)) {
		bad(p, "'%s' is out of range 0..%" PRIu64, key, max);
		return 0;
	}
	return (uint64_t)n;
}

/* An iSCSI name of the document in its canonical form (into @out). */
static bool doc_name(struct plan *p, const char *in, char *out, size_t cap)
{
	const char *why = "";

	switch (iscsi_name_normalise(in, out, cap, &why)) {
	case ISCSI_NAME_CANONICAL:
	case ISCSI_NAME_NORMALISED:
		return true;
	default:
		return bad(p, "'%.200s' is not a valid iSCSI name: %s", in, why);
	}
}

/* ---- the plan ---------------------------------------------------------------- */

static void step(struct plan *p, const char *cmd, struct json_object *args, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void step(struct plan *p, const char *cmd, struct json_object *args, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	json_object_object_add(o, "args", args);
	json_object_object_add(o, "what", json_object_new_string(what));
	json_object_array_add(p->steps, o);
}

static void conflict(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void conflict(struct plan *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_array_add(p->conflicts, json_object_new_string(msg));
}

static struct json_object *args_lu(const char *target, uint16_t lun)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "target", json_object_new_string(target));
	json_object_object_add(a, "lun", json_object_new_int(lun));
	return a;
}

/* The document's target named @name (canonical), or NULL. */
static struct json_object *doc_target(struct json_object *targets, const char *name)
{
	char canon[STORE_NAME_MAX + 1];

	for (size_t i = 0; i < json_object_array_length(targets); i++) {
		struct json_object *t = json_object_array_get_idx(targets, i), *n;

		if (json_object_object_get_ex(t, "name", &n) &&
		    json_object_is_type(n, json_type_string) &&
		    iscsi_name_normalise(json_object_get_string(n), canon, sizeof(canon), NULL) !=
			    ISCSI_NAME_INVALID &&
		    strcmp(canon, name) == 0) {
			return t;
		}
	}
	return NULL;
}

static struct json_object *doc_lun(struct json_object *luns, uint16_t lun)
{
	for (size_t i = 0; luns != NULL && i < json_object_array_length(luns); i++) {
		struct json_object *l = json_object_array_get_idx(luns, i), *n;

		if (json_object_object_get_ex(l, "lun", &n) &&
		    json_object_is_type(n, json_type_int) && json_object_get_int64(n) == lun) {
			return l;
		}
	}
	return NULL;
}

static bool doc_acl_has(struct json_object *acl, const char *initiator)
{
	char canon[STORE_NAME_MAX + 1];

	for (size_t i = 0; acl != NULL && i < json_object_array_length(acl); i++) {
		struct json_object *v = json_object_array_get_idx(acl, i);

		if (json_object_is_type(v, json_type_string) &&
		    iscsi_name_normalise(json_object_get_string(v), canon, sizeof(canon), NULL) !=
			    ISCSI_NAME_INVALID &&
		    strcmp(canon, initiator) == 0) {
			return true;
		}
	}
	return false;
}

/* With prune: what the model has and the document does not list goes first. */
static void plan_removals(struct plan *p, struct json_object *targets, struct json_object *dchap)
{
	for (const struct state_target *t = state_target_first(p->d->state); t != NULL;
	     t = state_target_next(t)) {
		struct json_object *dt = doc_target(targets, t->rec.name), *a, *luns, *acl;

		if (dt == NULL) {
			a = json_object_new_object();
			json_object_object_add(a, "name", json_object_new_string(t->rec.name));
			step(p, "target.delete", a, "delete target %s with its LUNs, ACL and CHAP",
			     t->rec.name);
			continue;
		}
		json_object_object_get_ex(dt, "luns", &luns);
		for (const struct state_lun *l = state_lun_first(t); l != NULL;
		     l = state_lun_next(l)) {
			if (doc_lun(luns, l->rec.lun) == NULL) {
				step(p, "lun.delete", args_lu(t->rec.name, l->rec.lun),
				     "delete LUN %u of %s (its backing file is kept)", l->rec.lun,
				     t->rec.name);
			}
		}
		json_object_object_get_ex(dt, "acl", &acl);
		for (const struct state_acl *e = state_acl_first(t); e != NULL;
		     e = state_acl_next(e)) {
			if (!doc_acl_has(acl, e->initiator)) {
				a = json_object_new_object();
				json_object_object_add(a, "target",
						       json_object_new_string(t->rec.name));
				json_object_object_add(a, "initiator",
						       json_object_new_string(e->initiator));
				step(p, "acl.remove", a, "remove %s from the ACL of %s",
				     e->initiator, t->rec.name);
			}
		}
		if (state_chap_find(p->d->state, t->rec.name) != NULL &&
		    (!json_object_object_get_ex(dt, "chap", &a) || a == NULL)) {
			a = json_object_new_object();
			json_object_object_add(a, "target", json_object_new_string(t->rec.name));
			step(p, "chap.clear", a, "stop requiring CHAP for %s", t->rec.name);
		}
	}
	if (state_chap_find(p->d->state, "") != NULL && dchap == NULL) {
		struct json_object *a = json_object_new_object();

		json_object_object_add(a, "discovery", json_object_new_boolean(true));
		step(p, "chap.clear", a, "stop requiring CHAP for discovery sessions");
	}
}

/*
 * Which of a LUN's keys with a node-side default the document gives. A file
 * written by hand may leave them out. Identity: the LUN is created with a
 * new one (as 'lun create' without --uuid), an existing LUN's is not
 * compared. direct and write_cache: the node's default at creation
 * (O_DIRECT in cluster mode, and then no write cache), an existing LUN's
 * are kept.
 */
struct lun_given {
	bool uuid, naa, serial, direct, write_cache;
};

static bool member_has(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v != NULL;
}

/* The document's LUN @dl as a record (identity parsed); false on a document error. */
static bool lun_from_doc(struct plan *p, struct json_object *dl, const char *target,
			 struct store_lun *l, struct lun_given *given)
{
	struct json_object *v;
	const char *s;

	memset(l, 0, sizeof(*l));
	memset(given, 0, sizeof(*given));
	snprintf(l->target, sizeof(l->target), "%s", target);
	l->lun = (uint16_t)member_u64(p, dl, "lun", LUN_ID_MAX);
	snprintf(p->where, sizeof(p->where), "target %.200s LUN %u", target, l->lun);
	s = member_str(p, dl, "backing", LUN_BACKING_FILE);
	if (!lun_backing_kind_valid(s)) {
		return bad(p, "unknown backing '%.20s'", s);
	}
	snprintf(l->backing, sizeof(l->backing), "%s", s);
	s = member_str(p, dl, "path", "");
	if (strlen(s) > STORE_PATH_MAX) {
		return bad(p, "the path is too long");
	}
	snprintf(l->path, sizeof(l->path), "%s", s);
	l->size_bytes = member_u64(p, dl, "size", INT64_MAX);
	l->block_size = (uint32_t)member_u64(p, dl, "block_size", UINT32_MAX);
	given->direct = member_has(dl, "direct");
	l->direct_io = member_bool(p, dl, "direct", false);
	l->thin = member_bool(p, dl, "thin", false);
	l->read_only = member_bool(p, dl, "read_only", false);
	given->write_cache = member_has(dl, "write_cache");
	l->write_cache = member_bool(p, dl, "write_cache", !l->direct_io);
	l->offline = member_bool(p, dl, "offline", false);
	s = member_str(p, dl, "alias", "");
	if (strlen(s) > STORE_ALIAS_MAX) {
		return bad(p, "the alias is too long");
	}
	snprintf(l->alias, sizeof(l->alias), "%s", s);
	v = member(p, dl, "uuid", json_type_string, true);
	given->uuid = v != NULL;
	if (v != NULL && !lun_uuid_parse(json_object_get_string(v), l->uuid)) {
		return bad(p, "'uuid' is not a UUID");
	}
	v = member(p, dl, "naa", json_type_string, true);
	given->naa = v != NULL;
	if (v != NULL && !lun_naa_parse(json_object_get_string(v), l->naa)) {
		return bad(p, "'naa' is not an NAA-6 designator");
	}
	v = member(p, dl, "serial", json_type_string, true);
	given->serial = v != NULL;
	if (v != NULL && !lun_serial_valid(json_object_get_string(v))) {
		return bad(p, "'serial' is not a unit serial number");
	}
	snprintf(l->serial, sizeof(l->serial), "%s", v != NULL ? json_object_get_string(v) : "");
	if (!lun_block_size_valid(l->block_size)) {
		return bad(p, "block_size %u (want %u or %u)", l->block_size, LUN_BLOCK_SIZE_512,
			   LUN_BLOCK_SIZE_4096);
	}
	return p->rc == 0;
}

static void plan_lun_create(struct plan *p, const struct store_lun *l,
			    const struct lun_given *given)
{
	/* lun.create takes the document's LUN keys; offline is a step of its own. */
	struct json_object *a = lun_doc(l);
	char id[sizeof("uuid ") + LUN_UUID_STR_LEN] = "a new identity";

	if (given->naa) {
		memcpy(id, "naa.", 4);
		admin_hex_format(id + 4, l->naa, sizeof(l->naa));
	} else if (given->uuid) {
		memcpy(id, "uuid ", 5);
		lun_uuid_format(id + 5, l->uuid);
	}
	/* What the document leaves out, lun.create makes (from the UUID, if given). */
	if (!given->uuid) {
		json_object_object_del(a, "uuid");
	}
	if (!given->naa) {
		json_object_object_del(a, "naa");
	}
	if (!given->serial) {
		json_object_object_del(a, "serial");
	}
	/* The node chooses O_DIRECT, and the write cache from it. */
	if (!given->direct) {
		json_object_object_del(a, "direct");
	}
	if (!given->write_cache) {
		json_object_object_del(a, "write_cache");
	}
	json_object_object_del(a, "offline");
	json_object_object_add(a, "target", json_object_new_string(l->target));
	/* The document says how large it is: an existing smaller file is extended. */
	json_object_object_add(a, "grow", json_object_new_boolean(true));
	step(p, "lun.create", a, "create LUN %u of %s (%s%s%s, %" PRIu64 " bytes, %s)", l->lun,
	     l->target, l->backing, l->path[0] ? " " : "", l->path, l->size_bytes, id);
	if (l->offline) {
		step(p, "lun.offline", args_lu(l->target, l->lun), "take LUN %u of %s offline",
		     l->lun, l->target);
	}
}

/* A LUN both have: what changes in place, or the conflict. */
static void plan_lun_change(struct plan *p, const struct store_lun *cur,
			    const struct store_lun *doc, const struct lun_given *given)
{
	static const char hint[] = "'lun delete' it to have it created as the document says";
	struct store_lun resolved = *doc, *l = &resolved;
	struct json_object *a;
	const char *what = NULL;

	/* What the document leaves to the node is what the LUN has. */
	if (!given->direct) {
		l->direct_io = cur->direct_io;
	}
	if (!given->write_cache) {
		l->write_cache = cur->write_cache;
	}

	if ((given->uuid && memcmp(cur->uuid, l->uuid, sizeof(l->uuid)) != 0) ||
	    (given->naa && memcmp(cur->naa, l->naa, sizeof(l->naa)) != 0) ||
	    (given->serial && strcmp(cur->serial, l->serial) != 0)) {
		what = "identity (uuid, naa, serial)";
	} else if (strcmp(cur->backing, l->backing) != 0 || strcmp(cur->path, l->path) != 0) {
		what = "backing store";
	} else if (cur->block_size != l->block_size) {
		what = "block size";
	} else if (cur->direct_io != l->direct_io || cur->thin != l->thin) {
		what = "direct or thin setting";
	}
	if (what != NULL) {
		conflict(p, "LUN %u of %s: its %s differs from the document; %s", l->lun, l->target,
			 what, hint);
		return;
	}
	if (l->size_bytes > cur->size_bytes) {
		a = args_lu(l->target, l->lun);
		json_object_object_add(a, "size", json_object_new_int64((int64_t)l->size_bytes));
		step(p, "lun.resize", a, "grow LUN %u of %s from %" PRIu64 " to %" PRIu64 " bytes",
		     l->lun, l->target, cur->size_bytes, l->size_bytes);
	} else if (l->size_bytes < cur->size_bytes) {
		conflict(p,
			 "LUN %u of %s: the document says %" PRIu64 " bytes, it has %" PRIu64
			 "; shrinking drops data, 'lun resize --force' it by hand",
			 l->lun, l->target, l->size_bytes, cur->size_bytes);
	}
	if (strcmp(cur->alias, l->alias) != 0 || cur->read_only != l->read_only ||
	    cur->write_cache != l->write_cache) {
		a = args_lu(l->target, l->lun);
		if (strcmp(cur->alias, l->alias) != 0) {
			json_object_object_add(a, "alias", json_object_new_string(l->alias));
		}
		if (cur->read_only != l->read_only) {
			json_object_object_add(a, "read_only",
					       json_object_new_boolean(l->read_only));
		}
		if (cur->write_cache != l->write_cache) {
			json_object_object_add(a, "write_cache",
					       json_object_new_boolean(l->write_cache));
		}
		step(p, "lun.set", a, "set alias '%s', %s, write cache %s of LUN %u of %s",
		     l->alias, l->read_only ? "read-only" : "read-write",
		     l->write_cache ? "on" : "off", l->lun, l->target);
	}
	if (cur->offline != l->offline) {
		step(p, l->offline ? "lun.offline" : "lun.online", args_lu(l->target, l->lun),
		     "take LUN %u of %s %s", l->lun, l->target, l->offline ? "offline" : "online");
	}
}

/* CHAP of @target ("" discovery) as document object @dc says (NULL: none). */
static void plan_chap(struct plan *p, const char *target, struct json_object *dc)
{
	const struct state_chap *cur = state_chap_find(p->d->state, target);
	const char *user, *muser, *secret, *msecret, *name = target[0] ? target : "discovery";
	struct json_object *a, *v;
	bool has_secret;

	if (dc == NULL) {
		return;
	}
	user = member_str(p, dc, "user", NULL);
	muser = member_str(p, dc, "mutual_user", "");
	has_secret = json_object_object_get_ex(dc, "secret", &v) && v != NULL;
	secret = member_str(p, dc, "secret", "");
	msecret = member_str(p, dc, "mutual_secret", "");
	if (p->rc != 0) {
		return;
	}
	if (!has_secret) {
		if (cur == NULL || strcmp(cur->rec.user, user) != 0 ||
		    strcmp(cur->rec.mutual_user, muser) != 0) {
			conflict(p,
				 "CHAP of %s: the document has no secrets (export it with "
				 "--with-secrets, or 'chap set' it by hand)",
				 name);
		}
		return;
	}
	if (cur != NULL && strcmp(cur->rec.user, user) == 0 &&
	    strcmp(cur->rec.secret, secret) == 0 && strcmp(cur->rec.mutual_user, muser) == 0 &&
	    strcmp(cur->rec.mutual_secret, msecret) == 0) {
		return;
	}
	a = json_object_new_object();
	if (target[0] != '\0') {
		json_object_object_add(a, "target", json_object_new_string(target));
	} else {
		json_object_object_add(a, "discovery", json_object_new_boolean(true));
	}
	json_object_object_add(a, "user", json_object_new_string(user));
	json_object_object_add(a, "secret", json_object_new_string(secret));
	if (muser[0] != '\0' || msecret[0] != '\0') {
		json_object_object_add(a, "mutual_user", json_object_new_string(muser));
		json_object_object_add(a, "mutual_secret", json_object_new_string(msecret));
	}
	/* As it was set before: a short secret was accepted then. */
	json_object_object_add(a, "force", json_object_new_boolean(true));
	step(p, "chap.set", a, "require CHAP user %s%s%s for %s", user,
	     muser[0] ? ", mutual user " : "", muser, name);
}

static bool acl_has(const struct state_target *t, const char *initiator)
{
	for (const struct state_acl *e = state_acl_first(t); e != NULL; e = state_acl_next(e)) {
		if (strcmp(e->initiator, initiator) == 0) {
			return true;
		}
	}
	return false;
}

static void plan_target(struct plan *p, struct json_object *dt)
{
	char name[STORE_NAME_MAX + 1], initiator[STORE_NAME_MAX + 1];
	const struct state_target *t;
	struct json_object *luns, *acl, *a, *dc;
	const char *alias;

	snprintf(p->where, sizeof(p->where), "a target");
	if (!doc_name(p, member_str(p, dt, "name", NULL), name, sizeof(name))) {
		return;
	}
	snprintf(p->where, sizeof(p->where), "target %.200s", name);
	alias = member_str(p, dt, "alias", "");
	luns = member(p, dt, "luns", json_type_array, true);
	acl = member(p, dt, "acl", json_type_array, true);
	dc = member(p, dt, "chap", json_type_object, true);
	if (p->rc != 0) {
		return;
	}
	t = state_target_find(p->d->state, name);
	if (t == NULL || strcmp(t->rec.alias, alias) != 0) {
		a = json_object_new_object();
		json_object_object_add(a, "name", json_object_new_string(name));
		json_object_object_add(a, "alias", json_object_new_string(alias));
		if (t == NULL) {
			step(p, "target.create", a, "create target %s (alias '%s')", name, alias);
		} else {
			step(p, "target.set", a, "set the alias of %s to '%s'", name, alias);
		}
	}
	for (size_t i = 0; luns != NULL && i < json_object_array_length(luns) && p->rc == 0; i++) {
		struct json_object *dl = json_object_array_get_idx(luns, i);
		const struct state_lun *cur;
		struct lun_given given;
		struct store_lun l;

		if (!json_object_is_type(dl, json_type_object)) {
			bad(p, "a LUN must be an object");
			return;
		}
		if (!lun_from_doc(p, dl, name, &l, &given)) {
			return;
		}
		if (doc_lun(luns, l.lun) != dl) {
			bad(p, "LUN %u is listed twice", l.lun);
			return;
		}
		cur = t != NULL ? state_lun_find(t, l.lun) : NULL;
		if (cur == NULL) {
			plan_lun_create(p, &l, &given);
		} else {
			plan_lun_change(p, &cur->rec, &l, &given);
		}
	}
	snprintf(p->where, sizeof(p->where), "the ACL of %.200s", name);
	for (size_t i = 0; acl != NULL && i < json_object_array_length(acl) && p->rc == 0; i++) {
		struct json_object *v = json_object_array_get_idx(acl, i);

		if (!json_object_is_type(v, json_type_string)) {
			bad(p, "an initiator must be a string");
			return;
		}
		if (!doc_name(p, json_object_get_string(v), initiator, sizeof(initiator))) {
			return;
		}
		if (t != NULL && acl_has(t, initiator)) {
			continue;
		}
		a = json_object_new_object();
		json_object_object_add(a, "target", json_object_new_string(name));
		json_object_object_add(a, "initiator", json_object_new_string(initiator));
		step(p, "acl.add", a, "allow %s to log in to %s", initiator, name);
	}
	snprintf(p->where, sizeof(p->where), "the CHAP of %.200s", name);
	plan_chap(p, name, dc);
}

/* The document's portal @i: node and canonical address. @return false (bad) if it is not one. */
static bool doc_portal(struct plan *p, struct json_object *dp, size_t i, struct store_portal *out)
{
	char err[256];

	snprintf(p->where, sizeof(p->where), "portal %zu", i + 1);
	if (!json_object_is_type(dp, json_type_object)) {
		return bad(p, "not an object");
	}
	out->node = (uint32_t)member_u64(p, dp, "node", STATE_PORTAL_NODE_MAX);
	if (p->rc == 0 && out->node == 0) {
		return bad(p, "'node' must be 1..%u", STATE_PORTAL_NODE_MAX);
	}
	if (p->rc == 0 && admin_portal_canonical(member_str(p, dp, "portal", NULL), out->address,
						 sizeof(out->address), err, sizeof(err)) < 0) {
		return bad(p, "%s", err);
	}
	return p->rc == 0;
}

static struct json_object *args_portal(const struct store_portal *sp)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "portal", json_object_new_string(sp->address));
	json_object_object_add(a, "node", json_object_new_int64(sp->node));
	return a;
}

/*
 * Run-time portals: those the document lists and the model lacks are
 * added; with prune, those the model has and the document does not list go
 * (first). A node's configuration-file portals are not replicated state:
 * never removed, and one the document lists for this node is left as it is.
 */
static void plan_portals(struct plan *p, struct json_object *portals, bool removals)
{
	size_t n = portals != NULL ? json_object_array_length(portals) : 0;
	struct store_portal sp;

	if (removals) {
		for (const struct state_portal *cur = state_portal_first(p->d->state); cur != NULL;
		     cur = state_portal_next(cur)) {
			bool listed = false;

			for (size_t i = 0; i < n && !listed && p->rc == 0; i++) {
				listed = doc_portal(p, json_object_array_get_idx(portals, i), i,
						    &sp) &&
					 sp.node == cur->rec.node &&
					 strcmp(sp.address, cur->rec.address) == 0;
			}
			if (!listed && p->rc == 0) {
				step(p, "portal.remove", args_portal(&cur->rec),
				     "remove run-time portal %s of node %u", cur->rec.address,
				     cur->rec.node);
			}
		}
		return;
	}
	for (size_t i = 0; i < n && p->rc == 0; i++) {
		const struct daemon_portal *dp;

		if (!doc_portal(p, json_object_array_get_idx(portals, i), i, &sp) ||
		    state_portal_find(p->d->state, sp.node, sp.address) != NULL) {
			continue;
		}
		dp = sp.node == p->d->cfg.node_id ? daemon_portal_find(p->d, sp.address) : NULL;
		if (dp != NULL && dp->config) {
			continue;
		}
		step(p, "portal.add", args_portal(&sp), "add run-time portal %s of node %u",
		     sp.address, sp.node);
	}
}

int admin_config_plan(struct daemon *d, struct json_object *doc, bool prune,
		      struct json_object **steps, struct json_object **conflicts, char *err,
		      size_t errlen)
{
	struct plan p = {.d = d, .prune = prune, .err = err, .errlen = errlen};
	struct json_object *targets, *dchap, *portals;
	const char *format;

	snprintf(p.where, sizeof(p.where), "the document");
	if (!json_object_is_type(doc, json_type_object)) {
		snprintf(err, errlen, "the document is not a JSON object");
		return -EINVAL;
	}
	format = member_str(&p, doc, "format", NULL);
	if (p.rc == 0 && strcmp(format, ADMIN_CONFIG_FORMAT) != 0) {
		bad(&p, "format '%.40s' is not '%s'", format, ADMIN_CONFIG_FORMAT);
	}
	if (p.rc == 0) {
		uint64_t version = member_u64(&p, doc, "version", UINT32_MAX);

		if (p.rc == 0 && version != ADMIN_CONFIG_VERSION) {
			bad(&p, "version %" PRIu64 " is not %d (made by another release?)", version,
			    ADMIN_CONFIG_VERSION);
		}
	}
	targets = member(&p, doc, "targets", json_type_array, false);
	dchap = member(&p, doc, "discovery_chap", json_type_object, true);
	portals = member(&p, doc, "portals", json_type_array, true);
	if (p.rc != 0) {
		return p.rc;
	}
	/* Every target once, by its canonical name. */
	for (size_t i = 0; i < json_object_array_length(targets); i++) {
		struct json_object *t = json_object_array_get_idx(targets, i), *n;
		char canon[STORE_NAME_MAX + 1];

		if (!json_object_is_type(t, json_type_object) ||
		    !json_object_object_get_ex(t, "name", &n) ||
		    !json_object_is_type(n, json_type_string)) {
			snprintf(err, errlen, "target %zu of the document has no name", i + 1);
			return -EINVAL;
		}
		if (iscsi_name_normalise(json_object_get_string(n), canon, sizeof(canon), NULL) !=
			    ISCSI_NAME_INVALID &&
		    doc_target(targets, canon) != t) {
			snprintf(err, errlen, "target %s is listed twice", canon);
			return -EINVAL;
		}
	}
	p.steps = json_object_new_array();
	p.conflicts = json_object_new_array();
	if (prune) {
		plan_portals(&p, portals, true);
		plan_removals(&p, targets, dchap);
	}
	for (size_t i = 0; i < json_object_array_length(targets) && p.rc == 0; i++) {
		plan_target(&p, json_object_array_get_idx(targets, i));
	}
	if (p.rc == 0) {
		snprintf(p.where, sizeof(p.where), "the discovery CHAP");
		plan_chap(&p, "", dchap);
	}
	if (p.rc == 0) {
		plan_portals(&p, portals, false);
	}
	if (p.rc != 0) {
		json_object_put(p.steps);
		json_object_put(p.conflicts);
		return p.rc;
	}
	*steps = p.steps;
	*conflicts = p.conflicts;
	return 0;
}
