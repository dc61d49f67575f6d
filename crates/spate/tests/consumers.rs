//! Enhanced fan-out consumers through the official SDK: register, describe (by ARN and by
//! stream + name), list with pagination, deregister, tags on consumer ARNs, AWS's limits and
//! errors, DeleteStream's EnforceConsumerDeletion, and CREATING/DELETING that survive a
//! restart.

mod common;

use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::{ConsumerStatus, ShardIteratorType, StartingPosition};
use common::{Spate, code, create_active, eventually};

async fn stream_arn(client: &Client, name: &str) -> String {
    client
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
        .expect("summary")
        .stream_description_summary()
        .expect("summary")
        .stream_arn()
        .to_owned()
}

async fn register(client: &Client, stream_arn: &str, name: &str) -> String {
    client
        .register_stream_consumer()
        .stream_arn(stream_arn)
        .consumer_name(name)
        .send()
        .await
        .expect("register")
        .consumer()
        .expect("consumer")
        .consumer_arn()
        .to_owned()
}

async fn status(client: &Client, consumer_arn: &str) -> Option<ConsumerStatus> {
    let described = client
        .describe_stream_consumer()
        .consumer_arn(consumer_arn)
        .send()
        .await
        .ok()?;
    Some(described.consumer_description()?.consumer_status().clone())
}

#[tokio::test]
async fn consumers_are_registered_described_listed_and_deregistered() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "fans", 1).await;
    let arn = stream_arn(&client, "fans").await;

    let registered = client
        .register_stream_consumer()
        .stream_arn(&arn)
        .consumer_name("c1")
        .send()
        .await
        .expect("register");
    let consumer = registered.consumer().expect("consumer");
    let consumer_arn = consumer.consumer_arn().to_owned();
    let secs = consumer.consumer_creation_timestamp().secs();
    assert_eq!(consumer_arn, format!("{arn}/consumer/c1:{secs}"));
    assert_eq!(consumer.consumer_status(), &ConsumerStatus::Active);

    // The same consumer, by ARN and by stream + name, with the same ARN everywhere.
    let by_arn = client
        .describe_stream_consumer()
        .consumer_arn(&consumer_arn)
        .send()
        .await
        .expect("describe by ARN");
    let by_name = client
        .describe_stream_consumer()
        .stream_arn(&arn)
        .consumer_name("c1")
        .send()
        .await
        .expect("describe by name");
    for described in [&by_arn, &by_name] {
        let d = described.consumer_description().expect("description");
        assert_eq!(d.consumer_arn(), consumer_arn);
        assert_eq!(d.stream_arn(), arn);
        assert_eq!(d.consumer_name(), "c1");
    }
    let summary = client
        .describe_stream_summary()
        .stream_name("fans")
        .send()
        .await
        .expect("summary");
    assert_eq!(
        summary
            .stream_description_summary()
            .expect("summary")
            .consumer_count(),
        Some(1)
    );

    // Errors: a second registration, unknown consumers, inconsistent or missing names.
    let again = client
        .register_stream_consumer()
        .stream_arn(&arn)
        .consumer_name("c1")
        .send()
        .await;
    assert_eq!(code(again), "ResourceInUseException");
    let unknown = client
        .describe_stream_consumer()
        .stream_arn(&arn)
        .consumer_name("nobody")
        .send()
        .await;
    assert_eq!(code(unknown), "ResourceNotFoundException");
    let stale = client
        .describe_stream_consumer()
        .consumer_arn(format!("{arn}/consumer/c1:1"))
        .send()
        .await;
    assert_eq!(code(stale), "ResourceNotFoundException");
    let mismatch = client
        .describe_stream_consumer()
        .consumer_arn(&consumer_arn)
        .consumer_name("other")
        .send()
        .await;
    assert_eq!(code(mismatch), "InvalidArgumentException");
    let neither = client
        .describe_stream_consumer()
        .stream_arn(&arn)
        .send()
        .await;
    assert_eq!(code(neither), "InvalidArgumentException");
    let no_stream = client
        .register_stream_consumer()
        .stream_arn(arn.replace("stream/fans", "stream/none"))
        .consumer_name("c")
        .send()
        .await;
    assert_eq!(code(no_stream), "ResourceNotFoundException");

    // Tags on the consumer's ARN are the consumer's, not the stream's.
    client
        .tag_resource()
        .resource_arn(&consumer_arn)
        .tags("team", "data")
        .send()
        .await
        .expect("tag consumer");
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&consumer_arn)
        .send()
        .await
        .expect("list consumer tags");
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].key(), "team");
    let stream_tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("list stream tags");
    assert!(stream_tags.tags().is_empty());
    client
        .untag_resource()
        .resource_arn(&consumer_arn)
        .tag_keys("team")
        .send()
        .await
        .expect("untag consumer");

    client
        .deregister_stream_consumer()
        .stream_arn(&arn)
        .consumer_name("c1")
        .send()
        .await
        .expect("deregister");
    assert_eq!(status(&client, &consumer_arn).await, None);
    let gone = client
        .deregister_stream_consumer()
        .consumer_arn(&consumer_arn)
        .send()
        .await;
    assert_eq!(code(gone), "ResourceNotFoundException");
}

#[tokio::test]
async fn listing_pages_through_twenty_consumers_and_the_limits_hold() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "many", 1).await;
    let arn = stream_arn(&client, "many").await;
    let mut registered = Vec::new();
    for i in 0..20 {
        registered.push(register(&client, &arn, &format!("c{i:02}")).await);
    }
    let over = client
        .register_stream_consumer()
        .stream_arn(&arn)
        .consumer_name("one-too-many")
        .send()
        .await;
    assert_eq!(code(over), "LimitExceededException");

    // The SDK's paginator resends StreamARN with each NextToken.
    let pages: Vec<_> = client
        .list_stream_consumers()
        .stream_arn(&arn)
        .max_results(7)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("pages");
    assert_eq!(pages.len(), 3);
    let listed: Vec<String> = pages
        .iter()
        .flat_map(|p| p.consumers().iter().map(|c| c.consumer_arn().to_owned()))
        .collect();
    let mut expected = registered.clone();
    expected.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(
        sorted, expected,
        "every consumer once, with its registration ARN"
    );

    let bad_token = client
        .list_stream_consumers()
        .stream_arn(&arn)
        .next_token("garbage")
        .send()
        .await;
    assert_eq!(code(bad_token), "InvalidArgumentException");

    // A stream with consumers is deleted only with EnforceConsumerDeletion.
    let refused = client.delete_stream().stream_name("many").send().await;
    assert_eq!(code(refused), "ResourceInUseException");
    client
        .delete_stream()
        .stream_name("many")
        .enforce_consumer_deletion(true)
        .send()
        .await
        .expect("delete with consumers");
    assert_eq!(status(&client, &registered[0]).await, None);
}

#[tokio::test]
async fn at_most_five_consumers_are_creating_and_subscribing_needs_active() {
    let spate = Spate::start(&["--in-memory", "--register-consumer-ms", "600000"]);
    let client = spate.client();
    create_active(&client, "slow", 1).await;
    let arn = stream_arn(&client, "slow").await;
    let mut arns = Vec::new();
    for i in 0..5 {
        arns.push(register(&client, &arn, &format!("c{i}")).await);
    }
    assert_eq!(
        status(&client, &arns[0]).await,
        Some(ConsumerStatus::Creating)
    );
    let sixth = client
        .register_stream_consumer()
        .stream_arn(&arn)
        .consumer_name("c5")
        .send()
        .await;
    assert_eq!(code(sixth), "LimitExceededException");
    let subscribe = client
        .subscribe_to_shard()
        .consumer_arn(&arns[0])
        .shard_id("shardId-000000000000")
        .starting_position(
            StartingPosition::builder()
                .r#type(ShardIteratorType::Latest)
                .build()
                .expect("position"),
        )
        .send()
        .await;
    assert_eq!(code(subscribe), "ResourceInUseException");
}

#[tokio::test]
async fn creating_and_deleting_consumers_finish_after_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "--register-consumer-ms",
        "1500",
        "--deregister-consumer-ms",
        "1500",
    ];
    let spate = Spate::on_disk(dir.path(), &args);
    let client = spate.client();
    create_active(&client, "kept", 1).await;
    let arn = stream_arn(&client, "kept").await;
    let first = register(&client, &arn, "first").await;
    let deleting = register(&client, &arn, "deleting").await;
    client
        .tag_resource()
        .resource_arn(&first)
        .tags("k", "v")
        .send()
        .await
        .expect("tag");
    // Let "deleting" become ACTIVE, then deregister it and crash while it is DELETING.
    eventually(Duration::from_secs(20), || async {
        (status(&client, &deleting).await == Some(ConsumerStatus::Active)).then_some(())
    })
    .await;
    let late = register(&client, &arn, "late").await;
    client
        .deregister_stream_consumer()
        .consumer_arn(&deleting)
        .send()
        .await
        .expect("deregister");
    assert_eq!(
        status(&client, &deleting).await,
        Some(ConsumerStatus::Deleting)
    );
    spate.kill9();

    let spate = Spate::on_disk(dir.path(), &args);
    let client = spate.client();
    eventually(Duration::from_secs(20), || async {
        let late_active = status(&client, &late).await == Some(ConsumerStatus::Active);
        let deleted = status(&client, &deleting).await.is_none();
        (late_active && deleted).then_some(())
    })
    .await;
    let listed = client
        .list_stream_consumers()
        .stream_arn(&arn)
        .send()
        .await
        .expect("list");
    let mut arns: Vec<&str> = listed
        .consumers()
        .iter()
        .map(|c| c.consumer_arn())
        .collect();
    arns.sort();
    let mut expected = vec![first.as_str(), late.as_str()];
    expected.sort();
    assert_eq!(arns, expected, "the same ARNs after the restart");
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&first)
        .send()
        .await
        .expect("tags");
    assert_eq!(tags.tags().len(), 1);
}
