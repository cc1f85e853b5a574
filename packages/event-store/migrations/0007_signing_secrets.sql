-- Every secret replaced by a rotation signs for its own 24 hours (issue 19): a second rotation
-- within the overlap no longer drops the first secret at once. previous_secrets holds them as a
-- JSON array of {"secret", "expires_at"}, oldest first, NULL when there is none; it replaces the
-- single previous_secret and its expiry (carried over here). The retention run drops each entry
-- once it has expired, and the column back to NULL once none is left.
ALTER TABLE subscriptions ADD COLUMN previous_secrets TEXT
  CHECK (previous_secrets IS NULL OR json_type(previous_secrets) = 'array');
UPDATE subscriptions
  SET previous_secrets = json_array(json_object('secret', previous_secret, 'expires_at', previous_secret_expires_at))
  WHERE previous_secret IS NOT NULL;
DROP INDEX subscriptions_previous_secret_expiry;
ALTER TABLE subscriptions DROP COLUMN previous_secret;
ALTER TABLE subscriptions DROP COLUMN previous_secret_expires_at;
-- Only the few subscriptions with replaced secrets are indexed: what the retention run walks.
CREATE INDEX subscriptions_with_previous_secrets ON subscriptions (api_key_id, id)
  WHERE previous_secrets IS NOT NULL;
