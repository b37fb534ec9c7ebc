//! Structured connection events.
//!
//! Every connection attempt, allowed or denied, yields exactly one
//! [`Event`] when it ends, so an embedding agent can show the user what the
//! sandbox tried to reach and an auditor can replay it from a JSON-lines
//! file.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

/// Which front-end protocol carried the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    #[serde(rename = "http-connect")]
    HttpConnect,
    #[serde(rename = "http-forward")]
    HttpForward,
    #[serde(rename = "socks5")]
    Socks5,
}

/// `allow` or `deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Deny,
}

/// One connection attempt, emitted when it is finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339 UTC timestamp of the attempt's start.
    pub time: String,
    /// The host as requested (canonical when it was valid).
    pub host: String,
    pub port: u16,
    pub protocol: Protocol,
    pub decision: Verdict,
    pub reason: String,
    /// The matching pattern, as written in the settings, if any.
    pub rule: Option<String>,
    /// Bytes sent from the sandbox towards the upstream.
    pub bytes_up: u64,
    /// Bytes sent from the upstream back into the sandbox.
    pub bytes_down: u64,
    pub duration_ms: u64,
}

type SharedWriter = Arc<Mutex<Box<dyn Write + Send>>>;

/// A function called with every event, on the proxy's thread.
pub type EventCallback = Arc<dyn Fn(&Event) + Send + Sync>;

/// Where events go. Cloning shares the same destinations.
#[derive(Clone, Default)]
pub struct EventSink {
    writer: Option<SharedWriter>,
    channel: Option<UnboundedSender<Event>>,
    callback: Option<EventCallback>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink")
            .field("json_lines", &self.writer.is_some())
            .field("channel", &self.channel.is_some())
            .field("callback", &self.callback.is_some())
            .finish()
    }
}

impl EventSink {
    /// Drop every event.
    pub fn none() -> Self {
        Self::default()
    }

    /// Also write each event as one JSON line to `w` (a file, a pipe fd…).
    pub fn with_json_lines(mut self, w: impl Write + Send + 'static) -> Self {
        self.writer = Some(Arc::new(Mutex::new(Box::new(w))));
        self
    }

    /// Also send each event to an in-process channel.
    pub fn with_channel(mut self, tx: UnboundedSender<Event>) -> Self {
        self.channel = Some(tx);
        self
    }

    /// Also call `f` with each event (it runs on the proxy's thread: keep it short).
    pub fn with_callback(mut self, f: EventCallback) -> Self {
        self.callback = Some(f);
        self
    }

    /// Deliver one event. Sink failures are logged and never affect the
    /// connection: auditing must not become a way to stall traffic.
    pub fn emit(&self, event: Event) {
        if event.decision == Verdict::Deny {
            tracing::info!(
                host = %event.host, port = event.port, protocol = ?event.protocol,
                reason = %event.reason, "network request denied"
            );
        }
        if let Some(w) = &self.writer {
            if let Ok(mut line) = serde_json::to_vec(&event) {
                line.push(b'\n');
                let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
                if let Err(e) = w.write_all(&line).and_then(|_| w.flush()) {
                    tracing::warn!("event sink write failed: {e}");
                }
            }
        }
        if let Some(f) = &self.callback {
            f(&event);
        }
        if let Some(tx) = &self.channel {
            let _ = tx.send(event);
        }
    }
}

/// Format a time as RFC 3339 UTC with millisecond precision.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's well-known algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_123);
        assert_eq!(rfc3339(t), "2024-02-29T23:59:59.123Z");
    }
}
