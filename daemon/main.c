/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * quorated: start-up, signals and shutdown (DESIGN §5 fixes the command
 * line). Order of start-up:
 *   config -> data dir -> logging -> data-dir lock -> (daemonize) -> loop ->
 *   backing engine -> store -> iSCSI server -> ALUA port group table (this
 *   node's group Unavailable) -> model + running objects from the store ->
 *   portals -> cluster transport -> this node's portals announced, SendTargets
 *   and ALUA groups from the member table -> IPC -> metrics endpoint (if
 *   [metrics] listen) -> pid file -> ready
 * Targets are registered before the portals listen, so the first login
 * already sees every stored target. Media access waits for the transport's
 * serving signal (quorate and synced; the loopback gives it on its first
 * loop pass): until then this node's port group is Unavailable and media
 * commands fail with NOT READY, 04h/0Ch, which MPIO answers by using
 * another node's path, rather than 04h/01h (becoming ready), which
 * initiators retry on the same path.
 *
 * "Ready" is reported once, when portals and IPC are up: to systemd
 * (sd_notify READY=1, when built with libsystemd) and, in background mode,
 * to the process that was started, which waits for it on a pipe and exits 0
 * only then; if start-up fails it exits 1, and the reason has been printed
 * on its stderr (background mode logs warnings to stderr until ready). Paths
 * given on the command line are made absolute first, since a daemon runs in
 * "/".
 *
 * One data directory, one daemon: an exclusive flock(2) on
 * DATA_DIR/quorated.lock, taken before anything touches the database and
 * held for the daemon's life (the daemonized child inherits it), stops a
 * second daemon from forking the database. The lock file holds the owner's
 * PID, for the refusal message.
 *
 * Shutdown (SIGTERM/SIGINT): answer pending admin requests, ask every
 * initiator to log out (Async Message) and give them a short grace period,
 * then destroy the server, the targets and LUs, the transport and the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <qb/qblog.h>
#include <qb/qbloop.h>
#include <json-c/json.h>

#include <config.h>		/* autoconf (not daemon/config.h): PACKAGE_VERSION */
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif
#include "daemon/backing/backing.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/ipc/ipc_server.h"
#include "daemon/lun_file.h"
#include "daemon/metrics.h"
#include "daemon/iscsi/iscsi.h"
#include "daemon/base/log.h"
#include "daemon/base/loop_pass.h"
#include "daemon/scsi/alua.h"
#include "quorum/cluster.h"

#define DEFAULT_CONFIG_FILE SYSCONFDIR "/quorate/quorated.conf"
#define PID_FILE "quorated.pid"
#define LOCK_FILE "quorated.lock"
#define LOCK_FILE_MODE 0600
#define READY_BYTE 'R'
#define DATA_DIR_MODE 0700
#define DEMO_TARGET "iqn.2026-11.org.quorate:demo"
#define DEMO_LUN_FILE "demo-lun0.img"
#define DEMO_LUN_SIZE (1ULL << 30)		/* 1 GiB, sparse */
#define SHUTDOWN_GRACE_NS (2ULL * 1000000000ULL)
#define SHUTDOWN_POLL_NS (100ULL * 1000000ULL)

static const char usage_text[] =
	"Usage: quorated [OPTIONS]\n"
	"Cluster-aware iSCSI target daemon.\n"
	"\n"
	"  -c, --config FILE     node configuration (default " DEFAULT_CONFIG_FILE
	" if it exists)\n"
	"  -f, --foreground      stay in the foreground and log to stderr\n"
	"                        (default: daemonize once started, log to syslog,\n"
	"                        write a pid file)\n"
	"  -d, --data-dir DIR    state directory (overrides [node] data_dir;\n"
	"                        default " CONFIG_DEFAULT_DATA_DIR ")\n"
	"  -p, --pid-file FILE   write the PID to FILE (overrides [node] pid_file;\n"
	"                        default: DATA_DIR/" PID_FILE " in background mode,\n"
	"                        none in the foreground)\n"
	"  -l, --listen LIST     comma-separated HOST:PORT portals (overrides [iscsi] listen)\n"
	"  -L, --log-level LEVEL err, warning, notice, info, debug or trace\n"
	"  -i, --ipc-name NAME   admin IPC service name (overrides [node] ipc_name)\n"
	"      --log-journal     log to the systemd journal with each message's\n"
	"                        priority (default: when stderr is the journal,\n"
	"                        as under systemd: $JOURNAL_STREAM)\n"
	"      --no-log-journal  never log to the journal directly\n"
	"      --demo            when the database is empty, create target\n"
	"                        " DEMO_TARGET " with LUN 0 on a 1 GiB sparse file\n"
	"                        in the data directory, and print a 'ready:' line on stdout\n"
	"      --check-config    check the configuration file (--config, or the\n"
	"                        default) and the options, print any error as\n"
	"                        FILE:LINE: message, and exit 0 if valid, else 1\n"
	"  -V, --version         print the version and exit\n"
	"  -h, --help            print this help and exit\n"
	"\n"
	"See quorated(8) and quorated.conf(5).\n";

enum { OPT_DEMO = 256, OPT_CHECK_CONFIG, OPT_LOG_JOURNAL, OPT_NO_LOG_JOURNAL };

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "data-dir", required_argument, NULL, 'd' },
	{ "listen", required_argument, NULL, 'l' },
	{ "log-level", required_argument, NULL, 'L' },
	{ "ipc-name", required_argument, NULL, 'i' },
	{ "demo", no_argument, NULL, OPT_DEMO },
	{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
	{ "log-journal", no_argument, NULL, OPT_LOG_JOURNAL },
	{ "no-log-journal", no_argument, NULL, OPT_NO_LOG_JOURNAL },
	{ "pid-file", required_argument, NULL, 'p' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static struct daemon the_daemon;
static qb_loop_timer_handle shutdown_timer;
static uint64_t shutdown_waited_ns;
static char config_path_abs[PATH_MAX];
static int lock_fd = -1;		/* DATA_DIR/quorated.lock, held while we run */
static int ready_fd = -1;		/* background: the waiting parent's pipe */
static bool pid_file_written;

/* ---- logging ------------------------------------------------------------- */

void daemon_log_level_apply(struct daemon *d)
{
	int target = d->foreground && !d->journal ? QB_LOG_STDERR : QB_LOG_SYSLOG;

	qb_log_filter_ctl(target, QB_LOG_FILTER_CLEAR_ALL, QB_LOG_FILTER_FILE, "*", LOG_TRACE);
	qb_log_filter_ctl(target, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", d->cfg.log_level);
}

/*
 * Is stderr the journal? systemd connects it to journald and says so in
 * $JOURNAL_STREAM, "DEVICE:INODE" of that stream (systemd.exec(5)); a child
 * that inherited the variable but not the stream does not match.
 */
static bool stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return v != NULL && sscanf(v, "%llu:%llu", &dev, &ino) == 2 &&
	       fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

/*
 * Foreground: stderr, or libqb's journal output (sd_journal_send with each
 * message's PRIORITY=) when stderr is the journal anyway or --log-journal
 * asks: through stderr journald would file every line at one priority.
 * Background: syslog, or the journal with --log-journal. One target at a
 * time, so no message is written twice.
 */
static void log_setup(struct daemon *d)
{
	bool journal_failed = false;

	qb_log_init("quorated", LOG_DAEMON, LOG_INFO);
	d->journal = d->log_journal == LOG_JOURNAL_ON ||
		     (d->log_journal == LOG_JOURNAL_AUTO && stderr_is_journal());
	if (d->journal && qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_USE_JOURNAL, 1) < 0) {
		/* libqb built without journal support */
		d->journal = false;
		journal_failed = true;
	}
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED,
		   d->foreground && !d->journal ? QB_FALSE : QB_TRUE);
	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED,
		   d->foreground && !d->journal ? QB_TRUE : QB_FALSE);
	qb_log_format_set(QB_LOG_STDERR, "%t %p: %b");
	if (d->journal) {
		/* PRIORITY= carries the level: no "[info]" in MESSAGE= */
		qb_log_format_set(QB_LOG_SYSLOG, "%b");
	}
	daemon_log_level_apply(d);
	if (journal_failed) {
		log_warn("this libqb cannot log to the journal; logging to %s",
			 d->foreground ? "stderr" : "syslog");
	} else if (d->journal) {
		log_info("logging to the systemd journal");
	}
}

/* ---- service manager --------------------------------------------------------- */

/* Tell systemd (Type=notify) about a state change; a no-op elsewhere. */
static void notify_systemd(const char *state)
{
#ifdef HAVE_SYSTEMD
	int rc = sd_notify(0, state);

	if (rc < 0) {
		log_perror(rc, "sd_notify(%s)", state);
	}
#else
	(void)state;
#endif
}

/* ---- signals ------------------------------------------------------------- */

static int32_t on_sighup(int32_t sig, void *data)
{
	struct daemon *d = data;
	struct json_object *result = NULL;
	char err[CONFIG_ERR_MAX];

	(void)sig;
	if (!d->foreground && !d->journal) {
		/* Reopen the syslog connection (e.g. after syslogd restarted). */
		qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_FALSE);
		qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_TRUE);
	}
	/* daemon_reload() logs the outcome, errors included. */
	if (d->config_path != NULL) {
		(void)daemon_reload(d, "SIGHUP", &result, err, sizeof(err));
		json_object_put(result);
	} else {
		log_notice("SIGHUP: no configuration file to re-read");
	}
	return 0;
}

static unsigned int sessions_count(struct daemon *d);

static void shutdown_tick(void *data)
{
	struct daemon *d = data;

	shutdown_waited_ns += SHUTDOWN_POLL_NS;
	if (sessions_count(d) == 0 || shutdown_waited_ns >= SHUTDOWN_GRACE_NS) {
		qb_loop_stop(d->loop);
		return;
	}
	qb_loop_timer_add(d->loop, QB_LOOP_HIGH, SHUTDOWN_POLL_NS, d, shutdown_tick,
			  &shutdown_timer);
}

static int32_t on_sigterm(int32_t sig, void *data)
{
	struct daemon *d = data;

	if (d->stopping) {
		/* A second signal: stop waiting for initiators. */
		qb_loop_stop(d->loop);
		return 0;
	}
	d->stopping = true;
	notify_systemd("STOPPING=1");
	log_notice("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	daemon_pending_abort(d, "daemon is shutting down");
	if (d->iscsi != NULL && sessions_count(d) > 0) {
		/* RFC 7143 11.9.1 AsyncEvent 1: ask initiators to log out. */
		iscsi_server_logout_all(d->iscsi);
		qb_loop_timer_add(d->loop, QB_LOOP_HIGH, SHUTDOWN_POLL_NS, d, shutdown_tick,
				  &shutdown_timer);
		return 0;
	}
	qb_loop_stop(d->loop);
	return 0;
}

static void count_fn(const struct iscsi_session_info *info, void *ctx)
{
	(void)info;
	(*(unsigned int *)ctx)++;
}

static unsigned int sessions_count(struct daemon *d)
{
	unsigned int n = 0;

	iscsi_server_foreach_session(d->iscsi, count_fn, &n);
	return n;
}

/* ---- demo ----------------------------------------------------------------- */

void daemon_demo_ready(struct daemon *d)
{
	if (!d->demo || d->ready_printed) {
		return;
	}
	d->ready_printed = true;
	printf("ready: iscsi://%s/%s/0\n", d->cfg.listen[0], DEMO_TARGET);
	fflush(stdout);
}

static void demo_lun_done(struct daemon *d, struct daemon_pending *p, int rc, const char *err)
{
	(void)p;
	if (rc < 0) {
		log_err("demo: creating LUN 0 failed: %s", err);
		return;
	}
	daemon_demo_ready(d);
}

static void demo_target_done(struct daemon *d, struct daemon_pending *p, int rc,
			     const char *err)
{
	(void)d;
	(void)p;
	if (rc < 0) {
		log_err("demo: creating the target failed: %s", err);
	}
}

static int demo_setup(struct daemon *d)
{
	struct mutation *tgt, *lun;
	struct lun_file_result file;
	char err[256];
	int rc;

	if (state_target_first(d->state) != NULL) {
		if (state_target_find(d->state, DEMO_TARGET) == NULL) {
			log_warn("demo: the database already has targets; not creating %s",
				 DEMO_TARGET);
		}
		daemon_demo_ready(d);
		return 0;
	}
	tgt = calloc(1, sizeof(*tgt));
	lun = calloc(1, sizeof(*lun));
	if (tgt == NULL || lun == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	tgt->kind = MUTATION_TARGET_ADD;
	snprintf(tgt->u.target.name, sizeof(tgt->u.target.name), "%s", DEMO_TARGET);
	snprintf(tgt->u.target.alias, sizeof(tgt->u.target.alias), "quorate demo");

	lun->kind = MUTATION_LUN_ADD;
	snprintf(lun->u.lun.target, sizeof(lun->u.lun.target), "%s", DEMO_TARGET);
	snprintf(lun->u.lun.backing, sizeof(lun->u.lun.backing), "%s", LUN_BACKING_FILE);
	if (snprintf(lun->u.lun.path, sizeof(lun->u.lun.path), "%s/%s", d->cfg.data_dir,
		     DEMO_LUN_FILE) >= (int)sizeof(lun->u.lun.path)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	lun->u.lun.size_bytes = DEMO_LUN_SIZE;
	lun->u.lun.block_size = LUN_BLOCK_SIZE_DEFAULT;
	lun->u.lun.thin = true;
	lun->u.lun.direct_io = lun_direct_io_choose(d->cfg.cluster, LUN_BACKING_FILE,
						    LUN_DIRECT_DEFAULT);
	lun->u.lun.write_cache = !lun->u.lun.direct_io;
	/* Created sparse, or an earlier demo's file (extended if it is smaller). */
	rc = lun_file_prepare(&lun->u.lun, true, &file, err, sizeof(err));
	if (rc < 0) {
		log_err("demo: %s", err);
		goto out;
	}
	rc = lun_identity_generate(&lun->u.lun);
	if (rc == 0) {
		/* Proposals are delivered in order: the target exists before the LUN. */
		rc = daemon_propose(d, tgt, NULL, demo_target_done, NULL);
	}
	if (rc == 0) {
		rc = daemon_propose(d, lun, NULL, demo_lun_done, NULL);
	}
	if (rc < 0) {
		log_perror(rc, "demo: proposing the demo target");
	}
out:
	free(tgt);
	free(lun);
	return rc;
}

/* ---- start-up --------------------------------------------------------------- */

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		return -ENAMETOOLONG;
	}
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST) {
				return -errno;
			}
			*p = '/';
		}
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST) {
		return -errno;
	}
	return 0;
}

/* The pid file: [node] pid_file / --pid-file, else DATA_DIR/quorated.pid
 * in background mode only. @return its path, or NULL for none. */
static const char *pidfile_path(struct daemon *d, char *buf, size_t len)
{
	if (d->cfg.pid_file[0] != '\0') {
		return d->cfg.pid_file;
	}
	if (d->foreground ||
	    snprintf(buf, len, "%s/%s", d->cfg.data_dir, PID_FILE) >= (int)len) {
		return NULL;
	}
	return buf;
}

/* Written whole under a temporary name and renamed, so a reader never sees
 * a partial PID. */
static int write_pidfile(struct daemon *d)
{
	char buf[PATH_MAX], tmp[PATH_MAX + 8];
	const char *path = pidfile_path(d, buf, sizeof(buf));
	FILE *f;
	int rc = 0;

	if (path == NULL) {
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	f = fopen(tmp, "we");
	if (f == NULL) {
		return -errno;
	}
	if (fprintf(f, "%ld\n", (long)getpid()) < 0) {
		rc = -EIO;
	}
	if (fclose(f) != 0 && rc == 0) {
		rc = -errno;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
	}
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	pid_file_written = true;
	return 0;
}

static void remove_pidfile(struct daemon *d)
{
	char buf[PATH_MAX];
	const char *path = pidfile_path(d, buf, sizeof(buf));

	if (pid_file_written && path != NULL) {
		unlink(path);
	}
}

/*
 * Lock the data directory for this daemon's life (see the top of the file).
 * @return 0, or -EBUSY (another daemon holds it; said why) or -errno.
 */
static int data_dir_lock(struct daemon *d)
{
	char path[PATH_MAX], owner[32] = "";
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s", d->cfg.data_dir, LOCK_FILE) >=
	    (int)sizeof(path)) {
		return -ENAMETOOLONG;
	}
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, LOCK_FILE_MODE);
	if (lock_fd < 0) {
		int rc = -errno;

		log_perror(rc, "opening the lock file '%s'", path);
		return rc;
	}
	if (flock(lock_fd, LOCK_EX | LOCK_NB) == 0) {
		return 0;
	}
	if (errno != EWOULDBLOCK) {
		int rc = -errno;

		log_perror(rc, "locking '%s'", path);
		return rc;
	}
	n = pread(lock_fd, owner, sizeof(owner) - 1, 0);
	owner[n > 0 ? n : 0] = '\0';
	owner[strcspn(owner, "\n")] = '\0';
	log_err("data directory '%s' is in use by another quorated (pid %s, lock %s); "
		"refusing to start", d->cfg.data_dir, owner[0] != '\0' ? owner : "unknown", path);
	close(lock_fd);
	lock_fd = -1;
	return -EBUSY;
}

/* Record our PID (after daemonizing, it changed) in the lock file. */
static void data_dir_lock_record_pid(void)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, buf, (size_t)len, 0) != len) {
		log_perror(-errno, "writing the PID to the lock file");
	}
}

/*
 * Fork into the background. The process that was started stays until the
 * daemon reports readiness on a pipe (daemon_ready()): then it exits 0; when
 * the pipe closes without that byte, start-up failed and it exits 1. stdout
 * and stderr stay connected until then, so start-up errors reach the caller.
 */
static int daemonize(void)
{
	int pfd[2], status;
	pid_t pid;
	char c;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return rc;
	}
	if (pid > 0) {
		close(pfd[1]);
		/* The first child exits at once (after the second fork). */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
		}
		do {
			n = read(pfd[0], &c, 1);
		} while (n < 0 && errno == EINTR);
		if (n == 1 && c == READY_BYTE) {
			_exit(EXIT_SUCCESS);
		}
		fprintf(stderr, "quorated: start-up failed (see the messages above)\n");
		_exit(EXIT_FAILURE);
	}
	close(pfd[0]);
	if (setsid() < 0) {
		return -errno;
	}
	/* Second fork: never reacquire a controlling terminal. */
	pid = fork();
	if (pid < 0) {
		return -errno;
	}
	if (pid > 0) {
		_exit(EXIT_SUCCESS);
	}
	if (chdir("/") < 0) {
		return -errno;
	}
	ready_fd = pfd[1];
	return 0;
}

/* Start-up is complete: say so to systemd and to a waiting parent, then
 * detach from the caller's terminal. */
static void daemon_ready(struct daemon *d)
{
	char state[64];
	int fd;

	if (d->foreground) {
		notify_systemd("READY=1");
		return;
	}
	snprintf(state, sizeof(state), "READY=1\nMAINPID=%ld", (long)getpid());
	notify_systemd(state);
	if (ready_fd >= 0) {
		char c = READY_BYTE;

		if (write(ready_fd, &c, 1) != 1) {
			log_perror(-errno, "reporting readiness to the parent");
		}
		close(ready_fd);
		ready_fd = -1;
	}
	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, QB_FALSE);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO) {
			close(fd);
		}
	}
}

/* @path as an absolute path (relative to the current directory) in @out. */
static int path_absolute(const char *path, char *out, size_t len)
{
	char cwd[PATH_MAX];

	if (path[0] == '/') {
		return snprintf(out, len, "%s", path) < (int)len ? 0 : -ENAMETOOLONG;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		return -errno;
	}
	return snprintf(out, len, "%s/%s", cwd, path) < (int)len ? 0 : -ENAMETOOLONG;
}

static int parse_args(struct daemon *d, int argc, char **argv)
{
	const char *config_path = NULL, *data_dir = NULL, *listen = NULL, *level = NULL;
	const char *ipc_name = NULL, *pid_file = NULL;
	char err[CONFIG_ERR_MAX];
	bool check_config = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:fd:l:L:i:p:Vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'f':
			d->foreground = true;
			break;
		case 'd':
			data_dir = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'L':
			level = optarg;
			break;
		case 'i':
			ipc_name = optarg;
			break;
		case OPT_DEMO:
			d->demo = true;
			break;
		case OPT_CHECK_CONFIG:
			check_config = true;
			break;
		case OPT_LOG_JOURNAL:
			d->log_journal = LOG_JOURNAL_ON;
			break;
		case OPT_NO_LOG_JOURNAL:
			d->log_journal = LOG_JOURNAL_OFF;
			break;
		case 'p':
			pid_file = optarg;
			break;
		case 'V':
			printf("quorated %s\n", PACKAGE_VERSION);
			exit(EXIT_SUCCESS);
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_SUCCESS);
		default:
			fputs("Try 'quorated --help'.\n", stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "quorated: unexpected argument '%s'\nTry 'quorated --help'.\n",
			argv[optind]);
		return -EINVAL;
	}
	config_init(&d->cfg);
	/* --check-config checks the default file even if it is missing or
	 * --demo is given: "no file" is then the error it reports. */
	if (config_path == NULL &&
	    (check_config || (!d->demo && access(DEFAULT_CONFIG_FILE, R_OK) == 0))) {
		config_path = DEFAULT_CONFIG_FILE;
	}
	if (config_path != NULL) {
		rc = config_load(&d->cfg, config_path, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "quorated: %s\n", err);
			return rc;
		}
		/* Absolute: SIGHUP re-reads it after the daemon moved to "/". */
		if (realpath(config_path, config_path_abs) == NULL) {
			fprintf(stderr, "quorated: %s: %s\n", config_path, strerror(errno));
			return -errno;
		}
		d->config_path = config_path_abs;
		d->file_cfg = d->cfg;
	}
	if (data_dir != NULL) {
		/* Made canonical once it exists (main()); absolute already here. */
		if (path_absolute(data_dir, d->cfg.data_dir, sizeof(d->cfg.data_dir)) < 0) {
			fprintf(stderr, "quorated: --data-dir: path too long\n");
			return -EINVAL;
		}
	}
	if (pid_file != NULL &&
	    path_absolute(pid_file, d->cfg.pid_file, sizeof(d->cfg.pid_file)) < 0) {
		fprintf(stderr, "quorated: --pid-file: path too long\n");
		return -EINVAL;
	}
	if (listen != NULL && config_set_listen(&d->cfg, listen, err, sizeof(err)) < 0) {
		fprintf(stderr, "quorated: --listen: %s\n", err);
		return -EINVAL;
	}
	if (ipc_name != NULL) {
		if (ipc_name[0] == '\0' || strlen(ipc_name) > CONFIG_IPC_NAME_MAX ||
		    strchr(ipc_name, '/') != NULL) {
			fprintf(stderr, "quorated: --ipc-name: must be 1..%d characters without '/'\n",
				CONFIG_IPC_NAME_MAX);
			return -EINVAL;
		}
		snprintf(d->cfg.ipc_name, sizeof(d->cfg.ipc_name), "%s", ipc_name);
	}
	if (level != NULL) {
		rc = config_log_level_parse(level);
		if (rc < 0) {
			fprintf(stderr, "quorated: --log-level: unknown level '%s'\n", level);
			return -EINVAL;
		}
		d->cfg.log_level = rc;
	}
	if (check_config) {
		printf("%s: configuration OK\n", config_path);
		exit(EXIT_SUCCESS);
	}
	return 0;
}

/*
 * The transport's serving signal (quorum/cluster.h): this node's ALUA group
 * follows it, Active/Optimized while serving and Unavailable otherwise, and
 * so do its portals in SendTargets. daemon/peers.c makes both follow, with
 * every other node's group and portals, from one place.
 */
static void daemon_serving(bool serving, void *ctx)
{
	struct daemon *d = ctx;

	daemon_peers_refresh(d);
	if (!serving) {
		daemon_range_lock_stop(d, false);
	}
	if (serving) {
		log_notice("serving: port group %u Active/Optimized", d->cfg.node_id);
	} else {
		log_warn("not serving: port group %u Unavailable, media access refused",
			 d->cfg.node_id);
	}
}

/*
 * This node's target port group (DESIGN §3: group N, relative port N),
 * Unavailable until the transport says the node serves: portals may listen
 * and initiators log in before, but media access and PR OUT wait.
 */
static int daemon_alua_create(struct daemon *d)
{
	const struct scsi_alua_group own = {
		.tpg_id = (uint16_t)d->cfg.node_id,
		.state = SCSI_ALUA_UNAVAILABLE,
		.preferred = true,
		.port_count = 1,
		.rel_port_ids = { (uint16_t)d->cfg.node_id },
	};

	return scsi_alua_table_create(&own, &d->alua);
}

/*
 * The portals SendTargets reports and the ALUA groups, once the transport
 * exists: this node announces its listen portals to the others
 * (cluster_set_portals(), which calls daemon_peers() back), and its own
 * portals are listed, like its ALUA group, once the serving signal
 * arrives. Runs before the loop does, so no initiator sees the table
 * unfed (in which case the server's portals stand for a serving node).
 */
static int daemon_discovery_feed(struct daemon *d)
{
	int rc = daemon_peers_announce(d);

	/* Even when the announcement failed: this node's own rows and group. */
	daemon_peers_refresh(d);
	return rc;
}

/*
 * The [iscsi] settings as the iSCSI server takes them (config.c knows
 * nothing of daemon/iscsi). The two structs list the same fields; the size
 * check catches most additions made to one and not the other.
 */
_Static_assert(sizeof(struct config_iscsi) == sizeof(struct iscsi_server_config),
	       "struct config_iscsi and struct iscsi_server_config differ: copy every field");
void daemon_iscsi_config(const struct config_iscsi *c, struct iscsi_server_config *out)
{
	*out = (struct iscsi_server_config){
		.tpgt = c->tpgt,
		.max_recv_dsl = c->max_recv_dsl,
		.max_burst = c->max_burst,
		.first_burst = c->first_burst,
		.max_outstanding_r2t = c->max_outstanding_r2t,
		.queue_depth = c->queue_depth,
		.nop_interval_s = c->nop_interval_s,
		.nop_timeout_s = c->nop_timeout_s,
		.max_sessions = c->max_sessions,
		.busy_poll_us = c->busy_poll_us,
		.max_discovery_sessions = c->max_discovery_sessions,
		.discovery_idle_timeout_s = c->discovery_idle_timeout_s,
		.max_login_connections = c->max_login_connections,
		.chap_backoff_max_s = c->chap_backoff_max_s,
		.require_mutual_chap = c->require_mutual_chap,
		.allow_cold_reset = c->allow_cold_reset,
	};
}

/* The member table changed: what initiators see of the nodes, and the range locks. */
static void daemon_member_table(const struct cluster_peer *peers, size_t count, void *ctx)
{
	daemon_peers(peers, count, ctx);
	daemon_range_lock_peers(ctx, peers, count);
}

/* The lease's end reaches the I/O path directly (quorum/cluster.h, lease). */
static void daemon_lease(uint64_t until_ns, void *ctx)
{
	struct daemon *d = ctx;

	if (d->alua != NULL) {
		scsi_alua_set_lease_end(d->alua, until_ns);
	}
}

/* No membership at all (corosync went away): nothing will release the range locks. */
static void daemon_membership(const uint32_t *members, size_t count, void *ctx)
{
	(void)members;
	if (count == 0) {
		daemon_range_lock_stop(ctx, true);
	}
}

static void daemon_confchg(const struct cluster_confchg *chg, void *ctx)
{
	daemon_range_lock_confchg(ctx, chg);
}

/*
 * The replication transport. Its callbacks come from the loop only, so it
 * starts before the state is loaded; with Corosync it fixes the node id
 * (DESIGN §3: TPGT, ALUA group and relative port id) before anything uses it.
 */
/*
 * The port of this node's first portal. Reach probes knock on it at the
 * other nodes' ring addresses (the same port on every node, as the
 * deployment guides have it): a RST answers as well as an accept.
 */
static uint16_t daemon_reach_port(const struct config *cfg)
{
	const char *colon = cfg->listen_count > 0 ? strrchr(cfg->listen[0], ':') : NULL;
	unsigned long port = colon != NULL ? strtoul(colon + 1, NULL, 10) : 0;

	return port > 0 && port <= UINT16_MAX ? (uint16_t)port : 0;
}

static int daemon_cluster_create(struct daemon *d)
{
	static const struct cluster_callbacks cluster_cb = {
		.deliver = daemon_deliver,
		.serving = daemon_serving,
		.snapshot_get = daemon_snapshot_get,
		.snapshot_put = daemon_snapshot_put,
		.summary = daemon_summary,
		.peers = daemon_member_table,
		.epoch_set = daemon_epoch_set,
		.proposals_lost = daemon_proposals_lost,
		.applied_everywhere = daemon_applied_everywhere,
		.membership = daemon_membership,
		.lease = daemon_lease,
		.note = daemon_range_lock_note,
	};
	const struct cluster_corosync_config cc = {
		.group = DAEMON_CPG_GROUP,
		.node_id = d->cfg.node_id_set ? d->cfg.node_id : 0,
		.applied_seq = store_applied_seq(d->store),
		.confchg = daemon_confchg,
		.reach_port = daemon_reach_port(&d->cfg),
	};
	int rc;

	if (d->cfg.cluster == CONFIG_CLUSTER_STANDALONE) {
		rc = cluster_loopback_create(d->loop, d->cfg.node_id, store_applied_seq(d->store),
					     &cluster_cb, d, &d->cluster);
		if (rc < 0) {
			log_perror(rc, "starting the standalone cluster transport");
		}
		return rc;
	}
	rc = cluster_corosync_create(d->loop, &cc, &cluster_cb, d, &d->cluster);
	if (rc == -EINVAL) {
		log_err("[node] id = %u is not this node's corosync nodeid: set id to the nodeid "
			"corosync.conf gives this node, or leave id out", d->cfg.node_id);
		return rc;
	}
	if (rc < 0) {
		log_err("cannot join the cluster: corosync is not running or refused the "
			"connection (%s)", strerror(-rc));
		return rc;
	}
	d->cfg.node_id = cluster_node_id(d->cluster);
	d->cfg.iscsi.tpgt = (uint16_t)d->cfg.node_id;
	/* The other members hold what a power loss drops anyway: no fsync for it. */
	store_relaxed_allow(d->store, true);
	log_info("cluster: corosync node id %u, CPG group '%s'", d->cfg.node_id,
		 DAEMON_CPG_GROUP);
	return 0;
}

static int daemon_start(struct daemon *d)
{
	struct iscsi_server_config iscsi_cfg;
	int rc;

	rc = backing_engine_init(d->loop);
	if (rc < 0) {
		log_perror(rc, "initialising the backing-store engine");
		return rc;
	}
	rc = loop_pass_busy_poll_start(d->loop, d->cfg.iscsi.busy_poll_us);
	if (rc < 0) {
		log_perror(rc, "starting busy polling");
		return rc;
	}
	rc = store_open(d->cfg.data_dir, &d->store);
	if (rc < 0) {
		log_perror(rc, "opening the database in '%s'", d->cfg.data_dir);
		return rc;
	}
	log_info("database '%s/%s': schema v%d, applied seq %llu", d->cfg.data_dir,
		 STORE_DB_FILE, store_schema_version(d->store),
		 (unsigned long long)store_applied_seq(d->store));
	rc = daemon_cluster_create(d);
	if (rc < 0) {
		return rc;
	}
	iscsi_raise_fd_limit();
	daemon_iscsi_config(&d->cfg.iscsi, &iscsi_cfg);
	rc = iscsi_server_create(d->loop, &iscsi_cfg, &d->iscsi);
	if (rc < 0) {
		log_perror(rc, "creating the iSCSI server");
		return rc;
	}
	rc = daemon_alua_create(d);
	if (rc < 0) {
		log_perror(rc, "creating the ALUA port group table");
		return rc;
	}
	rc = daemon_load(d);
	if (rc < 0) {
		log_perror(rc, "loading the database (%s)", store_errmsg(d->store));
		return rc;
	}
	rc = daemon_portals_open(d);
	if (rc < 0) {
		return rc;
	}
	state_cluster_set(d->state, d->cluster);
	rc = daemon_discovery_feed(d);
	if (rc < 0) {
		log_perror(rc, "announcing this node's portals");
		return rc;
	}
	rc = ipc_server_create(d->loop, d->cfg.ipc_name, d->cfg.admin_group, daemon_admin_request,
			       d, &d->ipc);
	if (rc < 0) {
		log_perror(rc, "starting the IPC service '%s'", d->cfg.ipc_name);
		return rc;
	}
	if (d->cfg.metrics_listen[0] != '\0') {
		rc = metrics_server_create(d->loop, d->cfg.metrics_listen, daemon_metrics_render, d,
					   &d->metrics);
		if (rc < 0) {
			log_perror(rc, "serving metrics on '%s' ([metrics] listen)",
				   d->cfg.metrics_listen);
			return rc;
		}
		log_info("metrics at %s", metrics_server_url(d->metrics));
	}
	if (d->demo) {
		rc = demo_setup(d);
		if (rc < 0) {
			return rc;
		}
	}
	log_notice("quorated %s ready: node '%s' (id %u), %s", PACKAGE_VERSION, d->cfg.node_name,
		   d->cfg.node_id, cluster_transport_name(d->cluster));
	return 0;
}

static void daemon_stop(struct daemon *d)
{
	/* Applied here; the loop stopped, so no member's acknowledgement will come. */
	daemon_held_flush(d);
	if (d->state != NULL) {
		daemon_pending_abort(d, "daemon is shutting down");
	}
	ipc_server_destroy(d->ipc);
	d->ipc = NULL;
	/* Before the objects it reports on go. */
	metrics_server_destroy(d->metrics);
	d->metrics = NULL;
	/* The loop has stopped: no delivery completes a waiting PR command now. */
	if (d->state != NULL) {
		daemon_pr_pending_fail(d);
	}
	daemon_range_lock_free(d);
	if (d->iscsi != NULL) {
		/* Logs initiators out (Async Message) and closes every connection. */
		iscsi_server_destroy(d->iscsi);
		d->iscsi = NULL;
	}
	/* No session remains, so no task is in flight on any LU. */
	daemon_run_free(d);
	state_destroy(d->state);
	d->state = NULL;
	scsi_alua_table_destroy(d->alua);
	d->alua = NULL;
	cluster_destroy(d->cluster);
	d->cluster = NULL;
	daemon_peers_free(d);
	daemon_portals_free(d);
	store_close(d->store);
	d->store = NULL;
	loop_pass_busy_poll_stop();
	backing_engine_fini();
}

int main(int argc, char **argv)
{
	struct daemon *d = &the_daemon;
	int rc;

	if (parse_args(d, argc, argv) < 0) {
		return EXIT_FAILURE;
	}
	rc = mkdir_p(d->cfg.data_dir, DATA_DIR_MODE);
	if (rc < 0) {
		fprintf(stderr, "quorated: creating data directory '%s': %s\n", d->cfg.data_dir,
			strerror(-rc));
		return EXIT_FAILURE;
	}
	{
		char canon[PATH_MAX];

		if (realpath(d->cfg.data_dir, canon) == NULL) {
			fprintf(stderr, "quorated: data directory '%s': %s\n", d->cfg.data_dir,
				strerror(errno));
			return EXIT_FAILURE;
		}
		snprintf(d->cfg.data_dir, sizeof(d->cfg.data_dir), "%s", canon);
	}
	log_setup(d);
	if (!d->foreground) {
		/* Until ready, warnings and errors also go to the caller's stderr. */
		qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, QB_TRUE);
		qb_log_filter_ctl(QB_LOG_STDERR, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*",
				  LOG_WARNING);
	}
	if (data_dir_lock(d) < 0) {
		qb_log_fini();
		return EXIT_FAILURE;
	}
	if (!d->foreground) {
		rc = daemonize();
		if (rc < 0) {
			log_perror(rc, "daemonizing");
			return EXIT_FAILURE;
		}
	}
	data_dir_lock_record_pid();
	/* Peers that vanish must not kill us; sockets report EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	d->started = time(NULL);
	d->loop = qb_loop_create();
	if (d->loop == NULL) {
		log_err("cannot create the main loop");
		return EXIT_FAILURE;
	}
	qb_loop_signal_add(d->loop, QB_LOOP_HIGH, SIGTERM, d, on_sigterm, NULL);
	qb_loop_signal_add(d->loop, QB_LOOP_HIGH, SIGINT, d, on_sigterm, NULL);
	qb_loop_signal_add(d->loop, QB_LOOP_HIGH, SIGHUP, d, on_sighup, NULL);

	rc = daemon_start(d);
	if (rc == 0) {
		rc = write_pidfile(d);
		if (rc < 0) {
			log_perror(rc, "writing the pid file");
		}
	}
	if (rc == 0) {
		daemon_ready(d);
		qb_loop_run(d->loop);
	}
	daemon_stop(d);
	qb_loop_destroy(d->loop);
	remove_pidfile(d);
	log_notice("quorated stopped");
	qb_log_fini();
	/* The lock goes last: nothing of ours touches the data directory now. */
	close(lock_fd);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
