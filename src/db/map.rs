//! The map's queries: the reports of the list (same filters, same role
//! scope, through [`super::cases::push_where`]) inside a bounding box,
//! either one by one or grouped on a grid by the database.
//!
//! Clusters are computed with `GROUP BY FLOOR(lat / cell), FLOOR(lon / cell)`:
//! the answer has at most a few thousand rows whatever the number of
//! reports, and the `(territory_id, latitude, longitude)` index serves the
//! box when a territory is chosen.

use sqlx::{MySql, QueryBuilder, Row};

use super::{
    Pool,
    cases::{ExplainRow, explain_rows, push_where},
};
use crate::domain::{
    case_filter::CaseFilter,
    map::{BBox, Grouping},
    permissions::ReportScope,
};

/// One report on the map.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MapPoint {
    pub uuid: String,
    pub reference: String,
    pub status: String,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub severity: Option<f64>,
}

/// Reports grouped in one grid cell.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MapCluster {
    pub count: i64,
    /// Centroid of the cell's reports.
    pub lat: f64,
    pub lon: f64,
    /// Extent of the cell's reports, for "zoom on this cluster".
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

/// The reports a map view asks about: the list's selection inside a box.
struct View<'v> {
    scope: &'v ReportScope,
    filter: &'v CaseFilter,
    user_id: u64,
    bbox: &'v BBox,
}

impl<'v> View<'v> {
    fn new(scope: &'v ReportScope, filter: &'v CaseFilter, user_id: u64, bbox: &'v BBox) -> Self {
        Self {
            scope,
            filter,
            user_id,
            bbox,
        }
    }

    /// `{prefix}SELECT {columns} FROM reports r WHERE <the selection> AND
    /// <inside the box>`; `prefix` is empty, or `EXPLAIN `.
    fn query<'a>(&self, prefix: &str, columns: &str) -> QueryBuilder<'a, MySql> {
        let mut qb: QueryBuilder<MySql> =
            QueryBuilder::new(format!("{prefix}SELECT {columns} FROM reports r"));
        push_where(&mut qb, self.scope, self.filter, self.user_id);
        qb.push(" AND r.latitude BETWEEN ")
            .push_bind(self.bbox.south)
            .push(" AND ")
            .push_bind(self.bbox.north)
            .push(" AND r.longitude BETWEEN ")
            .push_bind(self.bbox.west)
            .push(" AND ")
            .push_bind(self.bbox.east);
        qb
    }

    /// The query of [`count_in_box`].
    fn count_query<'a>(&self, prefix: &str) -> QueryBuilder<'a, MySql> {
        self.query(prefix, "COUNT(*)")
    }

    /// The query of [`points`].
    fn points_query<'a>(&self, prefix: &str, limit: i64) -> QueryBuilder<'a, MySql> {
        let mut qb = self.query(
            prefix,
            "r.uuid, r.reference, r.status, CAST(r.latitude AS DOUBLE) AS lat,
             CAST(r.longitude AS DOUBLE) AS lon,
             CONCAT(r.address_line, ', ', r.postal_code, ' ', r.city) AS address,
             CAST(r.severity_score AS DOUBLE) AS severity",
        );
        qb.push(" ORDER BY r.severity_score DESC, r.id DESC LIMIT ")
            .push_bind(limit);
        qb
    }

    /// The query of [`clusters`].
    fn clusters_query<'a>(&self, prefix: &str, grouping: Grouping) -> QueryBuilder<'a, MySql> {
        let mut qb = self.query(
            prefix,
            "COUNT(*) AS n,
             CAST(AVG(r.latitude) AS DOUBLE) AS lat, CAST(AVG(r.longitude) AS DOUBLE) AS lon,
             CAST(MIN(r.latitude) AS DOUBLE) AS south, CAST(MIN(r.longitude) AS DOUBLE) AS west,
             CAST(MAX(r.latitude) AS DOUBLE) AS north, CAST(MAX(r.longitude) AS DOUBLE) AS east",
        );
        match grouping {
            // Read in the order of the (territory_id, status, latitude,
            // longitude) index: no temporary table.
            Grouping::Territory => {
                qb.push(" GROUP BY r.territory_id");
            }
            Grouping::Grid(cell) => {
                qb.push(" GROUP BY FLOOR(r.latitude / ")
                    .push_bind(cell)
                    .push("), FLOOR(r.longitude / ")
                    .push_bind(cell)
                    .push(")");
            }
        }
        qb
    }
}

/// Number of reports of the selection inside the box.
pub async fn count_in_box(
    pool: &Pool,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
    bbox: &BBox,
) -> Result<i64, sqlx::Error> {
    let view = View::new(scope, filter, user_id, bbox);
    view.count_query("")
        .build()
        .fetch_one(pool)
        .await?
        .try_get(0)
}

/// The reports inside the box, most severe first, at most `limit`.
pub async fn points(
    pool: &Pool,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
    bbox: &BBox,
    limit: i64,
) -> Result<Vec<MapPoint>, sqlx::Error> {
    let view = View::new(scope, filter, user_id, bbox);
    let rows = view.points_query("", limit).build().fetch_all(pool).await?;
    rows.into_iter()
        .map(|row| {
            Ok(MapPoint {
                uuid: row.try_get("uuid")?,
                reference: row.try_get("reference")?,
                status: row.try_get("status")?,
                lat: row.try_get("lat")?,
                lon: row.try_get("lon")?,
                address: row.try_get("address")?,
                severity: row.try_get("severity")?,
            })
        })
        .collect()
}

/// The reports inside the box, grouped by territory or on a grid.
pub async fn clusters(
    pool: &Pool,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
    bbox: &BBox,
    grouping: Grouping,
) -> Result<Vec<MapCluster>, sqlx::Error> {
    let view = View::new(scope, filter, user_id, bbox);
    let rows = view
        .clusters_query("", grouping)
        .build()
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(MapCluster {
                count: row.try_get("n")?,
                lat: row.try_get("lat")?,
                lon: row.try_get("lon")?,
                south: row.try_get("south")?,
                west: row.try_get("west")?,
                north: row.try_get("north")?,
                east: row.try_get("east")?,
            })
        })
        .collect()
}

/// `EXPLAIN` of each map query.
#[derive(Debug, Clone)]
pub struct MapPlans {
    pub count: Vec<ExplainRow>,
    pub points: Vec<ExplainRow>,
    pub clusters: Vec<ExplainRow>,
}

/// `EXPLAIN` of the three map queries (count, points with this `limit`,
/// clusters with this `grouping`), built by the same code as the queries
/// (tests/it/explain.rs asserts that they use indexes).
pub async fn explain_map(
    pool: &Pool,
    scope: &ReportScope,
    filter: &CaseFilter,
    user_id: u64,
    bbox: &BBox,
    limit: i64,
    grouping: Grouping,
) -> Result<MapPlans, sqlx::Error> {
    let view = View::new(scope, filter, user_id, bbox);
    let explain = |qb| explain_rows(pool, [qb]);
    Ok(MapPlans {
        count: explain(view.count_query("EXPLAIN ")).await?,
        points: explain(view.points_query("EXPLAIN ", limit)).await?,
        clusters: explain(view.clusters_query("EXPLAIN ", grouping)).await?,
    })
}

/// The bounding boxes (`{"n","e","s","w"}` JSON) of these territories, or
/// of every active territory when `ids` is `None`: the map's first view.
pub async fn territory_boxes(
    pool: &Pool,
    ids: Option<&[u32]>,
) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let mut qb: QueryBuilder<MySql> =
        QueryBuilder::new("SELECT bbox FROM territories WHERE bbox IS NOT NULL");
    match ids {
        None => {
            qb.push(" AND is_active = TRUE");
        }
        Some(ids) => {
            qb.push(" AND id IN (");
            let mut list = qb.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            if ids.is_empty() {
                list.push("NULL");
            }
            qb.push(")");
        }
    }
    let rows = qb.build().fetch_all(pool).await?;
    rows.into_iter()
        .map(|row| {
            row.try_get::<sqlx::types::Json<serde_json::Value>, _>("bbox")
                .map(|j| j.0)
        })
        .collect()
}
