//! Containers in all six forms, as the node reads a bearer header, then
//! split and validated against a fixed clock. An accepted container
//! re-serialises in every form to the same tokens; an accepted chain names
//! only CIDs that are the hashes of tokens the container carried.
#![no_main]

use encnet_ucan::container::Form;
use encnet_ucan::{chain, Container, ContainerLimits};
use libfuzzer_sys::fuzz_target;

/// The node's own bounds (encnet-node `service::authz`).
const LIMITS: ContainerLimits = ContainerLimits {
    max_tokens: 16,
    max_decoded_bytes: 64 * 1024,
};

fuzz_target!(|data: &[u8]| {
    let Ok(container) = Container::from_bytes_limited(data, LIMITS) else {
        return;
    };
    assert!(container.tokens.len() <= LIMITS.max_tokens);
    let mut canonical = container.tokens.clone();
    canonical.sort();
    canonical.dedup();
    for form in Form::ALL {
        let again = Container::from_bytes(&container.to_bytes(form), LIMITS.max_tokens)
            .expect("a container re-reads in every form");
        assert_eq!(again.tokens, canonical, "form {form:?} changed the tokens");
    }
    let tokens = container.tokens.clone();
    let Ok((invocation, proofs)) = container.into_invocation() else {
        return;
    };
    assert!(tokens.contains(&invocation.bytes));
    assert!(fuzz::cid_matches(&invocation.cid, &invocation.bytes));
    let executor = invocation.payload.executor().clone();
    if let Ok(chain) = chain::validate(&invocation, &proofs, fuzz::NOW, &executor, &()) {
        for (cid, delegation) in chain.cids().iter().zip(chain.delegations()) {
            assert!(fuzz::cid_matches(cid, &delegation.bytes));
            assert!(
                tokens.contains(&delegation.bytes),
                "chain names a token not sent"
            );
            assert!(
                invocation.payload.prf.contains(cid),
                "chain names a CID not in prf"
            );
        }
    }
});
