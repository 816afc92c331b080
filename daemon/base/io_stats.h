/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * I/O statistics of one logical unit or one session: plain counters that the
 * one thread of the main loop bumps where a command completes (the SCSI
 * layer for its LUs, the iSCSI layer for its sessions), and that the admin
 * IPC and the metrics endpoint read on the same thread. No lock, no atomic,
 * no allocation: a few increments and, for the latency, one bucket found
 * with a count-leading-zeros.
 *
 * What is counted, per completed SCSI command (whatever its outcome):
 *  - commands by kind: read (READ(6/10/12/16)), write (every command that
 *    modifies the medium: the WRITE family, WRITE AND VERIFY, WRITE SAME,
 *    UNMAP, COMPARE AND WRITE, ORWRITE) and other (everything else, also an
 *    opcode we do not know);
 *  - bytes: the Data-In bytes of read commands and the Data-Out bytes of
 *    write commands that completed with GOOD status;
 *  - CHECK CONDITION by sense key (SPC-4 4.5.6), and RESERVATION CONFLICT;
 *  - latency: fixed log2 buckets, bucket k holding the latencies of at most
 *    2^k microseconds (and more than 2^(k-1)), the last one everything above
 *    2^(IO_STATS_LAT_BUCKETS - 2) us; plus their sum in nanoseconds. A
 *    caller that has no latency for a command (the transport answered it
 *    without the SCSI layer) passes IO_STATS_NO_LATENCY: it is counted
 *    everywhere but in the histogram.
 *
 * Counters only grow while their object lives (a LU removed and added
 * again, or a new session, starts from zero), which is what Prometheus
 * expects of a counter.
 */
#ifndef QUORATE_DAEMON_BASE_IO_STATS_H
#define QUORATE_DAEMON_BASE_IO_STATS_H

#include <stdint.h>
#include <time.h>

enum io_stats_kind {
	IO_STATS_READ,
	IO_STATS_WRITE,
	IO_STATS_OTHER,
	IO_STATS_KINDS,
};

#define IO_STATS_SENSE_KEYS  16 /* a sense key is four bits (SPC-4 4.5.6) */
#define IO_STATS_LAT_BUCKETS 27 /* <= 1 us, <= 2 us, ... <= 2^25 us (33.5 s), more */
#define IO_STATS_NO_LATENCY  UINT64_MAX
#define IO_STATS_NS_PER_US   1000u

/* SAM-5 status codes the counters tell apart (enum scsi_status has them all). */
#define IO_STATS_STATUS_GOOD		     0x00
#define IO_STATS_STATUS_CHECK_CONDITION	     0x02
#define IO_STATS_STATUS_RESERVATION_CONFLICT 0x18

struct io_stats {
	uint64_t commands[IO_STATS_KINDS];
	uint64_t read_bytes;		      /* Data-In of read commands completed GOOD */
	uint64_t written_bytes;		      /* Data-Out of write commands completed GOOD */
	uint64_t errors[IO_STATS_SENSE_KEYS]; /* CHECK CONDITION, by sense key */
	uint64_t reservation_conflicts;
	uint64_t latency[IO_STATS_LAT_BUCKETS]; /* per bucket, not cumulative */
	uint64_t latency_sum_ns;
};

/* CLOCK_MONOTONIC in nanoseconds (a vDSO call: no system call). */
static inline uint64_t io_stats_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Upper bound of latency bucket @k in microseconds; 0 for the last (+Inf). */
static inline uint64_t io_stats_bucket_le_us(unsigned int k)
{
	return k + 1 < IO_STATS_LAT_BUCKETS ? UINT64_C(1) << k : 0;
}

/* The bucket of @ns: the smallest k with ns <= 2^k us. */
static inline unsigned int io_stats_bucket(uint64_t ns)
{
	uint64_t us = ns / IO_STATS_NS_PER_US + (ns % IO_STATS_NS_PER_US != 0);
	unsigned int k = us <= 1 ? 0 : 64u - (unsigned int)__builtin_clzll(us - 1);

	return k < IO_STATS_LAT_BUCKETS - 1 ? k : IO_STATS_LAT_BUCKETS - 1;
}

/**
 * Count one completed command: @kind (enum io_stats_kind), its SAM @status,
 * the sense key of a CHECK CONDITION (@sense_key < 0: none could be parsed,
 * counted as NO SENSE), @bytes moved (Data-In for a read, Data-Out for a
 * write) and @latency_ns (or IO_STATS_NO_LATENCY).
 */
static inline void io_stats_record(struct io_stats *s, unsigned int kind, uint8_t status,
				   int sense_key, uint64_t bytes, uint64_t latency_ns)
{
	if (kind >= IO_STATS_KINDS) {
		kind = IO_STATS_OTHER;
	}
	s->commands[kind]++;
	if (status == IO_STATS_STATUS_GOOD) {
		if (kind == IO_STATS_READ) {
			s->read_bytes += bytes;
		} else if (kind == IO_STATS_WRITE) {
			s->written_bytes += bytes;
		}
	} else if (status == IO_STATS_STATUS_CHECK_CONDITION) {
		s->errors[sense_key > 0 ? sense_key & (IO_STATS_SENSE_KEYS - 1) : 0]++;
	} else if (status == IO_STATS_STATUS_RESERVATION_CONFLICT) {
		s->reservation_conflicts++;
	}
	if (latency_ns != IO_STATS_NO_LATENCY) {
		s->latency[io_stats_bucket(latency_ns)]++;
		s->latency_sum_ns += latency_ns;
	}
}

static inline const char *io_stats_kind_name(unsigned int kind)
{
	switch (kind) {
	case IO_STATS_READ:
		return "read";
	case IO_STATS_WRITE:
		return "write";
	default:
		return "other";
	}
}

/* Sense key names (SPC-4 table 27; 0Fh is COMPLETED in SPC-5), as label values. */
static inline const char *io_stats_sense_key_name(unsigned int key)
{
	switch (key) {
	case 0x0:
		return "no_sense";
	case 0x1:
		return "recovered_error";
	case 0x2:
		return "not_ready";
	case 0x3:
		return "medium_error";
	case 0x4:
		return "hardware_error";
	case 0x5:
		return "illegal_request";
	case 0x6:
		return "unit_attention";
	case 0x7:
		return "data_protect";
	case 0x8:
		return "blank_check";
	case 0x9:
		return "vendor_specific";
	case 0xa:
		return "copy_aborted";
	case 0xb:
		return "aborted_command";
	case 0xc:
		return "obsolete_0c";
	case 0xd:
		return "volume_overflow";
	case 0xe:
		return "miscompare";
	default:
		return "completed";
	}
}

#endif
