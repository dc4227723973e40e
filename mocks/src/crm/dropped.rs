//! The `commit-then-drop` fault: the write is committed, the status line and headers go out,
//! then the body fails and hyper drops the connection. The client sees a transport error after
//! the server did the work — the classic source of duplicate records when the client retries a
//! non-idempotent create.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use http_body::Frame;

/// A body whose first frame is an error.
struct Dropped;

impl http_body::Body for Dropped {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "commit-then-drop: the write committed, the connection dropped (injected)",
        ))))
    }
}

/// `response` with its body replaced by one that fails: same status and headers, no body.
pub(crate) fn drop_after_commit(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::new(Dropped))
}
