//! How the domain's stored states travel through sqlx: each is a VARCHAR
//! read and bound as its enum (the domain knows nothing of sqlx, so the
//! impls live here). Queries name them with `col AS "col: ReportStatus"`;
//! an unknown string in the column is a decode error, not a silent default.

use sqlx::{
    MySql,
    encode::IsNull,
    error::BoxDynError,
    mysql::{MySqlTypeInfo, MySqlValueRef},
};

use crate::domain::case::visit::VisitKind;
use crate::domain::case::{AssignmentStatus, NotificationKind, ReportStatus, VisitOutcome};

macro_rules! varchar_state {
    ($($ty:ty),+) => {$(
        impl sqlx::Type<MySql> for $ty {
            fn type_info() -> MySqlTypeInfo {
                <str as sqlx::Type<MySql>>::type_info()
            }
            fn compatible(ty: &MySqlTypeInfo) -> bool {
                <str as sqlx::Type<MySql>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, MySql> for $ty {
            fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
                let raw = <&str as sqlx::Decode<MySql>>::decode(value)?;
                Ok(raw.parse::<$ty>()?)
            }
        }

        impl sqlx::Encode<'_, MySql> for $ty {
            fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
                <&str as sqlx::Encode<MySql>>::encode(self.as_str(), buf)
            }
        }
    )+};
}

varchar_state!(
    ReportStatus,
    AssignmentStatus,
    VisitOutcome,
    NotificationKind,
    VisitKind
);

/// The status of a qualification taken off a report (Histologe's
/// `archived`): such rows are kept but shown nowhere. Its only spelling in
/// `src/db`; a macro so that static SQL can `concat!` it.
macro_rules! archived_qualification {
    () => {
        "archived"
    };
}
pub(crate) use archived_qualification;

/// [`archived_qualification!`] as a value, for binds.
pub const ARCHIVED_QUALIFICATION: &str = archived_qualification!();
