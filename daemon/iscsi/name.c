// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iSCSI names: mapping to the canonical form and the format check (see
 * name.h). For ASCII input, RFC 3722's stringprep profile reduces to: map
 * 'A'-'Z' to 'a'-'z' (table B.2), then prohibit every ASCII character other
 * than letters, digits, '-', '.' and ':' (its prohibited-output list). NFKC
 * and the B.1 "mapped to nothing" table change ASCII text not at all.
 */
#include <string.h>

#include "daemon/iscsi/name.h"

#define NAME_TYPE_LEN 4			/* "iqn.", "eui.", "naa." */
#define EUI64_HEX_DIGITS 16
#define NAA_HEX_SHORT 16		/* 64-bit NAA formats */
#define NAA_HEX_LONG 32			/* 128-bit NAA format (type 6) */
/* "iqn.yyyy-mm." then at least one character of the naming authority. */
#define IQN_DATE_END 12
#define IQN_YEAR_OFF 4
#define IQN_DASH_OFF 8
#define IQN_MONTH_OFF 9
#define IQN_DOT_OFF 11

static const char digits[] = "0123456789";
static const char hex_digits[] = "0123456789abcdef";

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == ':';
}

static bool all_of(const char *s, size_t n, const char *set)
{
	return strspn(s, set) >= n;
}

/* The format rule on a name already mapped to lower case. */
static bool name_format_ok(const char *name, size_t len, const char **why)
{
	if (strncmp(name, "iqn.", NAME_TYPE_LEN) == 0) {
		/* iqn.yyyy-mm.<reversed domain>[:...] */
		if (len > IQN_DATE_END && name[IQN_DASH_OFF] == '-' && name[IQN_DOT_OFF] == '.' &&
		    all_of(name + IQN_YEAR_OFF, 4, digits) && all_of(name + IQN_MONTH_OFF, 2, digits)) {
			return true;
		}
		*why = "an iqn. name is iqn.yyyy-mm.<reversed domain name>[:<string>]";
		return false;
	}
	if (strncmp(name, "eui.", NAME_TYPE_LEN) == 0) {
		if (len == NAME_TYPE_LEN + EUI64_HEX_DIGITS &&
		    all_of(name + NAME_TYPE_LEN, EUI64_HEX_DIGITS, hex_digits)) {
			return true;
		}
		*why = "an eui. name is eui. and 16 hex digits";
		return false;
	}
	if (strncmp(name, "naa.", NAME_TYPE_LEN) == 0) {
		if ((len == NAME_TYPE_LEN + NAA_HEX_SHORT || len == NAME_TYPE_LEN + NAA_HEX_LONG) &&
		    all_of(name + NAME_TYPE_LEN, len - NAME_TYPE_LEN, hex_digits)) {
			return true;
		}
		*why = "a naa. name is naa. and 16 or 32 hex digits";
		return false;
	}
	*why = "an iSCSI name starts with iqn., eui. or naa.";
	return false;
}

enum iscsi_name_result iscsi_name_normalise(const char *in, char *out, size_t cap,
					    const char **why)
{
	const char *dummy;
	size_t len = strlen(in);
	bool changed = false;

	if (why == NULL) {
		why = &dummy;
	}
	*why = "";
	if (len == 0 || len > ISCSI_NAME_LEN_MAX || len >= cap) {
		*why = "an iSCSI name is 1 to 223 bytes long";
		if (cap > 0) {
			out[0] = '\0';
		}
		return ISCSI_NAME_INVALID;
	}
	for (size_t i = 0; i <= len; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
			changed = true;
		}
		out[i] = c;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)out[i] >= 0x80) {
			*why = "iSCSI names with non-ASCII characters are not supported";
			out[0] = '\0';
			return ISCSI_NAME_INVALID;
		}
		if (!name_char_ok(out[i])) {
			*why = "an iSCSI name has only letters, digits, '-', '.' and ':'";
			out[0] = '\0';
			return ISCSI_NAME_INVALID;
		}
	}
	if (!name_format_ok(out, len, why)) {
		out[0] = '\0';
		return ISCSI_NAME_INVALID;
	}
	return changed ? ISCSI_NAME_NORMALISED : ISCSI_NAME_CANONICAL;
}

bool iscsi_name_is_canonical(const char *name)
{
	char buf[ISCSI_NAME_LEN_MAX + 1];

	return iscsi_name_normalise(name, buf, sizeof(buf), NULL) == ISCSI_NAME_CANONICAL;
}
