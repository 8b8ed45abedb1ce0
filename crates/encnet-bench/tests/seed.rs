//! `encnet-bench seed` writes real rows: the audit chain it extends verifies.

mod common;

use common::bench;

#[test]
fn seeded_audit_entries_extend_a_chain_that_verifies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().expect("UTF-8 temp path");
    for _ in 0..2 {
        let output = bench()
            .args([
                "seed",
                "--networks",
                "3",
                "--audit-rows",
                "7",
                "--data-dir",
                data,
            ])
            .env_remove("ENCNET_ROOT_KEY")
            .output()
            .expect("encnet-bench runs");
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.starts_with("seeded 3 networks and 7 audit entries"),
            "{stdout}"
        );
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let report = runtime
        .block_on(encnet_node::verify_data_dir(&data_dir))
        .expect("the database opens")
        .expect("the chain verifies");
    assert_eq!(report.entries, 14);
}
