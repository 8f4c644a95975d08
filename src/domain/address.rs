//! The normalised key of an address: one place, one key, whatever the
//! spelling ("12 rue X", "12, Rue X").
//!
//! The database computes the same key in a stored generated column
//! (`reports.address_key`, migration 20261207050000); this module is its
//! Rust twin, used where no report row exists yet (a line of an imported
//! register of orders) and to check a key read from a URL. Both must stay
//! equal: `tests/it/address_history.rs` compares them on tricky addresses.

use std::fmt;

/// Longest key accepted from outside (the column is `VARCHAR(320)`).
const MAX_LEN: usize = 320;

/// Accented letters folded to ASCII, in the order the SQL expression
/// replaces them (after lowercasing).
const FOLDS: &[(char, &str)] = &[
    ('à', "a"),
    ('â', "a"),
    ('ä', "a"),
    ('á', "a"),
    ('é', "e"),
    ('è', "e"),
    ('ê', "e"),
    ('ë', "e"),
    ('î', "i"),
    ('ï', "i"),
    ('í', "i"),
    ('ô', "o"),
    ('ö', "o"),
    ('ó', "o"),
    ('ù', "u"),
    ('û', "u"),
    ('ü', "u"),
    ('ú', "u"),
    ('ÿ', "y"),
    ('ç', "c"),
    ('œ', "oe"),
    ('æ', "ae"),
];

/// A normalised address key: the BAN id (lowercase) when known, otherwise
/// `postalcode-street-words` in lowercase ASCII.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddressKey(String);

impl AddressKey {
    /// The key of an address, as the database computes it.
    pub fn of(ban_id: Option<&str>, postal_code: &str, address_line: &str) -> Self {
        // SQL TRIM removes spaces only, not every whitespace.
        if let Some(ban) = ban_id
            .map(|b| b.trim_matches(' '))
            .filter(|b| !b.is_empty())
        {
            return Self(ban.to_lowercase());
        }
        let mut words = String::new();
        for c in address_line.to_lowercase().chars() {
            let folded = FOLDS.iter().find(|(from, _)| *from == c).map(|(_, to)| *to);
            match folded {
                Some(to) => words.push_str(to),
                None if c.is_ascii_lowercase() || c.is_ascii_digit() => words.push(c),
                // Any other character separates words; runs collapse.
                None if !words.ends_with('-') => words.push('-'),
                None => {}
            }
        }
        Self(format!(
            "{}-{}",
            postal_code.trim_matches(' '),
            words.trim_matches('-')
        ))
    }

    /// A key read from a URL: lowercase ASCII letters, digits, `-` and `_`
    /// (BAN ids), nothing else, at most the column's length.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = !text.is_empty()
            && text.len() <= MAX_LEN
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        valid.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AddressKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_address_have_one_key() {
        let a = AddressKey::of(None, "69003", "12 rue X");
        let b = AddressKey::of(None, "69003", "12, Rue X");
        let c = AddressKey::of(Some(""), "69003", "  12 , RUE  x. ");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.as_str(), "69003-12-rue-x");
    }

    #[test]
    fn accents_fold_and_other_postal_codes_differ() {
        assert_eq!(
            AddressKey::of(None, "75001", "12, Rue de l'Église").as_str(),
            "75001-12-rue-de-l-eglise"
        );
        assert_eq!(
            AddressKey::of(None, "75001", "Œuvre Ç").as_str(),
            "75001-oeuvre-c"
        );
        assert_ne!(
            AddressKey::of(None, "69003", "12 rue X"),
            AddressKey::of(None, "69004", "12 rue X")
        );
    }

    #[test]
    fn the_ban_id_wins_when_known() {
        assert_eq!(
            AddressKey::of(Some("69383_1234_00012"), "69003", "12 rue X").as_str(),
            "69383_1234_00012"
        );
    }

    #[test]
    fn a_key_from_a_url_is_checked() {
        assert!(AddressKey::parse("69003-12-rue-x").is_some());
        assert!(AddressKey::parse("69383_1234_00012").is_some());
        for bad in ["", "69003 12", "../x", "A", "é", &"a".repeat(321)] {
            assert!(AddressKey::parse(bad).is_none(), "{bad}");
        }
    }
}
