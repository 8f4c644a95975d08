//! What form handlers share: field errors shown next to each field,
//! pagination, URL encoding.

use std::collections::BTreeMap;

/// Errors by field name, in French. A form that has any is re-rendered with
/// a 422 and everything the user typed.
#[derive(Debug, Default, Clone)]
pub struct FormErrors(BTreeMap<&'static str, String>);

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// The error of a field, for templates: `{% if let Some(e) = errors.get("email") %}`.
    pub fn get(&self, field: &str) -> Option<&String> {
        self.0.get(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// (field, message) pairs, for the summary at the top of a form.
    pub fn iter(&self) -> impl Iterator<Item = (&&'static str, &String)> {
        self.0.iter()
    }
}

/// Percent-encodes a query-string value.
pub fn url_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A back-office path to go back to after login, or `/bo`.
///
/// Only a path of the back office is accepted, checked on what a browser
/// would make of it: browsers drop tabs and newlines from URLs and read `\`
/// as `/`, so `/\tevil.example` or `/\evil.example` become `//evil.example`,
/// another site. The value must start with `/bo` (then end, `/`, `?` or `#`),
/// parse as a path, and contain, even once percent-decoded, no control or
/// blank character, no backslash, no `//` and no `..` segment.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if is_back_office_path(path) => path.to_owned(),
        _ => "/bo".to_owned(),
    }
}

fn is_back_office_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/bo") else {
        return false;
    };
    if !(rest.is_empty() || rest.starts_with(['/', '?', '#'])) {
        return false;
    }
    if path.len() > 2000 || path.parse::<axum::http::uri::PathAndQuery>().is_err() {
        return false;
    }
    let decoded = percent_decode(path);
    let route = decoded.split(['?', '#']).next().unwrap_or_default();
    !decoded
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        && !route.contains("//")
        && !route.split('/').any(|segment| segment == "..")
}

/// `%XX` sequences decoded (as Latin-1 bytes: only ASCII matters here).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(char::from((high * 16 + low) as u8));
            i += 3;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    out
}

/// A page of a list.
#[derive(Debug, Clone)]
pub struct Pagination {
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
    /// `total` is a lower bound (a count stopped at a horizon): the last
    /// page is unknown, "page suivante" stays offered.
    pub capped: bool,
}

impl Pagination {
    pub fn new(page: Option<u32>, per_page: u32, total: i64) -> Self {
        Self {
            page: page.unwrap_or(1).max(1),
            per_page,
            total,
            capped: false,
        }
    }

    /// A page of a list whose count stopped at `total` when `capped`.
    pub fn at_least(page: Option<u32>, per_page: u32, total: i64, capped: bool) -> Self {
        Self {
            capped,
            ..Self::new(page, per_page, total)
        }
    }

    /// The count as read by a person: "1 234", or "plus de 10 000".
    pub fn total_label(&self) -> String {
        let digits = self.total.max(0).to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('\u{202f}');
            }
            grouped.push(c);
        }
        if self.capped {
            format!("plus de {grouped}")
        } else {
            grouped
        }
    }

    pub fn offset(page: Option<u32>, per_page: u32) -> u32 {
        (page.unwrap_or(1).max(1) - 1).saturating_mul(per_page)
    }

    pub fn pages(&self) -> u32 {
        let pages = (self.total.max(0) as u64).div_ceil(u64::from(self.per_page));
        pages.max(1) as u32
    }

    pub fn has_previous(&self) -> bool {
        self.page > 1
    }

    pub fn has_next(&self) -> bool {
        self.capped || self.page < self.pages()
    }

    pub fn previous(&self) -> u32 {
        self.page.saturating_sub(1).max(1)
    }

    pub fn next(&self) -> u32 {
        self.page + 1
    }
}

/// Trims a text field; empty becomes `None`.
pub fn non_empty(value: &str) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Whether a path parameter has the shape of our public ids (lower- or
/// upper-case hyphenated UUID, 36 ASCII characters). Handlers check it
/// before any query, so that a malformed id is a 404 and never reaches the
/// database (where an emoji compared with an ASCII column is an error).
pub fn looks_like_uuid(value: &str) -> bool {
    value.len() == 36
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_return_path_after_login_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/bo/utilisateurs?page=2")),
            "/bo/utilisateurs?page=2"
        );
        assert_eq!(safe_next(Some("/bo")), "/bo");
        assert_eq!(safe_next(Some("/bo?onglet=2")), "/bo?onglet=2");
        assert_eq!(safe_next(None), "/bo");
        for hostile in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/bo/%09/evil",
            "/bo\\..\\..",
            "/bo//evil.example",
            "/bo/%2F/evil.example",
            "/bo/../../evil",
            "/bo/%2e%2e/x",
            "/boite",
            "/signalement",
            "/bo/\u{0}",
            "/bo/a b",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/bo", "{hostile:?}");
        }
    }

    #[test]
    fn pagination_counts_pages() {
        let p = Pagination::new(Some(2), 25, 51);
        assert_eq!(p.pages(), 3);
        assert!(p.has_previous() && p.has_next());
        assert_eq!(Pagination::offset(Some(3), 25), 50);
        assert_eq!(Pagination::new(None, 25, 0).pages(), 1);
    }

    #[test]
    fn only_uuid_shaped_ids_pass() {
        assert!(looks_like_uuid("69f39361-807f-47f8-936b-2641578137e4"));
        assert!(looks_like_uuid("69F39361-807F-47F8-936B-2641578137E4"));
        assert!(!looks_like_uuid("69f39361807f47f8936b2641578137e4"));
        assert!(!looks_like_uuid("69f39361-807f-47f8-936b-2641578137e😀"));
        assert!(!looks_like_uuid("../../etc/passwd"));
        assert!(!looks_like_uuid(""));
    }
}
