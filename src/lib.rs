//! srt-runc: a low-level sandbox runtime.

pub mod proxy;
