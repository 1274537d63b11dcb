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
CREATE INDEX accounts_tenant_kind_created ON accounts(tenant_id, kind, created_at);
CREATE INDEX invitations_tenant_created ON invitations(tenant_id, created_at);
