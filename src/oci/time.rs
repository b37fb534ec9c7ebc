//! RFC 3339 timestamps in UTC without a date-time dependency.
//!
//! Callers parse what we print: containerd decodes the `time` of every log line as
//! RFC 3339 (a bad one makes it lose the error message), and go-runc decodes `created`.

use crate::proxy::events::civil_from_days;
use std::time::{SystemTime, UNIX_EPOCH};

/// `2006-01-02T15:04:05.123456789Z` (what runc prints for `created`).
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}Z", date_time(d.as_secs()), d.subsec_nanos())
}

/// `2006-01-02T15:04:05Z` (what logrus prints in JSON log lines).
pub fn rfc3339_secs(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}Z", date_time(d.as_secs()))
}

fn date_time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_dates() {
        let t = UNIX_EPOCH + Duration::new(0, 0);
        assert_eq!(rfc3339_secs(t), "1970-01-01T00:00:00Z");
        // 2000-02-29T12:34:56Z (a leap day) = 951827696.
        let t = UNIX_EPOCH + Duration::new(951_827_696, 5);
        assert_eq!(rfc3339_nanos(t), "2000-02-29T12:34:56.000000005Z");
        // 2026-11-22T12:39:10Z = 1795351150.
        let t = UNIX_EPOCH + Duration::new(1_795_351_150, 0);
        assert_eq!(rfc3339_secs(t), "2026-11-22T12:39:10Z");
    }
}
