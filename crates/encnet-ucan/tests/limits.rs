//! The work bounds of untrusted input (DESIGN §4.11): DID length and
//! canonical form, container size and token count, policy size, depth and
//! evaluation budget, args size. Each test names the limit it guards.

use encnet_ucan::container::{Form, MAX_CONTAINER_BYTES};
use encnet_ucan::did::MAX_DID_LEN;
use encnet_ucan::{
    Command, Container, ContainerLimits, Did, Ed25519Signer, InvocationBuilder, UcanError,
};

fn signer(n: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed([n; 32])
}

fn cmd(s: &str) -> Command {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ok<T>(r: Result<T, UcanError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn err_name<T>(r: Result<T, UcanError>) -> &'static str {
    match r {
        Ok(_) => panic!("accepted"),
        Err(e) => e.name(),
    }
}

fn did_key(prefix: &[u8], key: &[u8]) -> String {
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(key);
    format!(
        "did:key:{}",
        multibase::encode(multibase::Base::Base58Btc, bytes)
    )
}

#[test]
fn did_key_multicodec_must_be_minimal() {
    let key = signer(5).verifying_key();
    let canonical: Did = ok(did_key(&[0xed, 0x01], key.as_bytes()).parse());
    assert_eq!(canonical, Did::from_ed25519(&key));
    // The same key behind `ed 81 00`: a second DID string for one key.
    let padded = did_key(&[0xed, 0x81, 0x00], key.as_bytes());
    assert_eq!(err_name(padded.parse::<Did>()), "NonCanonical");
    let p256 = did_key(&[0x80, 0xa4, 0x00], &[2; 33]);
    assert_eq!(err_name(p256.parse::<Did>()), "NonCanonical");
}

#[test]
fn did_length_is_bounded() {
    let longest = format!("did:web:{}", "a".repeat(MAX_DID_LEN - 8));
    assert_eq!(longest.len(), 256);
    ok(longest.parse::<Did>());
    let over = format!("{longest}a");
    assert_eq!(
        over.parse::<Did>(),
        Err(UcanError::DidTooLong { max: MAX_DID_LEN })
    );
    // Refused before decoding: this is no valid did:key either.
    let long_key = format!("did:key:z{}", "1".repeat(MAX_DID_LEN));
    assert_eq!(err_name(long_key.parse::<Did>()), "DidTooLong");
}

/// A 3 MiB token gzipped: a few KB on the wire.
fn gzip_bomb() -> String {
    let bomb = Container::new(vec![vec![0; 3 << 20]]).to_bytes(Form::Base64Gzip);
    assert!(bomb.len() < 8 * 1024, "{}", bomb.len());
    String::from_utf8(bomb).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn gzip_bomb_fails_on_the_size_limit() {
    let bomb = gzip_bomb();
    assert_eq!(
        Container::from_header(&bomb, 16),
        Err(UcanError::ContainerTooLarge {
            max: MAX_CONTAINER_BYTES
        })
    );
    // The node's bound: twice its 32 KiB header limit.
    let limits = ContainerLimits {
        max_tokens: 16,
        max_decoded_bytes: 64 * 1024,
    };
    assert_eq!(
        Container::from_header_limited(&bomb, limits),
        Err(UcanError::ContainerTooLarge { max: 64 * 1024 })
    );
}

#[test]
fn limited_containers_still_read_in_every_form() {
    let alice = signer(1);
    let inv = ok(InvocationBuilder::new(&alice, alice.did(), cmd("/msg")).sign());
    let container = Container::new(vec![inv.bytes.clone()]);
    for form in Form::ALL {
        let bytes = container.to_bytes(form);
        let exact = ContainerLimits {
            max_tokens: 1,
            max_decoded_bytes: Container::new(vec![inv.bytes.clone()])
                .to_bytes(Form::Raw)
                .len()
                - 1,
        };
        assert_eq!(ok(Container::from_bytes_limited(&bytes, exact)), container);
        let tight = ContainerLimits {
            max_decoded_bytes: exact.max_decoded_bytes - 1,
            ..exact
        };
        assert_eq!(
            err_name(Container::from_bytes_limited(&bytes, tight)),
            "ContainerTooLarge",
            "{form:?}"
        );
    }
}

#[test]
fn token_count_is_checked_from_the_array_head() {
    // {"ctn-v1": <array of 1000>} with no items after the head: the count
    // alone must refuse it, before any item is read.
    let mut raw = vec![b'@', 0xa1, 0x66];
    raw.extend_from_slice(b"ctn-v1");
    raw.extend_from_slice(&[0x99, 0x03, 0xe8]);
    assert_eq!(
        Container::from_bytes(&raw, 16),
        Err(UcanError::TooManyTokens { max: 16 })
    );
    let tokens = |n: usize| Container::new((0..n).map(|i| vec![i as u8]).collect());
    let limits = ContainerLimits::new(16);
    assert_eq!(
        ok(Container::from_bytes_limited(
            &tokens(16).to_bytes(Form::Raw),
            limits
        ))
        .tokens
        .len(),
        16
    );
    assert_eq!(
        Container::from_bytes_limited(&tokens(17).to_bytes(Form::Raw), limits),
        Err(UcanError::TooManyTokens { max: 16 })
    );
}
