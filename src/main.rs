fn main() {
    std::process::exit(srt_runc::cli::main());
}
