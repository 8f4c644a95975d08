//! E-mails: what each one says ([`render`]) and, with the worker, how it
//! leaves the platform (Brevo API, SMTP relay, or a local mailbox folder).

pub mod render;
