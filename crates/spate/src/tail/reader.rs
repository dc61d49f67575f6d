//! One shard's reader for `spate tail`: subscription after subscription from the last
//! continuation, until the shard ends with its children, reporting records as they come.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::{ShardIteratorType, StartingPosition, SubscribeToShardEventStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Report, TailArgs};

pub(super) fn spawn_reader(
    client: &Client,
    args: &TailArgs,
    consumer_arn: &str,
    shard: &str,
    position: StartingPosition,
    reports: &mpsc::Sender<Report>,
) {
    let reader = Reader {
        client: client.clone(),
        consumer_arn: consumer_arn.to_owned(),
        shard: shard.to_owned(),
        resubscribe_after: Duration::from_millis(args.resubscribe_after_ms),
        reports: reports.clone(),
    };
    tokio::spawn(async move {
        if let Err(error) = reader.run(position).await {
            eprintln!("shard {}: {error:#}", reader.shard);
        }
    });
}

/// Reads one shard, subscription after subscription, until it ends.
struct Reader {
    client: Client,
    consumer_arn: String,
    shard: String,
    resubscribe_after: Duration,
    reports: mpsc::Sender<Report>,
}

/// Errors in a row after which a reader gives up on its shard.
const MAX_FAILURES: u32 = 20;

impl Reader {
    async fn run(&self, mut position: StartingPosition) -> anyhow::Result<()> {
        let mut failures = 0;
        let mut continuation: Option<String> = None;
        loop {
            match self.subscribe_once(&position, &mut continuation).await {
                Ok(true) => return Ok(()),
                Ok(false) => failures = 0,
                Err(error) => {
                    failures += 1;
                    if failures >= MAX_FAILURES {
                        return Err(error);
                    }
                    // Another subscription that is too young to take over, or a server
                    // restarting: wait, then try again from where we were.
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(failures.min(6))))
                        .await;
                }
            }
            if let Some(after) = &continuation {
                position = StartingPosition::builder()
                    .r#type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(after)
                    .build()?;
            }
        }
    }

    /// One subscription. `Ok(true)` once the shard has ended, `Ok(false)` when it is time
    /// to resubscribe; the continuation to resume after is kept up to date as events come.
    async fn subscribe_once(
        &self,
        position: &StartingPosition,
        continuation: &mut Option<String>,
    ) -> anyhow::Result<bool> {
        let mut output = self
            .client
            .subscribe_to_shard()
            .consumer_arn(&self.consumer_arn)
            .shard_id(&self.shard)
            .starting_position(position.clone())
            .send()
            .await
            .context("subscribing")?;
        let resubscribe_at = Instant::now() + self.resubscribe_after;
        loop {
            let event = tokio::select! {
                event = output.event_stream.recv() => event.context("reading the event stream")?,
                () = tokio::time::sleep_until(resubscribe_at) => return Ok(false),
            };
            let event = match event {
                Some(SubscribeToShardEventStream::SubscribeToShardEvent(event)) => event,
                // An event type this client does not know.
                Some(_) => continue,
                // The subscription ended normally: its lifetime is over.
                None => return Ok(false),
            };
            if !event.continuation_sequence_number().is_empty() {
                *continuation = Some(event.continuation_sequence_number().to_owned());
            }
            if !event.records().is_empty() {
                let report = Report::Records(self.shard.clone(), event.records().to_vec());
                if self.reports.send(report).await.is_err() {
                    return Ok(true);
                }
            }
            if !event.child_shards().is_empty() {
                let report = Report::Ended(self.shard.clone(), event.child_shards().to_vec());
                let _ = self.reports.send(report).await;
                return Ok(true);
            }
        }
    }
}
