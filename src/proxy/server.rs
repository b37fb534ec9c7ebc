//! Accept loop and protocol sniffing: one port serves SOCKS5 and HTTP.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use super::Shared;

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if shared.active.load(Ordering::Relaxed) >= shared.config.max_connections {
                    tracing::warn!("proxy: connection limit reached, closing {peer}");
                    continue;
                }
                let slot = Slot::take(&shared);
                tokio::spawn(async move {
                    handle(stream, slot.0.clone()).await;
                    drop(slot);
                });
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning; the
                // pending connection stays in the backlog.
                tracing::warn!("proxy accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Holds one unit of `Shared::active` for the life of a connection (or a
/// tunnel task that outlives its HTTP connection), released even when the
/// task is dropped at shutdown.
pub(crate) struct Slot(Arc<Shared>);

impl Slot {
    pub(crate) fn take(shared: &Arc<Shared>) -> Slot {
        shared.active.fetch_add(1, Ordering::Relaxed);
        Slot(shared.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Peek (not read) the first byte so the chosen front-end sees the stream
/// from its beginning, with no rewind wrapper in the data path.
async fn handle(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let mut first = [0u8; 1];
    match timeout(shared.config.first_byte_timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return,
    }
    match first[0] {
        0x05 => super::socks::serve(stream, shared).await,
        0x04 => super::socks::refuse_socks4(stream).await,
        _ => super::http::serve(stream, shared).await,
    }
}
