// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_scsi_stats: the per-LU statistics of the SCSI layer
 * (daemon/base/io_stats.h) move by exactly the commands issued. Two LUs
 * (null store, temporary file) on a real qb_loop with the io_uring engine,
 * two nexuses; each test takes the counters after the set-up as its base
 * and checks every field of the difference: commands by kind, bytes of
 * reads and writes that completed GOOD, CHECK CONDITION by sense key,
 * RESERVATION CONFLICT, and a histogram that counted each command once.
 * The bucket arithmetic and the kind of each opcode are checked alone.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/base/io_stats.h"
#include "daemon/scsi/scsi_int.h"
#include "tests/unit/check_main.h"
#include "tests/unit/check_scsi_util.h"

#define BS	      512
#define FILE_SIZE     (8u << 20)
#define NULL_SIZE     (64u << 20)
#define NULL_BLOCKS   (NULL_SIZE / BS)
#define PR_PARAM_LEN  24
#define PR_TYPE_WR_EX 1
#define SA_REGISTER   0
#define SA_RESERVE    1
#define LAT_SANE_NS   (10ull * 1000000000ull) /* no command of these tests takes 10 s */

static struct t_files files;

static void stats_setup(void)
{
	t_setup_two_lus("check_scsi_stats", NULL_SIZE, FILE_SIZE, &files);
}

static void stats_teardown(void)
{
	t_teardown_two_lus(&files);
}

static struct io_stats lu_stats(uint16_t lun)
{
	const struct io_stats *s = scsi_lu_stats(env.target, lun);

	ck_assert_ptr_nonnull(s);
	return *s;
}

static uint64_t hist_count(const struct io_stats *s)
{
	uint64_t n = 0;

	for (unsigned int k = 0; k < IO_STATS_LAT_BUCKETS; k++) {
		n += s->latency[k];
	}
	return n;
}

/* Every field of @now - @base against what the test issued. */
struct expect {
	uint64_t commands[IO_STATS_KINDS];
	uint64_t read_bytes;
	uint64_t written_bytes;
	uint64_t errors[IO_STATS_SENSE_KEYS];
	uint64_t conflicts;
};

static void expect_delta(const struct io_stats *base, const struct io_stats *now,
			 const struct expect *e)
{
	uint64_t total = 0;

	for (unsigned int k = 0; k < IO_STATS_KINDS; k++) {
		ck_assert_msg(now->commands[k] - base->commands[k] == e->commands[k],
			      "%s commands: %llu, expected %llu", io_stats_kind_name(k),
			      (unsigned long long)(now->commands[k] - base->commands[k]),
			      (unsigned long long)e->commands[k]);
		total += e->commands[k];
	}
	ck_assert_uint_eq(now->read_bytes - base->read_bytes, e->read_bytes);
	ck_assert_uint_eq(now->written_bytes - base->written_bytes, e->written_bytes);
	for (unsigned int k = 0; k < IO_STATS_SENSE_KEYS; k++) {
		ck_assert_msg(now->errors[k] - base->errors[k] == e->errors[k],
			      "%s errors: %llu, expected %llu", io_stats_sense_key_name(k),
			      (unsigned long long)(now->errors[k] - base->errors[k]),
			      (unsigned long long)e->errors[k]);
	}
	ck_assert_uint_eq(now->reservation_conflicts - base->reservation_conflicts, e->conflicts);
	/* Every command the SCSI layer completed has a latency, once. */
	ck_assert_uint_eq(hist_count(now) - hist_count(base), total);
	ck_assert_uint_ge(now->latency_sum_ns, base->latency_sum_ns);
}

static void rw10(struct scsi_task *t, struct scsi_nexus *n, uint16_t lun, bool write, uint32_t lba,
		 uint16_t blocks)
{
	static uint8_t data[64 * BS];
	uint8_t cdb[10] = {write ? 0x2a : 0x28};

	put_be32(&cdb[2], lba);
	put_be16(&cdb[7], blocks);
	if (write) {
		t_run(t, n, lun, cdb, sizeof(cdb), data, blocks * BS, blocks * BS);
	} else {
		t_run(t, n, lun, cdb, sizeof(cdb), NULL, 0, blocks * BS);
	}
}

static void prout(struct scsi_task *t, struct scsi_nexus *n, uint8_t sa, uint64_t rk, uint64_t sark,
		  uint8_t type)
{
	uint8_t cdb[10] = {0x5f, sa, type};
	uint8_t param[PR_PARAM_LEN] = {0};

	put_be32(&cdb[5], PR_PARAM_LEN);
	put_be64(&param[0], rk);
	put_be64(&param[8], sark);
	t_run(t, n, 0, cdb, sizeof(cdb), param, sizeof(param), sizeof(param));
}

/* The task outcome plus what the SCSI layer told the transport. */
static void expect_task(const struct scsi_task *t, uint8_t status, enum io_stats_kind kind)
{
	ck_assert_int_eq(t->status, status);
	ck_assert_int_eq(t->stats_kind, kind);
	ck_assert_uint_lt(t->latency_ns, LAT_SANE_NS);
}

/*
 * Media commands on both LUs (their completions come back from the loop),
 * commands answered at once, errors of four sense keys and a reservation
 * conflict: each LU's counters move by exactly its own commands.
 */
START_TEST(test_counts_exact)
{
	static const uint8_t inquiry[6] = {0x12, 0, 0, 0, 96, 0};
	static const uint8_t unknown[6] = {0xc0};
	static const uint8_t tur[6] = {0};
	static const uint8_t one_block[BS];
	struct io_stats b0 = lu_stats(0), b1 = lu_stats(1), s0, s1;
	struct expect e0 = {0}, e1 = {0};
	uint8_t bad_write[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0xff}; /* reserved control bits */
	struct scsi_task t;

	for (int i = 0; i < 3; i++) {
		rw10(&t, env.n1, 0, false, 8u * (uint32_t)i, 8);
		expect_task(&t, SCSI_STATUS_GOOD, IO_STATS_READ);
	}
	e0.commands[IO_STATS_READ] += 3;
	e0.read_bytes += 3 * 8 * BS;
	for (int i = 0; i < 2; i++) {
		rw10(&t, env.n2, 0, true, 100, 4);
		expect_task(&t, SCSI_STATUS_GOOD, IO_STATS_WRITE);
	}
	e0.commands[IO_STATS_WRITE] += 2;
	e0.written_bytes += 2 * 4 * BS;
	/* The file LU: reads and writes through io_uring or the page cache. */
	rw10(&t, env.n1, 1, true, 0, 64);
	expect_task(&t, SCSI_STATUS_GOOD, IO_STATS_WRITE);
	rw10(&t, env.n1, 1, false, 0, 64);
	expect_task(&t, SCSI_STATUS_GOOD, IO_STATS_READ);
	rw10(&t, env.n2, 1, false, 1, 3);
	expect_task(&t, SCSI_STATUS_GOOD, IO_STATS_READ);
	e1.commands[IO_STATS_WRITE] = 1;
	e1.commands[IO_STATS_READ] = 2;
	e1.written_bytes = 64 * BS;
	e1.read_bytes = (64 + 3) * BS;

	t_run(&t, env.n1, 0, inquiry, sizeof(inquiry), NULL, 0, 96);
	expect_task(&t, SCSI_STATUS_GOOD, IO_STATS_OTHER);
	e0.commands[IO_STATS_OTHER]++;
	t_run(&t, env.n1, 0, unknown, sizeof(unknown), NULL, 0, 0);
	expect_task(&t, SCSI_STATUS_CHECK_CONDITION, IO_STATS_OTHER);
	e0.commands[IO_STATS_OTHER]++;
	e0.errors[SENSE_KEY_ILLEGAL_REQUEST]++;
	/* A read past the end: a read, an error, no bytes. */
	rw10(&t, env.n1, 0, false, NULL_BLOCKS - 1, 2);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	ck_assert_int_eq(t.stats_kind, IO_STATS_READ);
	e0.commands[IO_STATS_READ]++;
	e0.errors[SENSE_KEY_ILLEGAL_REQUEST]++;
	t_run(&t, env.n1, 0, bad_write, sizeof(bad_write), one_block, BS, BS);
	expect_task(&t, SCSI_STATUS_CHECK_CONDITION, IO_STATS_WRITE);
	e0.commands[IO_STATS_WRITE]++;
	e0.errors[SENSE_KEY_ILLEGAL_REQUEST]++;

	/* n1 reserves Write Exclusive: n2's write conflicts, its read runs. */
	prout(&t, env.n1, SA_REGISTER, 0, 0xab, 0);
	expect_task(&t, SCSI_STATUS_GOOD, IO_STATS_OTHER);
	prout(&t, env.n1, SA_RESERVE, 0xab, 0, PR_TYPE_WR_EX);
	expect_task(&t, SCSI_STATUS_GOOD, IO_STATS_OTHER);
	e0.commands[IO_STATS_OTHER] += 2;
	rw10(&t, env.n2, 0, true, 0, 1);
	expect_task(&t, SCSI_STATUS_RESERVATION_CONFLICT, IO_STATS_WRITE);
	e0.commands[IO_STATS_WRITE]++;
	e0.conflicts++;
	rw10(&t, env.n2, 0, false, 0, 1);
	expect_task(&t, SCSI_STATUS_GOOD, IO_STATS_READ);
	e0.commands[IO_STATS_READ]++;
	e0.read_bytes += BS;

	/* A LU reset: every nexus's next command gets 29/03 (UNIT ATTENTION). */
	ck_assert_int_eq(scsi_lu_reset(env.target, (uint64_t)0 << 48, env.n1, NULL), 0);
	t_run(&t, env.n2, 0, tur, sizeof(tur), NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_BUS_DEVICE_RESET_FUNCTION);
	rw10(&t, env.n1, 0, false, 0, 1);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_BUS_DEVICE_RESET_FUNCTION);
	ck_assert_int_eq(t.stats_kind, IO_STATS_READ);
	e0.commands[IO_STATS_OTHER]++;
	e0.commands[IO_STATS_READ]++;
	e0.errors[SENSE_KEY_UNIT_ATTENTION] += 2;

	/* Offline: NOT READY. */
	ck_assert_int_eq(scsi_lu_set_offline(env.target, 1, true), 0);
	rw10(&t, env.n1, 1, false, 0, 1);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_READY_OFFLINE);
	e1.commands[IO_STATS_READ]++;
	e1.errors[SENSE_KEY_NOT_READY]++;
	ck_assert_int_eq(scsi_lu_set_offline(env.target, 1, false), 0);

	s0 = lu_stats(0);
	s1 = lu_stats(1);
	expect_delta(&b0, &s0, &e0);
	expect_delta(&b1, &s1, &e1);
}
END_TEST

/* A command on a LUN that does not exist counts on no LU; it still has a kind. */
START_TEST(test_no_lu_not_counted)
{
	static const uint8_t inquiry[6] = {0x12, 0, 0, 0, 96, 0};
	struct io_stats b0 = lu_stats(0), b1 = lu_stats(1), s0, s1;
	struct expect none = {0};
	struct scsi_task t;

	ck_assert_ptr_null(scsi_lu_stats(env.target, 5));
	ck_assert_ptr_null(scsi_lu_stats(env.target, LUN_ID_MAX + 1));
	t_run(&t, env.n1, 5, inquiry, sizeof(inquiry), NULL, 0, 96);
	expect_task(&t, SCSI_STATUS_GOOD, IO_STATS_OTHER);
	rw10(&t, env.n1, 5, false, 0, 1);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	ck_assert_int_eq(t.stats_kind, IO_STATS_READ);
	s0 = lu_stats(0);
	s1 = lu_stats(1);
	expect_delta(&b0, &s0, &none);
	expect_delta(&b1, &s1, &none);
}
END_TEST

/* The kind of each command family, as the transport asks for it. */
START_TEST(test_kinds)
{
	static const struct {
		uint8_t cdb[2];
		enum io_stats_kind kind;
	} cases[] = {
		{{0x08}, IO_STATS_READ},  {{0x28}, IO_STATS_READ},  {{0xa8}, IO_STATS_READ},
		{{0x88}, IO_STATS_READ},  {{0x0a}, IO_STATS_WRITE}, {{0x2a}, IO_STATS_WRITE},
		{{0xaa}, IO_STATS_WRITE}, {{0x8a}, IO_STATS_WRITE}, {{0x2e}, IO_STATS_WRITE},
		{{0x41}, IO_STATS_WRITE}, {{0x93}, IO_STATS_WRITE}, {{0x42}, IO_STATS_WRITE},
		{{0x89}, IO_STATS_WRITE}, {{0x8b}, IO_STATS_WRITE}, {{0x2f}, IO_STATS_OTHER},
		{{0x35}, IO_STATS_OTHER}, {{0x34}, IO_STATS_OTHER}, {{0x00}, IO_STATS_OTHER},
		{{0x12}, IO_STATS_OTHER}, {{0x5f}, IO_STATS_OTHER}, {{0x9e, 0x12}, IO_STATS_OTHER},
		{{0xc0}, IO_STATS_OTHER},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(scsi_cdb_stats_kind(cases[i].cdb) == cases[i].kind,
			      "opcode %02x: kind %d, expected %d", cases[i].cdb[0],
			      scsi_cdb_stats_kind(cases[i].cdb), cases[i].kind);
	}
}
END_TEST

/* Bucket k holds (2^(k-1), 2^k] microseconds; the last one the rest. */
START_TEST(test_buckets)
{
	ck_assert_uint_eq(io_stats_bucket(0), 0);
	ck_assert_uint_eq(io_stats_bucket(1000), 0);
	ck_assert_uint_eq(io_stats_bucket(1001), 1);
	ck_assert_uint_eq(io_stats_bucket(2000), 1);
	ck_assert_uint_eq(io_stats_bucket(2001), 2);
	ck_assert_uint_eq(io_stats_bucket(4000), 2);
	ck_assert_uint_eq(io_stats_bucket(4001), 3);
	ck_assert_uint_eq(io_stats_bucket(1000000), 10); /* 1 s: <= 1024 us */
	ck_assert_uint_eq(io_stats_bucket((1ull << 25) * 1000), IO_STATS_LAT_BUCKETS - 2);
	ck_assert_uint_eq(io_stats_bucket((1ull << 25) * 1000 + 1), IO_STATS_LAT_BUCKETS - 1);
	ck_assert_uint_eq(io_stats_bucket(UINT64_MAX - 1), IO_STATS_LAT_BUCKETS - 1);
	for (unsigned int k = 0; k + 1 < IO_STATS_LAT_BUCKETS; k++) {
		ck_assert_uint_eq(io_stats_bucket_le_us(k), 1ull << k);
		ck_assert_uint_eq(io_stats_bucket(io_stats_bucket_le_us(k) * 1000), k);
	}
	ck_assert_uint_eq(io_stats_bucket_le_us(IO_STATS_LAT_BUCKETS - 1), 0);
}
END_TEST

/* io_stats_record() alone: bytes only for GOOD, no latency kept out of the histogram. */
START_TEST(test_record)
{
	struct io_stats s = {0};

	io_stats_record(&s, IO_STATS_READ, IO_STATS_STATUS_GOOD, -1, 4096, 1500);
	io_stats_record(&s, IO_STATS_READ, IO_STATS_STATUS_CHECK_CONDITION, 3, 4096, 500);
	io_stats_record(&s, IO_STATS_WRITE, IO_STATS_STATUS_GOOD, -1, 512, IO_STATS_NO_LATENCY);
	io_stats_record(&s, IO_STATS_WRITE, IO_STATS_STATUS_RESERVATION_CONFLICT, -1, 512, 10);
	io_stats_record(&s, IO_STATS_OTHER, IO_STATS_STATUS_GOOD, -1, 96, 10);
	io_stats_record(&s, IO_STATS_OTHER, IO_STATS_STATUS_CHECK_CONDITION, -1, 0, 10);
	io_stats_record(&s, 77, 0x28 /* TASK SET FULL */, -1, 0, IO_STATS_NO_LATENCY);
	ck_assert_uint_eq(s.commands[IO_STATS_READ], 2);
	ck_assert_uint_eq(s.commands[IO_STATS_WRITE], 2);
	ck_assert_uint_eq(s.commands[IO_STATS_OTHER], 3);
	ck_assert_uint_eq(s.read_bytes, 4096);
	ck_assert_uint_eq(s.written_bytes, 512);
	ck_assert_uint_eq(s.errors[SENSE_KEY_MEDIUM_ERROR], 1);
	ck_assert_uint_eq(s.errors[SENSE_KEY_NO_SENSE], 1); /* sense not parsed */
	ck_assert_uint_eq(s.reservation_conflicts, 1);
	ck_assert_uint_eq(hist_count(&s), 5);
	ck_assert_uint_eq(s.latency[0], 4);
	ck_assert_uint_eq(s.latency[1], 1);
	ck_assert_uint_eq(s.latency_sum_ns, 1500 + 500 + 10 + 10 + 10);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("scsi_stats");
	TCase *tc = tcase_create("lu");

	tcase_add_checked_fixture(tc, stats_setup, stats_teardown);
	tcase_add_test(tc, test_counts_exact);
	tcase_add_test(tc, test_no_lu_not_counted);
	suite_add_tcase(s, tc);
	tc = tcase_create("pure");
	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_record);
	suite_add_tcase(s, tc);
	return s;
}
