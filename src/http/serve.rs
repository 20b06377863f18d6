//! The accept loop shared by plain HTTP and TLS: HTTP/1.1 with upgrades (the WebSocket
//! stream), the peer address known to the auth layer, and the connection limits.
//!
//! * **Connection cap** (`--max-connections`): at the cap the loop stops accepting, so
//!   excess connections wait in the kernel's listen backlog (and the client's own connect
//!   timeout) until a slot frees; nothing is read from them and they cost us nothing. A
//!   slot is held for the whole life of a connection, including an upgraded WebSocket.
//! * **Header timeout** (`--header-timeout-seconds`): from the accept (or from the first
//!   byte of a later request on a kept-alive connection), the request head must arrive
//!   within this time, else the connection is closed: slow-header (slowloris) clients
//!   cannot hold slots.
//! * **Idle timeout** (`--idle-timeout-seconds`): a kept-alive connection with no request
//!   in flight and no byte received for this long is closed.
//!
//! hyper's own `header_read_timeout` is not used: it also runs while a kept-alive
//! connection waits for its next request, so the idle time could never exceed the header
//! time. Instead each connection has a small watchdog fed by the socket (bytes read) and
//! the service (requests in flight).
//!
//! On shutdown the loop stops accepting, connections finish their request and close, and
//! WebSocket tasks close themselves with 1001 on the same [`Shutdown`] signal.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::state::Shutdown;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight connections may take to finish after shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(25);
/// At most one "connection cap reached" warning per this period.
const CAP_WARNING_EVERY: Duration = Duration::from_secs(60);

pub use crate::config::Limits;

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` fires, then lets open
/// connections finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    shutdown: Shutdown,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = tokio::task::JoinSet::new();
    let mut last_cap_warning: Option<Instant> = None;
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if last_cap_warning.is_none_or(|at| at.elapsed() >= CAP_WARNING_EVERY) {
                    tracing::warn!(
                        max = limits.max_connections,
                        "connection cap reached (--max-connections): new connections wait"
                    );
                    last_cap_warning = Some(Instant::now());
                }
                tokio::select! {
                    permit = slots.clone().acquire_owned() => {
                        permit.expect("the semaphore is never closed")
                    }
                    () = &mut stop => break,
                }
            }
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = tcp.set_nodelay(true);
        connections.spawn(connection(
            tcp,
            peer,
            permit,
            tls.clone(),
            app.clone(),
            limits,
            shutdown.clone(),
        ));
        while connections.try_join_next().is_some() {}
    }
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("some connections were still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    Ok(())
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    shutdown: Shutdown,
) {
    match tls {
        None => serve_io(tcp, peer, permit, app, limits, shutdown).await,
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => serve_io(stream, peer, permit, app, limits, shutdown).await,
                Ok(Err(err)) => tracing::debug!(%peer, %err, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn serve_io<I>(
    io: I,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    app: Router,
    limits: Limits,
    shutdown: Shutdown,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = Watched {
        inner: io,
        activity: activity.clone(),
        _slot: permit,
    };
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut req: axum::http::Request<Incoming>| {
            let busy = Busy::start(activity.clone());
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = tower::ServiceExt::oneshot(app, req).await?;
                // The request stays in flight until its body has been written.
                Ok::<_, Infallible>(response.map(|inner| Tracked { inner, _busy: busy }))
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let watchdog = activity.watchdog(limits);
    tokio::pin!(watchdog);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(%peer, %err, "connection ended with an error");
            }
        }
        reason = &mut watchdog => {
            // Dropping the connection closes the socket: nothing is in flight.
            tracing::debug!(%peer, reason, "closing connection");
        }
        () = shutdown.wait() => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = &mut watchdog => {}
            }
        }
    }
}

/// Where a connection stands, for its watchdog.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for (the rest of) a request head since this instant.
    Head(Instant),
    /// This many requests in flight.
    Busy(usize),
    /// Nothing in flight and nothing received since this instant.
    Idle(Instant),
}

/// A connection's phase, shared by its socket, its service and its watchdog.
struct Activity {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Activity {
            // A new connection owes us a request head.
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
        }
    }

    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock();
        *phase = f(*phase);
        drop(phase);
        // Stores a wake-up if the watchdog is not waiting right now.
        self.changed.notify_one();
    }

    /// Bytes arrived: an idle connection starts a request head.
    fn received(&self) {
        let idle = matches!(*self.phase.lock(), Phase::Idle(_));
        if idle {
            self.update(|phase| match phase {
                Phase::Idle(_) => Phase::Head(Instant::now()),
                other => other,
            });
        }
    }

    /// Resolves with the reason once the connection has overstayed a limit.
    async fn watchdog(&self, limits: Limits) -> &'static str {
        loop {
            let phase = *self.phase.lock();
            let deadline = match phase {
                Phase::Head(since) => Some((since + limits.header_timeout, "header timeout")),
                Phase::Idle(since) => Some((since + limits.idle_timeout, "idle timeout")),
                Phase::Busy(_) => None,
            };
            match deadline {
                Some((at, reason)) if at <= Instant::now() => return reason,
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}

/// One request in flight, from its head until its response body is written (or dropped).
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: Arc<Activity>) -> Self {
        activity.update(|phase| match phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
        Busy(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.update(|phase| match phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }
}

/// A response body that keeps its request in flight until hyper is done with it.
struct Tracked {
    inner: Body,
    _busy: Busy,
}

impl HttpBody for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, reporting received bytes to the watchdog and holding the connection's slot
/// for as long as it lives (an upgraded WebSocket keeps it).
struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
    _slot: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.received();
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
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
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
