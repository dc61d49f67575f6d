//! The operations of the Kinesis model and the two request codecs.

/// The `X-Amz-Target` prefix shared by every Kinesis operation.
pub const TARGET_PREFIX: &str = "Kinesis_20131202.";

macro_rules! operations {
    ($($name:ident),* $(,)?) => {
        /// One operation of the Kinesis API model (botocore 1.44.5), named as in `X-Amz-Target`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $(#[allow(missing_docs)] $name,)*
        }

        impl Operation {
            /// Every operation, in the model's (alphabetical) order.
            pub const ALL: &'static [Operation] = &[$(Operation::$name,)*];

            /// The operation's name as it appears after the target prefix.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Operation::$name => stringify!($name),)*
                }
            }

            /// Parses an operation name without the prefix (`PutRecords`).
            pub fn from_name(name: &str) -> Option<Operation> {
                match name {
                    $(stringify!($name) => Some(Operation::$name),)*
                    _ => None,
                }
            }
        }
    };
}

operations! {
    AcknowledgeDeadLetterQueueRecords, AcknowledgeQueueRecords, AddTagsToStream, CreateChannel,
    CreateQueue, CreateStream, DecreaseStreamRetentionPeriod, DeleteChannel, DeleteQueue,
    DeleteResourcePolicy, DeleteStream, DeregisterStreamConsumer, DescribeAccountSettings,
    DescribeChannel, DescribeLimits, DescribeQueue, DescribeStream, DescribeStreamConsumer,
    DescribeStreamSummary, DisableEnhancedMonitoring, EnableEnhancedMonitoring, GetRecords,
    GetResourcePolicy, GetShardIterator, IncreaseStreamRetentionPeriod, ListChannels, ListQueues,
    ListShards, ListStreamConsumers, ListStreams, ListTagsForResource, ListTagsForStream,
    MergeShards, PutRecord, PutRecords, PutResourcePolicy, ReceiveDeadLetterQueueRecords,
    ReceiveQueueRecords, RegisterStreamConsumer, RemoveTagsFromStream,
    RestoreDeadLetterQueueRecords, SplitShard, StartStreamEncryption, StopStreamEncryption,
    SubscribeToShard, TagResource, UntagResource, UpdateAccountSettings, UpdateChannel,
    UpdateDeadLetterQueueRecordsVisibility, UpdateMaxRecordSize, UpdateQueue,
    UpdateQueueRecordsVisibility, UpdateShardCount, UpdateStreamMode,
    UpdateStreamRecordDistributionStrategy, UpdateStreamWarmThroughput,
}

impl Operation {
    /// Parses an `X-Amz-Target` header value (`Kinesis_20131202.PutRecords`).
    /// A wrong prefix or an unknown name gives `None` (the server answers
    /// `UnknownOperationException`).
    pub fn from_target(target: &str) -> Option<Operation> {
        Operation::from_name(target.strip_prefix(TARGET_PREFIX)?)
    }

    /// The full `X-Amz-Target` value for this operation.
    pub fn target(&self) -> String {
        format!("{TARGET_PREFIX}{}", self.name())
    }

    /// Position in [`Operation::ALL`]; indexes per-operation tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The body encoding of a request, and so of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// `application/x-amz-json-1.1`: blobs as base64, timestamps as float epoch seconds.
    Json,
    /// `application/x-amz-cbor-1.1` (Java SDKs' default): blobs as byte strings, timestamps as
    /// integer epoch milliseconds.
    Cbor,
}

impl Codec {
    /// Parses a `Content-Type` value, ignoring case, surrounding blanks and parameters such as
    /// `; charset=utf-8`. Any other media type gives `None`.
    pub fn from_content_type(content_type: &str) -> Option<Codec> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        if media.eq_ignore_ascii_case("application/x-amz-json-1.1") {
            Some(Codec::Json)
        } else if media.eq_ignore_ascii_case("application/x-amz-cbor-1.1") {
            Some(Codec::Cbor)
        } else {
            None
        }
    }

    /// The `Content-Type` to answer with.
    pub fn content_type(&self) -> &'static str {
        match self {
            Codec::Json => "application/x-amz-json-1.1",
            Codec::Cbor => "application/x-amz-cbor-1.1",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip() {
        assert_eq!(Operation::ALL.len(), 57);
        for (i, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(op.index(), i);
            assert_eq!(Operation::from_target(&op.target()), Some(*op));
        }
    }

    #[test]
    fn unknown_targets() {
        for t in [
            "",
            "PutRecords",
            "Kinesis_20131202.",
            "Kinesis_20131202.putRecords",
            "Kinesis_20131201.PutRecords",
            "kinesis_20131202.PutRecords",
            "Kinesis_20131202.PutRecords ",
            "DynamoDB_20120810.PutItem",
        ] {
            assert_eq!(Operation::from_target(t), None, "{t:?}");
        }
    }

    #[test]
    fn content_types() {
        use Codec::*;
        for (ct, want) in [
            ("application/x-amz-json-1.1", Some(Json)),
            ("Application/X-Amz-JSON-1.1; charset=utf-8", Some(Json)),
            (" application/x-amz-cbor-1.1 ", Some(Cbor)),
            ("application/x-amz-cbor-1.1;foo=bar", Some(Cbor)),
            ("application/x-amz-json-1.0", None),
            ("application/json", None),
            ("", None),
        ] {
            assert_eq!(Codec::from_content_type(ct), want, "{ct:?}");
        }
        assert_eq!(Codec::from_content_type(Json.content_type()), Some(Json));
        assert_eq!(Codec::from_content_type(Cbor.content_type()), Some(Cbor));
    }
}
