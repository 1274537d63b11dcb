-- Key lifecycle. A restricted key carries its own role (NULL: its owner's);
-- a disabled key refuses until it is enabled; a rotated key names its
-- replacement and works until its grace ends (then it is revoked, and the
-- tombstone keeps the replacement's id for the message).
ALTER TABLE api_keys ADD COLUMN role TEXT CHECK (role IN ('TENANT_ADMIN', 'USER', 'READ_ONLY_USER'));
ALTER TABLE api_keys ADD COLUMN disabled_at TEXT;
ALTER TABLE api_keys ADD COLUMN rotated_from TEXT;
ALTER TABLE api_keys ADD COLUMN rotated_at TEXT;
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;
ALTER TABLE api_keys ADD COLUMN grace_until TEXT;
CREATE INDEX api_keys_grace ON api_keys(grace_until) WHERE grace_until IS NOT NULL;
ALTER TABLE revoked_keys ADD COLUMN replaced_by TEXT;

-- The audit log: one row per mutation (in its transaction) and per refused
-- request. Never a secret, a token or a hash. `tenant_id` NULL: server-wide
-- (tenant creation by the operator, unrecognisable credentials).
CREATE TABLE audit_events (
    id                INTEGER PRIMARY KEY,
    at                TEXT NOT NULL,
    request_id        TEXT,
    actor_key_id      TEXT,
    actor_account_id  TEXT,
    tenant_id         TEXT,
    action            TEXT NOT NULL,
    resource_type     TEXT NOT NULL,
    resource_id       TEXT,
    outcome           TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied', 'failed')),
    policies          TEXT NOT NULL DEFAULT '[]',
    details           TEXT NOT NULL DEFAULT '{}',
    message           TEXT
) STRICT;
-- Each filter of `audit_event` reads through an index, newest first.
CREATE INDEX audit_tenant_at ON audit_events(tenant_id, at);
CREATE INDEX audit_actor_at ON audit_events(tenant_id, actor_key_id, at);
CREATE INDEX audit_resource_at ON audit_events(tenant_id, resource_id, at);
CREATE INDEX audit_action_at ON audit_events(tenant_id, action, at);
CREATE INDEX audit_outcome_at ON audit_events(tenant_id, outcome, at);
CREATE INDEX audit_at ON audit_events(at);
-- Append-only: retention deletes old rows; nothing edits one.
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('audit_events', 'audit_tenant_at', '1000000 100000 1'),
    ('audit_events', 'audit_actor_at', '1000000 100000 100 1'),
    ('audit_events', 'audit_resource_at', '1000000 100000 10 1'),
    ('audit_events', 'audit_action_at', '1000000 100000 10000 1'),
    ('audit_events', 'audit_outcome_at', '1000000 100000 50000 1'),
    ('audit_events', 'audit_at', '1000000 1');
