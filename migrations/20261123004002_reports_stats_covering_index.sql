-- The national statistics (back office without a territory, public page)
-- aggregate every report. Each figure reads only the columns below, so with
-- this index they read it alone (a range or full index scan, a fraction of
-- the table) instead of every row of reports: status first, since every
-- figure leaves archived reports out or picks one status.
CREATE INDEX idx_reports_stats ON reports (
    status, created_at, validated_at, closed_at, declarant_profile,
    severity_score_raw, severity_score, closure_reason, refusal_reason
);
