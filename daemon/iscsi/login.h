/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Target-side iSCSI login state machine (RFC 7143 §6.3, §7.4, §11.12,
 * §11.13). Pure: a function from one received Login Request (BHS + data
 * segment) to one Login Response (BHS + data segment). No sockets, no
 * main loop, no logging: the caller (the connection code) sends the
 * response and logs iscsi_login_reason() on failure.
 *
 * What needs the server's state comes through struct iscsi_login_env,
 * implemented by the connection/server code: target lookup with ACL and
 * CHAP credentials, discovery CHAP credentials, and the check of a login
 * that names an existing session (TSIH != 0).
 *
 * Caller contract, one call per received Login Request PDU:
 *  - @req_bhs is the 48-byte BHS, @data the data segment WITHOUT padding
 *    and digest, @len == DataSegmentLength of the BHS (the caller has
 *    checked it against ISCSI_LOGIN_DSL_MAX or its own receive limit).
 *  - The response BHS is always fully written (opcode, flags, ISID, TSIH,
 *    ITT, StatSN, ExpCmdSN, MaxCmdSN, status, DataSegmentLength) and
 *    @rsp_data holds *rsp_len bytes (< @rsp_cap, never above the 8192-byte
 *    login limit); the caller sends both whatever the step returned.
 *  - ISCSI_LOGIN_CONTINUE: wait for the next Login Request.
 *  - ISCSI_LOGIN_FAIL: after sending the response, close the connection
 *    (§7.4.1 / §11.13.5: a non-zero status class ends the login).
 *  - ISCSI_LOGIN_DONE: the response is the final one (T=1, NSG=3). For a
 *    new session (iscsi_login_tsih() == 0) the caller allocates a TSIH and
 *    writes it with iscsi_login_rsp_set_tsih() before sending (§11.13.4:
 *    the TSIH is set only in the final response). Then the connection is in
 *    full feature phase with iscsi_login_params() and StatSN
 *    iscsi_login_next_stat_sn(), ExpCmdSN iscsi_login_exp_cmd_sn().
 *
 * Text continuation both ways: a request with C=1 is accumulated and
 * answered with an empty response (§11.12.2 "C bit"); a response longer
 * than fits is sent in pieces with C=1 and continued on each (empty)
 * request the initiator sends back.
 */
#ifndef QUORATE_DAEMON_ISCSI_LOGIN_H
#define QUORATE_DAEMON_ISCSI_LOGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/iscsi/params.h"
#include "daemon/iscsi/pdu.h"

#define ISCSI_NAME_MAX 223		/* RFC 3722 §3.2: iSCSI names up to 223 bytes */
#define ISCSI_VERSION 0x00		/* §11.12.4: VersionMax/VersionMin 0 */

struct iscsi_login;

/*
 * What the server tells the login about one target (or the discovery
 * service). Strings are borrowed for the duration of the callback only:
 * the login copies what it needs and wipes the secrets when destroyed.
 */
struct iscsi_login_auth {
	bool chap_required;		/* AuthMethod must be CHAP */
	const char *chap_user;		/* CHAP_N the initiator must present */
	const char *chap_secret;
	const char *mutual_user;	/* our CHAP_N for mutual CHAP, or NULL */
	const char *mutual_secret;	/* our secret for mutual CHAP, or NULL */
	const char *target_alias;	/* TargetAlias to declare, or NULL */
};

struct iscsi_login_env {
	/*
	 * Normal session to @target for @initiator. Fill @out and return 0;
	 * -ENOENT: no such target (0x0203); -EACCES: ACL forbids (0x0202);
	 * -EAGAIN: service unavailable, e.g. node not quorate (0x0301);
	 * -EBUSY: out of resources, e.g. too many sessions (0x0302);
	 * anything else: target error (0x0300).
	 */
	int (*lookup_target)(void *ctx, const char *target, const char *initiator,
			     struct iscsi_login_auth *out);
	/* Discovery session for @initiator: same return codes. May be NULL:
	 * then discovery needs no authentication. */
	int (*lookup_discovery)(void *ctx, const char *initiator, struct iscsi_login_auth *out);
	/*
	 * A login with TSIH != 0: add or reinstate connection @cid of the
	 * existing session (@tsih, @isid, @initiator, @target). 0: allowed;
	 * -ENOENT: no such session (0x020a); -EBUSY: too many connections
	 * (0x0206); anything else: cannot include in session (0x0208).
	 * May be NULL: then every TSIH != 0 gets 0x020a.
	 */
	int (*check_session)(void *ctx, uint16_t tsih, const uint8_t *isid, uint16_t cid,
			     const char *initiator, const char *target);
	/*
	 * A CHAP response of @initiator is about to be verified: 0 goes ahead;
	 * -EAGAIN refuses the login unverified with 0x0301 (the server's
	 * back-off after failed authentications). May be NULL.
	 */
	int (*chap_attempt)(void *ctx, const char *initiator);
	/* A CHAP response (CHAP_N + CHAP_R) was checked: right (@ok) or a wrong
	 * user or response. May be NULL. */
	void (*chap_result)(void *ctx, const char *initiator, bool ok);
};

struct iscsi_login_config {
	struct iscsi_params limits;	/* see params.h; sanitized on create */
	uint16_t tpgt;			/* TargetPortalGroupTag we declare */
	uint32_t cmd_window;		/* MaxCmdSN = ExpCmdSN + cmd_window - 1 (>= 1) */
	uint32_t stat_sn;		/* StatSN of our first response */
	/* Where a mutual secret is configured, refuse an initiator that does
	 * not ask for the target's half (RFC 7143 lets it skip it). */
	bool require_mutual;
};

enum iscsi_login_step {
	ISCSI_LOGIN_CONTINUE = 0,
	ISCSI_LOGIN_DONE,
	ISCSI_LOGIN_FAIL,
};

/** @return 0 or -ENOMEM / -EINVAL. @env and @ctx are borrowed for the login's life. */
int iscsi_login_create(const struct iscsi_login_env *env, void *ctx,
		       const struct iscsi_login_config *cfg, struct iscsi_login **out);
/** Frees the login and wipes the copied secrets. NULL is fine. */
void iscsi_login_destroy(struct iscsi_login *login);

enum iscsi_login_step iscsi_login_step(struct iscsi_login *login, const uint8_t *req_bhs,
				       const uint8_t *data, uint32_t len, uint8_t *rsp_bhs,
				       uint8_t *rsp_data, uint32_t rsp_cap, uint32_t *rsp_len);

/** Write the TSIH into a Login Response BHS (bytes 14-15). */
void iscsi_login_rsp_set_tsih(uint8_t *rsp_bhs, uint16_t tsih);

/* Results, valid after ISCSI_LOGIN_DONE (names also earlier, once seen). */
const struct iscsi_params *iscsi_login_params(const struct iscsi_login *login);
enum iscsi_session_type iscsi_login_session_type(const struct iscsi_login *login);
const char *iscsi_login_initiator_name(const struct iscsi_login *login);	/* "" if none yet */
const char *iscsi_login_initiator_alias(const struct iscsi_login *login);	/* "" if none */
const char *iscsi_login_target_name(const struct iscsi_login *login);	/* "" for discovery */
/** The InitiatorName / TargetName as sent when the login mapped it to its
 * canonical form (RFC 3722, lower case), else NULL. */
const char *iscsi_login_initiator_name_given(const struct iscsi_login *login);
const char *iscsi_login_target_name_given(const struct iscsi_login *login);
void iscsi_login_isid(const struct iscsi_login *login, uint8_t isid[ISCSI_ISID_LEN]);
uint16_t iscsi_login_tsih(const struct iscsi_login *login);	/* TSIH the initiator sent */
uint16_t iscsi_login_cid(const struct iscsi_login *login);
uint32_t iscsi_login_exp_cmd_sn(const struct iscsi_login *login);
uint32_t iscsi_login_next_stat_sn(const struct iscsi_login *login);
/** Status of the last response ((class << 8) | detail, enum iscsi_login_status). */
uint16_t iscsi_login_status(const struct iscsi_login *login);
/** Why the login failed: static, secret-free text for the log ("" if it did not). */
const char *iscsi_login_reason(const struct iscsi_login *login);
/** True once CHAP succeeded (and mutual CHAP, if the initiator asked for it). */
bool iscsi_login_authenticated(const struct iscsi_login *login);
/** The CHAP user (CHAP_N) the initiator authenticated as, "" without CHAP. */
const char *iscsi_login_chap_user(const struct iscsi_login *login);
/** Did the target authenticate itself too (mutual CHAP)? */
bool iscsi_login_chap_mutual(const struct iscsi_login *login);

#endif
