//! The case exports: the column catalogue and the row stream.
//!
//! Design note: this module knows nothing of HTTP, CSV or XLSX. It turns a
//! selection (role scope + list filters) and a choice of columns into a
//! stream of rows of text cells, read row by row from the database (sqlx's
//! `fetch`, never `fetch_all`), so that memory stays flat whatever the size.
//! The back-office exports (`web::office::exports`) encode that stream as
//! CSV or XLSX; a later partner API (an authenticated URL for a partner's
//! own cases) reuses it as is with `ReportScope::Partners(vec![partner])`
//! and the same column keys, which are therefore a stable contract: add
//! columns, never rename a key.
//!
//! Every cell is computed as text by the database (dates as `JJ/MM/AAAA`,
//! booleans as Oui/Non), so that the CSV and the XLSX say the same thing.

use std::time::Duration;

use futures::{Stream, StreamExt};
use sqlx::{MySql, QueryBuilder, Row, mysql::MySqlConnectOptions};

use super::{Pool, cases::push_where};
use crate::{
    config::Config,
    domain::{case::ReportStatus, case_filter::CaseFilter, permissions::ReportScope},
};

/// The exports' own pool (`EXPORT_DATABASE_MAX_CONNECTIONS`), apart from
/// the site's: an export holds its connection for as long as its client
/// reads, and must never hold one the pages need. Lazy like the main pool.
/// An export waits for a connection of this pool as long as a stalled
/// export may keep one (the write timeout), rather than failing at once.
pub fn connect_pool(config: &Config) -> anyhow::Result<Pool> {
    let options: MySqlConnectOptions = config.database_url.expose().parse()?;
    Ok(super::pool_options(config.exports.database_max_connections)
        .acquire_timeout(config.exports.write_timeout + Duration::from_secs(3))
        .connect_lazy_with(options))
}

/// One column an export can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportColumn {
    /// Stable key, used in `colonnes=` and by API clients.
    pub key: &'static str,
    /// Header of the column (French).
    pub label: &'static str,
    /// SQL expression over `reports r` (and `territories t`) giving text or
    /// NULL. Static text: never built from input.
    sql: &'static str,
    /// Part of the default selection.
    pub default: bool,
    /// What a stored value shows as in the file (a state's French label:
    /// the code → label mapping lives with the state, not in SQL).
    cell: Cell,
}

/// How a stored value is written in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// As stored.
    Stored,
    /// A report status, by its label.
    ReportStatus,
}

impl Cell {
    fn render(self, value: String) -> String {
        match self {
            Self::Stored => value,
            Self::ReportStatus => match ReportStatus::parse(&value) {
                Some(status) => status.label().to_owned(),
                None => value,
            },
        }
    }
}

const fn col(
    key: &'static str,
    label: &'static str,
    sql: &'static str,
    default: bool,
) -> ExportColumn {
    ExportColumn {
        key,
        label,
        sql,
        default,
        cell: Cell::Stored,
    }
}

impl ExportColumn {
    const fn shown_as(self, cell: Cell) -> Self {
        Self { cell, ..self }
    }
}

macro_rules! yes_no {
    ($c:literal) => {
        concat!(
            "CASE ",
            $c,
            " WHEN TRUE THEN 'Oui' WHEN FALSE THEN 'Non' ELSE NULL END"
        )
    };
}

/// The catalogue, in the order columns appear in a file (Histologe's
/// export columns, as far as our schema holds them).
pub const COLUMNS: &[ExportColumn] = &[
    col("reference", "Référence", "r.reference", true),
    col("territoire", "Territoire", "t.code", true),
    col(
        "depot",
        "Déposé le",
        "DATE_FORMAT(r.created_at, '%d/%m/%Y')",
        true,
    ),
    col("statut", "Statut", "r.status", true).shown_as(Cell::ReportStatus),
    col(
        "profil_declarant",
        "Profil déclarant",
        "r.declarant_profile",
        true,
    ),
    col("nom_occupant", "Nom occupant", "r.occupant_last_name", true),
    col(
        "prenom_occupant",
        "Prénom occupant",
        "r.occupant_first_name",
        true,
    ),
    col(
        "email_occupant",
        "E-mail occupant",
        "r.occupant_email",
        false,
    ),
    col(
        "tel_occupant",
        "Téléphone occupant",
        "r.occupant_phone",
        false,
    ),
    col("adresse", "Adresse", "r.address_line", true),
    col(
        "complement_adresse",
        "Complément d’adresse",
        "r.address_complement",
        false,
    ),
    col("etage", "Étage", "r.floor", false),
    col("code_postal", "Code postal", "r.postal_code", true),
    col("ville", "Ville", "r.city", true),
    col("insee", "Code INSEE", "r.insee_code", false),
    col("latitude", "Latitude", "CAST(r.latitude AS CHAR)", false),
    col("longitude", "Longitude", "CAST(r.longitude AS CHAR)", false),
    col(
        "criticite",
        "Criticité",
        "CAST(r.severity_score AS CHAR)",
        true,
    ),
    col(
        "nom_declarant",
        "Nom déclarant",
        "r.declarant_last_name",
        false,
    ),
    col(
        "prenom_declarant",
        "Prénom déclarant",
        "r.declarant_first_name",
        false,
    ),
    col(
        "email_declarant",
        "E-mail déclarant",
        "r.declarant_email",
        false,
    ),
    col(
        "structure_declarant",
        "Structure déclarant",
        "r.declarant_structure",
        false,
    ),
    col("nom_bailleur", "Nom bailleur", "r.landlord_name", false),
    col(
        "email_bailleur",
        "E-mail bailleur",
        "r.landlord_email",
        false,
    ),
    col(
        "tel_bailleur",
        "Téléphone bailleur",
        "r.landlord_phone",
        false,
    ),
    col(
        "adresse_bailleur",
        "Adresse bailleur",
        "CONCAT_WS(' ', r.landlord_address, r.landlord_postal_code, r.landlord_city)",
        false,
    ),
    col(
        "parc_social",
        "Logement social",
        yes_no!("r.is_public_housing"),
        false,
    ),
    col(
        "type_logement",
        "Type de logement",
        "r.dwelling_type",
        false,
    ),
    col(
        "superficie",
        "Superficie (m²)",
        "CAST(r.dwelling_surface AS CHAR)",
        false,
    ),
    col(
        "nb_pieces",
        "Nombre de pièces",
        "CAST(r.dwelling_rooms AS CHAR)",
        false,
    ),
    col(
        "nb_occupants",
        "Nombre d’occupants",
        "CAST(r.dwelling_occupants_count AS CHAR)",
        false,
    ),
    col(
        "enfants_moins_6",
        "Enfants de moins de 6 ans",
        yes_no!("r.dwelling_children_under_6"),
        false,
    ),
    col(
        "date_entree",
        "Date d’entrée",
        "DATE_FORMAT(r.dwelling_move_in_date, '%d/%m/%Y')",
        false,
    ),
    col("bail", "Bail", yes_no!("r.dwelling_has_lease"), false),
    col(
        "dpe_declare",
        "Classe DPE déclarée",
        "r.dwelling_dpe_class",
        false,
    ),
    col("dpe_ademe", "Classe DPE (ADEME)", "r.dpe_label", false),
    col("loyer", "Loyer (€)", "CAST(r.dwelling_rent AS CHAR)", false),
    col(
        "allocataire",
        "Allocataire",
        yes_no!("r.household_housing_allowance"),
        false,
    ),
    col(
        "caisse_allocation",
        "Caisse d’allocation",
        "r.household_allowance_fund",
        false,
    ),
    col(
        "numero_allocataire",
        "Numéro allocataire",
        "r.household_allowance_number",
        false,
    ),
    col(
        "bailleur_prevenu",
        "Bailleur prévenu",
        yes_no!("r.procedure_landlord_informed"),
        false,
    ),
    col(
        "assurance",
        "Assurance contactée",
        "r.procedure_insurer_contacted",
        false,
    ),
    col(
        "souhaite_quitter",
        "Souhaite quitter le logement",
        yes_no!("r.household_wants_to_leave"),
        false,
    ),
    col(
        "logement_vacant",
        "Logement vacant",
        yes_no!("r.dwelling_is_vacant"),
        false,
    ),
    col(
        "validation",
        "Validé le",
        "DATE_FORMAT(r.validated_at, '%d/%m/%Y')",
        false,
    ),
    col(
        "refus",
        "Refusé le",
        "DATE_FORMAT(r.refused_at, '%d/%m/%Y')",
        false,
    ),
    col("motif_refus", "Motif de refus", "r.refusal_reason", false),
    col(
        "cloture",
        "Clôturé le",
        "DATE_FORMAT(r.closed_at, '%d/%m/%Y')",
        false,
    ),
    col(
        "motif_cloture",
        "Motif de clôture",
        "r.closure_reason",
        false,
    ),
    col(
        "dernier_suivi",
        "Dernier suivi",
        "DATE_FORMAT(r.last_follow_up_at, '%d/%m/%Y')",
        true,
    ),
    col(
        "partenaires",
        "Partenaires affectés",
        "(SELECT GROUP_CONCAT(p.name ORDER BY p.name SEPARATOR ', ') FROM assignments a JOIN partners p ON p.id = a.partner_id WHERE a.report_id = r.id)",
        false,
    ),
    col(
        "etiquettes",
        "Étiquettes",
        "(SELECT GROUP_CONCAT(tg.label ORDER BY tg.label SEPARATOR ', ') FROM report_tags rt JOIN tags tg ON tg.id = rt.tag_id WHERE rt.report_id = r.id)",
        false,
    ),
    col(
        "qualifications",
        "Qualifications",
        concat!(
            "(SELECT GROUP_CONCAT(q.qualification ORDER BY q.qualification SEPARATOR ', ') FROM report_qualifications q WHERE q.report_id = r.id AND q.status <> '",
            super::states::archived_qualification!(),
            "')"
        ),
        false,
    ),
    col("message", "Message du déclarant", "r.details", false),
    col("uuid", "Identifiant", "r.uuid", false),
];

/// The default selection.
pub fn default_columns() -> Vec<&'static ExportColumn> {
    COLUMNS.iter().filter(|c| c.default).collect()
}

/// Reads `colonnes=a,b` (one or several parameters, comma-separated); an
/// unknown key is refused in French. No column asked: the default.
pub fn parse_columns(values: &[&str]) -> Result<Vec<&'static ExportColumn>, String> {
    let mut chosen: Vec<&'static ExportColumn> = Vec::new();
    for key in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
        if key.is_empty() {
            continue;
        }
        let column = COLUMNS
            .iter()
            .find(|c| c.key == key)
            .ok_or_else(|| format!("La colonne « {key} » n’existe pas dans l’export."))?;
        if !chosen.contains(&column) {
            chosen.push(column);
        }
    }
    if chosen.is_empty() {
        chosen = default_columns();
    }
    // Keep the catalogue order.
    chosen.sort_by_key(|c| COLUMNS.iter().position(|k| k == *c));
    Ok(chosen)
}

/// The selected reports, row by row, as text cells in the order of
/// `columns` (NULL as an empty cell). Sorted like the list.
///
/// The stream owns its query, so it can outlive the caller (a response
/// body). `pool` is the exports' own ([`connect_pool`]).
pub fn stream_rows(
    pool: Pool,
    scope: ReportScope,
    filter: CaseFilter,
    user_id: u64,
    columns: Vec<&'static ExportColumn>,
) -> impl Stream<Item = Result<Vec<String>, sqlx::Error>> + Send + 'static {
    let width = columns.len();
    let cells: Vec<Cell> = columns.iter().map(|c| c.cell).collect();
    let mut sql = String::from("SELECT ");
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("CAST({} AS CHAR) AS c{i}", column.sql));
    }
    sql.push_str(" FROM reports r JOIN territories t ON t.id = r.territory_id");
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Vec<String>, sqlx::Error>>(256);
    // The query runs in its own task, which owns the builder and the pool;
    // the bounded channel is the back-pressure: the task reads the next
    // rows only as fast as the client takes them.
    tokio::spawn(async move {
        use futures::SinkExt;
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(sql);
        push_where(&mut qb, &scope, &filter, user_id);
        qb.push(" ORDER BY r.created_at DESC, r.id DESC");
        let mut rows = qb.build().fetch(&pool);
        while let Some(row) = rows.next().await {
            let item = row.and_then(|row| {
                (0..width)
                    .map(|i| {
                        row.try_get::<Option<String>, _>(i)
                            .map(|v| v.map(|v| cells[i].render(v)).unwrap_or_default())
                    })
                    .collect::<Result<Vec<String>, _>>()
            });
            let failed = item.is_err();
            // The reader went away (client disconnected): stop.
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    rx
}
