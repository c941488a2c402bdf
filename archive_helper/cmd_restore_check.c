/*-------------------------------------------------------------------------
 *
 * cmd_restore_check.c
 *		dbops_archive restore-check: a restore drill.  Its exit status is
 *		the verdict on whether the latest backup restores.
 *
 * It restores the latest backup (every part verified) into a scratch
 * directory, starts a throwaway server there that recovers to the end of
 * the archive, runs pg_amcheck on every database (heap and B-tree checks,
 * installing amcheck in the scratch copy where missing), stops the server
 * and removes the scratch directory, on every exit path it controls
 * (errors, SIGINT, SIGTERM, SIGHUP).  It prints what it verified and how
 * long each step took (--json: the same as JSON).
 *
 * The server never touches production (DESIGN, Backups): it runs with its
 * own settings appended last (archive_mode off, listen_addresses empty,
 * a socket directory inside the scratch directory, shared_preload_libraries
 * empty, an hba_file that lets only its own socket in), restore_command
 * with spool-path off, tablespaces under the scratch directory, and never
 * as root (PostgreSQL refuses root anyway; run it as the database's OS
 * user).  A kill -9 of restore-check itself leaves the server running in
 * the scratch directory: the next run stops and removes such leftovers
 * (directories "dbops-restore-check.*" with no live restore-check).
 *
 * archive_helper/cmd_restore_check.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup_catalog.h"
#include "backup_restore.h"
#include "cli.h"
#include "common/logging.h"
#include "local_file.h"
#include "pg_conn.h"
#include "progress.h"
#include "recovery_conf.h"

#define SCRATCH_PREFIX "dbops-restore-check."

const ArchOption cmd_restore_check_options[] = {
	{"scratch", true, "--scratch=DIR          where to make the scratch directory (default: $TMPDIR or /tmp)"},
	{"timeout", true, "--timeout=SECONDS      give up recovery after this long (default 3600)"},
	{"json", false, "--json                 print the report as JSON"},
	{NULL}
};

void
cmd_restore_check_help(const char *progname)
{
	printf("%s restore-check restores the latest backup into a scratch directory, recovers\n"
		   "it to the end of the archive on a throwaway server, checks it with pg_amcheck,\n"
		   "and removes it.\n\n", progname);
	printf("Usage:\n  %s restore-check [OPTION]...\n", progname);
	cli_print_options(cmd_restore_check_options);
	printf("\nRun it as the database's OS user, from cron; its exit status is the verdict:\n"
		   "0 the backup restored, recovered and passed pg_amcheck; 2 configuration;\n"
		   "3 storage or server failure; 4 a corrupt part or pg_amcheck found corruption.\n");
}

/* Removed on every exit path we control: the scratch directory */
static char *scratch_dir = NULL;
static char *scratch_pg_ctl = NULL;
static volatile sig_atomic_t interrupted = 0;

static void
on_signal(int sig)
{
	interrupted = sig;
}

/* Run argv (stdout and stderr to log, appended); its exit status, or -1 */
static int
run_program(char *const *argv, const char *log)
{
	pid_t		pid = fork();
	int			status;

	if (pid < 0)
		return -1;
	if (pid == 0)
	{
		int			fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0)
		{
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * A PostgreSQL program: beside this executable (its bindir), else in the
 * bindir this was built for, else from PATH
 */
static char *
sibling_program(const char *name)
{
	char		self[MAXPGPATH];
	ssize_t		len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char	   *path;

	if (len > 0)
	{
		self[len] = '\0';
		get_parent_directory(self);
		path = psprintf("%s/%s", self, name);
		if (access(path, X_OK) == 0)
			return path;
		pg_free(path);
	}
	path = psprintf("%s/%s", ARCH_PG_BINDIR, name);
	if (access(path, X_OK) == 0)
		return path;
	pg_free(path);
	return pg_strdup(name);
}

/* Stop the scratch server if it runs, remove the scratch directory */
static void
scratch_remove(const char *dir)
{
	char	   *pgdata = psprintf("%s/pgdata", dir);
	char	   *pid = psprintf("%s/postmaster.pid", pgdata);
	char	   *log = psprintf("%s/pg_ctl.log", dir);

	if (access(pid, F_OK) == 0)
	{
		char	   *argv[] = {scratch_pg_ctl, "-D", pgdata, "-m", "immediate", "-w", "stop", NULL};

		run_program(argv, log);
	}
	rmtree(dir, true);
	pg_free(pgdata);
	pg_free(pid);
	pg_free(log);
}

static void
scratch_cleanup(void)
{
	if (scratch_dir)
		scratch_remove(scratch_dir);
	pg_free(scratch_dir);
	scratch_dir = NULL;
}

/*
 * What earlier runs killed with SIGKILL left under base: a scratch
 * directory whose lock file names no live process.
 */
static void
sweep_leftovers(const char *base)
{
	DIR		   *d = opendir(base);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
	{
		char	   *dir;
		char	   *lock;
		FILE	   *f;
		int			pid = 0;

		if (strncmp(de->d_name, SCRATCH_PREFIX, strlen(SCRATCH_PREFIX)) != 0)
			continue;
		dir = psprintf("%s/%s", base, de->d_name);
		lock = psprintf("%s/owner", dir);
		if ((f = fopen(lock, "r")) != NULL)
		{
			if (fscanf(f, "%d", &pid) != 1)
				pid = 0;
			fclose(f);
			/* only our own: a directory we own, left by a dead process */
			if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH)
			{
				pg_log_info("removing \"%s\", left by a restore-check that was killed", dir);
				scratch_remove(dir);
			}
		}
		pg_free(lock);
		pg_free(dir);
	}
	closedir(d);
}

/* The settings of the throwaway server, appended after the recovery ones */
static void
drill_settings(ArchBuf *lines, const char *dir)
{
	char	   *hba = psprintf("%s/pg_hba.conf", dir);

	arch_buf_appendf(lines, "# restore-check: a throwaway server, reachable by its own socket only\n");
	arch_buf_appendf(lines, "listen_addresses = ''\nport = 5432\nunix_socket_directories = ");
	recovery_conf_quote(lines, dir);
	arch_buf_appendf(lines, "\nhba_file = ");
	recovery_conf_quote(lines, hba);
	arch_buf_appendf(lines, "\nshared_preload_libraries = ''\nlogging_collector = off\n"
					 "archive_mode = 'off'\nhot_standby = on\n");
	pg_free(hba);
}

/* Seconds of one step, for the report */
typedef struct DrillStep
{
	const char *name;
	double		secs;
} DrillStep;

/* Wait until the scratch server has ended recovery; false on timeout or death */
static bool
wait_recovered(const char *dir, int64_t timeout, ArchError *err)
{
	char	   *conninfo = psprintf("host=%s port=5432 dbname=postgres connect_timeout=5", dir);
	double		until = progress_now() + timeout;
	bool		done = false;

	while (!done && !interrupted && progress_now() < until)
	{
		PGconn	   *conn = PQconnectdb(conninfo);

		if (PQstatus(conn) == CONNECTION_OK)
		{
			PGresult   *res = PQexec(conn, "SELECT pg_catalog.pg_is_in_recovery()");

			done = PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "f") == 0;
			PQclear(res);
		}
		PQfinish(conn);
		if (!done)
		{
			char	   *pid = psprintf("%s/pgdata/postmaster.pid", dir);
			bool		alive = access(pid, F_OK) == 0;

			pg_free(pid);
			if (!alive)
				break;
			pg_usleep(200000);
		}
	}
	pg_free(conninfo);
	if (!done)
		arch_error(err, ARCH_TRANSIENT, "the scratch server did not end recovery (%s)",
				   interrupted ? "interrupted" : "it stopped, or the timeout passed");
	return done;
}

int
cmd_restore_check(ArchCli *cli)
{
	ArchKeyring ring;
	ArchDecodeOptions dopts;
	ArchStorage *storage = NULL;
	BackupCatalog cat = {0};
	const BackupEntry *latest;
	BackupManifest m = {0};
	bool		have_manifest = false;
	RecoveryTarget target = {0};
	RestoreRequest req = {0};
	ArchBuf		settings = {0};
	DrillStep	steps[4] = {{"restore"}, {"recovery"}, {"pg_amcheck"}, {"stop and remove"}};
	const char *base = cli_option(cli, "scratch");
	int64_t		timeout = cli_option(cli, "timeout") ? atoll(cli_option(cli, "timeout")) : 3600;
	char	   *pgdata = NULL;
	char	   *log = NULL;
	char	   *tblspc = NULL;
	char	   *amcheck = NULL;
	double		t0;
	int			amcheck_rc = -1;
	ArchError	err;
	ArchStatus	st = ARCH_OK;

	if (base == NULL)
		base = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
	if (geteuid() == 0)
	{
		pg_log_error("restore-check cannot run as root");
		pg_log_error_hint("Run it as the OS user that owns the database's files.");
		return ARCH_EXIT_CONFIG;
	}
	if (timeout <= 0)
	{
		pg_log_error("invalid --timeout \"%s\"", cli_option(cli, "timeout"));
		return ARCH_EXIT_CONFIG;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	atexit(scratch_cleanup);
	scratch_pg_ctl = sibling_program("pg_ctl");
	sweep_leftovers(base);

	st = cli_begin_reading(cli, &ring, &dopts, &storage, &err);
	if (st == ARCH_OK)
		st = backup_catalog_load(storage, &cat, &err);
	if (st == ARCH_OK && (latest = backup_catalog_find(&cat, "LATEST", &err)) == NULL)
		st = ARCH_FATAL;
	if (st == ARCH_OK)
		st = backup_manifest_read(storage, &dopts, latest->label, &m, &err);
	have_manifest = st == ARCH_OK;
	if (st == ARCH_OK && !backup_has_control_file(&m))
		st = arch_error(&err, ARCH_CORRUPT, "backup \"%s\" holds no global/pg_control", m.label);

	/* the scratch directory, marked with our pid for a later sweep */
	if (st == ARCH_OK)
	{
		char	   *tmpl = psprintf("%s/" SCRATCH_PREFIX "XXXXXX", base);

		if (mkdtemp(tmpl) == NULL)
		{
			st = arch_error(&err, ARCH_FATAL, "could not create a scratch directory under \"%s\": %m", base);
			pg_free(tmpl);
		}
		else
		{
			char	   *owner = psprintf("%s/owner", tmpl);
			FILE	   *f = fopen(owner, "w");

			scratch_dir = tmpl;
			if (f)
			{
				fprintf(f, "%d\n", (int) getpid());
				fclose(f);
			}
			pg_free(owner);
			pgdata = psprintf("%s/pgdata", tmpl);
			log = psprintf("%s/server.log", tmpl);
			tblspc = psprintf("%s/tblspc", tmpl);
		}
	}
	if (st == ARCH_OK)
	{
		char	   *hba = psprintf("%s/pg_hba.conf", scratch_dir);

		st = mkdir(tblspc, 0700) == 0 ? ARCH_OK :
			arch_error(&err, ARCH_FATAL, "could not create directory \"%s\": %m", tblspc);
		if (st == ARCH_OK)
		{
			FILE	   *f = fopen(hba, "w");

			if (f == NULL || fprintf(f, "local all all trust\n") < 0 || fclose(f) != 0)
				st = arch_error(&err, ARCH_FATAL, "could not write \"%s\": %m", hba);
		}
		pg_free(hba);
	}

	/* 1: restore, every part verified, to recover to the end and promote */
	target.action = "promote";
	target.no_spool = true;
	if (st == ARCH_OK)
		st = recovery_conf_build(cli, &target, m.label, &settings, &err);
	if (st == ARCH_OK)
	{
		drill_settings(&settings, scratch_dir);
		req.pgdata = pgdata;
		req.tablespace_root = tblspc;
		t0 = progress_now();
		st = backup_restore(cli, &dopts, &m, &req, &settings, &steps[0].secs, &err);
		steps[0].secs = progress_now() - t0;
	}

	/* 2: start and recover to the end of the archive */
	if (st == ARCH_OK && !interrupted)
		st = pq_load(&err);
	if (st == ARCH_OK && !interrupted)
	{
		char	   *argv[] = {scratch_pg_ctl, "-D", pgdata, "-l", log, "-w", "-t", "3600", "start", NULL};

		t0 = progress_now();
		if (run_program(argv, log) != 0)
			st = arch_error(&err, ARCH_TRANSIENT, "the scratch server did not start (see \"%s\")", log);
		else if (!wait_recovered(scratch_dir, timeout, &err))
			st = ARCH_TRANSIENT;
		steps[1].secs = progress_now() - t0;
	}

	/* 3: pg_amcheck of every database */
	if (st == ARCH_OK && !interrupted)
	{
		char	   *check_log = psprintf("%s/amcheck.log", scratch_dir);
		char	   *argv[] = {NULL, "--all", "--install-missing", "--heapallindexed", "-h", scratch_dir,
		"-p", "5432", NULL};

		amcheck = sibling_program("pg_amcheck");
		argv[0] = amcheck;
		t0 = progress_now();
		amcheck_rc = run_program(argv, check_log);
		steps[2].secs = progress_now() - t0;
		if (amcheck_rc != 0)
		{
			char	   *report;
			size_t		len;
			ArchError	read_err;

			st = arch_error(&err, amcheck_rc == 2 ? ARCH_CORRUPT : ARCH_TRANSIENT,
							"pg_amcheck of the restored backup \"%s\" failed with exit code %d",
							m.label, amcheck_rc);
			/* its report, before the scratch directory goes */
			if (arch_read_local_file(check_log, "report", 1 << 20, &report, &len, NULL, NULL, &read_err) == ARCH_OK)
			{
				fprintf(stderr, "%s", report);
				pg_free(report);
			}
		}
		pg_free(check_log);
	}
	if (st == ARCH_OK && interrupted)
		st = arch_error(&err, ARCH_TRANSIENT, "interrupted by signal %d", (int) interrupted);

	/* 4: stop and remove, whatever happened */
	t0 = progress_now();
	if (st != ARCH_OK)
		cli_log_error(&err);
	scratch_cleanup();
	steps[3].secs = progress_now() - t0;

	if (st == ARCH_OK && cli_option(cli, "json"))
	{
		printf("{\"verdict\": \"ok\", \"backup\": \"%s\", \"files\": %d, \"size\": %llu, \"checks\": \"pg_amcheck --all --heapallindexed\", \"steps\": {",
			   m.label, m.nfiles, (unsigned long long) m.size);
		for (int i = 0; i < 4; i++)
			printf("%s\"%s\": %.3f", i ? ", " : "", steps[i].name, steps[i].secs);
		printf("}}\n");
	}
	else if (st == ARCH_OK)
	{
		printf("restore-check of backup \"%s\": ok\n", m.label);
		printf("  restored %d files (%llu MB), every part verified against the manifest\n",
			   m.nfiles, (unsigned long long) (m.size >> 20));
		printf("  recovered to the end of the archive on a throwaway server\n");
		printf("  pg_amcheck --all --heapallindexed found no corruption\n");
		for (int i = 0; i < 4; i++)
			printf("  %-16s %8.1f s\n", steps[i].name, steps[i].secs);
	}
	pg_free(pgdata);
	pg_free(log);
	pg_free(tblspc);
	pg_free(amcheck);
	arch_buf_free(&settings);
	if (have_manifest)
		backup_manifest_free(&m);
	backup_catalog_free(&cat);
	arch_storage_close(storage);
	arch_keyring_free(&ring);
	return cli_exit_code(st);
}
