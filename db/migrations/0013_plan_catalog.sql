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
-- The Plans page counts each plan's orders by state, and a change of the
-- catalog asks whether a plan was ever sold.
CREATE INDEX esim_plans_plan ON esim_plans(plan_id, state, expires_at);
