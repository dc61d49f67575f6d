//! Constraint checks and their Coral messages.

use serde_json::{Value, json};

use super::*;

#[test]
fn required_member_missing() {
    assert_eq!(
        validation(Operation::PutRecords, json!({})),
        "1 validation error detected: Value null at 'records' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn kinesalite_empty_stream_name_case() {
    // kinesalite test/putRecords.js, recorded against the real service.
    assert_eq!(
        validation(
            Operation::PutRecords,
            json!({"StreamName": "", "Records": []})
        ),
        "3 validation errors detected: \
         Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1; \
         Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; \
         Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
}

#[test]
fn length_maximum_counts_characters() {
    let name = "a".repeat(129);
    assert_eq!(
        validation(
            Operation::PutRecords,
            json!({"StreamName": name, "Records": [{"PartitionKey": "a", "Data": ""}]})
        ),
        format!(
            "1 validation error detected: Value '{name}' at 'streamName' failed to satisfy constraint: \
             Member must have length less than or equal to 128"
        )
    );
    // 256 multi-byte characters are within PartitionKey's 256 limit.
    let key = "é".repeat(256);
    assert!(
        json_req(
            Operation::PutRecords,
            json!({"Records": [{"PartitionKey": key, "Data": ""}]})
        )
        .is_ok()
    );
}

#[test]
fn integer_range_and_enum() {
    assert_eq!(
        validation(
            Operation::CreateStream,
            json!({"StreamName": "s", "ShardCount": 0})
        ),
        "1 validation error detected: Value '0' at 'shardCount' failed to satisfy constraint: \
         Member must have value greater than or equal to 1"
    );
    assert_eq!(
        validation(Operation::ListShards, json!({"MaxResults": 10001})),
        "1 validation error detected: Value '10001' at 'maxResults' failed to satisfy constraint: \
         Member must have value less than or equal to 10000"
    );
    assert_eq!(
        validation(
            Operation::GetShardIterator,
            json!({"ShardId": "s", "ShardIteratorType": "foo"})
        ),
        "1 validation error detected: Value 'foo' at 'shardIteratorType' failed to satisfy constraint: \
         Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]"
    );
}

#[test]
fn list_item_paths_and_blob_rendering() {
    let m = validation(
        Operation::PutRecords,
        json!({"Records": [{"PartitionKey": "a", "Data": ""}, {"PartitionKey": "", "Data": "aGk=", "ExplicitHashKey": "01"}]}),
    );
    assert_eq!(
        m,
        "2 validation errors detected: \
         Value '01' at 'records.2.member.explicitHashKey' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: ^(0|([1-9]\\d{0,38}))$; \
         Value '' at 'records.2.member.partitionKey' failed to satisfy constraint: \
         Member must have length greater than or equal to 1"
    );
    let m = validation(
        Operation::PutRecords,
        json!({"Records": [{"PartitionKey": "a"}]}),
    );
    assert_eq!(
        m,
        "1 validation error detected: Value null at 'records.1.member.data' failed to satisfy constraint: \
         Member must not be null"
    );
    let records: Vec<Value> = (0..501)
        .map(|_| json!({"PartitionKey": "a", "Data": "aGk="}))
        .collect();
    let m = validation(Operation::PutRecords, json!({"Records": records}));
    assert!(m.starts_with("1 validation error detected: Value '[com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@"), "{m}");
    assert!(m.ends_with("]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500"));
}

#[test]
fn blob_length_uses_decoded_bytes() {
    use base64::Engine as _;
    let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 10 * 1024 * 1024 + 1]);
    let m = validation(
        Operation::PutRecord,
        json!({"PartitionKey": "a", "Data": big}),
    );
    assert_eq!(
        m,
        "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=10485761 cap=10485761]' at 'data' \
         failed to satisfy constraint: Member must have length less than or equal to 10485760"
    );
}

#[test]
fn maps_and_lists_of_scalars_are_checked_whole() {
    assert_eq!(
        validation(Operation::AddTagsToStream, json!({"Tags": {}})),
        "1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: \
         Member must have length greater than or equal to 1"
    );
    let long = "k".repeat(129);
    assert_eq!(
        validation(
            Operation::AddTagsToStream,
            json!({"Tags": {long.clone(): "v"}})
        ),
        format!(
            "1 validation error detected: Value '{{{long}=v}}' at 'tags' failed to satisfy constraint: \
             Map keys must satisfy constraint: [Member must have length less than or equal to 128, \
             Member must have length greater than or equal to 1]"
        )
    );
    assert_eq!(
        validation(
            Operation::AddTagsToStream,
            json!({"Tags": {"k": "v".repeat(257)}})
        ),
        format!(
            "1 validation error detected: Value '{{k={}}}' at 'tags' failed to satisfy constraint: \
             Map value must satisfy constraint: [Member must have length less than or equal to 256, \
             Member must have length greater than or equal to 0]",
            "v".repeat(257)
        )
    );
    assert_eq!(
        validation(
            Operation::RemoveTagsFromStream,
            json!({"TagKeys": ["a", ""]})
        ),
        "1 validation error detected: Value '[a, ]' at 'tagKeys' failed to satisfy constraint: \
         Member must satisfy constraint: [Member must have length less than or equal to 128, \
         Member must have length greater than or equal to 1]"
    );
    assert_eq!(
        validation(
            Operation::EnableEnhancedMonitoring,
            json!({"ShardLevelMetrics": ["foo"]})
        ),
        "1 validation error detected: Value '[foo]' at 'shardLevelMetrics' failed to satisfy constraint: \
         Member must satisfy constraint: [Member must satisfy enum value set: [IncomingBytes, IncomingRecords, \
         OutgoingBytes, OutgoingRecords, WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, \
         IteratorAgeMilliseconds, ALL]]"
    );
}

#[test]
fn at_most_ten_errors() {
    let records: Vec<Value> = (0..12).map(|_| json!({"PartitionKey": ""})).collect();
    let m = validation(Operation::PutRecords, json!({"Records": records}));
    assert!(m.starts_with("10 validation errors detected: "), "{m}");
    assert_eq!(m.matches("failed to satisfy constraint").count(), 10);
    assert!(m.contains("'records.1.member.data'"));
}
