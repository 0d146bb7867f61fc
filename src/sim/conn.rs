//! Connections that a fault rule can reset.
//!
//! [`KillableListener`] wraps the TCP listener for `axum::serve`; every accepted stream carries a
//! [`ConnKill`] switch, which handlers receive as `ConnectInfo<ConnKill>`. After [`ConnKill::kill`] every
//! read or write on the stream fails, so hyper drops the connection without writing the response, and the
//! socket is closed with `SO_LINGER = 0`, i.e. a TCP RST: the client sees a transport error, never a status.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The reset switch of one connection.
#[derive(Debug, Clone, Default)]
pub struct ConnKill(Arc<AtomicBool>);

impl ConnKill {
    /// Makes the connection fail on its next read or write.
    pub fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_killed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A TCP stream with a reset switch.
#[derive(Debug)]
pub struct KillableStream {
    inner: TcpStream,
    kill: ConnKill,
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if !self.kill.is_killed() {
            return Ok(());
        }
        // Best effort: RST instead of FIN. Either way the response is never written.
        let _ = self.inner.set_zero_linger();
        Err(io::Error::new(io::ErrorKind::ConnectionReset, "connection reset by a simulator fault rule"))
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// The simulator's listener.
#[derive(Debug)]
pub struct KillableListener {
    inner: TcpListener,
}

impl KillableListener {
    /// Wraps a bound listener.
    pub fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (KillableStream { inner: stream, kill: ConnKill::default() }, addr);
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(e) => {
                    tracing::warn!(error = %e, "simulator: accepting a connection failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.io().kill.clone()
    }
}
