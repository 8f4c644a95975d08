//! The contact newtypes of [`crate::domain::contact`] bound as query
//! parameters: each is written as its normalised text (`VARCHAR`), so a db
//! function can ask for an `&Email` and never receive an unchecked string.
//!
//! Only `Encode` is provided: rows read back stay plain strings, because
//! values written before a rule tightened must still load.

use sqlx::{MySql, encode::IsNull, error::BoxDynError, mysql::MySqlTypeInfo};

use crate::domain::contact::{Email, InseeCode, Phone, PostalCode};

macro_rules! bind_as_text {
    ($($name:ty),*) => {$(
        impl sqlx::Type<MySql> for $name {
            fn type_info() -> MySqlTypeInfo {
                <str as sqlx::Type<MySql>>::type_info()
            }
            fn compatible(ty: &MySqlTypeInfo) -> bool {
                <str as sqlx::Type<MySql>>::compatible(ty)
            }
        }

        impl sqlx::Encode<'_, MySql> for $name {
            fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
                <&str as sqlx::Encode<MySql>>::encode(self.as_str(), buf)
            }
        }
    )*};
}

bind_as_text!(Email, Phone, PostalCode, InseeCode);
