/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parser for quorated.conf (inih). inih calls config_ini_handler() once per
 * key; the handler validates it against a table of known keys and records the
 * first error. inih returns the line of the first failing handler call, which
 * is where that recorded message belongs, so errors read "FILE:LINE: msg".
 *
 * The file is read whole (at most CONFIG_FILE_MAX bytes, a regular file, no
 * NUL byte) and handed to inih one line at a time by config_reader(), which
 * never splits a line: inih's own readers cut a line at its buffer size and
 * parse the tail as a line of its own, which turned the end of a long comment
 * into a live setting. A line that does not fit inih's buffer is an error;
 * where libinih lets us size that buffer at run time (Debian's build does),
 * it is CONFIG_LINE_MAX, enough for CONFIG_LISTEN_MAX portals on one line.
 * A key given twice is an error too (the second would silently win).
 *
 * Negotiation bounds follow RFC 7143 §13: MaxRecvDataSegmentLength,
 * MaxBurstLength and FirstBurstLength are 512..2^24-1 (13.12, 13.13, 13.14),
 * FirstBurstLength <= MaxBurstLength (13.14), MaxOutstandingR2T 1..65535
 * (13.17).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <ini.h>
#include <qb/qblog.h>

#include <config.h>		/* autoconf: HAVE_DECL_INI_MAX_LINE */
#include "daemon/config.h"

#define ISCSI_DSL_MIN 512		/* RFC 7143 13.12 */
#define ISCSI_DSL_MAX 16777215		/* 2^24 - 1 */
#define ISCSI_R2T_MAX 65535		/* RFC 7143 13.17 */
#define CONFIG_QUEUE_DEPTH_MAX 4096
#define CONFIG_TIMER_MAX_S 3600
#define CONFIG_SESSIONS_MAX 65535
/* [iscsi] busy_poll (microseconds): default and upper bound. */
#define CONFIG_BUSY_POLL_DEFAULT_US 50
#define CONFIG_BUSY_POLL_MAX_US 1000
#define CONFIG_NODE_ID_MAX 65535	/* it becomes a 16-bit TPGT */
/* Admission ([iscsi], quorated.conf(5)): a discovery session lasts
 * milliseconds, so 16 at once is plenty for a rack rebooting together; 128
 * logins in progress cover 32 hosts with 4 paths each logging in at once. */
#define CONFIG_DISCOVERY_SESSIONS_DEFAULT 16
#define CONFIG_DISCOVERY_IDLE_DEFAULT_S 30
#define CONFIG_LOGIN_CONNS_DEFAULT 128
#define CONFIG_LOGIN_CONNS_MAX 65535
#define CONFIG_CHAP_BACKOFF_DEFAULT_S 60
#define PORT_MAX 65535
/* Bounds of the file as read into memory, and of one line of it. */
#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_LINE_MAX 4096
/* Distinct keys remembered for the duplicate check (every known key fits). */
#define CONFIG_SEEN_MAX 128
#define CONFIG_SEEN_NAME_MAX 64

struct config_seen {
	char section[CONFIG_SEEN_NAME_MAX];
	char name[CONFIG_SEEN_NAME_MAX];
	int line;
};

struct config_parse {
	struct config *cfg;
	const char *path;
	bool failed;
	int line;			/* lines read so far (the current line) */
	int err_line;			/* line of the first error */
	const char *text;		/* the whole file, NUL-terminated */
	size_t pos;			/* next byte config_reader() hands out */
	struct config_seen seen[CONFIG_SEEN_MAX];
	unsigned int n_seen;
	char msg[CONFIG_ERR_MAX];	/* first error, without FILE:LINE */
};

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{ "err", LOG_ERR },	    { "error", LOG_ERR },   { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },   { "info", LOG_INFO },   { "debug", LOG_DEBUG },
	{ "trace", LOG_TRACE },
};

int config_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcasecmp(name, log_levels[i].name) == 0) {
			return log_levels[i].level;
		}
	}
	return -1;
}

const char *config_log_level_name(int level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (log_levels[i].level == level) {
			return log_levels[i].name;
		}
	}
	return "unknown";
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (gethostname(cfg->node_name, sizeof(cfg->node_name) - 1) != 0 ||
	    cfg->node_name[0] == '\0') {
		snprintf(cfg->node_name, sizeof(cfg->node_name), "quorate");
	}
	cfg->node_id = 1;
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", CONFIG_DEFAULT_DATA_DIR);
	cfg->cluster = CONFIG_CLUSTER_STANDALONE;
	cfg->log_level = LOG_INFO;
	snprintf(cfg->ipc_name, sizeof(cfg->ipc_name), "%s", CONFIG_DEFAULT_IPC_NAME);
	snprintf(cfg->listen[0], sizeof(cfg->listen[0]), "%s", CONFIG_DEFAULT_LISTEN);
	cfg->listen_count = 1;
	cfg->iscsi = (struct config_iscsi){
		.tpgt = 1,
		.max_recv_dsl = 262144,
		.max_burst = 1048576,
		.first_burst = 65536,
		.max_outstanding_r2t = 4,
		.queue_depth = 128,
		.nop_interval_s = 30,
		.nop_timeout_s = 15,
		.max_sessions = 64,
		.busy_poll_us = CONFIG_BUSY_POLL_DEFAULT_US,
		.max_discovery_sessions = CONFIG_DISCOVERY_SESSIONS_DEFAULT,
		.discovery_idle_timeout_s = CONFIG_DISCOVERY_IDLE_DEFAULT_S,
		.max_login_connections = CONFIG_LOGIN_CONNS_DEFAULT,
		.chap_backoff_max_s = CONFIG_CHAP_BACKOFF_DEFAULT_S,
		.require_mutual_chap = 0,
	};
}

bool config_portal_valid(const char *portal)
{
	const char *colon, *port;
	char *end;
	unsigned long p;
	size_t hostlen;

	if (strlen(portal) > CONFIG_PORTAL_MAX) {
		return false;
	}
	if (portal[0] == '[') {
		const char *close = strchr(portal, ']');

		if (close == NULL || close == portal + 1 || close[1] != ':') {
			return false;
		}
		port = close + 2;
	} else {
		colon = strrchr(portal, ':');
		if (colon == NULL || colon == portal || strchr(portal, ':') != colon) {
			return false;
		}
		hostlen = (size_t)(colon - portal);
		if (strcspn(portal, " \t") < hostlen) {
			return false;
		}
		port = colon + 1;
	}
	if (*port < '0' || *port > '9') {
		return false;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	return errno == 0 && *end == '\0' && p >= 1 && p <= PORT_MAX;
}

static char *config_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t') {
		s++;
	}
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
		*--e = '\0';
	}
	return s;
}

int config_set_listen(struct config *cfg, const char *list, char *err, size_t errlen)
{
	char buf[CONFIG_LISTEN_MAX * (CONFIG_PORTAL_MAX + 2)];
	char *save = NULL, *tok;
	unsigned int n = 0;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "listen list too long");
		return -EINVAL;
	}
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		tok = config_trim(tok);
		if (n == CONFIG_LISTEN_MAX) {
			snprintf(err, errlen, "more than %d listen portals", CONFIG_LISTEN_MAX);
			return -EINVAL;
		}
		if (!config_portal_valid(tok)) {
			snprintf(err, errlen, "bad portal '%s' (want HOST:PORT or [V6]:PORT)", tok);
			return -EINVAL;
		}
		snprintf(cfg->listen[n], sizeof(cfg->listen[n]), "%s", tok);
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "empty listen list");
		return -EINVAL;
	}
	cfg->listen_count = n;
	return 0;
}

static int config_u32(const char *value, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*value < '0' || *value > '9') {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int config_fail(struct config_parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int config_fail(struct config_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
		va_end(ap);
		p->failed = true;
		p->err_line = p->line;
	}
	return 0;	/* inih: this line is an error */
}

/* "true"/"yes"/"on"/"1" or "false"/"no"/"off"/"0". */
static int config_bool(const char *value, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* A numeric key of [iscsi]: its name, bounds and field. */
struct config_num_key {
	const char *name;
	uint32_t min;
	uint32_t max;
	size_t offset;			/* in struct config_iscsi */
};

static const struct config_num_key iscsi_num_keys[] = {
	{ "max_recv_data_segment_length", ISCSI_DSL_MIN, ISCSI_DSL_MAX,
	  offsetof(struct config_iscsi, max_recv_dsl) },
	{ "max_burst_length", ISCSI_DSL_MIN, ISCSI_DSL_MAX,
	  offsetof(struct config_iscsi, max_burst) },
	{ "first_burst_length", ISCSI_DSL_MIN, ISCSI_DSL_MAX,
	  offsetof(struct config_iscsi, first_burst) },
	{ "max_outstanding_r2t", 1, ISCSI_R2T_MAX,
	  offsetof(struct config_iscsi, max_outstanding_r2t) },
	{ "queue_depth", 1, CONFIG_QUEUE_DEPTH_MAX,
	  offsetof(struct config_iscsi, queue_depth) },
	{ "nop_interval", 0, CONFIG_TIMER_MAX_S,
	  offsetof(struct config_iscsi, nop_interval_s) },
	{ "nop_timeout", 1, CONFIG_TIMER_MAX_S,
	  offsetof(struct config_iscsi, nop_timeout_s) },
	{ "max_sessions", 1, CONFIG_SESSIONS_MAX,
	  offsetof(struct config_iscsi, max_sessions) },
	{ "busy_poll", 0, CONFIG_BUSY_POLL_MAX_US,
	  offsetof(struct config_iscsi, busy_poll_us) },
	{ "max_discovery_sessions", 0, CONFIG_SESSIONS_MAX,
	  offsetof(struct config_iscsi, max_discovery_sessions) },
	{ "discovery_idle_timeout", 0, CONFIG_TIMER_MAX_S,
	  offsetof(struct config_iscsi, discovery_idle_timeout_s) },
	{ "max_login_connections", 0, CONFIG_LOGIN_CONNS_MAX,
	  offsetof(struct config_iscsi, max_login_connections) },
	{ "chap_backoff_max", 0, CONFIG_TIMER_MAX_S,
	  offsetof(struct config_iscsi, chap_backoff_max_s) },
	{ "require_mutual_chap", 0, 1,
	  offsetof(struct config_iscsi, require_mutual_chap) },
};

static int config_node_key(struct config_parse *p, const char *name, const char *value)
{
	struct config *cfg = p->cfg;
	int level;

	if (strcmp(name, "log_level") == 0) {
		level = config_log_level_parse(value);
		if (level < 0) {
			return config_fail(p, "log_level: unknown level '%s' (want err, warning, "
					      "notice, info, debug or trace)", value);
		}
		cfg->log_level = level;
		return 1;
	}
	if (strcmp(name, "name") == 0) {
		if (value[0] == '\0' || strlen(value) > CONFIG_NODE_NAME_MAX) {
			return config_fail(p, "name: must be 1..%d characters", CONFIG_NODE_NAME_MAX);
		}
		snprintf(cfg->node_name, sizeof(cfg->node_name), "%s", value);
	} else if (strcmp(name, "id") == 0) {
		if (config_u32(value, 1, CONFIG_NODE_ID_MAX, &cfg->node_id) < 0) {
			return config_fail(p, "id: '%s' is not a number in 1..%d", value,
					   CONFIG_NODE_ID_MAX);
		}
		cfg->iscsi.tpgt = (uint16_t)cfg->node_id;
		cfg->node_id_set = true;
	} else if (strcmp(name, "data_dir") == 0) {
		if (value[0] != '/' || strlen(value) >= sizeof(cfg->data_dir)) {
			return config_fail(p, "data_dir: must be an absolute path");
		}
		snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", value);
	} else if (strcmp(name, "cluster") == 0) {
		if (strcmp(value, "standalone") == 0) {
			cfg->cluster = CONFIG_CLUSTER_STANDALONE;
		} else if (strcmp(value, "corosync") == 0) {
			cfg->cluster = CONFIG_CLUSTER_COROSYNC;
		} else {
			return config_fail(p, "cluster: unknown mode '%s' (want standalone or "
					      "corosync)", value);
		}
	} else if (strcmp(name, "ipc_name") == 0) {
		if (value[0] == '\0' || strlen(value) > CONFIG_IPC_NAME_MAX ||
		    strchr(value, '/') != NULL) {
			return config_fail(p, "ipc_name: must be 1..%d characters without '/'",
					   CONFIG_IPC_NAME_MAX);
		}
		snprintf(cfg->ipc_name, sizeof(cfg->ipc_name), "%s", value);
	} else if (strcmp(name, "pid_file") == 0) {
		if (value[0] != '/' || strlen(value) >= sizeof(cfg->pid_file)) {
			return config_fail(p, "pid_file: must be an absolute path");
		}
		snprintf(cfg->pid_file, sizeof(cfg->pid_file), "%s", value);
	} else if (strcmp(name, "admin_group") == 0) {
		/* Resolved when the IPC service starts (the group may come later). */
		if (strlen(value) > CONFIG_GROUP_NAME_MAX || strchr(value, ':') != NULL) {
			return config_fail(p, "admin_group: must be a group name of at most %d "
					      "characters", CONFIG_GROUP_NAME_MAX);
		}
		snprintf(cfg->admin_group, sizeof(cfg->admin_group), "%s", value);
	} else {
		return config_fail(p, "unknown key '%s' in [node]", name);
	}
	return 1;
}

static int config_iscsi_key(struct config_parse *p, const char *name, const char *value)
{
	struct config *cfg = p->cfg;
	char err[CONFIG_ERR_MAX];

	if (strcmp(name, "listen") == 0) {
		if (config_set_listen(cfg, value, err, sizeof(err)) < 0) {
			return config_fail(p, "listen: %s", err);
		}
		return 1;
	}
	if (strcmp(name, "allow_cold_reset") == 0) {
		if (config_bool(value, &cfg->iscsi.allow_cold_reset) < 0) {
			return config_fail(p, "allow_cold_reset: '%s' is not true or false", value);
		}
		return 1;
	}
	for (size_t i = 0; i < sizeof(iscsi_num_keys) / sizeof(iscsi_num_keys[0]); i++) {
		const struct config_num_key *k = &iscsi_num_keys[i];

		if (strcmp(name, k->name) == 0) {
			uint32_t *field = (uint32_t *)((char *)&cfg->iscsi + k->offset);

			if (config_u32(value, k->min, k->max, field) < 0) {
				return config_fail(p, "%s: '%s' is not a number in %" PRIu32
						      "..%" PRIu32, name, value, k->min, k->max);
			}
			return 1;
		}
	}
	return config_fail(p, "unknown key '%s' in [iscsi]", name);
}

/*
 * [metrics]: the Prometheus endpoint (daemon/metrics.c), off unless listen
 * is given. A build without libmicrohttpd refuses the key rather than
 * start without the endpoint the file asks for.
 */
static int config_metrics_key(struct config_parse *p, const char *name, const char *value)
{
	if (strcmp(name, "listen") != 0) {
		return config_fail(p, "unknown key '%s' in [metrics]", name);
	}
	if (!config_portal_valid(value)) {
		return config_fail(p, "listen: bad address '%s' (want one HOST:PORT or [V6]:PORT)",
				   value);
	}
#ifndef HAVE_MICROHTTPD
	return config_fail(p, "listen: this quorated was built without libmicrohttpd, so it "
			      "cannot serve metrics (configure --with-microhttpd)");
#else
	snprintf(p->cfg->metrics_listen, sizeof(p->cfg->metrics_listen), "%s", value);
	return 1;
#endif
}

/* A key seen before in the same section is an error; else remember it. */
static bool config_duplicate(struct config_parse *p, const char *section, const char *name)
{
	struct config_seen *e;

	if (strlen(section) >= CONFIG_SEEN_NAME_MAX || strlen(name) >= CONFIG_SEEN_NAME_MAX) {
		return false;	/* no such key: the key check reports it */
	}
	for (unsigned int i = 0; i < p->n_seen; i++) {
		e = &p->seen[i];
		if (strcmp(e->section, section) == 0 && strcmp(e->name, name) == 0) {
			config_fail(p, "duplicate key '%s' in [%s] (first set at line %d)", name,
				    section, e->line);
			return true;
		}
	}
	if (p->n_seen < CONFIG_SEEN_MAX) {
		e = &p->seen[p->n_seen++];
		snprintf(e->section, sizeof(e->section), "%s", section);
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->line = p->line;
	}
	return false;
}

static int config_ini_handler(void *user, const char *section, const char *name,
			      const char *value)
{
	struct config_parse *p = user;

	if (config_duplicate(p, section, name)) {
		return 0;
	}
	if (strcmp(section, "node") == 0) {
		return config_node_key(p, name, value);
	}
	if (strcmp(section, "iscsi") == 0) {
		return config_iscsi_key(p, name, value);
	}
	if (strcmp(section, "metrics") == 0) {
		return config_metrics_key(p, name, value);
	}
	if (section[0] == '\0') {
		return config_fail(p, "key '%s' outside of a section", name);
	}
	return config_fail(p, "unknown section [%s]", section);
}

static bool config_section_known(const char *name, size_t len)
{
	return (len == 4 && strncmp(name, "node", len) == 0) ||
	       (len == 5 && strncmp(name, "iscsi", len) == 0) ||
	       (len == 7 && strncmp(name, "metrics", len) == 0);
}

/*
 * inih's line reader: one whole line of the file per call (or an error, never
 * a part of a line), counting lines and catching unknown section headers even
 * when the section has no keys (inih calls the key handler only).
 */
static char *config_reader(char *buf, int size, void *stream)
{
	struct config_parse *p = stream;
	const char *start = p->text + p->pos, *nl;
	char *line = buf;
	size_t len;
	const char *s, *close;

	if (*start == '\0' || p->failed) {
		return NULL;	/* end of file, or stop at the first error */
	}
	nl = strchr(start, '\n');
	len = nl != NULL ? (size_t)(nl - start) + 1 : strlen(start);
	p->line++;
	p->pos += len;
	if (size <= 0 || len >= (size_t)size) {
		config_fail(p, "line longer than %d bytes", size > 0 ? size - 1 : 0);
		return NULL;
	}
	memcpy(buf, start, len);
	buf[len] = '\0';
	s = line + strspn(line, " \t");
	if (*s == '[') {
		close = strchr(s, ']');
		if (close != NULL && !config_section_known(s + 1, (size_t)(close - s - 1))) {
			config_fail(p, "unknown section [%.*s]", (int)(close - s - 1), s + 1);
		}
	}
	return line;
}

/* Let inih hold a line of CONFIG_LINE_MAX bytes where the library allows it. */
static void config_ini_setup(void)
{
#if defined(HAVE_DECL_INI_MAX_LINE) && HAVE_DECL_INI_MAX_LINE
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = CONFIG_LINE_MAX;
	ini_max_line = CONFIG_LINE_MAX;
	/* An indented line is a line of its own, not the previous value's tail. */
	ini_allow_multiline = false;
#endif
}

/*
 * Read @path whole into a NUL-terminated buffer (*@out, to free): a regular
 * file of at most CONFIG_FILE_MAX bytes without a NUL byte.
 */
static int config_read_file(struct config_parse *p, char **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	const char *nul;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", p->path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", p->path, strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		snprintf(err, errlen, "%s: not a regular file%s", p->path,
			 S_ISDIR(st.st_mode) ? " (a directory)" : "");
		goto out;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", p->path);
		goto out;
	}
	/* One byte more than allowed, to tell "too big" from "exactly the limit". */
	while (len <= CONFIG_FILE_MAX &&
	       (n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			rc = -errno;
			snprintf(err, errlen, "%s: read: %s", p->path, strerror(-rc));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > CONFIG_FILE_MAX) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: larger than %d bytes", p->path, CONFIG_FILE_MAX);
		goto out;
	}
	nul = memchr(buf, '\0', len);
	if (nul != NULL) {
		int line = 1;

		for (const char *c = buf; c < nul; c++) {
			line += *c == '\n';
		}
		rc = -EINVAL;
		snprintf(err, errlen, "%s:%d: NUL byte in the file", p->path, line);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static int config_parse_file(struct config_parse *p, char *err, size_t errlen)
{
	char *text = NULL;
	int line, rc;

	rc = config_read_file(p, &text, err, errlen);
	if (rc < 0) {
		return rc;
	}
	config_ini_setup();
	p->text = text;
	p->pos = 0;
	line = ini_parse_stream(config_reader, p, config_ini_handler, p);
	p->text = NULL;
	free(text);
	if (p->failed && (line <= 0 || p->err_line <= line)) {
		snprintf(err, errlen, "%s:%d: %s", p->path, p->err_line, p->msg);
		return -EINVAL;
	}
	if (line == -2) {
		snprintf(err, errlen, "%s: out of memory", p->path);
		return -ENOMEM;
	}
	if (line > 0) {
		snprintf(err, errlen, "%s:%d: syntax error", p->path, line);
		return -EINVAL;
	}
	return 0;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config_parse p = { .cfg = cfg, .path = path };
	int rc = config_parse_file(&p, err, errlen);

	if (rc < 0) {
		return rc;
	}
	/* Cross-key rule, checked once every key is known: RFC 7143 13.14. */
	if (cfg->iscsi.first_burst > cfg->iscsi.max_burst) {
		snprintf(err, errlen, "%s: first_burst_length (%" PRIu32 ") exceeds "
				      "max_burst_length (%" PRIu32 ")",
			 path, cfg->iscsi.first_burst, cfg->iscsi.max_burst);
		return -EINVAL;
	}
	return 0;
}

