//! Fault injection for people testing their clients: per operation (or `*` for every
//! operation without a rule of its own), a probability of a throttling error, of an internal
//! failure, and an added latency; for PutRecords, the same per entry. Not part of the Kinesis
//! API. Rules come from the configuration at start-up and from the server's admin endpoint
//! at run time.
//!
//! Every fault is decided before the operation runs: an injected failure never also
//! performs the operation.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use spate_types::shard_id;

use crate::engine::Engine;
use crate::error::{ApiError, ErrorKind};
use crate::registry::Stream;

/// The rule that applies to every operation without one of its own.
pub const ALL_OPERATIONS: &str = "*";

/// Rules by operation name (`PutRecord`, …, or [`ALL_OPERATIONS`]).
pub type FaultRules = BTreeMap<String, FaultRule>;

/// One operation's faults. Probabilities are between 0 and 1; a call fails with at most one
/// error, so `throttle + internal_failure` (and the `entry_` pair) must not exceed 1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRule {
    /// Probability that a call is throttled: ProvisionedThroughputExceededException for the
    /// data plane, LimitExceededException for control operations (what AWS would send).
    pub throttle: f64,
    /// Probability that a call fails with InternalFailureException (HTTP 500).
    pub internal_failure: f64,
    /// Added to every call, before anything else is decided.
    pub latency_ms: u64,
    /// PutRecords only: probability that each entry fails with
    /// `ErrorCode: ProvisionedThroughputExceededException` inside a 200.
    pub entry_throttle: f64,
    /// PutRecords only: probability that each entry fails with `ErrorCode: InternalFailure`.
    pub entry_internal_failure: f64,
}

/// A failure decided by a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    Throttle,
    InternalFailure,
}

/// The suffix on every injected error's message, so nobody chases a phantom bug.
pub const INJECTED: &str = "(injected fault)";

impl FaultRule {
    /// Checks the probabilities; `Err` says which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("throttle", self.throttle),
            ("internal_failure", self.internal_failure),
            ("entry_throttle", self.entry_throttle),
            ("entry_internal_failure", self.entry_internal_failure),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be between 0 and 1, got {p}"));
            }
        }
        if self.throttle + self.internal_failure > 1.0 {
            return Err("throttle + internal_failure must not exceed 1".to_owned());
        }
        if self.entry_throttle + self.entry_internal_failure > 1.0 {
            return Err("entry_throttle + entry_internal_failure must not exceed 1".to_owned());
        }
        Ok(())
    }

    fn has_entry_faults(&self) -> bool {
        self.entry_throttle > 0.0 || self.entry_internal_failure > 0.0
    }

    /// Whether the rule fails a whole call, and how.
    pub fn draw_call(&self) -> Option<Injected> {
        draw(self.throttle, self.internal_failure)
    }

    /// Whether the rule fails one PutRecords entry, and how.
    pub fn draw_entry(&self) -> Option<Injected> {
        draw(self.entry_throttle, self.entry_internal_failure)
    }
}

fn draw(throttle: f64, internal_failure: f64) -> Option<Injected> {
    if throttle <= 0.0 && internal_failure <= 0.0 {
        return None;
    }
    // The thread-local generator: a reseeding CSPRNG with no lock between requests.
    let roll = rand::random::<f64>();
    if roll < throttle {
        Some(Injected::Throttle)
    } else if roll < throttle + internal_failure {
        Some(Injected::InternalFailure)
    } else {
        None
    }
}

/// The error of a PutRecords entry that fault injection failed, as its shard would send it.
pub(crate) fn entry_error(injected: Injected, shard_index: u32, stream: &Stream) -> ApiError {
    match injected {
        Injected::Throttle => ApiError::new(
            ErrorKind::ProvisionedThroughputExceeded,
            format!(
                "Rate exceeded for shard {} in stream {} under account {} {INJECTED}.",
                shard_id(shard_index),
                stream.key.name,
                stream.key.account
            ),
        ),
        Injected::InternalFailure => ApiError::new(
            ErrorKind::InternalFailure,
            format!("Internal service failure {INJECTED}."),
        ),
    }
}

/// Checks every rule; `entry_` probabilities only make sense for PutRecords (or `*`).
/// Operation names are the server's to check: the engine does not know the model.
pub fn validate_rules(rules: &FaultRules) -> Result<(), String> {
    for (operation, rule) in rules {
        rule.validate()
            .map_err(|message| format!("fault rule {operation:?}: {message}"))?;
        if rule.has_entry_faults() && operation != "PutRecords" && operation != ALL_OPERATIONS {
            return Err(format!(
                "fault rule {operation:?}: entry_throttle and entry_internal_failure apply to PutRecords only"
            ));
        }
    }
    Ok(())
}

/// The rules in force. Read on every request, replaced rarely.
pub struct Faults {
    rules: RwLock<Arc<FaultRules>>,
    /// Whether any rule is set, so requests skip the lock in the usual case of none.
    active: AtomicBool,
}

impl Faults {
    pub fn new(rules: FaultRules) -> Faults {
        let faults = Faults {
            rules: RwLock::default(),
            active: AtomicBool::new(false),
        };
        faults.replace(rules);
        faults
    }

    pub fn rules(&self) -> Arc<FaultRules> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces every rule at once. The caller validates them first.
    pub fn replace(&self, rules: FaultRules) {
        let mut current = self.rules.write().unwrap_or_else(|p| p.into_inner());
        self.active.store(!rules.is_empty(), Ordering::Release);
        *current = Arc::new(rules);
    }

    /// The rule for `operation`: its own, else the `*` rule, else none.
    pub fn rule_for(&self, operation: &str) -> Option<FaultRule> {
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        let rules = self.rules.read().unwrap_or_else(|p| p.into_inner());
        rules
            .get(operation)
            .or_else(|| rules.get(ALL_OPERATIONS))
            .cloned()
    }

    /// Applies `operation`'s rule to a whole call: waits out its latency, then fails the
    /// call or lets it run. `data_plane` picks the throttling error AWS would send.
    pub async fn before_call(&self, operation: &str, data_plane: bool) -> Result<(), ApiError> {
        let Some(rule) = self.rule_for(operation) else {
            return Ok(());
        };
        if rule.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(rule.latency_ms)).await;
        }
        match rule.draw_call() {
            None => Ok(()),
            Some(Injected::Throttle) if data_plane => Err(ApiError::new(
                ErrorKind::ProvisionedThroughputExceeded,
                format!("Rate exceeded {INJECTED}."),
            )),
            Some(Injected::Throttle) => Err(ApiError::new(
                ErrorKind::LimitExceeded,
                format!("Rate exceeded {INJECTED}."),
            )),
            Some(Injected::InternalFailure) => Err(ApiError::new(
                ErrorKind::InternalFailure,
                format!("Internal service failure {INJECTED}."),
            )),
        }
    }
}

impl Engine {
    /// The rules of fault injection, to read or replace at run time.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(throttle: f64, internal_failure: f64) -> FaultRule {
        FaultRule {
            throttle,
            internal_failure,
            ..FaultRule::default()
        }
    }

    #[test]
    fn certain_and_impossible_faults() {
        assert_eq!(rule(1.0, 0.0).draw_call(), Some(Injected::Throttle));
        assert_eq!(rule(0.0, 1.0).draw_call(), Some(Injected::InternalFailure));
        assert_eq!(rule(0.0, 0.0).draw_call(), None);
    }

    #[test]
    fn a_half_chance_gives_both_outcomes() {
        let rule = rule(0.5, 0.0);
        let throttled = (0..1_000).filter(|_| rule.draw_call().is_some()).count();
        assert!(throttled > 0 && throttled < 1_000, "{throttled}");
    }

    #[test]
    fn an_operation_rule_beats_the_wildcard() {
        let faults = Faults::new(FaultRules::from([
            ("*".to_owned(), rule(1.0, 0.0)),
            ("PutRecord".to_owned(), rule(0.0, 1.0)),
        ]));
        assert_eq!(faults.rule_for("PutRecord"), Some(rule(0.0, 1.0)));
        assert_eq!(faults.rule_for("GetRecords"), Some(rule(1.0, 0.0)));
        faults.replace(FaultRules::new());
        assert_eq!(faults.rule_for("GetRecords"), None);
    }

    #[test]
    fn rejects_impossible_rules() {
        assert!(validate_rules(&FaultRules::from([("*".to_owned(), rule(0.6, 0.6))])).is_err());
        assert!(validate_rules(&FaultRules::from([("*".to_owned(), rule(-0.1, 0.0))])).is_err());
        let entry = FaultRule {
            entry_throttle: 0.5,
            ..FaultRule::default()
        };
        assert!(
            validate_rules(&FaultRules::from([(
                "GetRecords".to_owned(),
                entry.clone()
            )]))
            .is_err()
        );
        assert!(validate_rules(&FaultRules::from([("PutRecords".to_owned(), entry)])).is_ok());
    }

    #[test]
    fn rules_parse_from_json_with_defaults() {
        let rules: FaultRules =
            serde_json::from_str(r#"{"PutRecord": {"internal_failure": 1.0}}"#).expect("json");
        assert_eq!(rules["PutRecord"], rule(0.0, 1.0));
        assert!(serde_json::from_str::<FaultRules>(r#"{"PutRecord": {"oops": 1}}"#).is_err());
    }
}
