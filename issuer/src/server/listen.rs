//! The connection loop: accepts TCP connections and serves HTTP/1.1 on each with hyper, so
//! that slow or greedy clients cannot starve the service.
//!
//! ```text
//!  accept ─► over max_connections? ─ yes ─► close at once
//!            over max_connections_per_ip for this peer? ─ yes ─► close at once
//!            serve: headers within header_read_timeout (also the idle time between kept-alive
//!                   requests), else the connection is closed; the body within
//!                   body_read_timeout and body_limit (the app's middleware)
//! ```
//!
//! A connection beyond a cap is accepted and closed at once rather than left in the kernel's
//! backlog, so a flood neither holds file descriptors nor delays other peers' connections.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::Config;

/// Connection limits of the HTTP service (`issuer.toml`: `header_read_timeout`,
/// `max_connections`, `max_connections_per_ip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Time to send a request's headers, and the idle time of a kept-alive connection.
    pub header_read_timeout: Duration,
    /// Most open connections.
    pub max_connections: usize,
    /// Most open connections from one IP address.
    pub max_connections_per_ip: usize,
}

impl ConnLimits {
    /// The limits `config` sets.
    pub fn of(config: &Config) -> ConnLimits {
        ConnLimits {
            header_read_timeout: Duration::from_secs(config.header_read_timeout),
            max_connections: config.max_connections,
            max_connections_per_ip: config.max_connections_per_ip,
        }
    }
}

/// Open connections per peer address.
#[derive(Debug, Default)]
struct PeerCounts(Mutex<HashMap<IpAddr, usize>>);

impl PeerCounts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Counts a connection from `ip` unless it already has `cap`; the guard uncounts it.
    fn admit(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<PeerGuard> {
        let mut counts = self.lock();
        let n = counts.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(PeerGuard {
            counts: Arc::clone(self),
            ip,
        })
    }
}

/// One counted connection of a peer.
struct PeerGuard {
    counts: Arc<PeerCounts>,
    ip: IpAddr,
}

impl Drop for PeerGuard {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        if let Some(n) = counts.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` resolves; then stops accepting,
/// lets in-flight requests finish and closes idle connections.
///
/// # Errors
/// A listener error that is not about one connection or a momentary lack of resources.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let peers = Arc::new(PeerCounts::default());
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) if transient(&e) => {
                // Out of file descriptors or the peer gave up: wait a little, go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!("connection closed: max_connections reached");
            drop(stream);
            continue;
        };
        let Some(counted) = peers.admit(peer.ip(), limits.max_connections_per_ip) else {
            tracing::debug!("connection closed: max_connections_per_ip reached");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(counted);
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// An accept error that concerns one connection or momentary resources, not the listener.
fn transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::Interrupted | K::WouldBlock
    ) || matches!(e.raw_os_error(), Some(23 | 24 | 105 | 12))
}
