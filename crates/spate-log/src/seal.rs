//! Sealed appends: the appending caller encrypts its records right after queuing them (the
//! counters and arrival times the associated data binds are assigned under the queue lock),
//! so the writer thread only copies ciphertext and AEAD work spreads over every core that
//! appends. The writer waits for a job's seal only if it reaches the job first, which lasts
//! at most as long as sealing that one append.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use bytes::Bytes;

use crate::journal::frame;
use crate::state::PendingRecord;
use crate::sync::lock;
use crate::types::{KEY_ID_LEN, NONCE_LEN, SEAL_TAG_LEN, Sealer, ShardKey};

/// One sealed record body, ready to frame.
pub(crate) struct SealedBody {
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

/// What an appender seals after queuing: one entry per record of the job, in order.
pub(crate) struct Plain {
    pub shard: ShardKey,
    pub counter: u64,
    pub arrival_ms: i64,
    pub partition_key: String,
    pub data: Bytes,
}

type Outcome = Option<Result<Vec<SealedBody>, String>>;

/// The seal of one queued append: empty until the appender fills it.
pub(crate) struct SealSlot {
    key_id: [u8; KEY_ID_LEN],
    outcome: Mutex<Outcome>,
    ready: Condvar,
}

impl SealSlot {
    pub(crate) fn new(key_id: [u8; KEY_ID_LEN]) -> Arc<SealSlot> {
        Arc::new(SealSlot {
            key_id,
            outcome: Mutex::new(None),
            ready: Condvar::new(),
        })
    }

    fn wait(&self) -> MutexGuard<'_, Outcome> {
        let mut outcome = lock(&self.outcome);
        while outcome.is_none() {
            outcome = self.ready.wait(outcome).unwrap_or_else(|e| e.into_inner());
        }
        outcome
    }

    /// Why sealing failed, if it did (the writer then wrote none of the job's records).
    pub(crate) fn failure(&self) -> Option<String> {
        match &*self.wait() {
            Some(Err(why)) => Some(why.clone()),
            _ => None,
        }
    }

    /// Frames the job's sealed records into `buf`, noting where each went.
    pub(crate) fn encode<'r>(
        &self,
        records: &'r [PendingRecord],
        buf: &mut Vec<u8>,
        placed: &mut Vec<(&'r PendingRecord, usize)>,
    ) {
        let outcome = self.wait();
        let Some(Ok(bodies)) = outcome.as_ref() else {
            return;
        };
        for (r, body) in records.iter().zip(bodies) {
            placed.push((r, buf.len()));
            let aad = frame::sealed_aad(r.shard, r.counter, r.arrival_ms, &self.key_id);
            frame::encode_sealed(buf, &aad, &body.nonce, &body.ciphertext);
        }
    }
}

/// Fills a slot even if sealing unwinds, so the writer never waits forever.
struct Filler<'a>(&'a SealSlot);

impl Drop for Filler<'_> {
    fn drop(&mut self) {
        let mut outcome = lock(&self.0.outcome);
        if outcome.is_none() {
            *outcome = Some(Err("sealing was interrupted".into()));
        }
        drop(outcome);
        self.0.ready.notify_all();
    }
}

/// Seals `plain` (queued as one job) into `slot`.
pub(crate) fn seal_into(slot: &SealSlot, sealer: &dyn Sealer, plain: Vec<Plain>) {
    let filler = Filler(slot);
    let mut bodies = Vec::with_capacity(plain.len());
    let mut failed = None;
    for p in plain {
        let aad = frame::sealed_aad(p.shard, p.counter, p.arrival_ms, &slot.key_id);
        let mut ciphertext = frame::sealed_plaintext(&p.partition_key, &p.data);
        let sealed_len = ciphertext.len() + SEAL_TAG_LEN;
        match sealer.seal(&aad, &mut ciphertext) {
            Ok(nonce) if ciphertext.len() == sealed_len => {
                bodies.push(SealedBody { nonce, ciphertext })
            }
            Ok(_) => {
                failed = Some(format!(
                    "the sealer made {} bytes of {sealed_len}",
                    ciphertext.len()
                ));
                break;
            }
            Err(why) => {
                failed = Some(why);
                break;
            }
        }
    }
    *lock(&slot.outcome) = Some(failed.map_or(Ok(bodies), Err));
    drop(filler);
}
