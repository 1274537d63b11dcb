-- Lists are read a page at a time, ordered and filtered in SQL. Each index
-- serves one shape of policy-derived condition in creation order:
-- a caller's own keys (account), a tenant's keys, a tenant's service-account
-- keys (the owner's kind, copied onto the key: an account's kind never
-- changes), a tenant's service accounts, a tenant's invitations. A tenant's
-- members (memberships_tenant) and an account's tenants (the UNIQUE index
-- on memberships) are in insertion order already.
ALTER TABLE api_keys ADD COLUMN owner_kind TEXT NOT NULL DEFAULT 'USER'
    CHECK (owner_kind IN ('USER', 'SERVICE'));
UPDATE api_keys SET owner_kind = (SELECT kind FROM accounts WHERE accounts.id = api_keys.account_id);
DROP INDEX api_keys_account;
DROP INDEX api_keys_tenant;
CREATE INDEX api_keys_account_created ON api_keys(account_id, created_at);
CREATE INDEX api_keys_tenant_created ON api_keys(tenant_id, created_at);
CREATE INDEX api_keys_tenant_kind_created ON api_keys(tenant_id, owner_kind, created_at);
DROP INDEX accounts_tenant;
CREATE INDEX accounts_tenant_kind_created ON accounts(tenant_id, kind, created_at);
DROP INDEX invitations_tenant;
CREATE INDEX invitations_tenant_created ON invitations(tenant_id, created_at);

-- The planner's picture of the data, written rather than measured: a key's
-- id and hash are unique, an account holds a few keys, a tenant very many.
-- Without it SQLite guesses, and may walk a whole tenant's keys in order to
-- find one user's ten. (`ANALYZE sqlite_schema` only creates the table.)
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('api_keys', 'sqlite_autoindex_api_keys_1', '1000000 1'),
    ('api_keys', 'sqlite_autoindex_api_keys_2', '1000000 1'),
    ('api_keys', 'api_keys_account_created', '1000000 20 1'),
    ('api_keys', 'api_keys_tenant_created', '1000000 100000 1'),
    ('api_keys', 'api_keys_tenant_kind_created', '1000000 100000 50000 1'),
    ('accounts', 'sqlite_autoindex_accounts_1', '100000 1'),
    ('accounts', 'sqlite_autoindex_accounts_2', '100000 1'),
    ('accounts', 'accounts_tenant_kind_created', '100000 10000 5000 1'),
    ('memberships', 'sqlite_autoindex_memberships_1', '100000 1'),
    ('memberships', 'sqlite_autoindex_memberships_2', '100000 2 1'),
    ('memberships', 'memberships_tenant', '100000 10000'),
    ('invitations', 'sqlite_autoindex_invitations_1', '10000 1'),
    ('invitations', 'sqlite_autoindex_invitations_2', '10000 1'),
    ('invitations', 'invitations_tenant_created', '10000 1000 1'),
    ('tenants', 'sqlite_autoindex_tenants_1', '1000 1'),
    ('tenants', 'sqlite_autoindex_tenants_2', '1000 1');
