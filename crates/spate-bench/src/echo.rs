//! The HTTP ceiling ("echo"): a hyper server built the way Spate's listener is (HTTP/1.1 and
//! h2c on one port, `TCP_NODELAY`, a multi-threaded runtime) that drains each body and
//! answers a fixed PutRecord-shaped reply. Whatever Spate does beyond this is the cost of
//! being Kinesis. Also the raw-TCP "blast" sender that W3 measures loopback bandwidth with.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const JSON_REPLY: &[u8] = br#"{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ShardId":"shardId-000000000000"}"#;

fn cbor_reply() -> Bytes {
    let mut encoder = minicbor::Encoder::new(Vec::new());
    let ok = encoder
        .map(2)
        .and_then(|e| e.str("SequenceNumber"))
        .and_then(|e| e.str("49590338271490256608559692538361571095921575989136588898"))
        .and_then(|e| e.str("ShardId"))
        .and_then(|e| e.str("shardId-000000000000"))
        .is_ok();
    debug_assert!(ok, "encoding into a Vec cannot fail");
    Bytes::from(encoder.into_writer())
}

/// Serves until the process is stopped or `exit_after` passes (so a forgotten echo server
/// stops by itself). `delay` holds each reply back, for tests of the load generator.
pub async fn serve(
    listener: TcpListener,
    exit_after: Duration,
    delay: Duration,
) -> anyhow::Result<()> {
    let cbor = cbor_reply();
    let deadline = tokio::time::sleep(exit_after);
    tokio::pin!(deadline);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut deadline => return Ok(()),
        };
        tcp.set_nodelay(true)?;
        let cbor = cbor.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let cbor = cbor.clone();
                async move { Ok::<_, Infallible>(reply(request, cbor, delay).await) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

async fn reply(request: Request<Incoming>, cbor: Bytes, delay: Duration) -> Response<Full<Bytes>> {
    let is_cbor = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-amz-cbor"));
    // Drain the body frame by frame, as a server that reads it must.
    let mut body = request.into_body();
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            break;
        }
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (content, content_type) = if is_cbor {
        (cbor, "application/x-amz-cbor-1.1")
    } else {
        (Bytes::from_static(JSON_REPLY), "application/x-amz-json-1.1")
    };
    let mut response = Response::new(Full::new(content));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        "x-amzn-RequestId",
        HeaderValue::from_static("c0ffee00-0000-4000-8000-000000000000"),
    );
    response
}

/// Sends 1 MiB writes to every connection until it closes or `exit_after` passes.
pub async fn blast(listener: TcpListener, exit_after: Duration) -> anyhow::Result<()> {
    let chunk = Bytes::from(crate::kinesis::payload(1, 1 << 20));
    let deadline = tokio::time::sleep(exit_after);
    tokio::pin!(deadline);
    loop {
        let (mut tcp, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut deadline => return Ok(()),
        };
        let chunk = chunk.clone();
        tokio::spawn(async move { while tcp.write_all(&chunk).await.is_ok() {} });
    }
}

pub async fn bind(listen: SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(listen).await?;
    Ok(listener)
}
