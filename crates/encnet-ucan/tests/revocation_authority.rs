//! Who may revoke a delegation, and for which chains (UCAN.md decision 10):
//! the two exploits of the outside review, and each check of the path.

use std::collections::HashSet;

use encnet_ucan::revocation::{check_revoker, RevocationScope};
use encnet_ucan::{Command, Delegation, DelegationBuilder, Ed25519Signer, Signed, UcanError};

const NOW: i64 = 1_800_000_000;

fn signer(n: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed([n; 32])
}

fn cmd(s: &str) -> Command {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// `iss` delegates `/encryption` on `sub`'s behalf to `aud`, valid until `exp`.
fn link(
    iss: &Ed25519Signer,
    aud: &Ed25519Signer,
    sub: Option<&Ed25519Signer>,
    exp: i64,
) -> Signed<Delegation> {
    DelegationBuilder::new(
        iss,
        aud.did(),
        sub.map(Ed25519Signer::did),
        cmd("/encryption"),
    )
    .expiration(exp)
    .sign()
    .unwrap_or_else(|e| panic!("{e}"))
}

fn denied(result: Result<RevocationScope, UcanError>) -> bool {
    matches!(result, Err(UcanError::RevocationDenied(_)))
}

#[test]
fn a_delegate_cannot_climb_above_a_sibling_through_a_cycle() {
    let (alice, bob, mallory) = (signer(1), signer(2), signer(3));
    let to_bob = link(&alice, &bob, Some(&alice), NOW + 600);
    let back_to_alice = link(&mallory, &alice, Some(&alice), NOW + 600);
    // Even expired, or valid: alice → mallory, then mallory → alice.
    for exp in [NOW - 1, NOW + 600] {
        let to_mallory = link(&alice, &mallory, Some(&alice), exp);
        let path = [to_mallory, back_to_alice.clone()];
        assert!(denied(check_revoker(
            &mallory.did(),
            &to_bob,
            &path,
            NOW,
            &()
        )));
    }
}

#[test]
fn a_strangers_own_root_revokes_a_powerline_only_for_the_stranger() {
    let (stranger, x, y) = (signer(4), signer(5), signer(6));
    let powerline = link(&x, &y, None, NOW + 600);
    let own_root = link(&stranger, &x, Some(&stranger), NOW + 600);
    let scope = check_revoker(&stranger.did(), &powerline, &[own_root], NOW, &());
    assert_eq!(scope, Ok(RevocationScope::Subject(stranger.did())));
    // Its own issuer revokes it everywhere, with or without a path.
    assert_eq!(
        check_revoker(&x.did(), &powerline, &[], NOW, &()),
        Ok(RevocationScope::Everywhere)
    );
}

#[test]
fn the_path_must_be_valid_now_and_lead_to_the_target() {
    let (alice, bob, carol, dave) = (signer(1), signer(2), signer(3), signer(7));
    let to_bob = link(&alice, &bob, Some(&alice), NOW + 600);
    let to_carol = link(&bob, &carol, Some(&alice), NOW + 600);
    let path = std::slice::from_ref(&to_bob);
    assert_eq!(
        check_revoker(&alice.did(), &to_carol, path, NOW, &()),
        Ok(RevocationScope::Subject(alice.did()))
    );
    // Expired or not yet valid links.
    let expired = link(&alice, &bob, Some(&alice), NOW - 1);
    assert!(denied(check_revoker(
        &alice.did(),
        &to_carol,
        &[expired],
        NOW,
        &()
    )));
    let early = DelegationBuilder::new(&alice, bob.did(), Some(alice.did()), cmd("/encryption"))
        .not_before(NOW + 3600)
        .expiration(NOW + 7200)
        .sign()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(denied(check_revoker(
        &alice.did(),
        &to_carol,
        &[early],
        NOW,
        &()
    )));
    // A revoked link.
    let revoked: HashSet<_> = [to_bob.cid].into_iter().collect();
    assert!(denied(check_revoker(
        &alice.did(),
        &to_carol,
        path,
        NOW,
        &revoked
    )));
    // The last link must be addressed to the target's issuer.
    let to_dave = link(&alice, &dave, Some(&alice), NOW + 600);
    assert!(denied(check_revoker(
        &alice.did(),
        &to_carol,
        &[to_dave],
        NOW,
        &()
    )));
    // No path, or a path not starting at a root.
    assert!(denied(check_revoker(
        &alice.did(),
        &to_carol,
        &[],
        NOW,
        &()
    )));
    let not_root = link(&dave, &bob, Some(&alice), NOW + 600);
    assert!(denied(check_revoker(
        &dave.did(),
        &to_carol,
        &[not_root],
        NOW,
        &()
    )));
}
