//! TEMPORARY placeholder until the seccomp module lands (installs nothing).
pub use seccompiler::{sock_filter, BpfProgram};
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}
impl Arch {
    pub fn native() -> Arch {
        Arch::X86_64
    }
}
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("{0}")]
    Msg(String),
}
pub fn builtin(_a: Arch, _n: &str) -> Option<BpfProgram> {
    Some(Vec::new())
}
pub fn guard(_a: Arch) -> BpfProgram {
    Vec::new()
}
pub fn translate_oci(
    _p: &oci_spec::runtime::LinuxSeccomp,
    _a: Arch,
) -> Result<Vec<BpfProgram>, SeccompError> {
    Ok(Vec::new())
}
pub fn install(_p: &[BpfProgram]) -> Result<(), SeccompError> {
    Ok(())
}
