//! Safe uploads: the type of a file is decided by its content, never by
//! its name or the browser's claim ([`detect()`]); images are checked from
//! their header before any decoding, then decoded and re-encoded (which
//! drops EXIF and GPS metadata) with a thumbnail ([`images`]); Office
//! documents are parsed and refused when they carry macros ([`office`]);
//! objects are stored under random keys (`documents/<uuid>`) that say nothing
//! about the person, and served back under the extension of their detected
//! type ([`download_name`]). The limits and their reasons are in
//! `docs/uploads.md`.

mod detect;
pub mod images;
pub mod office;

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutPayload, path::Path};
use sha2::{Digest, Sha256};

pub use detect::detect;
use images::{DecodeGate, TooLarge};

use crate::{
    db::{self, documents::NewDocument},
    queue::{self, Job, JobContext},
    storage::Storage,
};

/// Largest accepted file.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Most files one report may carry.
pub const MAX_FILES_PER_REPORT: usize = 20;

/// What the content says a file is (only the types we accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Jpeg,
    Png,
    Gif,
    Webp,
    Pdf,
    Doc,
    Xls,
    Docx,
    Xlsx,
    Odt,
}

impl FileType {
    const ALL: [FileType; 10] = [
        Self::Jpeg,
        Self::Png,
        Self::Gif,
        Self::Webp,
        Self::Pdf,
        Self::Doc,
        Self::Xls,
        Self::Docx,
        Self::Xlsx,
        Self::Odt,
    ];

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Pdf => "application/pdf",
            Self::Doc => "application/msword",
            Self::Xls => "application/vnd.ms-excel",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Odt => "application/vnd.oasis.opendocument.text",
        }
    }

    /// The extension a file of this type is downloaded under.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Pdf => "pdf",
            Self::Doc => "doc",
            Self::Xls => "xls",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Odt => "odt",
        }
    }

    /// The type whose MIME type is stored with a document.
    pub fn from_mime(mime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.mime() == mime)
    }

    pub fn is_image(self) -> bool {
        matches!(self, Self::Jpeg | Self::Png | Self::Gif | Self::Webp)
    }
}

/// Why the content of a file is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a type we accept (or a damaged one).
    Unknown,
    /// A program: executable, script, installer (MSI), Java or Android
    /// package.
    Executable,
    /// An Office document carrying macros.
    Macro,
    /// An archive that would expand to far more than its size.
    Bomb,
}

/// Why a file was refused, in French, for the message next to the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("Le fichier « {0} » dépasse 10 Mo.")]
    TooLarge(String),
    #[error(
        "Le fichier « {0} » n’est pas accepté : envoyez une photo (JPEG, PNG, GIF, WebP) ou un document PDF, Word, Excel ou OpenDocument."
    )]
    Refused(String),
    #[error(
        "Le fichier « {0} » est un programme ou un installateur : il n’est pas accepté. Envoyez une photo ou un document PDF, Word, Excel ou OpenDocument."
    )]
    Executable(String),
    #[error(
        "Le document « {0} » contient des macros : enregistrez-le sans macros (.docx, .xlsx) ou en PDF, puis envoyez-le à nouveau."
    )]
    Macro(String),
    #[error(
        "Le fichier « {0} » est une archive anormalement compressée : il n’est pas accepté. Enregistrez le document en PDF et envoyez-le à nouveau."
    )]
    Bomb(String),
    #[error(
        "L’image « {name} » est trop grande ({width} × {height} pixels) : envoyez une image de {max} pixels de côté au plus.",
        max = images::MAX_IMAGE_SIDE
    )]
    ImageSide {
        name: String,
        width: u32,
        height: u32,
    },
    #[error(
        "L’image « {name} » est trop lourde à traiter (environ {megabytes} Mo une fois décompressée, 100 Mo au plus) : réduisez sa taille ou envoyez-la en JPEG."
    )]
    ImagePixels { name: String, megabytes: u64 },
    #[error("L’image « {0} » est illisible ou endommagée.")]
    Unreadable(String),
    #[error("Un signalement ne peut pas compter plus de 20 fichiers.")]
    TooMany,
    /// Every image decode slot stayed taken: not the visitor's mistake, the
    /// handler answers 503.
    #[error(
        "Le service traite beaucoup de photos en ce moment. Patientez quelques instants, puis envoyez à nouveau votre photo."
    )]
    Busy,
}

impl UploadError {
    fn refused(refusal: Refusal, filename: String) -> Self {
        match refusal {
            Refusal::Unknown => Self::Refused(filename),
            Refusal::Executable => Self::Executable(filename),
            Refusal::Macro => Self::Macro(filename),
            Refusal::Bomb => Self::Bomb(filename),
        }
    }
}

/// A file checked and stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub key: String,
    pub thumbnail_key: Option<String>,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    /// `photo` or `document`.
    pub kind: &'static str,
    /// A clean file name for downloads (no path, no control characters).
    pub filename: String,
}

/// Keeps the last path component of a browser-sent name, without control
/// or path characters, so `../../etc/passwd` becomes `passwd`.
pub fn clean_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    let cleaned: String = cleaned.chars().take(200).collect();
    if cleaned.is_empty() {
        "fichier".to_owned()
    } else {
        cleaned
    }
}

/// The name a stored file is downloaded under: the uploader's name without
/// its extension, plus the extension of the type detected at upload (kept as
/// `mime`). `setup.msi` stored as a Word document comes back as `setup.doc`,
/// never as something the visitor's system would run.
pub fn download_name(original_filename: &str, mime: &str) -> String {
    let extension = FileType::from_mime(mime).map_or("bin", FileType::extension);
    let name = clean_filename(original_filename);
    // Every extension goes (`facture.pdf.exe` → `facture`), so that a
    // double one cannot mislead.
    let stem = name.split('.').next().unwrap_or_default().trim();
    let stem = if stem.is_empty() { "document" } else { stem };
    format!("{stem}.{extension}")
}

/// A `Content-Disposition` value for [`download_name`]: an ASCII fallback
/// for old clients and the exact name (RFC 6266 `filename*`).
pub fn content_disposition(inline: bool, original_filename: &str, mime: &str) -> String {
    let name = download_name(original_filename, mime);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}",
        if inline { "inline" } else { "attachment" }
    )
}

/// Checks a file and writes it (and its thumbnail) to storage.
/// `Ok(Err(..))` is the user's mistake (or [`UploadError::Busy`]);
/// `Err(..)` a storage failure.
pub async fn store(
    storage: &Storage,
    gate: &DecodeGate,
    original_name: &str,
    bytes: Bytes,
) -> anyhow::Result<Result<Stored, UploadError>> {
    let filename = clean_filename(original_name);
    if bytes.len() > MAX_FILE_BYTES {
        return Ok(Err(UploadError::TooLarge(filename)));
    }
    let kind = match detect(&bytes) {
        Ok(kind) => kind,
        Err(refusal) => {
            tracing::info!(?refusal, "upload refused");
            return Ok(Err(UploadError::refused(refusal, filename)));
        }
    };
    let (content, mime, thumbnail) = if kind.is_image() {
        // The header decides whether decoding is safe, before any decoder
        // runs.
        let header = images::header(&bytes, kind);
        match header.map(|h| h.check()) {
            Some(Ok(())) => {}
            Some(Err(TooLarge::Side { width, height })) => {
                tracing::info!(width, height, "image refused: too large a side");
                return Ok(Err(UploadError::ImageSide {
                    name: filename,
                    width,
                    height,
                }));
            }
            Some(Err(TooLarge::Pixels { megabytes })) => {
                tracing::info!(megabytes, "image refused: too many pixels");
                return Ok(Err(UploadError::ImagePixels {
                    name: filename,
                    megabytes,
                }));
            }
            Some(Err(TooLarge::Unreadable)) | None => {
                return Ok(Err(UploadError::Unreadable(filename)));
            }
        }
        let data = bytes.clone();
        match gate.run(move || images::reencode(&data, kind)).await? {
            Err(images::Busy) => return Ok(Err(UploadError::Busy)),
            Ok(None) => return Ok(Err(UploadError::Unreadable(filename))),
            Ok(Some(image)) => (Bytes::from(image.main), image.mime, Some(image.thumbnail)),
        }
    } else {
        (bytes, kind.mime(), None)
    };
    Ok(Ok(put(
        storage,
        content,
        thumbnail,
        mime,
        kind.is_image(),
        filename,
    )
    .await?))
}

/// Writes a checked file (and its thumbnail) under new random keys.
async fn put(
    storage: &Storage,
    content: Bytes,
    thumbnail: Option<Vec<u8>>,
    mime: &str,
    is_image: bool,
    filename: String,
) -> anyhow::Result<Stored> {
    let id = uuid::Uuid::new_v4();
    let key = format!("documents/{id}");
    let sha256 = crate::auth::tokens::to_hex(&Sha256::digest(&content));
    let size = content.len() as u64;
    storage
        .put(&Path::from(key.as_str()), PutPayload::from(content))
        .await?;
    let thumbnail_key = match thumbnail {
        Some(thumb) => {
            let thumb_key = format!("documents/{id}-vignette");
            storage
                .put(&Path::from(thumb_key.as_str()), PutPayload::from(thumb))
                .await?;
            Some(thumb_key)
        }
        None => None,
    };
    Ok(Stored {
        key,
        thumbnail_key,
        mime: mime.to_owned(),
        size,
        sha256,
        kind: if is_image { "photo" } else { "document" },
        filename,
    })
}

/// Turns a stored photo clockwise by `quarter_turns` × 90°: read, decoded
/// under the same gate and limits as an upload, turned, re-encoded without
/// metadata with a new thumbnail, written under new keys (the caller points
/// the document at them, then removes the old objects).
pub async fn rotate(
    storage: &Storage,
    gate: &DecodeGate,
    key: &str,
    mime: &str,
    quarter_turns: u8,
) -> anyhow::Result<Result<Stored, UploadError>> {
    let filename = "photo".to_owned();
    let Some(kind) = FileType::from_mime(mime).filter(|k| k.is_image()) else {
        return Ok(Err(UploadError::Unreadable(filename)));
    };
    let bytes = read(storage, key).await?;
    match gate
        .run(move || images::reencode_turned(&bytes, kind, quarter_turns))
        .await?
    {
        Err(images::Busy) => Ok(Err(UploadError::Busy)),
        Ok(None) => Ok(Err(UploadError::Unreadable(filename))),
        Ok(Some(image)) => Ok(Ok(put(
            storage,
            Bytes::from(image.main),
            Some(image.thumbnail),
            image.mime,
            true,
            filename,
        )
        .await?)),
    }
}

/// Removes a stored object (a replaced image, or files of a refused upload).
pub async fn remove(storage: &Storage, key: &str) -> anyhow::Result<()> {
    storage.delete(&Path::from(key)).await?;
    Ok(())
}

/// Removes objects written for a request that was then refused, or replaced
/// by a rotation (best effort: an object left behind is never served, no
/// row names it).
pub async fn forget(storage: &Storage, keys: impl IntoIterator<Item = String>) {
    for key in keys {
        if let Err(e) = remove(storage, &key).await {
            tracing::warn!(error = %e, "stored object left behind");
        }
    }
}

impl From<Stored> for crate::domain::document::commands::StoredFile {
    fn from(file: Stored) -> Self {
        Self {
            is_image: file.kind == "photo",
            key: file.key,
            thumbnail_key: file.thumbnail_key,
            filename: file.filename,
            mime: file.mime,
            size: file.size,
            sha256: file.sha256,
        }
    }
}

/// Records a stored file as a document of its report, `pending`, and its
/// antivirus scan job in the same transaction: a file the uploader saw
/// accepted is always scanned, and served only once clean
/// (docs/antivirus.md).
pub async fn record(
    conn: &mut sqlx::MySqlConnection,
    document: &NewDocument<'_>,
) -> Result<u64, sqlx::Error> {
    let id = db::documents::insert_pending(&mut *conn, document).await?;
    queue::enqueue(
        conn,
        &Job::ScanDocument { document_id: id },
        Some(&format!("scan_document:{id}")),
        JobContext {
            report_id: Some(document.report_id),
            ..JobContext::default()
        },
    )
    .await?;
    Ok(id)
}

/// Reads a stored object.
pub async fn read(storage: &Storage, key: &str) -> anyhow::Result<Bytes> {
    Ok(storage.get(&Path::from(key)).await?.bytes().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_path() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\x\\photo.jpg"), "photo.jpg");
        assert_eq!(clean_filename("..."), "fichier");
        assert_eq!(clean_filename("a<b>.png"), "ab.png");
    }

    #[test]
    fn downloads_carry_the_extension_of_the_detected_type() {
        let docx = FileType::Docx.mime();
        assert_eq!(
            download_name("setup.msi", FileType::Doc.mime()),
            "setup.doc"
        );
        assert_eq!(download_name("x.jar", docx), "x.docx");
        assert_eq!(download_name("facture.pdf.exe", docx), "facture.docx");
        assert_eq!(download_name("bail.docx", docx), "bail.docx");
        assert_eq!(download_name("anim.gif", "image/png"), "anim.png");
        assert_eq!(download_name("../.bashrc", "image/jpeg"), "bashrc.jpg");
        assert_eq!(
            download_name("payload.exe", "application/x-msdownload"),
            "payload.bin"
        );
        assert_eq!(
            content_disposition(false, "Bail signé.docx", docx),
            "attachment; filename=\"Bail_sign_.docx\"; filename*=UTF-8''Bail%20sign%C3%A9.docx"
        );
    }

    #[test]
    fn images_are_reencoded_without_metadata() {
        use std::io::Cursor;
        let image = image::DynamicImage::new_rgb8(30, 20);
        let mut png = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let out = images::reencode(&png, FileType::Png).unwrap();
        assert_eq!(out.mime, "image/png");
        assert_eq!(detect(&out.main), Ok(FileType::Png));
        assert_eq!(detect(&out.thumbnail), Ok(FileType::Jpeg));
    }
}
