//! Spate's HTTP front end: one port serving HTTP/1.1 and HTTP/2 cleartext (prior knowledge),
//! optionally a TLS port (ALPN `h2` and `http/1.1`) serving the same, `POST /` with
//! `X-Amz-Target` dispatched to the engine, plus graceful shutdown.
//!
//! It is not where Kinesis semantics live (that is `spate-engine`) nor where bytes become
//! documents (`spate-wire`). Layout: [`listener`] accepts connections and drains them on
//! shutdown; [`request`] checks the framework-level rules (method, content type, target,
//! authorization header, body size) and reads the [`body`] in the frames it came in and answers errors the way AWS's front end does;
//! [`dispatch`] maps each operation to its engine method; [`response`] decides HTTP status
//! and headers for every reply in one place; [`admin`] serves `/_spate/` (fault rules) when
//! enabled; [`put_fast`] decodes and encodes the hot puts without serde values; [`observe`] answers `/health`, `/ready` and `/metrics`; [`subscribe`] streams SubscribeToShard's event stream; [`records_reply`] writes
//! the record-heavy replies of both directly, GetRecords' as [`pieces`] that share record data; [`tls`] loads or makes
//! the TLS certificate.

mod admin;
pub mod auth;
mod body;
mod dispatch;
mod listener;
mod observe;
mod pieces;
mod put_fast;
mod records_reply;
mod request;
mod response;
mod subscribe;
pub mod tls;

pub use admin::check_fault_rules;
pub use auth::Authenticator;
pub use listener::{Server, ServerHandle};
