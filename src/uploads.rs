//! Safe uploads: the type of a file is decided by its first bytes, never by
//! its name or the browser's claim; images are decoded and re-encoded (which
//! drops EXIF and GPS metadata) with a thumbnail; objects are stored under
//! random keys (`documents/<uuid>`) that say nothing about the person.

use std::io::Cursor;

use bytes::Bytes;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use object_store::{ObjectStoreExt, PutPayload, path::Path};
use sha2::{Digest, Sha256};

use crate::storage::Storage;

/// Largest accepted file.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Most files one report may carry.
pub const MAX_FILES_PER_REPORT: usize = 20;
/// Longest side of a stored photo, and of its thumbnail.
const MAX_SIDE: u32 = 2000;
const THUMB_SIDE: u32 = 400;

/// What the first bytes say a file is.
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

    pub fn is_image(self) -> bool {
        matches!(self, Self::Jpeg | Self::Png | Self::Gif | Self::Webp)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn utf16(s: &str) -> Vec<u8> {
    s.bytes().flat_map(|b| [b, 0]).collect()
}

/// The type of a file from its content, or `None` when it is not one we
/// accept.
pub fn detect(bytes: &[u8]) -> Option<FileType> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(FileType::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(FileType::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some(FileType::Gif);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some(FileType::Webp);
    }
    if bytes.starts_with(b"%PDF-") {
        return Some(FileType::Pdf);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        if contains(bytes, &utf16("WordDocument")) {
            return Some(FileType::Doc);
        }
        if contains(bytes, &utf16("Workbook")) || contains(bytes, &utf16("Book")) {
            return Some(FileType::Xls);
        }
        return None;
    }
    if bytes.starts_with(b"PK\x03\x04") {
        if bytes.len() > 38
            && &bytes[30..38] == b"mimetype"
            && bytes[38..].starts_with(b"application/vnd.oasis.opendocument.text")
        {
            return Some(FileType::Odt);
        }
        if contains(bytes, b"[Content_Types].xml") {
            if contains(bytes, b"word/") {
                return Some(FileType::Docx);
            }
            if contains(bytes, b"xl/") {
                return Some(FileType::Xlsx);
            }
        }
    }
    None
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
    #[error("L’image « {0} » est illisible ou trop grande.")]
    Unreadable(String),
    #[error("Un signalement ne peut pas compter plus de 20 fichiers.")]
    TooMany,
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

/// Re-encodes an image: orientation applied, at most [`MAX_SIDE`] pixels,
/// metadata gone. Returns (bytes, mime, thumbnail bytes).
fn reencode(bytes: &[u8], kind: FileType) -> Option<(Vec<u8>, &'static str, Vec<u8>)> {
    let format = match kind {
        FileType::Jpeg => ImageFormat::Jpeg,
        FileType::Png => ImageFormat::Png,
        FileType::Gif => ImageFormat::Gif,
        FileType::Webp => ImageFormat::WebP,
        _ => return None,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(300 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    let orientation = decoder.orientation().ok()?;
    let mut image = DynamicImage::from_decoder(decoder).ok()?;
    image.apply_orientation(orientation);
    if image.width() > MAX_SIDE || image.height() > MAX_SIDE {
        image = image.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle);
    }
    let (main, mime) = if kind == FileType::Jpeg {
        (encode_jpeg(&image)?, "image/jpeg")
    } else {
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .ok()?;
        (out, "image/png")
    };
    let thumb = encode_jpeg(&image.thumbnail(THUMB_SIDE, THUMB_SIDE))?;
    Some((main, mime, thumb))
}

fn encode_jpeg(image: &DynamicImage) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let rgb = image.to_rgb8();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&rgb)
        .ok()?;
    Some(out)
}

/// Checks a file and writes it (and its thumbnail) to storage.
/// `Ok(Err(..))` is the user's mistake; `Err(..)` a storage failure.
pub async fn store(
    storage: &Storage,
    original_name: &str,
    bytes: Bytes,
) -> anyhow::Result<Result<Stored, UploadError>> {
    let filename = clean_filename(original_name);
    if bytes.len() > MAX_FILE_BYTES {
        return Ok(Err(UploadError::TooLarge(filename)));
    }
    let Some(kind) = detect(&bytes) else {
        return Ok(Err(UploadError::Refused(filename)));
    };
    let (content, mime, thumbnail) = if kind.is_image() {
        let data = bytes.clone();
        match tokio::task::spawn_blocking(move || reencode(&data, kind)).await? {
            Some((main, mime, thumb)) => (Bytes::from(main), mime, Some(thumb)),
            None => return Ok(Err(UploadError::Unreadable(filename))),
        }
    } else {
        (bytes, kind.mime(), None)
    };
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
    Ok(Ok(Stored {
        key,
        thumbnail_key,
        mime: mime.to_owned(),
        size,
        sha256,
        kind: if kind.is_image() { "photo" } else { "document" },
        filename,
    }))
}

/// Reads a stored object.
pub async fn read(storage: &Storage, key: &str) -> anyhow::Result<Bytes> {
    Ok(storage.get(&Path::from(key)).await?.bytes().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_content_not_names() {
        assert_eq!(detect(b"\xFF\xD8\xFF\xE0rest"), Some(FileType::Jpeg));
        assert_eq!(detect(b"%PDF-1.7 ..."), Some(FileType::Pdf));
        assert_eq!(detect(b"MZ\x90\x00 an executable"), None);
        assert_eq!(detect(b"<html><script>"), None);
        assert_eq!(detect(b"RIFF\0\0\0\0WEBPVP8 "), Some(FileType::Webp));
    }

    #[test]
    fn file_names_lose_their_path() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\x\\photo.jpg"), "photo.jpg");
        assert_eq!(clean_filename("..."), "fichier");
        assert_eq!(clean_filename("a<b>.png"), "ab.png");
    }

    #[test]
    fn images_are_reencoded_without_metadata() {
        let image = DynamicImage::new_rgb8(30, 20);
        let mut png = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let (main, mime, thumb) = reencode(&png, FileType::Png).unwrap();
        assert_eq!(mime, "image/png");
        assert_eq!(detect(&main), Some(FileType::Png));
        assert_eq!(detect(&thumb), Some(FileType::Jpeg));
    }
}
