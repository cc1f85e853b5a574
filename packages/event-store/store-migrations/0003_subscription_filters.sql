-- Filters and transformations on subscriptions (issue 22). filter is the subscription's filter
-- document as the API took it (a JSON object, Convoy's dialect: @triggers/webhooks filter.ts),
-- NULL for none: fan-out creates a delivery only for the events it matches. transform is a JSONata
-- expression whose result is the body delivered instead of the event, NULL for none. Both are
-- checked by the API before they are stored.
ALTER TABLE subscriptions ADD COLUMN filter TEXT CHECK (filter IS NULL OR json_type(filter) = 'object');
ALTER TABLE subscriptions ADD COLUMN transform TEXT;
