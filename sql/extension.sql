--
-- The extension installs, reports its version, and exposes nothing to PUBLIC.
--
SELECT dbops.version() = extversion AS version_matches
FROM pg_extension WHERE extname = 'dbops';

-- The roles the extension relies on exist and cannot log in.
SELECT rolname, rolcanlogin FROM pg_roles
WHERE rolname IN ('dbops_admin', 'dbops_grantor') ORDER BY rolname;

-- No function in schema dbops is executable by PUBLIC (a NULL proacl means
-- the default, which grants EXECUTE to PUBLIC).
SELECT p.oid::regprocedure AS executable_by_public
FROM pg_proc p
WHERE p.pronamespace = 'dbops'::regnamespace
  AND (p.proacl IS NULL
       OR EXISTS (SELECT FROM aclexplode(p.proacl) a
                  WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
ORDER BY 1;

-- An ordinary role is refused; a member of dbops_admin is allowed.
CREATE ROLE regress_dbops_nobody;
CREATE ROLE regress_dbops_admin IN ROLE dbops_admin;
SET ROLE regress_dbops_nobody;
SELECT dbops.version();
RESET ROLE;
SET ROLE regress_dbops_admin;
SELECT dbops.version() IS NOT NULL AS allowed;
RESET ROLE;
DROP ROLE regress_dbops_nobody, regress_dbops_admin;

-- The extension drops and re-creates cleanly.
DROP EXTENSION dbops;
CREATE EXTENSION dbops;
SELECT extname, extversion FROM pg_extension WHERE extname = 'dbops';
