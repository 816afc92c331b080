/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_probe: drives the Corosync transport (quorum/corosync.c) inside one
 * node of the test cluster (tests/cluster/lib.sh) and prints what it sees,
 * one line per event, so a shell test can compare the nodes' views:
 *
 *   start node=ID chunk_max=N token_ms=N consensus_ms=N qdevice_timeout_ms=N
 *   node id=ID name=NAME addr=ADDR          (cmap's nodelist)
 *   confchg members=1,2,3 joined=3 left= self_joined=0|1 t=MS
 *   members 1,2,3 t=MS
 *   quorum 0|1 t=MS
 *   serving 0|1 t=MS
 *   deliver seq=S origin=ID len=L digest=HEX t=MS
 *   proposed n=N len=L digest=HEX t=MS
 *
 * t is wall-clock milliseconds (the test compares it with `date +%s%3N`).
 * The probe proposes --count numbered messages (0: until stopped), one every
 * --interval ms while it is serving, from the first time it saw at least
 * --members members (so that all nodes joined before the first); every
 * --big-every-th message is --big bytes (above the CPG chunk size), the
 * others are small; --burst B proposes B big ones at once on the first
 * tick (more than CPG's queue takes, so flow control is exercised). Its
 * state for the transport's sync rounds is (epoch, applied seq, a hash chain
 * of every delivery): a node behind takes the leader's (a line
 * "snapshot seq=S epoch=E" says so). It stops on SIGTERM/SIGINT, or after
 * --exit-after deliveries. Links only libquorum, libqb and the corosync libraries.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qb/qbdefs.h>
#include <qb/qblog.h>
#include <qb/qbloop.h>

#include "quorum/cluster.h"

#define PROBE_SMALL_LEN 64

struct probe {
	qb_loop_t *loop;
	struct cluster *cluster;
	unsigned long count;		/* 0: no limit */
	unsigned long interval_ms;
	unsigned long big_every;	/* 0: none */
	size_t big_len;
	unsigned long members_min;
	unsigned long exit_after;	/* deliveries; 0: run until signalled */
	unsigned long burst;		/* first tick: this many big ones at once */
	unsigned long next;		/* number of the next proposal, from 1 */
	unsigned long delivered;
	size_t member_count;
	bool started;			/* --members reached once */
	uint8_t *buf;
	qb_loop_timer_handle timer;
	/* The replicated state: what the sync rounds compare and transfer. */
	uint64_t epoch;
	uint64_t applied;
	uint64_t chain;			/* FNV-1a over every delivery */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* FNV-1a 64: enough to tell payloads apart in the logs. */
static uint64_t digest(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h = (h ^ b[i]) * 0x100000001b3ull;
	}
	return h;
}

static void print_ids(const char *key, const uint32_t *ids, size_t n)
{
	size_t i;

	printf("%s", key);
	for (i = 0; i < n; i++) {
		printf("%s%" PRIu32, i ? "," : "", ids[i]);
	}
}

static void on_deliver(uint64_t seq, uint32_t origin, const void *msg, size_t len, void *ctx)
{
	struct probe *p = ctx;
	uint64_t d = digest(msg, len);

	p->applied = seq;
	p->chain = digest(&d, sizeof(d)) ^ (p->chain * 0x100000001b3ull) ^ seq;
	printf("deliver seq=%" PRIu64 " origin=%" PRIu32 " len=%zu digest=%016" PRIx64
	       " t=%" PRIu64 "\n", seq, origin, len, digest(msg, len), now_ms());
	if (++p->delivered == p->exit_after) {
		qb_loop_stop(p->loop);
	}
}

static void on_membership(const uint32_t *members, size_t count, void *ctx)
{
	struct probe *p = ctx;

	p->member_count = count;
	print_ids("members ", members, count);
	printf(" t=%" PRIu64 "\n", now_ms());
}

static void on_quorum(bool quorate, void *ctx)
{
	(void)ctx;
	printf("quorum %d t=%" PRIu64 "\n", quorate, now_ms());
}

static void on_serving(bool serving, void *ctx)
{
	(void)ctx;
	printf("serving %d t=%" PRIu64 "\n", serving, now_ms());
}

static void on_confchg(const struct cluster_confchg *chg, void *ctx)
{
	struct probe *p = ctx;

	print_ids("confchg members=", chg->members, chg->member_count);
	print_ids(" joined=", chg->joined, chg->joined_count);
	print_ids(" left=", chg->left, chg->left_count);
	printf(" self_joined=%d t=%" PRIu64 "\n", chg->self_joined, now_ms());
	(void)p;
}

static int probe_summary(struct cluster_summary *out, void *ctx)
{
	struct probe *p = ctx;

	out->epoch = p->epoch;
	out->applied_seq = p->applied;
	memset(out->digest, 0, sizeof(out->digest));
	memcpy(out->digest, &p->chain, sizeof(p->chain));
	memcpy(out->digest + 8, &p->epoch, sizeof(p->epoch));
	return 0;
}

static int probe_snapshot_get(void **buf, size_t *len, uint64_t *seq, uint64_t *epoch, void *ctx)
{
	struct probe *p = ctx;
	uint64_t *s = malloc(3 * sizeof(*s));

	if (s == NULL) {
		return -ENOMEM;
	}
	s[0] = p->applied;
	s[1] = p->epoch;
	s[2] = p->chain;
	*buf = s;
	*len = 3 * sizeof(*s);
	*seq = p->applied;
	*epoch = p->epoch;
	return 0;
}

static int probe_snapshot_put(const void *buf, size_t len, uint64_t seq, uint64_t epoch,
			      void *ctx)
{
	struct probe *p = ctx;
	uint64_t s[3];

	if (len != sizeof(s)) {
		return -EBADMSG;
	}
	memcpy(s, buf, sizeof(s));
	if (s[0] != seq || s[1] != epoch) {
		return -EBADMSG;
	}
	p->applied = s[0];
	p->epoch = s[1];
	p->chain = s[2];
	printf("snapshot seq=%" PRIu64 " epoch=%" PRIu64 " t=%" PRIu64 "\n", seq, epoch, now_ms());
	return 0;
}

static int probe_epoch_set(uint64_t epoch, void *ctx)
{
	struct probe *p = ctx;

	p->epoch = epoch;
	printf("synced epoch=%" PRIu64 " seq=%" PRIu64 " t=%" PRIu64 "\n", epoch, p->applied,
	       now_ms());
	return 0;
}

static void probe_tick(void *data);

static void probe_arm(struct probe *p)
{
	qb_loop_timer_add(p->loop, QB_LOOP_MED, p->interval_ms * QB_TIME_NS_IN_MSEC, p, probe_tick,
			  &p->timer);
}

/* Propose message number p->next; @big forces the big size. */
static int probe_propose(struct probe *p, bool big)
{
	size_t len = PROBE_SMALL_LEN, i;
	int rc;

	if (big || (p->big_every != 0 && p->next % p->big_every == 0)) {
		len = p->big_len;
	}
	/* Deterministic content: node, number, then a pattern of both. */
	snprintf((char *)p->buf, PROBE_SMALL_LEN, "node=%" PRIu32 " n=%lu ",
		 cluster_node_id(p->cluster), p->next);
	for (i = strlen((char *)p->buf); i < len; i++) {
		p->buf[i] = (uint8_t)(i * 31 + p->next + cluster_node_id(p->cluster));
	}
	rc = cluster_propose(p->cluster, p->buf, len);
	if (rc == 0) {
		printf("proposed n=%lu len=%zu digest=%016" PRIx64 " t=%" PRIu64 "\n", p->next, len,
		       digest(p->buf, len), now_ms());
		p->next++;
	} else {
		printf("propose-failed n=%lu rc=%d t=%" PRIu64 "\n", p->next, rc, now_ms());
	}
	return rc;
}

static void probe_tick(void *data)
{
	struct probe *p = data;

	if (p->count != 0 && p->next > p->count) {
		return;
	}
	/* --members holds back only the first proposal (everyone joined first). */
	if (p->member_count >= p->members_min) {
		p->started = true;
	}
	if (cluster_is_serving(p->cluster) && p->started) {
		/* A burst fills CPG's queue: the transport must wait on flow control. */
		while (p->burst > 0 && (p->count == 0 || p->next <= p->count)) {
			p->burst--;
			if (probe_propose(p, true) < 0) {
				break;
			}
		}
		if (p->count == 0 || p->next <= p->count) {
			probe_propose(p, false);
		}
	}
	probe_arm(p);
}

static int32_t on_signal(int32_t sig, void *data)
{
	struct probe *p = data;

	(void)sig;
	qb_loop_stop(p->loop);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cluster_probe [--group NAME] [--count N] [--interval MS]\n"
		   "       [--big-every K] [--big BYTES] [--members M] [--exit-after D]\n"
		   "       [--node-id ID] [--burst B]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, 'g' },
		{ "count", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "big-every", required_argument, NULL, 'b' },
		{ "big", required_argument, NULL, 'B' },
		{ "members", required_argument, NULL, 'm' },
		{ "exit-after", required_argument, NULL, 'x' },
		{ "node-id", required_argument, NULL, 'n' },
		{ "burst", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe p = { .interval_ms = 50, .big_len = 200000, .members_min = 1, .next = 1 };
	struct cluster_corosync_config cfg = { .group = "quorate-probe", .confchg = on_confchg };
	struct cluster_callbacks cb = {
		.deliver = on_deliver,
		.membership = on_membership,
		.quorum = on_quorum,
		.serving = on_serving,
		.summary = probe_summary,
		.snapshot_get = probe_snapshot_get,
		.snapshot_put = probe_snapshot_put,
		.epoch_set = probe_epoch_set,
	};
	const struct cluster_node *nodes;
	struct cluster_timing timing;
	size_t n, i;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			cfg.group = optarg;
			break;
		case 'c':
			p.count = strtoul(optarg, NULL, 10);
			break;
		case 'i':
			p.interval_ms = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			p.big_every = strtoul(optarg, NULL, 10);
			break;
		case 'B':
			p.big_len = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			p.members_min = strtoul(optarg, NULL, 10);
			break;
		case 'x':
			p.exit_after = strtoul(optarg, NULL, 10);
			break;
		case 'u':
			p.burst = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			cfg.node_id = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (p.big_len < PROBE_SMALL_LEN || p.big_len > CLUSTER_MSG_MAX || p.interval_ms == 0) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	qb_log_init("cluster_probe", LOG_DAEMON, LOG_INFO);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_FALSE);
	qb_log_filter_ctl(QB_LOG_STDERR, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_INFO);
	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, QB_TRUE);

	p.buf = malloc(p.big_len);
	p.loop = qb_loop_create();
	if (p.buf == NULL || p.loop == NULL) {
		return 1;
	}
	rc = cluster_corosync_create(p.loop, &cfg, &cb, &p, &p.cluster);
	if (rc < 0) {
		fprintf(stderr, "cluster_probe: %s\n", strerror(-rc));
		return 1;
	}
	cluster_timing_get(p.cluster, &timing);
	printf("start node=%" PRIu32 " token_ms=%" PRIu32 " consensus_ms=%" PRIu32
	       " qdevice_timeout_ms=%" PRIu32 " lease_ms=%" PRIu32 " grace_ms=%" PRIu32
	       " t=%" PRIu64 "\n", cluster_node_id(p.cluster), timing.token_ms,
	       timing.consensus_ms, timing.qdevice_timeout_ms, timing.lease_ms, timing.grace_ms,
	       now_ms());
	n = cluster_nodes(p.cluster, &nodes);
	for (i = 0; i < n; i++) {
		printf("node id=%" PRIu32 " name=%s addr=%s\n", nodes[i].id, nodes[i].name,
		       nodes[i].addr);
	}
	qb_loop_signal_add(p.loop, QB_LOOP_HIGH, SIGTERM, &p, on_signal, NULL);
	qb_loop_signal_add(p.loop, QB_LOOP_HIGH, SIGINT, &p, on_signal, NULL);
	probe_arm(&p);
	qb_loop_run(p.loop);
	printf("exit delivered=%lu seq=%" PRIu64 "\n", p.delivered, cluster_sequence(p.cluster));
	qb_loop_timer_del(p.loop, p.timer);
	cluster_destroy(p.cluster);
	qb_loop_destroy(p.loop);
	free(p.buf);
	qb_log_fini();
	return 0;
}
