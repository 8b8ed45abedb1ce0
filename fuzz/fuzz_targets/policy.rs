//! Policies and selectors. The first byte picks the parser: even, a
//! selector's text; odd, a DAG-CBOR policy followed by DAG-CBOR args (a
//! big-endian u16 gives the policy's length).
//!
//! An accepted policy round-trips through its IPLD form, and evaluation
//! spends exactly the steps it reports: the same budget again gives the same
//! answer, one step less runs out. Time per run is bounded by libFuzzer's
//! `-timeout`.
#![no_main]

use encnet_ucan::policy::Selector;
use encnet_ucan::policy::EVAL_BUDGET;
use encnet_ucan::{EvalBudget, Ipld, Policy, UcanError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        selector(rest);
    } else if let [hi, lo, rest @ ..] = rest {
        let split = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
        let (policy, args) = rest.split_at(split);
        policy_over_args(policy, args);
    }
});

fn selector(text: &[u8]) {
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if let Ok(selector) = Selector::parse(text) {
        assert_eq!(selector.as_str(), text);
        let again = Selector::parse(selector.as_str()).expect("a parsed selector re-parses");
        assert_eq!(again, selector);
    }
}

fn policy_over_args(policy: &[u8], args: &[u8]) {
    let Ok(ipld) = serde_ipld_dagcbor::from_slice::<Ipld>(policy) else {
        return;
    };
    let Ok(policy) = Policy::from_ipld(&ipld) else {
        return;
    };
    let again = Policy::from_ipld(&policy.to_ipld()).expect("a parsed policy re-parses");
    assert_eq!(again, policy, "policy does not round-trip");
    let args = serde_ipld_dagcbor::from_slice::<Ipld>(args).unwrap_or(Ipld::Null);

    let mut budget = EvalBudget::new(EVAL_BUDGET);
    let answer = policy.eval_within(&args, &mut budget);
    let spent = EVAL_BUDGET - budget.remaining();
    match answer {
        Err(UcanError::PolicyBudgetExceeded { .. }) => assert_eq!(budget.remaining(), 0),
        Err(other) => panic!("evaluation failed with {other}"),
        Ok(holds) => {
            let exact = policy.eval_within(&args, &mut EvalBudget::new(spent));
            assert_eq!(exact.ok(), Some(holds), "the reported steps do not suffice");
            if spent > 0 {
                let short = policy.eval_within(&args, &mut EvalBudget::new(spent - 1));
                assert!(
                    matches!(short, Err(UcanError::PolicyBudgetExceeded { .. })),
                    "one step less still finished"
                );
            }
        }
    }
}
