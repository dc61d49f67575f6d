//! Reading a policy document: JSON → [`Policy`], refusing anything outside the subset Spate
//! evaluates with a message that names the problem.

use serde_json::{Map, Value};

use super::{Effect, Policy, PrincipalPattern, Statement};

/// The largest resource policy Kinesis accepts, in bytes of its JSON text (20 KiB).
pub const MAX_RESOURCE_POLICY_BYTES: usize = 20 * 1024;

/// Every Kinesis action name, so a misspelt action (which would match nothing, and so
/// quietly deny nothing) is refused. The names of the API model's operations.
pub const KINESIS_ACTIONS: &[&str] = &[
    "AcknowledgeDeadLetterQueueRecords",
    "AcknowledgeQueueRecords",
    "AddTagsToStream",
    "CreateChannel",
    "CreateQueue",
    "CreateStream",
    "DecreaseStreamRetentionPeriod",
    "DeleteChannel",
    "DeleteQueue",
    "DeleteResourcePolicy",
    "DeleteStream",
    "DeregisterStreamConsumer",
    "DescribeAccountSettings",
    "DescribeChannel",
    "DescribeLimits",
    "DescribeQueue",
    "DescribeStream",
    "DescribeStreamConsumer",
    "DescribeStreamSummary",
    "DisableEnhancedMonitoring",
    "EnableEnhancedMonitoring",
    "GetRecords",
    "GetResourcePolicy",
    "GetShardIterator",
    "IncreaseStreamRetentionPeriod",
    "ListChannels",
    "ListQueues",
    "ListShards",
    "ListStreamConsumers",
    "ListStreams",
    "ListTagsForResource",
    "ListTagsForStream",
    "MergeShards",
    "PutRecord",
    "PutRecords",
    "PutResourcePolicy",
    "ReceiveDeadLetterQueueRecords",
    "ReceiveQueueRecords",
    "RegisterStreamConsumer",
    "RemoveTagsFromStream",
    "RestoreDeadLetterQueueRecords",
    "SplitShard",
    "StartStreamEncryption",
    "StopStreamEncryption",
    "SubscribeToShard",
    "TagResource",
    "UntagResource",
    "UpdateAccountSettings",
    "UpdateChannel",
    "UpdateDeadLetterQueueRecordsVisibility",
    "UpdateMaxRecordSize",
    "UpdateQueue",
    "UpdateQueueRecordsVisibility",
    "UpdateShardCount",
    "UpdateStreamMode",
    "UpdateStreamRecordDistributionStrategy",
    "UpdateStreamWarmThroughput",
];

/// Which kind of policy a document is: it decides whether `Principal` is required (resource
/// policies) or forbidden (identity policies, which apply to whom they are attached to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    Identity,
    Resource,
}

/// Why a document is not a policy Spate accepts. The message is meant for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

fn error<T>(message: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(message.into()))
}

impl Policy {
    /// Parses and validates `text` as a policy of `kind`.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        let document: Value = serde_json::from_str(text)
            .map_err(|e| PolicyError(format!("Policy is not valid JSON: {e}.")))?;
        let Value::Object(document) = document else {
            return error("Policy must be a JSON object.");
        };
        for key in document.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return error(format!(
                    "Policy has an unsupported element {key:?}; Spate understands Version, Id and Statement."
                ));
            }
        }
        match document.get("Version") {
            Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
            Some(other) => {
                return error(format!(
                    "Policy Version {other} is not supported; use \"2012-10-17\"."
                ));
            }
            None => return error("Policy has no Version; use \"2012-10-17\"."),
        }
        if let Some(id) = document.get("Id")
            && !id.is_string()
        {
            return error("Policy Id must be a string.");
        }
        let statements = match document.get("Statement") {
            Some(Value::Object(one)) => vec![one],
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .enumerate()
                .map(|(i, s)| match s {
                    Value::Object(s) => Ok(s),
                    _ => error(format!("Statement {} must be a JSON object.", i + 1)),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return error("Policy Statement must be an object or a non-empty list."),
            None => return error("Policy has no Statement."),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| statement(s, i + 1, kind))
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }

    /// A resource policy may only speak of the resource it is attached to: every `Resource`
    /// pattern must match `arn`.
    pub fn check_resource(&self, arn: &str) -> Result<(), PolicyError> {
        for (i, statement) in self.statements.iter().enumerate() {
            if let Some(other) = statement
                .resources
                .iter()
                .find(|pattern| !super::pattern::matches(pattern, arn))
            {
                return error(format!(
                    "Statement {}: Resource {other} does not name the resource the policy is attached to ({arn}).",
                    i + 1
                ));
            }
        }
        Ok(())
    }
}

fn statement(
    object: &Map<String, Value>,
    number: usize,
    kind: PolicyKind,
) -> Result<Statement, PolicyError> {
    let at = |message: String| PolicyError(format!("Statement {number}: {message}"));
    for key in object.keys() {
        match key.as_str() {
            "Sid" | "Effect" | "Principal" | "Action" | "Resource" => {}
            "Condition" | "NotAction" | "NotPrincipal" | "NotResource" => {
                return Err(at(format!(
                    "Spate does not evaluate {key}; remove it (it is refused rather than ignored, which would grant more than the policy says)."
                )));
            }
            other => return Err(at(format!("unknown element {other:?}."))),
        }
    }
    if let Some(sid) = object.get("Sid")
        && !sid.is_string()
    {
        return Err(at("Sid must be a string.".to_owned()));
    }
    let effect = match object.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => return Err(at(format!("Effect must be Allow or Deny, not {other}."))),
        None => return Err(at("Effect is missing.".to_owned())),
    };
    let principals = match (kind, object.get("Principal")) {
        (PolicyKind::Resource, Some(value)) => Some(principal(value).map_err(at)?),
        (PolicyKind::Resource, None) => {
            return Err(at(
                "Principal is missing; a resource policy must say whom it applies to.".to_owned(),
            ));
        }
        (PolicyKind::Identity, Some(_)) => {
            return Err(at(
                "an identity-based policy must not have a Principal; it applies to the credential it is attached to.".to_owned(),
            ));
        }
        (PolicyKind::Identity, None) => None,
    };
    let actions = strings(object.get("Action"), "Action").map_err(at)?;
    for action in &actions {
        check_action(action).map_err(at)?;
    }
    let resources = strings(object.get("Resource"), "Resource").map_err(at)?;
    for resource in &resources {
        if resource != "*" && !resource.starts_with("arn:") {
            return Err(at(format!(
                "Resource {resource:?} must be \"*\" or an ARN (wildcards allowed)."
            )));
        }
    }
    Ok(Statement {
        effect,
        principals,
        actions,
        resources,
    })
}

/// A string or a non-empty list of strings.
fn strings(value: Option<&Value>, name: &str) -> Result<Vec<String>, String> {
    match value {
        Some(Value::String(one)) => Ok(vec![one.clone()]),
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("{name} entries must be strings, not {other}.")),
            })
            .collect(),
        Some(_) => Err(format!(
            "{name} must be a string or a non-empty list of strings."
        )),
        None => Err(format!("{name} is missing.")),
    }
}

fn check_action(action: &str) -> Result<(), String> {
    if action == "*" {
        return Ok(());
    }
    let name = match action.split_once(':') {
        Some((service, name)) if service.eq_ignore_ascii_case("kinesis") => name,
        _ => {
            return Err(format!(
                "Action {action} is not a Kinesis action; use kinesis:<Operation> or \"*\"."
            ));
        }
    };
    let valid_chars = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?');
    if !valid_chars {
        return Err(format!("Action {action} is not a valid action name."));
    }
    let wildcard = name.contains(['*', '?']);
    if !wildcard && !KINESIS_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(name)) {
        return Err(format!("Action {action} is not a Kinesis action."));
    }
    Ok(())
}

fn is_account(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

fn principal(value: &Value) -> Result<Vec<PrincipalPattern>, String> {
    let aws = match value {
        Value::String(s) if s == "*" => return Ok(vec![PrincipalPattern::Anyone]),
        Value::Object(map) => {
            if let Some(other) = map.keys().find(|k| *k != "AWS") {
                return Err(format!(
                    "Principal {other:?} is not supported; Spate evaluates only AWS principals (accounts and IAM users)."
                ));
            }
            map.get("AWS")
                .ok_or_else(|| "Principal must have an AWS entry.".to_owned())?
        }
        _ => {
            return Err(
                "Principal must be \"*\" or an object such as {\"AWS\": \"123456789012\"}."
                    .to_owned(),
            );
        }
    };
    strings(Some(aws), "Principal AWS")?
        .iter()
        .map(|entry| principal_entry(entry))
        .collect()
}

fn principal_entry(entry: &str) -> Result<PrincipalPattern, String> {
    if entry == "*" {
        return Ok(PrincipalPattern::Anyone);
    }
    if is_account(entry) {
        return Ok(PrincipalPattern::Account(entry.to_owned()));
    }
    let invalid = || {
        format!(
            "Principal {entry:?} is not an account id, arn:aws:iam::<account>:root or an IAM user or role ARN."
        )
    };
    // arn:<partition>:iam::<account>:<root | user/... | role/...>
    let parts: Vec<&str> = entry.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return Err(invalid());
    };
    if arn != "arn" || !partition.starts_with("aws") || service != "iam" || !region.is_empty() {
        return Err(invalid());
    }
    if !is_account(account) {
        return Err(invalid());
    }
    if resource == "root" {
        return Ok(PrincipalPattern::Account(account.to_owned()));
    }
    let named = ["user/", "role/"]
        .iter()
        .any(|kind| resource.strip_prefix(kind).is_some_and(|n| !n.is_empty()));
    if !named {
        return Err(invalid());
    }
    if entry.contains(['*', '?']) {
        return Err(format!(
            "Principal {entry:?}: IAM allows no wildcards in principal ARNs; use \"*\" or an account."
        ));
    }
    Ok(PrincipalPattern::Arn(entry.to_owned()))
}
