//! The TCP listener and its connections: how many are held open, how many one address may hold, and how
//! long a connection may sit without sending a request.
//!
//! Past `max` connections, new ones wait in the kernel's backlog instead of exhausting file descriptors
//! and memory. So that one address cannot take every slot, each address (an IPv6 client by its /64) may
//! hold only `per_address`; trusted proxies, which carry many clients, are exempt. And so that slots held
//! by silence come back, a connection must finish a request's headers within `header_timeout` of its first
//! byte (or of opening), and is closed after `idle_timeout` between requests.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use crate::http::client_ip::{IpNet, address_key};

/// How many connections may be open, and for how long a quiet one is kept.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    pub max: usize,
    pub per_address: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Peers exempt from `per_address` (the trusted reverse proxies).
    pub exempt: Arc<[IpNet]>,
}

type OpenPerAddress = Arc<Mutex<HashMap<IpAddr, usize>>>;

pub struct CappedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    open: OpenPerAddress,
    limits: ConnectionLimits,
}

impl CappedListener {
    pub fn new(inner: TcpListener, limits: ConnectionLimits) -> Self {
        let slots = Arc::new(Semaphore::new(limits.max.max(1)));
        Self { inner, slots, open: OpenPerAddress::default(), limits }
    }

    /// Counts a new connection against its address; `None` if the address holds its share already.
    fn admit(&self, ip: IpAddr) -> Option<AddressSlot> {
        if self.limits.exempt.iter().any(|net| net.contains(ip)) {
            return Some(AddressSlot { open: None, key: ip });
        }
        let key = address_key(ip);
        let mut open = self.open.lock().expect("connection count lock");
        let held = open.entry(key).or_default();
        if *held >= self.limits.per_address.max(1) {
            return None;
        }
        *held += 1;
        Some(AddressSlot { open: Some(self.open.clone()), key })
    }
}

/// The connection's peer address and what it is doing, for [`crate::client_ip`] and [`track`].
#[derive(Clone, Debug)]
pub struct Peer {
    pub addr: SocketAddr,
    activity: Arc<Activity>,
}

impl Connected<IncomingStream<'_, CappedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, CappedListener>) -> Self {
        Self { addr: *stream.remote_addr(), activity: stream.io().activity.clone() }
    }
}

/// Whether a connection is serving a request, shared by the connection (which times out only quiet
/// waits) and the router (which marks requests' start and end).
#[derive(Debug)]
struct Activity {
    opened: Instant,
    busy: AtomicUsize,
    /// Requests finished so far: a new value starts a new wait for the next request.
    finished: AtomicU64,
    /// When the last request finished, in milliseconds since `opened`.
    idle_since_ms: AtomicU64,
}

/// Marks a request in progress on its connection for as long as it lives.
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.idle_since_ms.store(activity.opened.elapsed().as_millis() as u64, Ordering::Relaxed);
        activity.finished.fetch_add(1, Ordering::Release);
        activity.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Middleware: a connection is not timed out while one of its requests is being answered (the request
/// timeout bounds that).
pub async fn track(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let busy = request.extensions().get::<axum::extract::ConnectInfo<Peer>>().map(|info| {
        let activity = info.0.activity.clone();
        activity.busy.fetch_add(1, Ordering::AcqRel);
        Busy(activity)
    });
    let response = next.run(request).await;
    drop(busy);
    response
}

impl Listener for CappedListener {
    type Io = CappedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = self.slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let Some(slot) = self.admit(addr.ip()) else {
                        // Closing at once costs the client a reconnect, and us nothing.
                        tracing::debug!(peer = %addr.ip(), "connection refused: the address holds its share");
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let opened = Instant::now();
                    let activity = Arc::new(Activity {
                        opened,
                        busy: AtomicUsize::new(0),
                        finished: AtomicU64::new(0),
                        idle_since_ms: AtomicU64::new(0),
                    });
                    let stream = CappedStream {
                        inner: stream,
                        _permit: permit,
                        _slot: slot,
                        _counted: crate::metrics::OpenConnection::opened(),
                        activity,
                        header_timeout: self.limits.header_timeout,
                        idle_timeout: self.limits.idle_timeout,
                        seen: 0,
                        first_byte: None,
                        last_write: None,
                        timer: Box::pin(tokio::time::sleep_until(opened + self.limits.header_timeout)),
                    };
                    return (stream, addr);
                }
                // Out of file descriptors and the like: wait a moment rather than spin (as axum does).
                Err(err) => {
                    tracing::warn!(error = %err, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// One address's share of the connections, given back when the connection closes.
struct AddressSlot {
    /// `None` for exempt peers, which are not counted.
    open: Option<OpenPerAddress>,
    key: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Some(open) = &self.open {
            let mut open = open.lock().expect("connection count lock");
            if let Some(held) = open.get_mut(&self.key) {
                *held -= 1;
                if *held == 0 {
                    open.remove(&self.key);
                }
            }
        }
    }
}

/// A connection that gives its slots back when it closes, and fails its reads once it has waited too
/// long for a request (the server then closes it).
pub struct CappedStream {
    inner: TcpStream,
    _permit: OwnedSemaphorePermit,
    _slot: AddressSlot,
    _counted: crate::metrics::OpenConnection,
    activity: Arc<Activity>,
    header_timeout: Duration,
    idle_timeout: Duration,
    /// The `finished` count the fields below belong to.
    seen: u64,
    /// When the first byte of the next request arrived.
    first_byte: Option<Instant>,
    /// When a response last sent something: a response still streaming (events, a slow download) keeps
    /// its connection from counting as idle.
    last_write: Option<Instant>,
    timer: Pin<Box<Sleep>>,
}

impl CappedStream {
    /// Requests finished so far; the first byte recorded belonged to one of them if that count moved.
    fn finished(&mut self) -> u64 {
        let finished = self.activity.finished.load(Ordering::Acquire);
        if finished != self.seen {
            self.seen = finished;
            self.first_byte = None;
        }
        finished
    }

    /// Until when the connection may wait for the request now expected.
    fn deadline(&mut self) -> Instant {
        let finished = self.finished();
        match self.first_byte {
            Some(at) => at + self.header_timeout,
            // A new connection owes its first request as promptly as the headers of any request.
            None if finished == 0 => self.activity.opened + self.header_timeout,
            None => {
                let idle_since = Duration::from_millis(self.activity.idle_since_ms.load(Ordering::Relaxed));
                let idle_since = self.activity.opened + idle_since;
                self.last_write.map_or(idle_since, |written| written.max(idle_since)) + self.idle_timeout
            }
        }
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let busy = self.activity.busy.load(Ordering::Acquire) > 0;
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if !busy && buf.filled().len() > before {
                    self.finished();
                    self.first_byte.get_or_insert_with(Instant::now);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if busy => Poll::Pending,
            Poll::Pending => {
                // The timer is moved only when the deadline comes earlier (a request's headers have begun and
                // not finished, which real clients rarely show); a later deadline (the next idle wait) waits
                // until the timer fires. Re-arming it after every request would cost each request a trip
                // through the runtime's timer wheel.
                let deadline = self.deadline();
                if deadline < self.timer.deadline() {
                    self.timer.as_mut().reset(deadline);
                }
                while self.timer.as_mut().poll(cx).is_ready() {
                    let deadline = self.deadline();
                    if deadline <= Instant::now() {
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "no request in time")));
                    }
                    self.timer.as_mut().reset(deadline);
                }
                Poll::Pending
            }
            ready => ready,
        }
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.last_write = Some(Instant::now());
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.last_write = Some(Instant::now());
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
