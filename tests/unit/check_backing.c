/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of daemon/backing: the real io_uring engine on a real qb_loop,
 * real files in a fresh directory under /var/tmp (a disk file system, so
 * O_DIRECT, hole punching and ZERO_RANGE work), and /dev/shm (tmpfs) for
 * the zero-fill fallback and the inline memory path (in a fresh directory
 * of its own, so parallel runs do not collide). Every request runs to
 * completion by running the loop until its done() stops it; done() also
 * checks that it never runs from inside backing_submit(). Data is verified
 * with pread() on the file, independently of the store's own read path.
 *
 * Which path served a request is visible through the public API: a request
 * completed at submit time (inline copy) is on the engine's ready list and
 * its done() runs inside loop_pass_end() of the pass that submitted it,
 * while one that went through io_uring needs the loop to reap its
 * completion, so its done() cannot have run when loop_pass_end() returns.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <check.h>
#include <qb/qbloop.h>

#include "daemon/backing/backing.h"
#include "daemon/base/loop_pass.h"
#include "tests/unit/check_disk4k.h"
#include "tests/unit/check_main.h"

#define KIB		   1024u
#define MIB		   (1024u * 1024u)
#define TMPFS_MAGIC_NUMBER 0x01021994
/* Give up on a run of the loop after this long: a lost completion. */
#define LOOP_DEADLINE_MS 20000

#define PAGE_SIZE_BYTES 4096u
/*
 * Requests up to this size are always eligible for the inline path. file.c
 * sends bigger ones (FILE_INLINE_MAX, a tuning knob) to io_uring's workers;
 * which size that is is not asserted here, only that their data is right.
 */
#define INLINE_SURE_MAX (64 * KIB)

static qb_loop_t *loop;
static char dir[64];
static char shmdir[64]; /* empty when /dev/shm is not tmpfs */
static unsigned int files_made;
static char file_paths[16][128];

static bool in_submit;
static unsigned int completed, expected;
static bool done_in_submit;

static void test_done(struct backing_io *io)
{
	(void)io;
	if (in_submit) {
		done_in_submit = true;
	}
	if (++completed == expected) {
		qb_loop_stop(loop);
	}
}

static void deadline_hit(void *data)
{
	(void)data;
	ck_abort_msg("the loop did not complete %u I/Os (only %u)", expected, completed);
}

static bool tmpfs_at(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC_NUMBER;
}

/* Empty @path (plain files only, as make_file() creates) and remove it. */
static void remove_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			unlinkat(dirfd(d), de->d_name, 0);
		}
	}
	closedir(d);
	rmdir(path);
}

/*
 * Unchecked fixture (runs in the parent, once for the test case): the
 * directories outlive every test's process, so the files of a test that
 * failed half-way are removed too.
 */
static void dirs_setup(void)
{
	snprintf(dir, sizeof(dir), "/var/tmp/check_backing.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(shmdir, sizeof(shmdir), "/dev/shm/check_backing.XXXXXX");
	if (!tmpfs_at("/dev/shm") || !mkdtemp(shmdir)) {
		shmdir[0] = '\0';
	}
}

static void dirs_teardown(void)
{
	remove_dir(dir);
	if (shmdir[0]) {
		remove_dir(shmdir);
	}
}

static void setup(void)
{
	loop = qb_loop_create();
	ck_assert_ptr_nonnull(loop);
	ck_assert_int_eq(backing_engine_init(loop), 0);
	files_made = 0;
	done_in_submit = false;
}

static void teardown(void)
{
	unsigned int i;

	backing_engine_fini();
	qb_loop_destroy(loop);
	for (i = 0; i < files_made; i++) {
		unlink(file_paths[i]);
	}
}

/* Is /dev/shm usable for a tmpfs test? Says so on stderr when it is not. */
static bool have_tmpfs(const char *test)
{
	if (!shmdir[0]) {
		fprintf(stderr, "check_backing: /dev/shm is not a usable tmpfs, %s not run\n",
			test);
		return false;
	}
	return true;
}

/* A file in the test directory (or @base) holding @size bytes of @fill (or empty). */
static const char *make_file(const char *base, uint64_t size, int fill)
{
	char *path = file_paths[files_made];
	int fd;

	ck_assert_uint_lt(files_made, 16);
	snprintf(path, sizeof(file_paths[0]), "%s/f%u", base ? base : dir, files_made);
	files_made++;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	if (size) {
		char *buf = malloc(size);

		memset(buf, fill, size);
		ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
		free(buf);
	}
	close(fd);
	return path;
}

static struct backing *open_store(const char *kind, const char *path, uint64_t size,
				  uint32_t block_size, bool direct, bool ro)
{
	struct backing_params p = {
		.path = path,
		.size_bytes = size,
		.block_size = block_size,
		.direct_io = direct,
		.read_only = ro,
	};
	struct backing *store = NULL;

	ck_assert_int_eq(backing_open(kind, &p, &store), 0);
	ck_assert_ptr_nonnull(store);
	return store;
}

static int open_err(const char *kind, const char *path, uint64_t size, uint32_t block_size, bool ro)
{
	struct backing_params p = {
		.path = path,
		.size_bytes = size,
		.block_size = block_size,
		.read_only = ro,
	};
	struct backing *store = (struct backing *)&p;
	int rc = backing_open(kind, &p, &store);

	ck_assert_ptr_null(store);
	return rc;
}

/* Submit @n requests and run the loop until all of them completed. */
static void run_ios(struct backing *store, struct backing_io *ios, unsigned int n)
{
	qb_loop_timer_handle deadline;
	unsigned int i;

	completed = 0;
	expected = n;
	for (i = 0; i < n; i++) {
		ios[i].done = test_done;
		ios[i].result = 1; /* the store must overwrite it */
		in_submit = true;
		ck_assert_int_eq(backing_submit(store, &ios[i]), 0);
		in_submit = false;
	}
	ck_assert_uint_eq(completed, 0);
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_LOW, LOOP_DEADLINE_MS * 1000000ULL, NULL,
					   deadline_hit, &deadline),
			 0);
	qb_loop_run(loop);
	qb_loop_timer_del(loop, deadline);
	ck_assert_uint_eq(completed, n);
	ck_assert(!done_in_submit);
}

static int do_io(struct backing *store, enum backing_op op, uint64_t off, uint64_t len, void *buf,
		 bool fua)
{
	struct backing_io io = {
		.op = op,
		.offset = off,
		.len = len,
		.buf = buf,
		.fua = fua,
	};

	run_ios(store, &io, 1);
	return io.result;
}

static void pattern(uint8_t *buf, uint64_t len, uint64_t seed)
{
	uint64_t i;

	for (i = 0; i < len; i++) {
		buf[i] = (uint8_t)((seed * 131 + i * 7 + (i >> 9)) ^ (seed >> 3));
	}
}

static void *xalloc(size_t len)
{
	void *p = NULL;

	ck_assert_int_eq(posix_memalign(&p, BACKING_BUF_ALIGN, len), 0);
	return p;
}

static void assert_file_bytes(const char *path, uint64_t off, const void *want, uint64_t len)
{
	uint8_t *got = malloc(len);
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, got, len, (off_t)off), (ssize_t)len);
	close(fd);
	ck_assert_mem_eq(got, want, len);
	free(got);
}

static bool all_zero(const uint8_t *buf, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++) {
		if (buf[i]) {
			return false;
		}
	}
	return true;
}

START_TEST(test_file_roundtrip)
{
	static const uint64_t offs[] = {0, 512, 4096, 7 * 512, 65536, 1000 * 512, 2 * MIB - 512};
	static const uint64_t lens[] = {512, 1024, 4096, 3 * 512, 65536, 128 * KIB + 512};
	const char *path = make_file(NULL, 0, 0);
	struct backing *store = open_store("file", path, 4 * MIB, 512, false, false);
	uint8_t *wbuf = xalloc(256 * KIB), *rbuf = xalloc(256 * KIB);
	struct stat st;
	size_t i, j;

	ck_assert_uint_eq(backing_size(store), 4 * MIB);
	/* The empty file was extended sparsely to the configured size. */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 4 * MIB);
	ck_assert_int_lt(st.st_blocks, 8);

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			uint64_t seed = i * 100 + j;

			pattern(wbuf, lens[j], seed);
			memset(rbuf, 0xEE, lens[j]);
			ck_assert_int_eq(do_io(store, BACKING_WRITE, offs[i], lens[j], wbuf, false),
					 0);
			assert_file_bytes(path, offs[i], wbuf, lens[j]);
			ck_assert_int_eq(do_io(store, BACKING_READ, offs[i], lens[j], rbuf, false),
					 0);
			ck_assert_mem_eq(rbuf, wbuf, lens[j]);
		}
	}
	/* The last byte of the store is reachable, one past it is not. */
	ck_assert_int_eq(do_io(store, BACKING_READ, 4 * MIB - 512, 512, rbuf, false), 0);
	ck_assert_int_eq(do_io(store, BACKING_READ, 4 * MIB - 512, 1024, rbuf, false), -ERANGE);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 4 * MIB, 512, wbuf, false), -ERANGE);
	ck_assert_int_eq(do_io(store, BACKING_READ, UINT64_MAX - 511, 512, rbuf, false), -ERANGE);
	/* Not block-aligned. */
	ck_assert_int_eq(do_io(store, BACKING_READ, 100, 512, rbuf, false), -EINVAL);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 0, 100, wbuf, false), -EINVAL);
	/* Zero length completes successfully (through done()). */
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 0, 0, NULL, false), 0);
	backing_close(store);
	free(wbuf);
	free(rbuf);
}
END_TEST

START_TEST(test_file_fua_flush)
{
	const char *path = make_file(NULL, 64 * KIB, 0x11);
	struct backing *store = open_store("file", path, 0, 512, false, false);
	uint8_t *buf = xalloc(8 * KIB);

	ck_assert_uint_eq(backing_size(store), 64 * KIB);
	pattern(buf, 8 * KIB, 42);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 8 * KIB, 8 * KIB, buf, true), 0);
	assert_file_bytes(path, 8 * KIB, buf, 8 * KIB);
	ck_assert_int_eq(do_io(store, BACKING_FLUSH, 0, 0, NULL, false), 0);
	/* A FLUSH carrying a range is still a whole-store flush. */
	ck_assert_int_eq(do_io(store, BACKING_FLUSH, 512, 512, NULL, false), 0);
	backing_close(store);
	free(buf);
}
END_TEST

START_TEST(test_file_discard_map)
{
	const char *path = make_file(NULL, 1 * MIB, 0x5A);
	struct backing *store = open_store("file", path, 0, 512, false, false);
	uint8_t *buf = xalloc(128 * KIB);
	uint64_t ext;
	bool mapped;

	ck_assert(backing_can_discard(store));
	ck_assert(backing_discard_zeroes(store));
	ck_assert_int_eq(backing_map_status(store, 0, &mapped, &ext), 0);
	ck_assert(mapped);
	ck_assert_uint_eq(ext, 1 * MIB);

	ck_assert_int_eq(do_io(store, BACKING_DISCARD, 256 * KIB, 128 * KIB, NULL, false), 0);
	memset(buf, 0xEE, 128 * KIB);
	ck_assert_int_eq(do_io(store, BACKING_READ, 256 * KIB, 128 * KIB, buf, false), 0);
	ck_assert(all_zero(buf, 128 * KIB));
	/* Neighbours keep their data. */
	ck_assert_int_eq(do_io(store, BACKING_READ, 256 * KIB - 4 * KIB, 4 * KIB, buf, false), 0);
	ck_assert_uint_eq(buf[0], 0x5A);
	ck_assert_uint_eq(buf[4 * KIB - 1], 0x5A);

	ck_assert_int_eq(backing_map_status(store, 0, &mapped, &ext), 0);
	ck_assert(mapped);
	ck_assert_uint_eq(ext, 256 * KIB);
	ck_assert_int_eq(backing_map_status(store, 256 * KIB, &mapped, &ext), 0);
	ck_assert(!mapped);
	ck_assert_uint_eq(ext, 128 * KIB);
	ck_assert_int_eq(backing_map_status(store, 300 * KIB, &mapped, &ext), 0);
	ck_assert(!mapped);
	ck_assert_uint_eq(ext, 84 * KIB);
	ck_assert_int_eq(backing_map_status(store, 384 * KIB, &mapped, &ext), 0);
	ck_assert(mapped);
	ck_assert_uint_eq(ext, 640 * KIB);
	ck_assert_int_eq(backing_map_status(store, 1 * MIB, &mapped, &ext), -EINVAL);

	/* A store larger than its data: the sparse tail is unmapped up to the end. */
	backing_close(store);
	store = open_store("file", path, 2 * MIB, 512, false, false);
	ck_assert_int_eq(backing_map_status(store, 1 * MIB + 512, &mapped, &ext), 0);
	ck_assert(!mapped);
	ck_assert_uint_eq(ext, 1 * MIB - 512);
	backing_close(store);
	free(buf);
}
END_TEST

START_TEST(test_file_write_zeroes)
{
	const char *path = make_file(NULL, 1 * MIB, 0x77);
	struct backing *store = open_store("file", path, 0, 512, false, false);
	uint8_t *buf = xalloc(1 * MIB);

	ck_assert_int_eq(do_io(store, BACKING_WRITE_ZEROES, 512, 300 * KIB, NULL, false), 0);
	ck_assert_int_eq(do_io(store, BACKING_READ, 0, 1 * MIB, buf, false), 0);
	ck_assert_uint_eq(buf[0], 0x77);
	ck_assert_uint_eq(buf[511], 0x77);
	ck_assert(all_zero(buf + 512, 300 * KIB));
	ck_assert_uint_eq(buf[512 + 300 * KIB], 0x77);
	ck_assert_uint_eq(buf[1 * MIB - 1], 0x77);
	backing_close(store);
	free(buf);
}
END_TEST

/* tmpfs has no FALLOC_FL_ZERO_RANGE: WRITE_ZEROES falls back to writing zeroes in chunks. */
START_TEST(test_file_write_zeroes_fallback)
{
	const char *path;
	struct backing *store;
	uint8_t *buf;

	if (!have_tmpfs("test_file_write_zeroes_fallback")) {
		return;
	}
	path = make_file(shmdir, 4 * MIB, 0x33);
	store = open_store("file", path, 0, 4096, false, false);
	buf = xalloc(4 * MIB);
	/* 3 MiB + 4 KiB spans several zero-buffer chunks; done twice (second: known fallback). */
	ck_assert_int_eq(do_io(store, BACKING_WRITE_ZEROES, 4096, 3 * MIB + 4096, NULL, false), 0);
	ck_assert_int_eq(do_io(store, BACKING_WRITE_ZEROES, 0, 4096, NULL, false), 0);
	ck_assert_int_eq(do_io(store, BACKING_READ, 0, 4 * MIB, buf, false), 0);
	ck_assert(all_zero(buf, 3 * MIB + 8192));
	ck_assert_uint_eq(buf[3 * MIB + 8192], 0x33);
	ck_assert_uint_eq(buf[4 * MIB - 1], 0x33);
	backing_close(store);
	free(buf);
}
END_TEST

START_TEST(test_file_4k)
{
	const char *path = make_file(NULL, 0, 0);
	struct backing *store = open_store("file", path, 8 * MIB, 4096, false, false);
	uint8_t *wbuf = xalloc(64 * KIB), *rbuf = xalloc(64 * KIB);
	uint64_t off;

	for (off = 0; off < 8 * MIB; off += 1 * MIB + 4096) {
		pattern(wbuf, 64 * KIB, off);
		ck_assert_int_eq(do_io(store, BACKING_WRITE, off, 64 * KIB, wbuf, false), 0);
		ck_assert_int_eq(do_io(store, BACKING_READ, off, 64 * KIB, rbuf, false), 0);
		ck_assert_mem_eq(rbuf, wbuf, 64 * KIB);
	}
	/* 512-byte granularity is not valid on a 4096-byte store. */
	ck_assert_int_eq(do_io(store, BACKING_READ, 512, 4096, rbuf, false), -EINVAL);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 0, 512, wbuf, false), -EINVAL);
	ck_assert_int_eq(do_io(store, BACKING_DISCARD, 4096, 512, NULL, false), -EINVAL);
	backing_close(store);
	free(wbuf);
	free(rbuf);
}
END_TEST

/* O_DIRECT on a disk file system: aligned buffers work, unaligned ones are refused. */
START_TEST(test_file_direct)
{
	const char *path = make_file(NULL, 0, 0);
	struct backing *store = open_store("file", path, 1 * MIB, 4096, true, false);
	uint8_t *wbuf = xalloc(64 * KIB + 4096), *rbuf = xalloc(64 * KIB);

	pattern(wbuf, 64 * KIB, 9);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 128 * KIB, 64 * KIB, wbuf, true), 0);
	ck_assert_int_eq(do_io(store, BACKING_READ, 128 * KIB, 64 * KIB, rbuf, false), 0);
	ck_assert_mem_eq(rbuf, wbuf, 64 * KIB);
	assert_file_bytes(path, 128 * KIB, wbuf, 64 * KIB);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 0, 4096, wbuf + 512, false), -EINVAL);
	ck_assert_int_eq(do_io(store, BACKING_WRITE_ZEROES, 128 * KIB, 8192, NULL, false), 0);
	ck_assert_int_eq(do_io(store, BACKING_READ, 128 * KIB, 8192, rbuf, false), 0);
	ck_assert(all_zero(rbuf, 8192));
	backing_close(store);
	free(wbuf);
	free(rbuf);
}
END_TEST

/*
 * O_DIRECT on a disk with 4096-byte sectors (tests/unit/check_disk4k.h)
 * takes only whole 4096-byte requests: a 512-byte store there is refused at
 * open (direct_io_block_fits()) instead of failing every 512-byte request
 * with EINVAL later; a 4096-byte one opens and works, and so does the
 * 512-byte one through the page cache. Skipped without root.
 */
START_TEST(test_file_direct_block_size)
{
	struct backing_params p = {.size_bytes = 1 * MIB, .direct_io = true};
	struct backing *store = NULL;
	char mnt[96], path[128];
	uint8_t *buf = xalloc(4096);
	int fd;

	if (!t_disk4k_mount(dir, mnt, sizeof(mnt))) {
		free(buf);
		return;
	}
	snprintf(path, sizeof(path), "%s/lu.img", mnt);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	p.path = path;
	p.block_size = 512;
	ck_assert_int_eq(backing_open("file", &p, &store), -EINVAL);
	ck_assert_ptr_null(store);

	p.block_size = 4096;
	ck_assert_int_eq(backing_open("file", &p, &store), 0);
	pattern(buf, 4096, 3);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 8192, 4096, buf, true), 0);
	backing_close(store);

	store = open_store("file", path, 1 * MIB, 512, false, false);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 512, 512, buf, true), 0);
	backing_close(store);
	free(buf);
	ck_assert_int_eq(umount(mnt), 0);
}
END_TEST

/* Far more requests than the ring holds: all complete, none lost, data right. */
START_TEST(test_file_many_concurrent)
{
	enum { NR = 3000, BLK = 4096 };
	const char *path = make_file(NULL, 0, 0);
	struct backing *store = open_store("file", path, (uint64_t)NR * BLK, 512, false, false);
	struct backing_io *ios = calloc(NR, sizeof(*ios));
	uint8_t *bufs = xalloc((size_t)NR * BLK);
	uint8_t *want = malloc((size_t)NR * BLK);
	unsigned int i;

	for (i = 0; i < NR; i++) {
		/* Scatter the order so neighbours are not submitted together. */
		unsigned int blk = (i * 7919u) % NR;

		pattern(bufs + (size_t)i * BLK, BLK, blk);
		memcpy(want + (size_t)blk * BLK, bufs + (size_t)i * BLK, BLK);
		ios[i] = (struct backing_io){
			.op = BACKING_WRITE,
			.offset = (uint64_t)blk * BLK,
			.len = BLK,
			.buf = bufs + (size_t)i * BLK,
			.fua = (i % 97) == 0,
		};
	}
	run_ios(store, ios, NR);
	for (i = 0; i < NR; i++) {
		ck_assert_int_eq(ios[i].result, 0);
	}
	assert_file_bytes(path, 0, want, (uint64_t)NR * BLK);

	memset(bufs, 0, (size_t)NR * BLK);
	for (i = 0; i < NR; i++) {
		ios[i] = (struct backing_io){
			.op = BACKING_READ,
			.offset = (uint64_t)i * BLK,
			.len = BLK,
			.buf = bufs + (size_t)i * BLK,
		};
	}
	run_ios(store, ios, NR);
	for (i = 0; i < NR; i++) {
		ck_assert_int_eq(ios[i].result, 0);
	}
	ck_assert_mem_eq(bufs, want, (size_t)NR * BLK);
	backing_close(store);
	free(ios);
	free(bufs);
	free(want);
}
END_TEST

/* Resubmitting from done() (as the SCSI layer does for the next R2T burst) works. */
static unsigned int chain_left;
static struct backing *chain_store;

static void chain_done(struct backing_io *io)
{
	ck_assert(!in_submit);
	ck_assert_int_eq(io->result, 0);
	if (--chain_left == 0) {
		qb_loop_stop(loop);
		return;
	}
	io->offset += io->len;
	ck_assert_int_eq(backing_submit(chain_store, io), 0);
}

START_TEST(test_file_resubmit_from_done)
{
	const char *path = make_file(NULL, 0, 0);
	uint8_t *buf = xalloc(4096);
	struct backing_io io = {.op = BACKING_WRITE, .len = 4096, .buf = buf, .done = chain_done};

	chain_store = open_store("file", path, 1 * MIB, 512, false, false);
	memset(buf, 0xC3, 4096);
	chain_left = 256;
	in_submit = true;
	ck_assert_int_eq(backing_submit(chain_store, &io), 0);
	in_submit = false;
	qb_loop_run(loop);
	ck_assert_uint_eq(chain_left, 0);
	assert_file_bytes(path, 1 * MIB - 4096, buf, 4096);
	backing_close(chain_store);
	free(buf);
}
END_TEST

/*
 * A file truncated under the store: the read comes back short, is continued
 * for the remainder, hits end of file and fails with -EIO (not zeroes, not a
 * hang, not a short success).
 */
START_TEST(test_file_truncated_under_store)
{
	const char *path = make_file(NULL, 1 * MIB, 0x66);
	struct backing *store = open_store("file", path, 0, 512, false, false);
	uint8_t *buf = xalloc(1 * MIB);

	ck_assert_int_eq(truncate(path, 512 * KIB), 0);
	ck_assert_int_eq(do_io(store, BACKING_READ, 256 * KIB, 512 * KIB, buf, false), -EIO);
	/* The part before the new end still reads. */
	ck_assert_int_eq(do_io(store, BACKING_READ, 0, 512 * KIB, buf, false), 0);
	ck_assert_uint_eq(buf[512 * KIB - 1], 0x66);
	backing_close(store);
	free(buf);
}
END_TEST

/* --- The inline path (file.c, file_try_inline) ---------------------------- */

static unsigned int io_calls[64];

/* done() of requests submitted by run_in_pass(): counts each request's completions. */
static void pass_done(struct backing_io *io)
{
	if (in_submit) {
		done_in_submit = true;
	}
	(*(unsigned int *)io->priv)++;
	if (++completed == expected) {
		qb_loop_stop(loop);
	}
}

static void settle_done(void *data)
{
	(void)data;
	qb_loop_stop(loop);
}

/*
 * Submit @n requests in one loop pass, as a socket callback does, then run
 * the loop until all completed. Every request completes exactly once (the
 * loop runs 20 ms more to catch a late second completion), never inside
 * backing_submit() nor before the pass ends. @return how many had completed
 * when loop_pass_end() returned: those were served inline.
 */
static unsigned int run_in_pass(struct backing *store, struct backing_io *ios, unsigned int n)
{
	qb_loop_timer_handle deadline, settle;
	unsigned int i, at_end;

	ck_assert_uint_le(n, sizeof(io_calls) / sizeof(io_calls[0]));
	memset(io_calls, 0, sizeof(io_calls));
	completed = 0;
	expected = n;
	loop_pass_begin();
	for (i = 0; i < n; i++) {
		ios[i].done = pass_done;
		ios[i].priv = &io_calls[i];
		ios[i].result = 1; /* the store must overwrite it */
		in_submit = true;
		ck_assert_int_eq(backing_submit(store, &ios[i]), 0);
		in_submit = false;
	}
	/* Inside the pass nothing completes yet, inline or not. */
	ck_assert_uint_eq(completed, 0);
	loop_pass_end();
	at_end = completed;
	if (completed < n) {
		ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_LOW, LOOP_DEADLINE_MS * 1000000ULL,
						   NULL, deadline_hit, &deadline),
				 0);
		qb_loop_run(loop);
		qb_loop_timer_del(loop, deadline);
	}
	ck_assert_int_eq(
		qb_loop_timer_add(loop, QB_LOOP_LOW, 20 * 1000000ULL, NULL, settle_done, &settle),
		0);
	qb_loop_run(loop);
	ck_assert_uint_eq(completed, n);
	for (i = 0; i < n; i++) {
		ck_assert_msg(io_calls[i] == 1, "request %u completed %u times", i, io_calls[i]);
	}
	ck_assert(!done_in_submit);
	return at_end;
}

/* One request in its own pass; @return its result, *@inline_done whether it was served inline. */
static int pass_io(struct backing *store, enum backing_op op, uint64_t off, uint64_t len, void *buf,
		   bool fua, bool *inline_done)
{
	struct backing_io io = {
		.op = op,
		.offset = off,
		.len = len,
		.buf = buf,
		.fua = fua,
	};

	*inline_done = run_in_pass(store, &io, 1) == 1;
	return io.result;
}

/* How many pages of [@off, @off + @len) of @path are in the page cache. */
static unsigned int pages_cached(const char *path, uint64_t off, uint64_t len)
{
	uint64_t start = off & ~(uint64_t)(PAGE_SIZE_BYTES - 1);
	size_t span = (size_t)(off + len - start);
	size_t npages = (span + PAGE_SIZE_BYTES - 1) / PAGE_SIZE_BYTES;
	unsigned char *vec = malloc(npages);
	unsigned int n = 0;
	int fd = open(path, O_RDONLY);
	void *map;

	ck_assert_int_ge(fd, 0);
	map = mmap(NULL, span, PROT_READ, MAP_SHARED, fd, (off_t)start);
	ck_assert_ptr_ne(map, MAP_FAILED);
	ck_assert_int_eq(mincore(map, span, vec), 0);
	for (size_t i = 0; i < npages; i++) {
		n += vec[i] & 1;
	}
	munmap(map, span);
	close(fd);
	free(vec);
	return n;
}

/* Write back and drop the page cache of [@off, @off + @len) of @path (0 len: all). */
static void drop_cache(const char *path, uint64_t off, uint64_t len)
{
	int fd = open(path, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fsync(fd), 0);
	ck_assert_int_eq(posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

/* Offsets (multiples of 512, mostly not of 4096) and lengths for the data checks. */
static const uint64_t inline_offs[] = {0, 512, 7 * 512, 4096 + 512, 1 * MIB + 1536, 3 * MIB - 512};
static const uint64_t inline_lens[] = {512, 4096, 3 * 512, 64 * KIB, 1 * MIB};

/*
 * WRITE then READ every offset/length pair, outside and inside a pass. A
 * read right after the write finds the data in memory (tmpfs, or the page
 * cache): every read up to INLINE_SURE_MAX in a pass must be served
 * inline. @return how many writes in a pass were.
 */
static unsigned int roundtrip_all(struct backing *store, const char *path, uint8_t *wbuf,
				  uint8_t *rbuf)
{
	unsigned int inline_writes = 0;
	size_t i, j;
	bool inl;

	for (i = 0; i < sizeof(inline_offs) / sizeof(inline_offs[0]); i++) {
		for (j = 0; j < sizeof(inline_lens) / sizeof(inline_lens[0]); j++) {
			uint64_t off = inline_offs[i], len = inline_lens[j];

			/* Outside a pass (run_ios: done() after submit returned). */
			pattern(wbuf, len, i * 10 + j);
			ck_assert_int_eq(do_io(store, BACKING_WRITE, off, len, wbuf, false), 0);
			assert_file_bytes(path, off, wbuf, len);
			memset(rbuf, 0xEE, len);
			ck_assert_int_eq(do_io(store, BACKING_READ, off, len, rbuf, false), 0);
			ck_assert_mem_eq(rbuf, wbuf, len);

			/* Inside a pass, as the daemon submits. */
			pattern(wbuf, len, i * 10 + j + 1000);
			ck_assert_int_eq(pass_io(store, BACKING_WRITE, off, len, wbuf, false, &inl),
					 0);
			inline_writes += inl && len <= INLINE_SURE_MAX;
			assert_file_bytes(path, off, wbuf, len);
			memset(rbuf, 0xEE, len);
			ck_assert_int_eq(pass_io(store, BACKING_READ, off, len, rbuf, false, &inl),
					 0);
			ck_assert_mem_eq(rbuf, wbuf, len);
			ck_assert_msg(inl || len > INLINE_SURE_MAX,
				      "read of %llu bytes at %llu just written not served inline "
				      "(did a refused RWF_NOWAIT write disable inline reads?)",
				      (unsigned long long)len, (unsigned long long)off);
		}
	}
	return inline_writes;
}

/* tmpfs: READ/WRITE are copied at submit time, FUA writes still take io_uring. */
START_TEST(test_inline_tmpfs)
{
	/* Pairs of inline_offs x inline_lens of at most INLINE_SURE_MAX bytes. */
	const unsigned int small_pairs = (sizeof(inline_offs) / sizeof(inline_offs[0])) * 4;
	const char *path;
	struct backing *store;
	uint8_t *wbuf, *rbuf;
	bool inl;

	if (!have_tmpfs("test_inline_tmpfs")) {
		return;
	}
	path = make_file(shmdir, 0, 0);
	store = open_store("file", path, 4 * MIB, 512, false, false);
	wbuf = xalloc(1 * MIB);
	rbuf = xalloc(1 * MIB);
	/* Memory: the writes are copied at submit time as well. */
	ck_assert_uint_eq(roundtrip_all(store, path, wbuf, rbuf), small_pairs);
	ck_assert_int_eq(pass_io(store, BACKING_WRITE, 4096, 4096, wbuf, false, &inl), 0);
	ck_assert(inl);

	/* FUA: io_uring with RWF_DSYNC, so not complete when the pass ends. */
	pattern(wbuf, 64 * KIB, 77);
	ck_assert_int_eq(pass_io(store, BACKING_WRITE, 512, 64 * KIB, wbuf, true, &inl), 0);
	ck_assert(!inl);
	assert_file_bytes(path, 512, wbuf, 64 * KIB);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 2 * MIB + 512, 4096, wbuf, true), 0);
	assert_file_bytes(path, 2 * MIB + 512, wbuf, 4096);
	ck_assert_int_eq(pass_io(store, BACKING_READ, 512, 64 * KIB, rbuf, false, &inl), 0);
	ck_assert(inl);
	ck_assert_mem_eq(rbuf, wbuf, 64 * KIB);
	/* The last block is reachable inline, one past the end is not. */
	ck_assert_int_eq(pass_io(store, BACKING_READ, 4 * MIB - 512, 512, rbuf, false, &inl), 0);
	ck_assert_int_eq(pass_io(store, BACKING_READ, 4 * MIB - 512, 1024, rbuf, false, &inl),
			 -ERANGE);
	backing_close(store);
	free(wbuf);
	free(rbuf);
}
END_TEST

/*
 * A regular file on a disk file system: cached pages are read inline with
 * RWF_NOWAIT, evicted ones through io_uring, a half-cached range partly
 * each way (io_uring continues from done_bytes); the data is right in
 * every case. Writes (which ext4 cannot do with RWF_NOWAIT) must not cost
 * the store its inline reads (roundtrip_all checks that).
 */
START_TEST(test_inline_regular_file)
{
	const uint64_t off = 1 * MIB + 1536, len = INLINE_SURE_MAX;
	const char *path = make_file(NULL, 4 * MIB, 0);
	struct backing *store = open_store("file", path, 0, 512, false, false);
	uint8_t *wbuf = xalloc(1 * MIB), *rbuf = xalloc(1 * MIB);
	int fd;
	bool inl;

	/* Data written by someone else, still in the page cache: inline hit. */
	pattern(wbuf, 1 * MIB, 5);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, wbuf, 1 * MIB, 1 * MIB), (ssize_t)(1 * MIB));
	close(fd);
	memset(rbuf, 0xEE, 1 * MIB);
	ck_assert_int_eq(pass_io(store, BACKING_READ, 1 * MIB + 512, 4096, rbuf, false, &inl), 0);
	ck_assert_mem_eq(rbuf, wbuf + 512, 4096);
	ck_assert_msg(inl, "cached read of a fresh store not served inline");

	/* Written through the store, read back from the page cache. */
	roundtrip_all(store, path, wbuf, rbuf);
	pattern(wbuf, 1 * MIB, 6);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, off, 1 * MIB, wbuf, false), 0);
	ck_assert_uint_eq(pages_cached(path, off, 1 * MIB), 257);

	/* Evicted: RWF_NOWAIT refuses, io_uring reads it. (Not asserted: the
	 * refused attempt itself starts reading the pages, and if the process
	 * is preempted before it looks at them they are there; seen on a
	 * loaded machine. test_inline_many_in_one_pass checks that evicted
	 * reads do reach io_uring.) */
	drop_cache(path, 0, 0);
	ck_assert_uint_eq(pages_cached(path, off, 1 * MIB), 0);
	memset(rbuf, 0xEE, len);
	ck_assert_int_eq(pass_io(store, BACKING_READ, off, len, rbuf, false, &inl), 0);
	ck_assert_mem_eq(rbuf, wbuf, len);
	drop_cache(path, 0, 0);
	memset(rbuf, 0xEE, 1 * MIB);
	ck_assert_int_eq(pass_io(store, BACKING_READ, off, 1 * MIB, rbuf, false, &inl), 0);
	ck_assert_mem_eq(rbuf, wbuf, 1 * MIB);

	/* First half cached, second half not: the inline copy stops at the
	 * first missing page and io_uring continues from done_bytes. Which
	 * path finishes is the kernel's business (the refused attempt starts
	 * reading the rest, which may be there before the copy reaches it). */
	drop_cache(path, 0, 0);
	ck_assert_int_eq(pass_io(store, BACKING_READ, off, len / 2, rbuf, false, &inl), 0);
	drop_cache(path, off + len / 2 + PAGE_SIZE_BYTES, 0);
	ck_assert_uint_gt(pages_cached(path, off, len / 2), 0);
	ck_assert_uint_eq(
		pages_cached(path, off + len / 2 + PAGE_SIZE_BYTES, len / 2 - PAGE_SIZE_BYTES), 0);
	memset(rbuf, 0xEE, len);
	ck_assert_int_eq(pass_io(store, BACKING_READ, off, len, rbuf, false, &inl), 0);
	ck_assert_mem_eq(rbuf, wbuf, len);

	/* FUA writes go through io_uring and land. */
	pattern(wbuf, 8 * KIB, 8);
	ck_assert_int_eq(pass_io(store, BACKING_WRITE, 3 * MIB + 512, 8 * KIB, wbuf, true, &inl),
			 0);
	ck_assert(!inl);
	assert_file_bytes(path, 3 * MIB + 512, wbuf, 8 * KIB);
	backing_close(store);
	free(wbuf);
	free(rbuf);
}
END_TEST

/* O_DIRECT bypasses the page cache: never served inline. */
START_TEST(test_inline_not_for_direct_io)
{
	const char *path = make_file(NULL, 1 * MIB, 0x2C);
	struct backing *store = open_store("file", path, 0, 4096, true, false);
	uint8_t *buf = xalloc(64 * KIB);
	bool inl;

	ck_assert_int_eq(pass_io(store, BACKING_READ, 64 * KIB, 64 * KIB, buf, false, &inl), 0);
	ck_assert(!inl);
	ck_assert_uint_eq(buf[0], 0x2C);
	ck_assert_uint_eq(buf[64 * KIB - 1], 0x2C);
	ck_assert_int_eq(pass_io(store, BACKING_WRITE, 0, 4096, buf, false, &inl), 0);
	ck_assert(!inl);
	backing_close(store);
	free(buf);
}
END_TEST

/*
 * tmpfs file truncated under the store: a read reaching past the new end
 * fails with -EIO (the inline copy stops at end of file and io_uring
 * reports it), it neither hangs nor returns zeroes as success.
 */
START_TEST(test_inline_tmpfs_truncated)
{
	const char *path;
	struct backing *store;
	uint8_t *buf;
	int fd;
	bool inl;

	if (!have_tmpfs("test_inline_tmpfs_truncated")) {
		return;
	}
	path = make_file(shmdir, 1 * MIB, 0x66);
	store = open_store("file", path, 0, 512, false, false);
	buf = xalloc(1 * MIB);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 512 * KIB), 0);
	close(fd);

	/* Wholly past the new end. */
	ck_assert_int_eq(do_io(store, BACKING_READ, 768 * KIB, 4096, buf, false), -EIO);
	ck_assert_int_eq(pass_io(store, BACKING_READ, 768 * KIB, 4096, buf, false, &inl), -EIO);
	ck_assert_int_eq(pass_io(store, BACKING_READ, 1 * MIB - 512, 512, buf, false, &inl), -EIO);
	/* Straddling it: the part before is copied, the rest fails. */
	ck_assert_int_eq(do_io(store, BACKING_READ, 256 * KIB, 512 * KIB, buf, false), -EIO);
	ck_assert_int_eq(pass_io(store, BACKING_READ, 512 * KIB - 512, 1024, buf, false, &inl),
			 -EIO);
	/* Before it: still data, still inline. */
	memset(buf, 0, 512 * KIB);
	ck_assert_int_eq(pass_io(store, BACKING_READ, 0, 512 * KIB, buf, false, &inl), 0);
	ck_assert_uint_eq(buf[0], 0x66);
	ck_assert_uint_eq(buf[512 * KIB - 1], 0x66);
	memset(buf, 0, INLINE_SURE_MAX);
	ck_assert_int_eq(pass_io(store, BACKING_READ, 512 * KIB - INLINE_SURE_MAX, INLINE_SURE_MAX,
				 buf, false, &inl),
			 0);
	ck_assert(inl);
	ck_assert_uint_eq(buf[0], 0x66);
	ck_assert_uint_eq(buf[INLINE_SURE_MAX - 1], 0x66);
	backing_close(store);
	free(buf);
}
END_TEST

/* 64 reads of 4 KiB at scattered offsets, set up for run_in_pass(). */
static void prep_reads(struct backing_io *ios, uint8_t *bufs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		ios[i] = (struct backing_io){
			.op = BACKING_READ,
			/* Scattered, and 512-aligned but not page-aligned. */
			.offset = (uint64_t)((i * 37u) % n) * 8 * KIB + 512,
			.len = 4096,
			.buf = bufs + (size_t)i * 4096,
		};
		memset(ios[i].buf, 0xEE, 4096);
	}
}

static void check_reads(const struct backing_io *ios, const uint8_t *want, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		ck_assert_int_eq(ios[i].result, 0);
		ck_assert_mem_eq(ios[i].buf, want + ios[i].offset, 4096);
	}
}

/*
 * Many requests in one pass complete exactly once with the right data:
 * on tmpfs (all inline, done when the pass ends), and on a disk file with
 * the pages cached (inline) and evicted (io_uring, one submit at the end).
 */
START_TEST(test_inline_many_in_one_pass)
{
	enum { NR = 64, SPAN = NR * 8 * KIB + 4096 };
	struct backing_io ios[NR];
	uint8_t *bufs = xalloc((size_t)NR * 4096), *want = xalloc(SPAN);
	struct backing *store;
	const char *path;
	unsigned int at_end;
	int fd;

	pattern(want, SPAN, 64);
	if (have_tmpfs("test_inline_many_in_one_pass (tmpfs part)")) {
		path = make_file(shmdir, 0, 0);
		fd = open(path, O_WRONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pwrite(fd, want, SPAN, 0), (ssize_t)SPAN);
		close(fd);
		store = open_store("file", path, SPAN, 512, false, false);
		prep_reads(ios, bufs, NR);
		ck_assert_uint_eq(run_in_pass(store, ios, NR), NR);
		check_reads(ios, want, NR);
		backing_close(store);
	}

	path = make_file(NULL, 0, 0);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, want, SPAN, 0), (ssize_t)SPAN);
	close(fd);
	store = open_store("file", path, SPAN, 512, false, false);
	prep_reads(ios, bufs, NR);
	ck_assert_uint_eq(run_in_pass(store, ios, NR), NR);
	check_reads(ios, want, NR);

	/* The even ones cached (written back whole pages, no readahead
	 * involved), the odd ones evicted: at least the even ones inline.
	 * Done before any read of this file waited for the disk, so no
	 * readahead can be in flight while the cache is dropped. */
	drop_cache(path, 0, 0);
	prep_reads(ios, bufs, NR);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	for (unsigned int i = 0; i < NR; i += 2) {
		uint64_t page = ios[i].offset - 512;

		ck_assert_int_eq(pwrite(fd, want + page, 8 * KIB, (off_t)page), (ssize_t)(8 * KIB));
	}
	close(fd);
	for (unsigned int i = 0; i < NR; i++) {
		ck_assert_uint_eq(pages_cached(path, ios[i].offset, 4096), i % 2 ? 0 : 2);
	}
	at_end = run_in_pass(store, ios, NR);
	ck_assert_uint_ge(at_end, NR / 2);
	ck_assert_uint_lt(at_end, NR);
	check_reads(ios, want, NR);
	backing_close(store);

	/* Evicted, on a file never read (no readahead in flight): RWF_NOWAIT
	 * refuses and the reads go to io_uring. How many exactly is up to the
	 * kernel: each refused attempt starts reading its pages (there in
	 * time if the process was preempted), and readahead may bring in
	 * others before their turn; but never all 64. */
	path = make_file(NULL, 0, 0);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, want, SPAN, 0), (ssize_t)SPAN);
	close(fd);
	drop_cache(path, 0, 0);
	ck_assert_uint_eq(pages_cached(path, 0, SPAN), 0);
	store = open_store("file", path, SPAN, 512, false, false);
	prep_reads(ios, bufs, NR);
	at_end = run_in_pass(store, ios, NR);
	ck_assert_msg(at_end < NR, "all %u evicted reads served inline", at_end);
	check_reads(ios, want, NR);
	backing_close(store);
	free(bufs);
	free(want);
}
END_TEST

START_TEST(test_null_store)
{
	struct backing *store = open_store("null", NULL, 1 * MIB, 512, false, false);
	uint8_t *buf = xalloc(64 * KIB);
	uint64_t ext;
	bool mapped;

	ck_assert_uint_eq(backing_size(store), 1 * MIB);
	ck_assert(backing_can_discard(store));
	ck_assert(backing_discard_zeroes(store));
	memset(buf, 0xAA, 64 * KIB);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 0, 64 * KIB, buf, true), 0);
	ck_assert_int_eq(do_io(store, BACKING_READ, 0, 64 * KIB, buf, false), 0);
	ck_assert(all_zero(buf, 64 * KIB));
	ck_assert_int_eq(do_io(store, BACKING_DISCARD, 0, 1 * MIB, NULL, false), 0);
	ck_assert_int_eq(do_io(store, BACKING_WRITE_ZEROES, 512, 512, NULL, false), 0);
	ck_assert_int_eq(do_io(store, BACKING_FLUSH, 0, 0, NULL, false), 0);
	ck_assert_int_eq(do_io(store, BACKING_READ, 1 * MIB - 512, 1024, buf, false), -ERANGE);
	ck_assert_int_eq(backing_map_status(store, 4096, &mapped, &ext), 0);
	ck_assert(!mapped);
	ck_assert_uint_eq(ext, 1 * MIB - 4096);
	backing_close(store);
	free(buf);
}
END_TEST

START_TEST(test_open_errors)
{
	char path[128];
	const char *odd;

	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(open_err("file", path, 1 * MIB, 512, false), -ENOENT);
	ck_assert_int_eq(open_err("file", dir, 1 * MIB, 512, false), -EISDIR);
	ck_assert_int_eq(open_err("file", dir, 1 * MIB, 512, true), -EISDIR);
	ck_assert_int_eq(open_err("file", NULL, 1 * MIB, 512, false), -EINVAL);
	ck_assert_int_eq(open_err("file", "/dev/null", 1 * MIB, 512, false), -EINVAL);
	ck_assert_int_eq(open_err("tape", NULL, 1 * MIB, 512, false), -EINVAL);
	ck_assert_int_eq(open_err("null", NULL, 0, 512, false), -EINVAL);
	ck_assert_int_eq(open_err("null", NULL, 1000, 512, false), -EINVAL);
	/* Block size other than 512/4096. */
	ck_assert_int_eq(open_err("null", NULL, 1 * MIB, 1000, false), -EINVAL);
	ck_assert_int_eq(open_err("null", NULL, 1 * MIB, 0, false), -EINVAL);
	/* Sizes that are not whole blocks. */
	odd = make_file(NULL, 1000, 1);
	ck_assert_int_eq(open_err("file", odd, 0, 512, false), -EINVAL);
	ck_assert_int_eq(open_err("file", odd, 4096 + 512, 4096, false), -EINVAL);
	/* An empty file needs an explicit size. */
	ck_assert_int_eq(open_err("file", make_file(NULL, 0, 0), 0, 512, false), -EINVAL);
	/* A read-only file cannot be extended. */
	ck_assert_int_eq(open_err("file", make_file(NULL, 4096, 1), 8192, 512, true), -EINVAL);
}
END_TEST

START_TEST(test_read_only)
{
	const char *path = make_file(NULL, 64 * KIB, 0x42);
	struct backing *store = open_store("file", path, 0, 512, false, true);
	uint8_t *buf = xalloc(4096);

	ck_assert(!backing_can_discard(store));
	ck_assert_int_eq(do_io(store, BACKING_READ, 4096, 4096, buf, false), 0);
	ck_assert_uint_eq(buf[0], 0x42);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 4096, 4096, buf, false), -EROFS);
	ck_assert_int_eq(do_io(store, BACKING_WRITE_ZEROES, 4096, 4096, NULL, false), -EROFS);
	ck_assert_int_eq(do_io(store, BACKING_DISCARD, 4096, 4096, NULL, false), -EROFS);
	ck_assert_int_eq(do_io(store, BACKING_FLUSH, 0, 0, NULL, false), 0);
	/* The file really is untouched. */
	memset(buf, 0x42, 4096);
	assert_file_bytes(path, 4096, buf, 4096);
	backing_close(store);
	free(buf);
}
END_TEST

/*
 * backing_resize: a file store grows its file sparsely and serves the new
 * end; a smaller size keeps the file and refuses I/O beyond it; a
 * read-only store cannot grow past its file; whole blocks only; the null
 * store takes any size.
 */
START_TEST(test_resize)
{
	const char *path = make_file(NULL, 64 * KIB, 0x42);
	struct backing *store = open_store("file", path, 0, 512, false, false);
	uint8_t *buf = xalloc(4096);
	struct stat st;

	ck_assert_int_eq(backing_resize(store, 256 * KIB), 0);
	ck_assert_uint_eq(backing_size(store), 256 * KIB);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 256 * KIB);
	memset(buf, 0x17, 4096);
	ck_assert_int_eq(do_io(store, BACKING_WRITE, 252 * KIB, 4096, buf, false), 0);
	assert_file_bytes(path, 252 * KIB, buf, 4096);
	ck_assert_int_eq(backing_resize(store, 32 * KIB), 0);
	ck_assert_uint_eq(backing_size(store), 32 * KIB);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 256 * KIB);
	ck_assert_int_eq(do_io(store, BACKING_READ, 32 * KIB, 4096, buf, false), -ERANGE);
	ck_assert_int_eq(backing_resize(store, 32 * KIB + 100), -EINVAL);
	ck_assert_int_eq(backing_resize(store, 0), -EINVAL);
	ck_assert_uint_eq(backing_size(store), 32 * KIB);
	backing_close(store);

	store = open_store("file", path, 0, 512, false, true);
	ck_assert_int_eq(backing_resize(store, 512 * KIB), -EFBIG);
	ck_assert_uint_eq(backing_size(store), 256 * KIB);
	ck_assert_int_eq(backing_resize(store, 128 * KIB), 0);
	backing_close(store);

	store = open_store("null", NULL, 1 * MIB, 512, false, false);
	ck_assert_int_eq(backing_resize(store, 4 * MIB), 0);
	ck_assert_int_eq(do_io(store, BACKING_READ, 4 * MIB - 4096, 4096, buf, false), 0);
	backing_close(store);
	free(buf);
}
END_TEST

START_TEST(test_submit_refused)
{
	struct backing *store = open_store("null", NULL, 1 * MIB, 512, false, false);
	struct backing_io io = {.op = BACKING_READ, .len = 512};

	/* No done(): nothing could ever report the result. */
	ck_assert_int_eq(backing_submit(store, &io), -EINVAL);
	ck_assert_int_eq(backing_submit(store, NULL), -EINVAL);
	/* An unknown op completes with -EINVAL through done(). */
	ck_assert_int_eq(do_io(store, (enum backing_op)99, 0, 512, NULL, false), -EINVAL);
	/* Double init is refused, the engine stays usable. */
	ck_assert_int_eq(backing_engine_init(loop), -EALREADY);
	ck_assert_int_eq(do_io(store, BACKING_FLUSH, 0, 0, NULL, false), 0);
	backing_close(store);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("backing");
	TCase *tc = tcase_create("stores");

	tcase_add_unchecked_fixture(tc, dirs_setup, dirs_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_file_roundtrip);
	tcase_add_test(tc, test_file_fua_flush);
	tcase_add_test(tc, test_file_discard_map);
	tcase_add_test(tc, test_file_write_zeroes);
	tcase_add_test(tc, test_file_write_zeroes_fallback);
	tcase_add_test(tc, test_file_4k);
	tcase_add_test(tc, test_file_direct);
	tcase_add_test(tc, test_file_direct_block_size);
	tcase_add_test(tc, test_file_many_concurrent);
	tcase_add_test(tc, test_file_resubmit_from_done);
	tcase_add_test(tc, test_file_truncated_under_store);
	tcase_add_test(tc, test_inline_tmpfs);
	tcase_add_test(tc, test_inline_regular_file);
	tcase_add_test(tc, test_inline_not_for_direct_io);
	tcase_add_test(tc, test_inline_tmpfs_truncated);
	tcase_add_test(tc, test_inline_many_in_one_pass);
	tcase_add_test(tc, test_null_store);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_read_only);
	tcase_add_test(tc, test_submit_refused);
	tcase_add_test(tc, test_resize);
	suite_add_tcase(s, tc);
	return s;
}
