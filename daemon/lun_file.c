/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A new LUN's identity and backing file, prepared on the proposer
 * (lun_file.h). No logging: the callers report what was done.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/base/direct_io.h"
#include "daemon/lun_file.h"

#define NAA_IEEE_REGISTERED_EXTENDED 0x6 /* SPC-4 Table 467 */
#define NAA_OUI_BITS		     24
#define NAA_HEAD_BITS		     28 /* NAA nibble + OUI */
#define NAA_UUID_BITS		     100
#define UUID_VERSION_4		     0x40
#define UUID_VARIANT_RFC4122	     0x80

/* ---- identity -------------------------------------------------------------- */

static void bit_set(uint8_t *buf, unsigned int bit, bool v)
{
	uint8_t mask = (uint8_t)(0x80u >> (bit % 8));

	if (v) {
		buf[bit / 8] |= mask;
	} else {
		buf[bit / 8] &= (uint8_t)~mask;
	}
}

static bool bit_get(const uint8_t *buf, unsigned int bit)
{
	return (buf[bit / 8] & (0x80u >> (bit % 8))) != 0;
}

void lun_identity_from_uuid(struct store_lun *l, const uint8_t uuid[STORE_UUID_LEN])
{
	memcpy(l->uuid, uuid, sizeof(l->uuid));
	/* RFC 4122 4.4: version 4 (random), variant 10xx. */
	l->uuid[6] = (uint8_t)((l->uuid[6] & 0x0f) | UUID_VERSION_4);
	l->uuid[8] = (uint8_t)((l->uuid[8] & 0x3f) | UUID_VARIANT_RFC4122);
	lun_identity_derive(l);
}

void lun_identity_derive(struct store_lun *l)
{
	uint32_t head = (NAA_IEEE_REGISTERED_EXTENDED << NAA_OUI_BITS) | LUN_IEEE_OUI_PLACEHOLDER;

	memset(l->naa, 0, sizeof(l->naa));
	for (unsigned int i = 0; i < NAA_HEAD_BITS; i++) {
		bit_set(l->naa, i, (head >> (NAA_HEAD_BITS - 1 - i)) & 1);
	}
	for (unsigned int i = 0; i < NAA_UUID_BITS; i++) {
		bit_set(l->naa, NAA_HEAD_BITS + i, bit_get(l->uuid, i));
	}
	for (size_t i = 0; i < sizeof(l->uuid); i++) {
		snprintf(l->serial + 2 * i, 3, "%02x", l->uuid[i]);
	}
}

int lun_identity_generate(struct store_lun *l)
{
	uint8_t uuid[STORE_UUID_LEN];

	if (getrandom(uuid, sizeof(uuid), 0) != (ssize_t)sizeof(uuid)) {
		return errno != 0 ? -errno : -EIO;
	}
	lun_identity_from_uuid(l, uuid);
	return 0;
}

void lun_uuid_format(char *out, const uint8_t u[STORE_UUID_LEN])
{
	snprintf(out, LUN_UUID_STR_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
}

/* ---- backing file ---------------------------------------------------------- */

/* ftruncate @path to @size (a new file with O_CREAT | O_EXCL: sparse, allocates nothing). */
static int file_set_size(const char *path, int oflags, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | oflags, LUN_FILE_MODE);
	int rc = 0;

	if (fd < 0) {
		return -errno;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = -errno;
	}
	close(fd);
	return rc;
}

static int file_create(struct store_lun *l, char *err, size_t errlen)
{
	int rc;

	if (l->size_bytes == 0 || l->size_bytes % l->block_size != 0) {
		snprintf(err, errlen,
			 "%.150s does not exist; give --size (a multiple of the "
			 "block size) to create it",
			 l->path);
		return -EINVAL;
	}
	rc = file_set_size(l->path, O_CREAT | O_EXCL, l->size_bytes);
	if (rc < 0) {
		snprintf(err, errlen, "creating %.200s: %s", l->path, strerror(-rc));
		if (rc != -EEXIST) {
			unlink(l->path);
		}
	}
	return rc;
}

static int file_size_regular(struct store_lun *l, const struct stat *st, bool grow,
			     struct lun_file_result *res, char *err, size_t errlen)
{
	uint64_t file_size = (uint64_t)st->st_size;
	int rc;

	if (l->size_bytes == 0) {
		l->size_bytes = file_size - file_size % l->block_size;
		if (l->size_bytes == 0) {
			snprintf(err, errlen,
				 "%.150s is smaller than one block; give --size and "
				 "--grow to extend it",
				 l->path);
			return -EINVAL;
		}
		return 0;
	}
	if (l->size_bytes % l->block_size != 0) {
		snprintf(err, errlen, "--size must be a multiple of the block size %u",
			 l->block_size);
		return -EINVAL;
	}
	if (l->size_bytes <= file_size) {
		return 0;
	}
	if (!grow) {
		snprintf(err, errlen,
			 "--size %" PRIu64 " is larger than the existing %.150s "
			 "(%" PRIu64 " bytes); give --grow to extend it",
			 l->size_bytes, l->path, file_size);
		return -EFBIG;
	}
	rc = file_set_size(l->path, 0, l->size_bytes);
	if (rc < 0) {
		snprintf(err, errlen, "extending %.200s: %s", l->path, strerror(-rc));
		return rc;
	}
	res->old_size = file_size;
	res->action = LUN_FILE_GROWN;
	return 0;
}

static int file_size_blkdev(struct store_lun *l, char *err, size_t errlen)
{
	uint64_t dev_size;
	int fd, rc = 0;

	fd = open(l->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &dev_size) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%.200s: %s", l->path, strerror(-rc));
	}
	if (fd >= 0) {
		close(fd);
	}
	if (rc < 0) {
		return rc;
	}
	if (l->size_bytes == 0) {
		l->size_bytes = dev_size - dev_size % l->block_size;
	} else if (l->size_bytes > dev_size) {
		snprintf(err, errlen, "--size exceeds the device size %" PRIu64, dev_size);
		return -EINVAL;
	}
	return 0;
}

bool lun_direct_io_choose(enum config_cluster mode, const char *backing,
			  enum lun_direct_request req)
{
	switch (req) {
	case LUN_DIRECT_ON:
		return true;
	case LUN_DIRECT_OFF:
		return false;
	case LUN_DIRECT_DEFAULT:
		break;
	}
	return mode == CONFIG_CLUSTER_COROSYNC && backing != NULL &&
	       strcmp(backing, LUN_BACKING_FILE) == 0;
}

/*
 * Open the store as the LUN will (backing/file.c) so its failure is this
 * command's. A block device is also opened exclusively once: that fails
 * with EBUSY while this host uses it (a mounted file system on it or on one
 * of its partitions, an LVM or RAID member), which no LUN may export.
 */
static int file_open_probe(const struct store_lun *l, bool blkdev, char *err, size_t errlen)
{
	int flags = (l->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int fd, rc;

	if (l->direct_io) {
		flags |= O_DIRECT;
	}
	if (blkdev) {
		flags |= O_EXCL;
	}
	fd = open(l->path, flags);
	if (fd >= 0) {
		uint32_t need = 0;

		rc = l->direct_io ? direct_io_block_fits(fd, l->block_size, &need) : 0;
		close(fd);
		if (rc < 0) {
			snprintf(err, errlen,
				 "%.150s with O_DIRECT needs requests aligned to %u bytes: "
				 "--block-size %u does not fit (a larger block size, or "
				 "--no-direct)",
				 l->path, need, l->block_size);
		}
		return rc;
	}
	rc = -errno;
	if (rc == -EBUSY && blkdev) {
		snprintf(err, errlen,
			 "%.150s is in use on this host (a mounted file system, LVM "
			 "or RAID member); refusing to export it",
			 l->path);
	} else if (rc == -EINVAL && l->direct_io) {
		snprintf(err, errlen,
			 "cannot open %.150s: its file system does not support "
			 "O_DIRECT (--direct)",
			 l->path);
	} else {
		snprintf(err, errlen, "cannot open %.150s %s: %s", l->path,
			 l->read_only ? "read-only" : "read-write", strerror(-rc));
	}
	return rc;
}

int lun_file_prepare(struct store_lun *l, bool grow, struct lun_file_result *res, char *err,
		     size_t errlen)
{
	struct stat st;
	int rc;

	*res = (struct lun_file_result){.action = LUN_FILE_EXISTING};
	if (stat(l->path, &st) < 0) {
		rc = -errno;
		if (rc != -ENOENT) {
			snprintf(err, errlen, "%.200s: %s", l->path, strerror(-rc));
			return rc;
		}
		rc = file_create(l, err, errlen);
		if (rc < 0) {
			return rc;
		}
		res->action = LUN_FILE_CREATED;
	} else if (S_ISREG(st.st_mode)) {
		rc = file_size_regular(l, &st, grow, res, err, errlen);
		if (rc < 0) {
			return rc;
		}
	} else if (S_ISBLK(st.st_mode)) {
		res->blkdev = true;
		rc = file_size_blkdev(l, err, errlen);
		if (rc < 0) {
			return rc;
		}
	} else {
		snprintf(err, errlen, "%.200s is neither a regular file nor a block device",
			 l->path);
		return -EINVAL;
	}
	rc = file_open_probe(l, res->blkdev, err, errlen);
	if (rc < 0 && res->action == LUN_FILE_CREATED) {
		unlink(l->path);
	}
	return rc;
}

int lun_file_resize(const struct store_lun *l, uint64_t size, struct lun_file_result *res,
		    char *err, size_t errlen)
{
	struct store_lun probe = *l;
	struct stat st;
	int rc;

	*res = (struct lun_file_result){.action = LUN_FILE_EXISTING};
	if (size == 0 || size % l->block_size != 0) {
		snprintf(err, errlen, "--size must be a positive multiple of the block size %u",
			 l->block_size);
		return -EINVAL;
	}
	if (stat(l->path, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%.200s: %s", l->path, strerror(-rc));
		return rc;
	}
	probe.size_bytes = size;
	if (S_ISBLK(st.st_mode)) {
		res->blkdev = true;
		return file_size_blkdev(&probe, err, errlen);
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%.200s is neither a regular file nor a block device",
			 l->path);
		return -EINVAL;
	}
	if (size > (uint64_t)st.st_size && l->read_only) {
		snprintf(err, errlen,
			 "%.150s has %" PRIu64 " bytes and the LUN is read-only: "
			 "extend the file first",
			 l->path, (uint64_t)st.st_size);
		return -EFBIG;
	}
	return file_size_regular(&probe, &st, true, res, err, errlen);
}

int lun_file_check_writable(const struct store_lun *l, char *err, size_t errlen)
{
	struct store_lun rw = *l;

	rw.read_only = false;
	/* Not exclusive: the LU itself holds the device open. */
	return file_open_probe(&rw, false, err, errlen);
}
