//! The service started in the background on a bound listener: [`spawn`] returns a
//! [`ServerHandle`] with the address, the URL and a graceful shutdown. Used by the tests, the
//! test kit and the demo; `issuer serve` runs [`super::run`] in the foreground instead.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::service::Issuer;

/// A running service started by [`spawn`].
///
/// Dropping the handle without [`ServerHandle::shutdown`] also stops the service gracefully,
/// in the background, without waiting for it.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Serves `issuer` on `listener` in a new task of the current tokio runtime, with the same
/// connection limits and routes as [`super::run`].
///
/// # Errors
/// The listener's local address cannot be read.
///
/// # Panics
/// Outside a tokio runtime (as `tokio::spawn`).
pub fn spawn(listener: TcpListener, issuer: Arc<Issuer>) -> std::io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(super::run(listener, issuer, async {
        // A dropped sender stops the service too.
        let _ = stopped.await;
    }));
    Ok(ServerHandle {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

impl ServerHandle {
    /// The address the service listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`: the base URL of the service on its listening address (the configured
    /// `public_url` may name a proxy in front of it instead).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish and waits for the service
    /// to end. The issuer itself stays open (close it with [`Issuer::close`]).
    ///
    /// # Errors
    /// The service's listener error, or the service task panicked.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}
