//! Cell encoding of the exports (CSV and XLSX), pure so that it is tested
//! on its own: the `;`-separated CSV that French spreadsheet software opens
//! directly, and the guard against formula injection (a resident's name
//! starting with `=` must not become a formula in the agent's spreadsheet).

/// The UTF-8 byte order mark: spreadsheet software reads the file as UTF-8
/// only when it starts with it.
pub const BOM: &str = "\u{feff}";

/// The CSV separator.
pub const SEPARATOR: char = ';';

/// A text that spreadsheet software would read as a formula gets a leading
/// apostrophe (OWASP "CSV injection").
/// A negative decimal number (a longitude west of Greenwich) is left alone.
pub fn neutralize_formula(value: &str) -> std::borrow::Cow<'_, str> {
    if is_negative_decimal(value) {
        return value.into();
    }
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

fn is_negative_decimal(value: &str) -> bool {
    let Some(rest) = value.strip_prefix('-') else {
        return false;
    };
    let mut parts = rest.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// One CSV cell: formula-guarded, quoted when it holds the separator, a
/// quote or a line break (quotes doubled).
pub fn csv_cell(value: &str, out: &mut String) {
    let value = neutralize_formula(value);
    if value.contains([SEPARATOR, '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&value);
    }
}

/// One CSV line (CRLF-terminated, as RFC 4180 says).
pub fn csv_line<S: AsRef<str>>(cells: &[S], out: &mut String) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        csv_cell(cell.as_ref(), out);
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cells: &[&str]) -> String {
        let mut out = String::new();
        csv_line(cells, &mut out);
        out
    }

    #[test]
    fn cells_with_separators_quotes_and_line_breaks_are_quoted() {
        assert_eq!(line(&["a", "b"]), "a;b\r\n");
        assert_eq!(line(&["a;b", "c"]), "\"a;b\";c\r\n");
        assert_eq!(line(&["dit \"oui\""]), "\"dit \"\"oui\"\"\"\r\n");
        assert_eq!(line(&["ligne 1\nligne 2"]), "\"ligne 1\nligne 2\"\r\n");
        assert_eq!(line(&["", "x"]), ";x\r\n");
    }

    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(line(&["=1+1"]), "'=1+1\r\n");
        assert_eq!(line(&["+33 6"]), "'+33 6\r\n");
        assert_eq!(line(&["-2+3"]), "'-2+3\r\n");
        assert_eq!(line(&["-1.55"]), "-1.55\r\n");
        assert_eq!(line(&["@SUM(A1)"]), "'@SUM(A1)\r\n");
        assert_eq!(
            line(&["=HYPERLINK(\"x\";\"y\")"]),
            "\"'=HYPERLINK(\"\"x\"\";\"\"y\"\")\"\r\n"
        );
        assert_eq!(neutralize_formula("Lyon"), "Lyon");
    }
}
