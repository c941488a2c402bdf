# Copyright (c) dbops contributors
#
# The hazard report on a table of a million rows: every class is detected
# with the table's size and rows, and the safe forms are not reported.
# Whether a statement rewrites the table is checked against PostgreSQL
# itself: each statement also runs (in a transaction that is rolled back)
# under a table_rewrite event trigger, which must fire exactly when dbops
# says "rewrite".  The same statements go through squawk, a linter that
# reads files alone; where the two differ is printed, not asserted, but for
# what is stable: squawk flags a safe form that dbops, knowing the live
# table, does not, and dbops weighs the same rewrite differently by size.
use strict;
use warnings FATAL => 'all';

use FindBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rows = 1_000_000;
my $tmp = $PostgreSQL::Test::Utils::tmp_check;
my $squawk = ($ENV{TESTDIR} // "$FindBin::RealBin/..") . '/node_modules/.bin/squawk';

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'\nmax_wal_size = 2GB");
$node->start;

$node->safe_psql('postgres', qq{
	CREATE EXTENSION dbops;
	CREATE TABLE ref (id int PRIMARY KEY);
	INSERT INTO ref SELECT generate_series(1, 1000);
	CREATE TABLE big (id bigint PRIMARY KEY, n int, ref_id int, v varchar(20),
		d date, ts timestamp, payload text);
	INSERT INTO big SELECT g, g, g % 1000 + 1, 'v' || g, date '2020-01-01' + g % 365,
		timestamp '2020-01-01' + g * interval '1 s', repeat('x', 20)
	FROM generate_series(1, $rows) g;
	CREATE INDEX big_d ON big (d);
	CREATE TABLE small (id int PRIMARY KEY, n int);
	INSERT INTO small SELECT generate_series(1, 10), 1;
	VACUUM ANALYZE ref, big, small;
	CREATE TABLE rewrites (rel regclass, reason int);
	CREATE FUNCTION log_rewrite() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
	BEGIN
		INSERT INTO rewrites VALUES (pg_event_trigger_table_rewrite_oid(),
									 pg_event_trigger_table_rewrite_reason());
	END \$\$;
	CREATE EVENT TRIGGER log_rewrite ON table_rewrite EXECUTE FUNCTION log_rewrite();
});
my $big_bytes = $node->safe_psql('postgres', "SELECT pg_total_relation_size('big')");
note "table big: $rows rows, $big_bytes bytes with its indexes";

# Each case: a migration's up SQL, the hazard dbops must report (undef for
# a safe form), its level at 10 MB/s (so every blocking hazard on this
# table is estimated at a second or more), and the session's time zone.
my @cases = (
	[ 'type change', 'ALTER TABLE big ALTER COLUMN n TYPE bigint;', 'column-type-rewrite', 'danger' ],
	[ 'type change, USING', 'ALTER TABLE big ALTER COLUMN v TYPE int USING length(v);', 'column-type-rewrite', 'danger' ],
	[ 'timestamp to timestamptz outside UTC', 'ALTER TABLE big ALTER COLUMN ts TYPE timestamptz;',
		'column-type-rewrite', 'danger', 'Europe/Paris' ],
	[ 'volatile default', 'ALTER TABLE big ADD COLUMN r float8 DEFAULT random();', 'add-column-rewrite', 'danger' ],
	[ 'identity column', 'ALTER TABLE big ADD COLUMN i int GENERATED ALWAYS AS IDENTITY;', 'add-column-rewrite', 'danger' ],
	[ 'serial column', 'ALTER TABLE big ADD COLUMN s bigserial;', 'add-column-rewrite', 'danger' ],
	[ 'SET UNLOGGED', 'ALTER TABLE big SET UNLOGGED;', 'table-rewrite', 'danger' ],
	[ 'SET NOT NULL', 'ALTER TABLE big ALTER COLUMN d SET NOT NULL;', 'set-not-null-scan', 'danger' ],
	[ 'CHECK', 'ALTER TABLE big ADD CONSTRAINT big_n CHECK (n > 0);', 'check-scan', 'danger' ],
	[ 'foreign key', 'ALTER TABLE big ADD CONSTRAINT big_ref FOREIGN KEY (ref_id) REFERENCES ref (id);',
		'foreign-key-scan', 'danger' ],
	[ 'CREATE INDEX', 'CREATE INDEX big_n ON big (n);', 'index-build', 'danger' ],
	[ 'UNIQUE constraint', 'ALTER TABLE big ADD CONSTRAINT big_u UNIQUE (n);', 'index-build', 'danger' ],
	[ 'DROP COLUMN', 'ALTER TABLE big DROP COLUMN payload;', 'drop-column', 'warning' ],
	[ 'RENAME COLUMN', 'ALTER TABLE big RENAME COLUMN v TO w;', 'rename', 'warning' ],
	[ 'DROP INDEX', 'DROP INDEX big_d;', 'drop-index', 'info' ],
	[ 'TRUNCATE', 'TRUNCATE big;', 'truncate', 'danger' ],
	[ 'DROP TABLE', 'DROP TABLE big;', 'drop-table', 'danger' ],
	# the safe forms
	[ 'nullable column', 'ALTER TABLE big ADD COLUMN a int;' ],
	[ 'constant default', 'ALTER TABLE big ADD COLUMN b int NOT NULL DEFAULT 0;' ],
	[ 'stable default', 'ALTER TABLE big ADD COLUMN c timestamptz DEFAULT now();' ],
	[ 'longer varchar', 'ALTER TABLE big ALTER COLUMN v TYPE varchar(40);' ],
	[ 'varchar to text', 'ALTER TABLE big ALTER COLUMN v TYPE text;' ],
	[ 'timestamp to timestamptz in UTC', 'ALTER TABLE big ALTER COLUMN ts TYPE timestamptz;', undef, undef, 'UTC' ],
	[ 'CHECK NOT VALID, then VALIDATE',
		"ALTER TABLE big ADD CONSTRAINT big_n CHECK (n > 0) NOT VALID;\nALTER TABLE big VALIDATE CONSTRAINT big_n;" ],
	[ 'foreign key NOT VALID',
		'ALTER TABLE big ADD CONSTRAINT big_ref FOREIGN KEY (ref_id) REFERENCES ref (id) NOT VALID;' ],
	[ 'SET NOT NULL proven by a valid check',
		"ALTER TABLE big ADD CONSTRAINT big_d_nn CHECK (d IS NOT NULL) NOT VALID;\n"
		  . "ALTER TABLE big VALIDATE CONSTRAINT big_d_nn;\nALTER TABLE big ALTER COLUMN d SET NOT NULL;" ],
	[ 'a table the batch creates',
		"CREATE TABLE fresh (id int, v text);\nALTER TABLE fresh ALTER COLUMN id TYPE bigint;\nCREATE INDEX ON fresh (v);" ],
);

my %found;    # case name => [ hazards ]
my $json = JSON::PP->new;
for my $case (@cases)
{
	my ($what, $sql, $hazard, $level, $tz) = @$case;
	my $doc = $json->encode([ { version => '1', name => 'case', up => $sql } ]);
	my $set = "SET dbops.hazard_rewrite_rate = '10MB'; SET TimeZone = '" . ($tz // 'UTC') . "';";
	my $out = $node->safe_psql('postgres', qq{$set
		SELECT hazard, level, coalesce(effect, ''), coalesce(table_bytes, -1),
			coalesce(table_rows, -1), coalesce(extract(epoch FROM estimated_lock_time), -1), line
		FROM dbops.migration_hazards(\$doc\$$doc\$doc\$::jsonb)});
	my @hazards = map { [ split /\|/ ] } grep { length } split /\n/, $out;
	$found{$what} = \@hazards;

	# the oracle: does PostgreSQL rewrite a table that exists now? (A
	# table the batch creates is rewritten too, but it is empty and unseen.)
	my $fired = $node->safe_psql('postgres', qq{$set
		BEGIN; $sql SELECT count(*) FROM rewrites WHERE rel::text IN ('big', 'ref', 'small'); ROLLBACK;});
	my $says_rewrite = grep { $_->[2] eq 'rewrite' } @hazards;
	is($says_rewrite ? 1 : 0, $fired > 0 ? 1 : 0,
		"$what: dbops says " . ($says_rewrite ? '' : 'no ') . 'rewrite, and the event trigger agrees');

	if (!defined $hazard)
	{
		is(scalar @hazards, 0, "$what: a safe form, no hazard")
		  or diag explain \@hazards;
		next;
	}
	my ($h) = grep { $_->[0] eq $hazard } @hazards;
	unless (ok($h, "$what: $hazard detected"))
	{
		diag explain \@hazards;
		next;
	}
	is($h->[1], $level, "$what: level $level");
	cmp_ok(abs($h->[4] - $rows), '<', $rows / 10, "$what: the table's rows ($h->[4])");
	cmp_ok($h->[3], '>', 30_000_000, "$what: the table's size ($h->[3] bytes)");
	if ($h->[2] =~ /^(rewrite|scan|index build)$/)
	{
		cmp_ok($h->[5], '>=', 1, "$what: an estimated lock time of a second or more ($h->[5] s)");
	}
}

# The same rewrite on a table of ten rows is not the same hazard.
is($node->safe_psql('postgres', q{SELECT hazard || ' ' || level FROM dbops.migration_hazards(
	'[{"version": "1", "up": "ALTER TABLE small ALTER COLUMN n TYPE bigint;"}]'::jsonb)}),
	'column-type-rewrite info', 'the same type change on ten rows is an info');

# squawk on the same statements, one file per case.
ok(-x $squawk, 'squawk is installed (test/node_modules)');
my @files;
for my $i (0 .. $#cases)
{
	my $file = sprintf("%s/squawk_%02d.sql", $tmp, $i);
	unlink $file;
	append_to_file($file, $cases[$i][1] . "\n");
	push @files, $file;
}
my ($sq_out, $sq_err) = run_command([ $squawk, '--reporter', 'json', @files ]);
my $reports = eval { $json->decode($sq_out) };
ok(ref $reports eq 'ARRAY', 'squawk reports JSON') or diag($sq_err);
my %squawk;
for my $r (@{ $reports // [] })
{
	my ($i) = $r->{file} =~ /squawk_(\d+)\.sql$/;
	next unless defined $i;
	# rules about style rather than locks: not hazards in dbops's sense
	next if $r->{rule_name} =~ /^(prefer-robust-stmts|prefer-bigint-over-int|prefer-bigint-over-smallint|prefer-identity|prefer-text-field|prefer-timestamptz|require-timeout-settings|require-lock-timeout|require-statement-timeout)$/;
	push @{ $squawk{ $cases[$i][0] } }, $r->{rule_name};
}

my $report = '';
my ($more, $less) = (0, 0);
for my $case (@cases)
{
	my $what = $case->[0];
	my @d = map { "$_->[0] ($_->[1])" } @{ $found{$what} };
	my @s = sort @{ $squawk{$what} // [] };
	my $note = '';
	if (@d && !@s) { $note = 'dbops only'; $more++; }
	elsif (!@d && @s) { $note = 'squawk only'; $less++; }
	$report .= sprintf("%-40s dbops: %-45s squawk: %-50s %s\n", $what,
		join(', ', @d) || '-', join(', ', @s) || '-', $note);
}
note "dbops and squawk on the same statements\n$report";
note "dbops reports $more case(s) squawk does not, squawk $less that dbops does not";
# stable: squawk flags the binary-compatible type change that dbops, with
# the live column type, knows needs no rewrite
ok(scalar @{ $squawk{'varchar to text'} // [] } > 0 && !@{ $found{'varchar to text'} },
	'squawk flags varchar to text, which rewrites nothing; dbops does not');

$node->stop;
done_testing();
