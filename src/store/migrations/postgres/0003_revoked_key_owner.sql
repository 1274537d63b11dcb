ALTER TABLE revoked_keys ADD COLUMN account_id TEXT COLLATE "C";
ALTER TABLE revoked_keys ADD COLUMN tenant_id TEXT COLLATE "C";
CREATE INDEX revoked_keys_key ON revoked_keys(key_id);
