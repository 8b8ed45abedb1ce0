//! Network ids: whatever parses prints back as itself and rebuilds from its
//! owner and name.
#![no_main]

use encnet_core::NetworkId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(id) = text.parse::<NetworkId>() else {
        return;
    };
    assert_eq!(id.to_string(), text, "network id does not print as parsed");
    let rebuilt = NetworkId::new(id.owner_did(), id.name()).expect("parts of an id rebuild it");
    assert_eq!(rebuilt, id);
});
