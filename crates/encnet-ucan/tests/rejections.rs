//! One test per rejection the validator must make, plus the acceptances
//! that bound them (leaf-first order, powerline, nbf skew, every container
//! form).

use std::collections::{BTreeMap, HashSet};

use encnet_ucan::container::Form;
use encnet_ucan::revocation::{self, Revocation};
use encnet_ucan::{
    chain, Algorithm, Cid, Command, Container, Delegation, DelegationBuilder, Did, Ed25519Signer,
    Invocation, InvocationBuilder, Ipld, Policy, ProofOrder, ProofStore, Signed, Signer, UcanError,
    ValidatedChain, VarsigHeader,
};
use serde_json::json;

const NOW: i64 = 1_800_000_000;

fn signer(n: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed([n; 32])
}

fn cmd(s: &str) -> Command {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ok<T>(r: Result<T, UcanError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// alice (owner) → bob → carol; carol invokes `/msg/send` on alice.
struct Fixture {
    alice: Ed25519Signer,
    bob: Ed25519Signer,
    carol: Ed25519Signer,
}

impl Fixture {
    fn new() -> Self {
        Self {
            alice: signer(1),
            bob: signer(2),
            carol: signer(3),
        }
    }

    fn root(&self) -> DelegationBuilder<'_, Ed25519Signer> {
        DelegationBuilder::new(
            &self.alice,
            self.bob.did(),
            Some(self.alice.did()),
            cmd("/msg"),
        )
        .expiration(NOW + 60)
    }

    fn second(&self) -> DelegationBuilder<'_, Ed25519Signer> {
        DelegationBuilder::new(
            &self.bob,
            self.carol.did(),
            Some(self.alice.did()),
            cmd("/msg/send"),
        )
        .expiration(NOW + 60)
    }

    fn invoke(&self, prf: &[&Signed<Delegation>]) -> Signed<Invocation> {
        ok(
            InvocationBuilder::new(&self.carol, self.alice.did(), cmd("/msg/send"))
                .arg("to", Ipld::String("bob@example.com".into()))
                .proofs(prf.iter().map(|d| d.cid).collect())
                .expiration(NOW + 30)
                .sign(),
        )
    }
}

fn store(tokens: &[&Signed<Delegation>]) -> ProofStore {
    ProofStore::from_tokens(tokens.iter().map(|t| t.bytes.clone()))
}

fn validate(
    inv: &Signed<Invocation>,
    proofs: &[&Signed<Delegation>],
) -> Result<ValidatedChain, UcanError> {
    chain::validate(inv, &store(proofs), NOW, &inv.payload.sub, &())
}

fn two_link(f: &Fixture) -> (Signed<Delegation>, Signed<Delegation>) {
    (ok(f.root().sign()), ok(f.second().sign()))
}

#[test]
fn valid_chain_root_first() {
    let f = Fixture::new();
    let (d0, d1) = two_link(&f);
    let chain = ok(validate(&f.invoke(&[&d0, &d1]), &[&d0, &d1]));
    assert_eq!(chain.cids(), vec![d0.cid, d1.cid]);
    assert_eq!(chain.order(), ProofOrder::RootFirst);
}

#[test]
fn leaf_first_order_is_detected() {
    let f = Fixture::new();
    let (d0, d1) = two_link(&f);
    let chain = ok(validate(&f.invoke(&[&d1, &d0]), &[&d0, &d1]));
    assert_eq!(chain.order(), ProofOrder::LeafFirst);
    assert_eq!(chain.cids(), vec![d0.cid, d1.cid]);
}

#[test]
fn bad_signature() {
    let f = Fixture::new();
    let d0 = ok(f.root().sign());
    let mut bytes = d0.bytes;
    // [0x82, 0x58, 0x40, signature…]
    bytes[10] ^= 1;
    assert_eq!(
        Signed::<Delegation>::from_bytes(&bytes).err(),
        Some(UcanError::InvalidSignature)
    );
    let mut store = ProofStore::new();
    let forged = store.insert(bytes);
    let inv = ok(InvocationBuilder::new(&f.bob, f.alice.did(), cmd("/msg"))
        .proofs(vec![forged])
        .sign());
    assert_eq!(
        chain::validate_proofs(&inv, &store, NOW, &()).err(),
        Some(UcanError::InvalidSignature)
    );
}

/// Signs with an Ed25519 key while claiming another DID or header.
struct Impostor {
    key: Ed25519Signer,
    did: Did,
    header: VarsigHeader,
}

impl Signer for Impostor {
    fn did(&self) -> Did {
        self.did.clone()
    }
    fn varsig_header(&self) -> VarsigHeader {
        self.header
    }
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        Signer::sign(&self.key, msg)
    }
}

fn did_key(codec: &[u8], key_len: usize) -> Did {
    let mut bytes = codec.to_vec();
    bytes.push(0x02);
    bytes.extend(std::iter::repeat_n(7u8, key_len - 1));
    let did = format!(
        "did:key:{}",
        multibase::encode(multibase::Base::Base58Btc, bytes)
    );
    ok(did.parse())
}

#[test]
fn wrong_key_type() {
    let f = Fixture::new();
    // A P-256 and a secp256k1 did:key parse, but cannot be verified.
    for (codec, alg) in [
        (&[0x80, 0x24][..], Algorithm::Es256),
        (&[0xe7, 0x01][..], Algorithm::Es256k),
    ] {
        let did = did_key(codec, 33);
        assert!(matches!(
            did.public_key(),
            Err(UcanError::UnsupportedAlgorithm(_))
        ));
        let impostor = Impostor {
            key: signer(9),
            did,
            header: VarsigHeader::new(alg),
        };
        let result = DelegationBuilder::new(&impostor, f.bob.did(), None, cmd("/")).sign();
        assert!(
            matches!(result, Err(UcanError::UnsupportedAlgorithm(_))),
            "{result:?}"
        );
    }
    // An Ed25519 issuer whose header claims ES256.
    let impostor = Impostor {
        key: signer(1),
        did: f.alice.did(),
        header: VarsigHeader::new(Algorithm::Es256),
    };
    let result = DelegationBuilder::new(&impostor, f.bob.did(), None, cmd("/")).sign();
    assert_eq!(result.err(), Some(UcanError::InvalidSignature));
}

#[test]
fn non_canonical_cbor() {
    let f = Fixture::new();
    let d0 = ok(f.root().expiration(5).sign());
    // Indefinite-length outer array.
    let mut indefinite = d0.bytes.clone();
    indefinite[0] = 0x9f;
    indefinite.push(0xff);
    assert_eq!(
        Signed::<Delegation>::from_bytes(&indefinite).err(),
        Some(UcanError::NonCanonical)
    );
    // `exp: 5` written with a one-byte argument instead of inline.
    let at = d0
        .bytes
        .windows(4)
        .position(|w| w == b"cexp")
        .unwrap_or_else(|| panic!("no exp"));
    let mut wide = d0.bytes.clone();
    assert_eq!(wide[at + 4], 0x05);
    wide.splice(at + 4..at + 5, [0x18, 0x05]);
    assert_eq!(
        Signed::<Delegation>::from_bytes(&wide).err(),
        Some(UcanError::NonCanonical)
    );
    // Trailing bytes.
    let mut trailing = d0.bytes;
    trailing.push(0);
    assert!(Signed::<Delegation>::from_bytes(&trailing).is_err());
}

/// Signs an envelope by hand with any tag and payload.
fn sign_raw(s: &Ed25519Signer, tag: &str, payload: Ipld) -> Vec<u8> {
    let header = VarsigHeader::new(Algorithm::Ed25519).to_bytes();
    let sig_payload = Ipld::Map(BTreeMap::from([
        ("h".to_owned(), Ipld::Bytes(header)),
        (tag.to_owned(), payload),
    ]));
    let signed =
        ok(serde_ipld_dagcbor::to_vec(&sig_payload)
            .map_err(|e| UcanError::Malformed(e.to_string())));
    let sig = Signer::sign(s, &signed);
    let env = Ipld::List(vec![Ipld::Bytes(sig), sig_payload]);
    ok(serde_ipld_dagcbor::to_vec(&env).map_err(|e| UcanError::Malformed(e.to_string())))
}

fn root_payload(f: &Fixture) -> BTreeMap<String, Ipld> {
    let mut map = BTreeMap::new();
    let s = |x: &str| Ipld::String(x.to_owned());
    map.insert("iss".into(), s(f.alice.did().as_str()));
    map.insert("aud".into(), s(f.bob.did().as_str()));
    map.insert("sub".into(), s(f.alice.did().as_str()));
    map.insert("cmd".into(), s("/msg"));
    map.insert("pol".into(), Ipld::List(vec![]));
    map.insert("nonce".into(), Ipld::Bytes(vec![1; 16]));
    map.insert("exp".into(), Ipld::Null);
    map
}

#[test]
fn unknown_tag() {
    let f = Fixture::new();
    let payload = Ipld::Map(root_payload(&f));
    let bytes = sign_raw(&f.alice, "ucan/dlg@0.9.0", payload.clone());
    assert_eq!(
        Signed::<Delegation>::from_bytes(&bytes).err(),
        Some(UcanError::UnknownTag("ucan/dlg@0.9.0".into()))
    );
    // Both accepted versions decode.
    for tag in ["ucan/dlg@1.0.0-rc.1", "ucan/dlg@1.0.0"] {
        let token = ok(Signed::<Delegation>::from_bytes(&sign_raw(
            &f.alice,
            tag,
            payload.clone(),
        )));
        assert_eq!(token.tag, tag);
    }
    // A delegation is not an invocation.
    let d0 = ok(f.root().sign());
    assert!(matches!(
        Signed::<Invocation>::from_bytes(&d0.bytes),
        Err(UcanError::UnknownTag(_))
    ));
}

#[test]
fn malformed_payloads() {
    let f = Fixture::new();
    type Edit = Box<dyn Fn(&mut BTreeMap<String, Ipld>)>;
    let cases: [(&str, Edit); 5] = [
        (
            "short nonce",
            Box::new(|m| drop(m.insert("nonce".into(), Ipld::Bytes(vec![1; 11])))),
        ),
        ("missing exp", Box::new(|m| drop(m.remove("exp")))),
        (
            "unknown field",
            Box::new(|m| drop(m.insert("args".into(), Ipld::Map(BTreeMap::new())))),
        ),
        (
            "bad command",
            Box::new(|m| drop(m.insert("cmd".into(), Ipld::String("/Msg".into())))),
        ),
        (
            "huge exp",
            Box::new(|m| drop(m.insert("exp".into(), Ipld::Integer(1 << 60)))),
        ),
    ];
    for (name, edit) in cases {
        let mut payload = root_payload(&f);
        edit(&mut payload);
        let bytes = sign_raw(&f.alice, "ucan/dlg@1.0.0-rc.1", Ipld::Map(payload));
        let err = Signed::<Delegation>::from_bytes(&bytes).err();
        assert!(
            matches!(err, Some(UcanError::Malformed(_))),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn expired() {
    let f = Fixture::new();
    let d0 = ok(f.root().expiration(NOW - 1).sign());
    let inv = ok(InvocationBuilder::new(&f.bob, f.alice.did(), cmd("/msg"))
        .proofs(vec![d0.cid])
        .sign());
    assert_eq!(validate(&inv, &[&d0]).err(), Some(UcanError::Expired));
    // `exp == now` still holds; the invocation's own exp is checked too.
    let d0 = ok(f.root().expiration(NOW).sign());
    let inv = ok(InvocationBuilder::new(&f.bob, f.alice.did(), cmd("/msg"))
        .proofs(vec![d0.cid])
        .expiration(NOW - 1)
        .sign());
    assert_eq!(validate(&inv, &[&d0]).err(), Some(UcanError::Expired));
}

#[test]
fn not_yet_valid() {
    let f = Fixture::new();
    let d0 = ok(f.root().not_before(NOW + 31).sign());
    let inv = ok(InvocationBuilder::new(&f.bob, f.alice.did(), cmd("/msg"))
        .proofs(vec![d0.cid])
        .sign());
    assert_eq!(validate(&inv, &[&d0]).err(), Some(UcanError::TooEarly));
    // Within the 30 s skew it is accepted.
    let d0 = ok(f.root().not_before(NOW + 30).sign());
    let inv = ok(InvocationBuilder::new(&f.bob, f.alice.did(), cmd("/msg"))
        .proofs(vec![d0.cid])
        .sign());
    ok(validate(&inv, &[&d0]));
}

#[test]
fn broken_principal_alignment() {
    let f = Fixture::new();
    let (d0, _) = two_link(&f);
    // bob's delegation goes to alice, not carol, so carol's invocation breaks.
    let d1 =
        ok(DelegationBuilder::new(&f.bob, f.alice.did(), Some(f.alice.did()), cmd("/msg")).sign());
    assert_eq!(
        validate(&f.invoke(&[&d0, &d1]), &[&d0, &d1]).err(),
        Some(UcanError::InvalidAudience)
    );
    // A delegation issued by someone who was never the audience.
    let dave = signer(4);
    let d1 =
        ok(DelegationBuilder::new(&dave, f.carol.did(), Some(f.alice.did()), cmd("/msg")).sign());
    assert_eq!(
        validate(&f.invoke(&[&d0, &d1]), &[&d0, &d1]).err(),
        Some(UcanError::InvalidAudience)
    );
}

#[test]
fn wrong_subject() {
    let f = Fixture::new();
    let (d0, _) = two_link(&f);
    let d1 =
        ok(DelegationBuilder::new(&f.bob, f.carol.did(), Some(f.bob.did()), cmd("/msg")).sign());
    assert_eq!(
        validate(&f.invoke(&[&d0, &d1]), &[&d0, &d1]).err(),
        Some(UcanError::InvalidSubject)
    );
    // The invocation names another subject than the root's.
    let (d0, d1) = two_link(&f);
    let inv = ok(
        InvocationBuilder::new(&f.carol, f.bob.did(), cmd("/msg/send"))
            .proofs(vec![d0.cid, d1.cid])
            .sign(),
    );
    assert_eq!(
        validate(&inv, &[&d0, &d1]).err(),
        Some(UcanError::InvalidSubject)
    );
}

#[test]
fn powerline_is_accepted_except_as_root() {
    let f = Fixture::new();
    let d0 = ok(f.root().sign());
    let d1 = ok(DelegationBuilder::new(&f.bob, f.carol.did(), None, cmd("/msg")).sign());
    ok(validate(&f.invoke(&[&d0, &d1]), &[&d0, &d1]));
    let root = ok(DelegationBuilder::new(&f.alice, f.carol.did(), None, cmd("/msg")).sign());
    let inv = f.invoke(&[&root]);
    assert!(matches!(
        validate(&inv, &[&root]),
        Err(UcanError::InvalidClaim(_))
    ));
}

#[test]
fn widened_command() {
    let f = Fixture::new();
    // The leaf widens: bob received /msg/send and passes on /msg.
    let d0 =
        ok(
            DelegationBuilder::new(&f.alice, f.bob.did(), Some(f.alice.did()), cmd("/msg/send"))
                .sign(),
        );
    let d1 =
        ok(DelegationBuilder::new(&f.bob, f.carol.did(), Some(f.alice.did()), cmd("/msg")).sign());
    assert_eq!(
        validate(&f.invoke(&[&d0, &d1]), &[&d0, &d1]).err(),
        Some(UcanError::CommandMismatch)
    );
    // The invocation is outside its proof; segment-wise, not by string prefix.
    let d0 = ok(DelegationBuilder::new(
        &f.alice,
        f.carol.did(),
        Some(f.alice.did()),
        cmd("/msg/sen"),
    )
    .sign());
    assert_eq!(
        validate(&f.invoke(&[&d0]), &[&d0]).err(),
        Some(UcanError::CommandMismatch)
    );
}

#[test]
fn failing_policy() {
    let f = Fixture::new();
    let pol = |p| ok(Policy::from_json(&p));
    let d0 = ok(f
        .root()
        .policy(pol(json!([["like", ".to", "*@example.com"]])))
        .sign());
    let d1 = ok(f
        .second()
        .policy(pol(json!([["==", ".to", "carol@example.com"]])))
        .sign());
    assert_eq!(
        validate(&f.invoke(&[&d0, &d1]), &[&d0, &d1]).err(),
        Some(UcanError::MatchError)
    );
    let d1 = ok(f
        .second()
        .policy(pol(json!([["==", ".to", "bob@example.com"]])))
        .sign());
    ok(validate(&f.invoke(&[&d0, &d1]), &[&d0, &d1]));
}

#[test]
fn revoked_proof() {
    let f = Fixture::new();
    let (d0, d1) = two_link(&f);
    let inv = f.invoke(&[&d0, &d1]);
    let revoked: HashSet<Cid> = [d1.cid].into();
    let result = chain::validate(&inv, &store(&[&d0, &d1]), NOW, &f.alice.did(), &revoked);
    assert_eq!(result.err(), Some(UcanError::Revoked(d1.cid)));
}

#[test]
fn missing_proof() {
    let f = Fixture::new();
    let (d0, d1) = two_link(&f);
    assert_eq!(
        validate(&f.invoke(&[&d0, &d1]), &[&d0]).err(),
        Some(UcanError::UnavailableProof(d1.cid))
    );
}

#[test]
fn no_proof_and_wrong_executor() {
    let f = Fixture::new();
    let inv = ok(InvocationBuilder::new(&f.carol, f.alice.did(), cmd("/msg")).sign());
    assert!(matches!(
        validate(&inv, &[]),
        Err(UcanError::InvalidClaim(_))
    ));
    let inv = ok(InvocationBuilder::new(&f.alice, f.alice.did(), cmd("/msg"))
        .audience(f.bob.did())
        .sign());
    ok(chain::validate(
        &inv,
        &ProofStore::new(),
        NOW,
        &f.bob.did(),
        &(),
    ));
    assert_eq!(
        chain::validate(&inv, &ProofStore::new(), NOW, &f.alice.did(), &()).err(),
        Some(UcanError::InvalidAudience)
    );
}

/// Delegations verified before are not decoded again when a container is
/// sorted, and the chain reads the same.
#[test]
fn a_container_skips_decoding_known_delegations_and_validates_the_same() {
    let f = Fixture::new();
    let (d0, d1) = two_link(&f);
    let inv = f.invoke(&[&d0, &d1]);
    let container = Container::new(vec![d1.bytes.clone(), inv.bytes.clone(), d0.bytes.clone()]);
    let known = chain::DelegationCache::new(16);
    for _ in 0..2 {
        let (read_inv, proofs) = ok(container.clone().into_invocation_known(&known));
        assert_eq!(read_inv.cid, inv.cid);
        assert_eq!(proofs.len(), 2);
        ok(chain::validate_proofs_cached(
            &read_inv,
            &proofs,
            NOW,
            &(),
            &known,
        ));
    }
    assert!(known.contains(&d0.cid) && known.contains(&d1.cid));
    // A known delegation is still only a proof: without an invocation the
    // container is refused.
    let proofs_only = Container::new(vec![d0.bytes, d1.bytes]);
    assert!(matches!(
        proofs_only.into_invocation_known(&known),
        Err(UcanError::InvalidContainer(_))
    ));
}

#[test]
fn container_in_each_form() {
    let f = Fixture::new();
    let (d0, d1) = two_link(&f);
    let inv = f.invoke(&[&d0, &d1]);
    let container = Container::new(vec![d1.bytes, inv.bytes.clone(), d0.bytes.clone()]);
    for form in Form::ALL {
        let bytes = container.to_bytes(form);
        assert_eq!(bytes.first(), Some(&form.header()));
        let read = ok(Container::from_bytes(&bytes, 16));
        let (read_inv, proofs) = ok(read.into_invocation());
        assert_eq!(read_inv.cid, inv.cid, "{form:?}");
        ok(chain::validate(
            &read_inv,
            &proofs,
            NOW,
            &f.alice.did(),
            &(),
        ));
        if let Ok(text) = std::str::from_utf8(&bytes) {
            assert_eq!(
                ok(Container::from_header(text, 16)).tokens.len(),
                3,
                "{form:?}"
            );
        }
    }
    let header = container.to_header();
    assert!(header.starts_with('B') && header.ends_with('='));
    assert_eq!(
        Container::from_header(&header, 2).err(),
        Some(UcanError::TooManyTokens { max: 2 })
    );
    for bad in ["", "X", "Bnot base64!", "O", "@"] {
        assert!(Container::from_header(bad, 16).is_err(), "{bad:?}");
    }
    // Two invocations, or none, are refused.
    let twice = Container::new(vec![inv.bytes, f.invoke(&[]).bytes]);
    assert!(matches!(
        twice.into_invocation(),
        Err(UcanError::InvalidContainer(_))
    ));
    let none = Container::new(vec![d0.bytes]);
    assert!(matches!(
        none.into_invocation(),
        Err(UcanError::InvalidContainer(_))
    ));
}

#[test]
fn revocation_invocations_and_revokers() {
    let f = Fixture::new();
    let (d0, d1) = two_link(&f);
    let target = Revocation {
        revoke: d1.cid,
        path: vec![d0.cid],
    };
    let inv = ok(revocation::revoke(
        &f.bob,
        f.bob.did(),
        &target,
        vec![],
        NOW + 60,
    ));
    assert_eq!(inv.payload.cmd.as_str(), revocation::REVOKE_COMMAND);
    assert_eq!(ok(Revocation::from_invocation(&inv.payload)), target);
    ok(chain::validate(
        &inv,
        &ProofStore::new(),
        NOW,
        &f.bob.did(),
        &(),
    ));
    // alice (root) and bob (target issuer) may revoke; carol and dave may not.
    ok(revocation::check_revoker(
        &f.alice.did(),
        &d1,
        std::slice::from_ref(&d0),
        NOW,
        &(),
    ));
    ok(revocation::check_revoker(&f.bob.did(), &d1, &[], NOW, &()));
    for outsider in [f.carol.did(), signer(4).did()] {
        assert!(matches!(
            revocation::check_revoker(&outsider, &d1, std::slice::from_ref(&d0), NOW, &()),
            Err(UcanError::RevocationDenied(_))
        ));
    }
    // A path that does not lead to the target proves nothing.
    let dave = signer(4);
    let fake_root =
        ok(DelegationBuilder::new(&dave, f.bob.did(), Some(dave.did()), cmd("/")).sign());
    assert!(revocation::check_revoker(&dave.did(), &d1, &[fake_root], NOW, &()).is_err());
    assert!(revocation::check_revoker(&f.alice.did(), &d1, &[], NOW, &()).is_err());
}
