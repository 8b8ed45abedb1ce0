//! Sealed column cells. Under `Reject` only sealed cells open, under
//! `Allow` legacy plaintext comes back unchanged; a sealed cell opens to
//! what was sealed, and changes to any of its bytes or to its AAD fail.
#![no_main]

use arbitrary::Arbitrary;
use encnet_core::{is_sealed, ColumnEncryption, LegacyPlaintext, Zeroizing};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    allow_legacy: bool,
    stored: Vec<u8>,
    aad: Vec<u8>,
    plaintext: Vec<u8>,
    nonce: [u8; 12],
    flip_at: u16,
    flip: u8,
}

fuzz_target!(|input: Input| {
    let legacy = if input.allow_legacy {
        LegacyPlaintext::Allow
    } else {
        LegacyPlaintext::Reject
    };
    let columns = ColumnEncryption::new(Zeroizing::new([9; 32]), legacy);

    match columns.open(&input.stored, &input.aad) {
        Ok(opened) if input.stored.is_empty() => assert!(opened.is_empty()),
        Ok(opened) => {
            assert!(!is_sealed(&input.stored), "an arbitrary sealed cell opened");
            assert_eq!(
                legacy,
                LegacyPlaintext::Allow,
                "legacy plaintext passed Reject"
            );
            assert_eq!(&opened[..], &input.stored[..]);
        }
        Err(_) => {}
    }

    let sealed = columns
        .seal_with_nonce(input.nonce, &input.plaintext, &input.aad)
        .expect("seals");
    assert!(is_sealed(&sealed));
    let opened = columns
        .open(&sealed, &input.aad)
        .expect("sealed cell opens");
    assert_eq!(&opened[..], &input.plaintext[..]);

    let mut other_aad = input.aad.clone();
    other_aad.push(0);
    assert!(columns.open(&sealed, &other_aad).is_err(), "AAD not bound");

    let mut damaged = sealed.clone();
    let at = usize::from(input.flip_at) % damaged.len();
    damaged[at] ^= input.flip;
    if input.flip != 0 {
        let reopened = columns.open(&damaged, &input.aad);
        // Flipping the marker turns the cell into legacy plaintext, which
        // Allow hands back as stored bytes, never as the sealed plaintext.
        if let Ok(bytes) = reopened {
            assert!(at == 0 && legacy == LegacyPlaintext::Allow);
            assert_eq!(&bytes[..], &damaged[..]);
        }
    }
});
