--
-- Helpers for the document fuzz tests (fuzz_metadata, fuzz_migrations),
-- kept in schema fuzz for the rest of the run: every path of a jsonb
-- value, and seeded random mutations of a document.  The mutations
-- malform a document (a key removed or misspelt, a value of another type,
-- an element duplicated, an unknown key added); they never write a valid
-- value with another meaning, such as {} for a filter.
--
CREATE SCHEMA fuzz;

-- every path in j, sorted (so that a seeded pick is repeatable)
CREATE FUNCTION fuzz.paths(j jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	WITH RECURSIVE r(p, v) AS (
		SELECT '{}'::text[], j
		UNION ALL
		SELECT r.p || c.k, c.v
		FROM r, LATERAL (
			SELECT e.key AS k, e.value AS v
			FROM jsonb_each(CASE WHEN jsonb_typeof(r.v) = 'object' THEN r.v END) e
			UNION ALL
			SELECT (a.i - 1)::text, a.v
			FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.v) = 'array' THEN r.v END)
				WITH ORDINALITY a(v, i)) c
	)
	SELECT array_agg(p::text ORDER BY p::text COLLATE "C") FROM r
$$;

-- one random malformation of doc (random() is seeded by the caller).  The
-- inside of a filter or check is a value, where a change is a new meaning
-- rather than a malformation: only the whole expression is replaced.
CREATE FUNCTION fuzz.mutate(doc jsonb, edit_strings boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	all_paths text[] := ARRAY(SELECT x FROM unnest(fuzz.paths(doc)) x
							  WHERE NOT (x::text[])[1:greatest(cardinality(x::text[]) - 1, 0)]
								&& '{filter,check}');
	p text[] := all_paths[1 + floor(random() * cardinality(all_paths))::int]::text[];
	parent jsonb := CASE WHEN cardinality(p) > 0 THEN doc #> p[1:cardinality(p) - 1] END;
	v jsonb := doc #> p;
	op int := floor(random() * 10)::int;
	s text := v #>> '{}';
	cut int;
BEGIN
	-- with edit_strings, strings (SQL scripts) are cut, lose bytes or get a
	-- stray quote, dollar, semicolon, parenthesis, backslash or comment
	IF edit_strings AND jsonb_typeof(v) = 'string' AND random() < 0.5 THEN
		cut := floor(random() * (length(s) + 1))::int;
		RETURN jsonb_set(doc, p, to_jsonb(left(s, cut)
			|| (ARRAY['', '''', '$', ';', '(', E'\\', '/*', E'\n'])[1 + floor(random() * 8)::int]
			|| substr(s, cut + 1 + floor(random() * 3)::int)));
	END IF;
	-- An update's check may be left out or null, as in Hasura: a document
	-- without it is valid and means "no check", an edit, not a malformation.
	IF op IN (0, 1) AND p[cardinality(p)] = 'check' AND p[cardinality(p) - 3] = 'update_permissions' THEN
		op := 5;
	END IF;
	IF cardinality(p) = 0 THEN
		RETURN (ARRAY['null', '0', '[]', '"x"', '{"version": 2, "tables": {}}'])[1 + floor(random() * 5)::int]::jsonb;
	END IF;
	CASE op
		WHEN 0 THEN RETURN doc #- p;
		WHEN 1 THEN RETURN jsonb_set(doc, p, 'null');
		WHEN 2 THEN RETURN jsonb_set(doc, p, '0');
		WHEN 3 THEN RETURN jsonb_set(doc, p, 'true');
		WHEN 4 THEN RETURN jsonb_set(doc, p, '[]');
		WHEN 5 THEN RETURN jsonb_set(doc, p, '{"bogus": 1}');
		WHEN 6 THEN RETURN jsonb_set(doc, p, '""');
		WHEN 7 THEN
			-- a misspelt key
			IF jsonb_typeof(parent) = 'object' THEN
				RETURN jsonb_set(doc #- p, p[1:cardinality(p) - 1] || (p[cardinality(p)] || 's'), v);
			END IF;
			RETURN doc #- p;
		WHEN 8 THEN
			-- an element twice
			IF jsonb_typeof(parent) = 'array' THEN
				RETURN jsonb_insert(doc, p, v);
			END IF;
			RETURN jsonb_set(doc, p, jsonb_build_array(v));
		ELSE
			-- an unknown key
			IF jsonb_typeof(v) = 'object' THEN
				RETURN jsonb_set(doc, p || 'zz_unknown'::text, '1');
			END IF;
			RETURN jsonb_set(doc, p, jsonb_build_array(v));
	END CASE;
END
$$;
