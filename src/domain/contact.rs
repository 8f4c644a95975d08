//! Contact values parsed once, at the edge, and carried typed afterwards:
//! [`Email`], [`Phone`], [`PostalCode`], [`InseeCode`] (docs/form.md §5.5).
//!
//! Each has one `parse(&str) -> Result<Self, Invalid>` that trims, checks
//! and normalises; a value of the type is therefore always well formed, and
//! the public form, the back office and the follow-up space apply the same
//! rule. `Invalid` carries the French message shown next to the field. The
//! database layer implements the sqlx traits (`src/db/contact.rs`) so that
//! queries bind them directly.

use std::fmt;

/// Why a value was refused: the French sentence shown to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid(pub &'static str);

impl Invalid {
    pub fn message(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Invalid {}

macro_rules! string_value {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self, Invalid> {
                Self::parse(s)
            }
        }
    };
}

/// An e-mail address: trimmed, lower case, at most 255 characters, one `@`
/// between a local part (at most 64 characters) and a dotted domain, no
/// space nor any of `<>"(),;:[]\` (they would break a header or a CSV).
/// The real proof of an address is the mail it receives; this rule keeps
/// out typing mistakes and header tricks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 255;
    const INVALID: Invalid =
        Invalid("Saisissez une adresse électronique valide, par exemple nom@domaine.fr.");

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.trim().to_lowercase();
        let Some((local, domain)) = value.split_once('@') else {
            return Err(Self::INVALID);
        };
        let well_formed = value.chars().count() <= Self::MAX_CHARS
            && !local.is_empty()
            && local.chars().count() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && domain.split('.').all(|label| !label.is_empty())
            && value.chars().all(|c| {
                !c.is_whitespace()
                    && !c.is_control()
                    && !matches!(
                        c,
                        '<' | '>' | '"' | '(' | ')' | ',' | ';' | ':' | '[' | ']' | '\\'
                    )
            });
        if well_formed {
            Ok(Self(value))
        } else {
            Err(Self::INVALID)
        }
    }
}
string_value!(Email);

/// Overseas prefixes: national prefix (4 digits) → country calling code.
const OVERSEAS: [(&str, &str); 12] = [
    ("0262", "262"), // La Réunion, landline
    ("0692", "262"), // La Réunion, mobile
    ("0693", "262"),
    ("0269", "262"), // Mayotte
    ("0639", "262"),
    ("0590", "590"), // Guadeloupe
    ("0690", "590"),
    ("0691", "590"),
    ("0594", "594"), // Guyane
    ("0694", "594"),
    ("0596", "596"), // Martinique
    ("0696", "596"),
];

/// Country calling codes accepted after `+` or `00`: mainland France and
/// the overseas departments.
const CALLING_CODES: [&str; 5] = ["262", "590", "594", "596", "33"];

/// A French phone number (mainland or overseas), stored in E.164
/// (`+33612345678`, `+262692123456`). Spaces, dots, dashes and brackets
/// are tolerated on input; `0X…`, `+33 X…` and `0033 X…` are the same
/// number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    const INVALID: Invalid =
        Invalid("Saisissez un numéro de téléphone français valide, par exemple 06 12 34 56 78.");

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let compact: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
            .collect();
        let international = compact
            .strip_prefix('+')
            .or_else(|| compact.strip_prefix("00"));
        if let Some(rest) = international {
            if !rest.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Self::INVALID);
            }
            for code in CALLING_CODES {
                if let Some(number) = rest.strip_prefix(code) {
                    return if number.len() == 9 && !number.starts_with('0') {
                        Ok(Self(format!("+{code}{number}")))
                    } else {
                        Err(Self::INVALID)
                    };
                }
            }
            return Err(Self::INVALID);
        }
        let national = compact;
        if national.len() != 10
            || !national.bytes().all(|b| b.is_ascii_digit())
            || !national.starts_with('0')
            || national.as_bytes()[1] == b'0'
        {
            return Err(Self::INVALID);
        }
        let code = OVERSEAS
            .iter()
            .find(|(prefix, _)| national.starts_with(prefix))
            .map_or("33", |(_, code)| code);
        Ok(Self(format!("+{code}{}", &national[1..])))
    }
}
string_value!(Phone);

/// A French postal code: five digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PostalCode(String);

impl PostalCode {
    const INVALID: Invalid = Invalid("Le code postal compte 5 chiffres.");

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.trim();
        if value.len() == 5 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(value.to_owned()))
        } else {
            Err(Self::INVALID)
        }
    }
}
string_value!(PostalCode);

/// An INSEE commune code: five characters, digits except Corsica's `2A` /
/// `2B`; lower-case `2a` is accepted and stored upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InseeCode(String);

impl InseeCode {
    const INVALID: Invalid =
        Invalid("Le code INSEE compte 5 caractères : des chiffres, ou 2A / 2B pour la Corse.");

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.trim().to_ascii_uppercase();
        let bytes = value.as_bytes();
        let well_formed = bytes.len() == 5
            && (bytes.iter().all(u8::is_ascii_digit)
                || (bytes[0] == b'2'
                    && matches!(bytes[1], b'A' | b'B')
                    && bytes[2..].iter().all(u8::is_ascii_digit)));
        if well_formed {
            Ok(Self(value))
        } else {
            Err(Self::INVALID)
        }
    }
}
string_value!(InseeCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mails_are_trimmed_and_lower_cased() {
        let email = Email::parse("  Jeanne.Dupont@Ville-Lyon.FR ").unwrap();
        assert_eq!(email.as_str(), "jeanne.dupont@ville-lyon.fr");
        assert_eq!(email.to_string(), "jeanne.dupont@ville-lyon.fr");
        assert!(Email::parse("a+tag@sub.domaine.fr").is_ok());
    }

    #[test]
    fn hostile_or_malformed_e_mails_are_refused() {
        for bad in [
            "",
            "   ",
            "jeanne",
            "a@b",
            "@b.fr",
            "a@.fr",
            "a@b.",
            "a@b..fr",
            "a@@b.fr",
            "a@b@c.fr",
            "a b@c.fr",
            "a@b.fr\r\nBcc: x@y.fr",
            "a@b.fr\0",
            "<a@b.fr>",
            "\"a\"@b.fr",
            "a,b@c.fr",
            "a;b@c.fr",
            "a:b@c.fr",
            "a@[127.0.0.1]",
            "a\\b@c.fr",
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(Email::INVALID),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn e_mail_length_bounds_are_in_characters() {
        let local = "a".repeat(64);
        assert!(Email::parse(&format!("{local}@b.fr")).is_ok());
        assert!(Email::parse(&format!("{local}a@b.fr")).is_err());
        let domain = format!("{}.fr", "d".repeat(250));
        let at_limit = format!("a@{domain}");
        assert_eq!(at_limit.chars().count(), 255);
        assert!(Email::parse(&at_limit).is_ok());
        assert!(Email::parse(&format!("ab@{domain}")).is_err());
        // Accented letters count once, not once per byte.
        assert!(Email::parse("élodie@exemple.fr").is_ok());
    }

    #[test]
    fn phones_are_stored_in_e164_for_mainland_and_overseas() {
        let parse = |s| Phone::parse(s).map(Phone::into_inner);
        assert_eq!(parse("06 12 34 56 78").as_deref(), Ok("+33612345678"));
        assert_eq!(parse("0692 12 34 56").as_deref(), Ok("+262692123456"));
        assert_eq!(parse("0596.12.34.56").as_deref(), Ok("+596596123456"));
        assert_eq!(parse("+33 6 12 34 56 78").as_deref(), Ok("+33612345678"));
        assert_eq!(parse("0033612345678").as_deref(), Ok("+33612345678"));
        assert_eq!(parse("+262 692 12 34 56").as_deref(), Ok("+262692123456"));
        assert_eq!(parse(" 01-23-45-67-89 ").as_deref(), Ok("+33123456789"));
    }

    #[test]
    fn hostile_or_foreign_phones_are_refused() {
        for bad in [
            "",
            "12345",
            "0012345678",
            "06123456789",
            "06abc45678",
            "+44 20 7946 0958",
            "+33 06 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "+3361234567",
            "0６12345678",
            "06 12 34 56 7８",
            "++33612345678",
            "0033+612345678",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad:?} should be refused");
        }
        // A trailing newline is whitespace around the value, not inside it.
        assert!(Phone::parse("0612345678\n").is_ok());
    }

    #[test]
    fn postal_codes_are_five_ascii_digits() {
        assert_eq!(PostalCode::parse(" 69003 ").unwrap().as_str(), "69003");
        for bad in ["6900", "690033", "69 03", "2A004", "６9003", "-6900", ""] {
            assert!(PostalCode::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn insee_codes_are_digits_or_corsica() {
        assert_eq!(InseeCode::parse("69123").unwrap().as_str(), "69123");
        assert_eq!(InseeCode::parse("2a004").unwrap().as_str(), "2A004");
        assert!(InseeCode::parse("2B033").is_ok());
        for bad in ["6912", "2C004", "3A004", "691234", "A9123", "", "٦٩١٢٣"] {
            assert!(InseeCode::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
