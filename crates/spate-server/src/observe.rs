//! What operators poll: `GET /health` (the process serves), `GET /ready` (streams loaded and
//! the record log accepting writes) and `GET /metrics` (Prometheus), on the Kinesis port and
//! without authentication, plus the front end's own series (connections, requests).
//!
//! Only these three paths, and only with GET: any other non-POST request still gets AWS's
//! 403, as clients expect of a Kinesis endpoint.

use std::sync::{Arc, OnceLock};

use http::{HeaderValue, Method, Response, StatusCode, header};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use spate_engine::Engine;
use spate_wire::Operation;

use crate::response::{Reply, full};

/// The series the front end keeps; registered in the engine's registry.
#[derive(Clone)]
pub struct ServerMetrics {
    /// Connections open now, on either listener.
    open_connections: Gauge,
    /// Requests that named an operation, by operation and AWS error type (`""`: succeeded).
    requests: Family<RequestLabels, Counter>,
    /// Each operation's series of successes in `requests`, found once: looking a series up
    /// hashes its labels under a lock, on every request.
    succeeded: Arc<[OnceLock<Counter>]>,
}

impl Default for ServerMetrics {
    fn default() -> ServerMetrics {
        ServerMetrics {
            open_connections: Gauge::default(),
            requests: Family::default(),
            succeeded: Operation::ALL.iter().map(|_| OnceLock::new()).collect(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    error: &'static str,
}

impl ServerMetrics {
    pub fn registered_with(engine: &Engine) -> ServerMetrics {
        let metrics = ServerMetrics::default();
        let registry = engine.metrics();
        registry.register(
            "spate_open_connections",
            "Client connections open now",
            metrics.open_connections.clone(),
        );
        registry.register(
            "spate_requests",
            "Kinesis requests by operation and error type (empty: succeeded)",
            metrics.requests.clone(),
        );
        metrics
    }

    /// Counts one request; `error` is the AWS error type it was answered with, if any.
    pub fn request(&self, operation: Operation, error: Option<&'static str>) {
        let labels = |error| RequestLabels {
            operation: operation.name(),
            error,
        };
        match error {
            Some(error) => self.requests.get_or_create(&labels(error)).inc(),
            None => self.succeeded[operation.index()]
                .get_or_init(|| self.requests.get_or_create(&labels("")).clone())
                .inc(),
        };
    }

    /// Counts a connection as open until the guard drops.
    pub fn connection(&self) -> ConnectionGuard {
        self.open_connections.inc();
        ConnectionGuard(self.open_connections.clone())
    }
}

pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The reply to a probe or scrape, or `None` when `method` and `path` are not one.
pub fn reply(engine: &Engine, method: &Method, path: &str) -> Option<Reply> {
    if method != Method::GET {
        return None;
    }
    let (status, content_type, body) = match path {
        "/health" => (
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ok\n".to_owned(),
        ),
        "/ready" if engine.is_ready() => (
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ready\n".to_owned(),
        ),
        "/ready" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "not ready: the record log refuses writes\n".to_owned(),
        ),
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            engine.encode_metrics(),
        ),
        _ => return None,
    };
    let mut reply = Response::new(full(body));
    *reply.status_mut() = status;
    reply
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Some(reply)
}
