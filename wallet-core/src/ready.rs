//! The core's unit tests drive its async functions over hosts that answer at once (the
//! software signer, a replayed transport, the in-memory store): [`run`] polls such a future
//! once, with no runtime.

/// Polls `future` once and returns its output; a future that waits is a test failure.
pub(crate) fn run<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("a host in the core's tests answers at once"),
    }
}
