//! Slow and greedy clients cannot starve the service: real sockets on loopback against the real
//! server, with short timeouts and low caps in the test configuration. Other peers are other
//! loopback addresses (127.0.0.2, ...), so the per-IP cap can be shown.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use crate::client::*;

/// A connection to `server` from the loopback address `127.0.0.<host>`.
async fn connect_from(host: u8, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)),
            0,
        ))
        .unwrap();
    socket.connect(server).await.unwrap()
}

fn addr(t: &TestIssuer) -> SocketAddr {
    t.url.trim_start_matches("http://").parse().unwrap()
}

/// Whether the server closed `stream` within `wait` (a read sees EOF or a reset).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A response (408 or the like) may come before the close.
            Ok(Ok(_)) => continue,
        }
    }
}

async fn health(t: &TestIssuer) -> Duration {
    let start = Instant::now();
    let r = reqwest::Client::new()
        .get(format!("{}/health", t.url))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .expect("/health answers");
    assert_eq!(r.status(), 200);
    start.elapsed()
}

/// An issuer on SQLite with these connection limits: header read timeout (seconds), most
/// connections, most connections from one IP address.
async fn limited(header_read_timeout: u64, max: usize, per_ip: usize) -> TestIssuer {
    TestIssuer::start_with(|c| {
        c.header_read_timeout = header_read_timeout;
        c.max_connections = max;
        c.max_connections_per_ip = per_ip;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_while_one_peer_holds_hundreds_of_half_sent_requests() {
    let t = limited(2, 200, 50).await;
    let server = addr(&t);
    let mut half_sent = Vec::new();
    for _ in 0..300 {
        let mut s = connect_from(2, server).await;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: issuer\r\nX-Slow: ")
            .await
            .unwrap();
        half_sent.push(s);
    }
    // Another peer is served at once while all of them hang.
    assert!(health(&t).await < Duration::from_secs(1));
    // The peer's connections beyond its cap were closed at once...
    let mut closed_at_once = 0;
    for s in half_sent.iter_mut() {
        if closed_within(s, Duration::from_millis(20)).await {
            closed_at_once += 1;
        }
    }
    assert_eq!(closed_at_once, 250, "the per-IP cap keeps 50 of 300");
    // ...and the rest once their headers did not arrive within header_read_timeout.
    let start = Instant::now();
    for s in half_sent.iter_mut() {
        assert!(closed_within(s, Duration::from_secs(5)).await);
    }
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(health(&t).await < Duration::from_secs(1));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_connections_are_closed_at_once() {
    let t = limited(30, 40, 10).await;
    let server = addr(&t);
    // Ten peers, ten idle connections each: 100 asked for, 40 allowed.
    let mut idle = Vec::new();
    for host in 2..12u8 {
        for _ in 0..10 {
            idle.push(connect_from(host, server).await);
        }
    }
    let mut open = 0;
    for s in idle.iter_mut() {
        if !closed_within(s, Duration::from_millis(50)).await {
            open += 1;
        }
    }
    assert_eq!(open, 40);
    // Freed slots are usable again.
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(health(&t).await < Duration::from_secs(1));
    t.stop().await;
}

/// Sends `head` and `body_part`, then stalls; returns the status line of the answer and
/// whether the server closed the connection, and how long it took.
async fn stalled(t: &TestIssuer, head: &str, body_part: &[u8]) -> (String, bool, Duration) {
    let mut s = connect_from(1, addr(t)).await;
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body_part).await.unwrap();
    let start = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(6), s.read(&mut buf)).await {
            Err(_) => break false,
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
        }
    };
    let text = String::from_utf8_lossy(&answer);
    let status = text.lines().next().unwrap_or("").to_owned();
    (status, closed, start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_cut_after_the_body_read_timeout() {
    let t = TestIssuer::start_on_with(Backend::Sqlite, |c| c.body_read_timeout = 1)
        .await
        .unwrap();
    let head = "POST /token HTTP/1.1\r\nHost: issuer\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n";
    let (status, closed, took) = stalled(&t, head, b"grant_type=").await;
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    assert!(closed);
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(health(&t).await < Duration::from_secs(1));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_10_gb_body_is_refused_before_it_is_read() {
    let t = TestIssuer::start_on_with(Backend::Sqlite, |c| c.body_read_timeout = 30)
        .await
        .unwrap();
    for path in ["/token", "/credential", "/nonce", "/enrol/high"] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: issuer\r\nContent-Type: application/json\r\n\
             Content-Length: 10000000000\r\n\r\n"
        );
        let (status, closed, took) = stalled(&t, &head, b"{").await;
        assert!(status.starts_with("HTTP/1.1 413"), "{path}: {status}");
        assert!(closed, "{path}");
        assert!(took < Duration::from_secs(2), "{path}: {took:?}");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_server_answers_on_its_url_and_stops_listening_on_shutdown() {
    let mut t = TestIssuer::start().await;
    assert_eq!(t.url, format!("http://{}", t.addr));
    assert_eq!(t.get_text("/health").await, "ok");
    t.stop_server().await;
    assert!(tokio::net::TcpStream::connect(t.addr).await.is_err());
    t.stop().await;
}
