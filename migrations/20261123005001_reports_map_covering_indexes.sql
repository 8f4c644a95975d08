-- The map reads only the status, latitude and longitude of the reports of a
-- territory (or of the country). With those columns in the index, its grid
-- clusters and counts are computed from the index alone instead of reading
-- every row of the box: 53,000 rows for a big département, 920,000 for the
-- country at a million reports (BENCHMARKS.md). They replace the two geo
-- indexes without status.
CREATE INDEX idx_reports_territory_status_geo ON reports (territory_id, status, latitude, longitude);
CREATE INDEX idx_reports_status_geo ON reports (status, latitude, longitude);
DROP INDEX idx_reports_territory_geo ON reports;
DROP INDEX idx_reports_geo ON reports;
