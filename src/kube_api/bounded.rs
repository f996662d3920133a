//! Every answer from an API server is bounded (issue 32, finding 11): its
//! body at [`MAX_BODY`] bytes, the whole exchange (connection, headers and
//! body) at [`DEADLINE`]. kube buffers a body whole before decoding it, and
//! its read timeout is per read: without these, a hostile or broken server
//! (or something in between) could fill memory, or keep `get` — and
//! kubectl — waiting forever by sending a byte every few seconds. A layer
//! of both clients' stacks ([`client`]), so no call can miss it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use kube::Client;
use tokio::time::{Instant, Sleep};
use tower::{BoxError, Layer, Service};

/// The largest answer taken: far above any object this tool reads (a
/// namespace's token Secrets, a JWKS, a certificate).
pub(super) const MAX_BODY: usize = 8 * 1024 * 1024;
/// The longest one request may take, answer read whole.
pub(super) const DEADLINE: Duration = Duration::from_secs(30);

/// Why an answer was given up on.
#[derive(Debug, thiserror::Error)]
pub enum Bounds {
    #[error("its answer was larger than {} MiB and was not read further", MAX_BODY / (1024 * 1024))]
    TooLarge,
    #[error("it did not answer completely within {}s", DEADLINE.as_secs())]
    TooSlow,
}

/// kube's client for `config`, with every answer bounded.
pub(super) fn client(config: kube::Config) -> Result<Client, kube::Error> {
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&BoundedLayer {
            max: MAX_BODY,
            deadline: DEADLINE,
        })
        .build())
}

#[derive(Clone, Copy)]
struct BoundedLayer {
    max: usize,
    deadline: Duration,
}

impl<S> Layer<S> for BoundedLayer {
    type Service = BoundedService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        BoundedService {
            inner,
            bounds: *self,
        }
    }
}

#[derive(Clone)]
struct BoundedService<S> {
    inner: S,
    bounds: BoundedLayer,
}

type Answer<B> = Pin<Box<dyn Future<Output = Result<Response<BoundedBody<B>>, BoxError>> + Send>>;

impl<S, Q, B> Service<Request<Q>> for BoundedService<S>
where
    S: Service<Request<Q>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<BoundedBody<B>>;
    type Error = BoxError;
    type Future = Answer<B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<Q>) -> Self::Future {
        let until = Instant::now() + self.bounds.deadline;
        let max = self.bounds.max;
        let answer = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout_at(until, answer).await {
                Err(_) => Err(Bounds::TooSlow.into()),
                Ok(Err(e)) => Err(e.into()),
                Ok(Ok(res)) => Ok(res.map(|inner| BoundedBody {
                    inner: Box::pin(inner),
                    until: Box::pin(tokio::time::sleep_until(until)),
                    left: max,
                })),
            }
        })
    }
}

/// A body read until [`DEADLINE`] from the request's start, and at most
/// `left` more bytes.
pub(super) struct BoundedBody<B> {
    inner: Pin<Box<B>>,
    until: Pin<Box<Sleep>>,
    left: usize,
}

impl<B> Body for BoundedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.until.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Bounds::TooSlow.into())));
        }
        match this.inner.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, Bytes::len);
                if len > this.left {
                    return Poll::Ready(Some(Err(Bounds::TooLarge.into())));
                }
                this.left -= len;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::future::poll_fn;

    use super::*;

    /// A body of `left` bytes in pieces of `piece`, `pause` apart: a
    /// server trickling its answer.
    struct Trickle {
        left: usize,
        piece: usize,
        pause: Duration,
        sleep: Option<Pin<Box<Sleep>>>,
    }

    impl Body for Trickle {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            if let Some(s) = self.sleep.as_mut()
                && s.as_mut().poll(cx).is_pending()
            {
                return Poll::Pending;
            }
            if self.left == 0 {
                return Poll::Ready(None);
            }
            let n = self.piece.min(self.left);
            self.left -= n;
            self.sleep = Some(Box::pin(tokio::time::sleep(self.pause)));
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; n])))))
        }
    }

    /// The bytes read through the layer, or why it gave up.
    fn read(
        len: usize,
        piece: usize,
        pause: Duration,
        bounds: BoundedLayer,
    ) -> Result<usize, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = tower::service_fn(move |_: Request<()>| async move {
                Ok::<_, Infallible>(Response::new(Trickle {
                    left: len,
                    piece,
                    pause,
                    sleep: None,
                }))
            });
            let res = bounds
                .layer(server)
                .call(Request::new(()))
                .await
                .map_err(|e| e.to_string())?;
            let mut body = std::pin::pin!(res.into_body());
            let mut n = 0;
            while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
                n += frame
                    .map_err(|e| e.to_string())?
                    .data_ref()
                    .map_or(0, Bytes::len);
            }
            Ok(n)
        })
    }

    const TEN_SECONDS: BoundedLayer = BoundedLayer {
        max: 1024,
        deadline: Duration::from_secs(10),
    };

    #[test]
    fn answers_within_bounds_are_read_whole() {
        assert_eq!(read(1024, 100, Duration::ZERO, TEN_SECONDS), Ok(1024));
    }

    #[test]
    fn a_larger_answer_is_cut_off() {
        let e = read(256 * 1024 * 1024, 64 * 1024, Duration::ZERO, TEN_SECONDS).unwrap_err();
        assert_eq!(e, Bounds::TooLarge.to_string());
    }

    #[test]
    fn a_trickle_is_cut_off_at_the_deadline() {
        // A byte every 100 ms, as a server sending one every 20 s would,
        // scaled down: each read is quick, the whole is never done.
        let bounds = BoundedLayer {
            max: 1024,
            deadline: Duration::from_millis(500),
        };
        let start = std::time::Instant::now();
        let e = read(1000, 1, Duration::from_millis(100), bounds).unwrap_err();
        assert_eq!(e, Bounds::TooSlow.to_string());
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
