//! Exports of the case list: CSV and XLSX, with the list's filters and the
//! user's scope, and the columns the user picks (`colonnes=`).
//!
//! Both are streamed. The CSV is written row by row as the database sends
//! them (`;`-separated, UTF-8 with a BOM for spreadsheet software), through
//! a bounded channel: memory stays flat whatever the size. The XLSX is
//! written by `rust_xlsxwriter` in constant-memory mode (each row goes to a
//! temporary file as soon as it is complete), zipped into a temporary file,
//! then streamed from disk and deleted.
//!
//! The row source is [`crate::db::exports`], which a partner API can reuse.

use std::{io::Read, path::PathBuf};

use axum::{
    body::Body,
    extract::{RawQuery, State},
    http::header,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures::StreamExt;

use crate::{
    app::AppState,
    auth::session::CurrentUser,
    db::{
        self,
        exports::{ExportColumn, parse_columns},
    },
    domain::{
        case_filter::CaseFilter,
        export::{BOM, csv_line},
        permissions,
    },
    error::{AppError, AppResult},
};

/// Bytes buffered before a CSV chunk is sent.
const CHUNK: usize = 64 * 1024;

/// The filter and the columns of an export request; bad input is a 400
/// with a French message.
fn parse_request(query: Option<&str>) -> AppResult<(CaseFilter, Vec<&'static ExportColumn>)> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let filter = CaseFilter::parse(&pairs).map_err(AppError::BadRequest)?;
    let columns: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "colonnes")
        .map(|(_, v)| v.as_str())
        .collect();
    let columns = parse_columns(&columns).map_err(AppError::BadRequest)?;
    Ok((filter, columns))
}

fn file_name(extension: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "signalements-{:04}-{:02}-{:02}.{extension}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

pub async fn export_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let (filter, columns) = parse_request(query.as_deref())?;
    let scope = permissions::report_scope(&user.actor);
    let mut header_line = String::from(BOM);
    csv_line(
        &columns.iter().map(|c| c.label).collect::<Vec<_>>(),
        &mut header_line,
    );
    let rows = db::exports::stream_rows(state.db.clone(), scope, filter, user.id, columns);
    // Rows are grouped into chunks of about 64 KiB.
    let body =
        futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(header_line)) })
            .chain(rows.ready_chunks(256).map(|batch| {
                let mut out = String::with_capacity(CHUNK);
                for row in batch {
                    match row {
                        Ok(cells) => csv_line(&cells, &mut out),
                        Err(error) => {
                            tracing::error!(error = %error, "export interrupted");
                            return Err(std::io::Error::other("export interrupted"));
                        }
                    }
                }
                Ok(Bytes::from(out))
            }));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name("csv")),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// A temporary file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes the rows of `rows` to an XLSX file (constant memory). Runs on a
/// blocking thread; cells are written as text cells, which spreadsheet
/// software never evaluates (no formula guard needed, unlike CSV).
fn write_xlsx<S>(
    path: &std::path::Path,
    columns: &[&'static ExportColumn],
    mut rows: S,
) -> anyhow::Result<()>
where
    S: futures::Stream<Item = Result<Vec<String>, sqlx::Error>> + Unpin,
{
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name("Signalements")?;
    for (i, column) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, column.label, &bold)?;
    }
    let mut row_index: u32 = 1;
    while let Some(row) = futures::executor::block_on(rows.next()) {
        let cells = row?;
        for (i, cell) in cells.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(row_index, i as u16, cell)?;
            }
        }
        row_index += 1;
        if row_index > 1_048_575 {
            anyhow::bail!("more rows than a spreadsheet can hold");
        }
    }
    workbook.save(path)?;
    Ok(())
}

pub async fn export_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let (filter, columns) = parse_request(query.as_deref())?;
    let scope = permissions::report_scope(&user.actor);
    let file = TempFile(std::env::temp_dir().join(format!(
        "histologe-export-{}.xlsx",
        uuid::Uuid::new_v4().simple()
    )));
    let rows = Box::pin(db::exports::stream_rows(
        state.db.clone(),
        scope,
        filter,
        user.id,
        columns.clone(),
    ));
    let path = file.0.clone();
    tokio::task::spawn_blocking(move || write_xlsx(&path, &columns, rows))
        .await
        .map_err(|e| AppError::Unexpected(e.into()))?
        .map_err(AppError::Unexpected)?;
    // Stream the file from disk in 64 KiB chunks; the file is removed when
    // the stream ends (the TempFile moves into it).
    let reader = std::fs::File::open(&file.0).map_err(|e| AppError::Unexpected(e.into()))?;
    let length = reader.metadata().map(|m| m.len()).ok();
    let body = futures::stream::unfold((Some(reader), file), |(reader, file)| async move {
        let mut reader = reader?;
        let result = tokio::task::spawn_blocking(move || {
            let mut buffer = vec![0u8; CHUNK];
            let read = reader.read(&mut buffer);
            (reader, buffer, read)
        })
        .await
        .ok()?;
        match result {
            (_, _, Ok(0)) => None,
            (reader, mut buffer, Ok(n)) => {
                buffer.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(buffer)),
                    (Some(reader), file),
                ))
            }
            (_, _, Err(error)) => Some((Err(error), (None, file))),
        }
    });
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name("xlsx")),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(body),
    )
        .into_response();
    if let Some(length) = length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, length.into());
    }
    Ok(response)
}

/// One checkbox of the column menu.
pub struct ColumnChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "pages/office/export.html")]
pub struct ExportPage {
    pub layout: crate::web::layout::Layout,
    /// The list's filters, carried as hidden fields.
    pub hidden: Vec<(String, String)>,
    pub query: String,
    pub columns: Vec<ColumnChoice>,
}

/// The export menu: the list's current filters (hidden) and the columns to
/// pick, then CSV or XLSX.
pub async fn show_export_form(
    page: crate::web::layout::OfficePage,
    RawQuery(query): RawQuery,
) -> AppResult<ExportPage> {
    let (filter, chosen) = parse_request(query.as_deref())?;
    let query = filter.query_string();
    let hidden: Vec<(String, String)> = serde_urlencoded::from_str(&query).unwrap_or_default();
    Ok(ExportPage {
        layout: page.layout,
        hidden: hidden
            .into_iter()
            .filter(|(k, _)| k != "tri" && k != "ordre")
            .collect(),
        query,
        columns: db::exports::COLUMNS
            .iter()
            .map(|c| ColumnChoice {
                key: c.key,
                label: c.label,
                checked: chosen.contains(&c),
            })
            .collect(),
    })
}
