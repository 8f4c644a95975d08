//! A prefecture's register of orders, imported as CSV: decoding (UTF-8 or
//! Windows-1252), separator (`;` or `,`), header, and each line checked
//! into an order and an address key, or into French errors naming the
//! line (docs/arretes.md §3). Pure: matching lines to cases and writing
//! them is the caller's.

use time::Date;

use super::address::AddressKey;
use super::arrete::{self, ArreteInput, Signatory, ValidArrete};

/// Largest register accepted (bytes): a département's yearly register is
/// a few hundred lines.
pub const MAX_FILE_BYTES: usize = 512 * 1024;
/// Most data lines in one file.
pub const MAX_LINES: usize = 5_000;
/// Longest line (characters); longer ones are refused, not parsed.
pub const MAX_LINE_CHARS: usize = 2_000;

/// The columns, as named in the header (case, accents and spacing folded).
const DATE: &str = "date arrete";
const TYPE: &str = "classification arrete";
const LIFTED: &str = "date arrete main levee";
const STREET_NUMBER: &str = "numero de voie";
const STREET: &str = "nom de la voie";
const POSTAL_CODE: &str = "code postal";
const CITY: &str = "commune";
const NUMBER: &str = "numero arrete";
const SIGNATORY: &str = "signataire";
const DEADLINE: &str = "date limite travaux";

/// Columns a register must have.
const REQUIRED: [&str; 7] = [DATE, TYPE, NUMBER, STREET_NUMBER, STREET, POSTAL_CODE, CITY];

/// A line that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    /// 1-based line number in the file, for messages.
    pub line: usize,
    pub order: ValidArrete,
    /// "12 rue X, 69003 Lyon".
    pub address_label: String,
    pub address_key: AddressKey,
}

/// A line refused, with every reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub messages: Vec<String>,
}

/// What a register holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub valid: Vec<ImportLine>,
    pub errors: Vec<LineError>,
}

/// Why the whole file is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    Empty,
    TooBig,
    TooManyLines,
    MissingColumns(Vec<&'static str>),
}

impl FileError {
    pub fn message(&self) -> String {
        match self {
            Self::Empty => "Le fichier est vide.".into(),
            Self::TooBig => format!(
                "Le fichier dépasse {} Ko : découpez le registre en plusieurs fichiers.",
                MAX_FILE_BYTES / 1024
            ),
            Self::TooManyLines => {
                format!("Le fichier compte plus de {MAX_LINES} lignes : découpez le registre.")
            }
            Self::MissingColumns(columns) => format!(
                "Colonnes manquantes dans l’en-tête : {}. Reprenez le modèle de fichier.",
                columns.join(", ")
            ),
        }
    }
}

/// The characters of Windows-1252 at 0x80..=0x9F (the rest is Latin-1).
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// UTF-8 (with or without BOM) when the bytes are valid UTF-8, otherwise
/// Windows-1252, the encoding of a spreadsheet saved as CSV on Windows.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes
            .iter()
            .map(|&b| match b {
                0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)],
                _ => char::from(b),
            })
            .collect(),
    }
}

/// Splits the text into records of fields (quotes as in RFC 4180: a quoted
/// field may hold the separator, `""` and line breaks). Each record keeps
/// the number of the line it starts on; a record longer than
/// [`MAX_LINE_CHARS`] is kept as `None` (refused without being parsed).
fn records(text: &str, separator: char) -> Vec<(usize, Option<Vec<String>>)> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut start_line = 1;
    let mut length = 0usize;
    let mut chars = text.chars().peekable();
    let mut finish =
        |fields: &mut Vec<String>, field: &mut String, length: &mut usize, start: usize| {
            fields.push(std::mem::take(field));
            let record = std::mem::take(fields);
            let blank = record.iter().all(|f| f.trim().is_empty());
            if *length > MAX_LINE_CHARS {
                out.push((start, None));
            } else if !blank {
                out.push((start, Some(record)));
            }
            *length = 0;
        };
    while let Some(c) = chars.next() {
        length += 1;
        if length > MAX_LINE_CHARS + 1 && !in_quotes && c != '\n' {
            // Past the limit: skip to the end of the line without storing.
            continue;
        }
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if in_quotes => in_quotes = false,
            '"' if field.is_empty() => in_quotes = true,
            '\n' => {
                line += 1;
                if in_quotes && length <= MAX_LINE_CHARS {
                    field.push('\n');
                } else {
                    in_quotes = false;
                    finish(&mut fields, &mut field, &mut length, start_line);
                    start_line = line;
                }
            }
            '\r' if !in_quotes => {}
            c if c == separator && !in_quotes => fields.push(std::mem::take(&mut field)),
            c => {
                if length <= MAX_LINE_CHARS {
                    field.push(c);
                }
            }
        }
    }
    if !field.is_empty() || !fields.is_empty() {
        finish(&mut fields, &mut field, &mut length, start_line);
    }
    out
}

/// Lowercase, accents and spacing folded, for header names and values.
fn fold(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' => 'a',
            'î' | 'ï' => 'i',
            'ô' => 'o',
            'ù' | 'û' => 'u',
            'ç' => 'c',
            '’' | '\'' | '°' | '.' => ' ',
            c => c,
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads a register: the header is the first line naming the required
/// columns among the first three (Histologe's template has a line of
/// hints above it); every following line is checked.
pub fn parse(bytes: &[u8], today: Date) -> Result<Parsed, FileError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileError::TooBig);
    }
    let text = decode(bytes);
    let first_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or(FileError::Empty)?;
    // The separator that splits the header best.
    let separator = if first_line.matches(';').count() >= first_line.matches(',').count() {
        ';'
    } else {
        ','
    };
    let mut all = records(&text, separator);
    let separator = if all
        .iter()
        .take(3)
        .filter_map(|(_, r)| r.as_ref())
        .any(|r| r.len() >= REQUIRED.len())
    {
        separator
    } else {
        // The hint line misled the guess: try the other one.
        let other = if separator == ';' { ',' } else { ';' };
        all = records(&text, other);
        other
    };
    let _ = separator;
    let header_at = all.iter().take(3).position(|(_, r)| {
        r.as_ref()
            .is_some_and(|r| REQUIRED.iter().all(|c| r.iter().any(|h| fold(h) == *c)))
    });
    let Some(header_at) = header_at else {
        let seen: Vec<String> = all
            .first()
            .and_then(|(_, r)| r.clone())
            .unwrap_or_default()
            .iter()
            .map(|h| fold(h))
            .collect();
        let missing = REQUIRED
            .iter()
            .copied()
            .filter(|c| !seen.iter().any(|h| h == c))
            .collect::<Vec<_>>();
        return Err(FileError::MissingColumns(if missing.is_empty() {
            REQUIRED.to_vec()
        } else {
            missing
        }));
    };
    let header: Vec<String> = all[header_at]
        .1
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|h| fold(h))
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let lines = &all[header_at + 1..];
    if lines.len() > MAX_LINES {
        return Err(FileError::TooManyLines);
    }
    let mut parsed = Parsed::default();
    for (line, record) in lines {
        let Some(record) = record else {
            parsed.errors.push(LineError {
                line: *line,
                messages: vec![format!(
                    "Ligne trop longue (plus de {MAX_LINE_CHARS} caractères) : ignorée."
                )],
            });
            continue;
        };
        let get = |name: &str| {
            column(name)
                .and_then(|i| record.get(i))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        match check_line(&get, today) {
            Ok((order, address_label, address_key)) => parsed.valid.push(ImportLine {
                line: *line,
                order,
                address_label,
                address_key,
            }),
            Err(messages) => parsed.errors.push(LineError {
                line: *line,
                messages,
            }),
        }
    }
    Ok(parsed)
}

/// One line: the order's checks (domain::arrete::check) and the address.
fn check_line(
    get: &dyn Fn(&str) -> String,
    today: Date,
) -> Result<(ValidArrete, String, AddressKey), Vec<String>> {
    let input = ArreteInput {
        kind: get(TYPE),
        number: get(NUMBER),
        date: get(DATE),
        signatory: match fold(&get(SIGNATORY)).as_str() {
            "maire" => "maire".into(),
            "prefet" | "prefete" | "prefecture" => "prefet".into(),
            "" => String::new(),
            _ => "?".into(),
        },
        signer_name: String::new(),
        works_deadline: get(DEADLINE),
        lifted_on: get(LIFTED),
    };
    // A register's orders are the prefect's unless the line says otherwise.
    let checked = arrete::check(&input, Some(Signatory::Prefect), today);
    let mut messages: Vec<String> = match &checked {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.iter().map(|(_, m)| m.clone()).collect(),
    };
    let (number, street, postal_code, city) =
        (get(STREET_NUMBER), get(STREET), get(POSTAL_CODE), get(CITY));
    if street.is_empty() || street.chars().count() > 200 || number.chars().count() > 20 {
        messages.push("Indiquez le nom de la voie (200 caractères au plus).".into());
    }
    if !(postal_code.len() == 5 && postal_code.bytes().all(|b| b.is_ascii_digit())) {
        messages.push("Le code postal fait 5 chiffres.".into());
    }
    if city.is_empty() || city.chars().count() > 100 {
        messages.push("Indiquez la commune.".into());
    }
    match checked {
        Ok(order) if messages.is_empty() => {
            let address_line = format!("{number} {street}").trim().to_owned();
            let key = AddressKey::of(None, &postal_code, &address_line);
            Ok((order, format!("{address_line}, {postal_code} {city}"), key))
        }
        _ => Err(messages),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::arrete::ArreteType;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 12 - 05);
    const HEADER: &str = "date arrêté;numéro arrêté;classification arrêté;date arrêté main levée;numéro de voie;nom de la voie;code postal;commune";

    #[test]
    fn a_valid_register_reads_with_its_hint_line() {
        let text = format!(
            ",,(format dd/mm/aaaa)\n{HEADER}\n01/02/2026;AP-2026-01;Insalubrité;;12;Rue X;69003;Lyon\r\n\"15/01/2026\";\"AP 2026/02\";Mise en sécurité procédure urgente;20/02/2026;25bis;\"Avenue du \"\"Prado\"\"\";13008;Marseille\n"
        );
        let parsed = parse(text.as_bytes(), TODAY).unwrap();
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.valid.len(), 2);
        assert_eq!(parsed.valid[0].line, 3);
        assert_eq!(parsed.valid[0].order.kind, ArreteType::L511_19Insalubrite);
        assert_eq!(parsed.valid[0].address_key.as_str(), "69003-12-rue-x");
        assert_eq!(parsed.valid[1].order.number, "AP 2026/02");
        assert_eq!(parsed.valid[1].order.lifted_on, Some(date!(2026 - 02 - 20)));
        assert_eq!(
            parsed.valid[1].address_label,
            "25bis Avenue du \"Prado\", 13008 Marseille"
        );
    }

    #[test]
    fn windows_1252_and_commas_are_read() {
        let header = "date arr\u{e9}t\u{e9},num\u{e9}ro arr\u{e9}t\u{e9},classification arr\u{e9}t\u{e9},num\u{e9}ro de voie,nom de la voie,code postal,commune\n";
        let mut bytes: Vec<u8> = header.chars().map(|c| c as u8).collect();
        bytes.extend_from_slice(
            b"01/02/2026,7,Ins\xe9curit\xe9,3,Rue de l\x92\xc9glise,75001,Paris\n",
        );
        bytes.extend_from_slice(
            b"01/02/2026,8,Insalubrit\xe9,3,Rue de l\x92\xc9glise,75001,Paris\n",
        );
        let parsed = parse(&bytes, TODAY).unwrap();
        assert_eq!(parsed.valid.len(), 1);
        assert_eq!(
            parsed.valid[0].address_key.as_str(),
            "75001-3-rue-de-l-eglise"
        );
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 2);
        assert_eq!(
            parsed.errors[0].messages,
            ["Choisissez le type d’arrêté dans la liste."]
        );
    }

    #[test]
    fn bad_lines_list_every_reason_and_huge_lines_are_refused_whole() {
        let long = "x".repeat(MAX_LINE_CHARS + 10);
        let text = format!(
            "{HEADER}\n31/02/2026;;Amende;;;;690;\n01/01/2026;9;Insalubrité;;1;{long};69003;Lyon\n"
        );
        let parsed = parse(text.as_bytes(), TODAY).unwrap();
        assert!(parsed.valid.is_empty());
        assert_eq!(parsed.errors[0].line, 2);
        assert_eq!(parsed.errors[0].messages.len(), 6, "{:?}", parsed.errors[0]);
        assert_eq!(parsed.errors[1].line, 3);
        assert!(parsed.errors[1].messages[0].starts_with("Ligne trop longue"));
    }

    #[test]
    fn files_without_the_columns_or_too_big_are_refused() {
        assert_eq!(parse(b"", TODAY), Err(FileError::Empty));
        assert!(matches!(
            parse(b"a;b;c\n1;2;3\n", TODAY),
            Err(FileError::MissingColumns(_))
        ));
        assert_eq!(
            parse(&vec![b'a'; MAX_FILE_BYTES + 1], TODAY),
            Err(FileError::TooBig)
        );
    }
}
