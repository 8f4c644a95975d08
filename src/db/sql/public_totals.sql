SELECT COUNT(*) AS "received!: i64",
       CAST(COALESCE(SUM(validated_at IS NOT NULL), 0) AS SIGNED) AS "validated!: i64",
       CAST(COALESCE(SUM(status = ?), 0) AS SIGNED) AS "closed!: i64",
       CAST(COALESCE(SUM(status = ?), 0) AS SIGNED) AS "refused!: i64"
FROM reports WHERE status <> ?
