//! The worker: each handler against its fake server (tests/it/fakes),
//! retries and dead jobs, the exactly-once guarantees under faults, the
//! scheduler, the interconnection page and the S3 storage path.

mod doubt;
mod email;
mod engine;
mod esabora;
mod faults;
mod geo;
mod operations;
mod outbox;
mod page;
mod partners;
mod s3;
pub mod support;
