//! One document, two formats: every Open311 answer is built once as a JSON
//! value and written either as JSON or as the XML the specification
//! describes (the "Spark convention": a list is an element named after the
//! plural, each item after the singular; no namespace, no attribute).

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

/// The format a path asks for with its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// `services.json` → (`services`, Json); `None` for another extension.
    pub fn split(file: &str) -> Option<(&str, Self)> {
        let (name, ext) = file.rsplit_once('.')?;
        let format = match ext {
            "json" => Self::Json,
            "xml" => Self::Xml,
            _ => return None,
        };
        (!name.is_empty()).then_some((name, format))
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json; charset=utf-8",
            Self::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// The item element of a list element.
fn singular(plural: &str) -> &str {
    match plural {
        "service_requests" => "request",
        "errors" => "error",
        "services" => "service",
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

fn element(name: &str, value: &Value, out: &mut String) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => escape(s, out),
        Value::Array(items) => {
            for item in items {
                element(singular(name), item, out);
            }
        }
        Value::Object(fields) => {
            for (key, field) in fields {
                element(key, field, out);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The XML of a document whose root element is `root` (fields in key
/// order: the specification fixes no order).
pub fn to_xml(root: &str, value: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    element(root, value, &mut out);
    out
}

/// A response in the asked format.
pub fn respond(status: StatusCode, format: Format, root: &str, value: &Value) -> Response {
    let body = match format {
        Format::Json => value.to_string(),
        Format::Xml => to_xml(root, value),
    };
    (
        status,
        [(header::CONTENT_TYPE, format.content_type())],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_use_the_plural_then_the_singular_and_text_is_escaped() {
        let xml = to_xml(
            "services",
            &json!([{ "service_code": "a&b", "metadata": true, "group": null }]),
        );
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service>\
             <group></group><metadata>true</metadata><service_code>a&amp;b</service_code>\
             </service></services>"
        );
    }

    #[test]
    fn extensions_choose_the_format() {
        assert_eq!(
            Format::split("services.xml"),
            Some(("services", Format::Xml))
        );
        assert_eq!(
            Format::split("13-2026-1.json"),
            Some(("13-2026-1", Format::Json))
        );
        assert_eq!(Format::split("services.html"), None);
        assert_eq!(Format::split("services"), None);
    }
}
