//! The floor's answer is a node's answer: signed by the node's key, every
//! binding echoed, and the client SDK opens the envelope with it.

use encnet_client::decrypt::{open_answer, DecryptRequest, Expected};
use encnet_client::ClientError;
use encnet_node::lab::{Floor, FloorError};

#[test]
fn the_floor_answers_as_the_node_and_the_client_opens_it() {
    let plaintext = b"the floor decrypts what the node decrypts";
    let floor = Floor::new(plaintext).expect("floor fixture");
    let request = DecryptRequest::new(floor.envelope()).expect("request");
    let invocation = floor
        .request(request.args().clone())
        .expect("signed invocation");

    let answer = floor
        .decrypt(&invocation)
        .expect("the node's decrypt answers");
    assert_eq!(answer.body.kind, "encnet.decrypt-result/v1");
    let expected = Expected {
        node: floor.node_did(),
        invocation: invocation.invocation_cid(),
    };
    let opened = open_answer(&answer, &request, &expected, floor.envelope())
        .expect("the answer verifies and opens");
    assert_eq!(opened.as_slice(), plaintext);

    // Each run re-wraps to the same receiver: both answers open.
    let again = floor.decrypt(&invocation).expect("answers again");
    let opened = open_answer(&again, &request, &expected, floor.envelope()).expect("opens");
    assert_eq!(opened.as_slice(), plaintext);
}

#[test]
fn the_floor_runs_the_node_checks() {
    let floor = Floor::new(b"x").expect("floor fixture");
    let request = DecryptRequest::new(floor.envelope()).expect("request");

    // A keyHash that is not the wrapped key's: refused as the node refuses it.
    let mut args = request.args().clone();
    args.insert(
        "keyHash".to_owned(),
        encnet_ucan::Ipld::String("0".repeat(64)),
    );
    let refused = floor.decrypt(&floor.request(args).expect("invocation"));
    assert!(
        matches!(&refused, Err(FloorError::Refused(msg)) if msg.starts_with("hash_mismatch")),
        "{refused:?}"
    );

    // The answer is signed by this node's key, not any node's.
    let invocation = floor.request(request.args().clone()).expect("invocation");
    let answer = floor.decrypt(&invocation).expect("answer");
    let other = Floor::new(b"x").expect("another node");
    let expected = Expected {
        node: other.node_did(),
        invocation: invocation.invocation_cid(),
    };
    let opened = open_answer(&answer, &request, &expected, floor.envelope());
    assert!(
        matches!(opened, Err(ClientError::Verification(_))),
        "an answer checked against another node's DID"
    );
}
