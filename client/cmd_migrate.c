/*-------------------------------------------------------------------------
 *
 * cmd_migrate.c
 *		dbops migrate apply|status|rollback|baseline|repair|hazards: read
 *		the directory into a map of files, call the matching SQL function
 *		of the extension, print its rows.
 *
 * Every command takes the same option set, and each refuses the options
 * that do not apply to it: an ignored option would do something else than
 * what was asked.  "migrate new" lives in cmd_new.c.
 *
 * client/cmd_migrate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "client.h"
#include "common/logging.h"
#include "getopt_long.h"

/* The options, as bits of what each command accepts */
#define OPT_TARGET		(1 << 0)
#define OPT_TO			(1 << 1)
#define OPT_STEPS		(1 << 2)
#define OPT_DRY_RUN		(1 << 3)
#define OPT_OUT_OF_ORDER (1 << 4)
#define OPT_LOCK		(1 << 5)	/* --lock-timeout, --lock-retries */
#define OPT_EXIT_CODE	(1 << 6)

/* What the command line of a migrate command said */
typedef struct MigrateOpts
{
	DbopsArgs	a;
	const char *target;
	const char *to;
	const char *steps;
	const char *lock_timeout;
	const char *lock_retries;
	bool		dry_run;
	bool		out_of_order;
	bool		exit_code;
} MigrateOpts;

typedef struct MigrateCommand
{
	const char *name;
	const char *args;			/* positional arguments, for usage lines */
	int			nargs;			/* how many */
	unsigned	options;
	const char *summary;
	int			(*run) (MigrateOpts *o);
} MigrateCommand;

static int	run_apply(MigrateOpts *o);
static int	run_status(MigrateOpts *o);
static int	run_rollback(MigrateOpts *o);
static int	run_baseline(MigrateOpts *o);
static int	run_repair(MigrateOpts *o);
static int	run_hazards(MigrateOpts *o);

static const MigrateCommand commands[] = {
	{"apply", "DIR", 1, OPT_TARGET | OPT_DRY_RUN | OPT_OUT_OF_ORDER | OPT_LOCK,
	"apply the pending migrations of DIR, all or nothing", run_apply},
	{"status", "DIR", 1, OPT_EXIT_CODE,
	"show each migration of DIR and of the database with its state", run_status},
	{"rollback", "", 0, OPT_TO | OPT_STEPS | OPT_DRY_RUN,
	"roll back the latest migrations with the down SQL stored when they were applied",
	run_rollback},
	{"baseline", "DIR", 1, OPT_TARGET,
	"record the migrations of DIR up to --target as applied, without running them",
	run_baseline},
	{"repair", "DIR", 1, 0,
	"accept the files of DIR for applied migrations whose files changed", run_repair},
	{"hazards", "DIR", 1, 0,
	"list what the pending migrations of DIR would lock, rewrite, scan or drop",
	run_hazards},
	{NULL}
};

/* The options and which bit each is */
static const struct option long_options[] = {
	{"dbname", required_argument, NULL, 'd'},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{"target", required_argument, NULL, 't'},
	{"to", required_argument, NULL, 'T'},
	{"steps", required_argument, NULL, 's'},
	{"dry-run", no_argument, NULL, 'n'},
	{"allow-out-of-order", no_argument, NULL, 'o'},
	{"lock-timeout", required_argument, NULL, 'l'},
	{"lock-retries", required_argument, NULL, 'r'},
	{"exit-code", no_argument, NULL, 'e'},
	{NULL, 0, NULL, 0}
};

static const struct
{
	int			opt;
	unsigned	bit;
	const char *help;
}			option_help[] = {
	{'t', OPT_TARGET, "  -t, --target=VERSION       stop after VERSION (baseline: required)\n"},
	{'T', OPT_TO, "      --to=VERSION           roll back the migrations after VERSION, which stays applied\n"},
	{'s', OPT_STEPS, "      --steps=N              roll back the latest N migrations (default 1)\n"},
	{'n', OPT_DRY_RUN, "  -n, --dry-run              say what would be done (apply: with hazards), do nothing\n"},
	{'o', OPT_OUT_OF_ORDER, "      --allow-out-of-order   apply pending versions older than the latest applied one\n"},
	{'l', OPT_LOCK, "      --lock-timeout=DURATION  wait at most this long for each lock, then retry the batch\n"
	"                             (a PostgreSQL interval: 2s, 500ms; default dbops.lock_timeout)\n"},
	{'r', OPT_LOCK, "      --lock-retries=N       retries after a lock timeout (default dbops.lock_retries)\n"},
	{'e', OPT_EXIT_CODE, "      --exit-code            exit 5 when migrations are pending, 6 when applied ones\n"
	"                             are modified or missing\n"},
};

/* The long name of the option getopt returned as c */
static const char *
option_name(int c)
{
	for (const struct option *o = long_options; o->name; o++)
	{
		if (o->val == c)
			return o->name;
	}
	return "?";
}

static void
command_help(const char *progname, const MigrateCommand *cmd)
{
	printf("%s migrate %s: %s.\n\n", progname, cmd->name, cmd->summary);
	printf("Usage:\n  %s migrate %s%s%s [OPTION]...\n\nOptions:\n", progname,
		   cmd->name, cmd->args[0] ? " " : "", cmd->args);
	for (int i = 0; i < lengthof(option_help); i++)
	{
		if (cmd->options & option_help[i].bit)
			printf("%s", option_help[i].help);
	}
	dbops_common_options_help();
	if (strcmp(cmd->name, "rollback") == 0)
		printf("\nRollback reads no directory: it runs the down SQL stored when each migration\n"
			   "was applied.  To change that SQL, run \"%s migrate repair DIR\" first.\n",
			   progname);
}

void
dbops_migrate_help(const char *progname)
{
	printf("%s migrate: migrations from a directory on this machine.\n\n", progname);
	printf("Usage:\n  %s migrate COMMAND [ARG]... [OPTION]...\n\nCommands:\n", progname);
	for (const MigrateCommand *c = commands; c->name; c++)
		printf("  %-9s %-5s %s\n", c->name, c->args, c->summary);
	printf("  %-9s %-5s %s\n", "new", "NAME", "add an empty migration to a directory, in its layout");
	printf("\nDIR may use the layout of Hasura, Diesel, golang-migrate, Flyway or Sqitch;\n"
		   "the server reads it.  \"%s migrate COMMAND --help\" shows a command's options.\n",
		   progname);
}

/* Read DIR into a map of files; NULL after an error was logged */
static char *
read_map(const char *dir)
{
	PQExpBuffer map = createPQExpBuffer();
	char	   *data;

	if (!dbops_read_dir_map(dir, map))
	{
		destroyPQExpBuffer(map);
		return NULL;
	}
	data = pg_strdup(map->data);
	destroyPQExpBuffer(map);
	return data;
}

/*
 * Connect, run sql with the parameters, print the rows as a table or JSON.
 * Returns the exit code; *res_out keeps the result when asked for.
 */
static int
run_and_print(MigrateOpts *o, const char *sql, int nparams,
			  const char *const *values, PGresult **res_out)
{
	int			rc = DBOPS_EXIT_OK;
	PGconn	   *conn = dbops_connect(&o->a, &rc);
	PGresult   *res;

	if (conn == NULL)
		return rc;
	res = dbops_query(conn, sql, nparams, values, &rc);
	if (res != NULL)
	{
		if (o->a.json)
			dbops_print_json(res);
		else
			dbops_print_table(res);
		if (res_out)
			*res_out = res;
		else
			PQclear(res);
	}
	dbops_disconnect(conn);
	return rc;
}

static int
run_apply(MigrateOpts *o)
{
	char	   *map = read_map(o->a.args[0]);
	const char *values[6];

	if (map == NULL)
		return DBOPS_EXIT_USAGE;
	values[0] = map;
	values[1] = o->target;
	values[2] = o->dry_run ? "true" : "false";
	values[3] = o->out_of_order ? "true" : "false";
	values[4] = o->lock_timeout;
	values[5] = o->lock_retries;
	return run_and_print(o, o->a.json ?
						 "SELECT version, name, action, duration, restore_lsn, hazards "
						 "FROM dbops.apply_migrations($1::jsonb, target_version => $2, "
						 "dry_run => $3::boolean, allow_out_of_order => $4::boolean, "
						 "lock_timeout => $5::interval, lock_retries => $6::integer)" :
						 "SELECT version, name, action, duration, "
						 "(SELECT string_agg((h->>'level') || ' ' || (h->>'hazard') || ' on ' || (h->>'relation'), ', ') "
						 " FROM pg_catalog.jsonb_array_elements(hazards) h) AS hazards "
						 "FROM dbops.apply_migrations($1::jsonb, target_version => $2, "
						 "dry_run => $3::boolean, allow_out_of_order => $4::boolean, "
						 "lock_timeout => $5::interval, lock_retries => $6::integer)",
						 6, values, NULL);
}

static int
run_status(MigrateOpts *o)
{
	char	   *map = read_map(o->a.args[0]);
	const char *values[1] = {map};
	PGresult   *res = NULL;
	int			rc;
	int			state_col;

	if (map == NULL)
		return DBOPS_EXIT_USAGE;
	rc = run_and_print(o, o->a.json ?
					   "SELECT version, name, state, applied_at, applied_by, checksum "
					   "FROM dbops.migration_status($1::jsonb)" :
					   "SELECT version, name, state, applied_at, applied_by "
					   "FROM dbops.migration_status($1::jsonb)",
					   1, values, &res);
	if (res == NULL || !o->exit_code)
	{
		PQclear(res);
		return rc;
	}
	state_col = PQfnumber(res, "state");
	for (int r = 0; r < PQntuples(res); r++)
	{
		const char *state = PQgetvalue(res, r, state_col);

		if (strcmp(state, "modified") == 0 || strcmp(state, "missing") == 0)
			rc = DBOPS_EXIT_DRIFT;
		else if (strcmp(state, "pending") == 0 && rc == DBOPS_EXIT_OK)
			rc = DBOPS_EXIT_PENDING;
	}
	PQclear(res);
	return rc;
}

static int
run_rollback(MigrateOpts *o)
{
	const char *values[3] = {o->to, o->steps, o->dry_run ? "true" : "false"};

	if (o->to != NULL && o->steps != NULL)
	{
		pg_log_error("--to and --steps cannot both be given");
		return DBOPS_EXIT_USAGE;
	}
	return run_and_print(o,
						 "SELECT version, name, action, duration "
						 "FROM dbops.rollback_migrations(target_version => $1, "
						 "steps => $2::integer, dry_run => $3::boolean)",
						 3, values, NULL);
}

static int
run_baseline(MigrateOpts *o)
{
	char	   *map;
	const char *values[2];

	if (o->target == NULL)
	{
		pg_log_error("migrate baseline needs --target=VERSION");
		return DBOPS_EXIT_USAGE;
	}
	if ((map = read_map(o->a.args[0])) == NULL)
		return DBOPS_EXIT_USAGE;
	values[0] = map;
	values[1] = o->target;
	return run_and_print(o,
						 "SELECT version, name, action FROM dbops.baseline($1::jsonb, $2)",
						 2, values, NULL);
}

static int
run_repair(MigrateOpts *o)
{
	char	   *map = read_map(o->a.args[0]);
	const char *values[1] = {map};

	if (map == NULL)
		return DBOPS_EXIT_USAGE;
	return run_and_print(o,
						 "SELECT version, name, action FROM dbops.repair_migrations($1::jsonb)",
						 1, values, NULL);
}

/*
 * Hazards read better as paragraphs than as a table sixteen columns wide:
 * the migration, file and line, level and hazard on the first line, then
 * the lock, the table, the estimate, the message and the safer form.
 */
static int
run_hazards(MigrateOpts *o)
{
	char	   *map = read_map(o->a.args[0]);
	const char *values[1] = {map};
	int			rc = DBOPS_EXIT_OK;
	PGconn	   *conn;
	PGresult   *res;

	if (map == NULL)
		return DBOPS_EXIT_USAGE;
	if (o->a.json)
		return run_and_print(o, "SELECT * FROM dbops.migration_hazards($1::jsonb)",
							 1, values, NULL);
	if ((conn = dbops_connect(&o->a, &rc)) == NULL)
		return rc;
	res = dbops_query(conn,
					  "SELECT version || coalesce('_' || nullif(name, ''), ''), file, line, level, hazard, "
					  "relation, lock_mode, blocks, coalesce(effect, ''), "
					  "coalesce(pg_catalog.pg_size_pretty(table_bytes), 'unknown size'), "
					  "coalesce(table_rows::text, 'unknown'), "
					  "coalesce(' about ' || pg_catalog.round(extract(epoch FROM estimated_lock_time), 2) || ' s (an estimate)', ''), "
					  "message, safer, allowed "
					  "FROM dbops.migration_hazards($1::jsonb)",
					  1, values, &rc);
	if (res != NULL)
	{
		for (int r = 0; r < PQntuples(res); r++)
		{
#define V(c) PQgetvalue(res, r, c)
			printf("%s%s, %s line %s: %s %s on %s%s\n", r > 0 ? "\n" : "",
				   V(0), V(1), V(2), V(3), V(4), V(5),
				   V(14)[0] == 't' ? " (allowed by a directive)" : "");
			printf("  %s (blocks %s); %s of %s, %s rows;%s\n",
				   V(6), V(7), V(8), V(9), V(10), V(11)[0] ? V(11) : " no estimate");
			printf("  %s\n  Safer: %s\n", V(12), V(13));
#undef V
		}
		if (PQntuples(res) == 0)
			printf("No hazards in the pending migrations.\n");
		PQclear(res);
	}
	dbops_disconnect(conn);
	return rc;
}

int
dbops_migrate(int argc, char **argv, const char *progname)
{
	MigrateOpts o;
	const MigrateCommand *cmd = NULL;
	int			c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0)
	{
		if (argc < 2)
		{
			pg_log_error("no migrate command specified");
			pg_log_error_hint("Try \"%s migrate --help\" for more information.", progname);
			return DBOPS_EXIT_USAGE;
		}
		dbops_migrate_help(progname);
		return DBOPS_EXIT_OK;
	}
	if (strcmp(argv[1], "new") == 0)
		return dbops_migrate_new(argc - 1, argv + 1, progname);
	for (const MigrateCommand *m = commands; m->name; m++)
		if (strcmp(m->name, argv[1]) == 0)
			cmd = m;
	if (cmd == NULL)
	{
		pg_log_error("unrecognized migrate command \"%s\"", argv[1]);
		pg_log_error_hint("Try \"%s migrate --help\" for more information.", progname);
		return DBOPS_EXIT_USAGE;
	}

	memset(&o, 0, sizeof(o));
	o.a.progname = progname;
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:t:n", long_options, NULL)) != -1)
	{
		unsigned	bit = 0;

		if (dbops_parse_common(c, optarg, &o.a))
			continue;
		switch (c)
		{
			case 'h':
				command_help(progname, cmd);
				return DBOPS_EXIT_OK;
			case '?':
			case ':':
				return dbops_bad_option(c, argv, progname,
										psprintf("migrate %s", cmd->name));
			case 't':
				o.target = optarg;
				bit = OPT_TARGET;
				break;
			case 'T':
				o.to = optarg;
				bit = OPT_TO;
				break;
			case 's':
				o.steps = optarg;
				bit = OPT_STEPS;
				break;
			case 'n':
				o.dry_run = true;
				bit = OPT_DRY_RUN;
				break;
			case 'o':
				o.out_of_order = true;
				bit = OPT_OUT_OF_ORDER;
				break;
			case 'l':
				o.lock_timeout = optarg;
				bit = OPT_LOCK;
				break;
			case 'r':
				o.lock_retries = optarg;
				bit = OPT_LOCK;
				break;
			case 'e':
				o.exit_code = true;
				bit = OPT_EXIT_CODE;
				break;
		}
		if ((cmd->options & bit) == 0)
		{
			pg_log_error("option \"--%s\" is not valid for \"migrate %s\"",
						 option_name(c), cmd->name);
			pg_log_error_hint("Try \"%s migrate %s --help\" for more information.",
							  progname, cmd->name);
			return DBOPS_EXIT_USAGE;
		}
	}
	o.a.nargs = argc - optind;
	o.a.args = argv + optind;
	if (o.a.nargs != cmd->nargs)
	{
		if (o.a.nargs < cmd->nargs)
			pg_log_error("migrate %s needs %s", cmd->name, cmd->args);
		else
			pg_log_error("too many arguments for \"migrate %s\": \"%s\"",
						 cmd->name, o.a.args[cmd->nargs]);
		if (strcmp(cmd->name, "rollback") == 0)
			pg_log_error_hint("Rollback reads no directory: it runs the down SQL stored when each migration was applied.");
		else
			pg_log_error_hint("Try \"%s migrate %s --help\" for more information.",
							  progname, cmd->name);
		return DBOPS_EXIT_USAGE;
	}
	return cmd->run(&o);
}
