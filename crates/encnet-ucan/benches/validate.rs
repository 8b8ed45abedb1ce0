//! Validating an invocation with 0, 1 and 3 delegations, from bytes:
//! decode and verify the invocation, then every proof, then the chain.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use encnet_ucan::{
    chain, Command, Delegation, DelegationBuilder, Ed25519Signer, InvocationBuilder, Ipld, Policy,
    ProofStore, Signed,
};

const NOW: i64 = 1_800_000_000;

/// An invocation by the last of `links + 1` signers, with its proofs.
fn setup(links: usize) -> (Vec<u8>, ProofStore, encnet_ucan::Did) {
    let signers: Vec<Ed25519Signer> = (0..=links)
        .map(|i| Ed25519Signer::from_seed([i as u8 + 1; 32]))
        .collect();
    let owner = signers[0].did();
    let cmd: Command = "/encryption/decrypt"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let pol = Policy::from_json(&serde_json::json!([["==", ".keyVersion", 1]]))
        .unwrap_or_else(|e| panic!("{e}"));
    let delegations: Vec<Signed<Delegation>> = (0..links)
        .map(|i| {
            DelegationBuilder::new(
                &signers[i],
                signers[i + 1].did(),
                Some(owner.clone()),
                cmd.clone(),
            )
            .policy(pol.clone())
            .expiration(NOW + 3600)
            .sign()
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let inv = InvocationBuilder::new(&signers[links], owner.clone(), cmd)
        .arg("keyVersion", Ipld::Integer(1))
        .arg("wrappedKey", Ipld::Bytes(vec![7; 80]))
        .proofs(delegations.iter().map(|d| d.cid).collect())
        .expiration(NOW + 300)
        .sign()
        .unwrap_or_else(|e| panic!("{e}"));
    let proofs = ProofStore::from_tokens(delegations.into_iter().map(|d| d.bytes));
    (inv.bytes, proofs, owner)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    for links in [0, 1, 3] {
        let (inv, proofs, owner) = setup(links);
        group.bench_with_input(BenchmarkId::from_parameter(links), &links, |b, _| {
            b.iter(|| chain::validate_bytes(&inv, &proofs, NOW, &owner, &()).map(drop))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
