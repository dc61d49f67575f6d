//! The data plane through the official Rust SDK: routing, sequence numbers, iterators.

mod common;

use std::time::Duration;

use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use common::{Spate, code, create_active, eventually};
use spate_types::{HashKeyRange, partition_key_hash};

async fn iterator(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
    shard: &str,
    kind: ShardIteratorType,
) -> String {
    client
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .expect("iterator")
        .to_owned()
}

#[tokio::test]
async fn records_route_by_hash_and_come_back_in_order() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "s", 4).await;
    let ranges = HashKeyRange::ALL.split_evenly(4);

    let mut sent: Vec<Vec<(String, Vec<u8>)>> = vec![Vec::new(); 4];
    for i in 0..40u32 {
        let key = format!("key-{i}");
        let data = vec![i as u8, 0, 0xff, b'x'];
        let put = client
            .put_record()
            .stream_name("s")
            .partition_key(&key)
            .data(Blob::new(data.clone()))
            .send()
            .await
            .expect("put");
        let shard = ranges
            .iter()
            .position(|r| r.contains(partition_key_hash(&key)))
            .expect("range");
        assert_eq!(put.shard_id(), format!("shardId-{shard:012}"));
        assert_eq!(put.sequence_number().len(), 56);
        sent[shard].push((put.sequence_number().to_owned(), data));
    }
    let explicit = client
        .put_record()
        .stream_name("s")
        .partition_key("any")
        .explicit_hash_key(ranges[3].start.to_string())
        .data(Blob::new(b"explicit".to_vec()))
        .send()
        .await
        .expect("put");
    assert_eq!(explicit.shard_id(), "shardId-000000000003");
    sent[3].push((explicit.sequence_number().to_owned(), b"explicit".to_vec()));

    for (shard, expected) in sent.iter().enumerate() {
        let shard_id = format!("shardId-{shard:012}");
        let it = iterator(&client, "s", &shard_id, ShardIteratorType::TrimHorizon).await;
        let got = client
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .expect("get");
        let records: Vec<(String, Vec<u8>)> = got
            .records()
            .iter()
            .map(|r| (r.sequence_number().to_owned(), r.data().as_ref().to_vec()))
            .collect();
        assert_eq!(&records, expected, "{shard_id}");
        assert_eq!(got.millis_behind_latest(), Some(0));
        assert!(got.next_shard_iterator().is_some());
        assert!(got.child_shards().is_empty());
        let numbers: Vec<_> = records.iter().map(|(s, _)| s.clone()).collect();
        let mut sorted = numbers.clone();
        sorted.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
        assert_eq!(numbers, sorted, "sequence numbers increase");
    }
}

#[tokio::test]
async fn put_records_answers_every_entry_in_order() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "batch", 2).await;
    let entries: Vec<_> = (0..500)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("pk{i}"))
                .data(Blob::new(vec![7u8; 1024]))
                .build()
                .expect("entry")
        })
        .collect();
    let out = client
        .put_records()
        .stream_name("batch")
        .set_records(Some(entries))
        .send()
        .await
        .expect("put");
    assert_eq!(out.failed_record_count(), Some(0));
    assert_eq!(out.records().len(), 500);
    assert!(
        out.records()
            .iter()
            .all(|r| r.sequence_number().is_some() && r.error_code().is_none())
    );
    // Each entry lands on the shard its own key's hash picks, however the batch hashed
    // them: keys of one MD5 block and longer ones, an explicit hash key among them, and
    // batches too small to hash side by side.
    create_active(&client, "routed", 4).await;
    let ranges = HashKeyRange::ALL.split_evenly(4);
    for size in [1, 3, 37, 500] {
        let keys: Vec<String> = (0..size)
            .map(|i| match i % 5 {
                0 => format!("{i}-{}", "k".repeat(i % 90)),
                1 => "é".repeat(1 + i % 40),
                _ => format!("pk-{size}-{i}"),
            })
            .collect();
        let entries: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let entry = PutRecordsRequestEntry::builder()
                    .partition_key(key)
                    .data(Blob::new(vec![1]));
                let entry = match i {
                    2 => entry.explicit_hash_key(ranges[0].start.to_string()),
                    _ => entry,
                };
                entry.build().expect("entry")
            })
            .collect();
        let out = client
            .put_records()
            .stream_name("routed")
            .set_records(Some(entries))
            .send()
            .await
            .expect("put");
        for (i, (key, result)) in keys.iter().zip(out.records()).enumerate() {
            let shard = match i {
                2 => 0,
                _ => ranges
                    .iter()
                    .position(|r| r.contains(partition_key_hash(key)))
                    .expect("range"),
            };
            assert_eq!(
                result.shard_id(),
                Some(format!("shardId-{shard:012}").as_str()),
                "entry {i} of {size}, key {key:?}"
            );
        }
    }
    let too_many: Vec<_> = (0..501)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("{i}"))
                .data(Blob::new(vec![]))
                .build()
                .expect("entry")
        })
        .collect();
    let refused = client
        .put_records()
        .stream_name("batch")
        .set_records(Some(too_many))
        .send()
        .await;
    assert_eq!(code(refused), "ValidationException");
    let oversized = client
        .put_record()
        .stream_name("batch")
        .partition_key("k")
        .data(Blob::new(vec![0; 1024 * 1024 + 1]))
        .send()
        .await;
    assert_eq!(code(oversized), "ValidationException");
}

#[tokio::test]
async fn every_iterator_type_finds_its_position() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "it", 1).await;
    let shard = "shardId-000000000000";
    let latest_before = iterator(&client, "it", shard, ShardIteratorType::Latest).await;
    let mut numbers = Vec::new();
    for i in 0..5u8 {
        let put = client
            .put_record()
            .stream_name("it")
            .partition_key("k")
            .data(Blob::new(vec![i]))
            .send()
            .await
            .expect("put");
        numbers.push(put.sequence_number().to_owned());
    }
    let data_from = |out: aws_sdk_kinesis::operation::get_records::GetRecordsOutput| -> Vec<u8> {
        out.records().iter().map(|r| r.data().as_ref()[0]).collect()
    };
    let got = client
        .get_records()
        .shard_iterator(latest_before)
        .send()
        .await
        .expect("get");
    assert_eq!(
        data_from(got),
        [0, 1, 2, 3, 4],
        "LATEST sees records written after it"
    );

    let at = client
        .get_shard_iterator()
        .stream_name("it")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .starting_sequence_number(&numbers[2])
        .send()
        .await
        .expect("iterator");
    let got = client
        .get_records()
        .shard_iterator(at.shard_iterator().expect("it"))
        .send()
        .await
        .expect("get");
    assert_eq!(data_from(got), [2, 3, 4]);
    let after = client
        .get_shard_iterator()
        .stream_name("it")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
        .starting_sequence_number(&numbers[2])
        .send()
        .await
        .expect("iterator");
    let got = client
        .get_records()
        .shard_iterator(after.shard_iterator().expect("it"))
        .limit(1)
        .send()
        .await
        .expect("get");
    assert_eq!(data_from(got.clone()), [3]);
    assert!(got.millis_behind_latest().is_some());

    let past = DateTime::from_secs(0);
    let at_time = client
        .get_shard_iterator()
        .stream_name("it")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .timestamp(past)
        .send()
        .await
        .expect("iterator");
    let got = client
        .get_records()
        .shard_iterator(at_time.shard_iterator().expect("it"))
        .send()
        .await
        .expect("get");
    assert_eq!(data_from(got), [0, 1, 2, 3, 4]);
    let future = DateTime::from_secs(4_000_000_000);
    let refused = client
        .get_shard_iterator()
        .stream_name("it")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .timestamp(future)
        .send()
        .await;
    assert_eq!(code(refused), "InvalidArgumentException");

    // An empty read keeps its position: a record written afterwards is the next one read.
    let tip = iterator(&client, "it", shard, ShardIteratorType::Latest).await;
    let empty = client
        .get_records()
        .shard_iterator(&tip)
        .send()
        .await
        .expect("get");
    assert!(empty.records().is_empty());
    let next = empty
        .next_shard_iterator()
        .expect("open shard has a next iterator")
        .to_owned();
    assert_ne!(next, tip, "a fresh iterator every call");
    client
        .put_record()
        .stream_name("it")
        .partition_key("k")
        .data(Blob::new(vec![9]))
        .send()
        .await
        .expect("put");
    let got = client
        .get_records()
        .shard_iterator(next)
        .send()
        .await
        .expect("get");
    assert_eq!(data_from(got), [9]);

    let wrong_shard = client
        .get_shard_iterator()
        .stream_name("it")
        .shard_id("shardId-000000000009")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await;
    assert_eq!(code(wrong_shard), "ResourceNotFoundException");
    let missing_number = client
        .get_shard_iterator()
        .stream_name("it")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .send()
        .await;
    assert_eq!(code(missing_number), "InvalidArgumentException");
}

#[tokio::test]
async fn forged_and_expired_iterators_are_refused() {
    let spate = Spate::start(&["--in-memory", "--iterator-ttl-ms", "1"]);
    let client = spate.client();
    create_active(&client, "x", 1).await;
    let it = iterator(
        &client,
        "x",
        "shardId-000000000000",
        ShardIteratorType::TrimHorizon,
    )
    .await;
    let mut forged = it.clone().into_bytes();
    let last = forged.len() - 3;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    assert_eq!(
        code(client.get_records().shard_iterator(forged).send().await),
        "InvalidArgumentException"
    );
    assert_eq!(
        code(
            client
                .get_records()
                .shard_iterator("not-an-iterator")
                .send()
                .await
        ),
        "InvalidArgumentException"
    );
    eventually(Duration::from_secs(10), || async {
        let result = client.get_records().shard_iterator(&it).send().await;
        result
            .is_err()
            .then(|| assert_eq!(code(result), "ExpiredIteratorException"))
    })
    .await;
}

#[tokio::test]
async fn records_past_retention_are_not_returned() {
    // One retention hour lasts 200 ms here, so the minimum 24 h retention is 4.8 s.
    let spate = Spate::start(&[
        "--in-memory",
        "--retention-hour-ms",
        "200",
        "--retention-sweep-ms",
        "20",
    ]);
    let client = spate.client();
    create_active(&client, "short", 1).await;
    client
        .put_record()
        .stream_name("short")
        .partition_key("k")
        .data(Blob::new(b"old".to_vec()))
        .send()
        .await
        .expect("put");
    eventually(Duration::from_secs(20), || async {
        let it = iterator(
            &client,
            "short",
            "shardId-000000000000",
            ShardIteratorType::TrimHorizon,
        )
        .await;
        let got = client.get_records().shard_iterator(it).send().await.ok()?;
        got.records().is_empty().then_some(())
    })
    .await;
    client
        .put_record()
        .stream_name("short")
        .partition_key("k")
        .data(Blob::new(b"new".to_vec()))
        .send()
        .await
        .expect("put");
    let it = iterator(
        &client,
        "short",
        "shardId-000000000000",
        ShardIteratorType::TrimHorizon,
    )
    .await;
    let got = client
        .get_records()
        .shard_iterator(it)
        .send()
        .await
        .expect("get");
    assert_eq!(got.records().len(), 1);
    assert_eq!(got.records()[0].data().as_ref(), b"new");
}

#[tokio::test]
async fn the_starting_sequence_number_is_below_every_record() {
    let spate = Spate::in_memory();
    let client = spate.client();
    create_active(&client, "start", 1).await;
    let first = client
        .put_record()
        .stream_name("start")
        .partition_key("k")
        .data(Blob::new(b"first".to_vec()))
        .send()
        .await
        .expect("put");
    let shards = client
        .list_shards()
        .stream_name("start")
        .send()
        .await
        .expect("list");
    let starting = shards.shards()[0]
        .sequence_number_range()
        .expect("range")
        .starting_sequence_number()
        .to_owned();
    assert!(
        (starting.len(), starting.as_str())
            < (first.sequence_number().len(), first.sequence_number())
    );
    for kind in [
        ShardIteratorType::AfterSequenceNumber,
        ShardIteratorType::AtSequenceNumber,
    ] {
        let it = client
            .get_shard_iterator()
            .stream_name("start")
            .shard_id("shardId-000000000000")
            .shard_iterator_type(kind.clone())
            .starting_sequence_number(&starting)
            .send()
            .await
            .expect("iterator");
        let got = client
            .get_records()
            .shard_iterator(it.shard_iterator().expect("it"))
            .send()
            .await
            .expect("get");
        assert_eq!(
            got.records().len(),
            1,
            "{kind:?} of the shard's start finds the first record"
        );
        assert_eq!(got.records()[0].data().as_ref(), b"first");
    }
}
