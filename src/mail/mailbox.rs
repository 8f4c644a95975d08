//! The local mailbox folder (the embedded default, and development): one
//! `<id>.json` (envelope and text body) plus `<id>.html` per e-mail, listed
//! by the development page `/dev/courriels`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::render::RenderedEmail;

/// An e-mail as written in the folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredMail {
    pub id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    /// RFC 3339, UTC.
    pub date: String,
    pub idempotency_key: String,
}

/// A file-name-safe id: time first, so names sort by date.
fn mail_id(key: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    format!("{}-{safe}", now.unix_timestamp_nanos())
}

/// Writes one e-mail; the same key writes the same files again (a retry
/// replaces, it never adds a second copy).
pub fn write(dir: &Path, from: &str, email: &RenderedEmail, key: &str) -> std::io::Result<String> {
    std::fs::create_dir_all(dir)?;
    if let Some(existing) = list(dir)?.into_iter().find(|m| m.idempotency_key == key) {
        return Ok(existing.id);
    }
    let id = mail_id(key);
    let stored = StoredMail {
        id: id.clone(),
        from: from.to_owned(),
        to: email.to.clone(),
        subject: email.subject.clone(),
        text: email.text.clone(),
        date: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        idempotency_key: key.to_owned(),
    };
    // HTML first, JSON last: a listed mail always has its HTML.
    write_atomically(&dir.join(format!("{id}.html")), email.html.as_bytes())?;
    let json = serde_json::to_vec_pretty(&stored).map_err(std::io::Error::other)?;
    write_atomically(&dir.join(format!("{id}.json")), &json)?;
    Ok(id)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

/// Every e-mail of the folder, newest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<StoredMail>> {
    let mut mails = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(mails),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json")
            && let Ok(mail) = serde_json::from_slice::<StoredMail>(&std::fs::read(&path)?)
        {
            mails.push(mail);
        }
    }
    mails.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(mails)
}

/// The HTML body of one e-mail (`None` for an unknown or unsafe id).
pub fn html(dir: &Path, id: &str) -> Option<String> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    let path: PathBuf = dir.join(format!("{id}.html"));
    std::fs::read_to_string(path).ok()
}
