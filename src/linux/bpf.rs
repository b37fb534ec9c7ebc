//! The bpf(2) calls behind cgroup v2 device rules: load a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program ([`super::devfilter`] builds it) and attach it to a cgroup directory.
//!
//! Lifetime: an attached program is held by the cgroup, not by our file descriptor, and
//! is released by the kernel when the cgroup is removed; `delete` needs nothing extra.
//! Programs are attached with `BPF_F_ALLOW_MULTI` (the kernel runs every program of the
//! cgroup and of its ancestors, and all must allow) and named [`PROG_NAME`], so that a
//! later `update` finds the program it put there and swaps it (`BPF_F_REPLACE`, atomic)
//! instead of stacking a second one whose rules would be and-ed with the old.

use super::devfilter::Insn;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// The name our device programs carry (at most 15 characters, `[A-Za-z0-9_.]`).
pub const PROG_NAME: &str = "srt_devices";

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_int = 15;
const BPF_PROG_QUERY: libc::c_int = 16;

const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const BPF_F_REPLACE: u32 = 4;

/// A failed bpf(2) command, with the verifier's last words for a refused program.
#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    #[error("{what}: {source}{}", hint(source))]
    Sys {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("the kernel refused the device program: {0}")]
    Verifier(String),
}

fn hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EPERM) => {
            " (cgroup device programs need CAP_SYS_ADMIN in the host's user namespace; run as root or remove linux.resources.devices)"
        }
        Some(libc::ENOSYS) => " (this kernel has no bpf(2); remove linux.resources.devices)",
        _ => "",
    }
}

fn sys(what: impl Into<String>) -> impl FnOnce(io::Error) -> BpfError {
    let what = what.into();
    move |source| BpfError::Sys { what, source }
}

/// Room for the kernel's `union bpf_attr`, zero beyond the command's own fields.
#[repr(C, align(8))]
struct AttrBuf([u8; 512]);

/// `bpf(cmd, attr)`. The attr structs below are the leading part of `union bpf_attr`
/// for each command, but the kernel writes some results at fixed offsets of the whole
/// union whatever size it is given (`BPF_PROG_QUERY` stores `query.revision` at byte
/// 56), so the call goes through a zeroed buffer larger than the union, copied back.
fn bpf<T: Copy>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_long> {
    let mut buf = AttrBuf([0; 512]);
    let n = std::mem::size_of::<T>();
    assert!(n <= buf.0.len(), "bpf attr larger than the buffer");
    // SAFETY: the attr structs are repr(C) integers without padding, so their bytes are
    // initialised and any bytes are a valid value; `buf` outlives the call, and the
    // kernel writes only within `union bpf_attr`, which is smaller than `buf`.
    let ret = unsafe {
        std::ptr::copy_nonoverlapping(attr as *const T as *const u8, buf.0.as_mut_ptr(), n);
        let ret = libc::syscall(
            libc::SYS_bpf,
            cmd,
            buf.0.as_mut_ptr() as *mut libc::c_void,
            buf.0.len() as libc::c_uint,
        );
        std::ptr::copy_nonoverlapping(buf.0.as_ptr(), attr as *mut T as *mut u8, n);
        ret
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: bpf(2) returned a new file descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

// The kernel's layouts (and no padding, which `bpf` relies on).
const _: () = {
    use std::mem::size_of;
    assert!(size_of::<ProgLoadAttr>() == 72);
    assert!(size_of::<AttachAttr>() == 20);
    assert!(size_of::<QueryAttr>() == 32);
    assert!(size_of::<GetFdByIdAttr>() == 12);
    assert!(size_of::<InfoAttr>() == 16);
    assert!(size_of::<Insn>() == 8);
};

/// Loads `insns` as a cgroup device program named [`PROG_NAME`]. It calls no helpers,
/// so the license string only has to be present (GPL is not required).
pub fn load_device_program(insns: &[Insn]) -> Result<OwnedFd, BpfError> {
    let license = c"Apache-2.0";
    let mut name = [0u8; 16];
    name[..PROG_NAME.len()].copy_from_slice(PROG_NAME.as_bytes());
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(owned(fd)),
        Err(e)
            if e.raw_os_error() == Some(libc::EINVAL) || e.raw_os_error() == Some(libc::EACCES) =>
        {
            // Load again with the verifier log to say why (kept out of the fast path).
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            match bpf(BPF_PROG_LOAD, &mut attr) {
                Ok(fd) => Ok(owned(fd)),
                Err(_) => {
                    let text = String::from_utf8_lossy(&log);
                    let last = text
                        .trim_end_matches('\0')
                        .lines()
                        // The reason comes before the statistics lines.
                        .rfind(|l| {
                            let l = l.trim();
                            !l.is_empty()
                                && !l.starts_with("processed ")
                                && !l.starts_with("verification time")
                                && !l.starts_with("stack depth")
                        })
                        .unwrap_or("no verifier log")
                        .trim()
                        .to_string();
                    Err(BpfError::Verifier(format!("{e}: {last}")))
                }
            }
        }
        Err(e) => Err(sys("loading the cgroup device program (bpf BPF_PROG_LOAD)")(e)),
    }
}

/// Ids of the device programs attached directly to the cgroup open at `cg`.
fn query(cg: RawFd) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut attr = QueryAttr {
            target_fd: cg as u32,
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        match bpf(BPF_PROG_QUERY, &mut attr) {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            // More programs than room: prog_cnt now says how many.
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                ids = vec![0; attr.prog_cnt as usize];
            }
            Err(e) => return Err(e),
        }
    }
}

fn prog_fd(id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdByIdAttr {
        prog_id: id,
        ..Default::default()
    };
    bpf(BPF_PROG_GET_FD_BY_ID, &mut attr).map(owned)
}

/// The leading part of `struct bpf_prog_info`: u32 type, u32 id, …, name[16] at 64.
#[repr(C, align(8))]
struct ProgInfo([u8; 80]);

impl ProgInfo {
    fn of(fd: &OwnedFd) -> io::Result<ProgInfo> {
        let mut info = ProgInfo([0; 80]);
        let mut attr = InfoAttr {
            bpf_fd: fd.as_raw_fd() as u32,
            info_len: info.0.len() as u32,
            info: info.0.as_mut_ptr() as u64,
        };
        bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
        Ok(info)
    }
    fn id(&self) -> u32 {
        u32::from_ne_bytes(self.0[4..8].try_into().expect("4 bytes"))
    }
    fn name(&self) -> String {
        let name = &self.0[64..80];
        let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
        String::from_utf8_lossy(&name[..end]).into_owned()
    }
}

fn attach(cg: RawFd, prog: &OwnedFd, replace: Option<&OwnedFd>) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cg as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    if let Some(old) = replace {
        attr.attach_flags |= BPF_F_REPLACE;
        attr.replace_bpf_fd = old.as_raw_fd() as u32;
    }
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop)
}

fn detach(cg: RawFd, prog: &OwnedFd) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cg as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    bpf(BPF_PROG_DETACH, &mut attr).map(drop)
}

fn open_dir(dir: &Path) -> Result<OwnedFd, BpfError> {
    let f = std::fs::File::open(dir).map_err(sys(format!("opening {}", dir.display())))?;
    Ok(f.into())
}

/// Ids of the device programs attached directly to the cgroup `dir` (ours or not).
pub fn device_programs(dir: &Path) -> Result<Vec<u32>, BpfError> {
    let cg = open_dir(dir)?;
    query(cg.as_raw_fd()).map_err(sys(format!(
        "listing the device programs of {} (bpf BPF_PROG_QUERY)",
        dir.display()
    )))
}

/// Whether a program with this id is still loaded (the kernel frees a program once no
/// cgroup or descriptor holds it).
pub fn program_exists(id: u32) -> bool {
    prog_fd(id).is_ok()
}

/// Makes `insns` the device program of the cgroup `dir`: loads it, then replaces the
/// program an earlier call attached there (atomically where the kernel can), or attaches
/// it as the first. Programs attached by others are left alone. Returns the new
/// program's id.
pub fn set_device_program(dir: &Path, insns: &[Insn]) -> Result<u32, BpfError> {
    let cg = open_dir(dir)?;
    let cg = cg.as_raw_fd();
    let new = load_device_program(insns)?;
    let listed = query(cg).map_err(sys(format!(
        "listing the device programs of {} (bpf BPF_PROG_QUERY)",
        dir.display()
    )))?;
    // A program may be freed between the query and here: then it is not ours to replace.
    let ours: Vec<OwnedFd> = listed
        .into_iter()
        .filter_map(|id| prog_fd(id).ok())
        .filter(|fd| ProgInfo::of(fd).is_ok_and(|i| i.name() == PROG_NAME))
        .collect();
    let attach_err = sys(format!(
        "attaching the device program to {} (bpf BPF_PROG_ATTACH)",
        dir.display()
    ));
    let mut stale = ours.iter();
    match ours.first() {
        Some(old) => match attach(cg, &new, Some(old)) {
            Ok(()) => {
                stale.next();
            }
            // No BPF_F_REPLACE (before Linux 5.6): attach first, then detach the old
            // one, so the cgroup is never without rules.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                attach(cg, &new, None).map_err(attach_err)?
            }
            Err(e) => return Err(attach_err(e)),
        },
        None => attach(cg, &new, None).map_err(attach_err)?,
    }
    for old in stale {
        detach(cg, old).map_err(sys(format!(
            "detaching the previous device program from {} (bpf BPF_PROG_DETACH)",
            dir.display()
        )))?;
    }
    ProgInfo::of(&new).map(|i| i.id()).map_err(sys(
        "reading the device program's id (bpf BPF_OBJ_GET_INFO_BY_FD)",
    ))
}
