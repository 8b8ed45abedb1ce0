//! The work bounds of untrusted input (DESIGN §4.11): DID length and
//! canonical form, container size and token count, policy size, depth and
//! evaluation budget, args size. Each test names the limit it guards.

use std::time::Instant;

use encnet_ucan::container::{Form, MAX_CONTAINER_BYTES};
use encnet_ucan::did::MAX_DID_LEN;
use encnet_ucan::invocation::MAX_ARGS_BYTES;
use encnet_ucan::policy::{
    Selector, Statement, EVAL_BUDGET, MAX_POLICY_DEPTH, MAX_POLICY_STATEMENTS,
};
use encnet_ucan::{
    chain, Command, Container, ContainerLimits, Delegation, DelegationBuilder, DelegationCache,
    Did, Ed25519Signer, EvalBudget, Invocation, InvocationBuilder, Ipld, Policy, ProofStore,
    Signed, UcanError,
};
use serde_json::json;

fn signer(n: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed([n; 32])
}

fn cmd(s: &str) -> Command {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ok<T>(r: Result<T, UcanError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn err_name<T>(r: Result<T, UcanError>) -> &'static str {
    match r {
        Ok(_) => panic!("accepted"),
        Err(e) => e.name(),
    }
}

fn did_key(prefix: &[u8], key: &[u8]) -> String {
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(key);
    format!(
        "did:key:{}",
        multibase::encode(multibase::Base::Base58Btc, bytes)
    )
}

#[test]
fn did_key_multicodec_must_be_minimal() {
    let key = signer(5).verifying_key();
    let canonical: Did = ok(did_key(&[0xed, 0x01], key.as_bytes()).parse());
    assert_eq!(canonical, Did::from_ed25519(&key));
    // The same key behind `ed 81 00`: a second DID string for one key.
    let padded = did_key(&[0xed, 0x81, 0x00], key.as_bytes());
    assert_eq!(err_name(padded.parse::<Did>()), "NonCanonical");
    let p256 = did_key(&[0x80, 0xa4, 0x00], &[2; 33]);
    assert_eq!(err_name(p256.parse::<Did>()), "NonCanonical");
}

#[test]
fn did_length_is_bounded() {
    let longest = format!("did:web:{}", "a".repeat(MAX_DID_LEN - 8));
    assert_eq!(longest.len(), 256);
    ok(longest.parse::<Did>());
    let over = format!("{longest}a");
    assert_eq!(
        over.parse::<Did>(),
        Err(UcanError::DidTooLong { max: MAX_DID_LEN })
    );
    // Refused before decoding: this is no valid did:key either.
    let long_key = format!("did:key:z{}", "1".repeat(MAX_DID_LEN));
    assert_eq!(err_name(long_key.parse::<Did>()), "DidTooLong");
}

/// A 3 MiB token gzipped: a few KB on the wire.
fn gzip_bomb() -> String {
    let bomb = Container::new(vec![vec![0; 3 << 20]]).to_bytes(Form::Base64Gzip);
    assert!(bomb.len() < 8 * 1024, "{}", bomb.len());
    String::from_utf8(bomb).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn gzip_bomb_fails_on_the_size_limit() {
    let bomb = gzip_bomb();
    assert_eq!(
        Container::from_header(&bomb, 16),
        Err(UcanError::ContainerTooLarge {
            max: MAX_CONTAINER_BYTES
        })
    );
    // The node's bound: twice its 32 KiB header limit.
    let limits = ContainerLimits {
        max_tokens: 16,
        max_decoded_bytes: 64 * 1024,
    };
    assert_eq!(
        Container::from_header_limited(&bomb, limits),
        Err(UcanError::ContainerTooLarge { max: 64 * 1024 })
    );
}

#[test]
fn limited_containers_still_read_in_every_form() {
    let alice = signer(1);
    let inv = ok(InvocationBuilder::new(&alice, alice.did(), cmd("/msg")).sign());
    let container = Container::new(vec![inv.bytes.clone()]);
    for form in Form::ALL {
        let bytes = container.to_bytes(form);
        let exact = ContainerLimits {
            max_tokens: 1,
            max_decoded_bytes: Container::new(vec![inv.bytes.clone()])
                .to_bytes(Form::Raw)
                .len()
                - 1,
        };
        assert_eq!(ok(Container::from_bytes_limited(&bytes, exact)), container);
        let tight = ContainerLimits {
            max_decoded_bytes: exact.max_decoded_bytes - 1,
            ..exact
        };
        assert_eq!(
            err_name(Container::from_bytes_limited(&bytes, tight)),
            "ContainerTooLarge",
            "{form:?}"
        );
    }
}

#[test]
fn token_count_is_checked_from_the_array_head() {
    // {"ctn-v1": <array of 1000>} with no items after the head: the count
    // alone must refuse it, before any item is read.
    let mut raw = vec![b'@', 0xa1, 0x66];
    raw.extend_from_slice(b"ctn-v1");
    raw.extend_from_slice(&[0x99, 0x03, 0xe8]);
    assert_eq!(
        Container::from_bytes(&raw, 16),
        Err(UcanError::TooManyTokens { max: 16 })
    );
    let tokens = |n: usize| Container::new((0..n).map(|i| vec![i as u8]).collect());
    let limits = ContainerLimits::new(16);
    assert_eq!(
        ok(Container::from_bytes_limited(
            &tokens(16).to_bytes(Form::Raw),
            limits
        ))
        .tokens
        .len(),
        16
    );
    assert_eq!(
        Container::from_bytes_limited(&tokens(17).to_bytes(Form::Raw), limits),
        Err(UcanError::TooManyTokens { max: 16 })
    );
}

const NOW: i64 = 1_800_000_000;

fn eq_statement() -> Statement {
    Statement::Equal(ok(Selector::parse(".a")), Ipld::Integer(1))
}

#[test]
fn policy_statement_count_includes_nested_ones() {
    let and = |n: usize| json!([["and", vec![json!(["==", ".a", 1]); n]]]);
    ok(Policy::from_json(&and(MAX_POLICY_STATEMENTS - 1)));
    assert_eq!(
        Policy::from_json(&and(MAX_POLICY_STATEMENTS)),
        Err(UcanError::PolicyTooLarge {
            max: MAX_POLICY_STATEMENTS
        })
    );
    let flat = |n: usize| json!(vec![json!(["==", ".a", 1]); n]);
    ok(Policy::from_json(&flat(MAX_POLICY_STATEMENTS)));
    assert_eq!(
        err_name(Policy::from_json(&flat(MAX_POLICY_STATEMENTS + 1))),
        "PolicyTooLarge"
    );
}

#[test]
fn policy_depth_is_bounded() {
    let nested =
        |depth: usize| (1..depth).fold(json!(["==", ".a", 1]), |inner, _| json!(["not", inner]));
    ok(Policy::from_json(&json!([nested(MAX_POLICY_DEPTH)])));
    assert_eq!(
        Policy::from_json(&json!([nested(MAX_POLICY_DEPTH + 1)])),
        Err(UcanError::PolicyTooDeep {
            max: MAX_POLICY_DEPTH
        })
    );
    // Depth is checked before recursing, so far deeper input is cheap.
    assert_eq!(
        err_name(Policy::from_json(&json!([nested(500)]))),
        "PolicyTooDeep"
    );
}

#[test]
fn delegation_with_too_many_statements_is_refused() {
    let alice = signer(1);
    let pol = Policy(vec![eq_statement(); MAX_POLICY_STATEMENTS + 1]);
    let signed = DelegationBuilder::new(&alice, signer(2).did(), Some(alice.did()), cmd("/msg"))
        .policy(pol)
        .sign();
    assert_eq!(err_name(signed), "PolicyTooLarge");
}

/// `count` statements `all .a == 0`, each visiting every element of `.a`.
fn all_policy(count: usize) -> Policy {
    ok(Policy::from_json(&json!(vec![
        json!([
            "all",
            ".a",
            ["==", ".", 0]
        ]);
        count
    ])))
}

fn zeros(n: usize) -> Ipld {
    Ipld::List(vec![Ipld::Integer(0); n])
}

fn args_of(a: Ipld) -> Ipld {
    Ipld::Map([("a".to_owned(), a)].into_iter().collect())
}

#[test]
fn policy_eval_without_a_budget_argument_denies_when_over_budget() {
    // 100 × 1000 element visits: beyond the default budget.
    assert!(!all_policy(100).eval(&args_of(zeros(1000))));
    assert!(all_policy(1).eval(&args_of(zeros(1000))));
}

#[test]
fn an_explicit_budget_is_spent_and_reported() {
    let args = args_of(zeros(1000));
    let mut budget = EvalBudget::new(EVAL_BUDGET);
    assert_eq!(all_policy(1).eval_within(&args, &mut budget), Ok(true));
    let spent = EVAL_BUDGET - budget.remaining();
    assert!((1000..=4000).contains(&spent), "{spent}");
    let mut small = EvalBudget::new(spent - 1);
    assert_eq!(
        all_policy(1).eval_within(&args, &mut small),
        Err(UcanError::PolicyBudgetExceeded { budget: spent - 1 })
    );
    assert_eq!(small.remaining(), 0);
}

#[test]
fn selector_copies_are_paid_for() {
    // `.a[:]` copies the list; `.a` borrows it. Both select the same.
    let args = args_of(zeros(1000));
    let cost = |selector: &str| {
        let pol = ok(Policy::from_json(&json!([["!=", selector, null]])));
        let mut budget = EvalBudget::default();
        assert_eq!(pol.eval_within(&args, &mut budget), Ok(true));
        EVAL_BUDGET - budget.remaining()
    };
    assert!(cost(".a[:]") >= cost(".a") + 1000);
}

/// alice (root) → bob [→ carol], each link with policy `pol`; the last
/// delegate invokes with `args.a`.
fn chain_with(pol: &Policy, links: usize, a: Ipld) -> (Signed<Invocation>, ProofStore) {
    let people = [signer(1), signer(2), signer(3)];
    let owner = people[0].did();
    let delegations: Vec<Signed<Delegation>> = (0..links)
        .map(|i| {
            ok(DelegationBuilder::new(
                &people[i],
                people[i + 1].did(),
                Some(owner.clone()),
                cmd("/msg"),
            )
            .policy(pol.clone())
            .expiration(NOW + 60)
            .sign())
        })
        .collect();
    let inv = ok(InvocationBuilder::new(&people[links], owner, cmd("/msg"))
        .arg("a", a)
        .proofs(delegations.iter().map(|d| d.cid).collect())
        .expiration(NOW + 30)
        .sign());
    let store = ProofStore::from_tokens(delegations.into_iter().map(|d| d.bytes));
    (inv, store)
}

fn validate(inv: &Signed<Invocation>, store: &ProofStore) -> Result<(), UcanError> {
    chain::validate(inv, store, NOW, &inv.payload.sub, &()).map(drop)
}

#[test]
fn the_chain_budget_can_be_chosen() {
    let (inv, store) = chain_with(&all_policy(1), 1, zeros(1000));
    let within = |steps: u64| {
        let mut budget = EvalBudget::new(steps);
        let cache = DelegationCache::new(0);
        chain::validate_proofs_within(&inv, &store, NOW, &(), &cache, &mut budget).map(drop)
    };
    ok(within(EVAL_BUDGET));
    assert_eq!(
        within(100),
        Err(UcanError::PolicyBudgetExceeded { budget: 100 })
    );
}

#[test]
fn chain_validation_stops_at_the_budget() {
    let (inv, store) = chain_with(&all_policy(100), 1, zeros(1000));
    assert_eq!(
        validate(&inv, &store),
        Err(UcanError::PolicyBudgetExceeded {
            budget: EVAL_BUDGET
        })
    );
}

#[test]
fn one_budget_covers_every_delegation_of_a_chain() {
    // 30 × 1000 visits fit the budget once, not twice.
    let pol = all_policy(30);
    let (inv, store) = chain_with(&pol, 1, zeros(1000));
    ok(validate(&inv, &store));
    let (inv, store) = chain_with(&pol, 2, zeros(1000));
    assert_eq!(err_name(validate(&inv, &store)), "PolicyBudgetExceeded");
}

#[test]
fn like_is_linear_on_a_pathological_pattern() {
    // A backtracking matcher takes exponential time on this pair.
    let pattern = format!("{}*b", "*a".repeat(100));
    let pol = ok(Policy::from_json(&json!([["like", ".s", pattern]])));
    let s = Ipld::Map([("s".to_owned(), Ipld::String("a".repeat(8000)))].into());
    assert!(!pol.eval(&s));
}

#[test]
fn args_size_is_bounded() {
    let alice = signer(1);
    let invoke = |len: usize| {
        InvocationBuilder::new(&alice, alice.did(), cmd("/msg"))
            .arg("blob", Ipld::Bytes(vec![0; len]))
            .sign()
    };
    ok(invoke(8000));
    assert_eq!(
        invoke(MAX_ARGS_BYTES).err(),
        Some(UcanError::ArgsTooLarge {
            max: MAX_ARGS_BYTES
        })
    );
}

/// `{"a": [[0; 88]; 88]}`: 7,744 elements, about as many as fit
/// [`MAX_ARGS_BYTES`] in nested lists.
fn largest_nested_args() -> Ipld {
    Ipld::List(vec![zeros(88); 88])
}

/// The costliest policies the limits allow, each one self-signed root over
/// the largest args: nested quantifiers fanning out over every element,
/// deep equality against a copy of the args, `like` over the longest string
/// with a pathological pattern, and selectors that copy on every step.
fn worst_policies() -> Vec<(&'static str, Policy, Ipld)> {
    let inner = (MAX_POLICY_STATEMENTS - 2) / 2;
    let fan_out = json!([[
        "all",
        ".a",
        ["and", vec![json!(["all", ".", ["==", ".", 0]]); inner]]
    ]]);
    let copy_of_args = ipld_json(&largest_nested_args());
    // Sixteen copies of the args already make a 127 KB delegation, twice
    // what a node's container admits.
    let deep_eq = json!(vec![json!(["==", ".a", copy_of_args]); 16]);
    let glob = format!("{}*", "*a".repeat(2000));
    let like = json!(vec![json!(["like", ".a", glob]); 16]);
    let slices = json!(vec![
        json!(["all", ".a[:][:][:][:]", ["!=", ".[:]", [1]]]);
        MAX_POLICY_STATEMENTS / 2
    ]);
    vec![
        (
            "fan-out",
            ok(Policy::from_json(&fan_out)),
            largest_nested_args(),
        ),
        (
            "deep ==",
            ok(Policy::from_json(&deep_eq)),
            largest_nested_args(),
        ),
        (
            "like",
            ok(Policy::from_json(&like)),
            Ipld::String("a".repeat(MAX_ARGS_BYTES - 16)),
        ),
        (
            "slices",
            ok(Policy::from_json(&slices)),
            largest_nested_args(),
        ),
    ]
}

fn ipld_json(value: &Ipld) -> serde_json::Value {
    encnet_ucan::ipld::to_json(value)
}

#[test]
fn worst_case_chains_are_bounded() {
    for (name, pol, a) in worst_policies() {
        let started = Instant::now();
        let alone = pol.eval_within(&args_of(a.clone()), &mut EvalBudget::default());
        let eval_time = started.elapsed();
        let (inv, store) = chain_with(&pol, 1, a);
        let started = Instant::now();
        let result = validate(&inv, &store);
        let elapsed = started.elapsed();
        // Validation also decodes and verifies the (large) delegation.
        println!(
            "worst case {name}: {result:?} in {elapsed:?}; policy alone {alone:?} in {eval_time:?}"
        );
        assert!(
            matches!(
                result,
                Ok(()) | Err(UcanError::MatchError | UcanError::PolicyBudgetExceeded { .. })
            ),
            "{name}: {result:?}"
        );
    }
}
