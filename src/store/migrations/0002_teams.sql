-- Server admins may create tenants (the bootstrap admin is one).
ALTER TABLE accounts ADD COLUMN server_admin INTEGER NOT NULL DEFAULT 0 CHECK (server_admin IN (0, 1));

-- Membership invitations. Like keys, only the token's hash is stored.
CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    hash         BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('TENANT_ADMIN', 'USER', 'READ_ONLY_USER')),
    created_by   TEXT REFERENCES accounts(id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    accepted_at  TEXT,
    accepted_by  TEXT REFERENCES accounts(id) ON DELETE SET NULL,
    revoked_at   TEXT
) STRICT;
CREATE INDEX invitations_tenant ON invitations(tenant_id);
