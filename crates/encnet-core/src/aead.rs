//! AES-256-GCM, the one AEAD of the crate, behind a small interface so the
//! implementation can be swapped. It is `ring` because RustCrypto `aes-gcm`
//! reached only a third of OpenSSL's throughput here (`docs/performance.md`).

use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_256_GCM};
use zeroize::{Zeroize, Zeroizing};

/// Nonce length in bytes.
pub(crate) const NONCE_LEN: usize = 12;
/// Tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;

/// `ring` refused to seal: the message is longer than AES-GCM allows under
/// one nonce (2^36 - 32 bytes). Never turned into a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SealFailed;

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

    /// Encrypts `buf` in place and returns the tag, or [`SealFailed`] when
    /// `ring` refuses (a message over its per-nonce limit of about 64 GiB);
    /// `buf` is then unchanged.
    pub(crate) fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], SealFailed> {
        let nonce = Nonce::assume_unique_for_key(nonce);
        tag_bytes(
            self.0
                .seal_in_place_separate_tag(nonce, Aad::from(aad), buf),
        )
    }

    /// Appends `AES-GCM(plaintext) || tag` to `out`; on failure `out` is left
    /// as it was (the copied plaintext wiped).
    pub(crate) fn seal_append(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealFailed> {
        append_sealed(out, plaintext, |body| self.seal_in_place(nonce, aad, body))
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

/// The tag `ring` produced, or [`SealFailed`].
fn tag_bytes(sealed: Result<Tag, ring::error::Unspecified>) -> Result<[u8; TAG_LEN], SealFailed> {
    let tag = sealed.map_err(|_| SealFailed)?;
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    Ok(out)
}

/// Copies `plaintext` to the end of `out`, seals that copy in place with
/// `seal` and appends the tag. When `seal` fails, the copy is wiped and
/// `out` truncated back to its former length.
fn append_sealed(
    out: &mut Vec<u8>,
    plaintext: &[u8],
    seal: impl FnOnce(&mut [u8]) -> Result<[u8; TAG_LEN], SealFailed>,
) -> Result<(), SealFailed> {
    let start = out.len();
    extend_chunked(out, plaintext);
    let sealed = match out.get_mut(start..) {
        Some(body) => seal(body),
        None => Err(SealFailed),
    };
    match sealed {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(())
        }
        Err(err) => {
            if let Some(copy) = out.get_mut(start..) {
                copy.zeroize();
            }
            out.truncate(start);
            Err(err)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// ring's only failure (a message over its length limit) cannot be
    /// provoked in a test without allocating 64 GiB, so the two steps that
    /// handle it are tested on their own.
    #[test]
    fn a_refusal_from_ring_is_an_error_never_a_tag() {
        assert_eq!(tag_bytes(Err(ring::error::Unspecified)), Err(SealFailed));

        let mut out = b"prefix".to_vec();
        let refused = append_sealed(&mut out, b"plaintext", |body| {
            assert_eq!(body, b"plaintext");
            Err(SealFailed)
        });
        assert_eq!(refused, Err(SealFailed));
        assert_eq!(out, b"prefix", "nothing of the plaintext is left");

        let key = AeadKey::new(&[7u8; 32]);
        let mut sealed = Vec::new();
        key.seal_append([1u8; NONCE_LEN], b"aad", b"plaintext", &mut sealed)
            .expect("a short message seals");
        assert_eq!(sealed.len(), 9 + TAG_LEN);
        assert_ne!(sealed[9..], [0u8; TAG_LEN]);
        let opened = key.open([1u8; NONCE_LEN], b"aad", &sealed);
        assert_eq!(
            opened.as_deref().map(Vec::as_slice),
            Some(&b"plaintext"[..])
        );
    }
}
