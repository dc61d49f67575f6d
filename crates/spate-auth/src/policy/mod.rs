//! The subset of IAM policies Spate understands: documents (parsed and validated in
//! [`parse`]), IAM's wildcard matching ([`pattern`]), and the decision for one request
//! ([`evaluate`]). Pure: no I/O, no clock.
//!
//! A statement has `Effect` (Allow or Deny), `Action` and `Resource` (a string or a list,
//! with `*` and `?` wildcards) and, in resource policies only, `Principal`. `Condition`,
//! `NotAction`, `NotPrincipal` and `NotResource` are refused rather than ignored: a policy
//! whose condition silently did not apply would grant more than its author meant.

pub mod evaluate;
pub mod parse;
pub mod pattern;

pub use evaluate::{AccessRequest, Decision, Denial, Principal, evaluate};
pub use parse::{KINESIS_ACTIONS, MAX_RESOURCE_POLICY_BYTES, PolicyError, PolicyKind};

/// A validated policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub effect: Effect,
    /// Whom a resource policy's statement applies to; `None` in identity policies, which
    /// apply to the identity they are attached to.
    pub principals: Option<Vec<PrincipalPattern>>,
    /// `kinesis:` action patterns (or `*`), matched without regard to case.
    pub actions: Vec<String>,
    /// Resource ARN patterns (or `*`), matched with regard to case.
    pub resources: Vec<String>,
}

/// One entry of a statement's `Principal`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalPattern {
    /// `"*"` or `{"AWS": "*"}`: anyone with credentials, of any account.
    Anyone,
    /// `"123456789012"` or `arn:aws:iam::123456789012:root`: every principal of the account.
    Account(String),
    /// A principal ARN such as `arn:aws:iam::123456789012:user/name`, compared exactly.
    Arn(String),
}

impl PrincipalPattern {
    pub fn matches(&self, principal: &Principal) -> bool {
        match self {
            PrincipalPattern::Anyone => true,
            PrincipalPattern::Account(account) => *account == principal.account,
            PrincipalPattern::Arn(arn) => *arn == principal.arn,
        }
    }
}

impl Statement {
    fn applies_to(&self, action: &str, resource: &str) -> bool {
        self.actions
            .iter()
            .any(|pattern| pattern::matches_ignoring_case(pattern, action))
            && self
                .resources
                .iter()
                .any(|pattern| pattern::matches(pattern, resource))
    }
}

#[cfg(test)]
mod tests;
