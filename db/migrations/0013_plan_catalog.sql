-- The plan catalog is kept in the portal (db/catalog.go has its rules).
-- A plan's price has its currency, and every order keeps the price it was
-- sold at, so the order, its confirmation and any refund read the price
-- paid whatever the catalog says later. Orders made before this column
-- were sold at the catalog's price, which nothing could change until now.
ALTER TABLE plans ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD' CHECK (length(currency) = 3 AND currency = upper(currency));
ALTER TABLE esim_plans ADD COLUMN price_cents INTEGER NOT NULL DEFAULT 0 CHECK (price_cents >= 0);
ALTER TABLE esim_plans ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';
UPDATE esim_plans SET price_cents = (SELECT p.price_cents FROM plans p WHERE p.id = esim_plans.plan_id),
    currency = (SELECT p.currency FROM plans p WHERE p.id = esim_plans.plan_id);

-- How many orders each plan has had, cancelled ones included: what fixes a
-- plan's data, profile and destinations, and what the Plans page shows.
-- Orders are never deleted and never change plan, so a count kept by the
-- insert cannot drift, whoever inserts (Add line, Add plan, the scale load);
-- counting a million orders for each page would take a quarter second.
ALTER TABLE plans ADD COLUMN sold INTEGER NOT NULL DEFAULT 0 CHECK (sold >= 0);
UPDATE plans SET sold = (SELECT count(*) FROM esim_plans ep WHERE ep.plan_id = plans.id);
CREATE TRIGGER esim_plans_sold AFTER INSERT ON esim_plans BEGIN
    UPDATE plans SET sold = sold + 1 WHERE id = NEW.plan_id;
END;
-- The plans waiting and running now, by plan, for the Plans page: the few
-- rows in those states, not every order.
CREATE INDEX esim_plans_queued_by_plan ON esim_plans(plan_id) WHERE state = 'queued';
CREATE INDEX esim_plans_active_by_plan ON esim_plans(plan_id, expires_at) WHERE state = 'active';
