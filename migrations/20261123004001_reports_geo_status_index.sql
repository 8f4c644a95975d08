-- A super administrator zoomed in on a few streets without choosing a
-- territory: the map reads the reports of a small box out of the whole
-- country. An index led by the status (20261123005001) reads every
-- non-archived report for it and the optimizer scanned the table instead;
-- led by the latitude, the index reads the box's latitude band only, and
-- with the status in it the count and the clusters need no row.
CREATE INDEX idx_reports_geo_status ON reports (latitude, longitude, status);
