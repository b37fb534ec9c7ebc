#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    srt_runc_fuzz::srt_settings(data);
});
