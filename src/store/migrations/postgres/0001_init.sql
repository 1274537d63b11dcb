-- PostgreSQL's schema is SQLite's, version for version. Times are RFC 3339
-- text in UTC with fixed width, compared byte by byte (COLLATE "C" on every
-- text column), so both backends sort alike. `rowid` is SQLite's implicit
-- insertion order, made explicit.
CREATE TABLE tenants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    slug        TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE accounts (
    id          TEXT COLLATE "C" PRIMARY KEY,
    kind        TEXT COLLATE "C" NOT NULL CHECK (kind IN ('USER', 'SERVICE')),
    name        TEXT COLLATE "C" NOT NULL,
    email       TEXT COLLATE "C" UNIQUE,
    tenant_id   TEXT COLLATE "C" REFERENCES tenants(id) ON DELETE CASCADE,
    created_at  TEXT COLLATE "C" NOT NULL,
    rowid       BIGSERIAL NOT NULL UNIQUE,
    CHECK ((kind = 'USER' AND email IS NOT NULL AND tenant_id IS NULL)
        OR (kind = 'SERVICE' AND email IS NULL AND tenant_id IS NOT NULL))
);
CREATE INDEX accounts_tenant ON accounts(tenant_id);

CREATE TABLE memberships (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    account_id  TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role        TEXT COLLATE "C" NOT NULL CHECK (role IN ('TENANT_ADMIN', 'USER', 'READ_ONLY_USER')),
    created_at  TEXT COLLATE "C" NOT NULL,
    rowid       BIGSERIAL NOT NULL UNIQUE,
    UNIQUE (account_id, tenant_id)
);
CREATE INDEX memberships_tenant ON memberships(tenant_id, rowid);

CREATE TABLE api_keys (
    id            TEXT COLLATE "C" PRIMARY KEY,
    hash          BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32),
    name          TEXT COLLATE "C" NOT NULL,
    account_id    TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_by    TEXT COLLATE "C" REFERENCES accounts(id) ON DELETE SET NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C",
    last_used_at  TEXT COLLATE "C",
    rowid         BIGSERIAL NOT NULL UNIQUE
);
CREATE INDEX api_keys_account ON api_keys(account_id);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

CREATE TABLE revoked_keys (
    hash        BYTEA PRIMARY KEY CHECK (length(hash) = 32),
    key_id      TEXT COLLATE "C" NOT NULL,
    reason      TEXT COLLATE "C" NOT NULL,
    revoked_at  TEXT COLLATE "C" NOT NULL
);
