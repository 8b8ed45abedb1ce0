//! Conformance against the published UCAN fixtures of `../shared`.
//!
//! The fixtures stay outside the repository, so every test is ignored by
//! default; `.ci/run` runs them with `--include-ignored`. Set
//! `ENCNET_UCAN_FIXTURES` to read them from elsewhere. One test per case,
//! so a failure names its case.

use std::path::PathBuf;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use encnet_ucan::{chain, Delegation, Invocation, Policy, ProofStore, Signed};
use serde_json::Value;

/// Standard base64 with or without padding (the fixtures use both).
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn fixture(name: &str) -> Value {
    let dir = std::env::var_os("ENCNET_UCAN_FIXTURES").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/fixtures/ucan"
            ))
        },
        PathBuf::from,
    );
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn b64(s: &Value) -> Vec<u8> {
    let s = s.as_str().unwrap_or_else(|| panic!("not a string: {s}"));
    B64.decode(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// DAG-JSON bytes: `{"/": {"bytes": "…"}}`.
fn dag_json_bytes(v: &Value) -> Vec<u8> {
    b64(&v["/"]["bytes"])
}

#[test]
#[ignore = "needs the UCAN fixtures of ../shared (run by .ci/run)"]
fn delegation_fixture_decodes_verifies_and_has_its_cid() {
    let fixture = fixture("delegation.rc1.json");
    let cases = fixture["valid"]
        .as_array()
        .unwrap_or_else(|| panic!("no valid cases"));
    assert_eq!(cases.len(), 1);
    for case in cases {
        let name = &case["name"];
        let token = Signed::<Delegation>::from_bytes(&b64(&case["token"]))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            token.cid.to_string(),
            case["cid"].as_str().unwrap_or_default(),
            "{name}"
        );
        let expected = &case["envelope"]["payload"];
        let d = &token.payload;
        assert_eq!(d.iss.as_str(), expected["iss"], "{name}");
        assert_eq!(d.aud.as_str(), expected["aud"], "{name}");
        assert_eq!(
            d.sub.as_ref().map(|s| s.as_str()),
            expected["sub"].as_str(),
            "{name}"
        );
        assert_eq!(d.cmd.as_str(), expected["cmd"], "{name}");
        assert_eq!(d.exp, expected["exp"].as_i64(), "{name}");
        assert_eq!(d.nonce, b64(&expected["nonce"]), "{name}");
        assert!(d.pol.0.is_empty(), "{name}");
        assert_eq!(token.tag, "ucan/dlg@1.0.0-rc.1");
    }
}

/// Runs the invocation case `name` of `group` (`valid` or `invalid`).
fn invocation_case(group: &str, name: &str) {
    let fixture = fixture("invocation.rc1.json");
    let case = fixture[group]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {group} case {name:?}"));
    let now = case["time"]
        .as_i64()
        .unwrap_or_else(|| panic!("{name}: no time"));
    let proofs = ProofStore::from_tokens(
        case["proofs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(dag_json_bytes),
    );
    let outcome =
        Signed::<Invocation>::from_bytes(&dag_json_bytes(&case["invocation"])).and_then(|inv| {
            let executor = inv.payload.executor().clone();
            chain::validate(&inv, &proofs, now, &executor, &())
        });
    match case["error"]["name"].as_str() {
        None => {
            if let Err(e) = outcome {
                panic!(
                    "{group} case {name:?}: expected valid, got {} ({e})",
                    e.name()
                );
            }
        }
        Some(expected) => match outcome {
            Ok(_) => panic!("{group} case {name:?}: expected {expected}, got valid"),
            Err(e) => assert_eq!(e.name(), expected, "{group} case {name:?}: {e}"),
        },
    }
}

macro_rules! invocation_cases {
    ($($test:ident => $group:literal, $name:literal;)*) => {$(
        #[test]
        #[ignore = "needs the UCAN fixtures of ../shared (run by .ci/run)"]
        fn $test() {
            invocation_case($group, $name);
        }
    )*};
}

invocation_cases! {
    valid_self_signed => "valid", "self signed";
    valid_single_non_time_bounded_proof => "valid", "single non-time bounded proof";
    valid_single_active_non_expired_proof => "valid", "single active non-expired proof";
    valid_multiple_proofs => "valid", "multiple proofs";
    valid_multiple_active_proofs => "valid", "multiple active proofs";
    valid_powerline => "valid", "powerline";
    valid_policy_match => "valid", "policy match";
    invalid_no_proof => "invalid", "no proof";
    invalid_missing_proof => "invalid", "missing proof";
    invalid_expired_proof => "invalid", "expired proof";
    invalid_inactive_proof => "invalid", "inactive proof";
    invalid_proof_principal_alignment => "invalid", "proof principal alignment";
    invalid_invocation_principal_alignment => "invalid", "invocation principal alignment";
    invalid_proof_subject_alignment => "invalid", "proof subject alignment";
    invalid_invocation_subject_alignment => "invalid", "invocation subject alignment";
    invalid_expired_invocation => "invalid", "expired invocation";
    invalid_invalid_proof_signature => "invalid", "invalid proof signature";
    invalid_invalid_invocation_signature => "invalid", "invalid invocation signature";
    invalid_invalid_powerline => "invalid", "invalid powerline";
    invalid_policy_violation => "invalid", "policy violation";
}

#[test]
#[ignore = "needs the UCAN fixtures of ../shared (run by .ci/run)"]
fn invocation_fixture_has_twenty_cases_all_covered() {
    let fixture = fixture("invocation.rc1.json");
    let count = |g: &str| fixture[g].as_array().map_or(0, Vec::len);
    assert_eq!((count("valid"), count("invalid")), (7, 13));
}

/// Checks every policy of group `index` of `group` against its args.
fn policy_group(group: &str, index: usize) {
    let fixture = fixture("policy.json");
    let case = &fixture[group][index];
    let args = encnet_ucan::ipld::from_json(&case["args"]);
    let expected = group == "valid";
    let policies = case["policies"]
        .as_array()
        .unwrap_or_else(|| panic!("{group}[{index}]: no policies"));
    assert!(!policies.is_empty());
    for (i, policy) in policies.iter().enumerate() {
        let parsed = Policy::from_json(policy)
            .unwrap_or_else(|e| panic!("{group}[{index}] policy {i}: {e}"));
        assert_eq!(
            parsed.eval(&args),
            expected,
            "{group}[{index}] policy {i}: {policy}"
        );
    }
}

macro_rules! policy_groups {
    ($($test:ident => $group:literal, $index:literal;)*) => {$(
        #[test]
        #[ignore = "needs the UCAN fixtures of ../shared (run by .ci/run)"]
        fn $test() {
            policy_group($group, $index);
        }
    )*};
}

policy_groups! {
    policy_valid_0_equality => "valid", 0;
    policy_valid_1_like => "valid", 1;
    policy_valid_2_connectives => "valid", 2;
    policy_valid_3_any => "valid", 3;
    policy_valid_4_nested_quantifiers => "valid", 4;
    policy_valid_5_email => "valid", 5;
    policy_invalid_0_like => "invalid", 0;
    policy_invalid_1_and => "invalid", 1;
    policy_invalid_2_all => "invalid", 2;
    policy_invalid_3_any => "invalid", 3;
}

#[test]
#[ignore = "needs the UCAN fixtures of ../shared (run by .ci/run)"]
fn policy_fixture_has_ten_groups() {
    let fixture = fixture("policy.json");
    let count = |g: &str| fixture[g].as_array().map_or(0, Vec::len);
    assert_eq!((count("valid"), count("invalid")), (6, 4));
}
