//! awsJson bodies of the put operations, read by serde straight into borrowed fields.
//!
//! Borrowed `&str` fields make serde_json refuse any string with an escape, and
//! `deny_unknown_fields` any member this path does not handle: both decline. A `null`
//! member reads as absent, exactly as the generic path drops it.

use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::{EntryParts, PutRecordBody, PutRecordsBody, decode_base64};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutRecordsJson<'a> {
    #[serde(rename = "StreamName", borrow, default)]
    stream_name: Option<&'a str>,
    #[serde(rename = "StreamARN", borrow, default)]
    stream_arn: Option<&'a str>,
    #[serde(rename = "Records", borrow)]
    records: Vec<MapOnly<EntryJson<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryJson<'a> {
    #[serde(rename = "Data")]
    data: &'a str,
    #[serde(rename = "PartitionKey", borrow, default)]
    partition_key: Option<&'a str>,
    #[serde(rename = "ExplicitHashKey", borrow, default)]
    explicit_hash_key: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutRecordJson<'a> {
    #[serde(rename = "StreamName", borrow, default)]
    stream_name: Option<&'a str>,
    #[serde(rename = "StreamARN", borrow, default)]
    stream_arn: Option<&'a str>,
    #[serde(rename = "Data")]
    data: &'a str,
    #[serde(rename = "PartitionKey", borrow, default)]
    partition_key: Option<&'a str>,
    #[serde(rename = "ExplicitHashKey", borrow, default)]
    explicit_hash_key: Option<&'a str>,
    #[serde(rename = "SequenceNumberForOrdering", borrow, default)]
    sequence_number_for_ordering: Option<&'a str>,
}

pub(super) fn put_records(body: &[u8]) -> Option<PutRecordsBody> {
    let MapOnly(parsed) = sonic_rs::from_slice::<MapOnly<PutRecordsJson<'_>>>(body).ok()?;
    let records = parsed
        .records
        .into_iter()
        .map(|MapOnly(entry)| entry.parts()?.finish())
        .collect::<Option<Vec<_>>>()?;
    Some(PutRecordsBody {
        stream_name: parsed.stream_name.map(str::to_owned),
        stream_arn: parsed.stream_arn.map(str::to_owned),
        records,
    })
}

pub(super) fn put_record(body: &[u8]) -> Option<PutRecordBody> {
    let MapOnly(parsed) = sonic_rs::from_slice::<MapOnly<PutRecordJson<'_>>>(body).ok()?;
    let record = EntryJson {
        data: parsed.data,
        partition_key: parsed.partition_key,
        explicit_hash_key: parsed.explicit_hash_key,
    }
    .parts()?
    .finish()?;
    Some(PutRecordBody {
        stream_name: parsed.stream_name.map(str::to_owned),
        stream_arn: parsed.stream_arn.map(str::to_owned),
        record,
        sequence_number_for_ordering: parsed.sequence_number_for_ordering.map(str::to_owned),
    })
}

impl<'a> EntryJson<'a> {
    fn parts(self) -> Option<EntryParts<'a>> {
        Some(EntryParts {
            data: Some(decode_base64(self.data)?),
            partition_key: self.partition_key,
            explicit_hash_key: self.explicit_hash_key,
        })
    }
}

/// A structure read from a JSON object only. serde's derived structs also accept an array
/// of their fields in order, which the generic path refuses.
struct MapOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for MapOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MapOnlyVisitor(PhantomData))
    }
}

struct MapOnlyVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for MapOnlyVisitor<T> {
    type Value = MapOnly<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(MapOnly)
    }
}
