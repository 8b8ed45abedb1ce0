//! Delegation chains built from fuzz input, signed by a fixed cast and
//! validated against a fixed clock. Random bytes rarely carry a valid
//! signature, so this target builds well-signed chains with arbitrary
//! issuers, audiences, subjects, commands, policies, time windows, proof
//! orders and revocations, and checks that whatever the validator accepts
//! satisfies UCAN.md §3 step by step (soundness; the conformance fixtures
//! cover the converse).
#![no_main]

use std::collections::{BTreeMap, HashSet};

use arbitrary::Arbitrary;
use encnet_ucan::chain::{self, ProofStore};
use encnet_ucan::{
    Cid, Command, Delegation, DelegationBuilder, Did, InvocationBuilder, Ipld, Policy, Signed,
};
use fuzz::{did, principal, NOW};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Link {
    iss: u8,
    aud: u8,
    /// `None` is a powerline delegation.
    sub: Option<u8>,
    cmd: u8,
    policy: PolicyPick,
    nbf: Option<i16>,
    exp: Option<i16>,
}

#[derive(Debug, Arbitrary)]
enum PolicyPick {
    Listed(u8),
    /// A policy decoded from DAG-CBOR; empty when it doesn't parse.
    Cbor(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum Order {
    AsBuilt,
    Reversed,
    Drop(u8),
    Duplicate(u8),
    Swap(u8, u8),
}

#[derive(Debug, Arbitrary)]
struct Input {
    links: Vec<Link>,
    iss: u8,
    sub: u8,
    aud: Option<u8>,
    cmd: u8,
    network: u8,
    key_version: i8,
    exp: Option<i16>,
    order: Order,
    revoked: u16,
}

/// Policies over the decrypt args, from the ones DESIGN's examples use.
const POLICIES: [&str; 6] = [
    r#"[]"#,
    r#"[["==", ".network", "n0"]]"#,
    r#"[[">=", ".keyVersion", 1], ["<", ".keyVersion", 3]]"#,
    r#"[["not", ["==", ".network", "n1"]]]"#,
    r#"[["or", [["like", ".network", "n*"], ["==", ".missing", 1]]]]"#,
    r#"[["any", ".tags", ["==", ".", "a"]]]"#,
];

fuzz_target!(|input: Input| {
    if input.links.len() > 9 {
        return;
    }
    let Some(delegations) = input
        .links
        .iter()
        .map(sign_link)
        .collect::<Option<Vec<_>>>()
    else {
        return;
    };
    let mut prf: Vec<Cid> = delegations.iter().map(|d| d.cid).collect();
    reorder(&mut prf, &input.order);
    let args = BTreeMap::from([
        (
            "network".to_owned(),
            Ipld::String(format!("n{}", input.network % 3)),
        ),
        (
            "keyVersion".to_owned(),
            Ipld::Integer(input.key_version.into()),
        ),
        (
            "tags".to_owned(),
            Ipld::List(vec![Ipld::String("a".into())]),
        ),
    ]);
    let mut builder =
        InvocationBuilder::new(principal(input.iss), did(input.sub), command(input.cmd))
            .args(args)
            .proofs(prf);
    if let Some(aud) = input.aud {
        builder = builder.audience(did(aud));
    }
    if let Some(exp) = input.exp {
        builder = builder.expiration(NOW + i64::from(exp));
    }
    let Ok(invocation) = builder.sign() else {
        return;
    };
    let proofs = ProofStore::from_tokens(delegations.iter().map(|d| d.bytes.clone()));
    let revoked: HashSet<Cid> = delegations
        .iter()
        .enumerate()
        .filter(|(i, _)| input.revoked & (1 << i) != 0)
        .map(|(_, d)| d.cid)
        .collect();
    let Ok(chain) = chain::validate(&invocation, &proofs, NOW, &fuzz::node(), &revoked) else {
        return;
    };

    // Accepted: every step of UCAN.md §3 must hold.
    let inv = &invocation.payload;
    assert!(
        inv.executor().same_principal(&fuzz::node()),
        "step 10: executor"
    );
    assert!(
        inv.exp.is_none_or(|exp| NOW <= exp),
        "step 2: invocation expired"
    );
    let links = chain.delegations();
    let mut sent: Vec<Cid> = inv.prf.clone();
    sent.sort();
    let mut used: Vec<Cid> = chain.cids();
    used.sort();
    assert_eq!(sent, used, "the chain is not exactly prf");
    let Some(root) = links.first() else {
        assert!(
            inv.iss.same_principal(&inv.sub),
            "step 3: no proofs, not self-issued"
        );
        return;
    };
    assert_eq!(
        root.payload.sub.as_ref(),
        Some(&root.payload.iss),
        "step 5: root"
    );
    assert!(
        root.payload.iss.same_principal(&inv.sub),
        "step 5: root subject"
    );
    for pair in links.windows(2) {
        let (a, b) = (&pair[0].payload, &pair[1].payload);
        assert!(a.aud.same_principal(&b.iss), "step 6: principals");
        assert!(a.cmd.is_prefix_of(&b.cmd), "step 8: command widened");
    }
    let last = &links[links.len() - 1].payload;
    assert!(last.aud.same_principal(&inv.iss), "step 6: last audience");
    assert!(
        last.cmd.is_prefix_of(&inv.cmd),
        "step 8: invocation command"
    );
    let args = inv.args_ipld();
    for link in links {
        let d = &link.payload;
        assert!(fuzz::cid_matches(&link.cid, &link.bytes), "step 4: CID");
        assert!(!revoked.contains(&link.cid), "step 4: revoked");
        assert!(d.nbf.is_none_or(|nbf| NOW >= nbf - 30), "step 4: too early");
        assert!(d.exp.is_none_or(|exp| NOW <= exp), "step 4: expired");
        assert!(sub_aligned(d, &inv.sub), "step 7: subject");
        assert!(d.pol.eval(&args), "step 9: policy");
    }
});

fn sign_link(link: &Link) -> Option<Signed<Delegation>> {
    let policy = match &link.policy {
        PolicyPick::Listed(i) => {
            let json = POLICIES[usize::from(*i) % POLICIES.len()];
            Policy::from_json(&serde_json::from_str(json).ok()?).ok()?
        }
        PolicyPick::Cbor(bytes) => serde_ipld_dagcbor::from_slice::<Ipld>(bytes)
            .ok()
            .and_then(|ipld| Policy::from_ipld(&ipld).ok())
            .unwrap_or_default(),
    };
    let sub = link.sub.map(did);
    let mut builder =
        DelegationBuilder::new(principal(link.iss), did(link.aud), sub, command(link.cmd))
            .policy(policy);
    if let Some(nbf) = link.nbf {
        builder = builder.not_before(NOW + i64::from(nbf));
    }
    if let Some(exp) = link.exp {
        builder = builder.expiration(NOW + i64::from(exp));
    }
    builder.sign().ok()
}

fn command(i: u8) -> Command {
    let text = fuzz::COMMANDS[usize::from(i) % fuzz::COMMANDS.len()];
    text.parse().expect("listed commands parse")
}

fn reorder(prf: &mut Vec<Cid>, order: &Order) {
    let n = prf.len();
    match *order {
        Order::AsBuilt => {}
        Order::Reversed => prf.reverse(),
        Order::Drop(i) if n > 0 => {
            prf.remove(usize::from(i) % n);
        }
        Order::Duplicate(i) if n > 0 => {
            let cid = prf[usize::from(i) % n];
            prf.push(cid);
        }
        Order::Swap(i, j) if n > 0 => prf.swap(usize::from(i) % n, usize::from(j) % n),
        _ => {}
    }
}

fn sub_aligned(d: &Delegation, sub: &Did) -> bool {
    d.sub.as_ref().is_none_or(|s| s.same_principal(sub))
}
