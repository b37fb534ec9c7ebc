//! Accept loop and protocol sniffing: one port serves SOCKS5 and HTTP.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use super::Shared;

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(handle(stream, shared.clone()));
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
