-- intake: no sequence, so that nothing counts every report ever received. The
-- one writer numbers reports itself (highest pending + 1, under a table lock).
ALTER TABLE intake_reports ALTER COLUMN seq DROP DEFAULT;
DROP SEQUENCE IF EXISTS intake_reports_seq_seq;
-- intake: receipts expire by day (receipt_days); the sweep finds them by day.
CREATE INDEX intake_receipts_received ON intake_receipts (received);
