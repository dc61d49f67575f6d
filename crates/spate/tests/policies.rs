//! Resource policies and identity policies, through the Rust SDK: storing and validating
//! policies, cross-account access they grant, per-credential denials, and persistence.

mod common;

use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use common::efo::{SHARD0, position, stream_with_consumer};
use common::{Spate, code, create_active, eventually};

const ALICE: &str = "111122223333";
const BOB: &str = "444455556666";
const ORDERS: &str = "arn:aws:kinesis:us-east-1:111122223333:stream/orders";

fn client_as(spate: &Spate, key: &str, secret: &str) -> Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .endpoint_url(spate.endpoint())
        .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// Alice and Bob administer their accounts; Alice's account also has `writer`, who may not
/// PutRecord, and `nobody`, who may do nothing at all.
fn write_credentials(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("credentials.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[credentials]]
access_key_id = "AKIDALICE"
secret_access_key = "alice-secret"
account_id = "{ALICE}"

[[credentials]]
access_key_id = "AKIDBOB"
secret_access_key = "bob-secret"
account_id = "{BOB}"

[[credentials]]
access_key_id = "AKIDWRITER"
secret_access_key = "writer-secret"
account_id = "{ALICE}"
user = "writer"
policies = ['''
{{"Version": "2012-10-17", "Statement": [
  {{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}},
  {{"Effect": "Deny", "Action": "kinesis:PutRecord", "Resource": "arn:aws:kinesis:*:{ALICE}:stream/*"}}
]}}
''']

[[credentials]]
access_key_id = "AKIDNOBODY"
secret_access_key = "nobody-secret"
account_id = "{ALICE}"
user = "nobody"
policies = ['''
{{"Version": "2012-10-17", "Statement": {{"Effect": "Deny", "Action": "*", "Resource": "*"}}}}
''']
"#
        ),
    )
    .expect("write credentials");
    path.to_str().expect("utf-8").to_owned()
}

fn sigv4(credentials: &str, extra: &[&str]) -> Spate {
    let mut args = vec!["--auth", "sigv4", "--credentials", credentials];
    args.extend_from_slice(extra);
    Spate::start(&args)
}

fn share_with_bob(actions: &[&str]) -> String {
    let actions: Vec<String> = actions.iter().map(|a| format!("\"kinesis:{a}\"")).collect();
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"bob","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{BOB}:root"}},"Action":[{}],"Resource":"{ORDERS}"}}]}}"#,
        actions.join(",")
    )
}

async fn get_policy(client: &Client, arn: &str) -> String {
    client
        .get_resource_policy()
        .resource_arn(arn)
        .send()
        .await
        .expect("get policy")
        .policy()
        .to_owned()
}

async fn put_record(client: &Client, arn: &str) -> Result<(), String> {
    client
        .put_record()
        .stream_arn(arn)
        .partition_key("k")
        .data(Blob::new(b"x".to_vec()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{}: {}", e.code().unwrap_or("?"), e.message().unwrap_or("")))
}

#[tokio::test]
async fn policies_are_stored_validated_and_removed() {
    let spate = Spate::in_memory();
    let client = spate.client();
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/shared";
    create_active(&client, "shared", 1).await;
    assert_eq!(get_policy(&client, arn).await, "{}");

    // Kept verbatim, whitespace and all.
    let policy = format!(
        "{{ \"Version\": \"2012-10-17\",\n  \"Statement\": {{\"Effect\": \"Allow\", \"Principal\": {{\"AWS\": \"{BOB}\"}}, \"Action\": \"kinesis:Get*\", \"Resource\": \"{arn}\"}} }}"
    );
    client
        .put_resource_policy()
        .resource_arn(arn)
        .policy(&policy)
        .send()
        .await
        .expect("put");
    assert_eq!(get_policy(&client, arn).await, policy);

    let invalid = |text: String| {
        let client = client.clone();
        async move {
            let error = client
                .put_resource_policy()
                .resource_arn(arn)
                .policy(text)
                .send()
                .await
                .expect_err("refused");
            (
                error.code().unwrap_or("").to_owned(),
                error.message().unwrap_or("").to_owned(),
            )
        }
    };
    let statement = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#);
    for (text, expected) in [
        ("{not json".to_owned(), "not valid JSON"),
        (r#"{"Statement":[]}"#.to_owned(), "no Version"),
        (
            statement(&format!(
                r#"{{"Effect":"Allow","Principal":"*","Action":"kinesis:PutRecord","Resource":"{arn}","Condition":{{"Bool":{{"aws:SecureTransport":"true"}}}}}}"#
            )),
            "Spate does not evaluate Condition",
        ),
        (
            statement(
                r#"{"Effect":"Allow","Principal":"*","Action":"kinesis:PutRecord","Resource":"arn:aws:kinesis:us-east-1:000000000000:stream/other"}"#,
            ),
            "does not name the resource",
        ),
        (
            statement(&format!(
                r#"{{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"{arn}"}}"#
            )),
            "not a Kinesis action",
        ),
        (
            statement(&format!(
                r#"{{"Effect":"Allow","Action":"kinesis:PutRecord","Resource":"{arn}"}}"#
            )),
            "Principal is missing",
        ),
        (
            format!(
                r#"{{"Version":"2012-10-17","Id":"{}","Statement":[]}}"#,
                "x".repeat(21 * 1024)
            ),
            "bytes allowed",
        ),
    ] {
        let (code, message) = invalid(text).await;
        assert_eq!(code, "InvalidArgumentException", "{message}");
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // A refused policy leaves the previous one in place.
    assert_eq!(get_policy(&client, arn).await, policy);

    client
        .delete_resource_policy()
        .resource_arn(arn)
        .send()
        .await
        .expect("delete");
    assert_eq!(get_policy(&client, arn).await, "{}");
    assert_eq!(
        code(
            client
                .delete_resource_policy()
                .resource_arn(arn)
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    let missing = "arn:aws:kinesis:us-east-1:000000000000:stream/missing";
    assert_eq!(
        code(
            client
                .get_resource_policy()
                .resource_arn(missing)
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );

    // A policy goes with its stream: a new stream of the same name starts without one.
    client
        .put_resource_policy()
        .resource_arn(arn)
        .policy(&policy)
        .send()
        .await
        .expect("put");
    client
        .delete_stream()
        .stream_name("shared")
        .send()
        .await
        .expect("delete stream");
    eventually(Duration::from_secs(10), || async {
        client
            .describe_stream_summary()
            .stream_name("shared")
            .send()
            .await
            .is_err()
            .then_some(())
    })
    .await;
    create_active(&client, "shared", 1).await;
    assert_eq!(get_policy(&client, arn).await, "{}");
}

#[tokio::test]
async fn consumers_have_policies_of_their_own() {
    let spate = Spate::in_memory();
    let client = spate.client();
    let consumer = stream_with_consumer(&client, "fanout", 1).await;
    let stream = "arn:aws:kinesis:us-east-1:000000000000:stream/fanout";
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{BOB}"}},"Action":["kinesis:SubscribeToShard","kinesis:DescribeStreamConsumer"],"Resource":"{consumer}"}}}}"#
    );
    client
        .put_resource_policy()
        .resource_arn(&consumer)
        .policy(&policy)
        .send()
        .await
        .expect("put on consumer");
    assert_eq!(get_policy(&client, &consumer).await, policy);
    assert_eq!(get_policy(&client, stream).await, "{}");
    // A stream's policy may not speak for its consumers, nor the other way round.
    let on_stream = client
        .put_resource_policy()
        .resource_arn(stream)
        .policy(&policy)
        .send()
        .await;
    assert_eq!(code(on_stream), "InvalidArgumentException");
    let gone = format!("{stream}/consumer/efo:1");
    assert_eq!(
        code(client.get_resource_policy().resource_arn(gone).send().await),
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn a_resource_policy_grants_another_account_what_it_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = sigv4(&write_credentials(&dir), &["--in-memory"]);
    let alice = client_as(&spate, "AKIDALICE", "alice-secret");
    let bob = client_as(&spate, "AKIDBOB", "bob-secret");
    create_active(&alice, "orders", 1).await;

    let denied = put_record(&bob, ORDERS).await.expect_err("no policy yet");
    assert_eq!(
        denied,
        format!(
            "AccessDeniedException: User: arn:aws:iam::{BOB}:root is not authorized to perform: kinesis:PutRecord on resource: {ORDERS} because no resource-based policy allows the kinesis:PutRecord action"
        )
    );

    alice
        .put_resource_policy()
        .resource_arn(ORDERS)
        .policy(share_with_bob(&[
            "PutRecord",
            "GetShardIterator",
            "GetRecords",
        ]))
        .send()
        .await
        .expect("share");
    put_record(&bob, ORDERS)
        .await
        .expect("Bob writes to Alice's stream");
    let iterator = bob
        .get_shard_iterator()
        .stream_arn(ORDERS)
        .shard_id(SHARD0)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .expect("iterator")
        .to_owned();
    let records = bob
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .expect("Bob reads Alice's stream");
    assert_eq!(records.records().len(), 1);

    // Only what the policy names, and never the policy itself.
    assert_eq!(
        code(
            bob.describe_stream_summary()
                .stream_arn(ORDERS)
                .send()
                .await
        ),
        "AccessDeniedException"
    );
    assert_eq!(
        code(bob.delete_stream().stream_arn(ORDERS).send().await),
        "AccessDeniedException"
    );
    assert_eq!(
        code(bob.get_resource_policy().resource_arn(ORDERS).send().await),
        "AccessDeniedException"
    );
    // Bob's own namespace is untouched by all this.
    assert!(
        bob.list_streams()
            .send()
            .await
            .expect("list")
            .stream_names()
            .is_empty()
    );

    alice
        .delete_resource_policy()
        .resource_arn(ORDERS)
        .send()
        .await
        .expect("unshare");
    assert!(
        put_record(&bob, ORDERS)
            .await
            .expect_err("unshared")
            .starts_with("AccessDeniedException")
    );
    assert_eq!(
        code(bob.get_records().shard_iterator(&iterator).send().await),
        "AccessDeniedException"
    );
    // A stream that does not exist is denied too, rather than revealed as missing.
    assert_eq!(
        code(
            bob.describe_stream_summary()
                .stream_arn("arn:aws:kinesis:us-east-1:111122223333:stream/nothing")
                .send()
                .await
        ),
        "AccessDeniedException"
    );

    // Even a policy granting everything leaves the policy operations to Alice's account.
    let everything = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{BOB}"}},"Action":"kinesis:*","Resource":"{ORDERS}"}}}}"#
    );
    alice
        .put_resource_policy()
        .resource_arn(ORDERS)
        .policy(&everything)
        .send()
        .await
        .expect("share everything");
    bob.describe_stream_summary()
        .stream_arn(ORDERS)
        .send()
        .await
        .expect("Bob describes Alice's stream");
    assert_eq!(
        code(bob.get_resource_policy().resource_arn(ORDERS).send().await),
        "AccessDeniedException"
    );
    assert_eq!(
        code(
            bob.put_resource_policy()
                .resource_arn(ORDERS)
                .policy(&everything)
                .send()
                .await
        ),
        "AccessDeniedException"
    );
    assert_eq!(
        code(
            bob.delete_resource_policy()
                .resource_arn(ORDERS)
                .send()
                .await
        ),
        "AccessDeniedException"
    );
}

#[tokio::test]
async fn subscribing_across_accounts_needs_the_consumers_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = sigv4(&write_credentials(&dir), &["--in-memory"]);
    let alice = client_as(&spate, "AKIDALICE", "alice-secret");
    let bob = client_as(&spate, "AKIDBOB", "bob-secret");
    let consumer = stream_with_consumer(&alice, "fanout", 1).await;
    let subscribe = || {
        bob.subscribe_to_shard()
            .consumer_arn(&consumer)
            .shard_id(SHARD0)
            .starting_position(position(ShardIteratorType::Latest, None))
            .send()
    };
    assert_eq!(code(subscribe().await), "AccessDeniedException");
    // The stream's policy does not reach its consumers.
    let stream_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"arn:aws:kinesis:us-east-1:{ALICE}:stream/fanout"}}}}"#
    );
    alice
        .put_resource_policy()
        .resource_arn(format!("arn:aws:kinesis:us-east-1:{ALICE}:stream/fanout"))
        .policy(stream_policy)
        .send()
        .await
        .expect("stream policy");
    assert_eq!(code(subscribe().await), "AccessDeniedException");
    let consumer_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{BOB}"}},"Action":"kinesis:SubscribeToShard","Resource":"{consumer}"}}}}"#
    );
    alice
        .put_resource_policy()
        .resource_arn(&consumer)
        .policy(consumer_policy)
        .send()
        .await
        .expect("consumer policy");
    subscribe()
        .await
        .expect("Bob subscribes to Alice's consumer");
    assert_eq!(
        code(
            bob.describe_stream_consumer()
                .consumer_arn(&consumer)
                .send()
                .await
        ),
        "AccessDeniedException"
    );
}

#[tokio::test]
async fn identity_policies_govern_a_credential() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = sigv4(&write_credentials(&dir), &["--in-memory"]);
    let alice = client_as(&spate, "AKIDALICE", "alice-secret");
    let writer = client_as(&spate, "AKIDWRITER", "writer-secret");
    let nobody = client_as(&spate, "AKIDNOBODY", "nobody-secret");
    create_active(&alice, "orders", 1).await;

    let denied = put_record(&writer, ORDERS).await.expect_err("denied");
    assert_eq!(
        denied,
        format!(
            "AccessDeniedException: User: arn:aws:iam::{ALICE}:user/writer is not authorized to perform: kinesis:PutRecord on resource: {ORDERS} with an explicit deny in an identity-based policy"
        )
    );
    // The explicit deny wins even over a resource policy naming the writer.
    alice
        .put_resource_policy()
        .resource_arn(ORDERS)
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ALICE}:user/writer"}},"Action":"kinesis:PutRecord","Resource":"{ORDERS}"}}}}"#
        ))
        .send()
        .await
        .expect("policy");
    assert!(put_record(&writer, ORDERS).await.is_err());
    writer
        .put_records()
        .stream_name("orders")
        .records(
            aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                .partition_key("k")
                .data(Blob::new(b"x".to_vec()))
                .build()
                .expect("entry"),
        )
        .send()
        .await
        .expect("PutRecords is allowed");

    // Every operation is checked, whatever resource it names or none.
    let consumer = format!("{ORDERS}/consumer/c:1");
    let results: Vec<(&str, String)> = vec![
        ("ListStreams", code(nobody.list_streams().send().await)),
        (
            "DescribeLimits",
            code(nobody.describe_limits().send().await),
        ),
        (
            "CreateStream",
            code(
                nobody
                    .create_stream()
                    .stream_name("x")
                    .shard_count(1)
                    .send()
                    .await,
            ),
        ),
        (
            "DescribeStream",
            code(nobody.describe_stream().stream_name("orders").send().await),
        ),
        (
            "ListShards",
            code(nobody.list_shards().stream_name("orders").send().await),
        ),
        (
            "GetShardIterator",
            code(
                nobody
                    .get_shard_iterator()
                    .stream_name("orders")
                    .shard_id(SHARD0)
                    .shard_iterator_type(ShardIteratorType::Latest)
                    .send()
                    .await,
            ),
        ),
        (
            "PutRecord",
            put_record(&nobody, ORDERS).await.expect_err("denied"),
        ),
        (
            "ListTagsForStream",
            code(
                nobody
                    .list_tags_for_stream()
                    .stream_name("orders")
                    .send()
                    .await,
            ),
        ),
        (
            "ListStreamConsumers",
            code(
                nobody
                    .list_stream_consumers()
                    .stream_arn(ORDERS)
                    .send()
                    .await,
            ),
        ),
        (
            "DescribeStreamConsumer",
            code(
                nobody
                    .describe_stream_consumer()
                    .consumer_arn(&consumer)
                    .send()
                    .await,
            ),
        ),
        (
            "GetResourcePolicy",
            code(
                nobody
                    .get_resource_policy()
                    .resource_arn(ORDERS)
                    .send()
                    .await,
            ),
        ),
        (
            "DeleteStream",
            code(nobody.delete_stream().stream_name("orders").send().await),
        ),
    ];
    for (operation, result) in results {
        assert!(
            result.starts_with("AccessDeniedException"),
            "{operation}: {result}"
        );
    }
}

#[tokio::test]
async fn policies_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let credentials = write_credentials(&dir);
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8");
    let policy = share_with_bob(&["PutRecord"]);
    {
        let spate = sigv4(&credentials, &["--data-dir", data]);
        let alice = client_as(&spate, "AKIDALICE", "alice-secret");
        create_active(&alice, "orders", 1).await;
        alice
            .put_resource_policy()
            .resource_arn(ORDERS)
            .policy(&policy)
            .send()
            .await
            .expect("share");
        spate.terminate();
    }
    let spate = sigv4(&credentials, &["--data-dir", data]);
    let alice = client_as(&spate, "AKIDALICE", "alice-secret");
    let bob = client_as(&spate, "AKIDBOB", "bob-secret");
    assert_eq!(get_policy(&alice, ORDERS).await, policy);
    put_record(&bob, ORDERS)
        .await
        .expect("the restored policy still grants Bob");
}
