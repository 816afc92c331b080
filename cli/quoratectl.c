/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * quoratectl: the admin CLI. Each invocation sends one JSON request over the
 * daemon's libqb IPC service (protocol: daemon/ipc/ctl_proto.h, the only
 * daemon header used here) and prints the answer as a table (libsmartcols;
 * --raw for scripts), or with --json as the daemon's JSON document on stdout. Exit status: 0 success, 1 the daemon
 * refused or could not be reached (one line on stderr), 2 usage error.
 *
 * CHAP secrets are read from --secret-file or stdin by default (with echo
 * off and asked twice on a terminal); --secret on the command line works but
 * is visible in ps(1) and shell history.
 *
 * The IPC name is an abstract socket anybody can bind first, so before a
 * request (which may carry a secret) is sent, the server's credentials, as
 * the kernel reports them, must show root, our own uid or --daemon-user.
 * Numbers on the command line are decimal: "010" is 10, "0x20" is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>
#include <json-c/json.h>
#include <libsmartcols/libsmartcols.h>
#include <qb/qbipcc.h>

#include <config.h>
#include "daemon/ipc/ctl_proto.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define IPC_TIMEOUT_MS 60000
#define SECRET_MAX 255
#define UID_DECIMAL_MAX 4294967294ULL	/* (uid_t)-1 is "no uid" */
#define KIB 1024ULL

struct cli {
	bool json;
	bool raw;			/* --raw: tables as libsmartcols' raw output */
	const char *ipc_name;
	bool have_daemon_uid;
	uid_t daemon_uid;		/* --daemon-user: also trusted as the server */
	bool quiet;			/* ctl_call: keep its error for the caller to report */
	const char *err_kind;		/* the last error: CTL_ERR_* ... */
	char err_msg[512];		/* ... and its one line */
};

struct cmd_spec {
	const char *group;		/* "target" */
	const char *verb;		/* "create"; NULL for "status" */
	const char *usage;		/* arguments and options */
	const char *help;		/* one paragraph */
	int (*run)(struct cli *cli, int argc, char **argv);
};

static const struct cmd_spec *current_cmd;
static struct cli *the_cli;	/* for -j/--json after the subcommand, and errors */

/*
 * Report an error: one line on stderr, or with --json one document on
 * stdout, {"error": {"kind": CTL_ERR_*, "message": ...}}.
 */
static void error_print(const char *kind, const char *msg)
{
	struct json_object *o, *e;

	if (the_cli == NULL || !the_cli->json) {
		fprintf(stderr, "quoratectl: %s\n", msg);
		return;
	}
	o = json_object_new_object();
	e = json_object_new_object();
	json_object_object_add(e, "kind", json_object_new_string(kind));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "error", e);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	fflush(stdout);
}

static int cli_fail(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Keep the error in the_cli (ctl_call's callers may report it) and print it unless quiet. */
static int cli_fail(const char *kind, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (the_cli != NULL) {
		the_cli->err_kind = kind;
		snprintf(the_cli->err_msg, sizeof(the_cli->err_msg), "%s", msg);
	}
	if (the_cli == NULL || !the_cli->quiet) {
		error_print(kind, msg);
	}
	return EXIT_REFUSED;
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line: where to read the usage instead of the usage itself. */
	for (char *p = msg; *p != '\0'; p++) {
		*p = *p == '\n' ? ' ' : *p;
	}
	if (current_cmd != NULL) {
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "; see 'quoratectl %s%s%s --help'",
			 current_cmd->group, current_cmd->verb ? " " : "",
			 current_cmd->verb ? current_cmd->verb : "");
	} else {
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "; see 'quoratectl --help'");
	}
	error_print(CTL_ERR_USAGE, msg);
	exit(EXIT_USAGE);
}

/* ---- option parsing --------------------------------------------------------- */

/*
 * Options of a subcommand, anywhere after its name (getopt_long, which
 * permutes): "--name value", "--name=value", flags, a short letter where
 * one is given, and -j/--json and --raw (as before the subcommand). "--" ends the
 * options. Positional arguments are collected in order.
 */
struct opt_def {
	const char *name;	/* without "--" */
	bool has_arg;
	const char **value;	/* OUT for has_arg */
	bool *flag;		/* OUT for flags */
	char short_name;	/* 0: none */
};

#define OPTS_MAX 16
#define OPT_LONG_BASE 256	/* getopt_long's value for defs[i]: OPT_LONG_BASE + i */
#define OPT_RAW 1		/* --raw (not a character getopt could return) */

static void opt_found(const struct opt_def *d)
{
	if (d->has_arg) {
		*d->value = optarg;
	} else {
		*d->flag = true;
	}
}

static int opts_parse(int argc, char **argv, const struct opt_def *defs, char **pos, int max_pos)
{
	struct option longs[OPTS_MAX + 3];
	char shorts[2 * OPTS_MAX + 4] = ":j", **av = calloc((size_t)argc + 2, sizeof(*av));
	size_t n = 0, ns = 2;
	int c, npos = 0;

	if (av == NULL) {
		fputs("quoratectl: out of memory\n", stderr);
		exit(EXIT_REFUSED);
	}

	for (const struct opt_def *d = defs; d != NULL && d->name != NULL; d++, n++) {
		longs[n] = (struct option){ d->name, d->has_arg ? required_argument : no_argument,
					    NULL, OPT_LONG_BASE + (int)n };
		if (d->short_name != 0) {
			shorts[ns++] = d->short_name;
			if (d->has_arg) {
				shorts[ns++] = ':';
			}
		}
	}
	longs[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	longs[n++] = (struct option){ "raw", no_argument, NULL, OPT_RAW };
	longs[n] = (struct option){ NULL, 0, NULL, 0 };
	shorts[ns] = '\0';
	av[0] = (char *)"quoratectl";
	memcpy(av + 1, argv, (size_t)argc * sizeof(*av));
	av[argc + 1] = NULL;
	opterr = 0;
	optind = 0;	/* GNU: start afresh */
	while ((c = getopt_long(argc + 1, av, shorts, longs, NULL)) != -1) {
		if (c == 'j') {
			the_cli->json = true;
		} else if (c == OPT_RAW) {
			the_cli->raw = true;
		} else if (c == ':') {
			usage_error("option '%s' needs a value", av[optind - 1]);
		} else if (c == '?') {
			usage_error("unknown option '%s' (or it takes no value)",
				    optopt != 0 && optopt < OPT_LONG_BASE ? (char[]){ '-', (char)optopt, 0 }
								      : av[optind - 1]);
		} else if (c >= OPT_LONG_BASE) {
			opt_found(&defs[c - OPT_LONG_BASE]);
		} else {
			for (const struct opt_def *d = defs; d->name != NULL; d++) {
				if (d->short_name == c) {
					opt_found(d);
					break;
				}
			}
		}
	}
	for (int i = optind; i < argc + 1; i++) {
		if (npos == max_pos) {
			usage_error("unexpected argument '%s'", av[i]);
		}
		pos[npos++] = av[i];
	}
	free(av);	/* pos[] points into argv, not into av */
	return npos;
}

/* "10G", "512M", "4096" (bytes; K/M/G/T are powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (*s < '0' || *s > '9') {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0) {
		return -EINVAL;
	}
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0' && end[1] != '\0' && strcmp(end + 1, "iB") != 0 &&
	    strcmp(end + 1, "B") != 0) {
		return -EINVAL;
	}
	if (shift != 0 && v > (UINT64_MAX >> shift)) {
		return -ERANGE;
	}
	*out = v << shift;
	return *out <= INT64_MAX ? 0 : -ERANGE;
}

/* A decimal number: leading zeros are not octal, "0x" is not hex. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9') {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max) {
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* "on" or "off" for option --@name; a usage error otherwise. */
static bool parse_on_off(const char *name, const char *v)
{
	if (strcmp(v, "on") == 0) {
		return true;
	}
	if (strcmp(v, "off") != 0) {
		usage_error("--%s takes 'on' or 'off', not '%s'", name, v);
	}
	return false;
}

/* ---- IPC ------------------------------------------------------------------ */

static void uid_describe(uid_t uid, char *out, size_t cap)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL) {
		snprintf(out, cap, "uid %u (%s)", (unsigned int)uid, pw->pw_name);
	} else {
		snprintf(out, cap, "uid %u", (unsigned int)uid);
	}
}

static bool ctl_uid_trusted(const struct cli *cli, uid_t uid)
{
	return uid == 0 || uid == getuid() || uid == geteuid() ||
	       (cli->have_daemon_uid && uid == cli->daemon_uid);
}

static int ctl_refuse_server(const struct cli *cli, pid_t pid, uid_t uid)
{
	char who[96], want[192];

	uid_describe(uid, who, sizeof(who));
	snprintf(want, sizeof(want), "root or your own uid %u", (unsigned int)getuid());
	if (cli->have_daemon_uid) {
		snprintf(want + strlen(want), sizeof(want) - strlen(want), " or uid %u",
			 (unsigned int)cli->daemon_uid);
	}
	cli_fail(CTL_ERR_DENIED, "refusing to talk to IPC '%s': it is served by pid %ld "
		 "running as %s, not by %s; another process may be impersonating quorated (if "
		 "the daemon really runs as that user, pass --daemon-user)", cli->ipc_name,
		 (long)pid, who, want);
	return -EPERM;
}

/*
 * Before libqb's handshake: who listens on the name? An untrusted listener
 * gets no handshake at all (libqb's client would map files it created).
 * Unknown (nobody listens, or libqb's naming changed): qb_ipcc_connect()
 * reports the former, ctl_server_check() still guards the latter.
 */
static int ctl_listener_check(const struct cli *cli)
{
	struct ucred cred;

	if (ctl_ipc_listener_cred(cli->ipc_name, &cred) < 0 || ctl_uid_trusted(cli, cred.uid)) {
		return 0;
	}
	return ctl_refuse_server(cli, cred.pid, cred.uid);
}

/*
 * May we talk to the process serving this connection? Anybody can bind an
 * abstract socket name first; the kernel's record of the server's uid (libqb
 * receives it with SO_PASSCRED during the handshake) tells quorated from an
 * impostor. Nothing but the handshake has been sent when this runs; this is
 * the authoritative check, on the connection the request will use.
 */
static int ctl_server_check(const struct cli *cli, qb_ipcc_connection_t *c)
{
	pid_t pid = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	int32_t rc = qb_ipcc_auth_get(c, &pid, &uid, &gid);

	if (rc < 0) {
		cli_fail(CTL_ERR_DENIED, "cannot learn who serves IPC '%s': %s; not sending the "
			 "request", cli->ipc_name, strerror((int)-rc));
		return -EPERM;
	}
	if (ctl_uid_trusted(cli, uid)) {
		return 0;
	}
	return ctl_refuse_server(cli, pid, uid);
}

/* ---- the IPC name from the daemon's config file ------------------------------ */

/*
 * Without --ipc and QUORATE_IPC, the IPC name is the [node] ipc_name of the
 * daemon's config file (--config, default the file quorated reads by
 * default), else quorated's default name. A missing default file is no
 * error: quorated runs without one too. A file that exists but cannot be
 * read, is not INI (inih says where), or names an invalid ipc_name is a
 * usage error: guessing another name would send the request to whatever
 * listens there. Only ipc_name is looked at; the rest of the file is the
 * daemon's (quorated --check-config checks it). inih is set up as quorated
 * sets it up: lines are not continued, and a long line is not cut in two.
 */
#define CTL_CONFIG_DEFAULT SYSCONFDIR "/quorate/quorated.conf"
#define CTL_CONFIG_FILE_MAX (1 << 20)
#define CTL_CONFIG_LINE_MAX 65536
#define CTL_IPC_NAME_MAX 63	/* as quorated's [node] ipc_name */

struct ipc_conf {
	char name[CTL_IPC_NAME_MAX + 1];
	bool found;
	char err[256];		/* the handler's complaint */
};

static int ipc_conf_key(void *user, const char *section, const char *name, const char *value)
{
	struct ipc_conf *c = user;

	if (strcmp(section, "node") != 0 || strcmp(name, "ipc_name") != 0) {
		return 1;
	}
	if (c->found) {
		snprintf(c->err, sizeof(c->err), "ipc_name given twice");
		return 0;
	}
	if (value[0] == '\0' || strlen(value) > CTL_IPC_NAME_MAX || strchr(value, '/') != NULL) {
		snprintf(c->err, sizeof(c->err), "ipc_name: must be 1..%d characters without '/'",
			 CTL_IPC_NAME_MAX);
		return 0;
	}
	snprintf(c->name, sizeof(c->name), "%s", value);
	c->found = true;
	return 1;
}

/* The whole of @path, NUL-terminated (to free), or NULL with errno set. */
static char *file_slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0;
	int e = 0;

	if (f == NULL) {
		return NULL;
	}
	buf = malloc(CTL_CONFIG_FILE_MAX + 1);
	if (buf == NULL) {
		e = ENOMEM;
	} else {
		n = fread(buf, 1, CTL_CONFIG_FILE_MAX + 1, f);
		e = ferror(f) ? (errno != 0 ? errno : EIO) : n > CTL_CONFIG_FILE_MAX ? EFBIG : 0;
	}
	fclose(f);
	if (e == 0 && memchr(buf, '\0', n) != NULL) {
		e = EINVAL;
	}
	if (e != 0) {
		free(buf);
		errno = e;
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Set cli->ipc_name from @path (@explicit: given with --config); exits 2 on a bad file. */
static void ipc_name_from_config(struct cli *cli, const char *path, bool explicit)
{
	static struct ipc_conf conf;
	char *text = file_slurp(path);
	int line;

	if (text == NULL) {
		if (errno == ENOENT && !explicit) {
			return;
		}
		usage_error("%s: %s (give --ipc NAME or set " CTL_IPC_NAME_ENV " to skip it)", path,
			    errno == EFBIG ? "larger than 1 MiB"
			    : errno == EINVAL ? "NUL byte in the file" : strerror(errno));
	}
#if defined(HAVE_DECL_INI_MAX_LINE) && HAVE_DECL_INI_MAX_LINE
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = CTL_CONFIG_LINE_MAX;
	ini_max_line = CTL_CONFIG_LINE_MAX;
	ini_allow_multiline = false;
#endif
	line = ini_parse_string(text, ipc_conf_key, &conf);
	free(text);
	if (line < 0 || (line > 0 && conf.err[0] != '\0')) {
		usage_error("%s:%d: %s (give --ipc NAME or set " CTL_IPC_NAME_ENV " to skip it)",
			    path, line, line < 0 ? "out of memory" : conf.err);
	}
	if (line > 0) {
		/*
		 * A syntax error elsewhere in the file is the daemon's to report
		 * (quorated --check-config, or quoratectl reload right after the
		 * edit): parsing went on past it, so ipc_name is known anyway.
		 */
		fprintf(stderr, "quoratectl: warning: %s:%d: syntax error (quorated --check-config "
			"shows the details)\n", path, line);
	}
	if (conf.found) {
		cli->ipc_name = conf.name;
	}
}

/* The daemon's error kind as one of ours (they outlive the answer). */
static const char *error_kind_known(const char *kind)
{
	static const char *const kinds[] = {
		CTL_ERR_INVALID, CTL_ERR_NOT_FOUND, CTL_ERR_EXISTS, CTL_ERR_REFUSED,
		CTL_ERR_UNAVAILABLE, CTL_ERR_FAILED, CTL_ERR_USAGE, CTL_ERR_UNREACHABLE,
		CTL_ERR_DENIED,
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kinds[i], kind) == 0) {
			return kinds[i];
		}
	}
	return CTL_ERR_REFUSED;
}

/*
 * Send {"version", "cmd", "args"}; on success *result is the "result" member.
 * On failure the error is printed (unless cli->quiet) and kept in cli.
 */
static int ctl_call(struct cli *cli, const char *cmd, struct json_object *args,
		    struct json_object **result)
{
	struct qb_ipc_request_header hdr = { 0 };
	struct json_object *req = json_object_new_object(), *resp = NULL, *ok, *v;
	const char *text;
	size_t len;
	struct iovec iov[2];
	char *buf = NULL;
	qb_ipcc_connection_t *c;
	ssize_t n;
	int rc = EXIT_REFUSED;

	json_object_object_add(req, "version", json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	json_object_object_add(req, "args", args != NULL ? args : json_object_new_object());
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	len = strlen(text) + 1;
	if (sizeof(hdr) + len > CTL_MSG_MAX) {
		cli_fail(CTL_ERR_INVALID, "request too large (at most %d bytes)", CTL_MSG_MAX);
		goto out;
	}
	if (ctl_listener_check(cli) < 0) {
		goto out;
	}
	c = qb_ipcc_connect(cli->ipc_name, CTL_MSG_MAX);
	if (c == NULL) {
		int e = errno;

		cli_fail(e == EACCES ? CTL_ERR_DENIED : CTL_ERR_UNREACHABLE,
			 "cannot connect to quorated (IPC '%s'): %s", cli->ipc_name,
			 e == EACCES ? "permission denied (the daemon admits root, its own user "
				       "and its admin_group)"
			 : e == ECONNREFUSED || e == ENOENT ? "is the daemon running?"
							    : strerror(e));
		goto out;
	}
	if (ctl_server_check(cli, c) < 0) {
		qb_ipcc_disconnect(c);
		goto out;
	}
	buf = malloc(CTL_MSG_MAX);
	if (buf == NULL) {
		qb_ipcc_disconnect(c);
		cli_fail(CTL_ERR_FAILED, "out of memory");
		goto out;
	}
	hdr.id = CTL_MSG_REQUEST;
	hdr.size = (int32_t)(sizeof(hdr) + len);
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)text;
	iov[1].iov_len = len;
	n = qb_ipcc_sendv_recv(c, iov, 2, buf, CTL_MSG_MAX, IPC_TIMEOUT_MS);
	qb_ipcc_disconnect(c);
	if (n < 0) {
		cli_fail(CTL_ERR_UNREACHABLE, "no answer from quorated: %s", strerror((int)-n));
		goto out;
	}
	if ((size_t)n <= sizeof(struct qb_ipc_response_header) || buf[n - 1] != '\0') {
		cli_fail(CTL_ERR_FAILED, "malformed answer from quorated");
		goto out;
	}
	resp = json_tokener_parse(buf + sizeof(struct qb_ipc_response_header));
	if (resp == NULL || !json_object_object_get_ex(resp, "ok", &ok)) {
		cli_fail(CTL_ERR_FAILED, "malformed answer from quorated");
		goto out;
	}
	if (!json_object_get_boolean(ok)) {
		struct json_object *k;

		/* A daemon of before the kinds answers without one: it refused. */
		cli_fail(json_object_object_get_ex(resp, "kind", &k) ? error_kind_known(
								json_object_get_string(k))
								     : CTL_ERR_REFUSED,
			 "%s", json_object_object_get_ex(resp, "error", &v) ?
				       json_object_get_string(v) : "request failed");
		goto out;
	}
	v = NULL;
	json_object_object_get_ex(resp, "result", &v);
	*result = json_object_get(v);
	rc = 0;
out:
	free(buf);
	json_object_put(resp);
	json_object_put(req);
	return rc;
}

/* String member @key of @o; "" when it is absent or null. */
static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v != NULL ? json_object_get_string(v) : "";
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static bool jbool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* What the daemon changed in the input ("notes": iSCSI names it normalised). */
static void print_notes(struct json_object *result)
{
	struct json_object *notes;

	if (result == NULL || !json_object_object_get_ex(result, "notes", &notes) ||
	    !json_object_is_type(notes, json_type_array)) {
		return;
	}
	for (size_t i = 0; i < json_object_array_length(notes); i++) {
		printf("note: %s\n", json_object_get_string(json_object_array_get_idx(notes, i)));
	}
}

/* Run @cmd; print JSON or call @print for humans. */
static int ctl_run(struct cli *cli, const char *cmd, struct json_object *args,
		   void (*print)(struct json_object *result))
{
	struct json_object *result = NULL, *warnings;
	int rc = ctl_call(cli, cmd, args, &result);

	if (rc != 0) {
		return rc;
	}
	if (result != NULL && json_object_is_type(result, json_type_object) &&
	    json_object_object_get_ex(result, "warnings", &warnings) &&
	    json_object_is_type(warnings, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(warnings); i++) {
			fprintf(stderr, "quoratectl: warning: %s\n",
				json_object_get_string(json_object_array_get_idx(warnings, i)));
		}
	}
	if (cli->json) {
		puts(result != NULL ? json_object_to_json_string_ext(result, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE)
				    : "{}");
	} else if (print != NULL) {
		print(result);
	}
	if (!cli->json) {
		print_notes(result);
	}
	json_object_put(result);
	return fflush(stdout) == 0 ? 0 : EXIT_REFUSED;
}

static void size_human(uint64_t b, char *out, size_t cap)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned int u = 0;
	double v = (double)b;

	while (v >= KIB && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= KIB;
		u++;
	}
	snprintf(out, cap, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

/* ---- tables ------------------------------------------------------------------ */

/*
 * Every table and every "field: value" view goes through libsmartcols, so
 * columns line up whatever the width of an IQN (a Windows initiator's name
 * runs to 50 characters and more). Output is never cut to the terminal's
 * width (termforce never): a name shortened to fit would be a wrong name.
 * --raw is libsmartcols' raw mode without the heading line: fields separated
 * by one space, a space or other unsafe byte inside a field as \xHH, an
 * empty field as "-" (so every line splits into the same number of fields),
 * sizes in bytes; the text around the tables (titles, notes for humans) is
 * left out, and the tables of one command are separated by an empty line.
 * JSON never comes from here: --json prints the daemon's document as it is.
 */
struct col_def {
	const char *name;
	bool right;		/* numbers: aligned to the right */
};

static void out_of_memory(void) __attribute__((noreturn));

static void out_of_memory(void)
{
	fputs("quoratectl: out of memory\n", stderr);
	exit(EXIT_REFUSED);
}

static struct libscols_table *table_new(const struct col_def *cols, size_t n)
{
	struct libscols_table *tb = scols_new_table();

	if (tb == NULL) {
		out_of_memory();
	}
	scols_table_set_termforce(tb, SCOLS_TERMFORCE_NEVER);
	if (the_cli->raw) {
		scols_table_enable_raw(tb, 1);
		scols_table_enable_noheadings(tb, 1);
	}
	for (size_t i = 0; i < n; i++) {
		if (scols_table_new_column(tb, cols[i].name, 0, cols[i].right ? SCOLS_FL_RIGHT : 0) ==
		    NULL) {
			out_of_memory();
		}
	}
	return tb;
}

#define TABLE_NEW(cols) table_new((cols), sizeof(cols) / sizeof((cols)[0]))

static struct libscols_line *table_row(struct libscols_table *tb)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);

	if (ln == NULL) {
		out_of_memory();
	}
	return ln;
}

static void cell(struct libscols_line *ln, size_t col, const char *s)
{
	if (s == NULL || (s[0] == '\0' && the_cli->raw)) {
		s = the_cli->raw ? "-" : "";
	}
	if (scols_line_set_data(ln, col, s) < 0) {
		out_of_memory();
	}
}

static void cellf(struct libscols_line *ln, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cellf(struct libscols_line *ln, size_t col, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cell(ln, col, buf);
}

/* A size: "1.5 GiB" for humans, the number of bytes with --raw. */
static void cell_size(struct libscols_line *ln, size_t col, uint64_t bytes)
{
	char buf[32];

	if (the_cli->raw) {
		snprintf(buf, sizeof(buf), "%" PRIu64, bytes);
	} else {
		size_human(bytes, buf, sizeof(buf));
	}
	cell(ln, col, buf);
}

static void table_print(struct libscols_table *tb)
{
	scols_print_table(tb);
	scols_unref_table(tb);
}

/* Between two tables of one command: an empty line, with --raw as well. */
static void table_gap(void)
{
	putchar('\n');
}

/* Text for humans only (titles, notes, "none"); --raw leaves it out. */
static void human_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void human_text(const char *fmt, ...)
{
	va_list ap;

	if (the_cli->raw) {
		return;
	}
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* A list command's table; for humans @none instead of an empty table. */
static void list_print(struct libscols_table *tb, const char *none)
{
	if (scols_table_get_nlines(tb) == 0) {
		human_text("%s\n", none);
	}
	table_print(tb);
}

/*
 * A "field: value" view: two columns, no heading. With --raw the field is
 * named as in --json where it can be: the label without its colon, spaces
 * and dashes as '_' ("applied seq:" is applied_seq).
 */
struct kv_view {
	struct libscols_table *tb;
	char key[64];		/* the last field's raw name, for continuation rows */
};

static void kv_init(struct kv_view *v)
{
	static const struct col_def cols[] = { { "FIELD", false }, { "VALUE", false } };

	v->tb = TABLE_NEW(cols);
	scols_table_enable_noheadings(v->tb, 1);
	v->key[0] = '\0';
}

static void kv(struct kv_view *v, const char *label, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One row; @label NULL continues the previous field (a list's next item). */
static void kv(struct kv_view *v, const char *label, const char *fmt, ...)
{
	struct libscols_line *ln = table_row(v->tb);
	char value[1024];
	va_list ap;

	if (label != NULL) {
		size_t n = 0;

		for (const char *p = label; *p != '\0' && *p != ':' && n + 1 < sizeof(v->key); p++) {
			v->key[n++] = *p == ' ' || *p == '-' ? '_' : *p;
		}
		v->key[n] = '\0';
	}
	cell(ln, 0, the_cli->raw ? v->key : label != NULL ? label : "");
	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	cell(ln, 1, value);
}

static void kv_print(struct kv_view *v)
{
	table_print(v->tb);
	v->tb = NULL;
}

/* ---- printers -------------------------------------------------------------- */

static void print_applied(struct json_object *r)
{
	printf("ok (applied at seq %" PRId64 ")\n", jint(r, "seq"));
}

static void print_acl_applied(struct json_object *r)
{
	int64_t n = jint(r, "sessions_ended");

	printf("ok (applied at seq %" PRId64 ")", jint(r, "seq"));
	if (n > 0) {
		printf("; %" PRId64 " session%s no longer admitted: asked to log out, "
		       "closed if they have not within a few seconds", n, n == 1 ? "" : "s");
	}
	printf("\n");
}

/* The "members" array of status as "1 2 3" (or "none"). */
static const char *members_str(struct json_object *r, char *out, size_t cap)
{
	struct json_object *arr;
	size_t off = 0;

	out[0] = '\0';
	if (json_object_object_get_ex(r, "members", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arr) && off < cap; i++) {
			int n = snprintf(out + off, cap - off, "%s%" PRId64, i ? " " : "",
					 json_object_get_int64(json_object_array_get_idx(arr, i)));

			off += n > 0 ? (size_t)n : 0;
		}
	}
	return out[0] != '\0' ? out : "none";
}

static void print_status(struct json_object *r)
{
	struct json_object *timing = NULL;
	struct kv_view v;
	char members[512];

	kv_init(&v);
	kv(&v, "node:", "%s (id %" PRId64 ")", jstr(r, "node"), jint(r, "node_id"));
	kv(&v, "version:", "%s", jstr(r, "version"));
	kv(&v, "uptime:", "%" PRId64 " s", jint(r, "uptime_s"));
	kv(&v, "transport:", "%s", jstr(r, "transport"));
	kv(&v, "quorate:", "%s", jbool(r, "quorate") ? "yes" : "NO");
	kv(&v, "serving:", "%s", jbool(r, "serving") ? "yes" : "NO");
	kv(&v, "members:", "%s", members_str(r, members, sizeof(members)));
	if (json_object_object_get_ex(r, "timing", &timing) && timing != NULL) {
		kv(&v, "timing:", "token %" PRId64 " ms, consensus %" PRId64 " ms, qdevice %" PRId64
		   " ms: lease %" PRId64 " ms (%" PRId64 " ms with the majority reached), grace %"
		   PRId64 " ms",
		   jint(timing, "token_ms"), jint(timing, "consensus_ms"),
		   jint(timing, "qdevice_timeout_ms"), jint(timing, "lease_base_ms"),
		   jint(timing, "lease_ms"), jint(timing, "grace_ms"));
	}
	kv(&v, "epoch:", "%" PRId64, jint(r, "epoch"));
	kv(&v, "applied seq:", "%" PRId64, jint(r, "applied_seq"));
	kv(&v, "digest:", "%s", jstr(r, "digest"));
	kv(&v, "targets:", "%" PRId64, jint(r, "targets"));
	kv(&v, "luns:", "%" PRId64 " (%" PRId64 " offline)", jint(r, "luns"),
	   jint(r, "luns_offline"));
	kv(&v, "sessions:", "%" PRId64, jint(r, "sessions"));
	kv(&v, "metrics:", "%s", jstr(r, "metrics_url")[0] ? jstr(r, "metrics_url") : "off");
	kv_print(&v);
}

static void print_targets(struct json_object *r)
{
	static const struct col_def cols[] = {
		{ "TARGET", false }, { "LUNS", true },	{ "ACLS", true },  { "CHAP", false },
		{ "SESSIONS", true }, { "STATE", false }, { "ALIAS", false },
	};
	struct libscols_table *tb = TABLE_NEW(cols);

	for (size_t i = 0; i < json_object_array_length(r); i++) {
		struct json_object *t = json_object_array_get_idx(r, i);
		struct libscols_line *ln = table_row(tb);

		cell(ln, 0, jstr(t, "name"));
		cellf(ln, 1, "%" PRId64, jint(t, "luns"));
		cellf(ln, 2, "%" PRId64, jint(t, "acls"));
		cell(ln, 3, jbool(t, "chap") ? "yes" : "no");
		cellf(ln, 4, "%" PRId64, jint(t, "sessions"));
		cell(ln, 5, jbool(t, "running") ? "running" : "NOT-RUNNING");
		cell(ln, 6, jstr(t, "alias"));
	}
	list_print(tb, "no targets");
}

static void print_luns(struct json_object *r)
{
	static const struct col_def cols[] = {
		{ "TARGET", false }, { "LUN", true },	  { "BACKING", false }, { "SIZE", true },
		{ "BS", true },	     { "STATE", false },  { "SERIAL", false },	{ "PATH", false },
		{ "OPTIONS", false }, { "ALIAS", false },
	};
	struct libscols_table *tb = TABLE_NEW(cols);
	size_t n = json_object_array_length(r);

	for (size_t i = 0; i < n; i++) {
		struct json_object *l = json_object_array_get_idx(r, i);
		struct libscols_line *ln = table_row(tb);
		char opts[64];

		snprintf(opts, sizeof(opts), "%s%s%s", jbool(l, "direct") ? ",direct" : "",
			 jbool(l, "thin") ? ",thin" : "", jbool(l, "read_only") ? ",ro" : "");
		cell(ln, 0, jstr(l, "target"));
		cellf(ln, 1, "%" PRId64, jint(l, "lun"));
		cell(ln, 2, jstr(l, "backing"));
		cell_size(ln, 3, (uint64_t)jint(l, "size"));
		cellf(ln, 4, "%" PRId64, jint(l, "block_size"));
		cell(ln, 5, jbool(l, "online") ? "online" : "OFFLINE");
		cell(ln, 6, jstr(l, "serial"));
		cell(ln, 7, jstr(l, "path"));
		cell(ln, 8, opts + (opts[0] == ','));
		cell(ln, 9, jstr(l, "alias"));
	}
	list_print(tb, "no LUNs");
	for (size_t i = 0; i < n; i++) {
		struct json_object *l = json_object_array_get_idx(r, i);

		if (!jbool(l, "online")) {
			human_text("LUN %" PRId64 " of %s offline: %s\n", jint(l, "lun"),
				   jstr(l, "target"), jstr(l, "offline_reason"));
		}
	}
}

static void print_lun(struct json_object *l)
{
	struct kv_view v;
	char size[32];

	size_human((uint64_t)jint(l, "size"), size, sizeof(size));
	kv_init(&v);
	kv(&v, "target:", "%s", jstr(l, "target"));
	kv(&v, "lun:", "%" PRId64, jint(l, "lun"));
	kv(&v, "backing:", "%s", jstr(l, "backing"));
	kv(&v, "path:", "%s", jstr(l, "path"));
	if (the_cli->raw) {
		kv(&v, "size:", "%" PRId64, jint(l, "size"));
	} else {
		kv(&v, "size:", "%" PRId64 " bytes (%s)", jint(l, "size"), size);
	}
	kv(&v, "block size:", "%" PRId64, jint(l, "block_size"));
	kv(&v, "naa:", "naa.%s", jstr(l, "naa"));
	kv(&v, "uuid:", "%s", jstr(l, "uuid"));
	kv(&v, "serial:", "%s", jstr(l, "serial"));
	kv(&v, "direct:", "%s", jbool(l, "direct") ? "yes" : "no");
	kv(&v, "thin:", "%s", jbool(l, "thin") ? "yes" : "no");
	kv(&v, "read-only:", "%s", jbool(l, "read_only") ? "yes" : "no");
	kv(&v, "write cache:", "%s", jbool(l, "write_cache") ? "on" : "off");
	kv(&v, "alias:", "%s", jstr(l, "alias"));
	kv(&v, "state:", "%s on node %" PRId64 "%s", jbool(l, "online") ? "online" : "OFFLINE",
	   jint(l, "node_id"), jbool(l, "admin_offline") ? " (lun offline in force)" : "");
	if (!jbool(l, "online")) {
		kv(&v, "offline:", "%s", jstr(l, "offline_reason"));
	}
	kv_print(&v);
}

static void print_lun_created(struct json_object *r)
{
	const char *file = jstr(r, "file");

	if (strcmp(file, "created") == 0) {
		printf("created sparse backing file %s\n", jstr(r, "path"));
	} else if (strcmp(file, "grown") == 0) {
		printf("grew backing file %s from %" PRId64 " bytes\n", jstr(r, "path"),
		       jint(r, "old_size"));
	}
	printf("created LUN %" PRId64 " of %s (serial %s, naa.%s%s), seq %" PRId64 "\n",
	       jint(r, "lun"), jstr(r, "target"), jstr(r, "serial"), jstr(r, "naa"),
	       jbool(r, "direct") ? ", O_DIRECT" : "", jint(r, "seq"));
}

static void print_acls(struct json_object *r)
{
	static const struct col_def cols[] = { { "TARGET", false }, { "INITIATOR", false } };
	struct libscols_table *tb = TABLE_NEW(cols);

	for (size_t i = 0; i < json_object_array_length(r); i++) {
		struct json_object *a = json_object_array_get_idx(r, i);
		struct libscols_line *ln = table_row(tb);

		cell(ln, 0, jstr(a, "target"));
		cell(ln, 1, jstr(a, "initiator"));
	}
	list_print(tb, "no ACL entries");
}

static void print_chaps(struct json_object *r)
{
	static const struct col_def cols[] = {
		{ "TARGET", false }, { "USER", false }, { "MUTUAL USER", false },
	};
	struct libscols_table *tb = TABLE_NEW(cols);

	for (size_t i = 0; i < json_object_array_length(r); i++) {
		struct json_object *c = json_object_array_get_idx(r, i);
		struct libscols_line *ln = table_row(tb);

		cell(ln, 0, jbool(c, "discovery") ? "(discovery)" : jstr(c, "target"));
		cell(ln, 1, jstr(c, "user"));
		cell(ln, 2, jstr(c, "mutual_user"));
	}
	list_print(tb, "no CHAP users");
}

static void print_sessions(struct json_object *r)
{
	static const struct col_def cols[] = {
		{ "TSIH", true },    { "ISID", false }, { "INITIATOR", false },
		{ "TARGET", false }, { "CONNS", true }, { "PEER", false },
	};
	struct libscols_table *tb = TABLE_NEW(cols);

	for (size_t i = 0; i < json_object_array_length(r); i++) {
		struct json_object *s = json_object_array_get_idx(r, i);
		struct libscols_line *ln = table_row(tb);

		cellf(ln, 0, "%" PRId64, jint(s, "tsih"));
		cell(ln, 1, jstr(s, "isid"));
		cell(ln, 2, jstr(s, "initiator"));
		cell(ln, 3, jbool(s, "discovery") ? "(discovery)" : jstr(s, "target"));
		cellf(ln, 4, "%" PRId64, jint(s, "connections"));
		cell(ln, 5, jstr(s, "peer"));
	}
	list_print(tb, "no sessions");
}

static void print_ok(struct json_object *r)
{
	(void)r;
	puts("ok");
}

/* ---- commands --------------------------------------------------------------- */

static int run_status(struct cli *cli, int argc, char **argv)
{
	opts_parse(argc, argv, NULL, NULL, 0);
	return ctl_run(cli, "status", NULL, print_status);
}

static int run_target_create(struct cli *cli, int argc, char **argv)
{
	const char *alias = NULL;
	const struct opt_def defs[] = { { "alias", true, &alias, NULL, 0 }, { NULL, 0, 0, 0, 0 } };
	char *pos[1];
	struct json_object *args;

	if (opts_parse(argc, argv, defs, pos, 1) != 1) {
		usage_error("missing target name");
	}
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(pos[0]));
	if (alias != NULL) {
		json_object_object_add(args, "alias", json_object_new_string(alias));
	}
	return ctl_run(cli, "target.create", args, print_applied);
}

static int run_target_delete(struct cli *cli, int argc, char **argv)
{
	bool force = false;
	const struct opt_def defs[] = { { "force", false, NULL, &force, 0 }, { NULL, 0, 0, 0, 0 } };
	char *pos[1];
	struct json_object *args;

	if (opts_parse(argc, argv, defs, pos, 1) != 1) {
		usage_error("missing target name");
	}
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(pos[0]));
	json_object_object_add(args, "force", json_object_new_boolean(force));
	return ctl_run(cli, "target.delete", args, print_applied);
}

static int run_target_list(struct cli *cli, int argc, char **argv)
{
	opts_parse(argc, argv, NULL, NULL, 0);
	return ctl_run(cli, "target.list", NULL, print_targets);
}

static void print_target(struct json_object *r)
{
	static const struct col_def lun_cols[] = {
		{ "LUN", true }, { "STATE", false }, { "SIZE", true }, { "PATH", false },
		{ "ALIAS", false },
	};
	static const struct col_def session_cols[] = {
		{ "TSIH", true }, { "INITIATOR", false }, { "ISID", false }, { "PEER", false },
	};
	struct json_object *luns = NULL, *acl = NULL, *chap = NULL, *sessions = NULL;
	struct libscols_table *tb;
	struct kv_view v;
	size_t nluns, nsessions;

	json_object_object_get_ex(r, "chap", &chap);
	json_object_object_get_ex(r, "acl", &acl);
	json_object_object_get_ex(r, "luns", &luns);
	json_object_object_get_ex(r, "sessions", &sessions);
	nluns = luns != NULL ? json_object_array_length(luns) : 0;
	nsessions = sessions != NULL ? json_object_array_length(sessions) : 0;
	kv_init(&v);
	kv(&v, "target:", "%s", jstr(r, "name"));
	kv(&v, "alias:", "%s", jstr(r, "alias"));
	kv(&v, "state:", "%s on node %" PRId64, jbool(r, "running") ? "running" : "NOT RUNNING",
	   jint(r, "node_id"));
	if (chap != NULL) {
		kv(&v, "chap:", "user %s%s%s", jstr(chap, "user"),
		   jstr(chap, "mutual_user")[0] ? ", mutual user " : "", jstr(chap, "mutual_user"));
	} else {
		kv(&v, "chap:", "none");
	}
	if (acl == NULL || json_object_array_length(acl) == 0) {
		kv(&v, "acl:", "%s", the_cli->raw ? "" : "none (every initiator may log in)");
	}
	for (size_t i = 0; acl != NULL && i < json_object_array_length(acl); i++) {
		kv(&v, i == 0 ? "acl:" : NULL, "%s",
		   json_object_get_string(json_object_array_get_idx(acl, i)));
	}
	kv(&v, "luns:", "%zu", nluns);
	kv(&v, "sessions:", "%zu", nsessions);
	kv_print(&v);

	tb = TABLE_NEW(lun_cols);
	for (size_t i = 0; i < nluns; i++) {
		struct json_object *l = json_object_array_get_idx(luns, i);
		struct libscols_line *ln = table_row(tb);

		cellf(ln, 0, "%" PRId64, jint(l, "lun"));
		cell(ln, 1, jbool(l, "online") ? "online" : "OFFLINE");
		cell_size(ln, 2, (uint64_t)jint(l, "size"));
		cell(ln, 3, jstr(l, "path"));
		cell(ln, 4, jstr(l, "alias"));
	}
	if (nluns > 0 || the_cli->raw) {
		table_gap();
	}
	table_print(tb);

	tb = TABLE_NEW(session_cols);
	for (size_t i = 0; i < nsessions; i++) {
		struct json_object *x = json_object_array_get_idx(sessions, i);
		struct libscols_line *ln = table_row(tb);

		cellf(ln, 0, "%" PRId64, jint(x, "tsih"));
		cell(ln, 1, jstr(x, "initiator"));
		cell(ln, 2, jstr(x, "isid"));
		cell(ln, 3, jstr(x, "peer"));
	}
	if (nsessions > 0 || the_cli->raw) {
		table_gap();
	}
	table_print(tb);
}

static int run_target_show(struct cli *cli, int argc, char **argv)
{
	char *pos[1];
	struct json_object *args;

	if (opts_parse(argc, argv, NULL, pos, 1) != 1) {
		usage_error("missing target name");
	}
	args = json_object_new_object();
	json_object_object_add(args, "target", json_object_new_string(pos[0]));
	return ctl_run(cli, "target.show", args, print_target);
}

static void print_target_set(struct json_object *r)
{
	if (!jbool(r, "changed")) {
		printf("%s already has that alias; nothing changed\n", jstr(r, "name"));
		return;
	}
	printf("alias of %s is now '%s' (applied at seq %" PRId64 ")\n", jstr(r, "name"),
	       jstr(r, "alias"), jint(r, "seq"));
}

static int run_target_set(struct cli *cli, int argc, char **argv)
{
	const char *alias = NULL;
	const struct opt_def defs[] = { { "alias", true, &alias, NULL, 0 }, { NULL, 0, 0, 0, 0 } };
	char *pos[1];
	struct json_object *args;

	if (opts_parse(argc, argv, defs, pos, 1) != 1) {
		usage_error("missing target name");
	}
	if (alias == NULL) {
		usage_error("--alias is required (\"\" removes the alias)");
	}
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(pos[0]));
	json_object_object_add(args, "alias", json_object_new_string(alias));
	return ctl_run(cli, "target.set", args, print_target_set);
}

static int run_lun_create(struct cli *cli, int argc, char **argv)
{
	const char *lun = NULL, *backing = NULL, *path = NULL, *size = NULL, *bs = NULL;
	const char *alias = NULL, *wc = NULL, *uuid = NULL, *naa = NULL, *serial = NULL;
	bool direct = false, no_direct = false, thin = false, ro = false, grow = false;
	uint8_t id[LUN_ID_BYTES];
	const struct opt_def defs[] = {
		{ "lun", true, &lun, NULL, 0 },	   { "backing", true, &backing, NULL, 0 },
		{ "path", true, &path, NULL, 0 },	   { "size", true, &size, NULL, 0 },
		{ "block-size", true, &bs, NULL, 0 }, { "direct", false, NULL, &direct, 0 },
		{ "thin", false, NULL, &thin, 0 },	   { "read-only", false, NULL, &ro, 0 },
		{ "grow", false, NULL, &grow, 0 },	   { "alias", true, &alias, NULL, 0 },
		{ "write-cache", true, &wc, NULL, 0 }, { "uuid", true, &uuid, NULL, 0 },
		{ "naa", true, &naa, NULL, 0 },	   { "serial", true, &serial, NULL, 0 },
		{ "no-direct", false, NULL, &no_direct, 0 },
		{ NULL, 0, 0, 0, 0 },
	};
	char *pos[1];
	struct json_object *args;
	uint64_t v;

	if (opts_parse(argc, argv, defs, pos, 1) != 1) {
		usage_error("missing target name");
	}
	if (direct && no_direct) {
		usage_error("--direct and --no-direct contradict each other");
	}
	args = json_object_new_object();
	json_object_object_add(args, "target", json_object_new_string(pos[0]));
	if (lun != NULL) {
		if (parse_uint(lun, LUN_ID_MAX, &v) < 0) {
			usage_error("--lun: '%s' is not a LUN number (0..%u)", lun, LUN_ID_MAX);
		}
		json_object_object_add(args, "lun", json_object_new_int64((int64_t)v));
	}
	if (backing != NULL) {
		if (!lun_backing_kind_valid(backing)) {
			usage_error("--backing must be '%s' or '%s'", LUN_BACKING_FILE,
				    LUN_BACKING_NULL);
		}
		json_object_object_add(args, "backing", json_object_new_string(backing));
	}
	if (path != NULL) {
		char *abs = realpath(path, NULL);

		/* The daemon runs in '/': send an absolute path. */
		if (abs == NULL && path[0] != '/') {
			char cwd[4096];

			if (getcwd(cwd, sizeof(cwd)) == NULL) {
				usage_error("--path: cannot resolve '%s'", path);
			}
			json_object_object_add(args, "path", json_object_new_string(
				(snprintf(cwd + strlen(cwd), sizeof(cwd) - strlen(cwd), "/%s",
					  path), cwd)));
		} else {
			json_object_object_add(args, "path",
					       json_object_new_string(abs != NULL ? abs : path));
		}
		free(abs);
	}
	if (size != NULL) {
		if (parse_size(size, &v) < 0) {
			usage_error("--size: '%s' is not a size (bytes, or with K/M/G/T)", size);
		}
		json_object_object_add(args, "size", json_object_new_int64((int64_t)v));
	}
	if (bs != NULL) {
		if (parse_uint(bs, UINT32_MAX, &v) < 0 || !lun_block_size_valid(v)) {
			usage_error("--block-size must be %u or %u", LUN_BLOCK_SIZE_512,
				    LUN_BLOCK_SIZE_4096);
		}
		json_object_object_add(args, "block_size", json_object_new_int64((int64_t)v));
	}
	/* Neither: the daemon's default (O_DIRECT in cluster mode, else not). */
	if (direct || no_direct) {
		json_object_object_add(args, "direct", json_object_new_boolean(direct));
	}
	json_object_object_add(args, "thin", json_object_new_boolean(thin));
	json_object_object_add(args, "read_only", json_object_new_boolean(ro));
	json_object_object_add(args, "grow", json_object_new_boolean(grow));
	if (alias != NULL) {
		json_object_object_add(args, "alias", json_object_new_string(alias));
	}
	if (wc != NULL) {
		json_object_object_add(args, "write_cache",
				       json_object_new_boolean(parse_on_off("write-cache", wc)));
	}
	/* The daemon checks these again; here a malformed one is a usage error. */
	if (uuid != NULL) {
		if (!lun_uuid_parse(uuid, id)) {
			usage_error("--uuid: '%s' is not a UUID (32 hex digits, as 8-4-4-4-12 or "
				    "without dashes)", uuid);
		}
		json_object_object_add(args, "uuid", json_object_new_string(uuid));
	}
	if (naa != NULL) {
		if (!lun_naa_parse(naa, id)) {
			usage_error("--naa: '%s' is not an NAA-6 designator (32 hex digits starting "
				    "with 6, optionally after 'naa.')", naa);
		}
		json_object_object_add(args, "naa", json_object_new_string(naa));
	}
	if (serial != NULL) {
		if (!lun_serial_valid(serial)) {
			usage_error("--serial: '%s' is not a unit serial number (1 to %d printable "
				    "ASCII characters, no spaces)", serial, LUN_SERIAL_MAX);
		}
		json_object_object_add(args, "serial", json_object_new_string(serial));
	}
	return ctl_run(cli, "lun.create", args, print_lun_created);
}

/* TARGET LUN (the positional arguments opts_parse() found) as request args. */
static struct json_object *lu_args(int npos, char **pos)
{
	struct json_object *args;
	uint64_t v;

	if (npos != 2) {
		usage_error("need a target name and a LUN number");
	}
	if (parse_uint(pos[1], LUN_ID_MAX, &v) < 0) {
		usage_error("'%s' is not a LUN number (0..%u)", pos[1], LUN_ID_MAX);
	}
	args = json_object_new_object();
	json_object_object_add(args, "target", json_object_new_string(pos[0]));
	json_object_object_add(args, "lun", json_object_new_int64((int64_t)v));
	return args;
}

/* A command whose arguments are TARGET LUN. */
static int run_lu_command(struct cli *cli, int argc, char **argv, const char *cmd,
			  void (*print)(struct json_object *))
{
	char *pos[2];

	return ctl_run(cli, cmd, lu_args(opts_parse(argc, argv, NULL, pos, 2), pos), print);
}

static int run_lun_delete(struct cli *cli, int argc, char **argv)
{
	return run_lu_command(cli, argc, argv, "lun.delete", print_applied);
}

static int run_list_filtered(struct cli *cli, int argc, char **argv, const char *cmd,
			     void (*print)(struct json_object *))
{
	char *pos[1];
	struct json_object *args = json_object_new_object();

	if (opts_parse(argc, argv, NULL, pos, 1) == 1) {
		json_object_object_add(args, "target", json_object_new_string(pos[0]));
	}
	return ctl_run(cli, cmd, args, print);
}

static int run_lun_list(struct cli *cli, int argc, char **argv)
{
	return run_list_filtered(cli, argc, argv, "lun.list", print_luns);
}

static int run_lun_show(struct cli *cli, int argc, char **argv)
{
	return run_lu_command(cli, argc, argv, "lun.show", print_lun);
}

static int run_lun_offline(struct cli *cli, int argc, char **argv)
{
	return run_lu_command(cli, argc, argv, "lun.offline", print_applied);
}

static int run_lun_online(struct cli *cli, int argc, char **argv)
{
	return run_lu_command(cli, argc, argv, "lun.online", print_applied);
}

static void print_lun_resized(struct json_object *r)
{
	char size[32], old[32];

	size_human((uint64_t)jint(r, "size"), size, sizeof(size));
	size_human((uint64_t)jint(r, "old_size"), old, sizeof(old));
	if (!jbool(r, "changed")) {
		printf("LUN %" PRId64 " of %s is already %" PRId64 " bytes (%s); nothing changed\n",
		       jint(r, "lun"), jstr(r, "target"), jint(r, "size"), size);
		return;
	}
	if (strcmp(jstr(r, "file"), "grown") == 0) {
		printf("grew backing file %s from %" PRId64 " bytes\n", jstr(r, "path"),
		       jint(r, "old_file_size"));
	}
	printf("resized LUN %" PRId64 " of %s from %s to %s (%" PRId64 " bytes), seq %" PRId64 "\n",
	       jint(r, "lun"), jstr(r, "target"), old, size, jint(r, "size"), jint(r, "seq"));
}

static int run_lun_resize(struct cli *cli, int argc, char **argv)
{
	const char *size = NULL;
	bool force = false;
	const struct opt_def defs[] = { { "size", true, &size, NULL, 0 },
					{ "force", false, NULL, &force, 0 },
					{ NULL, 0, 0, 0, 0 } };
	char *pos[2];
	struct json_object *args = lu_args(opts_parse(argc, argv, defs, pos, 2), pos);
	uint64_t v;

	if (size == NULL) {
		json_object_put(args);
		usage_error("--size is required");
	}
	if (parse_size(size, &v) < 0) {
		json_object_put(args);
		usage_error("--size: '%s' is not a size (bytes, or with K/M/G/T)", size);
	}
	json_object_object_add(args, "size", json_object_new_int64((int64_t)v));
	json_object_object_add(args, "force", json_object_new_boolean(force));
	return ctl_run(cli, "lun.resize", args, print_lun_resized);
}

static void print_lun_set(struct json_object *r)
{
	struct json_object *changed = NULL;
	size_t n;

	json_object_object_get_ex(r, "changed", &changed);
	n = changed != NULL ? json_object_array_length(changed) : 0;
	if (n == 0) {
		printf("LUN %" PRId64 " of %s already has those settings; nothing changed\n",
		       jint(r, "lun"), jstr(r, "target"));
		return;
	}
	printf("changed");
	for (size_t i = 0; i < n; i++) {
		printf("%s %s", i ? "," : "",
		       json_object_get_string(json_object_array_get_idx(changed, i)));
	}
	printf(" of LUN %" PRId64 " of %s (applied at seq %" PRId64 ")\n", jint(r, "lun"),
	       jstr(r, "target"), jint(r, "seq"));
}

static int run_lun_set(struct cli *cli, int argc, char **argv)
{
	const char *alias = NULL, *ro = NULL, *wc = NULL;
	const struct opt_def defs[] = { { "alias", true, &alias, NULL, 0 },
					{ "read-only", true, &ro, NULL, 0 },
					{ "write-cache", true, &wc, NULL, 0 },
					{ NULL, 0, 0, 0, 0 } };
	char *pos[2];
	struct json_object *args = lu_args(opts_parse(argc, argv, defs, pos, 2), pos);

	if (alias == NULL && ro == NULL && wc == NULL) {
		json_object_put(args);
		usage_error("give at least one of --alias, --read-only, --write-cache");
	}
	if (alias != NULL) {
		json_object_object_add(args, "alias", json_object_new_string(alias));
	}
	if (ro != NULL) {
		json_object_object_add(args, "read_only",
				       json_object_new_boolean(parse_on_off("read-only", ro)));
	}
	if (wc != NULL) {
		json_object_object_add(args, "write_cache",
				       json_object_new_boolean(parse_on_off("write-cache", wc)));
	}
	return ctl_run(cli, "lun.set", args, print_lun_set);
}

static int run_acl_change(struct cli *cli, int argc, char **argv, const char *cmd)
{
	char *pos[2];
	struct json_object *args;

	if (opts_parse(argc, argv, NULL, pos, 2) != 2) {
		usage_error("need a target name and an initiator name");
	}
	args = json_object_new_object();
	json_object_object_add(args, "target", json_object_new_string(pos[0]));
	json_object_object_add(args, "initiator", json_object_new_string(pos[1]));
	return ctl_run(cli, cmd, args, print_acl_applied);
}

static int run_acl_add(struct cli *cli, int argc, char **argv)
{
	return run_acl_change(cli, argc, argv, "acl.add");
}

static int run_acl_remove(struct cli *cli, int argc, char **argv)
{
	return run_acl_change(cli, argc, argv, "acl.remove");
}

static int run_acl_list(struct cli *cli, int argc, char **argv)
{
	return run_list_filtered(cli, argc, argv, "acl.list", print_acls);
}

/* Read one secret (first line, without its newline) from @f. */
static int secret_read(FILE *f, char *out, size_t cap, const char *what)
{
	size_t len;

	if (fgets(out, (int)cap, f) == NULL) {
		cli_fail(CTL_ERR_INVALID, "no %s given", what);
		return -EINVAL;
	}
	len = strcspn(out, "\r\n");
	if (out[len] == '\0' && !feof(f) && len == cap - 1) {
		cli_fail(CTL_ERR_INVALID, "%s longer than %d bytes", what, SECRET_MAX);
		return -EINVAL;
	}
	out[len] = '\0';
	if (len == 0) {
		cli_fail(CTL_ERR_INVALID, "empty %s", what);
		return -EINVAL;
	}
	return 0;
}

static struct termios tty_saved;

/* A signal while echo is off must not leave the terminal mute. */
static void tty_restore_and_raise(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Prompt on the terminal and read one line with echo off. */
static int secret_prompt(const char *prompt, char *out, size_t cap, const char *what)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
	struct sigaction sa = { .sa_handler = tty_restore_and_raise }, old[5];
	struct termios quiet;
	int rc;

	if (tcgetattr(STDIN_FILENO, &tty_saved) < 0) {
		cli_fail(CTL_ERR_FAILED, "reading the terminal settings: %s", strerror(errno));
		return -errno;
	}
	quiet = tty_saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, &old[i]);
	}
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0) {
		rc = -errno;
		cli_fail(CTL_ERR_FAILED, "turning terminal echo off: %s", strerror(errno));
	} else {
		fputs(prompt, stderr);
		fflush(stderr);
		rc = secret_read(stdin, out, cap, what);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
		/* The user's Enter was not echoed either. */
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &old[i], NULL);
	}
	return rc;
}

/* On a terminal: ask twice, with echo off; the two answers must match. */
static int secret_ask(char *out, size_t cap, const char *what)
{
	char again[SECRET_MAX + 2], prompt[64];
	int rc;

	snprintf(prompt, sizeof(prompt), "%s: ", what);
	rc = secret_prompt(prompt, out, cap, what);
	if (rc < 0) {
		return rc;
	}
	snprintf(prompt, sizeof(prompt), "Retype %s: ", what);
	rc = secret_prompt(prompt, again, sizeof(again), what);
	if (rc == 0 && strcmp(out, again) != 0) {
		cli_fail(CTL_ERR_INVALID, "the two %ss do not match; nothing changed", what);
		rc = -EINVAL;
	}
	explicit_bzero(again, sizeof(again));
	if (rc < 0) {
		explicit_bzero(out, cap);
	}
	return rc;
}

static int secret_from(const char *file, const char *argv_value, char *out, size_t cap,
		       const char *what)
{
	FILE *f;
	int rc;

	if (argv_value != NULL) {
		if (strlen(argv_value) > SECRET_MAX) {
			cli_fail(CTL_ERR_INVALID, "%s longer than %d bytes", what, SECRET_MAX);
			return -EINVAL;
		}
		snprintf(out, cap, "%s", argv_value);
		return 0;
	}
	if (file == NULL || strcmp(file, "-") == 0) {
		if (isatty(STDIN_FILENO)) {
			return secret_ask(out, cap, what);
		}
		return secret_read(stdin, out, cap, what);
	}
	f = fopen(file, "re");
	if (f == NULL) {
		cli_fail(ctl_err_kind(-errno), "%s: %s", file, strerror(errno));
		return -errno;
	}
	rc = secret_read(f, out, cap, what);
	fclose(f);
	return rc;
}

static int chap_target_args(struct json_object *args, int npos, char **pos, bool discovery)
{
	if (discovery == (npos == 1)) {
		usage_error("give either a target name or --discovery");
	}
	if (discovery) {
		json_object_object_add(args, "discovery", json_object_new_boolean(1));
	} else {
		json_object_object_add(args, "target", json_object_new_string(pos[0]));
	}
	return 0;
}

static int run_chap_set(struct cli *cli, int argc, char **argv)
{
	const char *user = NULL, *secret_file = NULL, *secret = NULL;
	const char *muser = NULL, *msecret_file = NULL, *msecret = NULL;
	bool discovery = false, force = false;
	const struct opt_def defs[] = {
		{ "discovery", false, NULL, &discovery, 0 },
		{ "force", false, NULL, &force, 0 },
		{ "user", true, &user, NULL, 0 },
		{ "secret-file", true, &secret_file, NULL, 0 },
		{ "secret", true, &secret, NULL, 0 },
		{ "mutual-user", true, &muser, NULL, 0 },
		{ "mutual-secret-file", true, &msecret_file, NULL, 0 },
		{ "mutual-secret", true, &msecret, NULL, 0 },
		{ NULL, 0, 0, 0, 0 },
	};
	char *pos[1];
	char sec[SECRET_MAX + 2], msec[SECRET_MAX + 2];
	struct json_object *args = json_object_new_object();
	int npos, rc;

	npos = opts_parse(argc, argv, defs, pos, 1);
	chap_target_args(args, npos, pos, discovery);
	if (user == NULL) {
		usage_error("--user is required");
	}
	if (muser == NULL && (msecret != NULL || msecret_file != NULL)) {
		usage_error("a mutual secret needs --mutual-user");
	}
	/* Two secrets from one pipe cannot be told apart; a terminal asks for each. */
	if (muser != NULL && msecret == NULL && msecret_file == NULL &&
	    (secret_file == NULL || strcmp(secret_file, "-") == 0) && secret == NULL &&
	    !isatty(STDIN_FILENO)) {
		usage_error("with --mutual-user, give the secrets through files or --secret");
	}
	json_object_object_add(args, "user", json_object_new_string(user));
	json_object_object_add(args, "force", json_object_new_boolean(force));
	if (secret_from(secret_file, secret, sec, sizeof(sec), "CHAP secret") < 0) {
		json_object_put(args);
		return EXIT_REFUSED;
	}
	json_object_object_add(args, "secret", json_object_new_string(sec));
	if (muser != NULL) {
		if (secret_from(msecret_file, msecret, msec, sizeof(msec),
				"mutual CHAP secret") < 0) {
			explicit_bzero(sec, sizeof(sec));
			json_object_put(args);
			return EXIT_REFUSED;
		}
		json_object_object_add(args, "mutual_user", json_object_new_string(muser));
		json_object_object_add(args, "mutual_secret", json_object_new_string(msec));
	}
	explicit_bzero(sec, sizeof(sec));
	explicit_bzero(msec, sizeof(msec));
	rc = ctl_run(cli, "chap.set", args, print_applied);
	return rc;
}

static int run_chap_clear(struct cli *cli, int argc, char **argv)
{
	bool discovery = false;
	const struct opt_def defs[] = { { "discovery", false, NULL, &discovery, 0 },
					{ NULL, 0, 0, 0, 0 } };
	char *pos[1];
	struct json_object *args = json_object_new_object();

	chap_target_args(args, opts_parse(argc, argv, defs, pos, 1), pos, discovery);
	return ctl_run(cli, "chap.clear", args, print_applied);
}

static int run_chap_list(struct cli *cli, int argc, char **argv)
{
	opts_parse(argc, argv, NULL, NULL, 0);
	return ctl_run(cli, "chap.list", NULL, print_chaps);
}

static int run_session_list(struct cli *cli, int argc, char **argv)
{
	opts_parse(argc, argv, NULL, NULL, 0);
	return ctl_run(cli, "session.list", NULL, print_sessions);
}

static int run_session_close(struct cli *cli, int argc, char **argv)
{
	char *pos[1];
	struct json_object *args;
	uint64_t v;

	if (opts_parse(argc, argv, NULL, pos, 1) != 1 || parse_uint(pos[0], UINT16_MAX, &v) < 0) {
		usage_error("need the session's TSIH (see 'session list')");
	}
	args = json_object_new_object();
	json_object_object_add(args, "tsih", json_object_new_int64((int64_t)v));
	return ctl_run(cli, "session.close", args, print_ok);
}

static void print_session_detail(struct json_object *r)
{
	static const char *const keys[] = {
		"HeaderDigest", "DataDigest", "MaxBurstLength", "FirstBurstLength", "InitialR2T",
		"ImmediateData", "MaxOutstandingR2T", "MaxConnections", "DefaultTime2Wait",
		"DefaultTime2Retain", "ErrorRecoveryLevel", "DataPDUInOrder", "DataSequenceInOrder",
	};
	size_t n = json_object_array_length(r);

	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(r, i), *auth = NULL, *k = NULL;
		struct json_object *mrdsl = NULL;
		time_t when = (time_t)jint(s, "login_time");
		char stamp[64] = "?", label[64];
		struct kv_view v;
		struct tm tm;

		if (localtime_r(&when, &tm) != NULL) {
			strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S %z", &tm);
		}
		json_object_object_get_ex(s, "auth", &auth);
		json_object_object_get_ex(s, "keys", &k);
		if (i > 0) {
			table_gap();
		}
		kv_init(&v);
		kv(&v, "tsih:", "%" PRId64, jint(s, "tsih"));
		kv(&v, "node:", "%" PRId64, jint(s, "node_id"));
		kv(&v, "logout requested:", "%s", jbool(s, "logout_requested") ? "yes" : "no");
		kv(&v, "initiator:", "%s", jstr(s, "initiator"));
		kv(&v, "initiator alias:", "%s", jstr(s, "initiator_alias"));
		kv(&v, "isid:", "%s", jstr(s, "isid"));
		kv(&v, "target:", "%s", jbool(s, "discovery") ? "(discovery)" : jstr(s, "target"));
		kv(&v, "peer:", "%s", jstr(s, "peer"));
		kv(&v, "portal:", "%s", jstr(s, "portal"));
		kv(&v, "logged in:", "%s", stamp);
		kv(&v, "auth:", "%s", jstr(auth, "method"));
		if (strcmp(jstr(auth, "method"), "CHAP") == 0) {
			kv(&v, "chap user:", "%s%s", jstr(auth, "user"),
			   jbool(auth, "mutual") ? " (mutual)" : "");
		}
		kv(&v, "commands active:", "%" PRId64, jint(s, "commands_active"));
		kv(&v, "connections:", "%" PRId64, jint(s, "connections"));
		if (k != NULL && json_object_object_get_ex(k, "MaxRecvDataSegmentLength", &mrdsl)) {
			kv(&v, "MaxRecvDataSegmentLength:", "target %" PRId64 ", initiator %" PRId64,
			   jint(mrdsl, "target"), jint(mrdsl, "initiator"));
		}
		for (size_t j = 0; k != NULL && j < sizeof(keys) / sizeof(keys[0]); j++) {
			if (json_object_object_get_ex(k, keys[j], NULL)) {
				snprintf(label, sizeof(label), "%s:", keys[j]);
				kv(&v, label, "%s", jstr(k, keys[j]));
			}
		}
		kv_print(&v);
	}
}

static int run_session_show(struct cli *cli, int argc, char **argv)
{
	char *pos[1];
	struct json_object *args = json_object_new_object();
	uint64_t v;

	if (opts_parse(argc, argv, NULL, pos, 1) == 1) {
		if (parse_uint(pos[0], UINT16_MAX, &v) < 0) {
			usage_error("'%s' is not a TSIH (see 'session list')", pos[0]);
		}
		json_object_object_add(args, "tsih", json_object_new_int64((int64_t)v));
	}
	return ctl_run(cli, "session.show", args, print_session_detail);
}

static void print_logout(struct json_object *r)
{
	struct json_object *t = NULL;

	json_object_object_get_ex(r, "sessions", &t);
	printf("asked %zu session(s) to log out within %" PRId64 " s (TSIH",
	       t != NULL ? json_object_array_length(t) : 0, jint(r, "wait_s"));
	for (size_t i = 0; t != NULL && i < json_object_array_length(t); i++) {
		printf(" %s", json_object_get_string(json_object_array_get_idx(t, i)));
	}
	printf("); those still logged in then are closed\n");
}

static int run_session_logout(struct cli *cli, int argc, char **argv)
{
	const char *initiator = NULL, *target = NULL, *wait = NULL;
	const struct opt_def defs[] = { { "initiator", true, &initiator, NULL, 0 },
					{ "target", true, &target, NULL, 0 },
					{ "wait", true, &wait, NULL, 0 },
					{ NULL, 0, 0, 0, 0 } };
	struct json_object *args = json_object_new_object();
	char *pos[1];
	int npos = opts_parse(argc, argv, defs, pos, 1);
	uint64_t v;

	if (npos + (initiator != NULL) + (target != NULL) != 1) {
		usage_error("give one of TSIH, --initiator NAME or --target IQN");
	}
	if (npos == 1) {
		if (parse_uint(pos[0], UINT16_MAX, &v) < 0) {
			usage_error("'%s' is not a TSIH (see 'session list')", pos[0]);
		}
		json_object_object_add(args, "tsih", json_object_new_int64((int64_t)v));
	}
	if (initiator != NULL) {
		json_object_object_add(args, "initiator", json_object_new_string(initiator));
	}
	if (target != NULL) {
		json_object_object_add(args, "target", json_object_new_string(target));
	}
	if (wait != NULL) {
		if (parse_uint(wait, 3600, &v) < 0 || v == 0) {
			usage_error("--wait takes 1 to 3600 seconds");
		}
		json_object_object_add(args, "wait", json_object_new_int64((int64_t)v));
	}
	return ctl_run(cli, "session.logout", args, print_logout);
}

/* ---- persistent reservations ------------------------------------------------------ */

static void print_pr(struct json_object *r)
{
	static const struct col_def cols[] = {
		{ "KEY", false },  { "INITIATOR PORT", false }, { "TARGET PORT", false },
		{ "RPORT", true }, { "NODE", true },		{ "HOLDER", false },
	};
	struct json_object *regs = NULL, *resv = NULL, *spc2 = NULL, *v;
	struct libscols_table *tb;
	struct kv_view view;
	size_t nregs;

	json_object_object_get_ex(r, "reservation", &resv);
	json_object_object_get_ex(r, "registrants", &regs);
	nregs = regs != NULL ? json_object_array_length(regs) : 0;
	kv_init(&view);
	kv(&view, "target:", "%s", jstr(r, "target"));
	kv(&view, "lun:", "%" PRId64, jint(r, "lun"));
	kv(&view, "generation:", "%" PRId64, jint(r, "generation"));
	kv(&view, "aptpl:", "%s", jbool(r, "aptpl") ? "yes" : "no");
	if (resv == NULL) {
		kv(&view, "reservation:", "none");
	} else if (jbool(resv, "all_registrants")) {
		kv(&view, "reservation:", "%s, held by every registrant", jstr(resv, "type"));
	} else {
		kv(&view, "reservation:", "%s, held by %s (relative port %" PRId64 ")",
		   jstr(resv, "type"), jstr(resv, "holder"), jint(resv, "holder_relative_port"));
	}
	if (json_object_object_get_ex(r, "spc2_reservation", &spc2) && spc2 != NULL) {
		kv(&view, "spc2 reservation:", "held by %s (relative port %" PRId64 ")",
		   jstr(spc2, "initiator_port"), jint(spc2, "relative_port"));
	}
	kv(&view, "registrants:", "%zu", nregs);
	kv_print(&view);

	tb = TABLE_NEW(cols);
	for (size_t i = 0; i < nregs; i++) {
		struct json_object *g = json_object_array_get_idx(regs, i);
		struct libscols_line *ln = table_row(tb);
		uint64_t key = 0;

		if (json_object_object_get_ex(g, "key", &v)) {
			key = json_object_get_uint64(v);
		}
		cellf(ln, 0, "0x%016" PRIx64, key);
		cell(ln, 1, jstr(g, "initiator_port"));
		/* "-" where ALL_TG_PT leaves a port or node null. */
		cell(ln, 2, jbool(g, "all_tg_pt") ? "(all target ports)"
			    : json_object_object_get_ex(g, "target_port", &v) && v != NULL
				    ? json_object_get_string(v) : "-");
		cell(ln, 3, json_object_object_get_ex(g, "relative_port", &v) && v != NULL
			    ? json_object_get_string(v) : "-");
		cell(ln, 4, json_object_object_get_ex(g, "node", &v) && v != NULL
			    ? json_object_get_string(v) : "-");
		cell(ln, 5, jbool(g, "holder") ? "yes" : "no");
	}
	if (nregs > 0 || the_cli->raw) {
		table_gap();
	}
	table_print(tb);
}

static void print_pr_cleared(struct json_object *r)
{
	printf("cleared the reservations of %s LUN %" PRId64 ": %" PRId64
	       " registration(s) removed (applied at seq %" PRId64 ")\n",
	       jstr(r, "target"), jint(r, "lun"), jint(r, "registrations_removed"),
	       jint(r, "seq"));
}

static int run_pr_show(struct cli *cli, int argc, char **argv)
{
	return run_lu_command(cli, argc, argv, "pr.show", print_pr);
}

static int run_pr_clear(struct cli *cli, int argc, char **argv)
{
	bool force = false;
	const struct opt_def defs[] = { { "force", false, NULL, &force, 0 }, { NULL, 0, 0, 0, 0 } };
	char *pos[2];
	struct json_object *args = lu_args(opts_parse(argc, argv, defs, pos, 2), pos);

	if (!force) {
		json_object_put(args);
		usage_error("pr clear removes every registration and the reservation of the LUN,\n"
			    "whoever holds them; the initiators get a unit attention and must\n"
			    "register again. Meant for a holder that is gone for good (a dead\n"
			    "node or initiator): add --force to do it");
	}
	json_object_object_add(args, "force", json_object_new_boolean(true));
	return ctl_run(cli, "pr.clear", args, print_pr_cleared);
}

static void print_cluster_status(struct json_object *r)
{
	static const struct col_def cols[] = {
		{ "NODE", true },     { "NAME", false },	 { "MEMBER", false },
		{ "SERVING", false }, { "DIVERGED", false },	 { "EPOCH", true },
		{ "APPLIED SEQ", true }, { "DIGEST", false }, { "PORTALS", false },
	};
	struct json_object *nodes = NULL;
	struct libscols_table *tb;
	struct kv_view v;
	size_t n;

	json_object_object_get_ex(r, "nodes", &nodes);
	n = nodes != NULL ? json_object_array_length(nodes) : 0;
	kv_init(&v);
	kv(&v, "transport:", "%s", jstr(r, "transport"));
	kv(&v, "node id:", "%" PRId64, jint(r, "node_id"));
	kv(&v, "quorate:", "%s", jbool(r, "quorate") ? "yes" : "NO");
	kv_print(&v);
	table_gap();
	tb = TABLE_NEW(cols);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(nodes, i), *portals = NULL;
		struct libscols_line *ln = table_row(tb);
		char list[1024] = "";
		size_t off = 0;

		json_object_object_get_ex(e, "portals", &portals);
		for (size_t k = 0; portals != NULL && k < json_object_array_length(portals); k++) {
			int w = snprintf(list + off, sizeof(list) - off, "%s%s", k ? "," : "",
					 json_object_get_string(json_object_array_get_idx(portals, k)));

			off = w > 0 && off + (size_t)w < sizeof(list) ? off + (size_t)w : off;
		}
		cellf(ln, 0, "%s%" PRId64, jbool(e, "self") && !the_cli->raw ? "*" : "",
		      jint(e, "node_id"));
		cell(ln, 1, jstr(e, "name")[0] ? jstr(e, "name") : "-");
		cell(ln, 2, jbool(e, "member") ? "yes" : "NO");
		cell(ln, 3, jbool(e, "serving") ? "yes" : "NO");
		cell(ln, 4, jbool(e, "diverged") ? "YES" : "no");
		cellf(ln, 5, "%" PRId64, jint(e, "epoch"));
		cellf(ln, 6, "%" PRId64, jint(e, "applied_seq"));
		/* Humans get the first 16 hex digits; --raw and --json all of them. */
		cellf(ln, 7, "%.*s", the_cli->raw ? 128 : 16, jstr(e, "digest"));
		cell(ln, 8, list[0] != '\0' ? list : "-");
	}
	table_print(tb);
	human_text("(* this node; digest: first 16 hex digits, all of them with --json or --raw)\n");
}

static int run_cluster_status(struct cli *cli, int argc, char **argv)
{
	opts_parse(argc, argv, NULL, NULL, 0);
	return ctl_run(cli, "cluster.status", NULL, print_cluster_status);
}

/* ---- statistics ------------------------------------------------------------------ */

static uint64_t ju64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

/* Sum of every sense key's count in "errors". */
static uint64_t stats_errors(struct json_object *o)
{
	struct json_object *errs;
	uint64_t n = 0;

	if (json_object_object_get_ex(o, "errors", &errs)) {
		json_object_object_foreach(errs, key, val)
		{
			(void)key;
			n += json_object_get_uint64(val);
		}
	}
	return n;
}

/* Mean and 99th percentile (the bound of its bucket) of "latency", as text. */
static void stats_latency(struct json_object *o, char *mean, char *p99, size_t cap)
{
	struct json_object *lat = NULL, *buckets = NULL;
	uint64_t count, seen = 0;

	json_object_object_get_ex(o, "latency", &lat);
	count = lat != NULL ? ju64(lat, "count") : 0;
	snprintf(mean, cap, "-");
	snprintf(p99, cap, "-");
	if (count == 0 || !json_object_object_get_ex(lat, "buckets", &buckets)) {
		return;
	}
	snprintf(mean, cap, "%.1f us", (double)ju64(lat, "sum_ns") / (double)count / 1000.0);
	for (size_t i = 0; i < json_object_array_length(buckets); i++) {
		struct json_object *b = json_object_array_get_idx(buckets, i), *le = NULL;

		seen += ju64(b, "count");
		if (seen * 100 >= count * 99) {
			json_object_object_get_ex(b, "le_us", &le);
			if (le != NULL) {
				snprintf(p99, cap, "<= %" PRIu64 " us", json_object_get_uint64(le));
			} else {
				snprintf(p99, cap, "> %" PRIu64 " us",
					 (uint64_t)1 << (json_object_array_length(buckets) - 2));
			}
			return;
		}
	}
}

/* The counters of a LU or session in columns @first.. of @ln. */
static void stats_cells(struct libscols_line *ln, size_t first, struct json_object *o)
{
	struct json_object *cmds = NULL;
	char mean[32], p99[32];

	json_object_object_get_ex(o, "commands", &cmds);
	stats_latency(o, mean, p99, sizeof(mean));
	cellf(ln, first, "%" PRIu64, ju64(cmds, "read"));
	cellf(ln, first + 1, "%" PRIu64, ju64(cmds, "write"));
	cellf(ln, first + 2, "%" PRIu64, ju64(cmds, "other"));
	cell_size(ln, first + 3, ju64(o, "read_bytes"));
	cell_size(ln, first + 4, ju64(o, "written_bytes"));
	cellf(ln, first + 5, "%" PRIu64, stats_errors(o));
	cellf(ln, first + 6, "%" PRIu64, ju64(o, "reservation_conflicts"));
	cell(ln, first + 7, mean);
	cell(ln, first + 8, p99);
}

#define STATS_COLS                                                                          \
	{ "READS", true }, { "WRITES", true }, { "OTHER", true }, { "READ", true },            \
	{ "WRITTEN", true }, { "ERRORS", true }, { "CONFLICTS", true }, { "MEAN LAT", true }, \
	{ "P99 LAT", true }

static void print_stats(struct json_object *r)
{
	static const struct col_def lun_cols[] = { { "TARGET", false }, { "LUN", true },
						   STATS_COLS };
	static const struct col_def session_cols[] = { { "TSIH", true }, { "ISID", false },
						       { "INITIATOR", false }, STATS_COLS };
	struct json_object *luns = NULL, *sessions = NULL;
	struct libscols_table *tb;

	if (!json_object_object_get_ex(r, "luns", &luns) ||
	    !json_object_is_type(luns, json_type_array) ||
	    !json_object_object_get_ex(r, "sessions", &sessions) ||
	    !json_object_is_type(sessions, json_type_array)) {
		fprintf(stderr, "quoratectl: malformed answer from quorated\n");
		return;
	}
	tb = TABLE_NEW(lun_cols);
	for (size_t i = 0; i < json_object_array_length(luns); i++) {
		struct json_object *l = json_object_array_get_idx(luns, i);
		struct libscols_line *ln = table_row(tb);

		cell(ln, 0, jstr(l, "target"));
		cellf(ln, 1, "%" PRId64, jint(l, "lun"));
		stats_cells(ln, 2, l);
	}
	table_print(tb);
	table_gap();
	if (json_object_array_length(sessions) == 0) {
		human_text("no sessions\n");
	}
	tb = TABLE_NEW(session_cols);
	for (size_t i = 0; i < json_object_array_length(sessions); i++) {
		struct json_object *o = json_object_array_get_idx(sessions, i);
		struct libscols_line *ln = table_row(tb);

		cellf(ln, 0, "%" PRId64, jint(o, "tsih"));
		cell(ln, 1, jstr(o, "isid"));
		cell(ln, 2, jstr(o, "initiator"));
		stats_cells(ln, 3, o);
	}
	table_print(tb);
}

static int run_stats(struct cli *cli, int argc, char **argv)
{
	char *pos[1];
	struct json_object *args = json_object_new_object();

	/* -j/--json anywhere is taken by opts_parse itself. */
	if (opts_parse(argc, argv, NULL, pos, 1) == 1) {
		json_object_object_add(args, "target", json_object_new_string(pos[0]));
	}
	return ctl_run(cli, "stats", args, print_stats);
}

/* ---- portals ---------------------------------------------------------------------- */

static void print_portals(struct json_object *r)
{
	static const struct col_def cols[] = {
		{ "NODE", true }, { "PORTAL", false }, { "SOURCE", false }, { "LISTENING", false },
		{ "ERROR", false },
	};
	struct libscols_table *tb = TABLE_NEW(cols);

	for (size_t i = 0; i < json_object_array_length(r); i++) {
		struct json_object *p = json_object_array_get_idx(r, i);
		struct libscols_line *ln = table_row(tb);

		cellf(ln, 0, "%" PRId64, jint(p, "node"));
		cell(ln, 1, jstr(p, "portal"));
		cell(ln, 2, jstr(p, "source"));
		cell(ln, 3, jbool(p, "listening") ? "yes" : "no");
		cell(ln, 4, jstr(p, "error"));
	}
	list_print(tb, "no portals");
}

static void print_portal_added(struct json_object *r)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(r, "listening", &v);
	printf("portal %s added for node %" PRId64 " (seq %" PRId64 ")%s\n", jstr(r, "portal"),
	       jint(r, "node"), jint(r, "seq"),
	       v == NULL ? "; that node opens it (see 'portal list')"
	       : json_object_get_boolean(v) ? "; listening" : "; NOT listening (see the log)");
}

static void print_portal_removed(struct json_object *r)
{
	printf("portal %s removed from node %" PRId64 " (seq %" PRId64 ")\n", jstr(r, "portal"),
	       jint(r, "node"), jint(r, "seq"));
}

/* portal add|remove|list: PORTAL (@want_portal) and --node N into the args. */
static struct json_object *portal_args(int argc, char **argv, bool want_portal)
{
	const char *node = NULL;
	const struct opt_def defs[] = { { "node", true, &node, NULL, 0 }, { NULL, 0, 0, 0, 0 } };
	struct json_object *args = json_object_new_object();
	char *pos[1];
	uint64_t n;

	if (opts_parse(argc, argv, defs, pos, want_portal ? 1 : 0) != (want_portal ? 1 : 0)) {
		usage_error("need the portal (A.B.C.D:PORT or [V6]:PORT)");
	}
	if (want_portal) {
		json_object_object_add(args, "portal", json_object_new_string(pos[0]));
	}
	if (node != NULL) {
		if (parse_uint(node, 65535, &n) < 0 || n == 0) {
			usage_error("--node: '%s' is not a node id (1..65535)", node);
		}
		json_object_object_add(args, "node", json_object_new_int64((int64_t)n));
	}
	return args;
}

static int run_portal_list(struct cli *cli, int argc, char **argv)
{
	return ctl_run(cli, "portal.list", portal_args(argc, argv, false), print_portals);
}

static int run_portal_add(struct cli *cli, int argc, char **argv)
{
	return ctl_run(cli, "portal.add", portal_args(argc, argv, true), print_portal_added);
}

static int run_portal_remove(struct cli *cli, int argc, char **argv)
{
	return ctl_run(cli, "portal.remove", portal_args(argc, argv, true), print_portal_removed);
}

/* ---- configuration file reload --------------------------------------------------- */

static void print_key_list(struct json_object *r, const char *key, const char *what)
{
	struct json_object *list = NULL;
	size_t n;

	json_object_object_get_ex(r, key, &list);
	n = list != NULL ? json_object_array_length(list) : 0;
	for (size_t i = 0; i < n; i++) {
		printf("%s: %s\n", what, json_object_get_string(json_object_array_get_idx(list, i)));
	}
}

static void print_reload(struct json_object *r)
{
	printf("reloaded %s\n", jstr(r, "file"));
	print_key_list(r, "applied", "applied");
	print_key_list(r, "restart_needed", "needs a restart");
}

static int run_reload(struct cli *cli, int argc, char **argv)
{
	opts_parse(argc, argv, NULL, NULL, 0);
	return ctl_run(cli, "reload", NULL, print_reload);
}

static void print_verify(struct json_object *r)
{
	static const struct col_def cols[] = {
		{ "NODE", true }, { "EPOCH", true }, { "APPLIED SEQ", true }, { "DIGEST", false },
	};
	struct json_object *members = NULL;
	struct libscols_table *tb = TABLE_NEW(cols);

	json_object_object_get_ex(r, "members", &members);
	for (size_t i = 0; members != NULL && i < json_object_array_length(members); i++) {
		struct json_object *m = json_object_array_get_idx(members, i);
		struct libscols_line *ln = table_row(tb);

		cellf(ln, 0, "%" PRId64, jint(m, "node_id"));
		cellf(ln, 1, "%" PRId64, jint(m, "epoch"));
		cellf(ln, 2, "%" PRId64, jint(m, "applied_seq"));
		cell(ln, 3, jstr(m, "digest"));
	}
	table_print(tb);
	human_text("%s\n", jbool(r, "consistent") ? "consistent: every member has the same digest"
			   : jbool(r, "diverged") ? "DIVERGED: members at the same sequence differ"
			   : !jbool(r, "complete") ? "NOT consistent: a member did not answer"
						   : "NOT consistent: members are at different sequences");
}

static int run_cluster_verify(struct cli *cli, int argc, char **argv)
{
	struct json_object *result = NULL;
	int rc;

	opts_parse(argc, argv, NULL, NULL, 0);
	rc = ctl_call(cli, "cluster.verify", NULL, &result);
	if (rc != 0) {
		return rc;
	}
	if (cli->json) {
		puts(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PRETTY));
	} else {
		print_verify(result);
	}
	rc = jbool(result, "consistent") ? 0 : EXIT_REFUSED;
	json_object_put(result);
	return fflush(stdout) == 0 ? rc : EXIT_REFUSED;
}

/* The daemon has its own working directory: send an absolute path. */
static struct json_object *path_arg(const char *path)
{
	struct json_object *args = json_object_new_object();
	char cwd[4096], abs[8192];

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
		snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
		path = abs;
	}
	json_object_object_add(args, "path", json_object_new_string(path));
	return args;
}

static void print_snapshot(struct json_object *r)
{
	printf("epoch %" PRId64 ", applied seq %" PRId64 ", digest %s\n", jint(r, "epoch"),
	       jint(r, "applied_seq"), jstr(r, "digest"));
}

static int run_snapshot_save(struct cli *cli, int argc, char **argv)
{
	char *pos[1];

	if (opts_parse(argc, argv, NULL, pos, 1) != 1) {
		usage_error("need the file to write");
	}
	return ctl_run(cli, "snapshot.save", path_arg(pos[0]), print_snapshot);
}

static int run_snapshot_install(struct cli *cli, int argc, char **argv)
{
	bool replace = false;
	const struct opt_def defs[] = { { "replace", false, NULL, &replace, 0 },
					{ NULL, 0, 0, 0, 0 } };
	struct json_object *args;
	char *pos[1];

	if (opts_parse(argc, argv, defs, pos, 1) != 1) {
		usage_error("need the snapshot file");
	}
	args = path_arg(pos[0]);
	json_object_object_add(args, "replace", json_object_new_boolean(replace));
	return ctl_run(cli, "snapshot.install", args, print_snapshot);
}

/* ---- declarative configuration ------------------------------------------------ */

#define CONFIG_FILE_MODE 0600	/* it may hold CHAP secrets */

/* Write @text to @path through a temporary file in its directory (mode 0600), then rename. */
static int file_write_private(const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	char *tmp = malloc(strlen(path) + 16);
	int fd, rc = 0;

	if (tmp == NULL) {
		return -ENOMEM;
	}
	sprintf(tmp, "%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp);	/* mode 0600 */
	if (fd < 0) {
		rc = -errno;
		free(tmp);
		return rc;
	}
	while (rc == 0 && off < len) {
		ssize_t n = write(fd, text + off, len - off);

		rc = n < 0 ? -errno : 0;
		off += n > 0 ? (size_t)n : 0;
	}
	if (rc == 0 && (fchmod(fd, CONFIG_FILE_MODE) < 0 || fsync(fd) < 0)) {
		rc = -errno;
	}
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
	}
	if (rc < 0) {
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

static int run_config_export(struct cli *cli, int argc, char **argv)
{
	const char *out = NULL;
	bool secrets = false;
	const struct opt_def defs[] = { { "with-secrets", false, NULL, &secrets, 0 },
					{ "output", true, &out, NULL, 'o' },
					{ NULL, 0, 0, 0, 0 } };
	struct json_object *args = json_object_new_object(), *doc = NULL;
	const char *text;
	int rc;

	opts_parse(argc, argv, defs, NULL, 0);
	if (secrets && out == NULL) {
		json_object_put(args);
		usage_error("--with-secrets writes CHAP secrets: give -o FILE (written mode 0600)");
	}
	json_object_object_add(args, "secrets", json_object_new_boolean(secrets));
	rc = ctl_call(cli, "config.export", args, &doc);
	if (rc != 0) {
		return rc;
	}
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (out == NULL) {
		puts(text);
		json_object_put(doc);
		return fflush(stdout) == 0 ? 0 : EXIT_REFUSED;
	}
	{
		char *buf = malloc(strlen(text) + 2);

		rc = buf != NULL ? 0 : -ENOMEM;
		if (rc == 0) {
			sprintf(buf, "%s\n", text);
			rc = file_write_private(out, buf);
			explicit_bzero(buf, strlen(buf));
			free(buf);
		}
	}
	json_object_put(doc);
	if (rc < 0) {
		cli_fail(CTL_ERR_FAILED, "writing %s: %s", out, strerror(-rc));
		return EXIT_REFUSED;
	}
	if (!cli->json) {
		printf("configuration written to %s (mode 0600%s)\n", out,
		       secrets ? ", with CHAP secrets" : ", without CHAP secrets");
	} else {
		puts("{}");
	}
	return 0;
}

/* A copy of @steps for printing: CHAP secrets replaced. */
static struct json_object *steps_masked(struct json_object *steps)
{
	struct json_object *copy = NULL;

	if (json_object_deep_copy(steps, &copy, NULL) < 0) {
		return json_object_new_array();
	}
	for (size_t i = 0; i < json_object_array_length(copy); i++) {
		struct json_object *args;

		if (json_object_object_get_ex(json_object_array_get_idx(copy, i), "args", &args)) {
			static const char *const keys[] = { "secret", "mutual_secret" };

			for (size_t k = 0; k < 2; k++) {
				if (json_object_object_get_ex(args, keys[k], NULL)) {
					json_object_object_add(args, keys[k],
							       json_object_new_string("(hidden)"));
				}
			}
		}
	}
	return copy;
}

/* The document in @path, parsed; exits with a usage error when it cannot be read. */
static struct json_object *config_read(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = malloc(CTL_MSG_MAX + 1);
	struct json_object *doc;
	enum json_tokener_error jerr;
	size_t n;

	if (f == NULL || buf == NULL) {
		cli_fail(f == NULL ? ctl_err_kind(-errno) : CTL_ERR_FAILED, "%s: %s", path,
			 strerror(f == NULL ? errno : ENOMEM));
		exit(EXIT_REFUSED);
	}
	n = fread(buf, 1, CTL_MSG_MAX + 1, f);
	fclose(f);
	if (n > CTL_MSG_MAX) {
		cli_fail(CTL_ERR_INVALID, "%s: larger than %d bytes", path, CTL_MSG_MAX);
		exit(EXIT_REFUSED);
	}
	buf[n] = '\0';
	doc = json_tokener_parse_verbose(buf, &jerr);
	explicit_bzero(buf, n);
	free(buf);
	if (doc == NULL) {
		cli_fail(CTL_ERR_INVALID, "%s is not JSON: %s", path, json_tokener_error_desc(jerr));
		exit(EXIT_REFUSED);
	}
	return doc;
}

static int run_config_apply(struct cli *cli, int argc, char **argv)
{
	bool dry_run = false, prune = false;
	const struct opt_def defs[] = { { "dry-run", false, NULL, &dry_run, 0 },
					{ "prune", false, NULL, &prune, 0 },
					{ NULL, 0, 0, 0, 0 } };
	struct json_object *args, *plan = NULL, *steps, *conflicts, *shown, *out;
	size_t nsteps, nconf, done = 0;
	char *pos[1];
	int rc;

	if (opts_parse(argc, argv, defs, pos, 1) != 1) {
		usage_error("need the configuration file (from 'config export')");
	}
	args = json_object_new_object();
	json_object_object_add(args, "document", config_read(pos[0]));
	json_object_object_add(args, "prune", json_object_new_boolean(prune));
	rc = ctl_call(cli, "config.plan", args, &plan);
	if (rc != 0) {
		return rc;
	}
	steps = json_object_object_get(plan, "steps");
	conflicts = json_object_object_get(plan, "conflicts");
	nsteps = json_object_array_length(steps);
	nconf = json_object_array_length(conflicts);
	for (size_t i = 0; i < nconf && !cli->json; i++) {
		fprintf(stderr, "quoratectl: conflict: %s\n",
			json_object_get_string(json_object_array_get_idx(conflicts, i)));
	}
	if (nconf > 0 && !dry_run) {
		rc = cli_fail(CTL_ERR_REFUSED, "nothing applied: %zu conflict(s)%s%s", nconf,
			      cli->json ? ", the first: " : "",
			      cli->json ? json_object_get_string(json_object_array_get_idx(
						  conflicts, 0)) : "");
		json_object_put(plan);
		return rc;
	}
	if (!cli->json) {
		printf(nsteps == 0 ? "nothing to change\n" : "%s%zu change(s):\n",
		       dry_run ? "would make " : "", nsteps);
	}
	for (size_t i = 0; i < nsteps && (dry_run || rc == 0); i++) {
		struct json_object *st = json_object_array_get_idx(steps, i), *res = NULL;
		const char *what = json_object_get_string(json_object_object_get(st, "what"));

		if (!dry_run) {
			cli->quiet = true;
			rc = ctl_call(cli, json_object_get_string(json_object_object_get(st, "cmd")),
				      json_object_get(json_object_object_get(st, "args")), &res);
			cli->quiet = false;
			json_object_put(res);
			if (rc != 0) {
				rc = cli_fail(cli->err_kind, "config apply stopped at change %zu of %zu "
					      "(%s): %s; the %zu before it were applied", i + 1,
					      nsteps, what, cli->err_msg, done);
				json_object_put(plan);
				return rc;
			}
			done++;
		}
		if (!cli->json) {
			printf("  %s\n", what);
		}
	}
	if (cli->json) {
		shown = steps_masked(steps);
		out = json_object_new_object();
		json_object_object_add(out, "steps", shown);
		json_object_object_add(out, "conflicts", json_object_get(conflicts));
		json_object_object_add(out, "applied", json_object_new_int64((int64_t)done));
		puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(out);
	}
	json_object_put(plan);
	if (rc == 0 && nconf > 0) {
		rc = EXIT_REFUSED;
	}
	return fflush(stdout) == 0 ? rc : EXIT_REFUSED;
}

static const struct cmd_spec cmds[] = {
	{ "status", NULL, "",
	  "Show the node: name, version, uptime, transport, quorate, serving, the node\n"
	  "ids of the membership, epoch, applied sequence, state digest, counts and the\n"
	  "metrics URL ([metrics] listen).",
	  run_status },
	{ "target", "create", "NAME [--alias ALIAS]",
	  "Create an iSCSI target (NAME: iqn./eui./naa. name). Open to every initiator "
	  "until an ACL entry is added.",
	  run_target_create },
	{ "target", "delete", "NAME [--force]",
	  "Delete a target with its LUNs, ACL and CHAP settings. Refused while initiators "
	  "are logged in to it on this node, unless --force.",
	  run_target_delete },
	{ "target", "list", "", "List targets.", run_target_list },
	{ "target", "show", "NAME",
	  "Show a target: alias, CHAP user (never the secret), ACL, its LUNs and whether\n"
	  "each is online here, and its sessions on this node.",
	  run_target_show },
	{ "target", "set", "NAME --alias ALIAS",
	  "Change the target's alias on every node (\"\" removes it). New logins see it\n"
	  "as TargetAlias; sessions stay.",
	  run_target_set },
	{ "lun", "create",
	  "TARGET [--lun N] [--backing file|null] [--path PATH] [--size SIZE] [--grow]\n"
	  "                      [--block-size 512|4096] [--direct | --no-direct] [--thin]\n"
	  "                      [--read-only] [--write-cache on|off] [--alias ALIAS]\n"
	  "                      [--uuid UUID] [--naa NAA] [--serial SERIAL]",
	  "Add a LUN (default: the lowest free number) backed by a file or block device\n"
	  "(--backing file, the default; a missing file is created sparse with --size;\n"
	  "without --size the file's or device's size is used) or by the null store\n"
	  "(--backing null, --size required). SIZE takes K/M/G/T suffixes (powers of 1024).\n"
	  "A --size larger than an existing file is refused unless --grow extends it.\n"
	  "Refused paths: anything in the daemon's data directory or in /etc, /usr, /boot,\n"
	  "/proc, /sys and the other system trees, a file or device that already backs a\n"
	  "LUN, a block device in use on this host (mounted, LVM/RAID member), and anything\n"
	  "but a regular file or block device. The file is opened as the LUN will be\n"
	  "before anything is committed; a file the command created is removed again when\n"
	  "it fails.\n"
	  "--direct opens the store with O_DIRECT (needed for shared disks), --no-direct\n"
	  "through the page cache; without either, a file or block device is opened with\n"
	  "O_DIRECT when the daemon runs in cluster mode ([node] cluster = corosync) and\n"
	  "without it standalone. --thin enables UNMAP, --read-only write-protects the LUN.\n"
	  "--write-cache sets WCE of the caching mode page (default: on, off with O_DIRECT).\n"
	  "--alias names the LUN in listings.\n"
	  "Identity (VPD 80h/83h) is random unless given, to keep a LUN's identity when it\n"
	  "moves here or is rebuilt: --uuid sets the UUID, from which the NAA designator\n"
	  "and the serial derive (the same UUID always gives the same NAA); --naa and\n"
	  "--serial set those over it. An NAA or serial another LUN has is refused.",
	  run_lun_create },
	{ "lun", "delete", "TARGET LUN", "Delete a LUN (the backing file is kept).",
	  run_lun_delete },
	{ "lun", "list", "[TARGET]", "List LUNs with their identity and state.", run_lun_list },
	{ "lun", "show", "TARGET LUN",
	  "Show every field of a LUN's record and whether it is online on this node\n"
	  "(and why not).",
	  run_lun_show },
	{ "lun", "offline", "TARGET LUN",
	  "Take a LUN offline on every node (maintenance): initiators keep their sessions,\n"
	  "INQUIRY and REPORT LUNS, and every other command gets NOT READY, LOGICAL UNIT\n"
	  "NOT READY, OFFLINE (04h/12h); the backing file is closed. It stays offline\n"
	  "through restarts until 'lun online'.",
	  run_lun_offline },
	{ "lun", "online", "TARGET LUN",
	  "Open the LUN's backing file again on every node and serve it, also a LUN\n"
	  "whose file was missing when the daemon started. Exit 1 with the reason when\n"
	  "it cannot be opened on this node (it stays offline here).",
	  run_lun_online },
	{ "lun", "resize", "TARGET LUN --size SIZE [--force]",
	  "Change the LUN's capacity on every node. SIZE takes K/M/G/T suffixes and must\n"
	  "be a whole number of blocks. A backing file smaller than SIZE is extended\n"
	  "sparsely; a block device must already be that large. Initiators get CAPACITY\n"
	  "DATA HAS CHANGED (2A/09) and see the new size in READ CAPACITY. Shrinking\n"
	  "drops what was written beyond the new end and needs --force (the file itself\n"
	  "is not truncated).",
	  run_lun_resize },
	{ "lun", "set", "TARGET LUN [--alias ALIAS] [--read-only on|off] [--write-cache on|off]",
	  "Change a LUN's settings on every node. --alias names it in 'lun list' and\n"
	  "'lun show' (\"\" removes the alias). --read-only on: writes get DATA PROTECT,\n"
	  "WRITE PROTECTED (7/27/00) and MODE SENSE shows WP; off needs the backing file\n"
	  "to open read-write. --write-cache sets WCE of the caching mode page (off: every\n"
	  "write is durable before it completes). Initiators get MODE PARAMETERS CHANGED\n"
	  "(2A/01) for --read-only and --write-cache.",
	  run_lun_set },
	{ "acl", "add", "TARGET INITIATOR",
	  "Allow INITIATOR (an iSCSI name) to log in to TARGET. A target with at least one\n"
	  "ACL entry admits only the listed initiators: sessions of others are asked to\n"
	  "log out and closed after 5 s.",
	  run_acl_add },
	{ "acl", "remove", "TARGET INITIATOR",
	  "Remove an ACL entry. The initiator's sessions (unless the ACL is now empty) are\n"
	  "asked to log out and closed after 5 s.",
	  run_acl_remove },
	{ "acl", "list", "[TARGET]", "List ACL entries.", run_acl_list },
	{ "chap", "set",
	  "(TARGET | --discovery) --user USER [--secret-file FILE | --secret SECRET]\n"
	  "                      [--mutual-user USER (--mutual-secret-file FILE | --mutual-secret SECRET)]\n"
	  "                      [--force]",
	  "Require CHAP for logins to TARGET, or for discovery sessions. The secret is read\n"
	  "from --secret-file, or from the first line of stdin (on a terminal: asked twice,\n"
	  "not echoed). --secret puts it on the command line, where other users can see it\n"
	  "in ps(1): avoid it. With --mutual-user the target also authenticates itself to\n"
	  "the initiator. Secrets shorter than 12 bytes are refused unless --force (Windows\n"
	  "initiators need 12 to 16 bytes; longer ones are accepted with a warning).",
	  run_chap_set },
	{ "chap", "clear", "(TARGET | --discovery)", "Stop requiring CHAP.", run_chap_clear },
	{ "chap", "list", "", "List CHAP users (secrets are never shown).", run_chap_list },
	{ "session", "list", "", "List the iSCSI sessions on this node.", run_session_list },
	{ "session", "close", "TSIH", "Close a session (by its TSIH, see 'session list').",
	  run_session_close },
	{ "session", "show", "[TSIH]",
	  "Show the sessions on this node (or one) in detail: initiator and alias, ISID,\n"
	  "TSIH, target, peer and portal, login time, AuthMethod and CHAP user, the\n"
	  "negotiated keys (digests, data segment and burst lengths, ...), commands in\n"
	  "progress, whether it was asked to log out.",
	  run_session_show },
	{ "session", "logout", "(TSIH | --initiator NAME | --target IQN) [--wait SECONDS]",
	  "Ask sessions to log out: an Asynchronous Message (AsyncEvent 1, logout\n"
	  "requested, Parameter3 = the wait, default 5 s); their new commands are\n"
	  "rejected and they are closed if they have not logged out by then. Unlike\n"
	  "'session close', the initiator can finish and log out cleanly.",
	  run_session_logout },
	{ "stats", NULL, "[TARGET] [--json]",
	  "I/O statistics of this node's LUNs and sessions (of TARGET only, if given):\n"
	  "commands by kind (read: READ; write: commands that modify the medium; other),\n"
	  "bytes read and written by commands that completed GOOD, CHECK CONDITIONs (by\n"
	  "sense key in --json), RESERVATION CONFLICTs, and the latency in the SCSI layer\n"
	  "(mean and the bound of the 99th percentile's log2 bucket; --json has the\n"
	  "buckets). Counted since the LU was added or the session logged in.",
	  run_stats },
	{ "reload", NULL, "",
	  "Make the daemon re-read its configuration file, as SIGHUP does, and report:\n"
	  "the settings applied now (log_level; the [iscsi] tunables that shape the next\n"
	  "login, ping or timer: nop_interval, nop_timeout, max_sessions,\n"
	  "max_discovery_sessions, discovery_idle_timeout, max_login_connections,\n"
	  "chap_backoff_max, require_mutual_chap, allow_cold_reset; [iscsi] listen: new\n"
	  "portals open, removed ones close, their sessions stay) and the changed ones\n"
	  "that wait for a restart (the others). A file with an error, or a new portal\n"
	  "that cannot listen, changes nothing: exit 1 with the error.",
	  run_reload },
	{ "pr", "show", "TARGET LUN",
	  "Show the LUN's persistent reservations as READ FULL STATUS reports them:\n"
	  "PRgeneration, APTPL, the reservation (type, holder) and every registrant with\n"
	  "its key, initiator port (InitiatorName,i,0xISID), target port (TargetName,t,0xTPGT),\n"
	  "relative port and node; an SPC-2 RESERVE(6) reservation too.",
	  run_pr_show },
	{ "pr", "clear", "TARGET LUN --force",
	  "Break the LUN's reservation and remove every registration, through the\n"
	  "replicated state (every node applies it), as PERSISTENT RESERVE OUT CLEAR\n"
	  "does: PRgeneration moves on and every registrant's I_T nexuses get the unit\n"
	  "attention RESERVATIONS PREEMPTED (2A/03); an SPC-2 reservation goes too. For\n"
	  "a holder that is gone (dead node or initiator). Logged with the uid that asked.\n"
	  "Refused without --force.",
	  run_pr_clear },
	{ "portal", "list", "[--node N]",
	  "List the portals of every node (or node N): node id, portal, source (config:\n"
	  "the node's [iscsi] listen; runtime: added with 'portal add') and whether the\n"
	  "node listens on it (another node's: whether it announces it).",
	  run_portal_list },
	{ "portal", "add", "PORTAL [--node N]",
	  "Make node N (default: the node quoratectl talks to) listen on PORTAL, a numeric\n"
	  "A.B.C.D:PORT or [V6]:PORT, besides its configured portals. Replicated: it\n"
	  "survives restarts, and SendTargets on every node lists it with TPGT N. For\n"
	  "this node, refused unless it can listen on it now (an address of this host,\n"
	  "a free port); another node that cannot logs the error and 'portal list'\n"
	  "shows the portal as not listening there.",
	  run_portal_add },
	{ "portal", "remove", "PORTAL [--node N]",
	  "Remove a run-time portal: node N stops listening on it and SendTargets stops\n"
	  "listing it. Sessions that logged in through it stay. A portal of the\n"
	  "configuration file is refused: edit [iscsi] listen and run 'quoratectl reload'.",
	  run_portal_remove },
	{ "cluster", "status", "",
	  "List every node this node knows (corosync's nodelist and every member;\n"
	  "standalone, this node): node id, name, in the membership or not, serving or\n"
	  "not, whether its state diverged from this node's, its epoch, applied\n"
	  "sequence and state digest as last heard, and the portals it announced.",
	  run_cluster_status },
	{ "config", "export", "[--with-secrets -o FILE] [-o FILE]",
	  "Print this node's replicated configuration as one JSON document: targets with\n"
	  "their alias, LUNs (backing, size, settings and identity: UUID, NAA, serial),\n"
	  "ACL and CHAP users, the discovery CHAP, and this node's portals (for\n"
	  "reference; they are node configuration). -o FILE writes it to FILE (mode 0600)\n"
	  "instead; --with-secrets adds the CHAP secrets and needs -o.",
	  run_config_export },
	{ "config", "apply", "FILE [--dry-run] [--prune]",
	  "Make the configuration what FILE (from 'config export', or written by hand:\n"
	  "see quoratectl(8)) says: compute the changes (targets, LUNs with their\n"
	  "identity, settings and size, ACL entries, CHAP) and make them one by one\n"
	  "through the usual commands. A LUN FILE gives no identity gets a new one.\n"
	  "Objects FILE does not list are kept unless --prune. Applying the same file\n"
	  "again changes nothing.\n"
	  "What cannot change in place (a LUN's identity, backing or block size, a smaller\n"
	  "size, CHAP without its secret) is a conflict: nothing is applied, exit 1.\n"
	  "--dry-run prints the changes (secrets hidden) and makes none.",
	  run_config_apply },
	{ "cluster", "verify", "",
	  "Compare the state digests of every member; exit 1 unless all are equal\n"
	  "(standalone: this node only).",
	  run_cluster_verify },
	{ "snapshot", "save", "FILE",
	  "Write this node's replicated state (canonical snapshot, with CHAP secrets)\n"
	  "to a new FILE, mode 0600.",
	  run_snapshot_save },
	{ "snapshot", "install", "FILE --replace",
	  "Maintenance: replace this node's replicated state with the snapshot in FILE.\n"
	  "Targets and LUNs that are equal in both keep running with their sessions;\n"
	  "the rest is created, changed or removed. Changes made since the snapshot\n"
	  "was taken are lost on this node.",
	  run_snapshot_install },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* --daemon-user USER: a user name or a decimal uid. */
static void daemon_user_set(struct cli *cli, const char *user)
{
	struct passwd *pw = getpwnam(user);
	uint64_t v;

	if (pw != NULL) {
		cli->daemon_uid = pw->pw_uid;
	} else if (parse_uint(user, UID_DECIMAL_MAX, &v) == 0) {
		cli->daemon_uid = (uid_t)v;
	} else {
		usage_error("--daemon-user: no user '%s'", user);
	}
	cli->have_daemon_uid = true;
}

static void print_cmd_help(const struct cmd_spec *c)
{
	printf("usage: quoratectl [--json | --raw] [--ipc NAME | --config FILE] [--daemon-user USER]\n"
	       "                  %s%s%s %s\n\n%s\n",
	       c->group, c->verb ? " " : "", c->verb ? c->verb : "", c->usage, c->help);
}

/* @usage with its continuation lines joined, as a JSON string. */
static struct json_object *usage_one_line(const char *usage)
{
	char buf[512];
	size_t n = 0;

	for (const char *p = usage; *p != '\0' && n + 1 < sizeof(buf); p++) {
		if (*p == '\n') {
			while (p[1] == ' ') {
				p++;
			}
			buf[n++] = ' ';
		} else {
			buf[n++] = *p;
		}
	}
	buf[n] = '\0';
	return json_object_new_string(buf);
}

/*
 * The subcommands of @group: with @full their whole help, else one usage
 * line each (as JSON with --json). @return the exit status.
 */
static int print_group_help(const char *group, bool full)
{
	struct json_object *o = NULL, *arr = NULL;
	bool known = false;

	if (!full && the_cli->json) {
		o = json_object_new_object();
		arr = json_object_new_array();
		json_object_object_add(o, "group", json_object_new_string(group));
	}
	for (size_t k = 0; k < NCMDS; k++) {
		const struct cmd_spec *c = &cmds[k];

		if (strcmp(c->group, group) != 0) {
			continue;
		}
		known = true;
		if (full) {
			print_cmd_help(c);
			putchar('\n');
		} else if (arr != NULL) {
			struct json_object *e = json_object_new_object();

			json_object_object_add(e, "verb", c->verb ? json_object_new_string(c->verb)
								  : NULL);
			json_object_object_add(e, "usage", usage_one_line(c->usage));
			json_object_array_add(arr, e);
		} else {
			printf("quoratectl %s%s%s%s%s\n", c->group, c->verb ? " " : "",
			       c->verb ? c->verb : "", c->usage[0] ? " " : "", c->usage);
		}
	}
	if (!known) {
		json_object_put(arr);
		json_object_put(o);
		usage_error("unknown subcommand '%s'", group);
	}
	if (arr != NULL) {
		json_object_object_add(o, "commands", arr);
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else if (!full) {
		printf("'quoratectl %s VERB --help' describes one.\n", group);
	}
	return fflush(stdout) == 0 ? 0 : EXIT_REFUSED;
}

static void print_help(void)
{
	puts("usage: quoratectl [--json | --raw] [--ipc NAME | --config FILE] [--daemon-user USER]\n"
	     "                  SUBCOMMAND [ARGS...]\n"
	     "Administer a running quorated over its local IPC service. The daemon admits\n"
	     "root, the user it runs as and members of its [node] admin_group; quoratectl\n"
	     "talks only to a daemon running as root, as the invoking user or as\n"
	     "--daemon-user (anything else may be an impostor).\n\n"
	     "options:\n"
	     "  -j, --json    print the result as one JSON document on stdout, and an error\n"
	     "                as {\"error\": {\"kind\", \"message\"}} (also after the subcommand)\n"
	     "  --raw         tables for scripts: no heading, one space between fields, a\n"
	     "                space inside a field as \\x20, an empty field as -, sizes in\n"
	     "                bytes, no text around the tables (also after the subcommand)\n"
	     "  --ipc NAME    IPC service name (default: $" CTL_IPC_NAME_ENV ", else the [node]\n"
	     "                ipc_name of the daemon's config file, else \"" CTL_IPC_NAME_DEFAULT "\")\n"
	     "  --config FILE the daemon's config file to take ipc_name from (default\n"
	     "                " CTL_CONFIG_DEFAULT ", if it exists)\n"
	     "  --daemon-user USER\n"
	     "                also trust a daemon running as USER (name or decimal uid)\n"
	     "  --version     print the version\n"
	     "  --help        this help; 'quoratectl SUBCOMMAND --help' for one subcommand,\n"
	     "                'quoratectl SUBCOMMAND' alone lists what can follow it\n\n"
	     "subcommands:");
	for (size_t i = 0; i < NCMDS; i++) {
		printf("  %s%s%s%s%s\n", cmds[i].group, cmds[i].verb ? " " : "",
		       cmds[i].verb ? cmds[i].verb : "", cmds[i].usage[0] ? " " : "",
		       cmds[i].usage);
	}
	puts("\nNumbers (LUN, TSIH, sizes) are decimal: 010 is 10.\n"
	     "Exit status: 0 success, 1 refused or daemon unreachable, 2 usage error.\n"
	     "Error kinds (--json): invalid, not_found, exists, refused, unavailable, failed,\n"
	     "usage, unreachable, denied.\n"
	     "See quoratectl(8).");
}

int main(int argc, char **argv)
{
	struct cli cli = { .ipc_name = NULL };
	const char *group, *verb, *config = NULL, *env = getenv(CTL_IPC_NAME_ENV);
	bool group_known = false;
	int i = 1;

	the_cli = &cli;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
			cli.json = true;
		} else if (strcmp(argv[i], "--raw") == 0) {
			cli.raw = true;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config = argv[i] + 9;
		} else if (strcmp(argv[i], "--ipc") == 0 && i + 1 < argc) {
			cli.ipc_name = argv[++i];
		} else if (strncmp(argv[i], "--ipc=", 6) == 0) {
			cli.ipc_name = argv[i] + 6;
		} else if (strcmp(argv[i], "--daemon-user") == 0 && i + 1 < argc) {
			daemon_user_set(&cli, argv[++i]);
		} else if (strncmp(argv[i], "--daemon-user=", 14) == 0) {
			daemon_user_set(&cli, argv[i] + 14);
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_help();
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("quoratectl %s\n", PACKAGE_VERSION);
			return 0;
		} else {
			usage_error("unknown option '%s'", argv[i]);
		}
	}
	if (i == argc) {
		usage_error("missing subcommand");
	}
	/* --ipc, else $QUORATE_IPC, else the daemon's config file, else the default. */
	if (cli.ipc_name == NULL && env != NULL && env[0] != '\0') {
		cli.ipc_name = env;
	}
	if (cli.ipc_name == NULL) {
		ipc_name_from_config(&cli, config != NULL ? config : CTL_CONFIG_DEFAULT,
				     config != NULL);
	}
	if (cli.ipc_name == NULL) {
		cli.ipc_name = CTL_IPC_NAME_DEFAULT;
	}
	group = argv[i++];
	verb = i < argc ? argv[i] : NULL;
	if (strcmp(group, "help") == 0) {
		return verb != NULL ? print_group_help(verb, true) : (print_help(), 0);
	}
	for (size_t k = 0; k < NCMDS; k++) {
		const struct cmd_spec *c = &cmds[k];
		int first;

		if (strcmp(c->group, group) != 0) {
			continue;
		}
		group_known = true;
		if (c->verb != NULL && (verb == NULL || strcmp(c->verb, verb) != 0)) {
			continue;
		}
		first = c->verb != NULL ? i + 1 : i;
		for (int j = first; j < argc; j++) {
			if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
				print_cmd_help(c);
				return 0;
			}
		}
		current_cmd = c;
		return c->run(&cli, argc - first, argv + first);
	}
	if (group_known) {
		if (verb != NULL && (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)) {
			return print_group_help(group, true);
		}
		/* 'quoratectl lun' alone (or with -j): what can follow. */
		if (verb == NULL || strcmp(verb, "-j") == 0 || strcmp(verb, "--json") == 0) {
			cli.json |= verb != NULL;
			return print_group_help(group, false);
		}
		usage_error("unknown '%s' subcommand '%s' ('quoratectl %s' lists them)", group, verb,
			    group);
	}
	usage_error("unknown subcommand '%s'", group);
}
