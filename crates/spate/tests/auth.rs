//! SigV4 verification and account/region namespacing, through the Rust SDK.

mod common;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use common::{Spate, code};

fn client_as(spate: &Spate, key: &str, secret: &str, token: Option<&str>, region: &str) -> Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            key,
            secret,
            token.map(str::to_owned),
            None,
            "test",
        ))
        .endpoint_url(spate.endpoint())
        .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

fn sigv4_server(dir: &tempfile::TempDir) -> Spate {
    let path = dir.path().join("credentials.toml");
    std::fs::write(
        &path,
        r#"
[[credentials]]
access_key_id = "AKIDALICE"
secret_access_key = "alice-secret"
account_id = "111122223333"

[[credentials]]
access_key_id = "AKIDBOB"
secret_access_key = "bob-secret"
account_id = "444455556666"
"#,
    )
    .expect("write credentials");
    Spate::start(&[
        "--in-memory",
        "--auth",
        "sigv4",
        "--credentials",
        path.to_str().expect("utf-8"),
    ])
}

#[tokio::test]
async fn signatures_are_verified_and_keys_act_for_their_accounts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = sigv4_server(&dir);
    let alice = client_as(&spate, "AKIDALICE", "alice-secret", None, "us-east-1");
    let bob = client_as(
        &spate,
        "AKIDBOB",
        "bob-secret",
        Some("session-token"),
        "us-east-1",
    );

    alice
        .create_stream()
        .stream_name("shared-name")
        .shard_count(1)
        .send()
        .await
        .expect("alice creates");
    let summary = alice
        .describe_stream_summary()
        .stream_name("shared-name")
        .send()
        .await
        .expect("describe");
    assert_eq!(
        summary
            .stream_description_summary()
            .expect("s")
            .stream_arn(),
        "arn:aws:kinesis:us-east-1:111122223333:stream/shared-name"
    );
    // Bob's account is another namespace: he neither sees Alice's stream nor collides with it.
    assert!(
        bob.list_streams()
            .send()
            .await
            .expect("list")
            .stream_names()
            .is_empty()
    );
    assert_eq!(
        code(
            bob.describe_stream_summary()
                .stream_name("shared-name")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    bob.create_stream()
        .stream_name("shared-name")
        .shard_count(2)
        .send()
        .await
        .expect("bob creates his own");

    let wrong_secret = client_as(&spate, "AKIDALICE", "not-her-secret", None, "us-east-1");
    assert_eq!(
        code(wrong_secret.list_streams().send().await),
        "InvalidSignatureException"
    );
    let unknown = client_as(&spate, "AKIDMALLORY", "whatever", None, "us-east-1");
    assert_eq!(
        code(unknown.list_streams().send().await),
        "UnrecognizedClientException"
    );
}

#[tokio::test]
async fn regions_namespace_streams_too() {
    let spate = Spate::in_memory();
    let east = client_as(&spate, "test", "test", None, "us-east-1");
    let west = client_as(&spate, "test", "test", None, "eu-west-2");
    west.create_stream()
        .stream_name("regional")
        .shard_count(1)
        .send()
        .await
        .expect("create");
    let summary = west
        .describe_stream_summary()
        .stream_name("regional")
        .send()
        .await
        .expect("describe");
    assert_eq!(
        summary
            .stream_description_summary()
            .expect("s")
            .stream_arn(),
        "arn:aws:kinesis:eu-west-2:000000000000:stream/regional"
    );
    assert_eq!(
        code(
            east.describe_stream_summary()
                .stream_name("regional")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    // The ARN names its region, so it reaches the stream from any client region.
    east.describe_stream_summary()
        .stream_arn("arn:aws:kinesis:eu-west-2:000000000000:stream/regional")
        .send()
        .await
        .expect("by ARN");
}

#[tokio::test]
async fn other_accounts_streams_are_out_of_reach() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spate = sigv4_server(&dir);
    let alice = client_as(&spate, "AKIDALICE", "alice-secret", None, "us-east-1");
    let bob = client_as(&spate, "AKIDBOB", "bob-secret", None, "us-east-1");
    alice
        .create_stream()
        .stream_name("private")
        .shard_count(1)
        .send()
        .await
        .expect("create");
    let arn = "arn:aws:kinesis:us-east-1:111122223333:stream/private";
    assert_eq!(
        code(bob.describe_stream_summary().stream_arn(arn).send().await),
        "AccessDeniedException"
    );
    assert_eq!(
        code(
            bob.put_record()
                .stream_arn(arn)
                .partition_key("k")
                .data(b"x".to_vec().into())
                .send()
                .await
        ),
        "AccessDeniedException"
    );
    // Nor does an iterator Alice got work for Bob.
    let iterator = alice
        .get_shard_iterator()
        .stream_name("private")
        .shard_id("shardId-000000000000")
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator");
    let stolen = bob
        .get_records()
        .shard_iterator(iterator.shard_iterator().expect("it"))
        .send()
        .await;
    assert_eq!(code(stolen), "AccessDeniedException");
}
