/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon/lun_file.c, linked from libdaemoncore.a alone: a new LUN's identity
 * (UUID v4, NAA-6 designator, serial) and its backing file (created sparse,
 * sized from the file, grown only when asked, refused when it is no file)
 * on real files in a fresh temporary directory; whether a new LUN is opened
 * with O_DIRECT (cluster mode's default, an explicit choice winning).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/base/domain.h"
#include "daemon/lun_file.h"
#include "tests/unit/check_disk4k.h"
#include "tests/unit/check_main.h"

#define BS	LUN_BLOCK_SIZE_512
#define ERR_MAX 256

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_lun_file.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void lun_init(struct store_lun *l, const char *name, uint64_t size)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->backing, sizeof(l->backing), "%s", LUN_BACKING_FILE);
	snprintf(l->path, sizeof(l->path), "%s/%s", dir, name);
	l->size_bytes = size;
	l->block_size = BS;
}

static off_t file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

static void file_write(const char *path, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
	close(fd);
}

/* A known UUID gives the documented designator and serial, bit for bit. */
START_TEST(test_identity_from_uuid)
{
	static const uint8_t uuid[STORE_UUID_LEN] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
						     0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98,
						     0x76, 0x54, 0x32, 0x10};
	/* NAA 6 | OUI AC-DE-48 | the UUID (version/variant forced) shifted by 4 bits. */
	static const uint8_t naa[STORE_NAA_LEN] = {0x6a, 0xcd, 0xe4, 0x80, 0x12, 0x34, 0x56, 0x78,
						   0x9a, 0xb4, 0xde, 0xfb, 0xed, 0xcb, 0xa9, 0x87};
	struct store_lun l;
	char text[LUN_UUID_STR_LEN + 1];

	memset(&l, 0, sizeof(l));
	lun_identity_from_uuid(&l, uuid);
	ck_assert_uint_eq(l.uuid[6], 0x4d); /* version 4 */
	ck_assert_uint_eq(l.uuid[8], 0xbe); /* variant 10xx */
	ck_assert_mem_eq(l.naa, naa, sizeof(naa));
	ck_assert_str_eq(l.serial, "0123456789ab4defbedcba9876543210");
	lun_uuid_format(text, l.uuid);
	ck_assert_str_eq(text, "01234567-89ab-4def-bedc-ba9876543210");
}
END_TEST

/*
 * An identity given by the administrator: the UUID is kept as it is (no
 * version bits forced), the NAA and serial derive from it, the same every
 * time; the formats lun create accepts (daemon/base/domain.h).
 */
START_TEST(test_identity_given)
{
	static const uint8_t uuid[STORE_UUID_LEN] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
						     0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98,
						     0x76, 0x54, 0x32, 0x10};
	static const uint8_t naa[STORE_NAA_LEN] = {0x6a, 0xcd, 0xe4, 0x80, 0x12, 0x34, 0x56, 0x78,
						   0x9a, 0xbc, 0xde, 0xff, 0xed, 0xcb, 0xa9, 0x87};
	uint8_t b[LUN_ID_BYTES];
	struct store_lun l, again;

	memset(&l, 0, sizeof(l));
	memcpy(l.uuid, uuid, sizeof(uuid));
	lun_identity_derive(&l);
	ck_assert_mem_eq(l.uuid, uuid, sizeof(uuid));
	ck_assert_mem_eq(l.naa, naa, sizeof(naa));
	ck_assert_str_eq(l.serial, "0123456789abcdeffedcba9876543210");
	memset(&again, 0, sizeof(again));
	memcpy(again.uuid, uuid, sizeof(uuid));
	lun_identity_derive(&again);
	ck_assert_int_eq(memcmp(&l, &again, sizeof(l)), 0);

	ck_assert(lun_uuid_parse("01234567-89AB-cdef-fedc-ba9876543210", b));
	ck_assert_mem_eq(b, uuid, sizeof(uuid));
	ck_assert(lun_uuid_parse("0123456789abcdeffedcba9876543210", b));
	ck_assert_mem_eq(b, uuid, sizeof(uuid));
	ck_assert(!lun_uuid_parse("01234567-89ab-cdef-fedc-ba987654321", b));
	ck_assert(!lun_uuid_parse("0123456789-ab-cdef-fedc-ba98765432", b));
	ck_assert(!lun_uuid_parse("g123456789abcdeffedcba9876543210", b));
	ck_assert(!lun_uuid_parse("", b));
	ck_assert(!lun_naa_parse("naa.6acde4801234567 89abcdeffedcba98", b));
	ck_assert(lun_naa_parse("naa.6acde480123456789abcdeffedcba987", b));
	ck_assert_mem_eq(b, naa, sizeof(naa));
	ck_assert(lun_naa_parse("6ACDE480123456789ABCDEFFEDCBA987", b));
	ck_assert(!lun_naa_parse("5acde480123456789abcdeffedcba987", b));
	ck_assert(!lun_naa_parse("6acde480123456789abcdeffedcba98", b));
	ck_assert(lun_serial_valid("A"));
	ck_assert(lun_serial_valid("SN-0001/x"));
	ck_assert(lun_serial_valid("0123456789abcdef0123456789abcdef"));
	ck_assert(!lun_serial_valid("0123456789abcdef0123456789abcdef0"));
	ck_assert(!lun_serial_valid(""));
	ck_assert(!lun_serial_valid("has space"));
	ck_assert(!lun_serial_valid("tab\there"));
	ck_assert(!lun_serial_valid("caf\xc3\xa9"));
}
END_TEST

/* Random identities: well-formed, and two LUNs never share one. */
START_TEST(test_identity_generate)
{
	struct store_lun a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(lun_identity_generate(&a), 0);
	ck_assert_int_eq(lun_identity_generate(&b), 0);
	ck_assert_uint_eq(a.uuid[6] >> 4, 4);
	ck_assert_uint_eq(a.uuid[8] >> 6, 2);
	ck_assert_uint_eq(a.naa[0], 0x6a);
	ck_assert_uint_eq(strlen(a.serial), 2 * STORE_UUID_LEN);
	ck_assert_int_ne(memcmp(a.uuid, b.uuid, sizeof(a.uuid)), 0);
	ck_assert_int_ne(memcmp(a.naa, b.naa, sizeof(a.naa)), 0);
}
END_TEST

/* A missing file is created sparse at the asked size; without a size it is refused. */
START_TEST(test_create_sparse)
{
	struct lun_file_result res;
	struct store_lun l;
	char err[ERR_MAX] = "";
	struct stat st;

	lun_init(&l, "none.img", 0);
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "give --size"));
	ck_assert_int_eq(access(l.path, F_OK), -1);
	lun_init(&l, "odd.img", BS * 8 + 1);
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(access(l.path, F_OK), -1);

	lun_init(&l, "new.img", 64ull << 20);
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(res.action, LUN_FILE_CREATED);
	ck_assert(!res.blkdev);
	ck_assert_int_eq(stat(l.path, &st), 0);
	ck_assert_int_eq(st.st_size, 64ll << 20);
	ck_assert_int_eq(st.st_mode & 0777, LUN_FILE_MODE);
	ck_assert_int_lt(st.st_blocks, 64); /* sparse: nothing written */
}
END_TEST

/* An existing file: its size by default (whole blocks), never shrunk, grown only with grow. */
START_TEST(test_existing_and_grow)
{
	struct lun_file_result res;
	struct store_lun l;
	char err[ERR_MAX] = "";

	lun_init(&l, "old.img", 0);
	file_write(l.path, BS * 10 + 100);
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(res.action, LUN_FILE_EXISTING);
	ck_assert_uint_eq(l.size_bytes, BS * 10);

	lun_init(&l, "old.img", BS * 4);
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(res.action, LUN_FILE_EXISTING);
	ck_assert_int_eq(file_size(l.path), BS * 10 + 100);

	lun_init(&l, "old.img", BS * 20);
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), -EFBIG);
	ck_assert_ptr_nonnull(strstr(err, "--grow"));
	ck_assert_int_eq(file_size(l.path), BS * 10 + 100);
	ck_assert_int_eq(lun_file_prepare(&l, true, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(res.action, LUN_FILE_GROWN);
	ck_assert_uint_eq(res.old_size, BS * 10 + 100);
	ck_assert_int_eq(file_size(l.path), BS * 20);

	lun_init(&l, "tiny.img", 0);
	file_write(l.path, BS - 1);
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "smaller than one block"));
}
END_TEST

/* Neither a regular file nor a block device; a file that cannot be opened read-write. */
START_TEST(test_refused)
{
	struct lun_file_result res;
	struct store_lun l;
	char err[ERR_MAX] = "";

	lun_init(&l, "sub", BS * 8);
	ck_assert_int_eq(mkdir(l.path, 0700), 0);
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "neither a regular file nor a block device"));

	lun_init(&l, "sub/missing/x.img", BS * 8);
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), -ENOENT);

	if (geteuid() != 0) { /* root opens a mode-0400 file read-write anyway */
		lun_init(&l, "ro.img", 0);
		file_write(l.path, BS * 8);
		ck_assert_int_eq(chmod(l.path, 0400), 0);
		ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), -EACCES);
		l.read_only = true;
		ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), 0);
	}
}
END_TEST

/*
 * How a new LUN's store is opened (the record's direct_io): what lun create
 * was told wins; without a word, O_DIRECT for a file or block device in
 * cluster mode and not standalone; never by default for the null store.
 */
START_TEST(test_direct_io_choice)
{
	static const struct {
		enum config_cluster mode;
		const char *backing;
		enum lun_direct_request req;
		bool direct;
	} cases[] = {
		{CONFIG_CLUSTER_STANDALONE, LUN_BACKING_FILE, LUN_DIRECT_DEFAULT, false},
		{CONFIG_CLUSTER_STANDALONE, LUN_BACKING_FILE, LUN_DIRECT_ON, true},
		{CONFIG_CLUSTER_STANDALONE, LUN_BACKING_FILE, LUN_DIRECT_OFF, false},
		{CONFIG_CLUSTER_STANDALONE, LUN_BACKING_NULL, LUN_DIRECT_DEFAULT, false},
		{CONFIG_CLUSTER_COROSYNC, LUN_BACKING_FILE, LUN_DIRECT_DEFAULT, true},
		{CONFIG_CLUSTER_COROSYNC, LUN_BACKING_FILE, LUN_DIRECT_OFF, false},
		{CONFIG_CLUSTER_COROSYNC, LUN_BACKING_FILE, LUN_DIRECT_ON, true},
		{CONFIG_CLUSTER_COROSYNC, LUN_BACKING_NULL, LUN_DIRECT_DEFAULT, false},
		{CONFIG_CLUSTER_COROSYNC, LUN_BACKING_NULL, LUN_DIRECT_ON, true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(lun_direct_io_choose(cases[i].mode, cases[i].backing, cases[i].req) ==
				      cases[i].direct,
			      "case %zu", i);
	}
}
END_TEST

/*
 * The choice reaches the probe open: a cluster-mode default on a file
 * system without O_DIRECT (tmpfs before Linux 6.6) fails lun create with
 * the reason, and --no-direct opens it; on one with O_DIRECT both work.
 */
START_TEST(test_direct_io_probe_open)
{
	struct lun_file_result res;
	struct store_lun l;
	char err[ERR_MAX] = "";
	int fd, rc;

	lun_init(&l, "direct.img", BS * 8);
	l.direct_io = lun_direct_io_choose(CONFIG_CLUSTER_COROSYNC, l.backing, LUN_DIRECT_DEFAULT);
	ck_assert(l.direct_io);
	file_write(l.path, BS * 8);
	/* Does this directory's file system take O_DIRECT at all? */
	fd = open(l.path, O_RDWR | O_DIRECT);
	rc = fd < 0 ? -errno : 0;
	if (fd >= 0) {
		close(fd);
	}
	if (rc == 0) {
		ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), 0);
	} else {
		ck_assert_int_eq(rc, -EINVAL);
		ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "O_DIRECT"));
	}
	l.direct_io = lun_direct_io_choose(CONFIG_CLUSTER_COROSYNC, l.backing, LUN_DIRECT_OFF);
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), 0);
}
END_TEST

/*
 * A file on a disk with 4096-byte sectors (a loop device, ext4 on it, in a
 * mount namespace of this test's own): O_DIRECT there takes only requests
 * of whole 4096 bytes, so a 512-byte LUN with O_DIRECT is refused with the
 * reason (and the file it created removed), while a 4096-byte one, or the
 * 512-byte one through the page cache, is fine. Needs root and losetup;
 * skipped otherwise.
 */
START_TEST(test_direct_io_block_size_fits)
{
	char mnt[96], err[ERR_MAX] = "";
	struct lun_file_result res;
	struct store_lun l;
	int rc;

	if (!t_disk4k_mount(dir, mnt, sizeof(mnt))) {
		return;
	}
	lun_init(&l, "mnt4k/lun512.img", 1u << 20);
	l.direct_io = true;
	ck_assert_int_eq(lun_file_prepare(&l, false, &res, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "aligned to 4096 bytes") != NULL, "%s", err);
	ck_assert_int_eq(access(l.path, F_OK), -1); /* the file it created is gone */

	lun_init(&l, "mnt4k/lun4096.img", 1u << 20);
	l.block_size = LUN_BLOCK_SIZE_4096;
	l.direct_io = true;
	rc = lun_file_prepare(&l, false, &res, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);

	lun_init(&l, "mnt4k/lun512.img", 1u << 20);
	rc = lun_file_prepare(&l, false, &res, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_int_eq(umount(mnt), 0);
}
END_TEST

/*
 * lun_file_resize: a shorter file grows sparsely (GROWN, old size), a longer
 * one stays as it is, a read-only LUN's file is not extended, and a size
 * that is not whole blocks, a missing file and a directory are refused.
 */
START_TEST(test_resize)
{
	struct lun_file_result res;
	struct store_lun l;
	char err[ERR_MAX];

	lun_init(&l, "r.img", 4 * BS);
	file_write(l.path, 4 * BS);
	ck_assert_int_eq(lun_file_resize(&l, 16 * BS, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(res.action, LUN_FILE_GROWN);
	ck_assert_uint_eq(res.old_size, 4 * BS);
	ck_assert_int_eq(file_size(l.path), 16 * BS);
	ck_assert_int_eq(lun_file_resize(&l, 2 * BS, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(res.action, LUN_FILE_EXISTING);
	ck_assert_int_eq(file_size(l.path), 16 * BS);
	ck_assert_int_eq(lun_file_resize(&l, 16 * BS + 1, &res, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lun_file_resize(&l, 0, &res, err, sizeof(err)), -EINVAL);
	l.read_only = true;
	ck_assert_int_eq(lun_file_resize(&l, 32 * BS, &res, err, sizeof(err)), -EFBIG);
	ck_assert_ptr_nonnull(strstr(err, "read-only"));
	ck_assert_int_eq(file_size(l.path), 16 * BS);
	ck_assert_int_eq(lun_file_resize(&l, 8 * BS, &res, err, sizeof(err)), 0);

	lun_init(&l, "missing.img", 4 * BS);
	ck_assert_int_eq(lun_file_resize(&l, 8 * BS, &res, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(access(l.path, F_OK), -1);
	snprintf(l.path, sizeof(l.path), "%s", dir);
	ck_assert_int_eq(lun_file_resize(&l, 8 * BS, &res, err, sizeof(err)), -EINVAL);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("lun_file");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_identity_from_uuid);
	tcase_add_test(tc, test_identity_generate);
	tcase_add_test(tc, test_identity_given);
	tcase_add_test(tc, test_create_sparse);
	tcase_add_test(tc, test_existing_and_grow);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_direct_io_choice);
	tcase_add_test(tc, test_direct_io_probe_open);
	tcase_add_test(tc, test_direct_io_block_size_fits);
	tcase_add_test(tc, test_resize);
	suite_add_tcase(s, tc);
	return s;
}
