//! Field-level differences for the audit log.

use serde_json::{Map, Value, json};

/// `{"field": [old, new]}` for the fields whose value changed; `None` when
/// nothing changed. Secrets are never passed here (passwords are recorded
/// as the fact of their change only).
pub fn diff(fields: &[(&str, String, String)]) -> Option<Value> {
    let mut map = Map::new();
    for (name, before, after) in fields {
        if before != after {
            map.insert((*name).to_owned(), json!([before, after]));
        }
    }
    (!map.is_empty()).then_some(Value::Object(map))
}

/// `{"field": [null, value]}` for a creation.
pub fn created(fields: &[(&str, String)]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), json!([Value::Null, value])))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_kept() {
        let d = diff(&[
            ("role", "agent".into(), "partner_admin".into()),
            ("email", "a@b.fr".into(), "a@b.fr".into()),
        ])
        .unwrap();
        assert_eq!(d, json!({"role": ["agent", "partner_admin"]}));
        assert_eq!(diff(&[("x", "1".into(), "1".into())]), None);
    }
}
