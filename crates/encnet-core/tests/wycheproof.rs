//! Wycheproof: X25519 through the suites' DH path, AES-256-GCM through the
//! payload primitive.

use encnet_core::suite::{aes256gcm_open, aes256gcm_seal, x25519};
use encnet_core::{PublicKey, SuiteError};
use wycheproof::{aead, xdh, TestResult};

#[test]
fn x25519_dh_path() {
    let set = xdh::TestSet::load(xdh::TestName::X25519).expect("x25519 set");
    let (mut checked, mut rejected) = (0, 0);
    for group in &set.test_groups {
        for t in &group.tests {
            let id = t.tc_id;
            let zero_output = t.shared_secret.iter().all(|&b| b == 0);
            let low_order = zero_output
                || t.flags.iter().any(|f| {
                    matches!(
                        f,
                        xdh::TestFlag::LowOrderPublic | xdh::TestFlag::ZeroSharedSecret
                    )
                });
            let result = x25519(&t.private_key, &t.public_key);
            if low_order {
                // Every low-order or zero-output case is rejected, by the DH
                // path and by public-key parsing.
                assert!(
                    matches!(
                        result,
                        Err(SuiteError::LowOrderPoint | SuiteError::BadLength { .. })
                    ),
                    "tc {id}: {result:?}"
                );
                assert!(PublicKey::from_bytes(&t.public_key).is_err(), "tc {id}");
                rejected += 1;
            } else if t.result == TestResult::Invalid {
                assert!(result.is_err(), "tc {id} must fail");
            } else {
                let shared = result.unwrap_or_else(|e| panic!("tc {id}: {e}"));
                assert_eq!(shared.as_slice(), t.shared_secret.as_slice(), "tc {id}");
                assert!(PublicKey::from_bytes(&t.public_key).is_ok(), "tc {id}");
            }
            checked += 1;
        }
    }
    assert!(
        checked > 500 && rejected > 10,
        "{checked} checked, {rejected} rejected"
    );
}

#[test]
fn aes256gcm_payload_primitive() {
    let set = aead::TestSet::load(aead::TestName::AesGcm).expect("aes-gcm set");
    let mut checked = 0;
    for group in &set.test_groups {
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            continue;
        }
        for t in &group.tests {
            let id = t.tc_id;
            let key: [u8; 32] = t.key.as_slice().try_into().expect("256-bit key");
            let nonce: [u8; 12] = t.nonce.as_slice().try_into().expect("96-bit nonce");
            let mut ct_tag = t.ct.to_vec();
            ct_tag.extend_from_slice(&t.tag);
            let opened = aes256gcm_open(&key, nonce, &t.aad, &ct_tag);
            if t.result == TestResult::Invalid {
                assert!(opened.is_err(), "tc {id} must fail");
            } else {
                let pt = opened.unwrap_or_else(|e| panic!("tc {id}: {e}"));
                assert_eq!(pt.as_slice(), t.pt.as_slice(), "tc {id}");
                assert_eq!(
                    aes256gcm_seal(&key, nonce, &t.aad, &t.pt),
                    Ok(ct_tag),
                    "tc {id}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} cases");
}
