//! The syncer: a thread that runs the journal's `sync_data` for the writer in `Fsync` mode,
//! so the writer can copy the next group into the page cache while the device flushes the
//! last one. One sync at a time; its outcome goes back through the queue (`Queue::synced`),
//! which is what the writer waits on, for jobs and syncs alike.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::disk::DiskFile;
use crate::state::Shared;
use crate::sync::{lock, wait};

#[derive(Default)]
struct Request {
    file: Option<Arc<dyn DiskFile>>,
    stop: bool,
}

#[derive(Default)]
struct Mailbox {
    request: Mutex<Request>,
    wake: Condvar,
}

pub(crate) struct Syncer {
    mailbox: Arc<Mailbox>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    pub(crate) fn start(shared: Arc<Shared>) -> io::Result<Syncer> {
        let mailbox = Arc::new(Mailbox::default());
        let thread = {
            let mailbox = mailbox.clone();
            std::thread::Builder::new()
                .name("spate-log-syncer".into())
                .spawn(move || serve(&shared, &mailbox))?
        };
        Ok(Syncer {
            mailbox,
            thread: Some(thread),
        })
    }

    /// Starts syncing `file`. The caller starts one sync at a time, and waits for its
    /// outcome in `Queue::synced` before the next.
    pub(crate) fn request(&self, file: Arc<dyn DiskFile>) {
        lock(&self.mailbox.request).file = Some(file);
        self.mailbox.wake.notify_one();
    }
}

impl Drop for Syncer {
    /// Finishes a sync already asked for, then ends the thread.
    fn drop(&mut self) {
        lock(&self.mailbox.request).stop = true;
        self.mailbox.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(shared: &Shared, mailbox: &Mailbox) {
    loop {
        let file = {
            let mut request = lock(&mailbox.request);
            loop {
                if let Some(file) = request.file.take() {
                    break file;
                }
                if request.stop {
                    return;
                }
                request = wait(&mailbox.wake, request);
            }
        };
        let started = Instant::now();
        // The writer waits for this outcome: a panic must become one, not a hang.
        let synced = panic::catch_unwind(AssertUnwindSafe(|| file.sync_data()))
            .unwrap_or_else(|_| Err(io::Error::other("the journal sync panicked")));
        let outcome: io::Result<Duration> = synced.map(|()| started.elapsed());
        drop(file);
        lock(&shared.queue).synced = Some(outcome);
        shared.wake_writer.notify_one();
    }
}
