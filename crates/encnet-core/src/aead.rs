//! AES-256-GCM, the one AEAD of the crate, behind a small interface so the
//! implementation can be swapped. It is `ring` because RustCrypto `aes-gcm`
//! reached only a third of OpenSSL's throughput here (`docs/performance.md`).

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use zeroize::Zeroizing;

/// Nonce length in bytes.
pub(crate) const NONCE_LEN: usize = 12;
/// Tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;

/// An expanded AES-256-GCM key.
pub(crate) struct AeadKey(LessSafeKey);

impl AeadKey {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        // Invariant: AES_256_GCM takes exactly 32 bytes, which the type guarantees,
        // so `UnboundKey::new` cannot fail.
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(&AES_256_GCM, key).expect("32-byte AES-256 key");
        Self(LessSafeKey::new(unbound))
    }

    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        let nonce = Nonce::assume_unique_for_key(nonce);
        match self
            .0
            .seal_in_place_separate_tag(nonce, Aad::from(aad), buf)
        {
            Ok(tag) => {
                let mut out = [0u8; TAG_LEN];
                out.copy_from_slice(tag.as_ref());
                out
            }
            // ring fails only beyond 2^36 bytes per message, which no Vec here
            // reaches on the supported targets; a zero tag then fails to open.
            Err(_) => [0u8; TAG_LEN],
        }
    }

    /// Appends `AES-GCM(plaintext) || tag` to `out`.
    pub(crate) fn seal_append(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) {
        let start = out.len();
        extend_chunked(out, plaintext);
        let tag = match out.get_mut(start..) {
            Some(body) => self.seal_in_place(nonce, aad, body),
            None => [0u8; TAG_LEN],
        };
        out.extend_from_slice(&tag);
    }

    /// Decrypts `ciphertext || tag`; `None` when authentication fails.
    pub(crate) fn open(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        ciphertext_and_tag: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        let mut buf = Zeroizing::new(Vec::with_capacity(ciphertext_and_tag.len()));
        extend_chunked(&mut buf, ciphertext_and_tag);
        let nonce = Nonce::assume_unique_for_key(nonce);
        let len = self
            .0
            .open_in_place(nonce, Aad::from(aad), buf.as_mut_slice())
            .ok()?
            .len();
        buf.truncate(len);
        Some(buf)
    }
}

/// Copies `src` to the end of `dst` in 1 KiB pieces. glibc 2.36 copies
/// blocks of 2 KiB and more with `rep movsb`, which on the AMD EPYC hosts we
/// measured runs 25 times slower when `dst - src` is 16 modulo 4096 (8.4 µs
/// instead of 0.33 µs for 16 KiB); smaller copies take the vector loop.
/// See docs/performance.md.
fn extend_chunked(dst: &mut Vec<u8>, src: &[u8]) {
    const CHUNK: usize = 1024;
    dst.reserve(src.len());
    for chunk in src.chunks(CHUNK) {
        dst.extend_from_slice(chunk);
    }
}

/// A fresh random nonce from the thread-local CSPRNG (ChaCha, seeded from the OS),
/// which avoids a system call per seal.
pub(crate) fn random_nonce() -> [u8; NONCE_LEN] {
    use rand::RngCore;
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    nonce
}

/// Splits `nonce(12) || rest`.
pub(crate) fn split_nonce(data: &[u8]) -> Option<([u8; NONCE_LEN], &[u8])> {
    let (nonce, rest) = data.split_first_chunk::<NONCE_LEN>()?;
    Some((*nonce, rest))
}
