/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging for the daemon: thin wrappers around qb_log so every message goes
 * through libqb (stderr in the foreground, syslog otherwise). Messages are
 * lower case without a trailing period; user-supplied strings are quoted.
 * Pure modules (reservations/, the iSCSI/SCSI codecs) never log: they return
 * reason codes that the caller logs. Secrets are never passed to these macros.
 */
#ifndef QUORATE_DAEMON_LOG_H
#define QUORATE_DAEMON_LOG_H

#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <qb/qblog.h>

#define log_err(fmt, ...) qb_log(LOG_ERR, fmt, ##__VA_ARGS__)
#define log_warn(fmt, ...) qb_log(LOG_WARNING, fmt, ##__VA_ARGS__)
#define log_notice(fmt, ...) qb_log(LOG_NOTICE, fmt, ##__VA_ARGS__)
#define log_info(fmt, ...) qb_log(LOG_INFO, fmt, ##__VA_ARGS__)
#define log_debug(fmt, ...) qb_log(LOG_DEBUG, fmt, ##__VA_ARGS__)
#define log_trace(fmt, ...) qb_log(LOG_TRACE, fmt, ##__VA_ARGS__)

/* log_perror(-err, "opening %s", path) appends ": <strerror>". */
#define log_perror(neg_errno, fmt, ...) \
	qb_log(LOG_ERR, fmt ": %s", ##__VA_ARGS__, strerror(-(neg_errno)))

#endif
