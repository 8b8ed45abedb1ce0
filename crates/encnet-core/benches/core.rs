//! Criterion benchmarks: column encryption, the AEAD at 16 KiB, and
//! wrap / unwrap / re-wrap for both suites.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use encnet_core::suite::aes256gcm_seal;
use encnet_core::{
    ColumnEncryption, DataKey, LegacyPlaintext, SecretKey, Suite, WrapContext, Zeroizing,
};

const SIZES: [(usize, &str); 4] = [
    (64, "64B"),
    (4 * 1024, "4KiB"),
    (16 * 1024, "16KiB"),
    (1024 * 1024, "1MiB"),
];

fn column(c: &mut Criterion) {
    let cipher = ColumnEncryption::new(Zeroizing::new([7u8; 32]), LegacyPlaintext::Reject);
    let aad = b"networks.sealed_private_key|urn:x|1";
    let mut group = c.benchmark_group("column");
    for (size, label) in SIZES {
        let plaintext = vec![0xa5u8; size];
        let sealed = cipher.seal(&plaintext, aad);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("seal", label), &plaintext, |b, pt| {
            b.iter(|| cipher.seal(black_box(pt), aad))
        });
        group.bench_with_input(BenchmarkId::new("open", label), &sealed, |b, s| {
            b.iter(|| cipher.open(black_box(s), aad))
        });
    }
    group.finish();
}

fn payload(c: &mut Criterion) {
    let key = DataKey::generate();
    let plaintext = vec![0x5au8; 16 * 1024];
    let mut group = c.benchmark_group("aes256gcm");
    group.throughput(Throughput::Bytes(plaintext.len() as u64));
    group.bench_function("seal_payload/16KiB", |b| {
        b.iter(|| Suite::V2.seal_payload(&key, black_box(&plaintext), b""))
    });
    // The bare primitive with a fixed nonce: what `openssl speed` measures.
    group.bench_function("raw_seal/16KiB", |b| {
        b.iter(|| aes256gcm_seal(key.as_bytes(), [0u8; 12], b"", black_box(&plaintext)))
    });
    group.finish();
}

fn suites(c: &mut Criterion) {
    let network = SecretKey::generate();
    let receiver = SecretKey::generate().public_key();
    let data_key = DataKey::generate();
    let id = "urn:tinycloud:encryption:did:key:z6Mk:notes";
    let ctx = WrapContext {
        network_id: id,
        key_version: 1,
        invocation_cid: None,
    };
    let cid = [0x01u8, 0x71, 0x12, 0x20, 9, 9, 9, 9];
    let out = WrapContext {
        invocation_cid: Some(&cid),
        ..ctx
    };
    let mut group = c.benchmark_group("suite");
    for suite in Suite::ALL {
        let name = if suite == Suite::V1 { "v1" } else { "v2" };
        let Ok(wrapped) = suite.wrap(&data_key, &network.public_key(), &ctx) else {
            return;
        };
        group.bench_function(format!("{name}/wrap"), |b| {
            b.iter(|| suite.wrap(&data_key, &network.public_key(), &ctx))
        });
        group.bench_function(format!("{name}/unwrap"), |b| {
            b.iter(|| suite.unwrap(black_box(&wrapped), &network, &ctx))
        });
        group.bench_function(format!("{name}/rewrap"), |b| {
            b.iter(|| suite.rewrap(black_box(&wrapped), &network, &ctx, &receiver, &out))
        });
    }
    group.finish();
}

criterion_group!(benches, column, payload, suites);
criterion_main!(benches);
