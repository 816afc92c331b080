/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The admin protocol between quoratectl and quorated: the only daemon header
 * the CLI may include (DESIGN §2). Transport is a libqb IPC service named by
 * the config's ipc_name (default "quorated"). The daemon admits root, its
 * own uid and members of [node] admin_group; the CLI checks the server's
 * uid before sending (root, its own, or --daemon-user), since anybody can
 * bind the abstract socket name first.
 *
 * One request, one response. A request is a struct qb_ipc_request_header
 * (id CTL_MSG_REQUEST, size = whole message) followed by a NUL-terminated
 * JSON object; a response is a struct qb_ipc_response_header (id
 * CTL_MSG_RESPONSE, error 0) followed by a NUL-terminated JSON object.
 *
 * Request:  {"version": 1, "cmd": "lun.create", "args": {...}}
 * Response: {"ok": true, "result": <any>}  or
 *           {"ok": false, "error": "one line", "kind": CTL_ERR_*}
 * The kind says what went wrong, for scripts (quoratectl --json prints
 * {"error": {"kind", "message"}}): an argument is invalid, an object is
 * not found or already exists, the daemon refuses the change (rules,
 * sessions, --force missing), the node is unavailable (not quorate), or an
 * operation failed on this node. quoratectl adds its own: usage (exit 2),
 * unreachable (no daemon, no answer) and denied (no permission, or an
 * impostor serving the name).
 *
 * Commands and their args (all names are strings unless noted; the rules of
 * LUN numbers, block sizes and backing kinds are daemon/base/domain.h):
 *   status              -
 *   target.create       name, alias?          target.delete   name
 *   target.list         -
 *   target.show         target  result: name, alias, node_id, running, luns (lun.list
 *                       objects), acl (initiator names), chap (null | {user,
 *                       mutual_user}), sessions (session.list objects)
 *   target.set          name, alias: result name, alias, changed (false: it had
 *                       that alias, nothing proposed)
 *   lun.create          target, lun (int, 0..LUN_ID_MAX), backing (LUN_BACKING_*), path?,
 *                       size (int bytes, 0 = file size), block_size (lun_block_size_valid),
 *                       direct?, thin, read_only, grow (bools; direct absent: the
 *                       node's default, O_DIRECT in cluster mode), write_cache
 *                       (bool, default !direct), alias?, uuid?, naa?, serial? (the
 *                       identity, domain.h formats; random when absent); the result
 *                       adds path and file ("created"|"grown"|"existing")
 *   lun.delete          target, lun (int)     lun.list        target?
 *                       (an OFFLINE LUN has "offline_reason")
 *   lun.show            target, lun (int)  result: the lun.list object and node_id
 *                       (lun.list objects have "admin_offline": 'lun offline' in force)
 *                       (and "write_cache", "alias")
 *   lun.offline         target, lun (int): every node takes the LU offline
 *   lun.online          target, lun (int): every node opens it again; an error
 *                       when it stays offline on this node (the reason in it)
 *   lun.resize          target, lun (int), size (int bytes, whole blocks), force
 *                       (bool: needed to shrink); result: target, lun, size,
 *                       old_size, changed (false: already that size, nothing
 *                       proposed), path, file ("grown"|"existing"), old_file_size
 *   lun.set             target, lun (int), alias?, read_only (bool)?, write_cache
 *                       (bool)?: at least one; result: target, lun, changed (the
 *                       names of the fields that differed; [] = nothing proposed)
 *   acl.add / acl.remove  target, initiator   acl.list        target?
 *   chap.set            target | discovery (bool), user, secret,
 *                       mutual_user?, mutual_secret?, force (bool)
 * A result object may carry "warnings": an array of strings for stderr.
 *   chap.clear          target | discovery (bool)
 *   chap.list           -  (users only, never secrets)
 *   session.list        -                     session.close   tsih (int)
 *   session.show        tsih (int)?  result: session.list objects with node_id,
 *                       portal, login_time (epoch s), initiator_alias, auth {method
 *                       "CHAP"|"None", user (null without CHAP), mutual}, keys
 *                       (negotiated, RFC 7143 names; MaxRecvDataSegmentLength
 *                       {target, initiator}), commands_active, logout_requested
 *   session.logout      one of tsih (int), initiator, target; wait (int s, 1..3600,
 *                       default 5)  result: sessions (TSIHs asked), wait_s
 *   status              result: node, node_id, version, uptime_s, transport
 *                       (and "cluster", the same), quorate, serving, members
 *                       (node ids in the membership, ascending), timing (null
 *                       standalone; else token_ms, consensus_ms,
 *                       qdevice_timeout_ms, heartbeat_ms, lease_base_ms, lease_ms,
 *                       grace_ms), epoch,
 *                       applied_seq, digest (hex SHA-256 of the snapshot),
 *                       targets, luns, luns_offline, sessions, metrics_url
 *                       ("http://HOST:PORT/metrics" of [metrics] listen, or null)
 *   cluster.status      -  result: transport, node_id (this node), quorate, nodes
 *                       [{node_id, name, self, member, serving, diverged, epoch,
 *                       applied_seq, digest (hex), portals ["addr:port"]}]
 *                       ascending by node_id (every node of the member table)
 *   stats               target?  result: luns [{target, lun, STATS}], sessions
 *                       [{target, initiator, isid (hex), tsih, STATS}] of this node,
 *                       STATS = commands {read, write, other}, read_bytes,
 *                       written_bytes, errors {SENSE KEY NAME: count, all 16},
 *                       reservation_conflicts, latency {count, sum_ns, buckets
 *                       [{le_us (null: the rest), count}], per bucket, not
 *                       cumulative} (daemon/base/io_stats.h, daemon/stats.c)
 *   reload              -  re-read the configuration file (daemon/reload.c); result:
 *                       file, applied [keys, "[iscsi] max_sessions"], restart_needed
 *                       [keys]; a file with an error: invalid, "FILE:LINE: message"
 *   cluster.verify      -  result: members [{node_id, epoch, applied_seq,
 *                       digest}], consistent (all digests equal), diverged
 *                       (equal (epoch, seq), different digests)
 *   config.export       secrets (bool)  result: the document (daemon/admin_config.h)
 *   config.plan         document (object), prune (bool)  result: steps [{cmd, args,
 *                       what}] (commands of this protocol, in the order to run
 *                       them; args may hold CHAP secrets), conflicts [strings]
 *   snapshot.save       path (absolute, must not exist)
 *   snapshot.install    path (absolute), replace (bool, required true)
 *   pr.show             target, lun (int)  result: target, lun, generation, aptpl,
 *                       reservation (null | {type "WR_EX".., type_code, scope,
 *                       all_registrants, holder (initiator port; null for All
 *                       Registrants), holder_relative_port}), spc2_reservation
 *                       (null | {initiator_port, relative_port}), registrants
 *                       [{key (uint64), initiator_port, all_tg_pt, target_port,
 *                       relative_port, node (null with all_tg_pt), holder}]
 *   pr.clear            target, lun (int), force (bool, required true): the
 *                       PR_CLEAR mutation; result adds uid, registrations_removed
 *   portal.list         node (int)?  result: [{node, portal, source "config" |
 *                       "runtime", listening (bool), error (string, this node's
 *                       run-time portals that cannot listen)}] by node, config first
 *   portal.add          portal ("A.B.C.D:PORT" | "[V6]:PORT"), node (int, default
 *                       this node): the PORTAL mutation; result: node, portal (the
 *                       canonical form), listening (bool; null for another node)
 *   portal.remove       portal, node (int)?: result node, portal
 */
#ifndef QUORATE_DAEMON_IPC_CTL_PROTO_H
#define QUORATE_DAEMON_IPC_CTL_PROTO_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <qb/qbipc_common.h>

#include "daemon/base/domain.h"

#define CTL_PROTO_VERSION 1

#define CTL_ERR_INVALID "invalid"
#define CTL_ERR_NOT_FOUND "not_found"
#define CTL_ERR_EXISTS "exists"
#define CTL_ERR_REFUSED "refused"
#define CTL_ERR_UNAVAILABLE "unavailable"
#define CTL_ERR_FAILED "failed"
#define CTL_ERR_USAGE "usage"
#define CTL_ERR_UNREACHABLE "unreachable"
#define CTL_ERR_DENIED "denied"

/* The kind of a -errno from the daemon's checks and apply. */
static inline const char *ctl_err_kind(int rc)
{
	switch (rc) {
	case -ENOENT:
		return CTL_ERR_NOT_FOUND;
	case -EEXIST:
		return CTL_ERR_EXISTS;
	case -EINVAL:
	case -ENAMETOOLONG:
	case -ERANGE:
		return CTL_ERR_INVALID;
	case -EAGAIN:
		return CTL_ERR_UNAVAILABLE;
	case -EPERM:
	case -EBUSY:
	case -EFBIG:
		return CTL_ERR_REFUSED;
	default:
		return CTL_ERR_FAILED;
	}
}
#define CTL_IPC_NAME_DEFAULT "quorated"
#define CTL_IPC_NAME_ENV "QUORATE_IPC"	/* quoratectl's IPC name when --ipc is absent */
#define CTL_MSG_MAX (256 * 1024)	/* whole message, header included */

enum ctl_msg_id {
	CTL_MSG_REQUEST = QB_IPC_MSG_USER_START + 1,
	CTL_MSG_RESPONSE = QB_IPC_MSG_USER_START + 2,
};

/*
 * Who listens on the IPC service @name? libqb binds the abstract address
 * "\0NAME" padded with NULs to the whole sun_path; SO_PEERCRED on a
 * connection to it yields the listener's pid and uid as the kernel recorded
 * them at listen(). Non-blocking and sending nothing, so a hostile listener
 * can neither stall the caller nor learn anything. @return 0, or -errno
 * (-ECONNREFUSED or -ENOENT: nobody listens; any error if libqb's naming
 * ever changes, so callers must not rely on it alone).
 */
static inline int ctl_ipc_listener_cred(const char *name, struct ucred *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(*out);
	size_t n = strlen(name);
	int fd, rc = 0;

	if (n + 1 >= sizeof(sa.sun_path)) {
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path + 1, name, n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, out, &len) < 0) {
		rc = -errno;
	}
	close(fd);
	return rc;
}

#endif
