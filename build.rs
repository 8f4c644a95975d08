//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!`
//! embeds the `migrations/` directory at compile time, and cargo does not
//! watch it by itself (a new migration was silently left out of an
//! incremental build).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
