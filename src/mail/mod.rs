//! E-mails: what each one says ([`render`]) and how it leaves the platform
//! ([`transport`]: Brevo API, SMTP relay, or the local [`mailbox`] folder).

pub mod mailbox;
pub mod render;
pub mod transport;
