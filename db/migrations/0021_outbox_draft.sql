-- What a QR email or an order confirmation will say, as JSON, written with
-- the change that queues it: the email is rendered when it is read or sent,
-- outside the writer's transaction, and its text and HTML are kept once it
-- is sent (draft then NULL). Rows of other kinds, and every row queued before
-- this version, hold their text and HTML from the start.
ALTER TABLE outbox ADD COLUMN draft TEXT;
