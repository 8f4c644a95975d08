SELECT DATE_FORMAT(created_at, '%Y-%m') AS "month!: String", COUNT(*) AS "received!: i64",
       CAST(COALESCE(SUM(status = ?), 0) AS SIGNED) AS "closed!: i64"
FROM reports WHERE status <> ?
GROUP BY DATE_FORMAT(created_at, '%Y-%m') ORDER BY 1 DESC LIMIT 24
