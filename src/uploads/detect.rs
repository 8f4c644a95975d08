//! What a file is, from its content: never from its name or the browser's
//! claim. Images and PDF by their signature, Office documents by parsing
//! their structure ([`super::office`]); executables are named as such so the
//! refusal can say so. Everything else is refused: this is an allow-list.

use super::{FileType, Refusal, office};

const OLE_SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Programs: Windows (MZ), Linux (ELF), macOS (Mach-O, also universal
/// binaries and Java classes which share `CAFEBABE`) and scripts with a
/// `#!` line.
fn is_executable(bytes: &[u8]) -> bool {
    const MAGICS: [&[u8]; 8] = [
        b"MZ",
        b"\x7fELF",
        &[0xFE, 0xED, 0xFA, 0xCE],
        &[0xFE, 0xED, 0xFA, 0xCF],
        &[0xCE, 0xFA, 0xED, 0xFE],
        &[0xCF, 0xFA, 0xED, 0xFE],
        &[0xCA, 0xFE, 0xBA, 0xBE],
        b"#!",
    ];
    // A UTF-8 byte order mark does not make a script less of a script.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    MAGICS.iter().any(|magic| bytes.starts_with(magic))
}

/// The type of an accepted file, or why it is refused.
pub fn detect(bytes: &[u8]) -> Result<FileType, Refusal> {
    if is_executable(bytes) {
        return Err(Refusal::Executable);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(FileType::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(FileType::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Ok(FileType::Gif);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(FileType::Webp);
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(FileType::Pdf);
    }
    if bytes.starts_with(&OLE_SIGNATURE) {
        return office::detect_ole(bytes);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return office::detect_zip(bytes);
    }
    Err(Refusal::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uploads::office::samples;

    #[test]
    fn types_come_from_content_not_names() {
        assert_eq!(detect(b"\xFF\xD8\xFF\xE0rest"), Ok(FileType::Jpeg));
        assert_eq!(detect(b"%PDF-1.7 ..."), Ok(FileType::Pdf));
        assert_eq!(detect(b"RIFF\0\0\0\0WEBPVP8 "), Ok(FileType::Webp));
        assert_eq!(detect(b"<html><script>"), Err(Refusal::Unknown));
        assert_eq!(detect(&samples::docx()), Ok(FileType::Docx));
        assert_eq!(detect(&samples::doc()), Ok(FileType::Doc));
    }

    #[test]
    fn programs_are_named_as_such() {
        for program in [
            &b"MZ\x90\x00 a Windows program"[..],
            b"\x7fELF\x02\x01\x01",
            b"\xCF\xFA\xED\xFE\x07\x00",
            b"#!/bin/sh\nrm -rf /",
            b"\xEF\xBB\xBF#!/usr/bin/env python3",
        ] {
            assert_eq!(detect(program), Err(Refusal::Executable));
        }
        assert_eq!(detect(&samples::jar()), Err(Refusal::Executable));
        assert_eq!(detect(&samples::msi()), Err(Refusal::Executable));
        assert_eq!(detect(&samples::xlsm()), Err(Refusal::Macro));
    }
}
