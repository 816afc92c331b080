// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPC-4 commands that do not touch the medium: INQUIRY and its VPD pages,
 * REPORT LUNS, TEST UNIT READY, REQUEST SENSE, MODE SENSE/SELECT, REPORT
 * SUPPORTED OPERATION CODES, REPORT TARGET PORT GROUPS, START STOP UNIT and
 * PREVENT ALLOW MEDIUM REMOVAL.
 *
 * Parameter data is built into the target's response buffer and copied to
 * the task buffer by scsi_task_data_in(), which applies the allocation
 * length and the transport's buffer capacity (SPC-4 4.2.5.6: a short
 * allocation length truncates, it is not an error).
 */
#include <stdio.h>
#include <string.h>

#include "daemon/scsi/scsi_int.h"

/* SPC-4 6.6.2 standard INQUIRY data. */
#define INQ_STD_LEN 96
#define INQ_PDT_SBC 0x00		/* direct access block device */
#define INQ_PQ_NOT_CAPABLE 0x60		/* peripheral qualifier 011b */
#define INQ_PDT_UNKNOWN 0x1f
#define INQ_VERSION_SPC4 0x06
#define INQ_HISUP 0x10
#define INQ_RDF_SPC 0x02		/* response data format */
#define INQ_TPGS_IMPLICIT 0x10		/* TPGS 01b: implicit ALUA */
#define INQ_MULTIP 0x10
#define INQ_CMDQUE 0x02
#define INQ_OFF_VENDOR 8
#define INQ_OFF_PRODUCT 16
#define INQ_OFF_REVISION 32
#define INQ_OFF_VERSION_DESC 58
#define INQ_EVPD 0x01

/* Version descriptors (SPC-4 table 32). */
#define VD_SAM5 0x00a0
#define VD_SPC4 0x0460
#define VD_SBC3 0x04c0
#define VD_ISCSI 0x0960

/* VPD page codes. */
enum {
	VPD_SUPPORTED = 0x00,
	VPD_SERIAL = 0x80,
	VPD_DEVICE_ID = 0x83,
	VPD_EXTENDED_INQUIRY = 0x86,
	VPD_BLOCK_LIMITS = 0xb0,
	VPD_BLOCK_DEVICE_CHARS = 0xb1,
	VPD_LB_PROVISIONING = 0xb2,
};

/* Designation descriptors (SPC-4 7.8.6). */
#define DESIG_CODESET_BINARY 0x1
#define DESIG_CODESET_ASCII 0x2
#define DESIG_CODESET_UTF8 0x3
#define DESIG_PROTO_ISCSI 0x5
#define DESIG_PIV 0x80
#define DESIG_ASSOC_LU 0x00
#define DESIG_ASSOC_PORT 0x10
#define DESIG_ASSOC_TARGET 0x20
#define DESIG_TYPE_T10 0x1
#define DESIG_TYPE_NAA 0x3
#define DESIG_TYPE_REL_PORT 0x4
#define DESIG_TYPE_TPG 0x5
#define DESIG_TYPE_SCSI_NAME 0x8
#define DESIG_HDR_LEN 4

#define VPD_HDR_LEN 4
#define VPD_LEN_3C 0x3c			/* fixed page length of 86h, B0h, B1h */
#define VPD_B2_LEN 4
#define VPD_86_SIMPSUP_ORDSUP_HEADSUP 0x07
#define VPD_86_V_SUP 0x01
#define VPD_B0_WSNZ 0x01
#define VPD_B1_NON_ROTATING 0x0001
#define VPD_B2_LBPU 0x80
#define VPD_B2_LBPWS 0x40
#define VPD_B2_LBPWS10 0x20
#define VPD_B2_LBPRZ 0x04
#define VPD_B2_PROV_THIN 0x02

/* REPORT LUNS (SPC-4 6.33). */
#define RL_SELECT_ALL 0x00
#define RL_SELECT_WELL_KNOWN 0x01
#define RL_SELECT_ALL_ACCESSIBLE 0x02
#define RL_HDR_LEN 8
#define RL_MIN_ALLOC 16

/* REQUEST SENSE (SPC-4 6.39). */
#define RS_DESC 0x01

/* Mode pages (SPC-4 7.5, SBC-3 6.4). */
#define MP_CACHING 0x08
#define MP_CONTROL 0x0a
#define MP_CONTROL_EXT_SUB 0x01
#define MP_INFO_EXCEPTIONS 0x1c
#define MP_ALL 0x3f
#define MP_SUB_NONE 0x00
#define MP_SUB_ALL 0xff
#define MP_SPF 0x40
#define MP_PS 0x80
#define MP_PAGE_MASK 0x3f
#define MP_CACHING_LEN 0x12
#define MP_CONTROL_LEN 0x0a
#define MP_CONTROL_EXT_LEN 0x1c
#define MP_IE_LEN 0x0a
#define MP_CACHING_WCE 0x04
#define MP_CONTROL_D_SENSE 0x04
#define MP_CONTROL_SWP 0x08
#define MP_CONTROL_QERR_SHIFT 1
#define MP_IE_DEXCPT 0x08
#define MP_CONTROL_BUSY_TIMEOUT_UNLIMITED 0xffff
#define MODE_PC_SHIFT 6
#define MODE_PC_CURRENT 0
#define MODE_PC_CHANGEABLE 1
#define MODE_PC_DEFAULT 2
#define MODE_PC_SAVED 3
#define MODE_DBD 0x08
#define MODE_LLBAA 0x10
#define MODE_PF 0x10
#define MODE_SP 0x01
#define MODE_DSP_WP 0x80
#define MODE_DSP_DPOFUA 0x10
#define MODE_LONGLBA 0x01
#define MODE_HDR6_LEN 4
#define MODE_HDR10_LEN 8
#define MODE_BD_SHORT_LEN 8
#define MODE_BD_LONG_LEN 16
#define MODE_PAGE_MAX 64		/* largest page we build */

/* REPORT SUPPORTED OPERATION CODES (SPC-4 6.35). */
#define RSOC_RCTD 0x80
#define RSOC_OPTIONS_MASK 0x07
#define RSOC_ALL 0x0
#define RSOC_ONE_NO_SA 0x1
#define RSOC_ONE_SA 0x2
#define RSOC_ONE_EITHER 0x3
#define RSOC_SUPPORT_NOT 0x1
#define RSOC_SUPPORT_STANDARD 0x3
#define RSOC_SERVACTV 0x01
#define RSOC_CTDP 0x02
#define RSOC_DESC_LEN 8
#define RSOC_TIMEOUTS_LEN 12
#define RSOC_TIMEOUTS_PAGE_LEN 0x0a

/*
 * REPORT TARGET PORT GROUPS (SPC-4 6.37). The CDB's PARAMETER DATA FORMAT
 * (byte 1 bits 7..5) and the extended header's FORMAT TYPE (byte 4 bits
 * 6..4) hold the same code 001b at different bit positions.
 */
#define RTPG_CDB_FORMAT_MASK 0xe0
#define RTPG_CDB_FORMAT_EXTENDED 0x20	/* 001b << 5 */
#define RTPG_HDR_FORMAT_EXTENDED 0x10	/* 001b << 4 */
#define RTPG_EXT_HDR_LEN 8
#define RTPG_PREF 0x80
#define RTPG_STATE_MASK 0x0f
#define RTPG_SUP_AO 0x01
#define RTPG_SUP_U 0x08
#define RTPG_STATUS_IMPLICIT 0x02
#define RTPG_GROUP_DESC_LEN 8
#define RTPG_PORT_DESC_LEN 4
/*
 * IMPLICIT TRANSITION TIME: 0, "not specified". A node's group goes
 * between Active/Optimized and Unavailable at once when serving changes; it
 * never reports Transitioning (T_SUP=0), so an initiator has no transition
 * to time out.
 */
#define RTPG_IMPLICIT_TRANSITION_S 0

/* START STOP UNIT (SBC-3 5.25). */
#define SSU_LOEJ 0x02
#define PREVENT_ALLOW_PREVENT 0x01

/* ---- INQUIRY ---- */

static void put_padded(uint8_t *dst, const char *src, size_t width)
{
	size_t n = strnlen(src, width);

	memset(dst, ' ', width);
	memcpy(dst, src, n);
}

static int inquiry_standard(struct scsi_task *task, uint32_t alloc)
{
	const struct scsi_lu *lu = task->priv.lu;
	uint8_t *d = task->nexus->target->resp;
	static const uint16_t vds[] = { VD_SAM5, VD_ISCSI, VD_SPC4, VD_SBC3 };

	memset(d, 0, INQ_STD_LEN);
	/* SPC-4 6.6.2: peripheral qualifier 3, type 1Fh for a LUN without a LU. */
	d[0] = lu ? INQ_PDT_SBC : (INQ_PQ_NOT_CAPABLE | INQ_PDT_UNKNOWN);
	d[2] = INQ_VERSION_SPC4;
	d[3] = INQ_HISUP | INQ_RDF_SPC;
	d[4] = INQ_STD_LEN - 5;
	d[5] = INQ_TPGS_IMPLICIT;
	d[6] = INQ_MULTIP;
	d[7] = INQ_CMDQUE;
	put_padded(&d[INQ_OFF_VENDOR], lu ? lu->cfg.vendor : "QUORATE", 8);
	put_padded(&d[INQ_OFF_PRODUCT], lu ? lu->cfg.product : "", 16);
	put_padded(&d[INQ_OFF_REVISION], lu ? lu->cfg.revision : "", 4);
	for (unsigned int i = 0; i < sizeof(vds) / sizeof(vds[0]); i++) {
		put_be16(&d[INQ_OFF_VERSION_DESC + 2 * i], vds[i]);
	}
	return scsi_task_data_in(task, d, INQ_STD_LEN, alloc);
}

static const uint8_t vpd_pages[] = {
	VPD_SUPPORTED, VPD_SERIAL, VPD_DEVICE_ID, VPD_EXTENDED_INQUIRY,
	VPD_BLOCK_LIMITS, VPD_BLOCK_DEVICE_CHARS, VPD_LB_PROVISIONING,
};

/* Append a designation descriptor; @len bytes of @id. @return new offset. */
static size_t desig_put(uint8_t *d, size_t off, uint8_t b0, uint8_t b1, const void *id, size_t len,
			size_t padded)
{
	d[off] = b0;
	d[off + 1] = b1;
	d[off + 2] = 0;
	d[off + 3] = (uint8_t)padded;
	memset(&d[off + DESIG_HDR_LEN], 0, padded);
	memcpy(&d[off + DESIG_HDR_LEN], id, len);
	return off + DESIG_HDR_LEN + padded;
}

/* SCSI name string: null-terminated, padded to a multiple of 4 (SPC-4 7.8.6.11). */
static size_t desig_put_name(uint8_t *d, size_t off, uint8_t assoc, const char *name)
{
	size_t len = strnlen(name, 251);
	size_t padded = (len + 1 + 3) & ~(size_t)3;

	return desig_put(d, off, DESIG_PROTO_ISCSI << 4 | DESIG_CODESET_UTF8,
			 DESIG_PIV | assoc | DESIG_TYPE_SCSI_NAME, name, len, padded);
}

static size_t vpd_device_id(const struct scsi_task *task, uint8_t *d)
{
	const struct scsi_lu *lu = task->priv.lu;
	const struct scsi_target *t = task->nexus->target;
	uint8_t t10[8 + 16 + 32];
	uint8_t id4[4] = { 0 };
	size_t off = VPD_HDR_LEN;
	size_t slen = strnlen(lu->cfg.serial, 32);

	/* NAA-6 IEEE Registered Extended: the cluster-wide LU name. */
	off = desig_put(d, off, DESIG_CODESET_BINARY, DESIG_ASSOC_LU | DESIG_TYPE_NAA,
			lu->cfg.naa, sizeof(lu->cfg.naa), sizeof(lu->cfg.naa));
	/* T10 vendor identification: vendor, product, serial (SPC-4 7.8.6.4). */
	put_padded(t10, lu->cfg.vendor, 8);
	put_padded(t10 + 8, lu->cfg.product, 16);
	memcpy(t10 + 24, lu->cfg.serial, slen);
	off = desig_put(d, off, DESIG_CODESET_ASCII, DESIG_ASSOC_LU | DESIG_TYPE_T10, t10,
			24 + slen, 24 + slen);
	/* Relative target port and target port group (7.8.6.7, 7.8.6.8). */
	put_be16(&id4[2], t->port.rel_port_id);
	off = desig_put(d, off, DESIG_PROTO_ISCSI << 4 | DESIG_CODESET_BINARY,
			DESIG_PIV | DESIG_ASSOC_PORT | DESIG_TYPE_REL_PORT, id4, 4, 4);
	put_be16(&id4[2], t->port.tpg_id);
	off = desig_put(d, off, DESIG_PROTO_ISCSI << 4 | DESIG_CODESET_BINARY,
			DESIG_PIV | DESIG_ASSOC_PORT | DESIG_TYPE_TPG, id4, 4, 4);
	off = desig_put_name(d, off, DESIG_ASSOC_PORT, task->nexus->target_port);
	off = desig_put_name(d, off, DESIG_ASSOC_TARGET, t->name);
	return off;
}

static size_t vpd_block_limits(const struct scsi_lu *lu, uint8_t *d)
{
	uint32_t bs = lu->block_size;
	uint32_t gran = SBC_OPT_GRANULARITY * 512 / bs;

	memset(d + VPD_HDR_LEN, 0, VPD_LEN_3C);
	/* WSNZ: a WRITE SAME of zero blocks is refused rather than run to the end. */
	d[4] = VPD_B0_WSNZ;
	/* COMPARE AND WRITE not offered (a shared LU without caw hooks): length 0. */
	d[5] = scsi_cmd_offered(lu, scsi_cmd_lookup((const uint8_t[16]){ OP_COMPARE_AND_WRITE })) ?
		       (uint8_t)sbc_max_caw_blocks(bs) :
		       0;
	put_be16(&d[6], (uint16_t)(gran ? gran : 1));
	put_be32(&d[8], SBC_MAX_XFER_BYTES / bs);
	put_be32(&d[12], SBC_MAX_XFER_BYTES / bs);
	if (lu->thin) {
		put_be32(&d[20], SBC_MAX_UNMAP_LBAS);
		put_be32(&d[24], SBC_MAX_UNMAP_DESCS);
		put_be32(&d[28], gran ? gran : 1);
	}
	put_be64(&d[36], SBC_MAX_WS_BLOCKS);
	return VPD_HDR_LEN + VPD_LEN_3C;
}

static int inquiry_vpd(struct scsi_task *task, uint8_t page, uint32_t alloc)
{
	const struct scsi_lu *lu = task->priv.lu;
	uint8_t *d = task->nexus->target->resp;
	size_t len;

	if (!lu) {
		/* Only the standard data exists for an absent LU. */
		return scsi_task_invalid_field(task, true, 1, 0);
	}
	memset(d, 0, VPD_HDR_LEN);
	d[0] = INQ_PDT_SBC;
	d[1] = page;
	switch (page) {
	case VPD_SUPPORTED:
		memcpy(&d[VPD_HDR_LEN], vpd_pages, sizeof(vpd_pages));
		len = VPD_HDR_LEN + sizeof(vpd_pages);
		break;
	case VPD_SERIAL:
		len = strnlen(lu->cfg.serial, sizeof(lu->cfg.serial) - 1);
		memcpy(&d[VPD_HDR_LEN], lu->cfg.serial, len);
		len += VPD_HDR_LEN;
		break;
	case VPD_DEVICE_ID:
		len = vpd_device_id(task, d);
		break;
	case VPD_EXTENDED_INQUIRY:
		memset(d + VPD_HDR_LEN, 0, VPD_LEN_3C);
		d[5] = VPD_86_SIMPSUP_ORDSUP_HEADSUP;
		d[6] = VPD_86_V_SUP;
		len = VPD_HDR_LEN + VPD_LEN_3C;
		break;
	case VPD_BLOCK_LIMITS:
		len = vpd_block_limits(lu, d);
		break;
	case VPD_BLOCK_DEVICE_CHARS:
		memset(d + VPD_HDR_LEN, 0, VPD_LEN_3C);
		put_be16(&d[4], VPD_B1_NON_ROTATING);
		len = VPD_HDR_LEN + VPD_LEN_3C;
		break;
	case VPD_LB_PROVISIONING:
		memset(d + VPD_HDR_LEN, 0, VPD_B2_LEN);
		if (lu->thin) {
			d[5] = VPD_B2_LBPU | VPD_B2_LBPWS | VPD_B2_LBPWS10 |
			       (lu->lbprz ? VPD_B2_LBPRZ : 0);
			d[6] = VPD_B2_PROV_THIN;
		}
		len = VPD_HDR_LEN + VPD_B2_LEN;
		break;
	default:
		return scsi_task_invalid_field(task, true, 2, 7);
	}
	put_be16(&d[2], (uint16_t)(len - VPD_HDR_LEN));
	return scsi_task_data_in(task, d, (uint32_t)len, alloc);
}

int spc_inquiry(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	const uint8_t *cdb = task->cdb;
	uint32_t alloc = get_be16(&cdb[3]);

	(void)desc;
	if (!(cdb[1] & INQ_EVPD)) {
		/* SPC-4 6.6.1: PAGE CODE must be zero when EVPD is zero. */
		if (cdb[2]) {
			return scsi_task_invalid_field(task, true, 2, 7);
		}
		return inquiry_standard(task, alloc);
	}
	return inquiry_vpd(task, cdb[2], alloc);
}

/* ---- REPORT LUNS, TEST UNIT READY, REQUEST SENSE ---- */

int spc_report_luns(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_target *t = task->nexus->target;
	uint32_t alloc = get_be32(&task->cdb[6]);
	uint8_t *d = t->resp;
	uint32_t n = 0;

	(void)desc;
	switch (task->cdb[2]) {
	case RL_SELECT_ALL:
	case RL_SELECT_ALL_ACCESSIBLE:
		for (unsigned int i = 0; i < t->lu_end; i++) {
			if (t->lu_index[i]) {
				put_be64(&d[RL_HDR_LEN + 8 * n], scsi_lun_encode((uint16_t)i));
				n++;
				/* SPC-4 6.33: this REPORT LUNS answers the inventory change. */
				scsi_ua_clear(t->lu_index[i], task->nexus, SCSI_UA_LUNS_CHANGED);
			}
		}
		break;
	case RL_SELECT_WELL_KNOWN:
		break;		/* we have no well-known LUs */
	default:
		return scsi_task_invalid_field(task, true, 2, 7);
	}
	if (alloc < RL_MIN_ALLOC) {
		return scsi_task_invalid_field(task, true, 6, 7);
	}
	put_be32(&d[0], 8 * n);
	memset(&d[4], 0, 4);
	return scsi_task_data_in(task, d, RL_HDR_LEN + 8 * n, alloc);
}

int spc_test_unit_ready(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	(void)desc;
	(void)task;
	return SCSI_EXEC_DONE;
}

int spc_request_sense(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_sense_info si = { .key = SENSE_KEY_NO_SENSE };
	struct scsi_lu *lu = task->priv.lu;
	bool descriptor = task->cdb[1] & RS_DESC;
	uint8_t buf[SCSI_SENSE_MAX];
	size_t len;
	int ua;

	(void)desc;
	if (!lu) {
		si.key = SENSE_KEY_ILLEGAL_REQUEST;
		si.asc_ascq = ASC_LUN_NOT_SUPPORTED;
	} else if ((ua = scsi_ua_take(lu, task->nexus, true)) >= 0) {
		/* SAM-5 5.14: REQUEST SENSE reports the UA as its data and clears it. */
		si.key = SENSE_KEY_UNIT_ATTENTION;
		si.asc_ascq = scsi_ua_asc((enum scsi_ua)ua);
	}
	len = scsi_sense_build(buf, sizeof(buf), descriptor, &si);
	return scsi_task_data_in(task, buf, (uint32_t)len, task->cdb[4]);
}

/* ---- mode pages ---- */

/*
 * Build page @page/@subpage as @pc asks. @return its length, 0 if we do
 * not have that page.
 */
static size_t mode_page_build(const struct scsi_lu *lu, uint8_t page, uint8_t subpage, int pc,
			      uint8_t *p)
{
	bool chg = pc == MODE_PC_CHANGEABLE;
	bool cur = pc == MODE_PC_CURRENT;

	if (page == MP_CACHING && subpage == MP_SUB_NONE) {
		memset(p, 0, MP_CACHING_LEN + 2);
		p[0] = MP_CACHING;
		p[1] = MP_CACHING_LEN;
		if (chg) {
			p[2] = MP_CACHING_WCE;
		} else if (cur ? lu->mode.wce : lu->cfg.write_cache) {
			p[2] = MP_CACHING_WCE;
		}
		return MP_CACHING_LEN + 2;
	}
	if (page == MP_CONTROL && subpage == MP_SUB_NONE) {
		memset(p, 0, MP_CONTROL_LEN + 2);
		p[0] = MP_CONTROL;
		p[1] = MP_CONTROL_LEN;
		/* TST 000b (one task set), QERR 00b, TAS 0: see scsi_tasks_cleared(). */
		if (chg) {
			p[2] = MP_CONTROL_D_SENSE;
			p[4] = MP_CONTROL_SWP;
		} else if (cur) {
			p[2] = lu->mode.d_sense ? MP_CONTROL_D_SENSE : 0;
			p[4] = lu->mode.swp ? MP_CONTROL_SWP : 0;
		}
		if (!chg) {
			put_be16(&p[8], MP_CONTROL_BUSY_TIMEOUT_UNLIMITED);
		}
		return MP_CONTROL_LEN + 2;
	}
	if (page == MP_CONTROL && subpage == MP_CONTROL_EXT_SUB) {
		memset(p, 0, MP_CONTROL_EXT_LEN + 4);
		p[0] = MP_CONTROL | MP_SPF;
		p[1] = MP_CONTROL_EXT_SUB;
		put_be16(&p[2], MP_CONTROL_EXT_LEN);
		if (!chg) {
			p[6] = SCSI_SENSE_MAX;	/* MAXIMUM SENSE DATA LENGTH */
		}
		return MP_CONTROL_EXT_LEN + 4;
	}
	if (page == MP_INFO_EXCEPTIONS && subpage == MP_SUB_NONE) {
		memset(p, 0, MP_IE_LEN + 2);
		p[0] = MP_INFO_EXCEPTIONS;
		p[1] = MP_IE_LEN;
		if (!chg) {
			p[2] = MP_IE_DEXCPT;	/* we report no informational exceptions */
		}
		return MP_IE_LEN + 2;
	}
	return 0;
}

static const struct {
	uint8_t page, subpage;
} mode_pages[] = {
	{ MP_CACHING, MP_SUB_NONE },
	{ MP_CONTROL, MP_SUB_NONE },
	{ MP_CONTROL, MP_CONTROL_EXT_SUB },
	{ MP_INFO_EXCEPTIONS, MP_SUB_NONE },
};

int spc_mode_sense(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	const struct scsi_lu *lu = task->priv.lu;
	const uint8_t *cdb = task->cdb;
	bool ten = desc->cdb_len == 10;
	bool dbd = cdb[1] & MODE_DBD;
	bool llbaa = ten && (cdb[1] & MODE_LLBAA);
	int pc = cdb[2] >> MODE_PC_SHIFT;
	uint8_t page = cdb[2] & MP_PAGE_MASK;
	uint8_t subpage = cdb[3];
	uint32_t alloc = ten ? get_be16(&cdb[7]) : cdb[4];
	uint8_t *d = task->nexus->target->resp;
	size_t hdr = ten ? MODE_HDR10_LEN : MODE_HDR6_LEN;
	size_t off = hdr, bdl = 0, n;

	if (pc == MODE_PC_SAVED) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
				       ASC_SAVING_PARAMETERS_NOT_SUPPORTED);
	}
	memset(d, 0, hdr);
	if (!dbd) {
		bdl = llbaa ? MODE_BD_LONG_LEN : MODE_BD_SHORT_LEN;
		memset(&d[off], 0, bdl);
		if (llbaa) {
			put_be64(&d[off], lu->nblocks);
			put_be32(&d[off + 12], lu->block_size);
		} else {
			put_be32(&d[off], lu->nblocks > UINT32_MAX ? UINT32_MAX :
								     (uint32_t)lu->nblocks);
			d[off + 5] = (lu->block_size >> 16) & 0xff;
			put_be16(&d[off + 6], (uint16_t)lu->block_size);
		}
		off += bdl;
	}
	if (page == MP_ALL) {
		if (subpage != MP_SUB_NONE && subpage != MP_SUB_ALL) {
			return scsi_task_invalid_field(task, true, 3, 7);
		}
		for (unsigned int i = 0; i < sizeof(mode_pages) / sizeof(mode_pages[0]); i++) {
			if (mode_pages[i].subpage != MP_SUB_NONE && subpage != MP_SUB_ALL) {
				continue;
			}
			off += mode_page_build(lu, mode_pages[i].page, mode_pages[i].subpage, pc,
					       &d[off]);
		}
	} else if (subpage == MP_SUB_ALL) {
		bool any = false;

		for (unsigned int i = 0; i < sizeof(mode_pages) / sizeof(mode_pages[0]); i++) {
			if (mode_pages[i].page == page) {
				off += mode_page_build(lu, page, mode_pages[i].subpage, pc, &d[off]);
				any = true;
			}
		}
		if (!any) {
			return scsi_task_invalid_field(task, true, 2, 5);
		}
	} else {
		n = mode_page_build(lu, page, subpage, pc, &d[off]);
		if (!n) {
			return scsi_task_invalid_field(task, true, subpage ? 3 : 2, subpage ? 7 : 5);
		}
		off += n;
	}
	/* Header: MODE DATA LENGTH excludes itself (SPC-4 7.5.4). */
	if (ten) {
		put_be16(&d[0], (uint16_t)(off - 2));
		d[3] = (lu->cfg.read_only || lu->mode.swp ? MODE_DSP_WP : 0) | MODE_DSP_DPOFUA;
		d[4] = llbaa && bdl ? MODE_LONGLBA : 0;
		put_be16(&d[6], (uint16_t)bdl);
	} else {
		d[0] = (uint8_t)(off - 1);
		d[2] = (lu->cfg.read_only || lu->mode.swp ? MODE_DSP_WP : 0) | MODE_DSP_DPOFUA;
		d[3] = (uint8_t)bdl;
	}
	return scsi_task_data_in(task, d, (uint32_t)off, alloc);
}

/* Apply the changeable bits of one page to the LU. */
static void mode_page_apply(struct scsi_lu *lu, const uint8_t *p)
{
	uint8_t page = p[0] & MP_PAGE_MASK;

	if (page == MP_CACHING) {
		lu->mode.wce = p[2] & MP_CACHING_WCE;
	} else if (page == MP_CONTROL && !(p[0] & MP_SPF)) {
		lu->mode.d_sense = p[2] & MP_CONTROL_D_SENSE;
		lu->mode.swp = p[4] & MP_CONTROL_SWP;
	}
}

int spc_mode_select(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_lu *lu = task->priv.lu;
	const uint8_t *cdb = task->cdb;
	bool ten = desc->cdb_len == 10;
	uint32_t plen = ten ? get_be16(&cdb[7]) : cdb[4];
	size_t hdr = ten ? MODE_HDR10_LEN : MODE_HDR6_LEN;
	const uint8_t *d = task->buf;
	struct scsi_mode_state old = lu->mode;
	size_t off, bdl;
	int pass;

	task->xfer_len = plen;
	/* SPC-4 6.11: PF=0 would be vendor-specific page format; SP=1 needs saving. */
	if (!(cdb[1] & MODE_PF)) {
		return scsi_task_invalid_field(task, true, 1, 4);
	}
	if (cdb[1] & MODE_SP) {
		return scsi_task_invalid_field(task, true, 1, 0);
	}
	if (plen == 0) {
		return SCSI_EXEC_DONE;
	}
	if (task->data_out_len < plen || !d) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CMD_IU);
	}
	if (plen < hdr) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
				       ASC_PARAMETER_LIST_LENGTH_ERROR);
	}
	bdl = ten ? get_be16(&d[6]) : d[3];
	if (hdr + bdl > plen) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
				       ASC_PARAMETER_LIST_LENGTH_ERROR);
	}
	if (bdl) {
		bool longlba = ten && (d[4] & MODE_LONGLBA);
		uint32_t blen;

		if (bdl != (longlba ? MODE_BD_LONG_LEN : MODE_BD_SHORT_LEN)) {
			return scsi_task_invalid_field(task, false, ten ? 6 : 3, 7);
		}
		blen = longlba ? get_be32(&d[hdr + 12]) : get_be24(&d[hdr + 5]);
		/* We cannot change the block size: only ours (or 0) is accepted. */
		if (blen && blen != lu->block_size) {
			return scsi_task_invalid_field(task, false,
						       (unsigned int)(hdr + (longlba ? 12 : 5)), 7);
		}
	}
	/* Two passes: validate every page, then apply, so a bad page changes nothing. */
	for (pass = 0; pass < 2; pass++) {
		for (off = hdr + bdl; off < plen;) {
			const uint8_t *p = &d[off];
			uint8_t cur[MODE_PAGE_MAX], chg[MODE_PAGE_MAX];
			bool spf = p[0] & MP_SPF;
			size_t hl = spf ? 4 : 2, len, ours;

			if (off + hl > plen) {
				return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
						       ASC_PARAMETER_LIST_LENGTH_ERROR);
			}
			len = hl + (spf ? get_be16(&p[2]) : p[1]);
			ours = mode_page_build(lu, p[0] & MP_PAGE_MASK, spf ? p[1] : MP_SUB_NONE,
					       MODE_PC_CURRENT, cur);
			if (!ours) {
				return scsi_task_invalid_field(task, false, (unsigned int)off, 5);
			}
			if (len != ours) {
				return scsi_task_invalid_field(task, false,
							       (unsigned int)(off + (spf ? 2 : 1)), 7);
			}
			if (off + len > plen) {
				return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
						       ASC_PARAMETER_LIST_LENGTH_ERROR);
			}
			mode_page_build(lu, p[0] & MP_PAGE_MASK, spf ? p[1] : MP_SUB_NONE,
					MODE_PC_CHANGEABLE, chg);
			if (pass == 0) {
				/* A bit outside the changeable mask must keep its value (6.11). */
				for (size_t i = hl; i < len; i++) {
					uint8_t bad = (uint8_t)((p[i] ^ cur[i]) & ~chg[i]);

					if (bad) {
						return scsi_task_invalid_field(
							task, false, (unsigned int)(off + i),
							31 - __builtin_clz(bad));
					}
				}
			} else {
				mode_page_apply(lu, p);
			}
			off += len;
		}
	}
	if (memcmp(&old, &lu->mode, sizeof(old)) != 0) {
		scsi_ua_raise(lu, task->nexus, SCSI_UA_MODE_CHANGED);
	}
	return SCSI_EXEC_DONE;
}

/* ---- REPORT SUPPORTED OPERATION CODES ---- */

static size_t rsoc_timeouts(const struct scsi_cmd_desc *c, uint8_t *p)
{
	/* Command timeouts descriptor (SPC-4 6.35.4). */
	memset(p, 0, RSOC_TIMEOUTS_LEN);
	put_be16(&p[0], RSOC_TIMEOUTS_PAGE_LEN);
	put_be32(&p[4], c->timeout_s);
	put_be32(&p[8], c->timeout_s);
	return RSOC_TIMEOUTS_LEN;
}

int spc_report_opcodes(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	const uint8_t *cdb = task->cdb;
	bool rctd = cdb[2] & RSOC_RCTD;
	uint8_t opts = cdb[2] & RSOC_OPTIONS_MASK;
	uint8_t req_op = cdb[3];
	uint16_t req_sa = get_be16(&cdb[4]);
	uint32_t alloc = get_be32(&cdb[6]);
	uint8_t *d = task->nexus->target->resp;
	const struct scsi_cmd_desc *c = NULL;
	size_t off = 4;
	bool has_sa;

	(void)desc;
	if (opts == RSOC_ALL) {
		for (unsigned int i = 0; i < scsi_cmd_table_len; i++) {
			c = &scsi_cmd_table[i];
			if (!scsi_cmd_offered(task->priv.lu, c)) {
				continue;
			}
			d[off] = c->opcode;
			d[off + 1] = 0;
			put_be16(&d[off + 2], (c->flags & SCSI_CMD_F_SA) ? c->sa : 0);
			d[off + 4] = 0;
			d[off + 5] = ((c->flags & SCSI_CMD_F_SA) ? RSOC_SERVACTV : 0) |
				     (rctd ? RSOC_CTDP : 0);
			put_be16(&d[off + 6], c->cdb_len);
			off += RSOC_DESC_LEN;
			if (rctd) {
				off += rsoc_timeouts(c, &d[off]);
			}
		}
		put_be32(&d[0], (uint32_t)(off - 4));
		return scsi_task_data_in(task, d, (uint32_t)off, alloc);
	}

	/* One-command formats (SPC-4 6.35.2, table 243). */
	has_sa = scsi_cmd_opcode_has_sa(req_op);
	switch (opts) {
	case RSOC_ONE_NO_SA:
		if (has_sa) {
			return scsi_task_invalid_field(task, true, 2, 2);
		}
		break;
	case RSOC_ONE_SA:
		if (!has_sa) {
			return scsi_task_invalid_field(task, true, 2, 2);
		}
		break;
	case RSOC_ONE_EITHER:
		break;
	default:
		return scsi_task_invalid_field(task, true, 2, 2);
	}
	{
		uint8_t probe[SCSI_CDB_USAGE_MAX] = { req_op, (uint8_t)(has_sa ? req_sa : 0) };

		if (!has_sa || req_sa <= SCSI_SA_MAX) {
			c = scsi_cmd_lookup(probe);
		}
	}
	memset(d, 0, 4);
	if (!scsi_cmd_offered(task->priv.lu, c)) {
		d[1] = RSOC_SUPPORT_NOT;
		off = 4;
	} else {
		d[1] = RSOC_SUPPORT_STANDARD | (rctd ? RSOC_RCTD : 0);
		put_be16(&d[2], c->cdb_len);
		memcpy(&d[4], c->usage, c->cdb_len);
		off = 4 + c->cdb_len;
		if (rctd) {
			off += rsoc_timeouts(c, &d[off]);
		}
	}
	return scsi_task_data_in(task, d, (uint32_t)off, alloc);
}

/* ---- REPORT TARGET PORT GROUPS ---- */

/*
 * One target port group descriptor (SPC-4 6.37, table 287), the group's
 * state @state; @return its length.
 */
static size_t rtpg_group(uint8_t *d, const struct scsi_alua_group *g, uint8_t state)
{
	memset(d, 0, RTPG_GROUP_DESC_LEN);
	d[0] = (g->preferred ? RTPG_PREF : 0) | (state & RTPG_STATE_MASK);
	d[1] = RTPG_SUP_AO | RTPG_SUP_U;
	put_be16(&d[2], g->tpg_id);
	d[5] = RTPG_STATUS_IMPLICIT;
	d[7] = g->port_count;		/* TARGET PORT COUNT */
	for (unsigned int i = 0; i < g->port_count; i++) {
		uint8_t *p = &d[RTPG_GROUP_DESC_LEN + i * RTPG_PORT_DESC_LEN];

		memset(p, 0, RTPG_PORT_DESC_LEN);
		put_be16(&p[2], g->rel_port_ids[i]);
	}
	return RTPG_GROUP_DESC_LEN + (size_t)g->port_count * RTPG_PORT_DESC_LEN;
}

int spc_report_tpgs(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	const struct scsi_target *t = task->nexus->target;
	const struct scsi_alua_table *alua = t->alua;
	uint32_t alloc = get_be32(&task->cdb[6]);
	bool ext = (task->cdb[1] & RTPG_CDB_FORMAT_MASK) == RTPG_CDB_FORMAT_EXTENDED;
	uint8_t *d = t->resp;
	size_t off;

	(void)desc;
	if ((task->cdb[1] & RTPG_CDB_FORMAT_MASK) && !ext) {
		return scsi_task_invalid_field(task, true, 1, 7);
	}
	memset(d, 0, RTPG_EXT_HDR_LEN);
	off = 4;
	if (ext) {
		d[4] = RTPG_HDR_FORMAT_EXTENDED;
		d[5] = RTPG_IMPLICIT_TRANSITION_S;
		off = RTPG_EXT_HDR_LEN;
	}
	/*
	 * Every group of the node-wide table, ascending by id: the same list on
	 * every node. This node's own is Unavailable past its lease although
	 * the timer that says so has not run yet, as media access already is
	 * (scsi_alua_serves), so that the two never disagree.
	 */
	for (unsigned int i = 0; i < alua->count; i++) {
		const struct scsi_alua_group *g = &alua->groups[i];
		uint8_t state = g->state;

		if (g->tpg_id == alua->local_tpg && !scsi_alua_serves(alua, task->priv.start_ns)) {
			state = SCSI_ALUA_UNAVAILABLE;
		}
		off += rtpg_group(&d[off], g, state);
	}
	put_be32(&d[0], (uint32_t)(off - 4));
	return scsi_task_data_in(task, d, (uint32_t)off, alloc);
}

/* ---- START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL ---- */

int spc_start_stop_unit(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	const struct scsi_lu *lu = task->priv.lu;

	(void)desc;
	/*
	 * SBC-3 5.25: our medium is not removable. Loading/ejecting is refused
	 * while removal is prevented (53/02); otherwise the request is accepted
	 * and, like the power conditions, has no effect on a virtual disk.
	 */
	if ((task->cdb[4] & SSU_LOEJ) && lu->prevent) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
				       ASC_MEDIUM_REMOVAL_PREVENTED);
	}
	return SCSI_EXEC_DONE;
}

int spc_prevent_allow(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	(void)desc;
	/* SBC-3 5.13: PREVENT 01b prevents, 00b allows; 1xb are obsolete/reserved here. */
	task->priv.lu->prevent = task->cdb[4] & PREVENT_ALLOW_PREVENT;
	return SCSI_EXEC_DONE;
}
