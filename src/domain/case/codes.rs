//! The one macro behind every stored state: an enum whose variants are
//! written to the database as fixed strings. Each variant names its stored
//! code and its French label once; `as_str`, `parse`, `label` and `ALL`
//! come from that single table, so a new variant cannot be stored without
//! a label nor read back without being recognised.

/// The stored string of a code was not one of the known variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCode {
    /// The enum being parsed (for the error message).
    pub kind: &'static str,
    /// The string found.
    pub code: String,
}

impl std::fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} code {:?}", self.kind, self.code)
    }
}

impl std::error::Error for UnknownCode {}

/// `stored_codes! { /// doc  pub enum Name { Variant = ("code", "Libellé"), ... } }`
macro_rules! stored_codes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = ($code:literal, $label:literal) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant ),+
        }

        impl $name {
            /// Every variant, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The string stored in the database (and sent by forms).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// The French label shown to users.
            pub const fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }

            /// The variant stored as `code`, if any.
            pub fn parse(code: &str) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The label of a stored code, or the code itself when unknown
            /// (old rows are still shown rather than hidden).
            pub fn label_of(code: &str) -> &str {
                match Self::parse(code) {
                    Some(known) => known.label(),
                    None => code,
                }
            }

            /// (code, label) pairs, for select lists.
            pub fn options() -> Vec<(&'static str, &'static str)> {
                Self::ALL.iter().map(|v| (v.as_str(), v.label())).collect()
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::case::codes::UnknownCode;
            fn from_str(code: &str) -> Result<Self, Self::Err> {
                Self::parse(code).ok_or_else(|| $crate::domain::case::codes::UnknownCode {
                    kind: stringify!($name),
                    code: code.to_owned(),
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use stored_codes;
