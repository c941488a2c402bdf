# Copyright (c) dbops contributors
#
# The dbops client against a throwaway cluster, on the Hasura, Diesel,
# golang-migrate, Flyway and Sqitch fixtures: status (with --exit-code),
# hazards, apply, new, rollback, baseline and repair, their --json output
# parsed here, and every documented exit code.  What the client applies
# must be what a server-side apply of the same directory records: the same
# versions and checksums.  Then metadata export and import, and diff (the
# import's dry run: what would change, nothing changed).
use strict;
use warnings FATAL => 'all';

use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = $PostgreSQL::Test::Utils::tmp_check;
my $fixtures = "$ENV{TESTDIR}/fixtures/migrations";
my $json = JSON::PP->new;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'");
$node->start;

# Run the client; returns its exit code, stdout and stderr.
sub dbops
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'dbops', @_ ], '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# Run the client with --json and decode what it prints.
sub dbops_json
{
	my ($rc, $out, $err) = dbops(@_, '--json');
	my $doc = eval { $json->decode($out) };
	return ($rc, $doc, $err);
}

sub new_database
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION dbops');
	return $node->connstr($db);
}

sub copy_dir
{
	my ($from, $to) = @_;
	system('cp', '-r', $from, $to) == 0 or die "could not copy \"$from\"";
	return $to;
}

# The files "migrate new" writes, with real SQL in them
sub fill_new
{
	my ($files, $table) = @_;
	for my $f (@$files)
	{
		my $sql = $f =~ m{(up\.sql|\.up\.sql|/V[^/]*\.sql|deploy/[^/]*)$}
		  ? "CREATE TABLE $table (id int);\n"
		  : $f =~ m{verify/} ? "SELECT 1;\n" : "DROP TABLE $table;\n";
		open(my $fh, '>', $f) or die "could not write \"$f\": $!";
		print $fh $sql;
		close($fh);
	}
}

my %layouts = (
	hasura => 'hasura',
	diesel => 'diesel',
	golang => 'golang-migrate',
	flyway => 'flyway',
	sqitch => 'sqitch');
for my $fixture (sort keys %layouts)
{
	my $dir = copy_dir("$fixtures/$fixture", "$tmp/client_$fixture");
	my $db = new_database("client_$fixture");
	my $layout = $layouts{$fixture};

	my ($rc, $doc, $err) = dbops_json('migrate', 'status', $dir, '-d', $db, '--exit-code');
	is($rc, 5, "$fixture: status --exit-code says migrations are pending (5)");
	my $count = scalar @$doc;
	ok($count >= 3 && !grep({ $_->{state} ne 'pending' } @$doc),
		"$fixture: status lists $count pending migrations as JSON");

	($rc, $doc, $err) = dbops_json('migrate', 'hazards', $dir, '-d', $db);
	is($rc, 0, "$fixture: hazards");
	is(ref $doc, 'ARRAY', "$fixture: hazards as a JSON array");

	($rc, $doc, $err) = dbops_json('migrate', 'apply', $dir, '-d', $db);
	is($rc, 0, "$fixture: apply") or diag($err);
	is(scalar(grep { $_->{action} eq 'applied' } @$doc), $count,
		"$fixture: apply reports every migration as applied");
	unlike($err, qr/applying migration/, "$fixture: no progress line when stderr is no terminal");
	is($node->safe_psql("client_$fixture",
			"SELECT count(*) FROM dbops.migration_status('$dir') WHERE state <> 'applied'"),
		0, "$fixture: a server-side read of the directory finds the same versions and checksums");

	($rc) = dbops('migrate', 'status', $dir, '-d', $db, '--exit-code');
	is($rc, 0, "$fixture: status --exit-code after apply (0)");

	($rc, $doc, $err) = dbops_json('migrate', 'new', "add_$fixture", $dir, '-d', $db);
	is($rc, 0, "$fixture: new") or diag($err);
	is($doc->{layout}, $layout, "$fixture: new asks the server for the layout: $layout");
	ok(@{ $doc->{files} } >= 2 && !grep({ !-f $_ } @{ $doc->{files} }),
		"$fixture: new writes the files it names");
	fill_new($doc->{files}, "new_$fixture");

	($rc, $doc, $err) = dbops_json('migrate', 'status', $dir, '-d', $db, '--exit-code');
	is($rc, 5, "$fixture: the new migration is pending");
	is((grep { $_->{state} eq 'pending' } @$doc)[0]{name}, "add_$fixture",
		"$fixture: it sorts after the others");
	($rc, $doc) = dbops_json('migrate', 'apply', $dir, '-d', $db);
	is_deeply([ map { $_->{action} } @$doc ], ['applied'], "$fixture: apply applies only it");
	is($node->safe_psql("client_$fixture", "SELECT to_regclass('new_$fixture') IS NOT NULL"),
		't', "$fixture: its table exists");

	($rc, $doc, $err) = dbops_json('migrate', 'rollback', '-d', $db, '--steps', '1');
	is($rc, 0, "$fixture: rollback") or diag($err);
	is_deeply([ map { $_->{action} } @$doc ], ['rolled back'], "$fixture: rollback of one step");
	is($node->safe_psql("client_$fixture", "SELECT to_regclass('new_$fixture') IS NULL"),
		't', "$fixture: its table is gone");
}

# baseline and repair, on the golang-migrate copy
my $dir = "$tmp/client_golang";
my $db = new_database('client_baseline');
my ($rc, $doc, $err) = dbops_json('migrate', 'baseline', $dir, '-d', $db, '--target', '2');
is($rc, 0, 'baseline');
is_deeply([ map { "$_->{version} $_->{action}" } @$doc ], [ '1 baselined', '2 baselined' ],
	'baseline records the migrations up to the target');
append_to_file("$dir/1_create_users.up.sql", "-- changed\n");
($rc) = dbops('migrate', 'status', $dir, '-d', $db, '--exit-code');
is($rc, 6, 'status --exit-code says an applied migration was modified (6)');
($rc, undef, $err) = dbops('migrate', 'apply', $dir, '-d', $db);
is($rc, 3, 'apply refuses a changed applied migration (3)');
like($err, qr/dbops: error: applied migration "1_create_users" has changed/,
	'and says which, in the style of PostgreSQL tools');
($rc, $doc) = dbops_json('migrate', 'repair', $dir, '-d', $db);
is_deeply([ map { "$_->{version} $_->{action}" } @$doc ], ['1 repaired'], 'repair accepts the change');
($rc) = dbops('migrate', 'status', $dir, '-d', $db, '--exit-code');
is($rc, 5, 'after repair only the pending migration is left');

# A migration that fails while it runs: 1, nothing applied.
my $failing = "$tmp/client_failing";
mkdir $failing;
append_to_file("$failing/1_first.up.sql", "CREATE TABLE failing_first (id int);\n");
append_to_file("$failing/2_second.up.sql", "SELECT 1;\nSELECT 1 / 0;\n");
$db = new_database('client_failing');
($rc, undef, $err) = dbops('migrate', 'apply', $failing, '-d', $db);
is($rc, 1, 'a migration that fails while it runs: exit code 1');
like($err, qr/dbops: error: division by zero.*migration 2_second, 2_second\.up\.sql line 2/s,
	'the error names migration, file and line');
is($node->safe_psql('client_failing', 'SELECT count(*) FROM dbops.schema_migrations'),
	0, 'nothing was applied');

# Locks that cannot be taken: 1, nothing applied.
my $holder = $node->background_psql('client_failing');
$holder->query_safe('BEGIN');
$holder->query_safe('CREATE TABLE failing_first (id int)');
unlink "$failing/2_second.up.sql";
($rc, undef, $err) = dbops('migrate', 'apply', $failing, '-d', $db,
	'--lock-timeout', '100ms', '--lock-retries', '1');
is($rc, 1, 'locks not taken in time: exit code 1');
like($err, qr/could not take the locks of migration "1_first" in 2 tries/, 'and why');
$holder->query_safe('ROLLBACK');
$holder->quit;

# Refused before anything runs: 3.
($rc, undef, $err) = dbops('migrate', 'apply', "$fixtures/bad/no_layout", '-d', $db);
is($rc, 3, 'a directory that fits no layout is refused (3)');
like($err, qr/file "README.md" in migrations directory fits no layout/, 'naming the file');

# Usage and local files: 2.
for my $args (
	[ 'frob' ],
	[ 'migrate' ],
	[ 'migrate', 'frob' ],
	[ 'migrate', 'apply' ],
	[ 'migrate', 'apply', $dir, '--bogus' ],
	[ 'migrate', 'apply', $dir, '--lock-timeout' ],
	[ 'migrate', 'status', $dir, '--dry-run' ],
	[ 'migrate', 'rollback', $dir ],
	[ 'migrate', 'new', 'bad name', $dir ],
	[ 'migrate', 'new', 'x', $dir, '--layout', 'liquibase' ],
	[ 'metadata', 'export' ],
	[ 'migrate', 'status', "$tmp/no_such_dir", '-d', $db ])
{
	($rc, undef, $err) = dbops(@$args);
	is($rc, 2, "usage error (2): dbops @$args");
	like($err, qr/^dbops: error: /m, "  with an error message: dbops @$args");
}
($rc, undef, $err) = dbops('migrate', 'status', $dir, '-d', "$db password=secret");
is($rc, 2, 'a password in the connection string is refused (2)');
like($err, qr/must not contain a password/, 'with the reason');
my $fifo = "$tmp/client_fifo";
mkdir $fifo;
system('mkfifo', "$fifo/1_a.up.sql") == 0 or die 'mkfifo failed';
($rc, undef, $err) = dbops('migrate', 'status', $fifo, '-d', $db);
is($rc, 2, 'a FIFO in the directory is refused, not read (2)');
like($err, qr/is not a regular file/, 'with the reason');

# No connection, or no dbops: 4.
($rc) = dbops('migrate', 'status', $dir, '-d', 'host=127.0.0.1 port=1 dbname=x connect_timeout=5');
is($rc, 4, 'no connection (4)');
($rc, undef, $err) = dbops('migrate', 'status', $dir, '-d', $node->connstr('postgres'));
is($rc, 4, 'a database without dbops (4)');
like($err, qr/extension "dbops" is not installed in database "postgres"/, 'with the reason');

# Help for every command.
for my $args ([ '--help' ], [ 'migrate', '--help' ], [ 'metadata', '--help' ],
	map { [ 'migrate', $_, '--help' ] } qw(apply status rollback baseline repair hazards new))
{
	my ($hrc, $out) = dbops(@$args);
	is($hrc, 0, "dbops @$args");
	like($out, qr/Usage:/, "  prints a usage");
}

# Metadata: export, import, and diff.
$db = new_database('client_metadata');
$node->safe_psql('client_metadata', q{
	CREATE ROLE client_reader;
	CREATE TABLE items (id int PRIMARY KEY, name text, price numeric);
	SELECT dbops.track_table('items');
	SELECT dbops.create_permission('items', 'client_reader', 'select', '{id,name}', 'price > 0');
});
($rc, undef, $err) = dbops('metadata', 'export', "$tmp/metadata.json", '-d', $db);
is($rc, 0, 'metadata export') or diag($err);
my $exported = slurp_file("$tmp/metadata.json");
$doc = eval { $json->decode($exported) };
is($doc->{tables}[0]{table}{name}, 'items', 'the export is the metadata document');
$node->safe_psql('client_metadata', 'SELECT dbops.reset_metadata()');
($rc, my $out, $err) = dbops('metadata', 'import', "$tmp/metadata.json", '-d', $db);
is($rc, 0, 'metadata import') or diag($err);
is_deeply(eval { $json->decode($out) }, [], 'the import reports no inconsistency');
($rc, $out) = dbops('metadata', 'export', '-', '-d', $db);
is($out, $exported, 'export, import, export: byte-identical');
($rc, $out, $err) = dbops('metadata', 'diff', "$tmp/metadata.json", '-d', $db);
is($rc, 0, 'diff') or diag($err);
is_deeply(eval { $json->decode($out) }, { changes => [], problems => [] },
	'diff of the document just imported: nothing would change');
$node->safe_psql('client_metadata', "SELECT dbops.drop_permission('items', 'client_reader', 'select')");
($rc, $out, $err) = dbops('metadata', 'diff', "$tmp/metadata.json", '-d', $db);
is($rc, 0, 'diff after a change') or diag($err);
is_deeply(eval { $json->decode($out) }->{changes},
	[ { change => 'create', schema => 'public', table => 'items', role => 'client_reader', action => 'select',
		grant => 'SELECT (id, name)', policy => 'dbops_select_client_reader' } ],
	'diff: the permission dropped since would be made again');
is($node->safe_psql('client_metadata', 'SELECT count(*) FROM dbops.metadata_permissions'), '0',
	'diff changed nothing');
# A Hasura metadata directory (a project: config.yaml beside metadata/) is
# sent as a map of its files, and the server reads it.
$node->safe_psql('client_metadata', q{
	SELECT dbops.reset_metadata();
	CREATE ROLE "user";
	CREATE ROLE anonymous;
	CREATE TABLE md_author (id int PRIMARY KEY, name text);
	CREATE TABLE md_article (id int PRIMARY KEY, author_id int REFERENCES md_author,
		title text, published boolean);
	CREATE TABLE "md Order ""Items""" ("Line No" int PRIMARY KEY, qty int);
});
my $hasura = "$ENV{TESTDIR}/fixtures/metadata/hasura_v3";
($rc, $out, $err) = dbops('metadata', 'diff', $hasura, '-d', $db);
is($rc, 0, 'diff of a Hasura metadata directory') or diag($err);
my $plan = eval { $json->decode($out) };
is(scalar(grep { $_->{change} eq 'create' } @{ $plan->{changes} }), 6,
	'diff: the six enforceable permissions of the directory would be made');
($rc, $out, $err) = dbops('metadata', 'import', $hasura, '-d', $db);
is($rc, 0, 'import of a Hasura metadata directory') or diag($err);
is($node->safe_psql('client_metadata', 'SELECT count(*) FROM dbops.metadata_created'), '6',
	'its permissions are enforced');

append_to_file("$tmp/bad_metadata.json", '{"version": 2, "tables": [{"table": "no_such_table"}]}');
($rc, undef, $err) = dbops('metadata', 'import', "$tmp/bad_metadata.json", '-d', $db);
is($rc, 3, 'a document that names a missing table is refused (3)');

$node->stop;
done_testing();
