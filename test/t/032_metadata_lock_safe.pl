# Copyright (c) dbops contributors
#
# A metadata import takes the locks a migration would (ENABLE ROW LEVEL
# SECURITY and CREATE POLICY take ACCESS EXCLUSIVE), so it is lock-safe as
# a batch of migrations is: with dbops.lock_timeout, a long transaction
# reading a table makes each try of the import wait at most the timeout;
# the import rolls back, reports what it waited for and who holds it, and
# tries again; out of tries it fails with 55P03 and nothing has changed.
# Once the long transaction ends, the import goes through.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'\nlog_min_messages = notice");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION dbops;
	CREATE ROLE reader;
	CREATE TABLE busy (id int PRIMARY KEY, v text);
	CREATE TABLE calm (id int PRIMARY KEY, v text);
});
my $doc = q{'{"version": 2, "tables": [
	{"table": {"schema": "public", "name": "calm"},
	 "select_permissions": [{"role": "reader", "permission": {"columns": ["id"], "filter": {}}}]},
	{"table": {"schema": "public", "name": "busy"},
	 "select_permissions": [{"role": "reader", "permission": {"columns": ["id"], "filter": "id > 0"}}]}]}'};

# what dbops made: tables with RLS on, policies
sub made
{
	return $node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM pg_class WHERE relname IN ('busy', 'calm') AND relrowsecurity)
			|| ' ' || (SELECT count(*) FROM pg_policy)
			|| ' ' || (SELECT count(*) FROM dbops.metadata_tables)});
}

# A long transaction reads "busy".
my $long = $node->background_psql('postgres');
$long->query_safe('BEGIN; SELECT count(*) FROM busy;');

my ($rc, $out, $err) = $node->psql('postgres',
	"SET dbops.lock_timeout = '200ms'; SET dbops.lock_retries = 2; SELECT dbops.import_metadata($doc)");
isnt($rc, 0, 'out of tries, the import fails');
like($err, qr/could not take the locks of the metadata import in 3 tries/, 'and says so');
like($err, qr/waited 200 ms for .*relation.*busy/s, 'naming what it waited for');
like($err, qr/holds AccessShareLock/, 'and who holds it');
is(made(), '0 0 0', 'nothing changed, not even on the table that was free');

# Tries go on while the long transaction lasts; once it ends the import is made.
my $import = $node->background_psql('postgres', on_error_stop => 0);
$import->query_until(qr/started/, q{
	SET dbops.lock_timeout = '200ms';
	SET dbops.lock_retries = 50;
	\echo started
	SELECT dbops.import_metadata(} . $doc . q{) AS result;
	\echo done
});
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%import_metadata%' AND wait_event_type = 'Lock'")
  or die 'the import never waited';
$long->query_safe('COMMIT');
$import->query_until(qr/done/, '');
$import->quit;
is(made(), '2 2 2', 'after the long transaction, the import went through');
like(slurp_file($node->logfile), qr/NOTICE:  the metadata import waited 200 ms for .*busy/,
	'each wait was reported');

$long->quit;
$node->stop;
done_testing();
