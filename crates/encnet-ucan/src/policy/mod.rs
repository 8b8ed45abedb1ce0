//! The UCAN policy language: statements over the invocation's arguments.
//!
//! A [`Policy`] is a list of [`Statement`]s combined with AND; an empty
//! policy allows everything. Parsing is strict (unknown operators, wrong
//! arities, non-numeric comparison values are [`UcanError::InvalidPolicy`])
//! and bounded ([`MAX_POLICY_STATEMENTS`], [`MAX_POLICY_DEPTH`]).
//! Evaluation is true or false (UCAN decision 7) within an [`EvalBudget`]
//! of steps; running out of steps is [`UcanError::PolicyBudgetExceeded`].

mod eval;
mod selector;

use ipld_core::ipld::Ipld;

pub use selector::Selector;

use crate::error::UcanError;

/// Statements one policy may hold, nested ones included: a delegation is
/// parsed once but evaluated on every use.
pub const MAX_POLICY_STATEMENTS: usize = 256;

/// Deepest nesting of statements (a top-level statement is at depth 1);
/// parsing and evaluation recurse, so this bounds their stack.
pub const MAX_POLICY_DEPTH: usize = 16;

/// Steps the policies of one chain may take together (see [`EvalBudget`]):
/// under 5 ms of one core for the costliest policies the tests build.
pub const EVAL_BUDGET: u64 = 100_000;

/// Bytes of a string (or byte string) compared, copied or matched by
/// `like` per step, so long strings cost in proportion.
pub const BYTES_PER_STEP: usize = 64;

/// Evaluation steps left for a chain's policies. A step is one statement
/// evaluated (so one per element `all`/`any` visits), one selector segment
/// applied, one value node compared by `==`/`!=` or copied by a selector
/// slice or map iteration, or [`BYTES_PER_STEP`] bytes of a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalBudget {
    limit: u64,
    spent: u64,
}

impl EvalBudget {
    /// A budget of `steps`.
    pub fn new(steps: u64) -> Self {
        Self {
            limit: steps,
            spent: 0,
        }
    }

    /// Steps not yet spent.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.spent)
    }

    /// Takes `steps`; once the budget is short it stays exhausted.
    pub(crate) fn spend(&mut self, steps: u64) -> Result<(), UcanError> {
        match self.spent.checked_add(steps) {
            Some(spent) if spent <= self.limit => {
                self.spent = spent;
                Ok(())
            }
            _ => {
                self.spent = self.limit;
                Err(UcanError::PolicyBudgetExceeded { budget: self.limit })
            }
        }
    }

    /// One step, plus one per [`BYTES_PER_STEP`] of `len` bytes.
    pub(crate) fn spend_bytes(&mut self, len: usize) -> Result<(), UcanError> {
        self.spend(1 + (len / BYTES_PER_STEP) as u64)
    }
}

impl Default for EvalBudget {
    /// [`EVAL_BUDGET`] steps.
    fn default() -> Self {
        Self::new(EVAL_BUDGET)
    }
}

/// A policy: statements that must all hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy(pub Vec<Statement>);

/// One policy statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `["==", selector, value]`: deep equality, ints and floats as numbers.
    Equal(Selector, Ipld),
    /// `["!=", selector, value]`
    NotEqual(Selector, Ipld),
    /// `["<", selector, number]`
    LessThan(Selector, Ipld),
    /// `["<=", selector, number]`
    LessOrEqual(Selector, Ipld),
    /// `[">", selector, number]`
    GreaterThan(Selector, Ipld),
    /// `[">=", selector, number]`
    GreaterOrEqual(Selector, Ipld),
    /// `["like", selector, glob]`
    Like(Selector, Glob),
    /// `["not", statement]`
    Not(Box<Self>),
    /// `["and", [statements]]`; true when empty.
    And(Vec<Self>),
    /// `["or", [statements]]`; true when empty.
    Or(Vec<Self>),
    /// `["all", selector, statement]` over a list or a map's values.
    All(Selector, Box<Self>),
    /// `["any", selector, statement]` over a list or a map's values.
    Any(Selector, Box<Self>),
}

/// A `like` pattern: `*` matches any run of characters, `\*` is a literal
/// asterisk; a backslash before anything else is a literal backslash.
#[derive(Debug, Clone, PartialEq)]
pub struct Glob {
    source: String,
    /// The literal pieces between the wildcards.
    parts: Vec<String>,
}

impl Glob {
    /// Parses a pattern.
    pub fn parse(source: &str) -> Self {
        let mut parts = vec![String::new()];
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'*') => {
                    chars.next();
                    push(&mut parts, '*');
                }
                '*' => parts.push(String::new()),
                c => push(&mut parts, c),
            }
        }
        Self {
            source: source.to_owned(),
            parts,
        }
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

fn push(parts: &mut [String], c: char) {
    if let Some(last) = parts.last_mut() {
        last.push(c);
    }
}

impl Policy {
    /// Whether every statement holds on `args`, within a fresh
    /// [`EVAL_BUDGET`]; a policy that runs out of steps does not hold.
    /// Chain validation uses [`Policy::eval_within`] and one budget.
    pub fn eval(&self, args: &Ipld) -> bool {
        self.eval_within(args, &mut EvalBudget::default())
            .unwrap_or(false)
    }

    /// Whether every statement holds on `args`, drawing from `budget`;
    /// [`UcanError::PolicyBudgetExceeded`] when it runs out.
    pub fn eval_within(&self, args: &Ipld, budget: &mut EvalBudget) -> Result<bool, UcanError> {
        for statement in &self.0 {
            if !statement.eval_within(args, budget)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Parses a policy from its IPLD form (a list of statements), at most
    /// [`MAX_POLICY_STATEMENTS`] statements nested at most
    /// [`MAX_POLICY_DEPTH`] deep.
    pub fn from_ipld(value: &Ipld) -> Result<Self, UcanError> {
        let Ipld::List(items) = value else {
            return Err(invalid("policy must be a list"));
        };
        let mut count = 0;
        items
            .iter()
            .map(|item| Statement::parse(item, 1, &mut count))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Parses a policy from JSON (numbers with a fraction or exponent are
    /// floats, others integers).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, UcanError> {
        Self::from_ipld(&crate::ipld::from_json(value))
    }

    /// The IPLD form written into a delegation's `pol`.
    pub fn to_ipld(&self) -> Ipld {
        Ipld::List(self.0.iter().map(Statement::to_ipld).collect())
    }
}

fn invalid(msg: &str) -> UcanError {
    UcanError::InvalidPolicy(msg.to_owned())
}

impl Statement {
    /// Whether the statement holds on `args`, within a fresh
    /// [`EVAL_BUDGET`] (false when it runs out).
    pub fn eval(&self, args: &Ipld) -> bool {
        self.eval_within(args, &mut EvalBudget::default())
            .unwrap_or(false)
    }

    /// Whether the statement holds on `args`, drawing from `budget`.
    pub fn eval_within(&self, args: &Ipld, budget: &mut EvalBudget) -> Result<bool, UcanError> {
        eval::eval(self, args, budget)
    }

    /// Parses one statement from its IPLD form, within the same limits as
    /// [`Policy::from_ipld`].
    pub fn from_ipld(value: &Ipld) -> Result<Self, UcanError> {
        Self::parse(value, 1, &mut 0)
    }

    /// Parses a statement at `depth`, counting it and its nested
    /// statements into `count`, so limits fail before the rest is read.
    fn parse(value: &Ipld, depth: usize, count: &mut usize) -> Result<Self, UcanError> {
        if depth > MAX_POLICY_DEPTH {
            return Err(UcanError::PolicyTooDeep {
                max: MAX_POLICY_DEPTH,
            });
        }
        *count += 1;
        if *count > MAX_POLICY_STATEMENTS {
            return Err(UcanError::PolicyTooLarge {
                max: MAX_POLICY_STATEMENTS,
            });
        }
        let Ipld::List(items) = value else {
            return Err(invalid("statement must be a list"));
        };
        let Some((Ipld::String(op), operands)) = items.split_first() else {
            return Err(invalid("statement must start with an operator"));
        };
        let selector = |i: usize| match operands.get(i) {
            Some(Ipld::String(s)) => Selector::parse(s),
            _ => Err(invalid("expected a selector")),
        };
        let arity = |n: usize| {
            if operands.len() == n {
                Ok(())
            } else {
                Err(UcanError::InvalidPolicy(format!("{op} takes {n} operands")))
            }
        };
        let operand = |i: usize| operands.get(i).ok_or_else(|| invalid("missing operand"));
        let number = |i: usize| match operand(i)? {
            n @ (Ipld::Integer(_) | Ipld::Float(_)) => Ok(n.clone()),
            _ => Err(UcanError::InvalidPolicy(format!("{op} needs a number"))),
        };
        let statement = |i: usize, count: &mut usize| {
            operand(i)
                .and_then(|v| Self::parse(v, depth + 1, count))
                .map(Box::new)
        };
        let list = |i: usize, count: &mut usize| match operand(i)? {
            Ipld::List(stmts) => stmts
                .iter()
                .map(|v| Self::parse(v, depth + 1, count))
                .collect::<Result<Vec<_>, _>>(),
            _ => Err(UcanError::InvalidPolicy(format!(
                "{op} needs a list of statements"
            ))),
        };
        let two = matches!(op.as_str(), "not" | "and" | "or");
        arity(if two { 1 } else { 2 })?;
        Ok(match op.as_str() {
            "==" => Self::Equal(selector(0)?, operand(1)?.clone()),
            "!=" => Self::NotEqual(selector(0)?, operand(1)?.clone()),
            "<" => Self::LessThan(selector(0)?, number(1)?),
            "<=" => Self::LessOrEqual(selector(0)?, number(1)?),
            ">" => Self::GreaterThan(selector(0)?, number(1)?),
            ">=" => Self::GreaterOrEqual(selector(0)?, number(1)?),
            "like" => match operand(1)? {
                Ipld::String(pattern) => Self::Like(selector(0)?, Glob::parse(pattern)),
                _ => return Err(invalid("like needs a string pattern")),
            },
            "not" => Self::Not(statement(0, count)?),
            "and" => Self::And(list(0, count)?),
            "or" => Self::Or(list(0, count)?),
            "all" => Self::All(selector(0)?, statement(1, count)?),
            "any" => Self::Any(selector(0)?, statement(1, count)?),
            other => {
                return Err(UcanError::InvalidPolicy(format!(
                    "unknown operator {other:?}"
                )))
            }
        })
    }

    /// The statement's IPLD form.
    pub fn to_ipld(&self) -> Ipld {
        let op = |s: &str| Ipld::String(s.to_owned());
        let sel = |s: &Selector| Ipld::String(s.as_str().to_owned());
        let items = match self {
            Self::Equal(s, v) => vec![op("=="), sel(s), v.clone()],
            Self::NotEqual(s, v) => vec![op("!="), sel(s), v.clone()],
            Self::LessThan(s, v) => vec![op("<"), sel(s), v.clone()],
            Self::LessOrEqual(s, v) => vec![op("<="), sel(s), v.clone()],
            Self::GreaterThan(s, v) => vec![op(">"), sel(s), v.clone()],
            Self::GreaterOrEqual(s, v) => vec![op(">="), sel(s), v.clone()],
            Self::Like(s, g) => vec![op("like"), sel(s), Ipld::String(g.as_str().to_owned())],
            Self::Not(inner) => vec![op("not"), inner.to_ipld()],
            Self::And(stmts) => vec![
                op("and"),
                Ipld::List(stmts.iter().map(Self::to_ipld).collect()),
            ],
            Self::Or(stmts) => vec![
                op("or"),
                Ipld::List(stmts.iter().map(Self::to_ipld).collect()),
            ],
            Self::All(s, inner) => vec![op("all"), sel(s), inner.to_ipld()],
            Self::Any(s, inner) => vec![op("any"), sel(s), inner.to_ipld()],
        };
        Ipld::List(items)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ipld::from_json;

    fn holds(policy: serde_json::Value, args: serde_json::Value) -> bool {
        let policy = Policy::from_json(&policy).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Policy::from_ipld(&policy.to_ipld()).as_ref(), Ok(&policy));
        policy.eval(&from_json(&args))
    }

    #[test]
    fn decision_7_semantics() {
        let args = json!({"a": 1, "l": [], "m": {"x": 2, "y": 3}, "s": "a*b"});
        assert!(!holds(json!([["==", ".missing", null]]), args.clone()));
        assert!(holds(json!([["not", ["==", ".missing", 1]]]), args.clone()));
        assert!(holds(json!([["==", ".missing?", null]]), args.clone()));
        assert!(holds(
            json!([["==", ".a", 1.0], ["<", ".a", 1.5]]),
            args.clone()
        ));
        assert!(holds(json!([["all", ".l", ["==", ".", 0]]]), args.clone()));
        assert!(!holds(json!([["any", ".l", ["==", ".", 0]]]), args.clone()));
        assert!(holds(json!([["all", ".m", [">", ".", 1]]]), args.clone()));
        assert!(!holds(json!([["all", ".a", [">", ".", 0]]]), args.clone()));
        assert!(holds(json!([["and", []], ["or", []]]), args.clone()));
        assert!(holds(
            json!([["like", ".s", "a\\*b"], ["like", ".s", "*"]]),
            args.clone()
        ));
        assert!(!holds(json!([["like", ".a", "*"]]), args.clone()));
        assert!(!holds(json!([["<", ".s", 3]]), args));
    }

    #[test]
    fn rejects_malformed_statements() {
        for bad in [
            json!({}),
            json!([[]]),
            json!([["=="]]),
            json!([["==", ".a"]]),
            json!([["<", ".a", "1"]]),
            json!([["like", ".a", 1]]),
            json!([["and", ["==", ".a", 1]]]),
            json!([["xor", ".a", 1]]),
            json!([["==", "a", 1]]),
            json!([["not", ["==", ".a", 1], 3]]),
        ] {
            assert!(Policy::from_json(&bad).is_err(), "{bad}");
        }
    }
}
