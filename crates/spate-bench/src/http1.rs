//! A deliberately small HTTP/1.1 client: it writes a request that was serialised once, head
//! and body together, and parses just enough of the reply (status, Content-Length or chunked
//! framing) to hand back the body. A general client spends more CPU per request than the
//! servers under test do on small requests; on a 2-core machine that would make the load
//! generator, not the server, the bottleneck.

use std::io;
use std::net::SocketAddr;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reply heads longer than this are refused: a real reply head is a few hundred bytes.
const MAX_HEAD: usize = 64 << 10;

/// The most a body framed by length is read by at once in [`Http1Conn::receive_with`], so
/// that what the caller is shown of it is still in the core's 1 MiB L2 cache.
pub const PIECE: usize = 256 << 10;

/// A status and a complete body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// How the body of a reply is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    /// No length and not chunked: the body runs until the server closes.
    UntilClose,
}

/// What the head of a reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    status: u16,
    /// Bytes of the head, including the blank line.
    len: usize,
    framing: Framing,
    close: bool,
}

/// One keep-alive connection with at most one request in flight.
pub struct Http1Conn {
    stream: TcpStream,
    /// Bytes read past the last reply (none in practice: no pipelining).
    buf: BytesMut,
    /// The server said `Connection: close`, or closed: the next call must reconnect.
    closed: bool,
    addr: SocketAddr,
    /// The head of the reply being read, once read (see [`Http1Conn::receive_start`]).
    head: Option<Head>,
}

impl Http1Conn {
    pub async fn connect(addr: SocketAddr) -> io::Result<Http1Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Http1Conn {
            stream,
            buf: BytesMut::with_capacity(64 << 10),
            closed: false,
            addr,
            head: None,
        })
    }

    /// Sends a fully serialised request (see [`serialise_request`]) and reads the reply.
    pub async fn call(&mut self, wire: &[u8]) -> io::Result<Reply> {
        self.send(wire).await?;
        self.receive().await
    }

    /// Sends a request without reading its reply; [`Http1Conn::receive`] reads it.
    pub async fn send(&mut self, wire: &[u8]) -> io::Result<()> {
        if self.closed {
            *self = Http1Conn::connect(self.addr).await?;
        }
        self.stream.write_all(wire).await
    }

    /// The status and the first `min` bytes of the body of the reply being read (fewer if
    /// the body is shorter, or not framed by length), read as soon as they arrive: what
    /// the caller may act on before the rest. [`Http1Conn::receive`] then reads it whole.
    pub async fn receive_start(&mut self, min: usize) -> io::Result<(u16, &[u8])> {
        let head = self.read_head().await?;
        let (status, framing) = (head.status, head.framing);
        let Framing::Length(len) = framing else {
            return Ok((status, &[]));
        };
        let want = min.min(len);
        while self.buf.len() < want {
            self.buf.reserve(len - self.buf.len());
            self.fill().await?;
        }
        Ok((status, &self.buf[..want]))
    }

    /// Reads the reply to the request sent.
    pub async fn receive(&mut self) -> io::Result<Reply> {
        self.receive_with(|_| Ok(())).await
    }

    /// Reads the reply to the request sent, showing `seen` the body's bytes so far (from its
    /// first byte) as they come, in pieces of at most [`PIECE`], and the whole body last:
    /// the caller can read a large body while its bytes are still in cache.
    pub async fn receive_with(
        &mut self,
        mut seen: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<Reply> {
        let head = self.read_head().await?;
        let (status, framing) = (head.status, head.framing);
        self.head = None;
        let body = match framing {
            Framing::Length(len) => {
                while self.buf.len() < len {
                    self.buf.reserve(len - self.buf.len());
                    let mut piece = (&mut self.buf).limit(PIECE);
                    if self.stream.read_buf(&mut piece).await? == 0 {
                        return Err(self.closed_mid_reply());
                    }
                    if self.buf.len() < len {
                        seen(&self.buf)?;
                    }
                }
                let body = self.buf.split_to(len).freeze();
                seen(&body)?;
                body
            }
            Framing::Chunked => {
                let mut decoder = ChunkedDecoder::default();
                loop {
                    if decoder.feed(&mut self.buf)? {
                        break decoder.body.freeze();
                    }
                    self.fill().await?;
                }
            }
            Framing::UntilClose => {
                self.closed = true;
                loop {
                    self.buf.reserve(64 << 10);
                    if self.stream.read_buf(&mut self.buf).await? == 0 {
                        break self.buf.split().freeze();
                    }
                }
            }
        };
        if framing != Framing::Length(body.len()) {
            seen(&body)?;
        }
        Ok(Reply { status, body })
    }

    /// The head of the reply being read, reading it first if need be.
    async fn read_head(&mut self) -> io::Result<Head> {
        if let Some(head) = self.head {
            return Ok(head);
        }
        let head = loop {
            if let Some(head) = parse_head(&self.buf)? {
                break head;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("reply head too long"));
            }
            self.fill().await?;
        };
        self.buf.advance(head.len);
        if head.close {
            self.closed = true;
        }
        self.head = Some(head);
        Ok(head)
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.buf.capacity() - self.buf.len() < 16 << 10 {
            self.buf.reserve(64 << 10);
        }
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err(self.closed_mid_reply());
        }
        Ok(())
    }

    fn closed_mid_reply(&mut self) -> io::Error {
        self.closed = true;
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed the connection mid-reply",
        )
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// The Kinesis-shaped POST, head and body in one buffer, built once and sent many times.
pub fn serialise_request(
    host: &str,
    target: &str,
    content_type: &str,
    authorization: &str,
    body: &[u8],
) -> Bytes {
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
         X-Amz-Target: {target}\r\nX-Amz-Date: 20260101T000000Z\r\n\
         Authorization: {authorization}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut wire = Vec::with_capacity(head.len() + body.len());
    wire.extend_from_slice(head.as_bytes());
    wire.extend_from_slice(body);
    Bytes::from(wire)
}

/// Parses a reply head once all of it is in `buf`; `None` while it is incomplete.
fn parse_head(buf: &[u8]) -> io::Result<Option<Head>> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| invalid("reply head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(invalid("not an HTTP/1.x reply"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| invalid("bad status line"))?;
    let mut framing = Framing::UntilClose;
    let mut close = version == "HTTP/1.0";
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid("bad header line"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") && framing != Framing::Chunked {
            let len = value
                .parse::<usize>()
                .map_err(|_| invalid("bad Content-Length"))?;
            framing = Framing::Length(len);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            framing = Framing::Chunked;
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    // 1xx, 204 and 304 carry no body, whatever the headers say.
    if status < 200 || status == 204 || status == 304 {
        framing = Framing::Length(0);
    }
    Ok(Some(Head {
        status,
        len: end + 4,
        framing,
        close,
    }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body incrementally, consuming only complete pieces of the buffer.
#[derive(Default)]
struct ChunkedDecoder {
    body: BytesMut,
    /// Bytes of the current chunk still to copy, plus its trailing CRLF.
    remaining: usize,
    in_chunk: bool,
}

impl ChunkedDecoder {
    /// Consumes what it can; `true` once the terminating chunk and trailers are read.
    fn feed(&mut self, buf: &mut BytesMut) -> io::Result<bool> {
        loop {
            if self.in_chunk {
                if buf.len() < self.remaining + 2 {
                    // Copy what is here so the buffer does not grow to the chunk's size twice.
                    let take = buf.len().min(self.remaining);
                    self.body.extend_from_slice(&buf[..take]);
                    buf.advance(take);
                    self.remaining -= take;
                    return Ok(false);
                }
                self.body.extend_from_slice(&buf[..self.remaining]);
                if &buf[self.remaining..self.remaining + 2] != b"\r\n" {
                    return Err(invalid("chunk not followed by CRLF"));
                }
                buf.advance(self.remaining + 2);
                self.in_chunk = false;
                self.remaining = 0;
            }
            let Some(line_end) = find(buf, b"\r\n") else {
                return Ok(false);
            };
            let line = std::str::from_utf8(&buf[..line_end])
                .map_err(|_| invalid("bad chunk size line"))?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size =
                usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
            if size == 0 {
                // Trailers, if any, end with an empty line.
                let Some(end) = find(&buf[line_end..], b"\r\n\r\n") else {
                    return Ok(false);
                };
                buf.advance(line_end + end + 4);
                return Ok(true);
            }
            buf.advance(line_end + 2);
            self.in_chunk = true;
            self.remaining = size;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_and_close() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\nConnection: close\r\n\r\nhello";
        let parsed = parse_head(head).unwrap().unwrap();
        assert_eq!(parsed.status, 200);
        assert_eq!(parsed.framing, Framing::Length(12));
        assert!(parsed.close);
        assert_eq!(&head[parsed.len..], b"hello");
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n").unwrap().is_none());
    }

    #[test]
    fn no_body_statuses_and_chunked() {
        let parsed = parse_head(b"HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(parsed.framing, Framing::Length(0));
        let parsed = parse_head(b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((parsed.status, parsed.framing), (400, Framing::Chunked));
        assert!(parse_head(b"SPDY 200\r\n\r\n").is_err());
    }

    #[test]
    fn chunked_body_decodes_across_arbitrary_splits() {
        let wire = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: a\r\n\r\nNEXT";
        for split in 0..wire.len() {
            let mut decoder = ChunkedDecoder::default();
            let mut buf = BytesMut::from(&wire[..split]);
            let mut done = decoder.feed(&mut buf).unwrap();
            buf.extend_from_slice(&wire[split..]);
            if !done {
                done = decoder.feed(&mut buf).unwrap();
            }
            assert!(done, "split at {split}");
            assert_eq!(&decoder.body[..], b"hello, world");
            assert_eq!(&buf[..], b"NEXT");
        }
    }

    #[test]
    fn serialised_request_has_exact_length() {
        let wire = serialise_request("h:1", "Kinesis_20131202.PutRecord", "ct", "auth", b"{}");
        let text = std::str::from_utf8(&wire).unwrap();
        assert!(text.starts_with("POST / HTTP/1.1\r\nHost: h:1\r\n"));
        assert!(text.contains("Content-Length: 2\r\n\r\n{}"));
    }

    /// A large body is shown as it comes, in growing prefixes at most a piece apart, then
    /// whole.
    #[tokio::test]
    async fn a_large_body_is_shown_in_pieces() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let body: Vec<u8> = (0..3 * PIECE + 5).map(|i| (i % 251) as u8).collect();
        let sent = body.clone();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await.unwrap();
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", sent.len());
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(&sent).await.unwrap();
        });
        let mut conn = Http1Conn::connect(addr).await.unwrap();
        conn.send(b"POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        let mut shown = Vec::new();
        let reply = conn
            .receive_with(|so_far| {
                assert_eq!(so_far, &body[..so_far.len()]);
                shown.push(so_far.len());
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(&reply.body[..], &body[..]);
        assert_eq!(shown.last(), Some(&body.len()));
        assert!(shown.len() >= 3, "{shown:?}");
        // The first prefix may also hold what came in with the head.
        for pair in shown.windows(2) {
            let (before, len) = (pair[0], pair[1]);
            assert!(
                len >= before && len - before <= PIECE,
                "{len} after {before}"
            );
        }
        server.await.unwrap();
    }

    /// The start of a body is handed over before the rest is sent, and the whole body after.
    #[tokio::test]
    async fn the_start_of_a_body_arrives_before_the_rest() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (rest_tx, rest_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await.unwrap();
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhead")
                .await
                .unwrap();
            // The rest only once the client has seen the start.
            rest_rx.await.unwrap();
            socket.write_all(b"-tail!").await.unwrap();
        });
        let mut conn = Http1Conn::connect(addr).await.unwrap();
        conn.send(b"POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        let (status, start) = conn.receive_start(4).await.unwrap();
        assert_eq!((status, start), (200, &b"head"[..]));
        rest_tx.send(()).unwrap();
        let reply = conn.receive().await.unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(&reply.body[..], b"head-tail!");
        server.await.unwrap();
    }
}
