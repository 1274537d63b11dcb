-- Times are RFC 3339 text in UTC with fixed width, so they sort as they compare.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
) STRICT;

-- Users and service accounts share one id space.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('USER', 'SERVICE')),
    name        TEXT NOT NULL,
    email       TEXT UNIQUE,
    tenant_id   TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    CHECK ((kind = 'USER' AND email IS NOT NULL AND tenant_id IS NULL)
        OR (kind = 'SERVICE' AND email IS NULL AND tenant_id IS NOT NULL))
) STRICT;
CREATE INDEX accounts_tenant ON accounts(tenant_id);

CREATE TABLE memberships (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('TENANT_ADMIN', 'USER', 'READ_ONLY_USER')),
    created_at  TEXT NOT NULL,
    UNIQUE (account_id, tenant_id)
) STRICT;
CREATE INDEX memberships_tenant ON memberships(tenant_id);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    hash          BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    name          TEXT NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_by    TEXT REFERENCES accounts(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT
) STRICT;
CREATE INDEX api_keys_account ON api_keys(account_id);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

-- Hashes of keys that no longer exist, so a client using one is told why
-- (revoked, or its service account deleted) instead of "unknown".
CREATE TABLE revoked_keys (
    hash        BLOB PRIMARY KEY CHECK (length(hash) = 32),
    key_id      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    revoked_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
