//! The decision for one request, IAM's way within Spate's subset:
//!
//! 1. An explicit `Deny` that applies, in an identity policy or in the resource's policy,
//!    wins over every `Allow`.
//! 2. Within the resource's own account, an `Allow` in either an identity policy or the
//!    resource policy suffices. A principal with no identity policies is its account's
//!    administrator: everything in its account is allowed to it (rule 1 still holds).
//! 3. Across accounts, both must allow: the identity's policies (or having none) and the
//!    resource policy, which must name the caller's account, the caller, or `*`.

use super::{Effect, Policy, Statement};

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub account: String,
    /// `arn:aws:iam::<account>:user/<name>`, or `arn:aws:iam::<account>:root`.
    pub arn: String,
    /// Identity-based policies. None at all means the account's administrator.
    pub policies: Vec<Policy>,
}

impl Principal {
    /// The account's root: an administrator with no policies of its own.
    pub fn root(account: &str) -> Principal {
        Principal {
            account: account.to_owned(),
            arn: format!("arn:aws:iam::{account}:root"),
            policies: Vec::new(),
        }
    }

    /// The IAM user `name` of `account`, governed by `policies`.
    pub fn user(account: &str, name: &str, policies: Vec<Policy>) -> Principal {
        Principal {
            account: account.to_owned(),
            arn: format!("arn:aws:iam::{account}:user/{name}"),
            policies,
        }
    }
}

/// One request to authorize.
#[derive(Clone, Copy, Debug)]
pub struct AccessRequest<'a> {
    pub principal: &'a Principal,
    /// `kinesis:<Operation>`.
    pub action: &'a str,
    /// The resource's ARN, or `*` for actions that name no resource (ListStreams).
    pub resource: &'a str,
    /// The account the resource belongs to.
    pub resource_account: &'a str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(Denial),
}

/// Why a request was denied, as AWS words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    ExplicitIdentityDeny,
    ExplicitResourceDeny,
    NoIdentityAllow,
    NoResourceAllow,
}

impl Denial {
    /// AWS's AccessDeniedException message for this denial of `request`.
    pub fn message(self, request: &AccessRequest<'_>) -> String {
        let AccessRequest {
            principal,
            action,
            resource,
            ..
        } = request;
        let why = match self {
            Denial::ExplicitIdentityDeny => {
                "with an explicit deny in an identity-based policy".to_owned()
            }
            Denial::ExplicitResourceDeny => {
                "with an explicit deny in a resource-based policy".to_owned()
            }
            Denial::NoIdentityAllow => {
                format!("because no identity-based policy allows the {action} action")
            }
            Denial::NoResourceAllow => {
                format!("because no resource-based policy allows the {action} action")
            }
        };
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
            principal.arn
        )
    }
}

/// Decides `request` against the principal's identity policies and `resource_policy`.
pub fn evaluate(request: &AccessRequest<'_>, resource_policy: Option<&Policy>) -> Decision {
    let applies = |s: &&Statement| s.applies_to(request.action, request.resource);
    let identity: Vec<&Statement> = request
        .principal
        .policies
        .iter()
        .flat_map(|p| &p.statements)
        .filter(applies)
        .collect();
    let resource: Vec<&Statement> = resource_policy
        .iter()
        .flat_map(|p| &p.statements)
        .filter(|s| {
            s.principals
                .iter()
                .flatten()
                .any(|p| p.matches(request.principal))
        })
        .filter(applies)
        .collect();
    let has = |statements: &[&Statement], effect| statements.iter().any(|s| s.effect == effect);
    if has(&identity, Effect::Deny) {
        return Decision::Deny(Denial::ExplicitIdentityDeny);
    }
    if has(&resource, Effect::Deny) {
        return Decision::Deny(Denial::ExplicitResourceDeny);
    }
    let identity_allows = request.principal.policies.is_empty() || has(&identity, Effect::Allow);
    let resource_allows = has(&resource, Effect::Allow);
    if request.resource_account == request.principal.account {
        if identity_allows || resource_allows {
            Decision::Allow
        } else {
            Decision::Deny(Denial::NoIdentityAllow)
        }
    } else if !identity_allows {
        Decision::Deny(Denial::NoIdentityAllow)
    } else if !resource_allows {
        Decision::Deny(Denial::NoResourceAllow)
    } else {
        Decision::Allow
    }
}
