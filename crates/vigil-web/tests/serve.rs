//! The limits of `vigil_web::serve` against real sockets on 127.0.0.1: slow
//! clients are closed, a full house makes room, bodies are bounded, and a
//! normal request on another connection is answered throughout. Time bounds
//! are "closed at all within 60 s", never timing goals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::{get, post};
use vigil_web::Limits;

/// Whatever a limit is, a slow connection must be gone well before this.
const BOUND: Duration = Duration::from_secs(60);
const BIG: usize = 32 * 1024 * 1024;

fn app() -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/echo",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route("/big", get(|| async { Body::from(vec![b'x'; BIG]) }))
}

/// A server on its own runtime in its own thread, so clients here can be
/// plain blocking sockets.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    fn start(limits: Limits) -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                addr_tx.send(listener.local_addr()?).unwrap();
                let shutdown = async move {
                    let _ = stopped.await;
                };
                vigil_web::serve_with(listener, app(), shutdown, limits).await
            })
        });
        let addr = addr_rx.recv().unwrap();
        Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(BOUND)).unwrap();
        s
    }

    /// Stops the server and waits until serve() returned.
    fn stop(mut self) -> std::io::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads one response head and its body (by Content-Length); the status.
fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("the response head in time");
        assert_eq!(
            n,
            1,
            "closed before a response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get_healthz(s: &mut TcpStream) -> (u16, String) {
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: vigil\r\n\r\n")
        .unwrap();
    read_response(s)
}

/// Waits until the server closes the connection (EOF or reset), draining
/// whatever it still sends; panics if it stays open past the bound. Returns
/// the bytes drained.
fn closed_within_bound(s: &mut TcpStream, started: Instant) -> usize {
    let mut drained = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => drained += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("still open after {:?}: {e}", started.elapsed()),
        }
        assert!(started.elapsed() < BOUND, "still open after the bound");
    }
    assert!(started.elapsed() < BOUND, "closed only after the bound");
    drained
}

/// Sends `bytes` one every 200 ms on a clone of `s` until they run out or
/// the server closes the connection.
fn trickle(s: &TcpStream, bytes: Vec<u8>) -> JoinHandle<()> {
    let mut w = s.try_clone().unwrap();
    std::thread::spawn(move || {
        for b in bytes {
            if w.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

#[test]
fn a_connection_trickling_its_headers_is_closed_while_another_is_answered() {
    let server = Server::start(Limits::default());
    let started = Instant::now();
    let mut slow = server.connect();
    // Far more header than the bound lets through at this pace.
    let mut head = b"GET /healthz HTTP/1.1\r\nHost: vigil\r\nX-Slow: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 1000));
    let writer = trickle(&slow, head);

    let mut normal = server.connect();
    assert_eq!(get_healthz(&mut normal), (200, "ok".into()));

    let drained = closed_within_bound(&mut slow, started);
    assert_eq!(drained, 0, "a trickled head must not be answered");
    // Still serving (on a new connection: the idle one has been closed too).
    assert_eq!(get_healthz(&mut server.connect()), (200, "ok".into()));
    writer.join().unwrap();
}

#[test]
fn a_trickled_body_gets_408_and_is_closed_while_another_is_answered() {
    let server = Server::start(Limits::default());
    let started = Instant::now();
    let mut slow = server.connect();
    slow.write_all(b"POST /echo HTTP/1.1\r\nHost: vigil\r\nContent-Length: 1000\r\n\r\n")
        .unwrap();
    let writer = trickle(&slow, vec![b'b'; 1000]);

    let mut normal = server.connect();
    normal
        .write_all(b"POST /echo HTTP/1.1\r\nHost: vigil\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    assert_eq!(read_response(&mut normal), (200, "5".into()));

    let (status, text) = read_response(&mut slow);
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("too slowly"), "{text}");
    closed_within_bound(&mut slow, started);
    assert_eq!(get_healthz(&mut server.connect()), (200, "ok".into()));
    writer.join().unwrap();
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let server = Server::start(Limits::default());
    let mut idle = server.connect();
    assert_eq!(get_healthz(&mut idle), (200, "ok".into()));
    let started = Instant::now();
    assert_eq!(closed_within_bound(&mut idle, started), 0);
}

#[test]
fn a_connection_that_never_sends_a_byte_is_closed() {
    let server = Server::start(Limits::default());
    let mut silent = server.connect();
    let started = Instant::now();
    assert_eq!(closed_within_bound(&mut silent, started), 0);
}

#[test]
fn a_full_house_closes_the_connection_that_waited_longest() {
    let server = Server::start(Limits {
        max_connections: 3,
        ..Limits::default()
    });
    // A request on each makes sure the server took them in this order.
    let mut open: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = server.connect();
            assert_eq!(get_healthz(&mut s), (200, "ok".into()));
            s
        })
        .collect();
    // The second one asks again, so it has waited less than the third.
    assert_eq!(get_healthz(&mut open[1]), (200, "ok".into()));

    let started = Instant::now();
    let mut newcomer = server.connect();
    assert_eq!(get_healthz(&mut newcomer), (200, "ok".into()));
    assert_eq!(closed_within_bound(&mut open[0], started), 0);
    assert_eq!(get_healthz(&mut open[1]), (200, "ok".into()));

    // Now the third has waited longest.
    let mut another = server.connect();
    assert_eq!(get_healthz(&mut another), (200, "ok".into()));
    assert_eq!(closed_within_bound(&mut open[2], started), 0);
    assert_eq!(get_healthz(&mut open[1]), (200, "ok".into()));
    assert_eq!(get_healthz(&mut newcomer), (200, "ok".into()));
}

#[test]
fn a_client_that_does_not_read_its_response_is_closed() {
    let server = Server::start(Limits {
        write_stall: Duration::from_secs(1),
        ..Limits::default()
    });
    let mut s = server.connect();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: vigil\r\n\r\n")
        .unwrap();
    // Not reading, on purpose: the server's writes stall for longer than the
    // limit, so it gives up and closes with most of the response unsent.
    std::thread::sleep(Duration::from_secs(5));
    let started = Instant::now();
    let drained = closed_within_bound(&mut s, started);
    assert!(
        drained < BIG,
        "the whole response went out: {drained} bytes"
    );
    let mut normal = server.connect();
    assert_eq!(get_healthz(&mut normal), (200, "ok".into()));
}

#[test]
fn bodies_beyond_the_budget_get_503() {
    let server = Server::start(Limits {
        body_budget: 1000,
        ..Limits::default()
    });
    let mut s = server.connect();
    let body = vec![b'x'; 5000];
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: vigil\r\nContent-Length: 5000\r\n\r\n")
        .unwrap();
    s.write_all(&body).unwrap();
    let (status, text) = read_response(&mut s);
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("busy"), "{text}");
    // Within the budget, and the budget was given back.
    let mut s = server.connect();
    for _ in 0..3 {
        s.write_all(b"POST /echo HTTP/1.1\r\nHost: vigil\r\nContent-Length: 900\r\n\r\n")
            .unwrap();
        s.write_all(&body[..900]).unwrap();
        assert_eq!(read_response(&mut s), (200, "900".into()));
    }
}

#[test]
fn shutdown_closes_idle_connections_and_returns() {
    let server = Server::start(Limits::default());
    let mut idle = server.connect();
    assert_eq!(get_healthz(&mut idle), (200, "ok".into()));
    let started = Instant::now();
    let addr = server.addr;
    server.stop().unwrap();
    assert!(started.elapsed() < BOUND);
    assert_eq!(closed_within_bound(&mut idle, started), 0);
    assert!(TcpStream::connect(addr).is_err(), "still accepting");
}
