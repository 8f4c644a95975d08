SELECT oc.label, COUNT(DISTINCT r.id) AS "count!: i64"
FROM reports r
JOIN report_defects rd ON rd.report_id = r.id
JOIN defect_precisions dp ON dp.id = rd.precision_id
JOIN defect_criteria dc ON dc.id = dp.criterion_id
JOIN defect_office_categories oc ON oc.id = dc.office_category_id
WHERE r.status <> ?
GROUP BY oc.id, oc.label ORDER BY 2 DESC, oc.label
