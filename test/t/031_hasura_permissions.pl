# Copyright (c) dbops contributors
#
# Hasura's permissions, enforced by PostgreSQL: a document with every
# boolean operator dbops compiles (and the examples of Hasura's permission
# documentation) is imported, and then, as each role and with each set of
# session values, the rows a role sees, inserts, updates and deletes are
# compared with an evaluation of the same expressions written here, in
# Perl, with SQL's three-valued logic, independent of dbops's compiler.
# Relationships are read as Hasura reads them (as the engine, not as the
# role), three levels deep, through foreign keys and a manual mapping; a
# pair of tables whose filters go through each other (which recurses under
# naive row-level security) works; schema, table and column names need
# quoting.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

my $node = PostgreSQL::Test::Cluster->new('hasura');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'");
$node->start;

my $S = 'Hz Data';
my $POSTS = 'Posts "Q"';
$node->safe_psql('postgres', q{
CREATE EXTENSION dbops;
CREATE ROLE hz_admin IN ROLE dbops_admin;
CREATE SCHEMA "Hz Data" AUTHORIZATION hz_admin;
SET ROLE hz_admin;
CREATE TABLE "Hz Data".orgs (id int PRIMARY KEY, "Org Name" text, tier int);
CREATE TABLE "Hz Data".authors (id int PRIMARY KEY, name text, org_id int REFERENCES "Hz Data".orgs,
	"Profile" jsonb, born int, died int);
CREATE TABLE "Hz Data"."Posts ""Q""" (id int PRIMARY KEY, author_id int REFERENCES "Hz Data".authors,
	title text, published boolean, score int, tags jsonb, "Editor Id" int);
CREATE TABLE "Hz Data".user_config (user_id int PRIMARY KEY, allow boolean);
INSERT INTO "Hz Data".orgs VALUES (1, 'Acme', 1), (2, 'Beta Corp', 2), (3, 'Gamma', 3), (4, NULL, NULL);
INSERT INTO "Hz Data".authors VALUES
	(1, 'ann', 1, '{"lang": "en", "admin": true, "langs": ["en", "fr"]}', 1950, 2000),
	(2, 'bob', 2, '{"lang": "fr"}', 1960, NULL),
	(3, 'Cid', 3, '{"lang": "en", "tags": {"x": 1}}', 1970, 1969),
	(4, 'dee', NULL, NULL, NULL, NULL),
	(5, 'Eve', 2, '{}', 1980, 2020),
	(6, 'fay', 4, '{"admin": false}', 1990, 1990);
INSERT INTO "Hz Data"."Posts ""Q""" VALUES
	(1, 1, 'Hello world', true, 10, '{"a": 1, "b": 2}', 2),
	(2, 1, 'Draft one', false, 60, '{"a": 2}', NULL),
	(3, 2, 'hello again', true, 5, NULL, 1),
	(4, 2, 'Bonjour', NULL, NULL, '{"b": 2}', 3),
	(5, 3, 'A%B_C', true, 99, '{}', 3),
	(6, 3, 'Third', false, 51, '{"a": 1}', 6),
	(7, 4, 'orphan org', true, 0, '{"c": [1, 2]}', 4),
	(8, NULL, 'nobody''s', true, 42, NULL, NULL),
	(9, 5, 'Eve''s post', true, 15, '{"a": 1, "c": 3}', 5),
	(10, 6, 'fay writes', false, 100, '{"b": 1}', 1),
	(11, 5, 'second by eve', false, 7, '{"b": 2}', NULL),
	(12, 2, 'Bob B', true, 50, '{"a": 3}', 2);
INSERT INTO "Hz Data".user_config VALUES (1, true), (2, false), (5, true);
});

# The schema in Perl, for the evaluator: column types, relationships
my %types = (
	orgs => { id => 'int', 'Org Name' => 'text', tier => 'int' },
	authors => { id => 'int', name => 'text', org_id => 'int', Profile => 'jsonb',
		born => 'int', died => 'int' },
	$POSTS => { id => 'int', author_id => 'int', title => 'text', published => 'bool',
		score => 'int', tags => 'jsonb', 'Editor Id' => 'int' },
	user_config => { user_id => 'int', allow => 'bool' },
);
my %rels = (
	$POSTS => {
		author => { table => 'authors', map => { author_id => 'id' } },
		editor => { table => 'authors', map => { 'Editor Id' => 'id' } },
	},
	authors => {
		org => { table => 'orgs', map => { org_id => 'id' } },
		posts => { table => $POSTS, map => { id => 'author_id' } },
	},
	orgs => { authors => { table => 'authors', map => { id => 'org_id' } } },
);

# The data, read once as the owner
my %rows;
for my $t (keys %types)
{
	my $q = qq{SELECT coalesce(json_agg(t ORDER BY 1), '[]') FROM "Hz Data".} . quote_ident($t) . ' t';
	$rows{$t} = decode_json($node->safe_psql('postgres', $q));
}

sub quote_ident
{
	my ($name) = @_;
	$name =~ s/"/""/g;
	return qq{"$name"};
}

# --- the evaluator: SQL's three-valued logic; 1, 0 or undef (unknown) ---

sub t_and
{
	my $r = 1;
	for (@_) { return 0 if defined $_ && !$_; $r = undef unless defined $_; }
	return $r;
}

sub t_or
{
	my $r = 0;
	for (@_) { return 1 if defined $_ && $_; $r = undef unless defined $_; }
	return $r;
}

sub t_not { return defined $_[0] ? ($_[0] ? 0 : 1) : undef; }

# a value of the document, with session variables read from $env
sub value
{
	my ($v, $type, $env) = @_;
	if (defined $v && !ref $v && $v =~ /^x-hasura-(.*)$/i)
	{
		my $name = lc $1;
		$name =~ s/-/_/g;
		$v = $env->{$name};
		return undef unless defined $v;
		return decode_json($v) if $type eq 'jsonb';
	}
	return undef unless defined $v;
	return ($v ? 1 : 0) if $type eq 'bool' && ref $v;
	return ($v eq 'true' ? 1 : 0) if $type eq 'bool';
	return $v;
}

sub same
{
	my ($a, $b, $type) = @_;
	return undef unless defined $a && defined $b;
	return ($a == $b ? 1 : 0) if $type eq 'int' || $type eq 'bool';
	return ($a eq $b ? 1 : 0);
}

sub compare
{
	my ($a, $b, $type, $op) = @_;
	return undef unless defined $a && defined $b;
	my $c = ($type eq 'int') ? ($a <=> $b) : ($a cmp $b);
	return { '>' => $c > 0, '<' => $c < 0, '>=' => $c >= 0, '<=' => $c <= 0,
		'=' => $c == 0, '<>' => $c != 0 }->{$op} ? 1 : 0;
}

sub like_regex
{
	my ($pattern) = @_;
	my $re = '';
	my @chars = split //, $pattern;
	while (@chars)
	{
		my $ch = shift @chars;
		# a backslash makes the next character literal, as in SQL's LIKE
		$re .= $ch eq '\\' ? quotemeta(shift(@chars) // '') :
		  $ch eq '%' ? '.*' : $ch eq '_' ? '.' : quotemeta($ch);
	}
	return qr/^$re$/s;
}

sub similar_regex
{
	my ($pattern) = @_;
	(my $re = $pattern) =~ s/%/.*/g;
	$re =~ s/_/./g;
	return qr/^(?:$re)$/s;
}

# does jsonb $a contain $b (PostgreSQL's @>)?
sub contains
{
	my ($a, $b) = @_;
	if (ref $b eq 'HASH')
	{
		return 0 unless ref $a eq 'HASH';
		for my $k (keys %$b)
		{
			return 0 unless exists $a->{$k} && contains($a->{$k}, $b->{$k});
		}
		return 1;
	}
	if (ref $b eq 'ARRAY')
	{
		return 0 unless ref $a eq 'ARRAY';
		for my $e (@$b)
		{
			return 0 unless grep { contains($_, $e) } @$a;
		}
		return 1;
	}
	return 0 if ref $a;
	return 1 if !defined $a && !defined $b;
	return (defined $a && defined $b && $a eq $b) ? 1 : 0;
}

sub list_of
{
	my ($v, $env) = @_;
	if (!ref $v && defined $v && $v =~ /^x-hasura-/i)
	{
		my $s = value($v, 'text', $env);
		return undef unless defined $s;
		$s =~ s/^\{|\}$//g;
		return [ map { $_ eq 'NULL' ? undef : $_ } split /,/, $s ];
	}
	return $v;
}

sub operator
{
	my ($table, $row, $root, $col, $op, $arg, $env) = @_;
	my $type = $types{$table}{$col};
	my $x = $row->{$col};
	my %cmp = (_eq => '=', _neq => '<>', _gt => '>', _lt => '<', _gte => '>=', _lte => '<=');
	my %ccmp = (_ceq => '=', _cne => '<>', _cgt => '>', _clt => '<', _cgte => '>=', _clte => '<=');
	return compare($x, value($arg, $type, $env), $type, $cmp{$op}) if $cmp{$op};
	if ($ccmp{$op})
	{
		my $other = ref $arg eq 'ARRAY' && $arg->[0] eq '$' ? $root->{ $arg->[1] } : $row->{ ref $arg ? $arg->[0] : $arg };
		return compare($x, $other, $type, $ccmp{$op});
	}
	return defined $x ? 0 : 1 if $op eq '_is_null' && $arg;
	return defined $x ? 1 : 0 if $op eq '_is_null';
	if ($op eq '_in' || $op eq '_nin')
	{
		my $list = list_of($arg, $env);
		return undef unless defined $list;
		my @r = map { same($x, $_, $type) } @$list;
		return $op eq '_in' ? t_or(@r) : t_and(map { t_not($_) } @r);
	}
	return undef unless defined $x;
	my $p = value($arg, $type eq 'jsonb' ? 'jsonb' : 'text', $env);
	return undef unless defined $p;
	return ($x =~ like_regex($p) ? 1 : 0) if $op eq '_like';
	return ($x =~ like_regex($p) ? 0 : 1) if $op eq '_nlike';
	return (lc($x) =~ like_regex(lc $p) ? 1 : 0) if $op eq '_ilike';
	return (lc($x) =~ like_regex(lc $p) ? 0 : 1) if $op eq '_nilike';
	return ($x =~ similar_regex($p) ? 1 : 0) if $op eq '_similar';
	return ($x =~ similar_regex($p) ? 0 : 1) if $op eq '_nsimilar';
	return ($x =~ /$p/ ? 1 : 0) if $op eq '_regex';
	return ($x =~ /$p/i ? 1 : 0) if $op eq '_iregex';
	return ($x =~ /$p/ ? 0 : 1) if $op eq '_nregex';
	return ($x =~ /$p/i ? 0 : 1) if $op eq '_niregex';
	return contains($x, $p) if $op eq '_contains';
	return contains($p, $x) if $op eq '_contained_in';
	return (ref $x eq 'HASH' && exists $x->{$p}) ? 1 : 0 if $op eq '_has_key';
	if ($op eq '_has_keys_any' || $op eq '_has_keys_all')
	{
		my $keys = list_of($arg, $env);
		my @r = map { (ref $x eq 'HASH' && exists $x->{$_}) ? 1 : 0 } @$keys;
		return $op eq '_has_keys_any' ? t_or(@r) : t_and(@r);
	}
	die "evaluator: no operator $op";
}

sub related
{
	my ($rel, $row) = @_;
	my @found;
  ROW: for my $r (@{ $rows{ $rel->{table} } })
	{
		for my $l (keys %{ $rel->{map} })
		{
			my $x = $row->{$l};
			my $y = $r->{ $rel->{map}{$l} };
			next ROW unless defined $x && defined $y && $x == $y;
		}
		push @found, $r;
	}
	return @found;
}

sub evaluate
{
	my ($table, $row, $e, $env, $root) = @_;
	$root //= $row;
	my @conds;
	for my $k (sort keys %$e)
	{
		my $v = $e->{$k};
		if ($k eq '_and') { push @conds, t_and(map { evaluate($table, $row, $_, $env, $root) } @$v); }
		elsif ($k eq '_or') { push @conds, t_or(map { evaluate($table, $row, $_, $env, $root) } @$v); }
		elsif ($k eq '_not') { push @conds, t_not(evaluate($table, $row, $v, $env, $root)); }
		elsif ($k eq '_exists')
		{
			my $t = $v->{_table}{name};
			push @conds, (grep { (evaluate($t, $_, $v->{_where}, $env, $root) // 0) == 1 } @{ $rows{$t} }) ? 1 : 0;
		}
		elsif (exists $types{$table}{$k})
		{
			push @conds, t_and(map { operator($table, $row, $root, $k, $_, $v->{$_}, $env) } keys %$v);
		}
		else
		{
			my $rel = $rels{$table}{$k} or die "evaluator: no relationship $k on $table";
			push @conds, (grep { (evaluate($rel->{table}, $_, $v, $env, $root) // 0) == 1 } related($rel, $row)) ? 1 : 0;
		}
	}
	return t_and(@conds);
}

# --- the permissions: one role per expression over the posts ---

my @filters = (
	# Hasura's documentation
	{ author_id => { _eq => 'X-Hasura-User-Id' } },
	{ _or => [ { published => { _eq => JSON::PP::true } }, { author_id => { _eq => 'X-Hasura-User-Id' } } ] },
	{ author => { id => { _eq => 'X-Hasura-User-Id' } } },
	{ author => { org => { authors => { name => { _eq => 'ann' } } } } },
	{ _exists => { _table => { schema => $S, name => 'user_config' },
		_where => { _and => [ { user_id => { _eq => 'X-Hasura-User-Id' } }, { allow => { _eq => JSON::PP::true } } ] } } },
	{ id => { _in => 'X-Hasura-Allowed-Ids' } },
	# every operator
	{ score => { _neq => 10 } }, { score => { _gt => 50 } }, { score => { _lt => 10 } },
	{ score => { _gte => 50 }, id => { _lte => 10 } },
	{ score => { _in => [ 5, 10, undef ] } }, { score => { _nin => [ 5, 10 ] } },
	{ score => { _nin => [] } }, { score => { _in => [] } },
	{ title => { _like => 'Hello%' } }, { title => { _nlike => '%o%' } },
	{ title => { _ilike => 'hello%' } }, { title => { _nilike => '%E%' } },
	{ title => { _like => 'A\\%B%' } },
	{ title => { _similar => '(H|B)%' } }, { title => { _nsimilar => '%o%' } },
	{ title => { _regex => '^[A-Z]' } }, { title => { _iregex => 'HELLO' } },
	{ title => { _nregex => 'o' } }, { title => { _niregex => 'E' } },
	{ published => { _is_null => JSON::PP::true } }, { published => { _is_null => JSON::PP::false } },
	{ tags => { _contains => { a => 1 } } }, { tags => { _contained_in => { a => 1, b => 2 } } },
	{ tags => { _has_key => 'b' } }, { tags => { _has_keys_any => [ 'a', 'c' ] } },
	{ tags => { _has_keys_all => [ 'a', 'b' ] } }, { tags => { _contains => 'X-Hasura-Tags' } },
	{ score => { _ceq => 'id' } }, { score => { _cgt => 'Editor Id' } },
	{ 'Editor Id' => { _cne => [ 'author_id' ] } }, { score => { _clte => 'id' } },
	{ author => { born => { _clt => [ '$', 'score' ] } } },
	{ author => { died => { _cgte => 'born' } } },
	{ _not => { published => { _eq => JSON::PP::true } } },
	{ _not => { author => { org => { tier => { _gt => 1 } } } } },
	{ _and => [] }, { _or => [] },
	{ editor => { name => { _in => [ 'ann', 'Cid' ] } } },
	{ editor => {} }, { _not => { editor => {} } },
	{ author => { Profile => { _has_key => 'admin' } } },
	{ author => { org => { 'Org Name' => { _ilike => '%corp' } } } },
	{ author => { posts => { score => { _gt => 90 } } } },
	{ author => { posts => { author => { org => { tier => { _eq => 'X-Hasura-Tier' } } } } } },
	{ _or => [ { score => { _gt => 90 } }, { _and => [ { published => { _eq => JSON::PP::false } }, { author => { name => { _like => '%e%' } } } ] } ] },
);
my @envs = (
	{},
	{ user_id => '1', allowed_ids => '{1,3,5}', tags => '{"a": 1}', tier => '2' },
	{ user_id => '2', allowed_ids => '{}', tags => '{}', tier => '3' },
	{ user_id => '5', allowed_ids => '{7,NULL}', tier => '1' },
);

my $q = encode_json($POSTS);
my @perms;
for my $i (0 .. $#filters)
{
	$node->safe_psql('postgres', "CREATE ROLE hz_q$i; GRANT USAGE ON SCHEMA \"Hz Data\" TO hz_q$i;");
	push @perms, { role => "hz_q$i", permission => { columns => '*', filter => $filters[$i] } };
}
$node->safe_psql('postgres', q{
CREATE ROLE hz_writer; GRANT USAGE ON SCHEMA "Hz Data" TO hz_writer;
CREATE ROLE hz_rec; GRANT USAGE ON SCHEMA "Hz Data" TO hz_rec;
});

my $insert_check = { _and => [ { author_id => { _eq => 'X-Hasura-User-Id' } }, { score => { _lt => 100 } } ] };
my $update_filter = { author => { org => { tier => { _gte => 2 } } } };
my $update_check = { score => { _lte => 50 } };
my $delete_filter = { _and => [ { published => { _eq => JSON::PP::false } },
	{ _exists => { _table => { schema => $S, name => 'user_config' },
		_where => { _and => [ { user_id => { _eq => 'X-Hasura-User-Id' } }, { allow => { _eq => JSON::PP::true } } ] } } } ] };

my $doc = {
	version => 2,
	tables => [
		{
			table => { schema => $S, name => $POSTS },
			object_relationships => [
				{ name => 'author', using => { foreign_key_constraint_on => 'author_id' } },
				{ name => 'editor', using => { manual_configuration => {
					remote_table => { schema => $S, name => 'authors' }, column_mapping => { 'Editor Id' => 'id' } } } },
			],
			select_permissions => [
				@perms,
				{ role => 'hz_writer', permission => { columns => '*', filter => {} } },
				{ role => 'hz_rec', permission => { columns => '*', filter => { author => { posts => { published => { _eq => JSON::PP::true } } } } } },
			],
			insert_permissions => [ { role => 'hz_writer', permission => { columns => '*', check => $insert_check, set => { published => JSON::PP::false } } } ],
			update_permissions => [ { role => 'hz_writer', permission => { columns => [ 'score', 'title' ], filter => $update_filter, check => $update_check } } ],
			delete_permissions => [ { role => 'hz_writer', permission => { filter => $delete_filter } } ],
		},
		{
			table => { schema => $S, name => 'authors' },
			object_relationships => [ { name => 'org', using => { foreign_key_constraint_on => 'org_id' } } ],
			array_relationships => [ { name => 'posts', using => { foreign_key_constraint_on => { table => { schema => $S, name => $POSTS }, column => 'author_id' } } } ],
			# filters through each other: naive RLS would recurse
			select_permissions => [ { role => 'hz_rec', permission => { columns => '*', filter => { posts => { author => { id => { _gt => 0 } } } } } } ],
		},
		{
			table => { schema => $S, name => 'orgs' },
			array_relationships => [ { name => 'authors', using => { foreign_key_constraint_on => { table => { schema => $S, name => 'authors' }, column => 'org_id' } } } ],
		},
		{ table => { schema => $S, name => 'user_config' } },
	],
};
my $json = JSON::PP->new->canonical;
my $doc_text = $json->encode($doc);
$doc_text =~ s/'/''/g;
is($node->safe_psql('postgres', "SET ROLE hz_admin; SELECT dbops.import_metadata('$doc_text')"),
	'[]', 'the document imports with nothing inconsistent');

# what a role sees, with session values set for the transaction
sub as_role
{
	my ($role, $env, $sql) = @_;
	my $set = join('', map { my $v = $env->{$_}; $v =~ s/'/''/g; "SET LOCAL hasura.$_ = '$v'; " } sort keys %$env);
	my ($ret, $out, $err) = $node->psql('postgres', "BEGIN; SET LOCAL ROLE $role; $set $sql; ROLLBACK;");
	return ($ret, $out, $err);
}

my $posts_sql = qq{SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM "Hz Data"."Posts ""Q"""};
for my $i (0 .. $#filters)
{
	for my $env (@envs)
	{
		my @expect = map { $_->{id} } grep { (evaluate($POSTS, $_, $filters[$i], $env) // 0) == 1 } @{ $rows{$POSTS} };
		my ($ret, $out, $err) = as_role("hz_q$i", $env, $posts_sql);
		is($out, join(',', @expect), 'select as hz_q' . $i . ' ' . $json->encode($filters[$i]) . ' with ' . $json->encode($env))
		  or diag($err);
	}
}

# The pair of filters that recurse under naive RLS: each reads the other's
# table through a relationship, as the engine.
my @rec_expect = map { $_->{id} } grep { (evaluate($POSTS, $_, { author => { posts => { published => { _eq => JSON::PP::true } } } }, {}) // 0) == 1 } @{ $rows{$POSTS} };
my ($ret, $out, $err) = as_role('hz_rec', {}, $posts_sql);
is($out, join(',', @rec_expect), 'filters through each other do not recurse: posts') or diag($err);
($ret, $out, $err) = as_role('hz_rec', {}, q{SELECT string_agg(id::text, ',' ORDER BY id) FROM "Hz Data".authors});
my @auth_expect = map { $_->{id} } grep { (evaluate('authors', $_, { posts => { author => { id => { _gt => 0 } } } }, {}) // 0) == 1 } @{ $rows{authors} };
is($out, join(',', @auth_expect), 'filters through each other do not recurse: authors') or diag($err);

# Writes: insert (check and preset), update (filter, check), delete (filter)
for my $user (1, 2)
{
	my $env = { user_id => "$user" };
	for my $cand ([ 100, 1, 5, 'false' ], [ 101, 2, 5, 'false' ], [ 102, 1, 200, 'false' ], [ 103, 1, 5, 'true' ])
	{
		my ($id, $author, $score, $published) = @$cand;
		my %row = (id => $id, author_id => $author, score => $score, published => $published eq 'true' ? 1 : 0);
		my $ok = (evaluate($POSTS, \%row, $insert_check, $env) // 0) == 1 && !$row{published};
		($ret, $out, $err) = as_role('hz_writer', $env,
			qq{INSERT INTO "Hz Data"."Posts ""Q""" (id, author_id, score, published) VALUES ($id, $author, $score, $published)});
		is($ret == 0 ? 1 : 0, $ok ? 1 : 0, "insert $id (author $author, score $score, published $published) as user $user"
			  . ($ok ? ' is allowed' : ' is refused'));
	}
}
for my $post (@{ $rows{$POSTS} })
{
	for my $score (10, 60)
	{
		my $visible = (evaluate($POSTS, $post, $update_filter, {}) // 0) == 1;
		my $passes = $score <= 50;
		($ret, $out, $err) = as_role('hz_writer', {},
			qq{WITH u AS (UPDATE "Hz Data"."Posts ""Q""" SET score = $score WHERE id = $post->{id} RETURNING 1) SELECT count(*) FROM u});
		my $got = $ret != 0 ? 'refused' : $out eq '1' ? 'updated' : 'not visible';
		my $want = !$visible ? 'not visible' : $passes ? 'updated' : 'refused';
		is($got, $want, "update of post $post->{id} to score $score: $want");
	}
}
for my $user (1, 2, 5)
{
	my $env = { user_id => "$user" };
	my @expect = map { $_->{id} } grep { (evaluate($POSTS, $_, $delete_filter, $env) // 0) == 1 } @{ $rows{$POSTS} };
	($ret, $out, $err) = as_role('hz_writer', $env,
		qq{WITH d AS (DELETE FROM "Hz Data"."Posts ""Q""" RETURNING id) SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM d});
	is($out, join(',', @expect), "delete as user $user removes exactly the allowed rows") or diag($err);
}

# The generated functions read as the related tables' owner, with a pinned
# path, and go with the permissions.
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE NOT prosecdef OR proowner <> 'hz_admin'::regrole
							OR NOT 'search_path=pg_catalog, pg_temp' = ANY (proconfig))
	FROM pg_proc WHERE pronamespace = 'dbops_internal'::regnamespace AND proname LIKE 'dbops\_%'}),
	'0', 'every generated function is a definer function of the table owner with search_path pinned');
$node->safe_psql('postgres', 'SET ROLE hz_admin; SELECT dbops.reset_metadata()');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_proc WHERE pronamespace = 'dbops_internal'::regnamespace AND proname LIKE 'dbops\_%'}),
	'0', 'reset drops the generated functions');

$node->stop;
done_testing();
