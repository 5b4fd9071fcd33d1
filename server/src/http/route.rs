//! The route template a request matched, handed on to its response: the access log records it in the
//! request's span and the guard counts the request under it (`crate::metrics`).
//!
//! A plain service rather than `middleware::from_fn`, which boxes each request's future and clones the
//! route's service for it: this runs on every request while metrics are on, and `make bench` measured the
//! difference (docs/benchmarks.md).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::response::Response;

#[derive(Clone, Copy)]
pub struct RouteLayer {
    /// Whether the access log is written (then the template goes into the request's span).
    pub logged: bool,
}

impl<S> tower_layer::Layer<S> for RouteLayer {
    type Service = Route<S>;

    fn layer(&self, inner: S) -> Route<S> {
        Route { inner, logged: self.logged }
    }
}

#[derive(Clone)]
pub struct Route<S> {
    inner: S,
    logged: bool,
}

impl<S: tower_service::Service<Request, Response = Response>> tower_service::Service<Request> for Route<S> {
    type Response = Response;
    type Error = S::Error;
    type Future = Routed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let path = request.extensions().get::<MatchedPath>().cloned();
        if let Some(path) = path.as_ref().filter(|_| self.logged) {
            tracing::Span::current().record("route", path.as_str());
        }
        Routed { inner: self.inner.call(request), path }
    }
}

pin_project_lite::pin_project! {
    pub struct Routed<F> {
        #[pin]
        inner: F,
        path: Option<MatchedPath>,
    }
}

impl<F: Future<Output = Result<Response, E>>, E> Future for Routed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(path) = this.path.take() {
            response.extensions_mut().insert(path);
        }
        Poll::Ready(Ok(response))
    }
}
