//! The suites' unwrap and re-wrap, v1 and v2, with arbitrary `E` and wrap
//! bytes. A wrap changed in any bit never opens; a genuine wrap opens only
//! under its own context (v2); re-wrapping goes to no low-order receiver
//! and opens under the receiver's key to the same data key.
#![no_main]

use arbitrary::Arbitrary;
use encnet_core::suite::{DataKey, PublicKey, SecretKey, Suite, WrapContext};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    v2: bool,
    /// Raw bytes handed to unwrap as they are.
    wrapped: Vec<u8>,
    key_version: u64,
    /// The honest wrap's ephemeral secret and nonce.
    ephemeral: [u8; 32],
    nonce: [u8; 12],
    /// Where and how to damage the honest wrap.
    flip_at: u8,
    flip: u8,
    /// A receiver as raw bytes, and one with a known secret.
    receiver: [u8; 32],
    receiver_secret: [u8; 32],
    invocation_cid: Vec<u8>,
}

const NETWORK: &str =
    "urn:tinycloud:encryption:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK:fuzz";

fuzz_target!(|input: Input| {
    let suite = if input.v2 { Suite::V2 } else { Suite::V1 };
    let network = SecretKey::from_bytes(&[5; 32]).expect("fixed secret");
    let ctx = WrapContext {
        network_id: NETWORK,
        key_version: input.key_version,
        invocation_cid: None,
    };

    // Arbitrary bytes: never a panic, and nothing opens (a forgery would
    // have to guess a 128-bit tag).
    assert!(suite.unwrap(&input.wrapped, &network, &ctx).is_err());

    let data_key = DataKey::from_bytes(&[6; 32]).expect("fixed data key");
    let Ok(ephemeral) = SecretKey::from_bytes(&input.ephemeral) else {
        return;
    };
    let honest = suite
        .wrap_with(
            &data_key,
            &network.public_key(),
            &ctx,
            &ephemeral,
            input.nonce,
        )
        .expect("wrap to an honest key");
    assert_eq!(honest.len(), suite.wrapped_len());
    let opened = suite
        .unwrap(&honest, &network, &ctx)
        .expect("honest wrap opens");
    assert_eq!(opened.as_bytes(), data_key.as_bytes());

    let mut damaged = honest.clone();
    let at = usize::from(input.flip_at) % damaged.len();
    damaged[at] ^= input.flip;
    if input.flip != 0 {
        assert!(
            suite.unwrap(&damaged, &network, &ctx).is_err(),
            "{suite:?}: wrap with byte {at} ^ {:#04x} still opens",
            input.flip
        );
    }

    let other = WrapContext {
        key_version: input.key_version.wrapping_add(1),
        ..ctx
    };
    let opens_elsewhere = suite.unwrap(&honest, &network, &other).is_ok();
    assert_eq!(opens_elsewhere, suite == Suite::V1, "context binding");

    let out = WrapContext {
        invocation_cid: Some(&input.invocation_cid),
        ..ctx
    };
    if let Ok(receiver) = PublicKey::from_bytes(&input.receiver) {
        suite
            .rewrap(&honest, &network, &ctx, &receiver, &out)
            .expect("re-wrap to a key that parsed");
    }
    let Ok(receiver) = SecretKey::from_bytes(&input.receiver_secret) else {
        return;
    };
    let rewrapped = suite
        .rewrap(&honest, &network, &ctx, &receiver.public_key(), &out)
        .expect("re-wrap to an honest receiver");
    let received = suite
        .unwrap(&rewrapped, &receiver, &out)
        .expect("receiver opens");
    assert_eq!(received.as_bytes(), data_key.as_bytes());
});
