/*-------------------------------------------------------------------------
 *
 * recovery_conf.h
 *		The recovery settings backup-fetch writes into a restored data
 *		directory.
 *
 * A restored server must never touch production (DESIGN, Backups): it
 * gets archive_mode = off unless --archive-mode=preserve; its
 * restore_command names this executable by absolute path, the config
 * file by absolute path and the non-secret settings this run got from
 * options or the environment, each quoted for the shell with % doubled,
 * and never a secret (one known only from the environment is refused,
 * with a hint to the config file); every recovery target setting is
 * written, empty when not ours, so none left in postgresql.conf applies;
 * and the target action stays PostgreSQL's pause unless asked.
 *
 * archive_helper/recovery_conf.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_RECOVERY_CONF_H
#define ARCH_RECOVERY_CONF_H

#include "buf.h"
#include "cli.h"

typedef struct RecoveryTarget
{
	const char *kind;			/* "time", "lsn", "xid", "name", "immediate"
								 * or NULL for the end of the archive */
	const char *value;			/* its value ("" for immediate) */
	bool		exclusive;		/* recovery_target_inclusive = off */
	const char *action;			/* pause, promote, shutdown */
	const char *timeline;		/* recovery_target_timeline */
	bool		preserve_archive_mode;
	bool		no_spool;		/* restore_command with spool-path off */
} RecoveryTarget;

/*
 * The restore_command for this run (ARCH_FATAL when a secret would be
 * missing from it), and the lines for postgresql.auto.conf.
 */
extern ArchStatus recovery_conf_build(ArchCli *cli, const RecoveryTarget *t,
									  const char *label, ArchBuf *lines,
									  ArchError *err);

/* Quote value as a postgresql.conf string: '...' with ' and \ escaped */
extern void recovery_conf_quote(ArchBuf *out, const char *value);

#endif							/* ARCH_RECOVERY_CONF_H */
