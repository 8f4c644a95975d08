-- The default back-office list (every visible report, newest first) and the
-- national views sort by created_at without a territory or status prefix:
-- with this index the first page is read backwards from the index and the
-- scan stops after one page, instead of sorting every report (BENCHMARKS.md).
CREATE INDEX idx_reports_created ON reports (created_at);
