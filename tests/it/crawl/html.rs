//! Just enough HTML reading for the crawler: the links of a page and its
//! forms with their fields, as a browser would submit them.
//!
//! Not a conforming parser: it reads our own templates (well-formed, quoted
//! attributes), skips comments, `<script>` and `<style>` bodies, and never
//! needs a tree. A page it misreads makes the crawl miss a form, which the
//! form count in the report would show.

/// One control of a form.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub kind: Kind,
    /// The value sent by default (the option selected, the text typed in).
    pub value: String,
    /// Checkboxes and radios: sent only when checked.
    pub checked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Hidden,
    Checkbox,
    Radio,
    File,
    Select,
    Textarea,
    Submit,
}

#[derive(Debug, Clone)]
pub struct Form {
    pub method: String,
    /// As written in the page (empty means "this page").
    pub action: String,
    pub multipart: bool,
    pub fields: Vec<Field>,
}

#[derive(Debug, Default)]
pub struct Page {
    pub links: Vec<String>,
    pub forms: Vec<Form>,
}

/// Decodes the character references our templates produce (askama escapes
/// `&<>"'` as numeric or named references).
pub fn decode_entities(input: &str) -> String {
    if !input.contains('&') {
        return input.to_owned();
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A start tag: its lower-case name and attributes (values decoded).
struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
}

impl Tag {
    fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Reads a start tag from just after its `<`; returns it and the index just
/// after its `>`.
fn read_tag(html: &str, start: usize) -> Option<(Tag, usize)> {
    let bytes = html.as_bytes();
    let mut i = start;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
        i += 1;
    }
    let name = html[start..i].to_ascii_lowercase();
    let mut attributes = Vec::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        if bytes[i] == b'>' {
            return Some((Tag { name, attributes }, i + 1));
        }
        let key_start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let key = html[key_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let value_start = i + 1;
                let end = html[value_start..].find(quote as char)? + value_start;
                value = decode_entities(&html[value_start..end]);
                i = end + 1;
            } else {
                let value_start = i;
                while i < bytes.len() && bytes[i] != b'>' && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = decode_entities(&html[value_start..i]);
            }
        }
        if !key.is_empty() {
            attributes.push((key, value));
        }
    }
}

/// The text up to the closing tag `</name>` (case-insensitive), and the index
/// after that closing tag.
fn raw_text_until(html: &str, from: usize, name: &str) -> (String, usize) {
    let closing = format!("</{name}");
    let lower = html[from..].to_ascii_lowercase();
    match lower.find(&closing) {
        Some(at) => {
            let end = html[from + at..]
                .find('>')
                .map_or(html.len(), |gt| from + at + gt + 1);
            (html[from..from + at].to_owned(), end)
        }
        None => (html[from..].to_owned(), html.len()),
    }
}

/// The links and forms of a page.
pub fn parse(html: &str) -> Page {
    let mut page = Page::default();
    let mut form: Option<Form> = None;
    // The select being read: its field index in the current form, whether
    // an option was marked selected, whether any option was seen.
    let mut select: Option<(usize, bool, bool)> = None;
    let mut i = 0;
    while let Some(offset) = html[i..].find('<') {
        let at = i + offset;
        let rest = &html[at..];
        if rest.starts_with("<!--") {
            i = rest.find("-->").map_or(html.len(), |end| at + end + 3);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            i = rest.find('>').map_or(html.len(), |end| at + end + 1);
            continue;
        }
        if let Some(closing) = rest.strip_prefix("</") {
            let name: String = closing
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if name == "form" {
                if let Some(done) = form.take() {
                    page.forms.push(done);
                }
            } else if name == "select" {
                select = None;
            }
            i = rest.find('>').map_or(html.len(), |end| at + end + 1);
            continue;
        }
        let Some((tag, after)) = read_tag(html, at + 1) else {
            i = at + 1;
            continue;
        };
        i = after;
        match tag.name.as_str() {
            "script" | "style" => {
                i = raw_text_until(html, after, &tag.name).1;
            }
            "a" => {
                if let Some(href) = tag.get("href") {
                    page.links.push(href.to_owned());
                }
            }
            "form" => {
                if let Some(done) = form.take() {
                    page.forms.push(done);
                }
                form = Some(Form {
                    method: tag.get("method").unwrap_or("get").to_ascii_uppercase(),
                    action: tag.get("action").unwrap_or("").to_owned(),
                    multipart: tag
                        .get("enctype")
                        .is_some_and(|e| e.eq_ignore_ascii_case("multipart/form-data")),
                    fields: Vec::new(),
                });
            }
            "input" | "button" | "select" | "textarea" | "option" => {
                let Some(current) = form.as_mut() else {
                    if tag.name == "textarea" {
                        i = raw_text_until(html, after, "textarea").1;
                    }
                    continue;
                };
                if tag.name == "option" {
                    if let Some((index, chosen, seen)) = select.as_mut() {
                        // An option without value sends its text.
                        let value = match tag.get("value") {
                            Some(value) => value.to_owned(),
                            None => decode_entities(
                                html[after..].split('<').next().unwrap_or_default().trim(),
                            ),
                        };
                        let field = &mut current.fields[*index];
                        if tag.has("selected") && !*chosen {
                            field.value = value;
                            *chosen = true;
                        } else if !*chosen && !*seen {
                            // Without a selected one, the first option is sent.
                            field.value = value;
                        }
                        *seen = true;
                    }
                    continue;
                }
                if tag.has("disabled") {
                    if tag.name == "textarea" {
                        i = raw_text_until(html, after, "textarea").1;
                    }
                    continue;
                }
                let name = tag.get("name").unwrap_or("").to_owned();
                let kind = match tag.name.as_str() {
                    "select" => Kind::Select,
                    "textarea" => Kind::Textarea,
                    "button" => match tag.get("type").unwrap_or("submit") {
                        "submit" => Kind::Submit,
                        _ => continue,
                    },
                    _ => match tag
                        .get("type")
                        .unwrap_or("text")
                        .to_ascii_lowercase()
                        .as_str()
                    {
                        "hidden" => Kind::Hidden,
                        "checkbox" => Kind::Checkbox,
                        "radio" => Kind::Radio,
                        "file" => Kind::File,
                        "submit" | "image" => Kind::Submit,
                        "reset" | "button" => continue,
                        _ => Kind::Text,
                    },
                };
                let mut value = tag.get("value").unwrap_or("").to_owned();
                if kind == Kind::Textarea {
                    let (text, end) = raw_text_until(html, after, "textarea");
                    // A newline right after <textarea> is not part of the value.
                    value = decode_entities(text.strip_prefix('\n').unwrap_or(&text));
                    i = end;
                }
                if matches!(kind, Kind::Checkbox | Kind::Radio) && !tag.has("value") {
                    value = "on".to_owned();
                }
                if name.is_empty() {
                    continue;
                }
                current.fields.push(Field {
                    name,
                    kind,
                    value,
                    checked: tag.has("checked"),
                });
                if kind == Kind::Select {
                    select = Some((current.fields.len() - 1, false, false));
                }
            }
            _ => {}
        }
    }
    if let Some(done) = form.take() {
        page.forms.push(done);
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_links_and_a_form_as_a_browser_would_send_it() {
        let page = parse(
            r#"<!doctype html><a href="/bo?x=1&amp;y=2">l</a>
            <!-- <a href="/commented"> -->
            <script>var s = "<a href='/in-script'>";</script>
            <form method="post" action="/bo/etiquettes">
              <input type="hidden" name="_csrf" value="abc">
              <input name=label value="Plomb &#34;x&#34;">
              <select name="territory_id"><option value="">Choisir</option><option value="2" selected>13</option></select>
              <textarea name="note">
Bonjour &lt;b&gt;</textarea>
              <input type="checkbox" name="c" value="1" checked><input type="radio" name="r">
              <button type="submit" name="go" value="ok">Envoyer</button>
            </form>"#,
        );
        assert_eq!(page.links, vec!["/bo?x=1&y=2"]);
        let form = &page.forms[0];
        assert_eq!(
            (form.method.as_str(), form.action.as_str()),
            ("POST", "/bo/etiquettes")
        );
        let values: Vec<_> = form
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str(), f.checked))
            .collect();
        assert_eq!(
            values,
            vec![
                ("_csrf", "abc", false),
                ("label", "Plomb \"x\"", false),
                ("territory_id", "2", false),
                ("note", "Bonjour <b>", false),
                ("c", "1", true),
                ("r", "on", false),
                ("go", "ok", false),
            ]
        );
    }
}
