//! Helpers for enhanced fan-out tests: a stream with a consumer, subscriptions that retry
//! while an older one still holds the shard, and reading events with deadlines.

use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::event_stream::EventReceiver;
use aws_sdk_kinesis::types::error::SubscribeToShardEventStreamError;
use aws_sdk_kinesis::types::{
    Record, ShardIteratorType, StartingPosition, SubscribeToShardEvent, SubscribeToShardEventStream,
};

pub type Events = EventReceiver<SubscribeToShardEventStream, SubscribeToShardEventStreamError>;

pub const SHARD0: &str = "shardId-000000000000";

/// Creates an ACTIVE stream with `shards` shards and an ACTIVE consumer; returns the
/// consumer's ARN.
pub async fn stream_with_consumer(client: &Client, stream: &str, shards: i32) -> String {
    super::create_active(client, stream, shards).await;
    let arn = client
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .expect("summary")
        .stream_description_summary()
        .expect("summary")
        .stream_arn()
        .to_owned();
    client
        .register_stream_consumer()
        .stream_arn(arn)
        .consumer_name("efo")
        .send()
        .await
        .expect("register")
        .consumer()
        .expect("consumer")
        .consumer_arn()
        .to_owned()
}

pub fn position(kind: ShardIteratorType, sequence: Option<&str>) -> StartingPosition {
    StartingPosition::builder()
        .r#type(kind)
        .set_sequence_number(sequence.map(str::to_owned))
        .build()
        .expect("position")
}

/// Subscribes, retrying while an earlier subscription (one the client just dropped, which
/// the server may not have noticed yet) still holds the shard.
pub async fn subscribe(
    client: &Client,
    consumer: &str,
    shard: &str,
    start: StartingPosition,
) -> Events {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let result = client
            .subscribe_to_shard()
            .consumer_arn(consumer)
            .shard_id(shard)
            .starting_position(start.clone())
            .send()
            .await;
        match result {
            Ok(output) => return output.event_stream,
            Err(error)
                if error.code() == Some("ResourceInUseException") && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("subscribe failed: {error:?}"),
        }
    }
}

/// What the next message of a subscription was.
#[derive(Debug)]
pub enum Got {
    Event(SubscribeToShardEvent),
    /// The stream ended normally.
    End,
    /// An exception event, by its error code.
    Error(String),
}

pub async fn next(events: &mut Events, within: Duration) -> Got {
    let Ok(received) = tokio::time::timeout(within, events.recv()).await else {
        panic!("no event within {within:?}");
    };
    match received {
        Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(event))) => Got::Event(event),
        Ok(Some(other)) => panic!("unexpected event {other:?}"),
        Ok(None) => Got::End,
        Err(error) => Got::Error(
            error
                .as_service_error()
                .and_then(|e| e.code())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{error:?}")),
        ),
    }
}

/// Reads events until `count` records have arrived; returns them and the continuation of
/// the event that completed them.
pub async fn records(events: &mut Events, count: usize) -> (Vec<Record>, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut records = Vec::new();
    while records.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match next(events, left).await {
            Got::Event(event) => {
                let continuation = event.continuation_sequence_number().to_owned();
                assert!(!continuation.is_empty() && continuation != "0");
                records.extend(event.records().iter().cloned());
                if records.len() >= count {
                    return (records, continuation);
                }
            }
            other => panic!("subscription ended before {count} records: {other:?}"),
        }
    }
    unreachable!("the loop returns once enough records arrived")
}

pub async fn put(client: &Client, stream: &str, data: &str) -> String {
    client
        .put_record()
        .stream_name(stream)
        .partition_key("pk")
        .data(aws_sdk_kinesis::primitives::Blob::new(data.as_bytes()))
        .send()
        .await
        .expect("put")
        .sequence_number()
        .to_owned()
}

pub fn data(record: &Record) -> String {
    String::from_utf8(record.data().as_ref().to_vec()).expect("utf-8")
}

/// An SDK client of the TLS listener that trusts the server's self-signed certificate. The
/// SDK offers ALPN `h2` and `http/1.1`, so against Spate it speaks HTTP/2.
pub fn client_over_tls(addr: std::net::SocketAddr, cert: &std::path::Path) -> Client {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
    let pem = std::fs::read(cert).expect("certificate");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(TrustStore::empty().with_pem_certificate(pem))
                .build()
                .expect("TLS context"),
        )
        .build_https();
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
        .region(aws_sdk_kinesis::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kinesis::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .endpoint_url(format!("https://{addr}"))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// The protocol the TLS listener picks for a client offering `h2` and `http/1.1`, checked
/// against the certificate the server printed.
pub async fn alpn(addr: std::net::SocketAddr, cert: &std::path::Path) -> Option<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    use std::sync::Arc;
    let mut roots = rustls::RootCertStore::empty();
    for der in rustls_pki_types::CertificateDer::pem_file_iter(cert).expect("pem") {
        roots.add(der.expect("certificate")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let tls = connector.connect(name, tcp).await.expect("handshake");
    tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
}
