//! Office documents, recognised by parsing them rather than by loose byte
//! markers: OOXML (DOCX, XLSX) and OpenDocument text are zip archives whose
//! manifest names the kind of document; DOC and XLS are OLE compound files
//! whose streams do.
//!
//! Refused on the way: documents carrying macros (VBA projects,
//! macro-enabled content types, Excel 4 macro sheets, ODF Basic scripts),
//! installers (MSI), Java and Android packages (JAR, APK) and zip bombs.
//! The archive is never extracted: only the central directory and the
//! (size-capped) manifest are read.

use std::io::{Cursor, Read};

use super::{FileType, Refusal};

/// Most entries an accepted archive may hold (a large XLSX has a few
/// hundred).
pub const MAX_ZIP_ENTRIES: usize = 2000;
/// Most bytes an accepted archive may expand to, by its own directory.
pub const MAX_ZIP_UNCOMPRESSED: u64 = 100 * 1024 * 1024;
/// Most bytes read of a manifest.
const MAX_MANIFEST: u64 = 1024 * 1024;

const WORD_MAIN: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
const EXCEL_MAIN: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml";
const ODT: &str = "application/vnd.oasis.opendocument.text";

/// Content types (or parts of them) of OOXML parts that carry code.
const CODE_CONTENT_TYPES: [&str; 4] = [
    "macroenabled",        // .docm, .xlsm, .dotm, .xltm, .xlam
    "vbaproject",          // application/vnd.ms-office.vbaProject
    "ms-excel.macrosheet", // Excel 4 (XLM) macro sheets
    "ms-excel.intlmacrosheet",
];

/// A zip archive: an Office document we accept, or why not.
pub fn detect_zip(bytes: &[u8]) -> Result<FileType, Refusal> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| Refusal::Unknown)?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(Refusal::Bomb);
    }
    let mut total: u64 = 0;
    let mut names = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|_| Refusal::Unknown)?;
        total = total.saturating_add(entry.size());
        names.push(entry.name().map_err(|_| Refusal::Unknown)?.into_owned());
    }
    if total > MAX_ZIP_UNCOMPRESSED {
        return Err(Refusal::Bomb);
    }
    let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    let has = |name: &str| lower.iter().any(|n| n == name);
    if has("classes.dex") || has("androidmanifest.xml") || has("meta-inf/manifest.mf") {
        return Err(Refusal::Executable);
    }
    if lower.iter().any(|n| {
        n.ends_with("vbaproject.bin")
            || n.ends_with("vbadata.xml")
            || n.starts_with("basic/")
            || n.starts_with("scripts/")
    }) {
        return Err(Refusal::Macro);
    }
    if has("mimetype") {
        // OpenDocument: the first entry says what it is.
        let mimetype = read_entry(&mut archive, "mimetype")?;
        return if mimetype.trim() == ODT {
            Ok(FileType::Odt)
        } else {
            Err(Refusal::Unknown)
        };
    }
    if !has("[content_types].xml") {
        return Err(Refusal::Unknown);
    }
    let manifest = read_entry(&mut archive, "[Content_Types].xml")?;
    let types = content_types(&manifest);
    if types.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        CODE_CONTENT_TYPES.iter().any(|code| t.contains(code))
    }) {
        return Err(Refusal::Macro);
    }
    let word = types.iter().any(|t| t == WORD_MAIN);
    let excel = types.iter().any(|t| t == EXCEL_MAIN);
    match (word, excel) {
        (true, false) => Ok(FileType::Docx),
        (false, true) => Ok(FileType::Xlsx),
        _ => Err(Refusal::Unknown),
    }
}

/// An entry's text, at most [`MAX_MANIFEST`] bytes of it.
fn read_entry(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<String, Refusal> {
    let index = archive
        .file_names()
        .position(|n| n.is_ok_and(|n| n.eq_ignore_ascii_case(name)))
        .ok_or(Refusal::Unknown)?;
    let entry = archive.by_index(index).map_err(|_| Refusal::Unknown)?;
    let mut text = String::new();
    entry
        .take(MAX_MANIFEST)
        .read_to_string(&mut text)
        .map_err(|_| Refusal::Unknown)?;
    Ok(text)
}

/// Every `ContentType="…"` value of an OOXML `[Content_Types].xml`.
fn content_types(manifest: &str) -> Vec<String> {
    manifest
        .split("ContentType=")
        .skip(1)
        .filter_map(|rest| {
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let value = &rest[1..];
            Some(value[..value.find(quote)?].to_owned())
        })
        .collect()
}

/// The class id of an installer database (MSI, its transforms and
/// patches share the 000C10xx family).
fn is_installer_clsid(clsid: &uuid::Uuid) -> bool {
    let s = clsid.hyphenated().to_string();
    s.starts_with("000c10") && s.ends_with("-0000-0000-c000-000000000046")
}

/// An OLE compound file: a Word or Excel document we accept, or why not.
pub fn detect_ole(bytes: &[u8]) -> Result<FileType, Refusal> {
    // The parser reads attacker-controlled sector tables; a panic there
    // must refuse the file, not fail the request.
    std::panic::catch_unwind(|| detect_ole_inner(bytes)).unwrap_or(Err(Refusal::Unknown))
}

fn detect_ole_inner(bytes: &[u8]) -> Result<FileType, Refusal> {
    let file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|_| Refusal::Unknown)?;
    if is_installer_clsid(file.root_entry().clsid()) {
        return Err(Refusal::Executable);
    }
    let mut word = false;
    let mut excel = false;
    let mut entries = 0usize;
    for entry in file.walk() {
        entries += 1;
        if entries > MAX_ZIP_ENTRIES {
            return Err(Refusal::Bomb);
        }
        let name = entry.name();
        // MSI tables are streams whose names are packed into the
        // U+3800–U+4840 range.
        if name.chars().any(|c| ('\u{3800}'..='\u{4840}').contains(&c)) {
            return Err(Refusal::Executable);
        }
        if entry.is_storage() && is_installer_clsid(entry.clsid()) {
            return Err(Refusal::Executable);
        }
        // Word keeps its VBA project under "Macros", Excel under
        // "_VBA_PROJECT_CUR"; both hold a "VBA" storage. Embedded objects
        // (ObjectPool) are searched too.
        if matches!(name, "Macros" | "_VBA_PROJECT_CUR" | "VBA" | "_VBA_PROJECT") {
            return Err(Refusal::Macro);
        }
        if entry.path().parent() == Some(std::path::Path::new("/")) {
            match name {
                "WordDocument" => word = true,
                "Workbook" | "Book" => excel = true,
                _ => {}
            }
        }
    }
    match (word, excel) {
        (true, false) => Ok(FileType::Doc),
        (false, true) => Ok(FileType::Xls),
        _ => Err(Refusal::Unknown),
    }
}

/// Test documents built the way Office writes them (the structure, not the
/// content): what the detector reads.
#[allow(
    clippy::expect_used,
    reason = "test samples built in memory: writing to a Vec does not fail"
)]
pub mod samples {
    use std::io::{Cursor, Write};

    use zip::write::SimpleFileOptions;

    const RELS: &str = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>"#;

    fn content_types(overrides: &[(&str, &str)]) -> String {
        let mut xml = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>"#,
        );
        for (part, ty) in overrides {
            xml.push_str(&format!(
                r#"<Override PartName="{part}" ContentType="{ty}"/>"#
            ));
        }
        xml.push_str("</Types>");
        xml
    }

    /// A zip archive of (name, content) entries, deflated.
    pub fn zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in entries {
            writer
                .start_file(*name, SimpleFileOptions::default())
                .expect("zip entry");
            writer.write_all(content).expect("zip write");
        }
        writer.finish().expect("zip").into_inner()
    }

    fn ooxml(main_part: &str, main_type: &str, extra: &[(&str, &str, Vec<u8>)]) -> Vec<u8> {
        let mut overrides = vec![(main_part, main_type)];
        overrides.extend(extra.iter().map(|(part, ty, _)| (*part, *ty)));
        let mut entries = vec![
            (
                "[Content_Types].xml",
                content_types(&overrides).into_bytes(),
            ),
            ("_rels/.rels", RELS.as_bytes().to_vec()),
            (
                main_part.trim_start_matches('/'),
                b"<?xml version=\"1.0\"?><document/>".to_vec(),
            ),
        ];
        entries.extend(
            extra
                .iter()
                .map(|(part, _, content)| (part.trim_start_matches('/'), content.clone())),
        );
        zip(&entries)
    }

    pub fn docx() -> Vec<u8> {
        ooxml("/word/document.xml", super::WORD_MAIN, &[])
    }

    pub fn xlsx() -> Vec<u8> {
        ooxml("/xl/workbook.xml", super::EXCEL_MAIN, &[])
    }

    /// A Word document with macros (a `.docm` renamed `.docx`).
    pub fn docm() -> Vec<u8> {
        ooxml(
            "/word/document.xml",
            "application/vnd.ms-word.document.macroEnabled.main+xml",
            &[(
                "/word/vbaProject.bin",
                "application/vnd.ms-office.vbaProject",
                vec![0xD0, 0xCF, 0x11, 0xE0],
            )],
        )
    }

    /// An Excel workbook with macros (`.xlsm`).
    pub fn xlsm() -> Vec<u8> {
        ooxml(
            "/xl/workbook.xml",
            "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
            &[(
                "/xl/vbaProject.bin",
                "application/vnd.ms-office.vbaProject",
                vec![0xD0, 0xCF, 0x11, 0xE0],
            )],
        )
    }

    pub fn jar() -> Vec<u8> {
        zip(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\r\nMain-Class: Evil\r\n".to_vec(),
            ),
            ("Evil.class", vec![0xCA, 0xFE, 0xBA, 0xBE]),
        ])
    }

    pub fn apk() -> Vec<u8> {
        zip(&[
            ("AndroidManifest.xml", vec![3, 0, 8, 0]),
            ("classes.dex", b"dex\n035\0".to_vec()),
        ])
    }

    /// A DOCX-looking archive whose entries expand to `megabytes` MB of
    /// zeros (a few kB on disk).
    pub fn zip_bomb(megabytes: usize) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .start_file("[Content_Types].xml", SimpleFileOptions::default())
            .expect("zip entry");
        writer
            .write_all(content_types(&[("/word/document.xml", super::WORD_MAIN)]).as_bytes())
            .expect("zip write");
        writer
            .start_file("word/document.xml", SimpleFileOptions::default())
            .expect("zip entry");
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..megabytes {
            writer.write_all(&zeros).expect("zip write");
        }
        writer.finish().expect("zip").into_inner()
    }

    /// An OLE compound file with the given streams (paths from the root).
    pub fn ole(streams: &[&str], root_clsid: Option<uuid::Uuid>) -> Vec<u8> {
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
        if let Some(clsid) = root_clsid {
            file.set_storage_clsid("/", clsid).expect("clsid");
        }
        for path in streams {
            if let Some((parent, _)) = path.rsplit_once('/')
                && !parent.is_empty()
            {
                file.create_storage_all(parent).expect("storage");
            }
            let mut stream = file.create_stream(path).expect("stream");
            stream.write_all(&[0u8; 4096]).expect("stream data");
        }
        file.flush().expect("flush");
        file.into_inner().into_inner()
    }

    /// A Word 97–2003 document.
    pub fn doc() -> Vec<u8> {
        ole(
            &["/WordDocument", "/1Table", "/\u{5}SummaryInformation"],
            None,
        )
    }

    /// An Excel 97–2003 workbook.
    pub fn xls() -> Vec<u8> {
        ole(&["/Workbook", "/\u{5}SummaryInformation"], None)
    }

    /// A Word 97–2003 document with a VBA project.
    pub fn doc_with_macros() -> Vec<u8> {
        ole(
            &[
                "/WordDocument",
                "/1Table",
                "/Macros/VBA/dir",
                "/Macros/PROJECT",
            ],
            None,
        )
    }

    /// A Windows Installer package.
    pub fn msi() -> Vec<u8> {
        ole(
            &["/\u{5}SummaryInformation", "/\u{4840}\u{3F3F}\u{4577}"],
            Some(uuid::Uuid::from_u128(
                0x000C1084_0000_0000_C000_000000000046,
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_documents_are_recognised_by_their_structure() {
        assert_eq!(detect_zip(&samples::docx()), Ok(FileType::Docx));
        assert_eq!(detect_zip(&samples::xlsx()), Ok(FileType::Xlsx));
        assert_eq!(detect_ole(&samples::doc()), Ok(FileType::Doc));
        assert_eq!(detect_ole(&samples::xls()), Ok(FileType::Xls));
        let odt = samples::zip(&[
            ("mimetype", ODT.as_bytes().to_vec()),
            ("content.xml", b"<office:document-content/>".to_vec()),
        ]);
        assert_eq!(detect_zip(&odt), Ok(FileType::Odt));
    }

    #[test]
    fn macros_installers_packages_and_bombs_are_refused() {
        assert_eq!(detect_zip(&samples::docm()), Err(Refusal::Macro));
        assert_eq!(detect_zip(&samples::xlsm()), Err(Refusal::Macro));
        assert_eq!(detect_ole(&samples::doc_with_macros()), Err(Refusal::Macro));
        assert_eq!(detect_ole(&samples::msi()), Err(Refusal::Executable));
        // The MSI class id alone, or the packed table names alone, suffice.
        assert_eq!(
            detect_ole(&samples::ole(&["/\u{4840}\u{3F3F}"], None)),
            Err(Refusal::Executable)
        );
        assert_eq!(detect_zip(&samples::jar()), Err(Refusal::Executable));
        assert_eq!(detect_zip(&samples::apk()), Err(Refusal::Executable));
        assert_eq!(detect_zip(&samples::zip_bomb(101)), Err(Refusal::Bomb));
        // A zip of anything else, or a compound file of anything else.
        let other = samples::zip(&[("notes.txt", b"hello".to_vec())]);
        assert_eq!(detect_zip(&other), Err(Refusal::Unknown));
        assert_eq!(
            detect_ole(&samples::ole(&["/PowerPoint Document"], None)),
            Err(Refusal::Unknown)
        );
        let odt_with_basic = samples::zip(&[
            ("mimetype", ODT.as_bytes().to_vec()),
            ("Basic/Standard/Module1.xml", b"<script/>".to_vec()),
        ]);
        assert_eq!(detect_zip(&odt_with_basic), Err(Refusal::Macro));
    }

    #[test]
    fn garbage_after_a_signature_is_refused_without_panicking() {
        let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        ole.extend(vec![0xFF; 4096]);
        assert_eq!(detect_ole(&ole), Err(Refusal::Unknown));
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend(vec![0xFF; 4096]);
        assert_eq!(detect_zip(&zip), Err(Refusal::Unknown));
    }
}
