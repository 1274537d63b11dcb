ALTER TABLE api_keys ADD COLUMN role TEXT COLLATE "C" CHECK (role IN ('TENANT_ADMIN', 'USER', 'READ_ONLY_USER'));
ALTER TABLE api_keys ADD COLUMN disabled_at TEXT COLLATE "C";
ALTER TABLE api_keys ADD COLUMN rotated_from TEXT COLLATE "C";
ALTER TABLE api_keys ADD COLUMN rotated_at TEXT COLLATE "C";
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT COLLATE "C";
ALTER TABLE api_keys ADD COLUMN grace_until TEXT COLLATE "C";
CREATE INDEX api_keys_grace ON api_keys(grace_until) WHERE grace_until IS NOT NULL;
ALTER TABLE revoked_keys ADD COLUMN replaced_by TEXT COLLATE "C";

CREATE TABLE audit_events (
    id                BIGSERIAL PRIMARY KEY,
    at                TEXT COLLATE "C" NOT NULL,
    request_id        TEXT COLLATE "C",
    actor_key_id      TEXT COLLATE "C",
    actor_account_id  TEXT COLLATE "C",
    tenant_id         TEXT COLLATE "C",
    action            TEXT COLLATE "C" NOT NULL,
    resource_type     TEXT COLLATE "C" NOT NULL,
    resource_id       TEXT COLLATE "C",
    outcome           TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('allowed', 'denied', 'failed')),
    policies          TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    details           TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    message           TEXT COLLATE "C"
);
CREATE INDEX audit_tenant_at ON audit_events(tenant_id, at);
CREATE INDEX audit_actor_at ON audit_events(tenant_id, actor_key_id, at);
CREATE INDEX audit_resource_at ON audit_events(tenant_id, resource_id, at);
CREATE INDEX audit_action_at ON audit_events(tenant_id, action, at);
CREATE INDEX audit_outcome_at ON audit_events(tenant_id, outcome, at);
CREATE INDEX audit_at ON audit_events(at);
-- Append-only: retention deletes old rows; nothing edits one.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
