//! Accepting connections (HTTP/1.1 and h2c on one port; optionally TLS with ALPN `h2` and
//! `http/1.1` on another) and draining them on shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use spate_engine::Engine;
use spate_wire::{Codec, Operation};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::auth::{Authenticator, Head};
use crate::dispatch::dispatch;
use crate::observe::ServerMetrics;
use crate::put_fast::PutInput;
use crate::response::{self, Reply};
use crate::{admin, observe, request, subscribe};

/// How long shutdown waits for in-flight requests before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// HTTP/2 streams one connection may have open: KCL multiplexes every shard on one.
const MAX_CONCURRENT_STREAMS: u32 = 1_000;

/// A bound listener, ready to serve.
pub struct Server {
    listener: TcpListener,
    engine: Engine,
    /// Whether `/_spate/` serves the admin endpoint (off: it is not part of Kinesis, and
    /// anyone who can reach the port could use it).
    admin: bool,
    auth: Authenticator,
    /// The TLS listener and its configuration, when one is wanted.
    tls: Option<(TcpListener, TlsAcceptor)>,
}

/// How long a TLS client may take over its handshake before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every request handler shares.
struct Frontend {
    engine: Engine,
    admin: bool,
    auth: Authenticator,
    metrics: ServerMetrics,
}

/// A server running on a background task, for tests and embedding.
pub struct ServerHandle {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// Stops accepting, drains in-flight requests, and waits for the server to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Server {
    pub async fn bind(addr: SocketAddr, engine: Engine) -> std::io::Result<Server> {
        Ok(Server {
            listener: TcpListener::bind(addr).await?,
            engine,
            admin: false,
            auth: Authenticator::Off,
            tls: None,
        })
    }

    /// Also serves TLS on `addr`, with `config` (see the `tls` module), the same way.
    pub async fn bind_tls(
        mut self,
        addr: SocketAddr,
        config: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<Server> {
        self.tls = Some((TcpListener::bind(addr).await?, TlsAcceptor::from(config)));
        Ok(self)
    }

    /// The TLS listener's address, if there is one.
    pub fn tls_local_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.tls.as_ref().map(|(listener, _)| listener.local_addr())
    }

    /// Authenticates requests this way (default: signatures unchecked).
    pub fn with_auth(mut self, auth: Authenticator) -> Server {
        self.auth = auth;
        self
    }

    /// Serves the admin endpoint under `/_spate/` too (see the `admin` module).
    pub fn with_admin(mut self, enabled: bool) -> Server {
        self.admin = enabled;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves on a background task until the handle shuts it down.
    pub fn spawn(self) -> std::io::Result<ServerHandle> {
        let addr = self.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(self.run(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
        Ok(ServerHandle { addr, stop, task })
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish (HTTP/2 clients get a GOAWAY, HTTP/1.1 connections close after their reply).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let graceful = GracefulShutdown::new();
        let frontend = Arc::new(Frontend {
            metrics: ServerMetrics::registered_with(&self.engine),
            engine: self.engine,
            admin: self.admin,
            auth: self.auth,
        });
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let Some((tcp, _)) = accepted_or_pause(accepted).await else { continue };
                    serve_connection(TokioIo::new(tcp), frontend.clone(), &graceful);
                }
                accepted = accept_tls(self.tls.as_ref()), if self.tls.is_some() => {
                    let Some((tcp, acceptor)) = accepted_or_pause(accepted).await else {
                        continue;
                    };
                    let frontend = frontend.clone();
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        let handshake = acceptor.accept(tcp);
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, handshake).await {
                            Ok(Ok(tls)) => serve_with(TokioIo::new(tls), frontend, watcher).await,
                            Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                            Err(_) => tracing::debug!("TLS handshake timed out"),
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        // Subscriptions would hold the drain for up to five minutes: end them now.
        frontend.engine.end_all_subscriptions();
        drop(self.listener);
        drop(self.tls);
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("in-flight requests did not finish within {DRAIN_TIMEOUT:?}");
        }
        if let Err(error) = frontend.engine.shutdown() {
            tracing::error!(%error, "flushing the record log failed");
        }
    }
}

/// The accepted socket, or `None` after a short pause when accepting failed: running out of
/// descriptors is transient, and must not make the accept loop spin.
async fn accepted_or_pause<T>(accepted: std::io::Result<T>) -> Option<T> {
    match accepted {
        Ok(conn) => Some(conn),
        Err(error) => {
            tracing::warn!(%error, "accept failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

async fn accept_tls(
    tls: Option<&(TcpListener, TlsAcceptor)>,
) -> std::io::Result<(TcpStream, TlsAcceptor)> {
    match tls {
        Some((listener, acceptor)) => {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            Ok((tcp, acceptor.clone()))
        }
        None => std::future::pending().await,
    }
}

/// Serves one accepted cleartext connection on its own task.
fn serve_connection(io: TokioIo<TcpStream>, frontend: Arc<Frontend>, graceful: &GracefulShutdown) {
    let _ = io.inner().set_nodelay(true);
    tokio::spawn(serve_with(io, frontend, graceful.watcher()));
}

/// HTTP/1.1 or HTTP/2 (by the client's first bytes) on any connection.
async fn serve_with<I>(io: I, frontend: Arc<Frontend>, watcher: Watcher)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    // A request in flight is not polled for the client's EOF: the poll found none but, each
    // time, made hyper set aside a fresh read buffer (the request still holds slices of the
    // last one), ~1,100 instructions and an 8 KiB allocation per request. A client that
    // goes away is still noticed when its reply (or a stream's next event) is written.
    builder.http1().half_close(true);
    let _open = frontend.metrics.connection();
    let service = service_fn(move |request| {
        let frontend = frontend.clone();
        let request_id = response::request_id();
        // Every line logged while the request is handled carries its id.
        let span = tracing::info_span!("request", request_id = %request_id);
        async move { Ok::<_, Infallible>(handle(&frontend, request, request_id).await) }
            .instrument(span)
    });
    let connection = builder.serve_connection(io, service);
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(error = %error, "connection ended with an error");
    }
}

async fn handle(frontend: &Frontend, request: Request<Incoming>, request_id: String) -> Reply {
    let Frontend {
        engine,
        admin,
        auth,
        metrics,
    } = frontend;
    if let Some(reply) = observe::reply(engine, request.method(), request.uri().path()) {
        return reply;
    }
    if *admin && request.uri().path().starts_with(admin::PREFIX) {
        return admin::handle(engine, request, &request_id).await;
    }
    let (codec, operation) = match request::check(&request, &request_id) {
        Ok(request::Checked::Kinesis { codec, operation }) => (codec, operation),
        Ok(request::Checked::LegacyJson) => {
            let (parts, body) = request.into_parts();
            return match request::read_body(&parts.headers, body, Codec::Json, &request_id).await {
                Ok(body) => response::legacy_envelope(&request_id, body.whole()),
                Err(reply) => *reply,
            };
        }
        Err(reply) => return *reply,
    };
    let (parts, body) = request.into_parts();
    let head = Head {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
    };
    let body = match request::read_body(&head.headers, body, codec, &request_id).await {
        // Only the puts read a body in its frames; every other reader takes it whole, and
        // holding both would double a large body's memory.
        Ok(body) if matches!(operation, Operation::PutRecords | Operation::PutRecord) => body,
        Ok(body) => body.joined(),
        Err(reply) => return *reply,
    };
    // The signature covers the body, so authentication comes once it is read.
    let ctx = match auth.context(&head, &body, engine.config(), operation.name()) {
        Ok(ctx) => ctx,
        Err(error) => {
            metrics.request(operation, Some(error.kind.aws_type()));
            return response::api_error(&request_id, codec, &error);
        }
    };
    // The hot puts skip the generic decoder when their body is the usual one.
    let fast = PutInput::decode(operation, codec, &body);
    let input = match &fast {
        Some(_) => serde_json::Value::Null,
        None => match spate_wire::decode_request(operation, codec, body.whole()) {
            Ok(input) => input,
            Err(error) => {
                metrics.request(operation, Some(error.aws_type()));
                return response::wire_error(&request_id, codec, &error);
            }
        },
    };
    // Injected faults and control-plane rate limits come before the operation, so a refused
    // call has done nothing.
    let stream = match &fast {
        Some(fast) => fast.stream_named(),
        None => request::stream_named(&input),
    }
    .map(str::to_owned);
    let result = match engine
        .admit(&ctx, operation.name(), stream.as_deref())
        .await
    {
        // The one streamed reply.
        Ok(()) if operation == Operation::SubscribeToShard => {
            let reply = subscribe::reply(engine, &ctx, input, codec, &request_id).await;
            let failed = (!reply.status().is_success()).then_some("SubscribeToShardError");
            metrics.request(operation, failed);
            return reply;
        }
        Ok(()) => match fast {
            Some(fast) => fast.run(engine, &ctx, codec).await.map(Into::into),
            None => dispatch(engine, &ctx, operation, codec, input).await,
        },
        Err(error) => Err(error),
    };
    let error = result.as_ref().err().map(|error| error.kind.aws_type());
    metrics.request(operation, error);
    // The request id comes from the enclosing span.
    tracing::debug!(
        operation = operation.name(),
        error = error.unwrap_or(""),
        "request"
    );
    match result {
        Ok(body) => response::success(&request_id, codec, body),
        Err(error) => response::api_error(&request_id, codec, &error),
    }
}
