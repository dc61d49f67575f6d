//! Connections to the endpoint under test, over HTTP/1.1 or HTTP/2 with prior knowledge, and
//! the pre-built requests they send.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::http1::{self, Http1Conn, Reply};
use crate::kinesis::Codec;

/// A SigV4-shaped header: Spate checks its shape, not its signature (nor does kinesalite).
pub const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
    Credential=bench/20260101/us-east-1/kinesis/aws4_request, \
    SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Protocol {
    /// HTTP/1.1, one request in flight per connection.
    #[value(name = "1")]
    Http1,
    /// HTTP/2 cleartext with prior knowledge (h2c), as the JS v3 SDK and the KCL speak it.
    #[value(name = "2")]
    Http2,
}

/// A request serialised once and sent many times.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub operation: &'static str,
    pub codec: Codec,
    pub body: Bytes,
    /// Head and body as HTTP/1.1 puts them on the wire.
    pub wire: Bytes,
}

impl Prepared {
    pub fn new(addr: SocketAddr, operation: &'static str, codec: Codec, body: Vec<u8>) -> Self {
        let target = format!("Kinesis_20131202.{operation}");
        let wire = http1::serialise_request(
            &addr.to_string(),
            &target,
            codec.content_type(),
            AUTHORIZATION,
            &body,
        );
        Prepared {
            operation,
            codec,
            body: Bytes::from(body),
            wire,
        }
    }
}

/// One connection; a clone of an HTTP/2 one shares it (another stream on the same socket).
pub enum Conn {
    Http1(Box<Http1Conn>),
    Http2 {
        sender: SendRequest<Full<Bytes>>,
        addr: SocketAddr,
    },
}

impl Conn {
    pub async fn connect(addr: SocketAddr, protocol: Protocol) -> io::Result<Conn> {
        match protocol {
            Protocol::Http1 => Ok(Conn::Http1(Box::new(Http1Conn::connect(addr).await?))),
            Protocol::Http2 => {
                let tcp = tokio::net::TcpStream::connect(addr).await?;
                tcp.set_nodelay(true)?;
                let (sender, connection) =
                    hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                        .initial_stream_window_size(4 << 20)
                        .initial_connection_window_size(16 << 20)
                        .handshake(TokioIo::new(tcp))
                        .await
                        .map_err(io::Error::other)?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok(Conn::Http2 { sender, addr })
            }
        }
    }

    /// Another handle on the same HTTP/2 connection; `None` for HTTP/1.1.
    pub fn share(&self) -> Option<Conn> {
        match self {
            Conn::Http1(_) => None,
            Conn::Http2 { sender, addr } => Some(Conn::Http2 {
                sender: sender.clone(),
                addr: *addr,
            }),
        }
    }

    pub async fn call(&mut self, request: &Prepared) -> io::Result<Reply> {
        match self {
            Conn::Http1(conn) => conn.call(&request.wire).await,
            Conn::Http2 { sender, addr } => {
                sender.ready().await.map_err(io::Error::other)?;
                let http_request = http::Request::post(format!("http://{addr}/"))
                    .header("content-type", request.codec.content_type())
                    .header(
                        "x-amz-target",
                        format!("Kinesis_20131202.{}", request.operation),
                    )
                    .header("x-amz-date", "20260101T000000Z")
                    .header("authorization", AUTHORIZATION)
                    .body(Full::new(request.body.clone()))
                    .map_err(io::Error::other)?;
                let response = sender
                    .send_request(http_request)
                    .await
                    .map_err(io::Error::other)?;
                let status = response.status().as_u16();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(io::Error::other)?
                    .to_bytes();
                Ok(Reply { status, body })
            }
        }
    }
}
