//! A service started in the background on a bound listener, and its [`ServerHandle`]: the
//! address, the URL and a graceful shutdown. [`super::spawn`] starts the issuer's service with
//! it (used by the tests, the test kit and the demo); `issuer serve` runs [`super::run`] in the
//! foreground instead. This file knows nothing of the issuer: it runs whatever serving future
//! it is given.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The future that resolves when a spawned service is to stop.
pub type Stopped = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// A running service started by [`ServerHandle::start`].
///
/// Dropping the handle without [`ServerHandle::shutdown`] also stops the service gracefully,
/// in the background, without waiting for it.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    /// Runs `serve(listener, stopped)` in a new task of the current tokio runtime; `stopped`
    /// resolves when the handle is shut down or dropped.
    ///
    /// # Errors
    /// The listener's local address cannot be read.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn`).
    pub fn start<F>(
        listener: TcpListener,
        serve: impl FnOnce(TcpListener, Stopped) -> F,
    ) -> std::io::Result<ServerHandle>
    where
        F: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped: Stopped = Box::pin(async {
            // A dropped sender stops the service too.
            let _ = stopped.await;
        });
        let task = tokio::spawn(serve(listener, stopped));
        Ok(ServerHandle {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

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
    /// to end. The issuer itself stays open (close it with `Issuer::close`).
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
