//! `decrypt_floor`: the single-thread floor of one decrypt, the node's own
//! functions with no I/O (see `encnet_node::lab::Floor`). Reported as ops/s
//! via throughput.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use encnet_client::decrypt::DecryptRequest;
use encnet_node::lab::Floor;

fn decrypt_floor(c: &mut Criterion) {
    // A fixture that does not build is a bug in the bench, not an input.
    let (floor, request) = {
        let floor = Floor::new(&[7; 1024]).expect("floor fixture");
        let args = DecryptRequest::new(floor.envelope()).expect("request args");
        let request = floor.request(args.args().clone()).expect("invocation");
        (floor, request)
    };
    assert!(
        floor.decrypt(&request).is_ok(),
        "the floor decrypt succeeds"
    );
    let mut group = c.benchmark_group("decrypt_floor");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode+check+unseal+unwrap+rewrap+sign", |b| {
        b.iter(|| floor.decrypt(&request))
    });
    group.finish();
}

criterion_group!(benches, decrypt_floor);
criterion_main!(benches);
