-- The table the example key result reads (PostgreSQL): one row per customer, kept by the
-- product's analytics job. `updated_at` moves on every change (the trigger), so okrsync
-- pulls only the rows that changed since its last pull; the index makes that one range scan.
CREATE TABLE customer_activity (
    customer_id             bigint PRIMARY KEY,
    account_name            text NOT NULL,
    signed_on               date NOT NULL,
    active_days_first_month integer NOT NULL DEFAULT 0,
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX customer_activity_changes ON customer_activity (updated_at, customer_id);

CREATE FUNCTION customer_activity_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER customer_activity_touch BEFORE UPDATE ON customer_activity
    FOR EACH ROW EXECUTE FUNCTION customer_activity_touch();

-- okrsync reads with a role of its own that may only read:
--   CREATE ROLE okrsync LOGIN PASSWORD '…';
--   GRANT USAGE ON SCHEMA public TO okrsync;
--   GRANT SELECT ON customer_activity TO okrsync;
