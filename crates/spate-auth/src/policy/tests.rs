//! Parsing and evaluation, rule by rule.

use super::*;

const ALICE: &str = "111122223333";
const BOB: &str = "444455556666";
const STREAM: &str = "arn:aws:kinesis:us-east-1:111122223333:stream/orders";

fn resource_policy(statements: &str) -> Policy {
    Policy::parse(
        &format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#),
        PolicyKind::Resource,
    )
    .expect("valid resource policy")
}

fn identity_policy(statements: &str) -> Policy {
    Policy::parse(
        &format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#),
        PolicyKind::Identity,
    )
    .expect("valid identity policy")
}

fn parse_error(text: &str, kind: PolicyKind) -> String {
    Policy::parse(text, kind).expect_err("should be refused").0
}

fn decide(
    principal: &Principal,
    action: &str,
    resource: &str,
    policy: Option<&Policy>,
) -> Decision {
    let resource_account = resource.split(':').nth(4).unwrap_or(&principal.account);
    evaluate(
        &AccessRequest {
            principal,
            action,
            resource,
            resource_account,
        },
        policy,
    )
}

#[test]
fn parses_the_documented_forms() {
    let policy = resource_policy(
        r#"[{"Sid":"w","Effect":"Allow","Principal":{"AWS":["444455556666","arn:aws:iam::444455556666:user/bob","arn:aws:iam::777788889999:root"]},
            "Action":["kinesis:PutRecord","kinesis:Get*"],"Resource":"arn:aws:kinesis:*:111122223333:stream/*"},
           {"Effect":"Deny","Principal":"*","Action":"kinesis:DeleteStream","Resource":["*"]}]"#,
    );
    assert_eq!(policy.statements.len(), 2);
    assert_eq!(
        policy.statements[0].principals,
        Some(vec![
            PrincipalPattern::Account(BOB.to_owned()),
            PrincipalPattern::Arn("arn:aws:iam::444455556666:user/bob".to_owned()),
            PrincipalPattern::Account("777788889999".to_owned()),
        ])
    );
    assert_eq!(policy.statements[1].effect, Effect::Deny);
    assert_eq!(
        policy.statements[1].principals,
        Some(vec![PrincipalPattern::Anyone])
    );
    // A single statement object, 2008 version, {"AWS": "*"}.
    let one = Policy::parse(
        r#"{"Version":"2008-10-17","Id":"x","Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Resource":"*"}}"#,
        PolicyKind::Resource,
    )
    .expect("valid");
    assert_eq!(
        one.statements[0].principals,
        Some(vec![PrincipalPattern::Anyone])
    );
}

#[test]
fn refuses_malformed_documents_naming_the_problem() {
    use PolicyKind::{Identity, Resource};
    let cases: &[(&str, PolicyKind, &str)] = &[
        ("not json", Resource, "not valid JSON"),
        ("[]", Resource, "must be a JSON object"),
        (r#"{"Statement":[]}"#, Resource, "no Version"),
        (
            r#"{"Version":"2020-01-01","Statement":[]}"#,
            Resource,
            "Version \"2020-01-01\" is not supported",
        ),
        (r#"{"Version":"2012-10-17"}"#, Resource, "no Statement"),
        (
            r#"{"Version":"2012-10-17","Statement":[]}"#,
            Resource,
            "non-empty list",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[1]}"#,
            Resource,
            "Statement 1 must be a JSON object",
        ),
        (
            r#"{"Version":"2012-10-17","Extra":1,"Statement":[]}"#,
            Resource,
            "unsupported element \"Extra\"",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"allow","Principal":"*","Action":"*","Resource":"*"}}"#,
            Resource,
            "Effect must be Allow or Deny",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Principal":"*","Action":"*","Resource":"*"}}"#,
            Resource,
            "Effect is missing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            Resource,
            "Principal is missing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
            Identity,
            "must not have a Principal",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Resource":"*"}}"#,
            Resource,
            "Action is missing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":[],"Resource":"*"}}"#,
            Resource,
            "Action must be a string or a non-empty list",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}"#,
            Resource,
            "Resource is missing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}"#,
            Resource,
            "not a Kinesis action",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kinesis:PutRecrod","Resource":"*"}}"#,
            Resource,
            "kinesis:PutRecrod is not a Kinesis action",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kinesis:Put Record","Resource":"*"}}"#,
            Resource,
            "not a valid action name",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"orders"}}"#,
            Resource,
            "must be \"*\" or an ARN",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"*","Resource":"*"}}"#,
            Resource,
            "only AWS principals",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"12345"},"Action":"*","Resource":"*"}}"#,
            Resource,
            "not an account id",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/*"},"Action":"*","Resource":"*"}}"#,
            Resource,
            "no wildcards in principal ARNs",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"someone","Action":"*","Resource":"*"}}"#,
            Resource,
            "Principal must be",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Bogus":1}}"#,
            Resource,
            "unknown element \"Bogus\"",
        ),
    ];
    for (text, kind, expected) in cases {
        let message = parse_error(text, *kind);
        assert!(message.contains(expected), "{text}: {message}");
    }
}

#[test]
fn refuses_elements_it_would_otherwise_ignore() {
    for element in ["Condition", "NotAction", "NotPrincipal", "NotResource"] {
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}},{{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","{element}":{{}}}}]}}"#
        );
        let message = parse_error(&text, PolicyKind::Resource);
        assert!(
            message.starts_with("Statement 2: Spate does not evaluate ")
                && message.contains(element),
            "{message}"
        );
    }
}

#[test]
fn resource_policies_must_name_their_resource() {
    let policy = resource_policy(
        r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":["arn:aws:kinesis:us-east-1:111122223333:stream/ord*","*"]}"#,
    );
    assert!(policy.check_resource(STREAM).is_ok());
    let other = resource_policy(
        r#"[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:kinesis:us-east-1:111122223333:stream/other"}]"#,
    );
    let message = other
        .check_resource(STREAM)
        .expect_err("names another stream")
        .0;
    assert!(message.starts_with("Statement 2: Resource arn:aws:kinesis:us-east-1:111122223333:stream/other does not name"), "{message}");
}

#[test]
fn an_administrator_may_do_anything_in_its_own_account() {
    let alice = Principal::root(ALICE);
    assert_eq!(
        decide(&alice, "kinesis:PutRecord", STREAM, None),
        Decision::Allow
    );
    assert_eq!(
        decide(&alice, "kinesis:ListStreams", "*", None),
        Decision::Allow
    );
    let unrelated = resource_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kinesis:GetRecords","Resource":"*"}"#,
    );
    assert_eq!(
        decide(&alice, "kinesis:PutRecord", STREAM, Some(&unrelated)),
        Decision::Allow
    );
}

#[test]
fn identity_policies_limit_a_user_to_what_they_allow() {
    let writer = Principal::user(
        ALICE,
        "writer",
        vec![identity_policy(
            r#"{"Effect":"Allow","Action":["kinesis:PutRecord*","kinesis:DescribeStreamSummary"],"Resource":"arn:aws:kinesis:*:111122223333:stream/ord?rs"}"#,
        )],
    );
    assert_eq!(writer.arn, "arn:aws:iam::111122223333:user/writer");
    assert_eq!(
        decide(&writer, "kinesis:PutRecord", STREAM, None),
        Decision::Allow
    );
    assert_eq!(
        decide(&writer, "kinesis:PutRecords", STREAM, None),
        Decision::Allow
    );
    assert_eq!(
        decide(&writer, "kinesis:GetRecords", STREAM, None),
        Decision::Deny(Denial::NoIdentityAllow)
    );
    assert_eq!(
        decide(
            &writer,
            "kinesis:PutRecord",
            "arn:aws:kinesis:us-east-1:111122223333:stream/other",
            None
        ),
        Decision::Deny(Denial::NoIdentityAllow)
    );
    // Resource patterns are case-sensitive; actions are not.
    assert_eq!(
        decide(
            &writer,
            "kinesis:PutRecord",
            "arn:aws:kinesis:us-east-1:111122223333:stream/ORDERS",
            None
        ),
        Decision::Deny(Denial::NoIdentityAllow)
    );
    let shouting = Principal::user(
        ALICE,
        "s",
        vec![identity_policy(
            r#"{"Effect":"Allow","Action":"KINESIS:putrecord","Resource":"*"}"#,
        )],
    );
    assert_eq!(
        decide(&shouting, "kinesis:PutRecord", STREAM, None),
        Decision::Allow
    );
    // Actions without a resource are requested on "*": only a "*" resource applies.
    assert_eq!(
        decide(&writer, "kinesis:ListStreams", "*", None),
        Decision::Deny(Denial::NoIdentityAllow)
    );
}

#[test]
fn a_same_account_resource_policy_allow_suffices() {
    let reader = Principal::user(
        ALICE,
        "reader",
        vec![identity_policy(
            r#"{"Effect":"Allow","Action":"kinesis:Describe*","Resource":"*"}"#,
        )],
    );
    let policy = resource_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/reader"},"Action":"kinesis:GetRecords","Resource":"*"}"#,
    );
    assert_eq!(
        decide(&reader, "kinesis:GetRecords", STREAM, Some(&policy)),
        Decision::Allow
    );
    assert_eq!(
        decide(&reader, "kinesis:PutRecord", STREAM, Some(&policy)),
        Decision::Deny(Denial::NoIdentityAllow)
    );
}

#[test]
fn explicit_deny_wins_over_any_allow() {
    let denied = Principal::user(
        ALICE,
        "app",
        vec![
            identity_policy(r#"{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}"#),
            identity_policy(r#"{"Effect":"Deny","Action":"kinesis:PutRecord","Resource":"*"}"#),
        ],
    );
    let allow_all =
        resource_policy(r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#);
    assert_eq!(
        decide(&denied, "kinesis:PutRecord", STREAM, Some(&allow_all)),
        Decision::Deny(Denial::ExplicitIdentityDeny)
    );
    assert_eq!(
        decide(&denied, "kinesis:PutRecords", STREAM, Some(&allow_all)),
        Decision::Allow
    );

    // A resource policy's Deny binds even the account's administrator.
    let deny_delete = resource_policy(
        r#"[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"kinesis:DeleteStream","Resource":"*"}]"#,
    );
    let root = Principal::root(ALICE);
    assert_eq!(
        decide(&root, "kinesis:DeleteStream", STREAM, Some(&deny_delete)),
        Decision::Deny(Denial::ExplicitResourceDeny)
    );
    // ...but only the principals it names.
    let bob = Principal::root(BOB);
    assert_eq!(
        decide(&bob, "kinesis:DeleteStream", STREAM, Some(&deny_delete)),
        Decision::Allow
    );
}

#[test]
fn cross_account_access_needs_both_sides() {
    let policy = resource_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":["kinesis:PutRecord","kinesis:GetRecords"],"Resource":"arn:aws:kinesis:us-east-1:111122223333:stream/orders"}"#,
    );
    let bob_admin = Principal::root(BOB);
    // No resource policy: even an administrator of another account is refused.
    assert_eq!(
        decide(&bob_admin, "kinesis:PutRecord", STREAM, None),
        Decision::Deny(Denial::NoResourceAllow)
    );
    assert_eq!(
        decide(&bob_admin, "kinesis:PutRecord", STREAM, Some(&policy)),
        Decision::Allow
    );
    assert_eq!(
        decide(&bob_admin, "kinesis:DeleteStream", STREAM, Some(&policy)),
        Decision::Deny(Denial::NoResourceAllow)
    );
    // An identity with policies must allow it too.
    let bob_reader = Principal::user(
        BOB,
        "reader",
        vec![identity_policy(
            r#"{"Effect":"Allow","Action":"kinesis:GetRecords","Resource":"*"}"#,
        )],
    );
    assert_eq!(
        decide(&bob_reader, "kinesis:GetRecords", STREAM, Some(&policy)),
        Decision::Allow
    );
    assert_eq!(
        decide(&bob_reader, "kinesis:PutRecord", STREAM, Some(&policy)),
        Decision::Deny(Denial::NoIdentityAllow)
    );
    // A third account named nowhere gets nothing.
    let carol = Principal::root("777788889999");
    assert_eq!(
        decide(&carol, "kinesis:GetRecords", STREAM, Some(&policy)),
        Decision::Deny(Denial::NoResourceAllow)
    );
}

#[test]
fn principal_forms_match_as_documented() {
    let bob_user = Principal::user(BOB, "bob", Vec::new());
    let bob_other = Principal::user(BOB, "eve", Vec::new());
    let grant = |principal: &str| {
        resource_policy(&format!(
            r#"{{"Effect":"Allow","Principal":{principal},"Action":"kinesis:PutRecord","Resource":"*"}}"#
        ))
    };
    for (principal, bob_allowed, eve_allowed) in [
        (r#""*""#, true, true),
        (r#"{"AWS":"*"}"#, true, true),
        (r#"{"AWS":"444455556666"}"#, true, true),
        (r#"{"AWS":"arn:aws:iam::444455556666:root"}"#, true, true),
        (
            r#"{"AWS":"arn:aws:iam::444455556666:user/bob"}"#,
            true,
            false,
        ),
        (
            r#"{"AWS":["111122223333","arn:aws:iam::444455556666:user/bob"]}"#,
            true,
            false,
        ),
        (
            r#"{"AWS":"arn:aws:iam::444455556666:role/bob"}"#,
            false,
            false,
        ),
        (r#"{"AWS":"777788889999"}"#, false, false),
    ] {
        let policy = grant(principal);
        let allowed = |p: &Principal| {
            decide(p, "kinesis:PutRecord", STREAM, Some(&policy)) == Decision::Allow
        };
        assert_eq!(allowed(&bob_user), bob_allowed, "{principal} for bob");
        assert_eq!(allowed(&bob_other), eve_allowed, "{principal} for eve");
    }
}

#[test]
fn denials_read_like_aws() {
    let bob = Principal::user(BOB, "bob", Vec::new());
    let request = AccessRequest {
        principal: &bob,
        action: "kinesis:PutRecord",
        resource: STREAM,
        resource_account: ALICE,
    };
    assert_eq!(
        Denial::NoResourceAllow.message(&request),
        "User: arn:aws:iam::444455556666:user/bob is not authorized to perform: kinesis:PutRecord on resource: arn:aws:kinesis:us-east-1:111122223333:stream/orders because no resource-based policy allows the kinesis:PutRecord action"
    );
    assert_eq!(
        Denial::ExplicitResourceDeny.message(&request),
        "User: arn:aws:iam::444455556666:user/bob is not authorized to perform: kinesis:PutRecord on resource: arn:aws:kinesis:us-east-1:111122223333:stream/orders with an explicit deny in a resource-based policy"
    );
    assert!(
        Denial::ExplicitIdentityDeny
            .message(&request)
            .ends_with("with an explicit deny in an identity-based policy")
    );
    assert!(
        Denial::NoIdentityAllow
            .message(&request)
            .ends_with("because no identity-based policy allows the kinesis:PutRecord action")
    );
}
