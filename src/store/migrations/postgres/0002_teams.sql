ALTER TABLE accounts ADD COLUMN server_admin BIGINT NOT NULL DEFAULT 0 CHECK (server_admin IN (0, 1));

CREATE TABLE invitations (
    id           TEXT COLLATE "C" PRIMARY KEY,
    hash         BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32),
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email        TEXT COLLATE "C" NOT NULL,
    role         TEXT COLLATE "C" NOT NULL CHECK (role IN ('TENANT_ADMIN', 'USER', 'READ_ONLY_USER')),
    created_by   TEXT COLLATE "C" REFERENCES accounts(id) ON DELETE SET NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    expires_at   TEXT COLLATE "C" NOT NULL,
    accepted_at  TEXT COLLATE "C",
    accepted_by  TEXT COLLATE "C" REFERENCES accounts(id) ON DELETE SET NULL,
    revoked_at   TEXT COLLATE "C",
    rowid        BIGSERIAL NOT NULL UNIQUE
);
CREATE INDEX invitations_tenant ON invitations(tenant_id);
