//! Stream ARNs, `arn:<partition>:kinesis:<region>:<account>:stream/<name>`, and consumer
//! ARNs, `<stream ARN>/consumer/<name>:<creation epoch seconds>`.

/// A parsed stream ARN. The partition is kept so errors can echo what the client sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub stream_name: String,
}

impl StreamArn {
    pub fn new(region: &str, account: &str, stream_name: &str) -> StreamArn {
        StreamArn {
            partition: "aws".to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            stream_name: stream_name.to_owned(),
        }
    }

    /// Parses a stream ARN; a consumer ARN (`.../consumer/<name>:<secs>`) yields its stream.
    pub fn parse(text: &str) -> Option<StreamArn> {
        let mut parts = text.splitn(6, ':');
        let (arn, partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if arn != "arn" || !partition.starts_with("aws") || service != "kinesis" {
            return None;
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let rest = resource.strip_prefix("stream/")?;
        let name = rest.split('/').next()?;
        if name.is_empty() {
            return None;
        }
        Some(StreamArn {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            stream_name: name.to_owned(),
        })
    }
}

impl std::fmt::Display for StreamArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "arn:{}:kinesis:{}:{}:stream/{}",
            self.partition, self.region, self.account, self.stream_name
        )
    }
}

/// A parsed consumer ARN. The creation second tells a consumer from an earlier one of the
/// same name, so a stale ARN never reaches a consumer registered again later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerArn {
    pub stream: StreamArn,
    pub consumer_name: String,
    pub created_secs: u64,
}

impl ConsumerArn {
    pub fn new(stream: StreamArn, consumer_name: &str, created_secs: u64) -> ConsumerArn {
        ConsumerArn {
            stream,
            consumer_name: consumer_name.to_owned(),
            created_secs,
        }
    }

    /// Parses `<stream ARN>/consumer/<name>:<secs>`; `None` for anything else.
    pub fn parse(text: &str) -> Option<ConsumerArn> {
        let stream = StreamArn::parse(text)?;
        let prefix = format!(":stream/{}/consumer/", stream.stream_name);
        let (_, rest) = text.split_once(&prefix)?;
        let (name, secs) = rest.rsplit_once(':')?;
        let valid_name = !name.is_empty()
            && name.len() <= 128
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !valid_name || secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(ConsumerArn {
            stream,
            consumer_name: name.to_owned(),
            created_secs: secs.parse().ok()?,
        })
    }
}

impl std::fmt::Display for ConsumerArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/consumer/{}:{}",
            self.stream, self.consumer_name, self.created_secs
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let arn = StreamArn::new("us-east-1", "000000000000", "clicks");
        let text = arn.to_string();
        assert_eq!(text, "arn:aws:kinesis:us-east-1:000000000000:stream/clicks");
        assert_eq!(StreamArn::parse(&text), Some(arn));
    }

    #[test]
    fn consumer_arn_names_its_stream() {
        let arn = StreamArn::parse(
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1700000000",
        )
        .expect("parses");
        assert_eq!(arn.stream_name, "s");
    }

    #[test]
    fn consumer_arns_round_trip() {
        let stream = StreamArn::new("us-east-1", "000000000000", "s");
        let arn = ConsumerArn::new(stream, "c.1", 1_700_000_000);
        let text = arn.to_string();
        assert_eq!(
            text,
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c.1:1700000000"
        );
        assert_eq!(ConsumerArn::parse(&text), Some(arn));
        for bad in [
            "arn:aws:kinesis:us-east-1:000000000000:stream/s",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/:1",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:x",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c/d:1",
        ] {
            assert_eq!(ConsumerArn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(
            StreamArn::parse("arn:aws:kinesis:us-east-1:12:stream/s"),
            None
        );
        assert_eq!(
            StreamArn::parse("arn:aws:sqs:us-east-1:000000000000:stream/s"),
            None
        );
        assert_eq!(
            StreamArn::parse("arn:aws:kinesis:us-east-1:000000000000:queue/s"),
            None
        );
        assert_eq!(StreamArn::parse("nonsense"), None);
    }
}
