//! Property tests: decoders never panic on arbitrary input, and random
//! chains round-trip through signing, a container and validation.

use encnet_ucan::container::Form;
use encnet_ucan::envelope::Envelope;
use encnet_ucan::policy::Selector;
use encnet_ucan::{
    chain, Command, Container, Delegation, DelegationBuilder, Did, Ed25519Signer, Invocation,
    InvocationBuilder, Ipld, Policy, ProofOrder, Signed, VarsigHeader,
};
use proptest::prelude::*;
use serde_json::{json, Value};

const NOW: i64 = 1_800_000_000;

/// Capped so the suite stays fast; no regression files are written.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A valid token to mutate, so mutations reach past the first checks.
fn sample_tokens() -> Vec<Vec<u8>> {
    let alice = Ed25519Signer::from_seed([1; 32]);
    let bob = Ed25519Signer::from_seed([2; 32]);
    let pol = Policy::from_json(&json!([["any", ".a[]?", ["like", ".", "x*"]]]))
        .ok()
        .unwrap_or_default();
    let cmd: Command = "/a/b".parse().unwrap_or_else(|e| panic!("{e}"));
    let d = DelegationBuilder::new(&alice, bob.did(), Some(alice.did()), cmd.clone())
        .policy(pol)
        .expiration(NOW)
        .sign()
        .unwrap_or_else(|e| panic!("{e}"));
    let i = InvocationBuilder::new(&bob, alice.did(), cmd)
        .proofs(vec![d.cid])
        .arg("a", Ipld::List(vec![Ipld::String("xy".into())]))
        .sign()
        .unwrap_or_else(|e| panic!("{e}"));
    vec![d.bytes, i.bytes]
}

/// Feeds `bytes` to every decoder; only the absence of a panic matters.
fn decode_everything(bytes: &[u8]) {
    let _ = Signed::<Delegation>::from_bytes(bytes);
    let _ = Signed::<Invocation>::from_bytes(bytes);
    let _ = Envelope::from_bytes(bytes);
    let _ = VarsigHeader::from_bytes(bytes);
    let _ = Container::from_bytes(bytes, 16);
    let text = String::from_utf8_lossy(bytes);
    let _ = Container::from_header(&text, 16);
    let _ = text.parse::<Did>().map(|d| d.public_key());
    let _ = text.parse::<Command>();
    let _ = Selector::parse(&text);
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        let _ = Policy::from_json(&value).map(|p| p.eval(&encnet_ucan::ipld::from_json(&value)));
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn mutated_tokens_never_panic(
        which in 0usize..2,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = sample_tokens().swap_remove(which);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        decode_everything(&bytes);
        for form in Form::ALL {
            let container = Container::new(vec![bytes.clone()]).to_bytes(form);
            decode_everything(&container);
            if let Ok(c) = Container::from_bytes(&container, 16) {
                let _ = c.into_invocation();
            }
        }
    }

    #[test]
    fn selector_and_policy_text_never_panic(text in "[.\\[\\]\"a-c0-9:?\\-\\\\*]{0,24}") {
        decode_everything(text.as_bytes());
        let policy = json!([["like", text.clone(), text.clone()], ["==", text, 1]]);
        let _ = Policy::from_json(&policy).map(|p| p.eval(&Ipld::Bytes(vec![1, 2, 3])));
    }
}

/// One argument value and a statement about it that holds.
fn arg_and_statement() -> impl Strategy<Value = (Value, Value)> {
    prop_oneof![
        (-1000i64..1000, 0usize..4).prop_map(|(n, kind)| {
            let sel = ".v";
            let stmt = match kind {
                0 => json!(["==", sel, n]),
                1 => json!(["<=", sel, n]),
                2 => json!([">", sel, (n as f64) - 0.5]),
                _ => json!(["not", ["==", sel, n + 1]]),
            };
            (json!(n), stmt)
        }),
        ("[a-z]{0,6}", 0usize..3).prop_map(|(s, kind)| {
            let stmt = match kind {
                0 => json!(["like", ".v", format!("{}*", s.get(..1).unwrap_or(""))]),
                1 => json!(["!=", ".v", format!("{s}!")]),
                _ => json!(["or", [["==", ".v", s], ["==", ".v", 0]]]),
            };
            (json!(s), stmt)
        }),
        prop::collection::vec(0i64..10, 0..4)
            .prop_map(|items| { (json!(items), json!(["all", ".v", [">=", ".", 0]])) }),
    ]
}

/// A random chain: per link a statement on its argument, whether it is
/// powerline, and how many command segments it adds.
fn chain_spec() -> impl Strategy<Value = Vec<((Value, Value), bool, usize)>> {
    prop::collection::vec((arg_and_statement(), any::<bool>(), 0usize..2), 1..=5)
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn random_chains_round_trip(spec in chain_spec(), seed in any::<u8>(), leaf_first in any::<bool>()) {
        let signers: Vec<Ed25519Signer> = (0..=spec.len())
            .map(|i| Ed25519Signer::from_seed([seed.wrapping_add(i as u8); 32]))
            .collect();
        let owner = signers[0].did();
        let mut args = std::collections::BTreeMap::new();
        let mut path = String::new();
        let mut delegations = Vec::new();
        for (i, ((value, stmt), powerline, grow)) in spec.iter().enumerate() {
            let key = format!("k{i}");
            args.insert(key.clone(), encnet_ucan::ipld::from_json(value));
            // Point the statement at this link's argument.
            let text = format!("[{}]", stmt.to_string().replace("\".v\"", &format!("\".{key}\"")));
            let pol = Policy::from_json(&serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}")))
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            for _ in 0..*grow {
                path.push_str(&format!("/s{i}"));
            }
            let cmd: Command = if path.is_empty() { "/".parse() } else { path.parse() }
                .unwrap_or_else(|e| panic!("{e}"));
            let sub = if *powerline && i > 0 { None } else { Some(owner.clone()) };
            let d = DelegationBuilder::new(&signers[i], signers[i + 1].did(), sub, cmd)
                .policy(pol)
                .expiration(NOW + 100)
                .not_before(NOW - 100)
                .sign()
                .unwrap_or_else(|e| panic!("{e}"));
            delegations.push(d);
        }
        let mut prf: Vec<_> = delegations.iter().map(|d| d.cid).collect();
        if leaf_first {
            prf.reverse();
        }
        let invoker = &signers[spec.len()];
        let cmd: Command = format!("{path}/leaf").parse().unwrap_or_else(|e| panic!("{e}"));
        let inv = InvocationBuilder::new(invoker, owner.clone(), cmd)
            .args(args)
            .proofs(prf)
            .expiration(NOW + 10)
            .sign()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut tokens: Vec<Vec<u8>> = delegations.iter().map(|d| d.bytes.clone()).collect();
        tokens.push(inv.bytes.clone());
        let header = Container::new(tokens).to_header();
        let (read, proofs) = Container::from_header(&header, 16)
            .and_then(Container::into_invocation)
            .unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(read.cid, inv.cid);
        let chain = chain::validate(&read, &proofs, NOW, &owner, &()).unwrap_or_else(|e| panic!("{e}"));
        let expected: Vec<_> = delegations.iter().map(|d| d.cid).collect();
        prop_assert_eq!(chain.cids(), expected);
        // A single delegation is both ends, read as root first.
        let order = if leaf_first && spec.len() > 1 { ProofOrder::LeafFirst } else { ProofOrder::RootFirst };
        prop_assert_eq!(chain.order(), order);
        // Past every exp it fails.
        prop_assert!(chain::validate(&read, &proofs, NOW + 101, &owner, &()).is_err());
    }
}
