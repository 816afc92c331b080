// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for received-PDU framing as the connection code does it
 * (daemon/iscsi/pducheck.c, digest.c): byte 0 picks the phase and digests,
 * then a BHS, then "the rest of the stream". Whenever iscsi_pdu_check()
 * accepts a header, every length it reports must be within the negotiated
 * limit, and the AHS/digest helpers run only over bytes that are present.
 */
#include <stdint.h>
#include <stdlib.h>

#include "daemon/iscsi/pducheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iscsi_pdu_limits lim;
	struct iscsi_pdu_layout l;
	struct iscsi_ahs_info ahs;
	const uint8_t *bhs, *rest;
	size_t rest_len;

	if (size < 1 + ISCSI_BHS_LEN) {
		return 0;
	}
	lim.login_phase = data[0] & 1;
	lim.header_digest = data[0] & 2;
	lim.data_digest = data[0] & 4;
	lim.max_recv_dsl = 512u << ((data[0] >> 3) & 15);
	bhs = data + 1;
	rest = bhs + ISCSI_BHS_LEN;
	rest_len = size - 1 - ISCSI_BHS_LEN;
	if (iscsi_pdu_check(bhs, &lim, &l) != ISCSI_PDU_OK) {
		return 0;
	}
	if (l.data_len > (lim.login_phase ? 8192u : lim.max_recv_dsl) ||
	    l.ahs_len > ISCSI_AHS_MAX_BYTES) {
		abort();
	}
	if (rest_len < l.rest_header) {
		return 0;
	}
	if (l.ahs_len && iscsi_pdu_ahs_parse(rest, l.ahs_len, &ahs) == 0 && ahs.ext_cdb &&
	    ahs.ext_cdb + ahs.ext_cdb_len > rest + l.ahs_len) {
		abort();
	}
	if (lim.header_digest && !lim.login_phase) {
		/* The digest covers BHS + AHS, which sit contiguously in data. */
		(void)iscsi_pdu_header_digest_ok(bhs, ISCSI_BHS_LEN + l.ahs_len);
	}
	rest += l.rest_header;
	rest_len -= l.rest_header;
	if (l.rest_data && rest_len >= l.rest_data && lim.data_digest && !lim.login_phase) {
		(void)iscsi_pdu_data_digest_ok(rest, l.data_len);
	}
	return 0;
}
