/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The asynchronous I/O engine shared by every backing store of the process:
 * one io_uring whose completions signal an eventfd watched by the main
 * qb_loop. Nothing here blocks: io_uring_submit() never waits for
 * completions, and requests that do not fit in the ring wait on a FIFO
 * pending list until completions free room (never dropped).
 *
 * Batching (daemon/base/loop_pass.h): requests queued during a loop pass (say,
 * the 20 commands read from one socket) reach the kernel with one
 * io_uring_submit() when the pass ends. Requests completed without the ring
 * (the null store, inline page-cache I/O, errors found at submit time) sit
 * on the ready list; their done() runs at the end of the pass, so their
 * responses join the same socket write. Outside a pass the eventfd wakes the
 * loop for them instead. Either way backing.h's promise holds (done() never
 * runs inside backing_submit()) without a heap allocation per request
 * (qb_loop_job_add would allocate one).
 *
 * At most ENGINE_RING_ENTRIES requests are in the kernel at once, so the
 * completion queue (twice that size) can never overflow.
 *
 * If io_uring cannot be set up (old kernel, seccomp), backing_engine_init()
 * fails with a clear message: quorated needs io_uring (DESIGN.md §6) and a
 * silently slower thread-pool path is not worth its code for now.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "daemon/backing/backing_int.h"
#include "daemon/base/log.h"
#include "daemon/base/loop_pass.h"

/* Submission queue depth; the kernel sizes the completion queue at twice this. */
#define ENGINE_RING_ENTRIES 256

struct backing_engine {
	qb_loop_t *loop;
	struct io_uring ring;
	int efd;	       /* completion/wake-up eventfd, polled by the loop */
	bool kicked;	       /* efd written and not yet dispatched */
	struct loop_deferred flush; /* end of pass: submit the ring, run the ready list */
	unsigned int inflight; /* SQEs prepared and not yet reaped */
	struct backing_io *pending_head, **pending_tail;
	struct backing_io *ready_head, **ready_tail;
	void *zero_buf;
};

static struct backing_engine engine = {.efd = -1};
static bool engine_up;

bool backing_engine_ready(void)
{
	return engine_up;
}

const void *backing_engine_zero_buf(void)
{
	return engine.zero_buf;
}

static void engine_kick(void)
{
	uint64_t one = 1;

	if (engine.kicked) {
		return;
	}
	/* An eventfd write only fails on counter overflow, which cannot happen
	 * here: every dispatch reads the counter back to zero. */
	if (write(engine.efd, &one, sizeof(one)) == (ssize_t)sizeof(one)) {
		engine.kicked = true;
	} else {
		log_err("backing: cannot wake the loop: %s", strerror(errno));
	}
}

static void engine_submit_ring(void)
{
	int rc;

	if (io_uring_sq_ready(&engine.ring) == 0) {
		return;
	}
	rc = io_uring_submit(&engine.ring);
	if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR) {
		log_perror(rc, "backing: io_uring_submit");
	}
	if (rc < 0) {
		/* The SQEs stay in the ring; try again from the loop. */
		engine_kick();
	}
}

static void list_append(struct backing_io ***tail, struct backing_io *io)
{
	io->next = NULL;
	**tail = io;
	*tail = &io->next;
}

/* Move @io into the ring if there is room; false if it must wait. */
static bool engine_try_ring(struct backing_io *io)
{
	struct io_uring_sqe *sqe;

	if (engine.inflight >= ENGINE_RING_ENTRIES) {
		return false;
	}
	sqe = io_uring_get_sqe(&engine.ring);
	if (!sqe) {
		return false;
	}
	io->store->ops->prep(io, sqe);
	io_uring_sqe_set_data(sqe, io);
	engine.inflight++;
	return true;
}

void backing_engine_start(struct backing_io *io)
{
	if (engine.pending_head || !engine_try_ring(io)) {
		list_append(&engine.pending_tail, io);
		return;
	}
	if (loop_pass_active()) {
		loop_pass_defer(&engine.flush, LOOP_PASS_IO);
	} else {
		engine_submit_ring();
	}
}

void backing_engine_complete_later(struct backing_io *io, int result)
{
	io->result = result;
	list_append(&engine.ready_tail, io);
	if (loop_pass_active()) {
		loop_pass_defer(&engine.flush, LOOP_PASS_IO);
	} else {
		engine_kick();
	}
}

static void engine_drain_pending(void)
{
	struct backing_io *io;

	while ((io = engine.pending_head) != NULL) {
		if (!engine_try_ring(io)) {
			break;
		}
		engine.pending_head = io->next;
		if (!engine.pending_head) {
			engine.pending_tail = &engine.pending_head;
		}
	}
}

static void engine_run_done(struct backing_io *list)
{
	struct backing_io *io, *next;

	for (io = list; io; io = next) {
		/* done() may resubmit (and so relink) io: read next first. */
		next = io->next;
		io->next = NULL;
		io->store->inflight--;
		io->done(io);
	}
}

static void engine_run_ready(void)
{
	struct backing_io *ready = engine.ready_head;

	engine.ready_head = NULL;
	engine.ready_tail = &engine.ready_head;
	engine_run_done(ready);
}

/* End of a loop pass: what done() callbacks queue joins the same pass. */
static void engine_flush(struct loop_deferred *d)
{
	(void)d;
	engine_submit_ring();
	engine_run_ready();
}

/*
 * Loop callback: reap every available completion in one pass, refill the
 * ring from the pending list, then run done() callbacks. What they submit
 * goes to the kernel with a single io_uring_submit() when the pass ends.
 */
static int32_t engine_dispatch(int32_t fd, int32_t revents, void *data)
{
	struct backing_io *finished = NULL, **finished_tail = &finished;
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;
	uint64_t count;

	(void)revents;
	(void)data;
	/* Non-blocking: -EAGAIN just means another dispatch read it first. */
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
		log_err("backing: eventfd read: %s", strerror(errno));
	}
	engine.kicked = false;
	loop_pass_begin();

	io_uring_for_each_cqe(&engine.ring, head, cqe) {
		struct backing_io *io = io_uring_cqe_get_data(cqe);

		seen++;
		engine.inflight--;
		if (io->store->ops->complete(io, cqe->res)) {
			list_append(&finished_tail, io);
		} else if (engine.pending_head || !engine_try_ring(io)) {
			list_append(&engine.pending_tail, io);
		}
	}
	io_uring_cq_advance(&engine.ring, seen);
	engine_drain_pending();
	/* Submits the refill and runs the ready list when the pass ends. */
	loop_pass_defer(&engine.flush, LOOP_PASS_IO);

	engine_run_done(finished);
	loop_pass_end();
	return 0;
}

int backing_engine_init(qb_loop_t *loop)
{
	int rc;

	if (engine_up) {
		return -EALREADY;
	}
	if (!loop) {
		return -EINVAL;
	}
	memset(&engine, 0, sizeof(engine));
	engine.efd = -1;
	engine.loop = loop;
	engine.pending_tail = &engine.pending_head;
	engine.ready_tail = &engine.ready_head;
	engine.flush.fn = engine_flush;

	rc = posix_memalign(&engine.zero_buf, BACKING_BUF_ALIGN, BACKING_ZERO_BUF_SIZE);
	if (rc) {
		engine.zero_buf = NULL;
		return -rc;
	}
	memset(engine.zero_buf, 0, BACKING_ZERO_BUF_SIZE);

	engine.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (engine.efd < 0) {
		rc = -errno;
		log_perror(rc, "backing: eventfd");
		goto err_buf;
	}
	rc = io_uring_queue_init(ENGINE_RING_ENTRIES, &engine.ring, 0);
	if (rc < 0) {
		log_perror(rc, "backing: io_uring is not available (kernel too old or "
			       "blocked by seccomp); quorated needs it");
		goto err_efd;
	}
	rc = io_uring_register_eventfd(&engine.ring, engine.efd);
	if (rc < 0) {
		log_perror(rc, "backing: io_uring_register_eventfd");
		goto err_ring;
	}
	rc = qb_loop_poll_add(loop, QB_LOOP_HIGH, engine.efd, POLLIN, NULL, engine_dispatch);
	if (rc < 0) {
		log_perror(rc, "backing: qb_loop_poll_add");
		goto err_ring;
	}
	engine_up = true;
	return 0;

err_ring:
	io_uring_queue_exit(&engine.ring);
err_efd:
	close(engine.efd);
	engine.efd = -1;
err_buf:
	free(engine.zero_buf);
	engine.zero_buf = NULL;
	return rc;
}

void backing_engine_fini(void)
{
	if (!engine_up) {
		return;
	}
	if (engine.inflight || engine.pending_head || engine.ready_head) {
		log_err("backing: engine stopped with I/O in flight");
	}
	loop_pass_cancel(&engine.flush);
	qb_loop_poll_del(engine.loop, engine.efd);
	io_uring_queue_exit(&engine.ring);
	close(engine.efd);
	engine.efd = -1;
	free(engine.zero_buf);
	engine.zero_buf = NULL;
	engine_up = false;
}
