// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Target side of the RFC 7143 §13 operational text-key negotiation.
 *
 * A table describes each key the target knows: its kind (list, numerical
 * with Minimum or Maximum result, boolean with AND or OR result,
 * declarative, a key only the target may send, a key login.c interprets),
 * its scope (leading-only, initialize-only, or all phases) and where it is
 * Irrelevant (session keys in a Discovery session). iscsi_neg_key() looks
 * the key up, refuses a second offer of the same key (§6.2: a key may not
 * be renegotiated within one login; failure is an initiator error),
 * validates the value against the §13 range, computes the result from the
 * target's limits and appends the answer:
 *  - list (§6.2.1): the first value of the initiator's list we support,
 *    or Reject if none;
 *  - numerical (§6.2.2): Minimum or Maximum of offer and our limit;
 *    out-of-range or malformed values are answered with Reject;
 *  - boolean (§6.2.2): OR / AND of offer and our value;
 *  - declarative MaxRecvDataSegmentLength (§13.12): the initiator's value
 *    becomes max_xmit_dsl; we answer with our own declaration;
 *  - unknown keys and X-/X# extension keys (§13.5.4, §6.2): NotUnderstood;
 *  - obsolete marker keys (§13.25): Reject;
 *  - keys only a target sends (TargetAddress, TargetAlias,
 *    TargetPortalGroupTag): Reject.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/iscsi/params.h"

/* Constants of §6.1/§6.2. */
#define VAL_YES "Yes"
#define VAL_NO "No"
#define VAL_NONE "None"
#define VAL_CRC32C "CRC32C"
#define VAL_REJECT "Reject"
#define VAL_IRRELEVANT "Irrelevant"
#define VAL_NOT_UNDERSTOOD "NotUnderstood"
#define VAL_TASK_REPORTING_RFC3720 "RFC3720"

enum key_kind {
	KIND_DIGEST,		/* list of None/CRC32C */
	KIND_NUM_MIN,		/* numerical, result Minimum */
	KIND_NUM_MAX,		/* numerical, result Maximum */
	KIND_BOOL_OR,
	KIND_BOOL_AND,
	KIND_MRDSL,		/* declarative MaxRecvDataSegmentLength */
	KIND_TASK_REPORTING,	/* §13.23 list, we do RFC3720 only */
	KIND_LOGIN,		/* interpreted by login.c */
	KIND_SECURITY,		/* AuthMethod, CHAP_*: login.c, security stage only */
	KIND_TARGET_ONLY,	/* only a target sends it */
	KIND_OBSOLETE,		/* §13.25 markers */
	KIND_SENDTARGETS,	/* Text Requests in full feature phase only */
};

/* Where a key may be used (§13 "Use:"). */
enum key_use {
	USE_ALL,		/* login and full feature phase */
	USE_IO,			/* login only (initialize only) */
	USE_LO,			/* leading login only */
};

enum key_field {
	F_NONE,
	F_HEADER_DIGEST,
	F_DATA_DIGEST,
	F_MAX_CONNECTIONS,
	F_INITIAL_R2T,
	F_IMMEDIATE_DATA,
	F_MAX_BURST,
	F_FIRST_BURST,
	F_TIME2WAIT,
	F_TIME2RETAIN,
	F_MAX_R2T,
	F_PDU_IN_ORDER,
	F_SEQ_IN_ORDER,
	F_ERL,
	F_PROTOCOL_LEVEL,
};

struct key_def {
	const char *name;
	enum key_kind kind;
	enum key_use use;
	enum key_field field;
	uint32_t min;
	uint32_t max;
	bool irrelevant_in_discovery;
};

static const struct key_def key_table[] = {
	{ "HeaderDigest", KIND_DIGEST, USE_IO, F_HEADER_DIGEST, 0, 0, false },
	{ "DataDigest", KIND_DIGEST, USE_IO, F_DATA_DIGEST, 0, 0, false },
	{ "MaxConnections", KIND_NUM_MIN, USE_LO, F_MAX_CONNECTIONS, 1, ISCSI_MAX_CONNECTIONS_MAX,
	  true },
	{ "SendTargets", KIND_SENDTARGETS, USE_ALL, F_NONE, 0, 0, false },
	{ "TargetName", KIND_LOGIN, USE_IO, F_NONE, 0, 0, false },
	{ "InitiatorName", KIND_LOGIN, USE_IO, F_NONE, 0, 0, false },
	{ "TargetAlias", KIND_TARGET_ONLY, USE_ALL, F_NONE, 0, 0, false },
	{ "InitiatorAlias", KIND_LOGIN, USE_ALL, F_NONE, 0, 0, false },
	{ "TargetAddress", KIND_TARGET_ONLY, USE_ALL, F_NONE, 0, 0, false },
	{ "TargetPortalGroupTag", KIND_TARGET_ONLY, USE_IO, F_NONE, 0, 0, false },
	{ "InitialR2T", KIND_BOOL_OR, USE_LO, F_INITIAL_R2T, 0, 0, true },
	{ "ImmediateData", KIND_BOOL_AND, USE_LO, F_IMMEDIATE_DATA, 0, 0, true },
	{ "MaxRecvDataSegmentLength", KIND_MRDSL, USE_ALL, F_NONE, ISCSI_MRDSL_MIN,
	  ISCSI_MRDSL_MAX, false },
	{ "MaxBurstLength", KIND_NUM_MIN, USE_LO, F_MAX_BURST, ISCSI_BURST_MIN, ISCSI_BURST_MAX,
	  true },
	{ "FirstBurstLength", KIND_NUM_MIN, USE_LO, F_FIRST_BURST, ISCSI_BURST_MIN,
	  ISCSI_BURST_MAX, true },
	{ "DefaultTime2Wait", KIND_NUM_MAX, USE_LO, F_TIME2WAIT, 0, ISCSI_TIME2_MAX, false },
	{ "DefaultTime2Retain", KIND_NUM_MIN, USE_LO, F_TIME2RETAIN, 0, ISCSI_TIME2_MAX, false },
	{ "MaxOutstandingR2T", KIND_NUM_MIN, USE_LO, F_MAX_R2T, 1, ISCSI_MAX_R2T_MAX, true },
	{ "DataPDUInOrder", KIND_BOOL_OR, USE_LO, F_PDU_IN_ORDER, 0, 0, true },
	{ "DataSequenceInOrder", KIND_BOOL_OR, USE_LO, F_SEQ_IN_ORDER, 0, 0, true },
	{ "ErrorRecoveryLevel", KIND_NUM_MIN, USE_LO, F_ERL, 0, ISCSI_ERL_MAX, false },
	{ "SessionType", KIND_LOGIN, USE_LO, F_NONE, 0, 0, false },
	{ "AuthMethod", KIND_SECURITY, USE_IO, F_NONE, 0, 0, false },
	{ "CHAP_A", KIND_SECURITY, USE_IO, F_NONE, 0, 0, false },
	{ "CHAP_I", KIND_SECURITY, USE_IO, F_NONE, 0, 0, false },
	{ "CHAP_C", KIND_SECURITY, USE_IO, F_NONE, 0, 0, false },
	{ "CHAP_N", KIND_SECURITY, USE_IO, F_NONE, 0, 0, false },
	{ "CHAP_R", KIND_SECURITY, USE_IO, F_NONE, 0, 0, false },
	{ "OFMarker", KIND_OBSOLETE, USE_IO, F_NONE, 0, 0, false },
	{ "IFMarker", KIND_OBSOLETE, USE_IO, F_NONE, 0, 0, false },
	{ "OFMarkInt", KIND_OBSOLETE, USE_IO, F_NONE, 0, 0, false },
	{ "IFMarkInt", KIND_OBSOLETE, USE_IO, F_NONE, 0, 0, false },
	{ "TaskReporting", KIND_TASK_REPORTING, USE_LO, F_NONE, 0, 0, true },
	{ "iSCSIProtocolLevel", KIND_NUM_MIN, USE_LO, F_PROTOCOL_LEVEL, 0,
	  ISCSI_PROTOCOL_LEVEL_MAX, false },
};

#define KEY_COUNT (sizeof(key_table) / sizeof(key_table[0]))
_Static_assert(KEY_COUNT <= 64, "offered/answered masks are 64 bits");

static const char *const key_mrdsl = "MaxRecvDataSegmentLength";
static const char *const key_tpgt = "TargetPortalGroupTag";

void iscsi_params_init_defaults(struct iscsi_params *p)
{
	*p = (struct iscsi_params){
		.header_digest = ISCSI_DIGEST_NONE,
		.data_digest = ISCSI_DIGEST_NONE,
		.max_recv_dsl = ISCSI_MRDSL_DEFAULT,
		.max_xmit_dsl = ISCSI_MRDSL_DEFAULT,
		.max_connections = ISCSI_MAX_CONNECTIONS_DEFAULT,
		.initial_r2t = true,
		.immediate_data = true,
		.max_burst = ISCSI_MAX_BURST_DEFAULT,
		.first_burst = ISCSI_FIRST_BURST_DEFAULT,
		.default_time2wait = ISCSI_TIME2WAIT_DEFAULT,
		.default_time2retain = ISCSI_TIME2RETAIN_DEFAULT,
		.max_outstanding_r2t = ISCSI_MAX_R2T_DEFAULT,
		.data_pdu_in_order = true,
		.data_sequence_in_order = true,
		.error_recovery_level = 0,
		.protocol_level = ISCSI_PROTOCOL_LEVEL_DEFAULT,
	};
}

void iscsi_params_init_limits(struct iscsi_params *p)
{
	iscsi_params_init_defaults(p);
	p->header_digest = ISCSI_DIGEST_CRC32C;
	p->data_digest = ISCSI_DIGEST_CRC32C;
	p->max_recv_dsl = 262144;
	p->max_xmit_dsl = ISCSI_MRDSL_MAX;
	p->initial_r2t = false;
	p->max_burst = 1048576;
	p->first_burst = 262144;
}

static uint32_t clamp_u32(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

void iscsi_params_limits_sanitize(struct iscsi_params *p)
{
	p->max_recv_dsl = clamp_u32(p->max_recv_dsl, ISCSI_MRDSL_MIN, ISCSI_MRDSL_MAX);
	p->max_xmit_dsl = clamp_u32(p->max_xmit_dsl, ISCSI_MRDSL_MIN, ISCSI_MRDSL_MAX);
	/* We run one connection per session and error recovery level 0 only. */
	p->max_connections = 1;
	p->error_recovery_level = 0;
	p->max_burst = clamp_u32(p->max_burst, ISCSI_BURST_MIN, ISCSI_BURST_MAX);
	p->first_burst = clamp_u32(p->first_burst, ISCSI_BURST_MIN, p->max_burst);
	p->default_time2wait = clamp_u32(p->default_time2wait, 0, ISCSI_TIME2_MAX);
	p->default_time2retain = clamp_u32(p->default_time2retain, 0, ISCSI_TIME2_MAX);
	p->max_outstanding_r2t = clamp_u32(p->max_outstanding_r2t, 1, ISCSI_MAX_R2T_MAX);
	/* Out-of-order data needs error recovery we do not implement. */
	p->data_pdu_in_order = true;
	p->data_sequence_in_order = true;
	p->protocol_level = clamp_u32(p->protocol_level, 0, ISCSI_PROTOCOL_LEVEL_DEFAULT);
	if (p->header_digest != ISCSI_DIGEST_CRC32C) {
		p->header_digest = ISCSI_DIGEST_NONE;
	}
	if (p->data_digest != ISCSI_DIGEST_CRC32C) {
		p->data_digest = ISCSI_DIGEST_NONE;
	}
}

void iscsi_neg_init(struct iscsi_neg *neg, const struct iscsi_params *limits, bool leading)
{
	memset(neg, 0, sizeof(*neg));
	neg->limits = *limits;
	iscsi_params_limits_sanitize(&neg->limits);
	iscsi_params_init_defaults(&neg->result);
	neg->result.max_recv_dsl = neg->limits.max_recv_dsl;
	neg->session_type = ISCSI_SESSION_NORMAL;
	neg->leading = leading;
}

const char *iscsi_neg_result_str(enum iscsi_neg_result r)
{
	switch (r) {
	case ISCSI_NEG_OK:
		return "ok";
	case ISCSI_NEG_LOGIN_KEY:
		return "login key";
	case ISCSI_NEG_ERR_DUPLICATE:
		return "key negotiated twice";
	case ISCSI_NEG_ERR_NOSPACE:
		return "response too long";
	case ISCSI_NEG_ERR_STAGE:
		return "key not allowed in this stage";
	case ISCSI_NEG_ERR_VALUE:
		return "invalid key value";
	}
	return "unknown";
}

static const struct key_def *key_lookup(const char *key, size_t key_len, unsigned int *index)
{
	for (unsigned int i = 0; i < KEY_COUNT; i++) {
		if (strlen(key_table[i].name) == key_len &&
		    memcmp(key_table[i].name, key, key_len) == 0) {
			*index = i;
			return &key_table[i];
		}
	}
	return NULL;
}

/*
 * §6.1 numerical-value: decimal-constant or hex-constant ("0x..."), at most
 * 64 bits; we only need 32. @return 0 or -EINVAL / -ERANGE.
 */
static int parse_number(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0') {
		return -EINVAL;
	}
	for (; *s != '\0'; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9') {
			d = (unsigned int)(*s - '0');
		} else if (base == 16 && *s >= 'a' && *s <= 'f') {
			d = (unsigned int)(*s - 'a' + 10);
		} else if (base == 16 && *s >= 'A' && *s <= 'F') {
			d = (unsigned int)(*s - 'A' + 10);
		} else {
			return -EINVAL;
		}
		if (v > (UINT64_MAX - d) / base) {
			return -ERANGE;
		}
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (strcmp(s, VAL_YES) == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(s, VAL_NO) == 0) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static uint32_t *num_field(struct iscsi_params *p, enum key_field f)
{
	switch (f) {
	case F_MAX_CONNECTIONS:
		return &p->max_connections;
	case F_MAX_BURST:
		return &p->max_burst;
	case F_FIRST_BURST:
		return &p->first_burst;
	case F_TIME2WAIT:
		return &p->default_time2wait;
	case F_TIME2RETAIN:
		return &p->default_time2retain;
	case F_MAX_R2T:
		return &p->max_outstanding_r2t;
	case F_ERL:
		return &p->error_recovery_level;
	case F_PROTOCOL_LEVEL:
		return &p->protocol_level;
	default:
		return NULL;
	}
}

static bool *bool_field(struct iscsi_params *p, enum key_field f)
{
	switch (f) {
	case F_INITIAL_R2T:
		return &p->initial_r2t;
	case F_IMMEDIATE_DATA:
		return &p->immediate_data;
	case F_PDU_IN_ORDER:
		return &p->data_pdu_in_order;
	case F_SEQ_IN_ORDER:
		return &p->data_sequence_in_order;
	default:
		return NULL;
	}
}

static enum iscsi_digest *digest_field(struct iscsi_params *p, enum key_field f)
{
	return f == F_HEADER_DIGEST ? &p->header_digest : &p->data_digest;
}

/* Append key=value where key is not NUL-terminated. */
static enum iscsi_neg_result answer(struct iscsi_text_builder *rsp, const char *key, size_t key_len,
				    const char *value)
{
	char name[ISCSI_TEXT_KEY_MAX + 1];

	/* The parser limits keys to 63 bytes; a longer unknown key from a
	 * caller that bypassed it is cut, which is harmless for an answer. */
	if (key_len > ISCSI_TEXT_KEY_MAX) {
		key_len = ISCSI_TEXT_KEY_MAX;
	}
	memcpy(name, key, key_len);
	name[key_len] = '\0';
	return iscsi_text_add(rsp, name, value) == 0 ? ISCSI_NEG_OK : ISCSI_NEG_ERR_NOSPACE;
}

static enum iscsi_neg_result answer_u32(struct iscsi_text_builder *rsp, const char *key, uint32_t v)
{
	return iscsi_text_add_u32(rsp, key, v) == 0 ? ISCSI_NEG_OK : ISCSI_NEG_ERR_NOSPACE;
}

/* §6.2.1: the first value of the offered list that we accept. */
static enum iscsi_neg_result negotiate_digest(struct iscsi_neg *neg, const struct key_def *def,
					      const char *value, struct iscsi_text_builder *rsp)
{
	bool crc_ok = *digest_field(&neg->limits, def->field) == ISCSI_DIGEST_CRC32C;
	const char *p = value;

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == strlen(VAL_NONE) && memcmp(p, VAL_NONE, n) == 0) {
			*digest_field(&neg->result, def->field) = ISCSI_DIGEST_NONE;
			return answer(rsp, def->name, strlen(def->name), VAL_NONE);
		}
		if (crc_ok && n == strlen(VAL_CRC32C) && memcmp(p, VAL_CRC32C, n) == 0) {
			*digest_field(&neg->result, def->field) = ISCSI_DIGEST_CRC32C;
			return answer(rsp, def->name, strlen(def->name), VAL_CRC32C);
		}
		if (comma == NULL) {
			break;
		}
		p = comma + 1;
	}
	return answer(rsp, def->name, strlen(def->name), VAL_REJECT);
}

/* §13.23: TaskReporting is a list; we implement the RFC 3720 semantics only. */
static enum iscsi_neg_result negotiate_task_reporting(const struct key_def *def, const char *value,
						      struct iscsi_text_builder *rsp)
{
	const char *p = value;
	size_t want = strlen(VAL_TASK_REPORTING_RFC3720);

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == want && memcmp(p, VAL_TASK_REPORTING_RFC3720, n) == 0) {
			return answer(rsp, def->name, strlen(def->name),
				      VAL_TASK_REPORTING_RFC3720);
		}
		if (comma == NULL) {
			break;
		}
		p = comma + 1;
	}
	return answer(rsp, def->name, strlen(def->name), VAL_REJECT);
}

static enum iscsi_neg_result negotiate_number(struct iscsi_neg *neg, const struct key_def *def,
					      const char *value, struct iscsi_text_builder *rsp)
{
	uint64_t v;
	uint32_t ours = *num_field(&neg->limits, def->field);
	uint32_t res;

	if (parse_number(value, &v) != 0 || v < def->min || v > def->max) {
		return answer(rsp, def->name, strlen(def->name), VAL_REJECT);
	}
	if (def->kind == KIND_NUM_MIN) {
		res = (uint32_t)v < ours ? (uint32_t)v : ours;
	} else {
		res = (uint32_t)v > ours ? (uint32_t)v : ours;
	}
	*num_field(&neg->result, def->field) = res;
	return answer_u32(rsp, def->name, res);
}

static enum iscsi_neg_result negotiate_bool(struct iscsi_neg *neg, const struct key_def *def,
					    const char *value, struct iscsi_text_builder *rsp)
{
	bool offered, res;
	bool ours = *bool_field(&neg->limits, def->field);

	if (parse_bool(value, &offered) != 0) {
		return answer(rsp, def->name, strlen(def->name), VAL_REJECT);
	}
	res = def->kind == KIND_BOOL_OR ? (offered || ours) : (offered && ours);
	*bool_field(&neg->result, def->field) = res;
	return answer(rsp, def->name, strlen(def->name), res ? VAL_YES : VAL_NO);
}

/* §13.12: each side declares what it receives; our answer is our own declaration. */
static enum iscsi_neg_result declare_mrdsl(struct iscsi_neg *neg, const struct key_def *def,
					   const char *value, struct iscsi_text_builder *rsp,
					   unsigned int index)
{
	uint64_t v;

	if (parse_number(value, &v) != 0 || v < def->min || v > def->max) {
		return answer(rsp, def->name, strlen(def->name), VAL_REJECT);
	}
	neg->result.max_xmit_dsl = (uint32_t)v;
	if (neg->answered & (1ull << index)) {
		return ISCSI_NEG_OK;
	}
	neg->answered |= 1ull << index;
	return answer_u32(rsp, def->name, neg->limits.max_recv_dsl);
}

static bool is_extension_key(const char *key, size_t key_len)
{
	/* §13.5.4 / §6.1: "X-" vendor keys and "X#" IANA-registered keys. */
	return key_len >= 2 && key[0] == 'X' && (key[1] == '-' || key[1] == '#');
}

enum iscsi_neg_result iscsi_neg_key(struct iscsi_neg *neg, enum iscsi_neg_phase phase,
				    const char *key, size_t key_len, const char *value,
				    struct iscsi_text_builder *rsp)
{
	const struct key_def *def;
	unsigned int index;
	bool login = phase != ISCSI_NEG_FULL_FEATURE;
	enum iscsi_neg_result r;

	def = is_extension_key(key, key_len) ? NULL : key_lookup(key, key_len, &index);
	if (def == NULL) {
		return answer(rsp, key, key_len, VAL_NOT_UNDERSTOOD);
	}
	if (neg->offered & (1ull << index)) {
		return ISCSI_NEG_ERR_DUPLICATE;
	}
	neg->offered |= 1ull << index;

	if (def->kind == KIND_SECURITY) {
		if (phase == ISCSI_NEG_SECURITY) {
			return ISCSI_NEG_LOGIN_KEY;
		}
		if (login) {
			return ISCSI_NEG_ERR_STAGE;
		}
		return answer(rsp, key, key_len, VAL_REJECT);
	}
	if (def->kind == KIND_SENDTARGETS) {
		/* §13.3: only in a Text Request; the text exchange handles it
		 * before it reaches here. */
		return answer(rsp, key, key_len, login ? VAL_IRRELEVANT : VAL_REJECT);
	}
	if (!login && def->use != USE_ALL) {
		/* Initialize-only and leading-only keys cannot change in full
		 * feature phase. */
		return answer(rsp, key, key_len, VAL_REJECT);
	}
	if (def->kind == KIND_LOGIN) {
		return login ? ISCSI_NEG_LOGIN_KEY : ISCSI_NEG_OK;
	}
	if (def->kind == KIND_TARGET_ONLY || def->kind == KIND_OBSOLETE) {
		/* §13.25: IFMarker/OFMarker SHOULD and *MarkInt MUST be
		 * answered with Reject. */
		return answer(rsp, key, key_len, VAL_REJECT);
	}
	if (def->use == USE_LO && !neg->leading) {
		return answer(rsp, key, key_len, VAL_IRRELEVANT);
	}
	if (def->irrelevant_in_discovery && neg->session_type == ISCSI_SESSION_DISCOVERY) {
		return answer(rsp, key, key_len, VAL_IRRELEVANT);
	}
	switch (def->kind) {
	case KIND_DIGEST:
		r = negotiate_digest(neg, def, value, rsp);
		break;
	case KIND_NUM_MIN:
	case KIND_NUM_MAX:
		r = negotiate_number(neg, def, value, rsp);
		break;
	case KIND_BOOL_OR:
	case KIND_BOOL_AND:
		r = negotiate_bool(neg, def, value, rsp);
		break;
	case KIND_MRDSL:
		return declare_mrdsl(neg, def, value, rsp, index);
	case KIND_TASK_REPORTING:
		r = negotiate_task_reporting(def, value, rsp);
		break;
	default:
		r = answer(rsp, key, key_len, VAL_REJECT);
		break;
	}
	neg->answered |= 1ull << index;
	return r;
}

int iscsi_neg_declare(struct iscsi_neg *neg, enum iscsi_neg_phase phase, uint16_t tpgt,
		      struct iscsi_text_builder *rsp)
{
	unsigned int index;

	if (phase != ISCSI_NEG_SECURITY && key_lookup(key_mrdsl, strlen(key_mrdsl), &index) &&
	    !(neg->answered & (1ull << index))) {
		if (iscsi_text_add_u32(rsp, key_mrdsl, neg->limits.max_recv_dsl) != 0) {
			return -ENOSPC;
		}
		neg->answered |= 1ull << index;
	}
	/* §13.9: the target declares its portal group tag in the first login
	 * response of a Normal session's leading connection. */
	if (neg->leading && neg->session_type == ISCSI_SESSION_NORMAL &&
	    key_lookup(key_tpgt, strlen(key_tpgt), &index) &&
	    !(neg->answered & (1ull << index))) {
		if (iscsi_text_add_u32(rsp, key_tpgt, tpgt) != 0) {
			return -ENOSPC;
		}
		neg->answered |= 1ull << index;
	}
	return 0;
}

void iscsi_neg_finish(struct iscsi_neg *neg)
{
	struct iscsi_params *r = &neg->result;

	/* §13.14: FirstBurstLength must not exceed MaxBurstLength. */
	if (r->first_burst > r->max_burst) {
		r->first_burst = r->max_burst;
	}
	r->max_recv_dsl = neg->limits.max_recv_dsl;
}
