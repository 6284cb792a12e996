//! Serving a zone where strangers can reach it: our own HTTP/1 accept loop
//! with limits on time, connections and memory, so that slow or numerous
//! connections cannot take a zone down (security review, finding 2).
//!
//! - A request's head must arrive within [`Limits::header`], counted from the
//!   moment the connection is ready for one, so the same bound closes an idle
//!   keep-alive connection.
//! - Its body must arrive within [`Limits::request`] of the head; a trickled
//!   body gets 408 and the connection is closed.
//! - A response the client does not read for [`Limits::write_stall`] closes
//!   the connection.
//! - A connection is closed once it is [`Limits::lifetime`] old, after the
//!   response in flight (given as long again at most).
//! - At most [`Limits::max_connections`] are open per listener, and no more
//!   than a quarter of the open-file limit; a full house closes the connection
//!   that has waited longest for a request, or refuses the newcomer if every
//!   connection is busy with one.
//! - Request bodies held at once are bounded by [`Limits::body_budget`]; a
//!   request beyond it gets 503.
//! - Accept errors (out of file descriptors, ...) never stop the server.
//!
//! Peer addresses are dropped at accept and never logged.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The bounds one listener enforces. [`Limits::default`] is what every zone
/// uses; tests shrink them.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Time for a request's head, from when the connection is ready for it.
    pub header: Duration,
    /// Time for a request's body, from when its head arrived (408 after).
    pub request: Duration,
    /// Time a response may wait for the client to read it.
    pub write_stall: Duration,
    /// Age after which a connection is closed once its request is answered.
    pub lifetime: Duration,
    /// Open connections per listener.
    pub max_connections: usize,
    /// Bytes of request bodies held at once across the listener's connections.
    pub body_budget: usize,
    /// The kernel's queue of connections not yet accepted (Linux caps it at
    /// net.core.somaxconn).
    pub backlog: i32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header: Duration::from_secs(10),
            // With the head's 10 s, a slow request is gone within 25 s.
            request: Duration::from_secs(15),
            write_stall: Duration::from_secs(20),
            lifetime: Duration::from_secs(120),
            max_connections: 4096,
            body_budget: 64 * 1024 * 1024,
            // tokio's default of 1,024 overflowed under 3,000 connects at once.
            backlog: 8192,
        }
    }
}

/// Largest request head (start line and headers) in bytes; more gets 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// A connection's read and write buffers stay under this, whatever arrives.
const MAX_BUFFER_BYTES: usize = 32 * 1024;
/// How long the accept loop rests after the system refused to accept (for
/// example out of file descriptors) before it tries again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(10);
/// The most of a refused body read and dropped so that its refusal arrives.
const DRAIN_BYTES: u64 = 1024 * 1024;

/// Serves a router until `shutdown` completes, with [`Limits::default`].
/// Requests in flight are finished (each within the request bound).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, router, shutdown, Limits::default()).await
}

/// [`serve`] with explicit limits.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> io::Result<()> {
    // Listening again on a listening socket only changes its queue length, so
    // callers keep binding with tokio as before.
    if let Err(e) = socket2::SockRef::from(&listener).listen(limits.backlog) {
        tracing::warn!(error = %e, "could not enlarge the accept queue");
    }
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_BUFFER_BYTES)
        .keep_alive(true);
    let limits = Limits {
        max_connections: connection_cap(limits.max_connections),
        ..limits
    };
    let shared = Arc::new(Shared {
        router,
        limits,
        connections: Mutex::new(Connections::default()),
        body_held: Arc::new(AtomicUsize::new(0)),
    });
    let (stop, stopped) = watch::channel(false);
    // Every connection task holds a sender; when all are gone, all are closed.
    let (alive, mut all_closed) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    let mut last_warned = None;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        // The peer's address rides along with each request (as axum's
        // `ConnectInfo`) for the intake's rate limiter, which only hashes it
        // under a rotating key; it is never kept or logged.
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                // Out of descriptors or memory: the queue waits in the kernel
                // until connections close. Warn once per episode, not per try.
                if last_warned.is_none_or(|t: Instant| t.elapsed() >= ACCEPT_WARN_EVERY) {
                    tracing::warn!(error = %e, "accepting a connection failed; retrying");
                    last_warned = Some(Instant::now());
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Some(admitted) = shared.admit() else {
            // Every connection is busy with a request: refuse this one.
            drop(stream);
            continue;
        };
        // Small responses go out at once rather than waiting for more.
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            http.clone(),
            shared.clone(),
            admitted,
            stopped.clone(),
            alive.clone(),
        ));
    }
    // Stop accepting: new connections are refused, not queued.
    drop(listener);
    let _ = stop.send(true);
    drop(alive);
    let _ = all_closed.recv().await;
    Ok(())
}

/// Open connections a listener may hold: as configured, but no more than a
/// quarter of the open-file limit (first raised to its hard maximum), so the
/// zones' listeners together leave descriptors for storage, files and the
/// health check instead of running out.
fn connection_cap(configured: usize) -> usize {
    match open_file_limit() {
        Some(files) => {
            let quarter = usize::try_from(files / 4).unwrap_or(usize::MAX);
            configured.min(quarter.max(64))
        }
        None => configured,
    }
}

#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum)
        && current < maximum
    {
        // Allowed without privileges; if refused, the lower limit stands.
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(maximum),
                maximum: Some(maximum),
            },
        );
    }
    getrlimit(Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// Errors that concern only the connection being accepted.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

struct Shared {
    router: Router,
    limits: Limits,
    connections: Mutex<Connections>,
    /// Bytes of request bodies held now, across the listener's connections.
    body_held: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Connections {
    next_id: u64,
    open: HashMap<u64, Slot>,
}

struct Slot {
    /// Since when the connection waits for a request; `None` while it has one.
    waiting_since: Option<Instant>,
    close: Arc<Notify>,
}

/// A connection's place in the house; leaving it frees the place.
struct Admitted {
    id: u64,
    close: Arc<Notify>,
    shared: Arc<Shared>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.shared.connections().open.remove(&self.id);
    }
}

impl Shared {
    fn connections(&self) -> std::sync::MutexGuard<'_, Connections> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes room for a new connection: in a full house the one that has
    /// waited longest for a request is closed; if none waits, `None`.
    fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut c = self.connections();
        if c.open.len() >= self.limits.max_connections {
            let longest = c
                .open
                .iter()
                .filter_map(|(id, slot)| slot.waiting_since.map(|since| (since, *id)))
                .min()
                .map(|(_, id)| id)?;
            if let Some(slot) = c.open.remove(&longest) {
                slot.close.notify_one();
            }
        }
        let id = c.next_id;
        c.next_id += 1;
        let close = Arc::new(Notify::new());
        c.open.insert(
            id,
            Slot {
                waiting_since: Some(Instant::now()),
                close: close.clone(),
            },
        );
        drop(c);
        Some(Admitted {
            id,
            close,
            shared: self.clone(),
        })
    }

    fn set_waiting(&self, id: u64, waiting: bool) {
        if let Some(slot) = self.connections().open.get_mut(&id) {
            slot.waiting_since = waiting.then(Instant::now);
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    http: http1::Builder,
    shared: Arc<Shared>,
    admitted: Admitted,
    mut stopped: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
) {
    let id = admitted.id;
    let service_shared = shared.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let shared = service_shared.clone();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        async move { Ok::<_, Infallible>(answer(&shared, id, request).await) }
    });
    let io = TokioIo::new(StallGuard::new(stream, shared.limits.write_stall));
    let conn = http.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        // Closed by either side, or by a limit; the cause is of no use in a log.
        _ = conn.as_mut() => {}
        // Evicted from a full house: dropping the connection closes it.
        () = admitted.close.notified() => {}
        // Old: the response in flight (a large download over a slow link,
        // say) may finish, since stalled writes are bounded on their own.
        () = tokio::time::sleep(shared.limits.lifetime) => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                _ = conn.as_mut() => {}
                () = tokio::time::sleep(shared.limits.lifetime) => {}
                _ = stopped.changed() => {
                    let _ = tokio::time::timeout(shared.limits.request, conn).await;
                }
            }
        }
        // The server stops: requests in flight get the time of one request.
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(shared.limits.request, conn).await;
        }
    }
}

/// Answers one request, with the body bound in time and memory.
async fn answer(shared: &Shared, id: u64, request: Request<Incoming>) -> Response<Body> {
    shared.set_waiting(id, false);
    let api = request.uri().path().starts_with("/api/");
    let arrival = Arc::new(BodyWatch {
        complete: AtomicBool::new(request.body().is_end_stream()),
        over_budget: AtomicBool::new(false),
        charged: AtomicUsize::new(0),
        held: shared.body_held.clone(),
        budget: shared.limits.body_budget,
        leftover: Mutex::new(None),
    });
    let request = request.map(|inner| {
        Body::new(Watched {
            inner: Some(inner),
            watch: arrival.clone(),
        })
    });
    let deadline = Instant::now() + shared.limits.request;
    // Boxed so it can be dropped (with the body it holds) before draining.
    let mut call = Box::pin(shared.router.clone().oneshot(request));
    let response = tokio::select! {
        response = &mut call => response,
        () = tokio::time::sleep_until(deadline) => {
            if arrival.complete.load(Ordering::Acquire) {
                // The request arrived in time; the server is what is slow.
                call.as_mut().await
            } else {
                Ok(refusal(StatusCode::REQUEST_TIMEOUT, api, "request_too_slow",
                    "Запрос пришёл слишком медленно. Отправьте его ещё раз.",
                    "The request arrived too slowly. Send it again."))
            }
        }
    };
    let response = match response {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let response = if arrival.over_budget.load(Ordering::Acquire) {
        let mut r = refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            api,
            "server_busy",
            "Сервер сейчас перегружен. Попробуйте ещё раз через минуту.",
            "The server is busy right now. Try again in a minute.",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        r
    } else if arrival.complete.load(Ordering::Acquire) {
        response
    } else {
        drop(call);
        finish_body(&arrival, response, deadline).await
    };
    arrival.release();
    shared.set_waiting(id, true);
    response
}

/// A response that was ready before its request's body had arrived (a 413
/// judged by the declared length, say). The client may still be sending, and
/// closing on it now would reset the connection and lose the answer: read
/// and drop the rest first, if it is small and comes in time, else answer and
/// close.
async fn finish_body(
    arrival: &BodyWatch,
    mut response: Response<Body>,
    deadline: Instant,
) -> Response<Body> {
    let leftover = arrival.leftover().take();
    let drained = match leftover {
        Some(mut rest) if rest.size_hint().lower() <= DRAIN_BYTES => {
            tokio::time::timeout_at(deadline, drain(&mut rest))
                .await
                .unwrap_or(false)
        }
        _ => false,
    };
    if !drained {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads a body to its end and drops it; false if it is over [`DRAIN_BYTES`]
/// or breaks off.
async fn drain(body: &mut Incoming) -> bool {
    let mut left = DRAIN_BYTES;
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
            None => return true,
            Some(Ok(frame)) => {
                let n = frame.data_ref().map_or(0, Bytes::len) as u64;
                let Some(rest) = left.checked_sub(n) else {
                    return false;
                };
                left = rest;
            }
            Some(Err(_)) => return false,
        }
    }
}

/// A short answer from the server itself, in Russian and English; JSON under
/// `/api/` like every other API error. The connection is closed after it.
fn refusal(status: StatusCode, api: bool, code: &str, ru: &str, en: &str) -> Response<Body> {
    let (body, content_type) = if api {
        let message = format!("{ru} / {en}");
        (
            serde_json::json!({ "error": { "code": code, "message": message } }).to_string(),
            "application/json",
        )
    } else {
        (format!("{ru}\n{en}\n"), "text/plain; charset=utf-8")
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// What a request's body has done so far, shared by the body and its request.
struct BodyWatch {
    complete: AtomicBool,
    over_budget: AtomicBool,
    /// Bytes of this body counted in the listener's `held`.
    charged: AtomicUsize,
    held: Arc<AtomicUsize>,
    budget: usize,
    /// The unread rest of a body its handler did not finish.
    leftover: Mutex<Option<Incoming>>,
}

impl BodyWatch {
    fn leftover(&self) -> std::sync::MutexGuard<'_, Option<Incoming>> {
        self.leftover.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts `n` more bytes held; false if the listener's budget is spent.
    fn charge(&self, n: usize) -> bool {
        let before = self.held.fetch_add(n, Ordering::AcqRel);
        self.charged.fetch_add(n, Ordering::AcqRel);
        if before.saturating_add(n) > self.budget {
            self.over_budget.store(true, Ordering::Release);
            return false;
        }
        true
    }

    /// The request is answered: its body no longer counts.
    fn release(&self) {
        let n = self.charged.swap(0, Ordering::AcqRel);
        self.held.fetch_sub(n, Ordering::AcqRel);
    }
}

impl Drop for BodyWatch {
    fn drop(&mut self) {
        self.release();
    }
}

/// The request body as the router sees it: counted against the budget, and
/// noting when it has fully arrived.
struct Watched {
    /// Always `Some` until dropped; then what is left of an unfinished body
    /// goes back to the request's [`BodyWatch`].
    inner: Option<Incoming>,
    watch: Arc<BodyWatch>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        if !self.watch.complete.load(Ordering::Acquire) {
            *self.watch.leftover() = self.inner.take();
        }
    }
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(&mut *inner).poll_frame(cx);
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref()
                    && !this.watch.charge(data.len())
                {
                    return Poll::Ready(Some(Err("request bodies over budget".into())));
                }
                if inner.is_end_stream() {
                    this.watch.complete.store(true, Ordering::Release);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                this.watch.complete.store(true, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Incoming::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Incoming::size_hint)
    }
}

/// The connection's socket, closed with an error when the client leaves a
/// response unread for too long.
struct StallGuard {
    stream: TcpStream,
    stall: Duration,
    stalled_since: Option<Pin<Box<Sleep>>>,
}

impl StallGuard {
    fn new(stream: TcpStream, stall: Duration) -> StallGuard {
        StallGuard {
            stream,
            stall,
            stalled_since: None,
        }
    }

    /// A write could not proceed: pending until the stall is too long.
    fn stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let stall = self.stall;
        let timer = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read the response",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Pending => this.stalled(cx),
            ready => {
                this.stalled_since = None;
                ready
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write_vectored(cx, bufs) {
            Poll::Pending => this.stalled(cx),
            ready => {
                this.stalled_since = None;
                ready
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
