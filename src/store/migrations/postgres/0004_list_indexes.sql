-- The same list indexes as SQLite's (see the SQLite migration for why);
-- PostgreSQL gathers its own statistics.
ALTER TABLE api_keys ADD COLUMN owner_kind TEXT COLLATE "C" NOT NULL DEFAULT 'USER'
    CHECK (owner_kind IN ('USER', 'SERVICE'));
UPDATE api_keys SET owner_kind = (SELECT kind FROM accounts WHERE accounts.id = api_keys.account_id);
DROP INDEX api_keys_account;
DROP INDEX api_keys_tenant;
CREATE INDEX api_keys_account_created ON api_keys(account_id, created_at, rowid);
CREATE INDEX api_keys_tenant_created ON api_keys(tenant_id, created_at, rowid);
CREATE INDEX api_keys_tenant_kind_created ON api_keys(tenant_id, owner_kind, created_at, rowid);
DROP INDEX accounts_tenant;
CREATE INDEX accounts_tenant_kind_created ON accounts(tenant_id, kind, created_at, rowid);
DROP INDEX invitations_tenant;
CREATE INDEX invitations_tenant_created ON invitations(tenant_id, created_at, rowid);
