//! srt-runc: a low-level sandbox runtime.
