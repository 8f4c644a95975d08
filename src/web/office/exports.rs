//! Exports of the case list: CSV and XLSX, with the list's filters and the
//! user's scope, and the columns the user picks (`colonnes=`).
//!
//! Both are streamed. The CSV is written row by row as the database sends
//! them (`;`-separated, UTF-8 with a BOM for spreadsheet software): memory
//! stays flat whatever the size. The XLSX is written by `rust_xlsxwriter`
//! in constant-memory mode into a temporary file, then streamed from it.
//!
//! An export holds resources for as long as its client reads, so it is
//! bounded (see docs/operations-security.md):
//! - a slot ([`ExportSlots`]): a few per user and per process, else a
//!   French 429 page;
//! - its rows come from the exports' own small pool (`AppState::export_db`),
//!   never from the site's: exports cannot starve the pages;
//! - the body is fed by a pump ([`pump`]) that ends the export when the
//!   client takes nothing for `EXPORT_WRITE_TIMEOUT_SECONDS`, releasing the
//!   connection and the slot;
//! - the XLSX files (the workbook's row files and the zipped result) are
//!   created in `EXPORT_TMP_DIR` already unlinked: whatever ends the export
//!   (done, cancelled, crashed), no file with personal data stays on disk.
//!
//! The row source is [`crate::db::exports`], which a partner API can reuse.

use std::{
    io::{Seek, SeekFrom},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    body::Body,
    extract::{RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use tokio::{io::AsyncReadExt, sync::mpsc::error::SendTimeoutError};

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
        export_slots::{ExportPermit, ExportRefusal},
        permissions,
    },
    error::{AppError, AppResult},
    web::layout::ErrorPage,
};

/// Bytes buffered before a chunk is sent.
const CHUNK: usize = 64 * 1024;

/// Chunks the pump keeps ready for the body: a small buffer, so that a
/// stalled client is noticed once about 256 KiB wait for it.
const PUMP_DEPTH: usize = 4;

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

/// The French 429 page of a refused export. Not an error: the platform
/// works as intended, so nothing is logged.
pub(super) fn refusal_page(refusal: ExportRefusal) -> Response {
    let (title, message) = match refusal {
        ExportRefusal::UserBusy { limit } => (
            "Exports déjà en cours",
            format!(
                "Vous avez déjà {limit} exports en cours. Attendez que l’un d’eux se termine avant d’en lancer un autre."
            ),
        ),
        ExportRefusal::ServerBusy => (
            "Trop d’exports en cours",
            "De nombreux exports sont en cours sur la plateforme. Réessayez dans quelques minutes."
                .to_owned(),
        ),
    };
    let status = StatusCode::TOO_MANY_REQUESTS;
    let mut response = (status, ErrorPage::new(status, title, message)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

/// Feeds a response body from `source` in a task of its own, through a
/// bounded channel of [`PUMP_DEPTH`] chunks.
///
/// The task, not the body, owns the source (and with it the database
/// connection or the temporary file) and the export's `permit`. When the
/// client stops reading, the server stops polling the body, the channel
/// fills, and once a chunk has waited `write_timeout` the task ends: the
/// connection, the file and the slot are released even though the client
/// keeps its socket open. A body cut this way ends with an error (the
/// client sees an aborted download, never a file that looks complete).
/// When the client goes away, the channel closes and the task ends too.
pub(super) fn pump<S>(source: S, permit: ExportPermit, write_timeout: Duration) -> Body
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(PUMP_DEPTH);
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    // The task logs within the request's span (its route).
    let span = tracing::Span::current();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let _permit = permit;
            let mut source = std::pin::pin!(source);
            while let Some(item) = source.next().await {
                let failed = item.is_err();
                match tx.send_timeout(item, write_timeout).await {
                    Ok(()) if failed => return,
                    Ok(()) => {}
                    // The client went away.
                    Err(SendTimeoutError::Closed(_)) => return,
                    Err(SendTimeoutError::Timeout(_)) => {
                        tracing::warn!(
                            timeout_seconds = write_timeout.as_secs(),
                            "export ended: the client took nothing for the write timeout"
                        );
                        return;
                    }
                }
            }
            done.store(true, Ordering::Release);
        },
        span,
    ));
    let body = futures::stream::unfold(Some(rx), move |rx| {
        let finished = finished.clone();
        async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(item) => Some((item, Some(rx))),
                None if finished.load(Ordering::Acquire) => None,
                None => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "export ended before its end",
                    )),
                    None,
                )),
            }
        }
    });
    Body::from_stream(body)
}

fn attachment(content_type: &str, extension: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name(extension)),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

pub async fn export_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let (filter, columns) = parse_request(query.as_deref())?;
    let permit = match state.export_slots.acquire(user.id) {
        Ok(permit) => permit,
        Err(refusal) => return Ok(refusal_page(refusal)),
    };
    let scope = permissions::report_scope(&user.actor);
    let mut header_line = String::from(BOM);
    csv_line(
        &columns.iter().map(|c| c.label).collect::<Vec<_>>(),
        &mut header_line,
    );
    let rows = db::exports::stream_rows(state.export_db.clone(), scope, filter, user.id, columns);
    // Rows are grouped into chunks of about 64 KiB.
    let source =
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
    let body = pump(source, permit, state.config.exports.write_timeout);
    Ok(attachment("text/csv; charset=utf-8", "csv", body))
}

/// Set when the request that builds a workbook is abandoned (the client
/// left, or the request timed out): the writer stops at its next row.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Writes the rows of `rows` as an XLSX workbook into `file` (constant
/// memory: the workbook's own row files go to `tmp_dir`, unlinked too).
/// Runs on a blocking thread; cells are written as text cells, which
/// spreadsheet software never evaluates (no formula guard needed, unlike
/// CSV).
fn write_xlsx<S>(
    file: &mut std::fs::File,
    tmp_dir: &std::path::Path,
    columns: &[&'static ExportColumn],
    mut rows: S,
    cancelled: &AtomicBool,
) -> anyhow::Result<()>
where
    S: futures::Stream<Item = Result<Vec<String>, sqlx::Error>> + Unpin,
{
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    workbook.set_tempdir(tmp_dir)?;
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name("Signalements")?;
    for (i, column) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, column.label, &bold)?;
    }
    let mut row_index: u32 = 1;
    while let Some(row) = futures::executor::block_on(rows.next()) {
        if cancelled.load(Ordering::Relaxed) {
            anyhow::bail!("export abandoned by its request");
        }
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
    workbook.save_to_writer(&mut *file)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(())
}

pub async fn export_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let (filter, columns) = parse_request(query.as_deref())?;
    let permit = match state.export_slots.acquire(user.id) {
        Ok(permit) => permit,
        Err(refusal) => return Ok(refusal_page(refusal)),
    };
    let scope = permissions::report_scope(&user.actor);
    let tmp_dir = state.config.exports.tmp_dir.clone();
    let rows = Box::pin(db::exports::stream_rows(
        state.export_db.clone(),
        scope,
        filter,
        user.id,
        columns.clone(),
    ));
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let cancelled = cancel.0.clone();
    let file = tokio::task::spawn_blocking(move || {
        // Unlinked from the start (O_TMPFILE on Linux): nothing to clean
        // up, whatever happens next.
        let mut file = tempfile::tempfile_in(&tmp_dir)?;
        write_xlsx(&mut file, &tmp_dir, &columns, rows, &cancelled)?;
        Ok::<_, anyhow::Error>(file)
    })
    .await
    .map_err(|e| AppError::Unexpected(e.into()))?
    .map_err(AppError::Unexpected)?;
    drop(cancel);
    let length = file.metadata().map(|m| m.len()).ok();
    // Streamed from the file in chunks of 64 KiB; the file closes (and its
    // space is freed) when the pump ends.
    let source =
        futures::stream::try_unfold(tokio::fs::File::from_std(file), |mut file| async move {
            let mut buffer = BytesMut::with_capacity(CHUNK);
            let read = file.read_buf(&mut buffer).await?;
            Ok::<_, std::io::Error>((read > 0).then(|| (buffer.freeze(), file)))
        });
    let body = pump(source, permit, state.config.exports.write_timeout);
    let mut response = attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
        body,
    );
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
