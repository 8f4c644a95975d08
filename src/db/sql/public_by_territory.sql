SELECT t.code, t.name, COUNT(*) AS "received!: i64",
       CAST(COALESCE(SUM(r.status = ?), 0) AS SIGNED) AS "closed!: i64"
FROM reports r JOIN territories t ON t.id = r.territory_id
WHERE r.status <> ?
GROUP BY t.id, t.code, t.name ORDER BY t.code
