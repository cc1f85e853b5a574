-- When a subscription was disabled (by its failures or through the API), NULL while enabled
-- (issue 22, operational events). A disable for failing is stamped with the time of the delivery
-- that caused it, in the same transaction, so the dispatcher can tell, from what is stored, that
-- this delivery disabled it and announce it once (apps/consumer/src/delivery/operational.ts).
ALTER TABLE subscriptions ADD COLUMN disabled_at TEXT CHECK (disabled_at IS NULL OR enabled = 0);
