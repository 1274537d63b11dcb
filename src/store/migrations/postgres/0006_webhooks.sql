-- Webhooks: endpoints a tenant admin registers, the events each wants, and
-- the outbox of deliveries, written in the transaction of the change they
-- report (so a crash between the change and the send loses nothing).
CREATE TABLE webhooks (
    id           TEXT COLLATE "C" PRIMARY KEY,
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url          TEXT COLLATE "C" NOT NULL,
    description  TEXT COLLATE "C",
    -- The events it wants, a JSON array (webhook_subscriptions is the index).
    events       TEXT COLLATE "C" NOT NULL,
    -- The HMAC key deliveries are signed with. It must be readable to sign,
    -- so it is stored as is; it is shown to people once, at creation.
    secret       TEXT COLLATE "C" NOT NULL,
    created_by   TEXT COLLATE "C",
    created_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX webhooks_tenant_created ON webhooks(tenant_id, created_at);

CREATE TABLE webhook_subscriptions (
    webhook_id  TEXT COLLATE "C" NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    event       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, event, webhook_id)
);
CREATE INDEX webhook_subscriptions_webhook ON webhook_subscriptions(webhook_id);

CREATE TABLE webhook_deliveries (
    id                TEXT COLLATE "C" PRIMARY KEY,
    webhook_id        TEXT COLLATE "C" NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    tenant_id         TEXT COLLATE "C" NOT NULL,
    event             TEXT COLLATE "C" NOT NULL,
    payload           TEXT COLLATE "C" NOT NULL,
    status            TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts          BIGINT NOT NULL DEFAULT 0,
    -- pending: when the next attempt is due; sending: when the claim lapses.
    next_attempt_at   TEXT COLLATE "C",
    last_attempt_at   TEXT COLLATE "C",
    last_status_code  BIGINT,
    last_error        TEXT COLLATE "C",
    created_at        TEXT COLLATE "C" NOT NULL,
    -- Retries stop here (24 h after the event, or after a redelivery).
    give_up_at        TEXT COLLATE "C" NOT NULL,
    delivered_at      TEXT COLLATE "C"
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at)
    WHERE status IN ('pending', 'sending');
CREATE INDEX webhook_deliveries_webhook_created ON webhook_deliveries(webhook_id, created_at);
CREATE INDEX webhook_deliveries_tenant_created ON webhook_deliveries(tenant_id, created_at);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries(created_at);

-- When a key's next expiry notice is due (NULL: none is): expiring at each
-- lead time, then expired. Due at once for a key with an expiry; the
-- housekeeping run that takes it schedules the next.
ALTER TABLE api_keys ADD COLUMN next_notice_at TEXT COLLATE "C";
UPDATE api_keys SET next_notice_at = created_at WHERE expires_at IS NOT NULL;
CREATE INDEX api_keys_next_notice ON api_keys(next_notice_at) WHERE next_notice_at IS NOT NULL;
