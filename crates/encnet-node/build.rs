//! `sqlx::migrate!` embeds the migration files at compile time; on stable
//! Rust the compiler cannot track that directory, so a new migration must
//! ask Cargo to rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
