// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * CHAP for iSCSI (RFC 7143 §12.1.3, RFC 1994 §4.1), target side.
 *
 * The response is H(identifier || secret || challenge) with H chosen by
 * CHAP_A (5 = MD5, required; 6 = SHA-1 and 7 = SHA-256 as Linux LIO and
 * open-iscsi implement them). Binary values travel as "0x" hex or "0b"
 * base64 (§6.1). Our challenge is fresh getrandom(2) output for every login
 * so a recorded response cannot be replayed; an initiator's mutual
 * challenge equal to ours is refused, since answering it would hand an
 * attacker the response to our own challenge (§12.1.3, reflection).
 * Responses are compared with CRYPTO_memcmp() (constant time) and error
 * texts never contain secrets or responses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "daemon/iscsi/chap.h"

#define CHAP_ID_MAX 255u
#define HEX_PREFIX_LEN 2
#define BASE64_QUANTUM 4		/* 4 characters encode 3 bytes */
#define BASE64_BYTES 3

const char *iscsi_chap_err_str(enum iscsi_chap_err err)
{
	switch (err) {
	case ISCSI_CHAP_OK:
		return "ok";
	case ISCSI_CHAP_ERR_NO_ALG:
		return "no supported CHAP algorithm offered";
	case ISCSI_CHAP_ERR_MISSING:
		return "CHAP key missing";
	case ISCSI_CHAP_ERR_ENCODING:
		return "malformed CHAP value";
	case ISCSI_CHAP_ERR_USER:
		return "unknown CHAP user name";
	case ISCSI_CHAP_ERR_RESPONSE:
		return "wrong CHAP response";
	case ISCSI_CHAP_ERR_REFLECTED:
		return "initiator reflected our CHAP challenge";
	case ISCSI_CHAP_ERR_NO_MUTUAL:
		return "mutual CHAP requested but not configured";
	case ISCSI_CHAP_ERR_INTERNAL:
		return "CHAP internal error";
	}
	return "unknown CHAP error";
}

static const EVP_MD *chap_md(enum iscsi_chap_alg alg)
{
	switch (alg) {
	case ISCSI_CHAP_ALG_MD5:
		return EVP_md5();
	case ISCSI_CHAP_ALG_SHA1:
		return EVP_sha1();
	case ISCSI_CHAP_ALG_SHA256:
		return EVP_sha256();
	default:
		return NULL;
	}
}

size_t iscsi_chap_digest_len(enum iscsi_chap_alg alg)
{
	const EVP_MD *md = chap_md(alg);

	return md ? (size_t)EVP_MD_get_size(md) : 0;
}

enum iscsi_chap_err iscsi_chap_select(const char *chap_a, enum iscsi_chap_alg *alg)
{
	const char *p = chap_a;

	while (p != NULL && *p != '\0') {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(p, &end, 10);
		if (end != p && errno == 0 && (*end == ',' || *end == '\0') &&
		    v <= ISCSI_CHAP_ALG_SHA256 && chap_md((enum iscsi_chap_alg)v) != NULL) {
			*alg = (enum iscsi_chap_alg)v;
			return ISCSI_CHAP_OK;
		}
		p = strchr(p, ',');
		if (p != NULL) {
			p++;
		}
	}
	return ISCSI_CHAP_ERR_NO_ALG;
}

int iscsi_chap_hash(enum iscsi_chap_alg alg, uint8_t id, const void *secret, size_t secret_len,
		    const uint8_t *challenge, size_t challenge_len, uint8_t *out)
{
	const EVP_MD *md = chap_md(alg);
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	int ok;

	if (md == NULL) {
		return -EINVAL;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		return -EIO;
	}
	ok = EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, &id, 1) &&
	     EVP_DigestUpdate(ctx, secret, secret_len) &&
	     EVP_DigestUpdate(ctx, challenge, challenge_len) &&
	     EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	return ok ? (int)len : -EIO;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int iscsi_chap_decode(const char *value, uint8_t *out, size_t cap)
{
	size_t n;

	if (value[0] != '0' || value[1] == '\0') {
		return -EINVAL;
	}
	n = strlen(value + HEX_PREFIX_LEN);
	if (n == 0) {
		return -EINVAL;
	}
	if (value[1] == 'x' || value[1] == 'X') {
		const char *h = value + HEX_PREFIX_LEN;
		size_t bytes = (n + 1) / 2;
		size_t i = 0;

		if (bytes > cap) {
			return -EMSGSIZE;
		}
		/* An odd digit count means an implied leading zero nibble. */
		if (n % 2) {
			int lo = hex_nibble(*h++);

			if (lo < 0) {
				return -EINVAL;
			}
			out[i++] = (uint8_t)lo;
		}
		for (; *h != '\0'; h += 2) {
			int hi = hex_nibble(h[0]);
			int lo = hex_nibble(h[1]);

			if (hi < 0 || lo < 0) {
				return -EINVAL;
			}
			out[i++] = (uint8_t)(hi << 4 | lo);
		}
		return (int)i;
	}
	if (value[1] == 'b' || value[1] == 'B') {
		const char *b = value + HEX_PREFIX_LEN;
		unsigned char tmp[ISCSI_TEXT_VALUE_LARGE_MAX];
		size_t pad = 0;
		int len;

		if (n % BASE64_QUANTUM != 0 || n / BASE64_QUANTUM * BASE64_BYTES > sizeof(tmp)) {
			return -EINVAL;
		}
		if (b[n - 1] == '=') {
			pad++;
			if (b[n - 2] == '=') {
				pad++;
			}
		}
		/* '=' elsewhere than the tail is invalid; EVP_DecodeBlock would
		 * not notice it in every position. */
		if (memchr(b, '=', n - pad) != NULL) {
			return -EINVAL;
		}
		len = EVP_DecodeBlock(tmp, (const unsigned char *)b, (int)n);
		if (len < 0 || (size_t)len < pad) {
			return -EINVAL;
		}
		len -= (int)pad;
		if ((size_t)len > cap) {
			return -EMSGSIZE;
		}
		memcpy(out, tmp, (size_t)len);
		return len;
	}
	return -EINVAL;
}

int iscsi_chap_encode_hex(const uint8_t *data, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";

	if (cap < HEX_PREFIX_LEN + 2 * len + 1) {
		return -ENOSPC;
	}
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		out[HEX_PREFIX_LEN + 2 * i] = digits[data[i] >> 4];
		out[HEX_PREFIX_LEN + 2 * i + 1] = digits[data[i] & 0xf];
	}
	out[HEX_PREFIX_LEN + 2 * len] = '\0';
	return 0;
}

enum iscsi_chap_err iscsi_chap_challenge(struct iscsi_chap *chap, enum iscsi_chap_alg alg,
					 struct iscsi_text_builder *rsp)
{
	uint8_t rnd[1 + ISCSI_CHAP_CHALLENGE_LEN];
	char hex[HEX_PREFIX_LEN + 2 * ISCSI_CHAP_CHALLENGE_LEN + 1];
	char num[8];

	if (chap_md(alg) == NULL) {
		return ISCSI_CHAP_ERR_NO_ALG;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		return ISCSI_CHAP_ERR_INTERNAL;
	}
	chap->alg = alg;
	chap->id = rnd[0];
	memcpy(chap->challenge, rnd + 1, ISCSI_CHAP_CHALLENGE_LEN);
	iscsi_chap_encode_hex(chap->challenge, ISCSI_CHAP_CHALLENGE_LEN, hex, sizeof(hex));
	snprintf(num, sizeof(num), "%u", (unsigned int)alg);
	if (iscsi_text_add(rsp, "CHAP_A", num) != 0 ||
	    iscsi_text_add_u32(rsp, "CHAP_I", chap->id) != 0 ||
	    iscsi_text_add(rsp, "CHAP_C", hex) != 0) {
		return ISCSI_CHAP_ERR_INTERNAL;
	}
	return ISCSI_CHAP_OK;
}

enum iscsi_chap_err iscsi_chap_verify(const struct iscsi_chap *chap, const char *chap_n,
				      const char *chap_r, const char *user, const char *secret)
{
	uint8_t got[ISCSI_CHAP_DIGEST_MAX];
	uint8_t want[ISCSI_CHAP_DIGEST_MAX];
	size_t dlen = iscsi_chap_digest_len(chap->alg);
	int n, w;
	bool user_ok;

	if (chap_n == NULL || chap_r == NULL) {
		return ISCSI_CHAP_ERR_MISSING;
	}
	if (user == NULL || secret == NULL || dlen == 0) {
		return ISCSI_CHAP_ERR_INTERNAL;
	}
	n = iscsi_chap_decode(chap_r, got, sizeof(got));
	if (n < 0) {
		return ISCSI_CHAP_ERR_ENCODING;
	}
	w = iscsi_chap_hash(chap->alg, chap->id, secret, strlen(secret), chap->challenge,
			    ISCSI_CHAP_CHALLENGE_LEN, want);
	if (w < 0) {
		return ISCSI_CHAP_ERR_INTERNAL;
	}
	/* Check the response before the name so both failures cost the same. */
	user_ok = strcmp(chap_n, user) == 0;
	if ((size_t)n != dlen || CRYPTO_memcmp(got, want, dlen) != 0) {
		return ISCSI_CHAP_ERR_RESPONSE;
	}
	return user_ok ? ISCSI_CHAP_OK : ISCSI_CHAP_ERR_USER;
}

enum iscsi_chap_err iscsi_chap_mutual(const struct iscsi_chap *chap, const char *chap_i,
				      const char *chap_c, const char *user, const char *secret,
				      struct iscsi_text_builder *rsp)
{
	uint8_t challenge[ISCSI_CHAP_CHALLENGE_MAX];
	uint8_t digest[ISCSI_CHAP_DIGEST_MAX];
	char hex[HEX_PREFIX_LEN + 2 * ISCSI_CHAP_DIGEST_MAX + 1];
	unsigned long id;
	char *end;
	int clen, dlen;

	if (chap_i == NULL || chap_c == NULL) {
		return ISCSI_CHAP_ERR_MISSING;
	}
	if (user == NULL || secret == NULL) {
		return ISCSI_CHAP_ERR_NO_MUTUAL;
	}
	errno = 0;
	id = strtoul(chap_i, &end, 0);
	if (end == chap_i || *end != '\0' || errno != 0 || id > CHAP_ID_MAX ||
	    chap_i[0] == '-' || chap_i[0] == '+' || chap_i[0] == ' ') {
		return ISCSI_CHAP_ERR_ENCODING;
	}
	clen = iscsi_chap_decode(chap_c, challenge, sizeof(challenge));
	if (clen <= 0) {
		return ISCSI_CHAP_ERR_ENCODING;
	}
	if ((size_t)clen == ISCSI_CHAP_CHALLENGE_LEN &&
	    CRYPTO_memcmp(challenge, chap->challenge, ISCSI_CHAP_CHALLENGE_LEN) == 0) {
		return ISCSI_CHAP_ERR_REFLECTED;
	}
	dlen = iscsi_chap_hash(chap->alg, (uint8_t)id, secret, strlen(secret), challenge,
			       (size_t)clen, digest);
	if (dlen < 0) {
		return ISCSI_CHAP_ERR_INTERNAL;
	}
	iscsi_chap_encode_hex(digest, (size_t)dlen, hex, sizeof(hex));
	OPENSSL_cleanse(digest, sizeof(digest));
	if (iscsi_text_add(rsp, "CHAP_N", user) != 0 || iscsi_text_add(rsp, "CHAP_R", hex) != 0) {
		return ISCSI_CHAP_ERR_INTERNAL;
	}
	return ISCSI_CHAP_OK;
}
