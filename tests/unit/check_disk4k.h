/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A file system on a disk with 4096-byte logical sectors, for the O_DIRECT
 * block-size rule (daemon/base/direct_io.h): a sparse image in a loop
 * device with 4096-byte sectors, ext4 on it, mounted in a mount namespace
 * of the calling test's own (Check forks every test), so the mount goes
 * with the test's process; the loop device is detached as soon as the
 * mount holds it, so it goes with the mount. Header only.
 */
#ifndef QUORATE_TESTS_UNIT_CHECK_DISK4K_H
#define QUORATE_TESTS_UNIT_CHECK_DISK4K_H

#include <check.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_DISK4K_BYTES (64u << 20)

/*
 * Mount such a file system at @dir/mnt4k (its image in @dir) and put the
 * mount point in @mnt. @return false, having said why on stderr, where
 * that cannot be done (not root, no loop device, no mkfs.ext4): the caller
 * skips its test.
 */
static inline bool t_disk4k_mount(const char *dir, char *mnt, size_t cap)
{
	char img[160], loopdev[64] = "", cmd[320];
	bool mounted;
	FILE *f;
	int fd;

	if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		fprintf(stderr, "skipped: a 4096-byte-sector disk needs root\n");
		return false;
	}
	snprintf(img, sizeof(img), "%s/disk4k.img", dir);
	snprintf(mnt, cap, "%s/mnt4k", dir);
	fd = open(img, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, T_DISK4K_BYTES), 0);
	close(fd);
	ck_assert_int_eq(mkdir(mnt, 0700), 0);
	snprintf(cmd, sizeof(cmd), "losetup --sector-size 4096 -f --show '%s' 2>/dev/null", img);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	if (fgets(loopdev, sizeof(loopdev), f) == NULL) {
		loopdev[0] = '\0';
	}
	pclose(f);
	loopdev[strcspn(loopdev, "\n")] = '\0';
	if (loopdev[0] == '\0') {
		fprintf(stderr, "skipped: no loop device with 4096-byte sectors\n");
		return false;
	}
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F '%s' >/dev/null 2>&1", loopdev);
	mounted = system(cmd) == 0 && mount(loopdev, mnt, "ext4", 0, NULL) == 0;
	snprintf(cmd, sizeof(cmd), "losetup -d '%s'", loopdev);
	ck_assert_int_eq(system(cmd), 0);
	if (!mounted) {
		fprintf(stderr, "skipped: no ext4 on the loop device\n");
	}
	return mounted;
}

#endif
