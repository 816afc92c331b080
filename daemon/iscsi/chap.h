/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CHAP for iSCSI login (RFC 7143 §12.1.3, RFC 1994), target side.
 * Pure apart from getrandom(2) for identifiers and challenges: no logging,
 * no sockets. Hashing through OpenSSL EVP.
 *
 * Exchange (security stage):
 *   I: AuthMethod=CHAP,None...      T: AuthMethod=CHAP
 *   I: CHAP_A=<list>                T: CHAP_A=<a> CHAP_I=<id> CHAP_C=<challenge>
 *   I: CHAP_N=<user> CHAP_R=<resp> [CHAP_I=<id'> CHAP_C=<c'> for mutual]
 *                                   T: [CHAP_N=<our user> CHAP_R=<our resp>]
 * Response = H(id || secret || challenge) (RFC 1994 §4.1).
 *
 * Invariants: secrets never appear in error strings; responses are
 * compared in constant time; a challenge the initiator sends back equal
 * to ours (reflection attack, §12.1.3) fails the login; our challenge is
 * ISCSI_CHAP_CHALLENGE_LEN random bytes, never reused across logins.
 */
#ifndef QUORATE_DAEMON_ISCSI_CHAP_H
#define QUORATE_DAEMON_ISCSI_CHAP_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/iscsi/text.h"

/* PPP authentication algorithm numbers (IANA, as iSCSI uses them in CHAP_A). */
enum iscsi_chap_alg {
	ISCSI_CHAP_ALG_NONE = 0,
	ISCSI_CHAP_ALG_MD5 = 5,		/* RFC 1994, mandatory in RFC 7143 */
	ISCSI_CHAP_ALG_SHA1 = 6,	/* as Linux LIO / open-iscsi use it */
	ISCSI_CHAP_ALG_SHA256 = 7,
};

#define ISCSI_CHAP_CHALLENGE_LEN 16	/* random bytes we send in CHAP_C */
#define ISCSI_CHAP_CHALLENGE_MAX 1024	/* most challenge bytes we accept from the initiator */
#define ISCSI_CHAP_DIGEST_MAX 32	/* SHA-256 */
#define ISCSI_CHAP_SECRET_MAX 255

enum iscsi_chap_err {
	ISCSI_CHAP_OK = 0,
	ISCSI_CHAP_ERR_NO_ALG,		/* no algorithm of CHAP_A we support */
	ISCSI_CHAP_ERR_MISSING,		/* CHAP_N or CHAP_R (or half of CHAP_I/CHAP_C) missing */
	ISCSI_CHAP_ERR_ENCODING,	/* value neither valid 0x-hex nor 0b-base64 (or decimal for CHAP_I) */
	ISCSI_CHAP_ERR_USER,		/* CHAP_N is not the configured user */
	ISCSI_CHAP_ERR_RESPONSE,	/* CHAP_R does not match */
	ISCSI_CHAP_ERR_REFLECTED,	/* initiator's CHAP_C equals our challenge */
	ISCSI_CHAP_ERR_NO_MUTUAL,	/* initiator asks for mutual CHAP, we have no mutual secret */
	ISCSI_CHAP_ERR_INTERNAL,	/* random source or libcrypto failed */
};

/* One CHAP exchange; embed it in the login state. */
struct iscsi_chap {
	enum iscsi_chap_alg alg;
	uint8_t id;
	uint8_t challenge[ISCSI_CHAP_CHALLENGE_LEN];
};

/** Static, secret-free description of an error code, for logs. */
const char *iscsi_chap_err_str(enum iscsi_chap_err err);

/** Digest length of @alg in bytes, 0 if unsupported. */
size_t iscsi_chap_digest_len(enum iscsi_chap_alg alg);

/**
 * Pick the algorithm from the initiator's CHAP_A list (comma-separated
 * numbers, §12.1.3): the first one we support, in the initiator's order.
 * @return ISCSI_CHAP_OK or ISCSI_CHAP_ERR_NO_ALG.
 */
enum iscsi_chap_err iscsi_chap_select(const char *chap_a, enum iscsi_chap_alg *alg);

/**
 * Start an exchange with @alg: random identifier and challenge, then
 * append CHAP_A, CHAP_I, CHAP_C (hex) to @rsp.
 * @return ISCSI_CHAP_OK, ISCSI_CHAP_ERR_INTERNAL, or -ENOSPC as
 * ISCSI_CHAP_ERR_INTERNAL if the response buffer is full.
 */
enum iscsi_chap_err iscsi_chap_challenge(struct iscsi_chap *chap, enum iscsi_chap_alg alg,
					 struct iscsi_text_builder *rsp);

/**
 * Verify the initiator's answer: @chap_n must equal @user and @chap_r must
 * be H(id || secret || challenge). NULL @chap_n/@chap_r give ERR_MISSING.
 */
enum iscsi_chap_err iscsi_chap_verify(const struct iscsi_chap *chap, const char *chap_n,
				      const char *chap_r, const char *user,
				      const char *secret);

/**
 * Mutual CHAP: the initiator sent @chap_i/@chap_c; append our CHAP_N=@user
 * and CHAP_R=H(chap_i || secret || chap_c) to @rsp. Refuses a challenge
 * equal to the one we sent (ERR_REFLECTED) and a missing @secret (ERR_NO_MUTUAL).
 */
enum iscsi_chap_err iscsi_chap_mutual(const struct iscsi_chap *chap, const char *chap_i,
				      const char *chap_c, const char *user, const char *secret,
				      struct iscsi_text_builder *rsp);

/**
 * H(id || secret || challenge) for @alg into @out (ISCSI_CHAP_DIGEST_MAX
 * bytes). @return the digest length, or -EINVAL / -EIO.
 */
int iscsi_chap_hash(enum iscsi_chap_alg alg, uint8_t id, const void *secret, size_t secret_len,
		    const uint8_t *challenge, size_t challenge_len, uint8_t *out);

/**
 * Decode a binary value (§6.1 binary-value: "0x" hex or "0b" base64,
 * case-insensitive prefix). @return the number of bytes, or -EINVAL for
 * bad encoding, -EMSGSIZE if it exceeds @cap.
 */
int iscsi_chap_decode(const char *value, uint8_t *out, size_t cap);

/** Encode @len bytes as "0x..." hex into @out. @return 0 or -ENOSPC. */
int iscsi_chap_encode_hex(const uint8_t *data, size_t len, char *out, size_t cap);

#endif
