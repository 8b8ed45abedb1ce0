//! `decrypt_floor`: the single-thread cryptographic floor of one decrypt
//! (see `encnet_node::floor`). Reported as ops/s via throughput.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use encnet_node::floor::FloorFixture;

fn decrypt_floor(c: &mut Criterion) {
    let fixture = FloorFixture::new();
    assert!(
        !fixture.run_once().is_empty(),
        "the floor operation succeeds"
    );
    let mut group = c.benchmark_group("decrypt_floor");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify+unwrap+rewrap+sign", |b| {
        b.iter(|| fixture.run_once())
    });
    group.finish();
}

criterion_group!(benches, decrypt_floor);
criterion_main!(benches);
