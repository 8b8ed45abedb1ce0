//! InlineEnvelope JSON and the base64 inside it. An accepted envelope
//! re-serialises to an equal envelope; its base64 fields are canonical (one
//! string per byte string, so `keyHash` names one wrapped key); its wrapped
//! key has its suite's length and its hash.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use encnet_core::{key_hash, InlineEnvelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = InlineEnvelope::from_json(data) else {
        return;
    };
    let json = envelope.to_json().expect("an accepted envelope serialises");
    let again = InlineEnvelope::from_json(&json).expect("a serialised envelope parses");
    assert_eq!(again, envelope, "envelope does not round-trip");

    let wrapped = envelope
        .wrapped_key()
        .expect("validated wrapped key decodes");
    assert_eq!(wrapped.len(), envelope.alg.wrapped_len());
    assert_eq!(STANDARD.encode(&wrapped), envelope.encrypted_symmetric_key);
    assert_eq!(
        key_hash(&envelope.encrypted_symmetric_key),
        envelope.encrypted_symmetric_key_hash
    );
    let payload = envelope.payload().expect("validated payload decodes");
    assert_eq!(STANDARD.encode(&payload), envelope.ciphertext);
    let aad = envelope.aad_bytes().expect("validated aad decodes");
    if let Some(text) = &envelope.aad {
        assert_eq!(&STANDARD.encode(&aad), text);
    }
});
