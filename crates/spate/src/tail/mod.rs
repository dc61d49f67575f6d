//! `spate tail STREAM`: prints a stream's records as they arrive, one line each
//! (`shard <TAB> sequence number <TAB> partition key <TAB> data`), from every shard.
//!
//! It is an ordinary enhanced fan-out consumer built on the official SDK, so it works
//! against AWS as well as Spate, and using it proves the server's fan-out to a real client.
//! It registers a consumer (or reuses one of the same name), subscribes to each shard,
//! resubscribes from the continuation sequence number before a subscription's five minutes
//! run out, follows resharding (a child shard is read once all its parents have ended),
//! and deregisters the consumer it registered on Ctrl-C (or after `--max-records`).

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::types::{
    ChildShard, ConsumerStatus, Record, ShardIteratorType, StartingPosition,
};
use base64::Engine as _;
use clap::Args;
use tokio::sync::mpsc;
use tokio::time::Instant;

mod reader;

use reader::spawn_reader;

#[derive(Args, Debug)]
pub struct TailArgs {
    /// The stream to follow.
    pub stream: String,
    /// The Kinesis endpoint.
    #[arg(long, default_value = "http://127.0.0.1:4567")]
    pub endpoint: String,
    /// Region to sign for (else AWS_REGION, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Name of the consumer to register, or to reuse if it exists.
    #[arg(long, default_value = "spate-tail")]
    pub consumer: String,
    /// Where to start in the shards open now: LATEST (only new records) or TRIM_HORIZON.
    #[arg(long, default_value = "LATEST", value_parser = ["LATEST", "TRIM_HORIZON"])]
    pub from: String,
    /// PEM certificate to trust for an https endpoint (e.g. `spate serve --tls-self-signed`).
    #[arg(long)]
    pub ca: Option<std::path::PathBuf>,
    /// Exit (deregistering the consumer) after printing this many records.
    #[arg(long)]
    pub max_records: Option<u64>,
    /// Test only: resubscribe after this long (AWS ends subscriptions after 300000).
    #[arg(long, hide = true, default_value_t = 290_000)]
    pub resubscribe_after_ms: u64,
}

/// What a shard's reader tells the coordinator.
pub(crate) enum Report {
    Records(String, Vec<Record>),
    /// The shard is closed and read to its end; these are its children.
    Ended(String, Vec<ChildShard>),
}

pub async fn run(args: TailArgs) -> anyhow::Result<()> {
    let client = client(&args)?;
    let summary = client
        .describe_stream_summary()
        .stream_name(&args.stream)
        .send()
        .await
        .with_context(|| format!("describing stream {}", args.stream))?;
    let stream_arn = summary
        .stream_description_summary()
        .map(|s| s.stream_arn().to_owned())
        .context("no stream description")?;
    let (consumer_arn, registered) = consumer(&client, &stream_arn, &args.consumer).await?;
    eprintln!("tailing {} as consumer {consumer_arn}", args.stream);
    let result = tokio::select! {
        result = follow(&client, &args, &stream_arn, &consumer_arn) => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    if registered {
        client
            .deregister_stream_consumer()
            .consumer_arn(&consumer_arn)
            .send()
            .await
            .context("deregistering the consumer")?;
        eprintln!("deregistered {consumer_arn}");
    }
    result
}

fn client(args: &TailArgs) -> anyhow::Result<Client> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let credentials = Credentials::new(
        env("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
        env("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
        env("AWS_SESSION_TOKEN"),
        None,
        "environment",
    );
    let region = args
        .region
        .clone()
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    let mut config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(credentials)
        .endpoint_url(&args.endpoint);
    if let Some(ca) = &args.ca {
        use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        let trust = TrustStore::empty().with_pem_certificate(pem);
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(TlsContext::builder().with_trust_store(trust).build()?)
            .build_https();
        config = config.http_client(http);
    }
    Ok(Client::from_conf(config.build()))
}

/// The consumer's ARN once ACTIVE, and whether this call registered it.
async fn consumer(client: &Client, stream_arn: &str, name: &str) -> anyhow::Result<(String, bool)> {
    let registered = client
        .register_stream_consumer()
        .stream_arn(stream_arn)
        .consumer_name(name)
        .send()
        .await;
    let (arn, ours) = match registered {
        Ok(out) => (out.consumer().map(|c| c.consumer_arn().to_owned()), true),
        Err(error) if error.code() == Some("ResourceInUseException") => (None, false),
        Err(error) => return Err(error).context("registering the consumer"),
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let described = client
            .describe_stream_consumer()
            .stream_arn(stream_arn)
            .consumer_name(name)
            .send()
            .await
            .context("describing the consumer")?;
        if let Some(d) = described.consumer_description()
            && d.consumer_status() == &ConsumerStatus::Active
        {
            return Ok((arn.unwrap_or_else(|| d.consumer_arn().to_owned()), ours));
        }
        if Instant::now() > deadline {
            bail!("consumer {name} did not become ACTIVE within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Reads every shard, starting children as their parents end, and prints what arrives.
async fn follow(
    client: &Client,
    args: &TailArgs,
    stream_arn: &str,
    consumer_arn: &str,
) -> anyhow::Result<()> {
    let shards = list_shards(client, stream_arn).await?;
    let listed: HashSet<&str> = shards.iter().map(|s| s.shard_id()).collect();
    let (reports, mut inbox) = mpsc::channel(16);
    let mut started = HashSet::new();
    let start_at = if args.from == "TRIM_HORIZON" {
        ShardIteratorType::TrimHorizon
    } else {
        ShardIteratorType::Latest
    };
    for shard in &shards {
        let open = shard
            .sequence_number_range()
            .is_some_and(|r| r.ending_sequence_number().is_none());
        // From the start of the retained data: every shard whose parents are gone. From
        // now: the open shards.
        let parents_gone = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
            .into_iter()
            .flatten()
            .all(|p| !listed.contains(p));
        let wanted = match start_at {
            ShardIteratorType::TrimHorizon => parents_gone,
            _ => open,
        };
        if wanted {
            started.insert(shard.shard_id().to_owned());
            let position = StartingPosition::builder()
                .r#type(start_at.clone())
                .build()?;
            spawn_reader(
                client,
                args,
                consumer_arn,
                shard.shard_id(),
                position,
                &reports,
            );
        }
    }
    let mut ended: HashSet<String> = HashSet::new();
    let mut printed = 0u64;
    let mut stdout = std::io::stdout();
    while let Some(report) = inbox.recv().await {
        match report {
            Report::Records(shard, records) => {
                for record in records {
                    writeln!(stdout, "{}", line(&shard, &record))?;
                    printed += 1;
                    if args.max_records.is_some_and(|max| printed >= max) {
                        stdout.flush()?;
                        return Ok(());
                    }
                }
                stdout.flush()?;
            }
            Report::Ended(shard, children) => {
                ended.insert(shard);
                for child in children {
                    let ready = child.parent_shards().iter().all(|p| ended.contains(p));
                    if ready && started.insert(child.shard_id().to_owned()) {
                        let position = StartingPosition::builder()
                            .r#type(ShardIteratorType::TrimHorizon)
                            .build()?;
                        spawn_reader(
                            client,
                            args,
                            consumer_arn,
                            child.shard_id(),
                            position,
                            &reports,
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

async fn list_shards(
    client: &Client,
    stream_arn: &str,
) -> anyhow::Result<Vec<aws_sdk_kinesis::types::Shard>> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    // A stream has at most a few thousand shards listed; 1,000 pages is far beyond that.
    for _ in 0..1_000 {
        let request = match &token {
            Some(token) => client.list_shards().next_token(token),
            None => client.list_shards().stream_arn(stream_arn),
        };
        let page = request.send().await.context("listing shards")?;
        shards.extend(page.shards().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(shards);
        }
    }
    bail!("ListShards did not finish within 1,000 pages")
}

/// One line per record; data that is not printable UTF-8 goes out as `base64:...`.
fn line(shard: &str, record: &Record) -> String {
    let data = record.data().as_ref();
    let text = match std::str::from_utf8(data) {
        Ok(text) if !text.chars().any(char::is_control) => text.to_owned(),
        _ => format!(
            "base64:{}",
            base64::engine::general_purpose::STANDARD.encode(data)
        ),
    };
    format!(
        "{shard}\t{}\t{}\t{text}",
        record.sequence_number(),
        record.partition_key().unwrap_or_default()
    )
}
