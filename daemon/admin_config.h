/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The declarative configuration (quoratectl config export|apply): the
 * replicated configuration as one JSON document, and the plan that makes
 * the model equal to a document. Shared by the admin files (admin.c
 * answers the IPC commands with these).
 *
 * Document, version 1 (keys in this order; lists in the model's order, so
 * equal states give equal documents):
 *   {"format": "quorate-config", "version": 1,
 *    "node": {"id": N, "portals": ["HOST:PORT", ...]},   (this node's listen
 *            portals: node configuration, reported, never applied)
 *    "targets": [{"name", "alias",
 *                 "luns": [{"lun", "backing", "path", "size", "block_size",
 *                           "direct", "thin", "read_only", "write_cache",
 *                           "offline", "alias", "uuid", "naa", "serial"}],
 *                 "acl": [initiator names],
 *                 "chap": null | {"user", "mutual_user"[, "secret",
 *                                 "mutual_secret"]}}],
 *    "discovery_chap": null | {as chap},
 *    "portals": [{"node": N, "portal": "A.B.C.D:PORT" | "[V6]:PORT"}]}
 *            (run-time portals of every node, 'portal add'; replicated state,
 *            unlike node.portals)
 * Secrets are in it only when asked for. Export writes every key; a document
 * written by hand may leave out those with a default (backing "file", path
 * "", thin, read_only and offline false, alias "", acl [], chap null,
 * discovery_chap null, portals []), and those a new LUN takes from the node and an
 * existing LUN keeps: direct (lun create's default: O_DIRECT in cluster
 * mode), write_cache (lun create's: !direct), uuid, naa and serial (a new
 * identity, or the one the uuid gives).
 *
 * The plan is a list of admin commands ({"cmd", "args", "what"}) in an
 * order that works (removals with prune first, then targets, LUNs, ACL
 * entries, CHAP, run-time portals), which quoratectl runs one by one; and conflicts: what
 * the document asks that no command does in place (a LUN whose identity,
 * backing, path or block size differs, a smaller size, CHAP without its
 * secret). Objects the document does not list are kept unless prune.
 */
#ifndef QUORATE_DAEMON_ADMIN_CONFIG_H
#define QUORATE_DAEMON_ADMIN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "daemon/daemon.h"

#define ADMIN_CONFIG_FORMAT  "quorate-config"
#define ADMIN_CONFIG_VERSION 1

/** @n bytes of @b as 2n lower-case hex digits into @out (admin.c). */
void admin_hex_format(char *out, const uint8_t *b, size_t n);

/** The document of @d's model (CHAP secrets only with @secrets). */
struct json_object *admin_config_export(struct daemon *d, bool secrets);

/**
 * The commands that make @d's model what document @doc describes (nothing
 * removed unless @prune): *@steps, and *@conflicts (strings). @return 0, or
 * -EINVAL with the reason in @err for a document that is not one.
 */
int admin_config_plan(struct daemon *d, struct json_object *doc, bool prune,
		      struct json_object **steps, struct json_object **conflicts, char *err,
		      size_t errlen);

#endif
