//! Encryption at rest, black-box: records written while a stream's encryption is on are not
//! on disk in plaintext, read back (also after a restart) as `EncryptionType: KMS`, and a
//! key that is missing, disabled, pending deletion or another account's gets the KMS error.

mod common;

use std::path::Path;
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{
    EncryptionType, PutRecordsRequestEntry, Record, ShardIteratorType, StreamStatus,
};
use common::{Spate, code, create_active, eventually};

const FILE_KEY: &str = "4a1c2e3f-5b6d-4e7f-8a9b-0c1d2e3f4a5b";
const MATERIAL: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

/// A key file with a usable key and one of each unusable kind; `with_usable: false` leaves
/// the usable key out, as if it had been removed.
fn key_file(dir: &Path, with_usable: bool) -> String {
    let mut text = String::new();
    if with_usable {
        text += &format!(
            "[[keys]]\nid = \"{FILE_KEY}\"\naliases = [\"alias/orders\"]\nmaterial = \"{MATERIAL}\"\n\n"
        );
    }
    for (id, alias, extra) in [
        (
            "00000000-0000-4000-8000-000000000002",
            "alias/off",
            "state = \"Disabled\"",
        ),
        (
            "00000000-0000-4000-8000-000000000003",
            "alias/going",
            "state = \"PendingDeletion\"",
        ),
        (
            "00000000-0000-4000-8000-000000000004",
            "alias/theirs",
            "account = \"999999999999\"",
        ),
    ] {
        text += &format!(
            "[[keys]]\nid = \"{id}\"\naliases = [\"{alias}\"]\nmaterial = \"{MATERIAL}\"\n{extra}\n\n"
        );
    }
    let path = dir.join("keys.toml");
    std::fs::write(&path, text).expect("write key file");
    path.to_str().expect("utf-8").to_owned()
}

fn start(data: &Path, keys: &str) -> Spate {
    Spate::on_disk(data, &["--kms-key-file", keys, "--update-stream-ms", "300"])
}

/// Whether any file under `dir` contains `needle`.
fn on_disk(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).expect("read dir").any(|entry| {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            return on_disk(&path, needle);
        }
        let bytes = std::fs::read(&path).expect("read file");
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

async fn wait_active(client: &Client, name: &str) {
    eventually(Duration::from_secs(10), || async {
        let d = client
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .ok()?;
        (d.stream_description_summary()?.stream_status() == &StreamStatus::Active).then_some(())
    })
    .await;
}

async fn start_encryption(client: &Client, name: &str, key: &str) {
    client
        .start_stream_encryption()
        .stream_name(name)
        .encryption_type(EncryptionType::Kms)
        .key_id(key)
        .send()
        .await
        .expect("start encryption");
    let summary = client
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
        .expect("summary");
    let summary = summary.stream_description_summary().expect("summary");
    assert_eq!(summary.encryption_type(), Some(&EncryptionType::Kms));
    assert_eq!(summary.key_id(), Some(key));
    wait_active(client, name).await;
}

async fn read_all(client: &Client, name: &str) -> Result<Vec<Record>, String> {
    let iterator = client
        .get_shard_iterator()
        .stream_name(name)
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator
        .expect("iterator");
    let got = client.get_records().shard_iterator(iterator).send().await;
    match got {
        Ok(out) => Ok(out.records),
        Err(_) => Err(code(got)),
    }
}

fn secret_data(stream: &str, i: usize) -> String {
    format!("SECRET-DATA-{stream}-{i}-q7Zp")
}

fn secret_key(stream: &str, i: usize) -> String {
    format!("SECRET-PK-{stream}-{i}-w9Xv")
}

async fn put_secrets(client: &Client, stream: &str) {
    let put = client
        .put_record()
        .stream_name(stream)
        .partition_key(secret_key(stream, 0))
        .data(Blob::new(secret_data(stream, 0)))
        .send()
        .await
        .expect("put");
    assert_eq!(put.encryption_type(), Some(&EncryptionType::Kms));
    let entries = (1..4)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(secret_key(stream, i))
                .data(Blob::new(secret_data(stream, i)))
                .build()
                .expect("entry")
        })
        .collect();
    let puts = client
        .put_records()
        .stream_name(stream)
        .set_records(Some(entries))
        .send()
        .await
        .expect("put records");
    assert_eq!(puts.failed_record_count(), Some(0));
    assert_eq!(puts.encryption_type(), Some(&EncryptionType::Kms));
}

/// The stream's records: first `plain` unsealed ones, then the four secrets.
fn check_secrets(records: &[Record], stream: &str, plain: usize) {
    assert_eq!(records.len(), plain + 4, "{records:?}");
    for r in &records[..plain] {
        assert_eq!(r.encryption_type(), Some(&EncryptionType::None));
    }
    for (i, r) in records[plain..].iter().enumerate() {
        assert_eq!(r.encryption_type(), Some(&EncryptionType::Kms));
        assert_eq!(r.partition_key(), Some(secret_key(stream, i).as_str()));
        assert_eq!(r.data().as_ref(), secret_data(stream, i).as_bytes());
    }
}

#[tokio::test]
async fn encrypted_records_are_sealed_on_disk_and_read_back_across_restarts() {
    let data = tempfile::tempdir().expect("tempdir");
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let keys = key_file(keys_dir.path(), true);
    let spate = start(data.path(), &keys);
    let client = spate.client();
    create_active(&client, "builtin", 1).await;
    create_active(&client, "filekey", 1).await;
    client
        .put_record()
        .stream_name("builtin")
        .partition_key("visible-key")
        .data(Blob::new("visible-before-encryption"))
        .send()
        .await
        .expect("plain put");

    start_encryption(&client, "builtin", "alias/aws/kinesis").await;
    let key_arn = format!("arn:aws:kms:us-east-1:000000000000:key/{FILE_KEY}");
    start_encryption(&client, "filekey", &key_arn).await;
    put_secrets(&client, "builtin").await;
    put_secrets(&client, "filekey").await;

    check_secrets(
        &read_all(&client, "builtin").await.expect("read"),
        "builtin",
        1,
    );
    check_secrets(
        &read_all(&client, "filekey").await.expect("read"),
        "filekey",
        0,
    );
    // The scan sees what is written: the record from before encryption is there in clear.
    assert!(on_disk(data.path(), b"visible-before-encryption"));
    for stream in ["builtin", "filekey"] {
        for i in 0..4 {
            assert!(!on_disk(data.path(), secret_data(stream, i).as_bytes()));
            assert!(!on_disk(data.path(), secret_key(stream, i).as_bytes()));
        }
    }
    assert!(!on_disk(data.path(), b"SECRET-"));

    spate.terminate();
    let spate = start(data.path(), &keys);
    let client = spate.client();
    check_secrets(
        &read_all(&client, "builtin").await.expect("read"),
        "builtin",
        1,
    );
    check_secrets(
        &read_all(&client, "filekey").await.expect("read"),
        "filekey",
        0,
    );

    // Stopping needs the key the stream uses, in any form.
    let wrong = client
        .stop_stream_encryption()
        .stream_name("filekey")
        .encryption_type(EncryptionType::Kms)
        .key_id("alias/aws/kinesis")
        .send()
        .await;
    assert_eq!(code(wrong), "InvalidArgumentException");
    client
        .stop_stream_encryption()
        .stream_name("filekey")
        .encryption_type(EncryptionType::Kms)
        .key_id("alias/orders")
        .send()
        .await
        .expect("stop");
    wait_active(&client, "filekey").await;
    let summary = client
        .describe_stream_summary()
        .stream_name("filekey")
        .send()
        .await
        .expect("summary");
    let summary = summary.stream_description_summary().expect("summary");
    assert_eq!(summary.encryption_type(), Some(&EncryptionType::None));
    assert_eq!(summary.key_id(), None);
    let put = client
        .put_record()
        .stream_name("filekey")
        .partition_key("after-stop")
        .data(Blob::new("after-stop-data"))
        .send()
        .await
        .expect("put");
    assert_eq!(put.encryption_type(), Some(&EncryptionType::None));
    let records = read_all(&client, "filekey").await.expect("read");
    assert_eq!(records.len(), 5);
    check_secrets(&records[..4], "filekey", 0);
    assert_eq!(records[4].encryption_type(), Some(&EncryptionType::None));
    assert_eq!(records[4].data().as_ref(), b"after-stop-data");
    assert!(on_disk(data.path(), b"after-stop-data"));
}

#[tokio::test]
async fn unusable_keys_get_the_kms_errors() {
    let data = tempfile::tempdir().expect("tempdir");
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let keys = key_file(keys_dir.path(), true);
    let spate = start(data.path(), &keys);
    let client = spate.client();
    create_active(&client, "s", 1).await;
    for (key, expected) in [
        ("alias/nope", "KMSNotFoundException"),
        (
            "00000000-0000-4000-8000-0000000000ff",
            "KMSNotFoundException",
        ),
        (
            "arn:aws:kms:eu-west-1:000000000000:alias/orders",
            "KMSNotFoundException",
        ),
        ("alias/off", "KMSDisabledException"),
        ("alias/going", "KMSInvalidStateException"),
        ("alias/theirs", "KMSAccessDeniedException"),
    ] {
        let result = client
            .start_stream_encryption()
            .stream_name("s")
            .encryption_type(EncryptionType::Kms)
            .key_id(key)
            .send()
            .await;
        assert_eq!(code(result), expected, "{key}");
    }
    let none = client
        .start_stream_encryption()
        .stream_name("s")
        .encryption_type(EncryptionType::None)
        .key_id("alias/aws/kinesis")
        .send()
        .await;
    assert_eq!(code(none), "InvalidArgumentException");

    // A record sealed under a key that later leaves the key file cannot be read or written.
    start_encryption(&client, "s", "alias/orders").await;
    put_secrets(&client, "s").await;
    // Only ACTIVE streams change keys.
    client
        .start_stream_encryption()
        .stream_name("s")
        .encryption_type(EncryptionType::Kms)
        .key_id(FILE_KEY)
        .send()
        .await
        .expect("change key");
    let busy = client
        .start_stream_encryption()
        .stream_name("s")
        .encryption_type(EncryptionType::Kms)
        .key_id("alias/orders")
        .send()
        .await;
    assert_eq!(code(busy), "ResourceInUseException");
    wait_active(&client, "s").await;
    spate.terminate();

    let keys = key_file(keys_dir.path(), false);
    let spate = start(data.path(), &keys);
    let client = spate.client();
    assert_eq!(
        read_all(&client, "s").await.expect_err("key is gone"),
        "KMSNotFoundException"
    );
    let put = client
        .put_record()
        .stream_name("s")
        .partition_key("k")
        .data(Blob::new("x"))
        .send()
        .await;
    assert_eq!(code(put), "KMSNotFoundException");
}

#[tokio::test]
async fn subscriptions_get_sealed_records_and_the_kms_error_once_the_key_is_gone() {
    use common::efo::{Got, SHARD0, next, position, records, stream_with_consumer, subscribe};

    let data = tempfile::tempdir().expect("tempdir");
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let keys = key_file(keys_dir.path(), true);
    let spate = start(data.path(), &keys);
    let client = spate.client();
    let consumer = stream_with_consumer(&client, "pushed", 1).await;
    start_encryption(&client, "pushed", "alias/orders").await;
    put_secrets(&client, "pushed").await;
    let mut events = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;
    let (got, _) = records(&mut events, 4).await;
    check_secrets(&got, "pushed", 0);
    drop(events);
    spate.terminate();

    let keys = key_file(keys_dir.path(), false);
    let spate = start(data.path(), &keys);
    let client = spate.client();
    let mut events = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;
    let ended = loop {
        match next(&mut events, Duration::from_secs(10)).await {
            Got::Event(event) => assert!(event.records().is_empty(), "{event:?}"),
            end => break end,
        }
    };
    assert_eq!(format!("{ended:?}"), "Error(\"KMSNotFoundException\")");
}

#[tokio::test]
async fn key_changes_are_limited_to_25_a_day_where_limits_are_enforced() {
    use aws_sdk_kinesis::error::ProvideErrorMetadata;

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("spate.toml");
    std::fs::write(&config, "[stream_limits.limited]\nenforce = true\n").expect("config");
    let spate = Spate::start(&["--in-memory", "--config", config.to_str().expect("utf-8")]);
    let client = common::client_without_retries(spate.addr);
    for name in ["limited", "free"] {
        create_active(&client, name, 1).await;
        for change in 0..26 {
            let result = if change % 2 == 0 {
                client
                    .start_stream_encryption()
                    .stream_name(name)
                    .encryption_type(EncryptionType::Kms)
                    .key_id("alias/aws/kinesis")
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| e.code().map(str::to_owned))
            } else {
                client
                    .stop_stream_encryption()
                    .stream_name(name)
                    .encryption_type(EncryptionType::Kms)
                    .key_id("alias/aws/kinesis")
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| e.code().map(str::to_owned))
            };
            if name == "limited" && change == 25 {
                assert_eq!(result, Err(Some("LimitExceededException".to_owned())));
            } else {
                assert_eq!(result, Ok(()), "{name} change {change}");
            }
        }
    }
}

/// Runs `spate serve` expecting it to refuse to start; returns its stderr.
fn refused_start(args: &[&str], env: &[(&str, &str)]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_spate"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run spate");
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_keys_stop_start_up_without_showing_material() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("keys.toml");
    // A truncated line: the parser's error must not quote it, material and all.
    std::fs::write(
        &keys,
        format!("[[keys]]\nid = \"{FILE_KEY}\"\nmaterial = \"{MATERIAL}\n"),
    )
    .expect("key file");
    let stderr = refused_start(
        &[
            "--in-memory",
            "--kms-key-file",
            keys.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(stderr.contains("KMS key file"), "{stderr}");
    assert!(!stderr.contains(&MATERIAL[..20]), "{stderr}");

    let stderr = refused_start(&["--in-memory"], &[("SPATE_KMS_MASTER_KEY", "c2hvcnQ=")]);
    assert!(stderr.contains("SPATE_KMS_MASTER_KEY"), "{stderr}");
    assert!(!stderr.contains("c2hvcnQ="), "{stderr}");
}

#[tokio::test]
async fn the_master_key_from_the_environment_keeps_alias_aws_kinesis_across_restarts() {
    let data = tempfile::tempdir().expect("tempdir");
    let env = [("SPATE_KMS_MASTER_KEY", MATERIAL)];
    let dir = data.path().to_str().expect("utf-8");
    let spate = Spate::start_with_env(&["--data-dir", dir], &env);
    let client = spate.client();
    create_active(&client, "mastered", 1).await;
    start_encryption(&client, "mastered", "alias/aws/kinesis").await;
    put_secrets(&client, "mastered").await;
    // A batch big enough to be sealed off the async workers.
    create_active(&client, "big", 1).await;
    start_encryption(&client, "big", "alias/aws/kinesis").await;
    let entries = (0..3u8)
        .map(|i| {
            let mut data = format!("BIG-SECRET-{i}-").into_bytes();
            data.resize(100 << 10, b'a' + i);
            PutRecordsRequestEntry::builder()
                .partition_key(format!("big-{i}"))
                .data(Blob::new(data))
                .build()
                .expect("entry")
        })
        .collect();
    let puts = client
        .put_records()
        .stream_name("big")
        .set_records(Some(entries))
        .send()
        .await
        .expect("put records");
    assert_eq!(puts.failed_record_count(), Some(0));
    let big = read_all(&client, "big").await.expect("read");
    assert_eq!(big.len(), 3);
    for (i, r) in big.iter().enumerate() {
        assert_eq!(r.encryption_type(), Some(&EncryptionType::Kms));
        assert!(
            r.data()
                .as_ref()
                .starts_with(format!("BIG-SECRET-{i}-").as_bytes())
        );
        assert_eq!(r.data().as_ref().len(), 100 << 10);
    }
    assert!(!on_disk(data.path(), b"BIG-SECRET-"));
    assert!(!on_disk(data.path(), &[b'b'; 64]));
    spate.terminate();
    // No key was generated beside the data.
    assert!(!data.path().join("kms-master.key").exists());

    let spate = Spate::start_with_env(&["--data-dir", dir], &env);
    check_secrets(
        &read_all(&spate.client(), "mastered").await.expect("read"),
        "mastered",
        0,
    );
    spate.terminate();
    // Another master derives another key: the records' key is not found.
    let other = [(
        "SPATE_KMS_MASTER_KEY",
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICA=",
    )];
    let spate = Spate::start_with_env(&["--data-dir", dir], &other);
    assert_eq!(
        read_all(&spate.client(), "mastered")
            .await
            .expect_err("other key"),
        "KMSNotFoundException"
    );
}
