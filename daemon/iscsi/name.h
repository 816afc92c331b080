/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iSCSI names (RFC 7143 §4.2.7, RFC 3722): the one home of the rule that
 * says what a valid name is and what its canonical form is. Pure: no I/O,
 * no logging; used by the login (InitiatorName, TargetName) and by the
 * daemon's validation of administrator input.
 *
 * Names are case-insensitive: RFC 3722's stringprep profile maps every name
 * to lower case (B.2 case folding), so RFC 7143's own examples
 * "eui.02004567A425678D" and "naa.52004567BA64678D" and an upper-case IQN
 * are valid and stand for their lower-case form. After that mapping only
 * 'a'-'z', '0'-'9', '-', '.' and ':' may remain in the ASCII range (the
 * profile prohibits the rest), and the name must have one of the three
 * formats of §4.2.7:
 *   iqn.yyyy-mm.<reversed domain name>[:<unique string>]
 *   eui.<16 hex digits>                    (IEEE EUI-64)
 *   naa.<16 or 32 hex digits>              (T11 NAA)
 * at most 223 bytes.
 *
 * Limitation: names with characters outside ASCII are refused: their
 * stringprep mapping (NFKC, Unicode case folding) needs Unicode tables this
 * module does not carry.
 */
#ifndef QUORATE_DAEMON_ISCSI_NAME_H
#define QUORATE_DAEMON_ISCSI_NAME_H

#include <stdbool.h>
#include <stddef.h>

#define ISCSI_NAME_LEN_MAX 223		/* RFC 7143 §4.2.7.1 */

enum iscsi_name_result {
	ISCSI_NAME_INVALID = -1,	/* not an iSCSI name; @out holds "" */
	ISCSI_NAME_CANONICAL = 0,	/* valid and already in canonical form */
	ISCSI_NAME_NORMALISED = 1,	/* valid once mapped: @out differs from @in */
};

/**
 * Map @in to its canonical form in @out (@cap bytes, at least
 * ISCSI_NAME_LEN_MAX + 1 for every valid name to fit) and check it.
 * @why (may be NULL) gets a static explanation when the name is invalid.
 * @in and @out may be the same buffer.
 */
enum iscsi_name_result iscsi_name_normalise(const char *in, char *out, size_t cap,
					    const char **why);

/** Is @name a valid iSCSI name in canonical (lower-case) form? */
bool iscsi_name_is_canonical(const char *name);

#endif
