-- Retention of the webhook tables (issue 14, packages/event-store/src/retention.ts). A delivery
-- is purged only once its event is gone (its UNIQUE (api_key_id, event_id, subscription_id) row is
-- what keeps a replayed event from being delivered twice), and an attempt once its delivery is
-- gone. Each purge walks its table oldest first, across tenants; without these indexes each round
-- would scan the whole table.
CREATE INDEX deliveries_by_created ON deliveries (created_at);
CREATE INDEX delivery_attempts_by_attempted ON delivery_attempts (attempted_at);
-- Signing secrets replaced by a rotation are wiped once their overlap has ended: only the few
-- subscriptions with a previous secret are indexed.
CREATE INDEX subscriptions_previous_secret_expiry ON subscriptions (previous_secret_expires_at)
  WHERE previous_secret IS NOT NULL;
