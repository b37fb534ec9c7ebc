//! One [`Audit`] per connection attempt: it accumulates what happened and
//! emits the [`Event`] when dropped, so every exit path (success, denial,
//! upstream failure, client abort) is reported exactly once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use super::decision::Decision;
use super::events::{rfc3339, Event, EventSink, Protocol, Verdict};

pub(crate) struct Audit {
    sink: EventSink,
    time: SystemTime,
    start: Instant,
    host: String,
    port: u16,
    protocol: Protocol,
    decision: Mutex<Decision>,
    pub(crate) up: AtomicU64,
    pub(crate) down: AtomicU64,
}

impl Audit {
    pub(crate) fn new(
        sink: &EventSink,
        protocol: Protocol,
        host: String,
        port: u16,
        decision: Decision,
    ) -> Self {
        Audit {
            sink: sink.clone(),
            time: SystemTime::now(),
            start: Instant::now(),
            host,
            port,
            protocol,
            decision: Mutex::new(decision),
            up: AtomicU64::new(0),
            down: AtomicU64::new(0),
        }
    }

    /// Replace the decision (e.g. the guard refused every address) or
    /// amend the reason (upstream failed).
    pub(crate) fn update(&self, f: impl FnOnce(&mut Decision)) {
        f(&mut self.decision.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub(crate) fn add(&self, up: u64, down: u64) {
        self.up.fetch_add(up, Ordering::Relaxed);
        self.down.fetch_add(down, Ordering::Relaxed);
    }
}

impl Drop for Audit {
    fn drop(&mut self) {
        let d = self.decision.get_mut().unwrap_or_else(|p| p.into_inner());
        self.sink.emit(Event {
            time: rfc3339(self.time),
            host: std::mem::take(&mut self.host),
            port: self.port,
            protocol: self.protocol,
            decision: if d.allowed {
                Verdict::Allow
            } else {
                Verdict::Deny
            },
            reason: std::mem::take(&mut d.reason),
            rule: d.rule.take(),
            bytes_up: self.up.load(Ordering::Relaxed),
            bytes_down: self.down.load(Ordering::Relaxed),
            duration_ms: self.start.elapsed().as_millis() as u64,
        });
    }
}
