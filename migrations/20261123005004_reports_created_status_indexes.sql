-- The list's date views (a territory's reports filed between two dates,
-- the national list newest first) check every candidate's status (archived
-- reports are out of the list unless asked for). With the status in the
-- index that check, and the count that follows, no longer read the rows.
-- Extended indexes replace the narrower ones.
CREATE INDEX idx_reports_territory_created_status ON reports (territory_id, created_at, status);
DROP INDEX idx_reports_territory_created ON reports;
CREATE INDEX idx_reports_created_status ON reports (created_at, status);
DROP INDEX idx_reports_created ON reports;
