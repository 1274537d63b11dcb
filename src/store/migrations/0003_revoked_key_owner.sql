-- Whose a revoked key was and where it worked, so that revoking it again can
-- say "already revoked" to whoever may see it (and "not found" to everyone
-- else). Rows revoked before this migration have neither.
ALTER TABLE revoked_keys ADD COLUMN account_id TEXT;
ALTER TABLE revoked_keys ADD COLUMN tenant_id TEXT;
CREATE INDEX revoked_keys_key ON revoked_keys(key_id);
