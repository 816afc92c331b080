// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * CRC32C header and data digests (RFC 7143 §11.1, RFC 3720 Appendix B.4)
 * on top of ISA-L's crc32_iscsi(), which runs the reflected Castagnoli
 * polynomial without the final complement: we seed it with all ones and
 * complement at the end, as §11.1 requires.
 *
 * Wire order: the digest is sent least significant byte first. RFC 3720
 * B.4 lists 32 zero bytes -> "aa 36 91 8a" on the wire for CRC 0x8a9136aa,
 * and libiscsi and Linux put and read the digest that way.
 */
#include <limits.h>

#include <isa-l/crc.h>

#include "daemon/iscsi/pdu.h"

uint32_t iscsi_crc32c_update(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	/* crc32_iscsi() takes an int length: feed huge buffers in pieces. */
	while (len > 0) {
		int chunk = len > (size_t)INT_MAX ? INT_MAX : (int)len;

		crc = crc32_iscsi((unsigned char *)p, chunk, crc);
		p += chunk;
		len -= (size_t)chunk;
	}
	return crc;
}

uint32_t iscsi_crc32c(const void *data, size_t len)
{
	return ~iscsi_crc32c_update(~0u, data, len);
}

void iscsi_digest_put(uint8_t *p, uint32_t digest)
{
	p[0] = (uint8_t)digest;
	p[1] = (uint8_t)(digest >> 8);
	p[2] = (uint8_t)(digest >> 16);
	p[3] = (uint8_t)(digest >> 24);
}

uint32_t iscsi_digest_get(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
