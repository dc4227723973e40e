//! Answers that go wrong on the wire.
//!
//! - `commit-then-drop`: the write is committed, the status line and headers go out, then the
//!   body fails and hyper drops the connection. The client sees a transport error after the
//!   server did the work — the classic source of duplicate records when the client retries a
//!   non-idempotent create.
//! - `connection-reset`: the connection fails before anything is done; nothing is written.
//! - `slow-body`: the answer's body trickles out in pieces over a few seconds.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use http_body::Frame;

/// A body whose first frame is an error.
struct Dropped(&'static str);

impl http_body::Body for Dropped {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            self.0,
        ))))
    }
}

/// `response` with its body replaced by one that fails: same status and headers, no body.
pub(crate) fn drop_after_commit(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        Body::new(Dropped(
            "commit-then-drop: the write committed, the connection dropped (injected)",
        )),
    )
}

/// A response that fails before its first byte of body: with HTTP/1.1 the client reads a status
/// line and then the connection closes under it, which clients report as a reset or an
/// incomplete message. Nothing was done.
pub(crate) fn reset_connection() -> Response {
    let mut response = Response::new(Body::new(Dropped(
        "connection-reset: the connection dropped before the request was handled (injected)",
    )));
    *response.status_mut() = axum::http::StatusCode::BAD_GATEWAY;
    response
}

/// The pieces a slow body is cut into.
const TRICKLE_PIECES: usize = 8;

/// A body handed out in pieces with a real-time wait before each but the first.
struct Trickle {
    pieces: VecDeque<Bytes>,
    gap: Duration,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for Trickle {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if let Some(wait) = this.wait.as_mut() {
            ready!(wait.as_mut().poll(cx));
            this.wait = None;
        }
        match this.pieces.pop_front() {
            None => Poll::Ready(None),
            Some(piece) => {
                if !this.pieces.is_empty() {
                    this.wait = Some(Box::pin(tokio::time::sleep(this.gap)));
                }
                Poll::Ready(Some(Ok(Frame::data(piece))))
            }
        }
    }
}

/// `response` with its body delivered in pieces spread over `over` (real time).
pub(crate) async fn trickle(response: Response, over: Duration) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let size = bytes.len().div_ceil(TRICKLE_PIECES).max(1);
    let pieces: VecDeque<Bytes> = (0..bytes.len())
        .step_by(size)
        .map(|at| bytes.slice(at..(at + size).min(bytes.len())))
        .collect();
    let gap = over / TRICKLE_PIECES as u32;
    Response::from_parts(
        parts,
        Body::new(Trickle {
            pieces,
            gap,
            wait: None,
        }),
    )
}
