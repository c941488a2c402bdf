/*-------------------------------------------------------------------------
 *
 * cli_args.h
 *		The command line of dbops_archive, parsed without side effects.
 *
 * PostgreSQL marks a WAL file archived when archive_command exits 0, so a
 * command line that is not understood must never end in exit 0: an
 * unrecognized option, a missing or extra argument is a usage error for
 * every command.  The parser below prints nothing and never exits; main()
 * reports and exits, with the command's own code for a usage error (see
 * ArchCommand.usage_exit).  Being free of side effects, it can also be
 * called on any argv by a fuzzer (fuzz/fuzz_options.c).
 *
 * archive_helper/cli_args.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_CLI_ARGS_H
#define ARCH_CLI_ARGS_H

#include "cli.h"

/* The commands, ending with a NULL name */
extern const ArchCommand cli_commands[];

typedef struct ArchArgs
{
	const ArchCommand *command; /* NULL when none was named */
	bool		help;			/* --help or -?, before or after the command */
	bool		version;		/* -V, --version */
	int			verbose;		/* how many -v */
	const char *config_path;	/* --config, or NULL */
	int			nsettings;		/* --NAME=VALUE settings, in order */
	const char **setting_names;
	const char **setting_values;
	int			ncmdopts;		/* the command's own options, in order */
	const char **cmdopt_names;
	const char **cmdopt_values;	/* "" for a flag */
	int			argc;			/* the command's arguments */
	char	  **argv;
} ArchArgs;

/*
 * Parse argv (which getopt_long may reorder) into args.  ARCH_OK, or
 * ARCH_FATAL with err set for a usage error; args->command is set in both
 * cases when a known command was named, so the caller can choose the
 * command's exit code.  Free args with cli_args_free either way.
 */
extern ArchStatus cli_parse_args(int argc, char **argv, ArchArgs *args,
								 ArchError *err);
extern void cli_args_free(ArchArgs *args);

#endif							/* ARCH_CLI_ARGS_H */
