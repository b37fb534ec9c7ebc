//! The fixed part of the profile: what an ordinary toolchain (shells, compilers,
//! interpreters, git) needs from the system besides files and the network.
//!
//! Everything here is written from scratch for srt-runc; the choices follow the
//! public srt and codex policies (srt.md 7.2, peers.md 1(d)) where they agree, and
//! take the narrower one where they do not. Each entry says why it is there.

use super::sbpl::Writer;

/// Mach services a command may look up. Each is a capability, so the list is short.
/// Left out on purpose: `com.apple.SecurityServer` (the keychain daemon: items whose
/// ACL trusts any app could be read), `com.apple.trustd.agent` (fetches OCSP/CRL URLs
/// on the caller's behalf, an exfiltration channel — srt v83 drops it too) and
/// `com.apple.cfprefsd.*` (would write preferences outside the sandbox).
pub const MACH_SERVICES: &[(&str, &str)] = &[
    (
        "com.apple.system.opendirectoryd.libinfo",
        "getpwuid/getgrgid: `id`, `whoami`, `~` expansion",
    ),
    (
        "com.apple.system.opendirectoryd.membership",
        "group membership checks (getgrouplist)",
    ),
    ("com.apple.system.logger", "syslog(3)/asl from libraries"),
    ("com.apple.logd", "os_log from system libraries"),
    (
        "com.apple.system.notification_center",
        "notify(3): libc time-zone and locale change notifications",
    ),
    (
        "com.apple.bsd.dirhelper",
        "confstr(_CS_DARWIN_USER_TEMP_DIR), used by many runtimes for temp paths",
    ),
    (
        "com.apple.PowerManagement.control",
        "power assertions some build tools take (caffeinate-style)",
    ),
    (
        "com.apple.securityd.xpc",
        "Security.framework calls made by TLS stacks (certificate evaluation)",
    ),
    (
        "com.apple.coreservices.launchservicesd",
        "CoreServices initialisation in Foundation-based tools",
    ),
    (
        "com.apple.lsd.mapdb",
        "LaunchServices database reads (UTI lookups in Foundation)",
    ),
    (
        "com.apple.fonts",
        "font enumeration for tools that render text (docs, plots)",
    ),
    ("com.apple.FontObjectsServer", "the same, older API"),
];

/// sysctls a command may read by exact name: CPU and memory sizing (build
/// parallelism, allocators), OS identification (uname, version checks) and limits.
pub const SYSCTL_NAMES: &[&str] = &[
    "hw.activecpu",
    "hw.byteorder",
    "hw.cachelinesize_compat",
    "hw.cpufamily",
    "hw.cpufrequency_compat",
    "hw.cputype",
    "hw.cpusubtype",
    "hw.l1dcachesize_compat",
    "hw.l1icachesize_compat",
    "hw.l2cachesize_compat",
    "hw.l3cachesize_compat",
    "hw.logicalcpu",
    "hw.logicalcpu_max",
    "hw.machine",
    "hw.memsize",
    "hw.model",
    "hw.ncpu",
    "hw.nperflevels",
    "hw.packages",
    "hw.pagesize",
    "hw.pagesize_compat",
    "hw.physicalcpu",
    "hw.physicalcpu_max",
    "hw.tbfrequency_compat",
    "hw.vectorunit",
    "kern.argmax",
    "kern.hostname",
    "kern.maxfiles",
    "kern.maxfilesperproc",
    "kern.maxproc",
    "kern.maxprocperuid",
    "kern.ngroups",
    "kern.osproductversion",
    "kern.osrelease",
    "kern.ostype",
    "kern.osvariant_status",
    "kern.osversion",
    "kern.secure_kernel",
    "kern.usrstack64",
    "kern.version",
    "machdep.cpu.brand_string",
    "machdep.ptrauth_enabled",
    "security.mac.lockdown_mode_state",
    "sysctl.proc_cputype",
    "vm.loadavg",
];

/// sysctl prefixes: CPU feature flags (`hw.optional.arm.FEAT_*`, used by every
/// JIT and SIMD library), performance levels, the command's *own* process entries
/// (`kern.proc.pid.N` — libproc and `ps -p $$`; not `kern.proc.all`, which would list
/// every host process), and the routing table that network libraries read to pick
/// an interface.
pub const SYSCTL_PREFIXES: &[&str] = &[
    "hw.optional.",
    "hw.perflevel",
    "kern.proc.pgrp.",
    "kern.proc.pid.",
    "machdep.cpu.",
    "net.routetable.",
];

/// Device nodes any process may use like files (read, write, ioctl).
pub const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/dtracehelper",
];

/// Writes the fixed part. `pty` adds pseudo-terminal support.
pub fn write(w: &mut Writer, pty: bool, extra_mach: &[String]) -> Result<(), super::MacosError> {
    w.section(
        "Processes: the command may fork and exec (read access still decides which\n\
         binaries exist for it), but may inspect and signal only processes in its own sandbox.",
    );
    w.allow_all(&["process-exec", "process-fork"]);
    let same = vec!["(target same-sandbox)".to_string()];
    w.allow(&["process-info*"], &same);
    w.allow(&["signal"], &same);
    w.allow(&["mach-priv-task-port"], &same);

    w.section(
        "Preferences are read by CoreFoundation at start-up in almost every Apple tool.\n\
         Only reads: cfprefsd, which would write preferences for the command, is not reachable.",
    );
    w.allow_all(&["user-preference-read"]);

    w.section("Mach services (see MACH_SERVICES in src/macos/base.rs for why each is here).");
    let mut names: Vec<String> = MACH_SERVICES
        .iter()
        .map(|(n, _)| Ok(format!("(global-name {})", super::escape::sbpl_string(n)?)))
        .collect::<Result<_, super::MacosError>>()?;
    for m in extra_mach {
        // srt's allowMachLookup: a trailing `*` means a name prefix.
        names.push(match m.strip_suffix('*') {
            Some(p) => format!("(global-name-prefix {})", super::escape::sbpl_string(p)?),
            None => format!("(global-name {})", super::escape::sbpl_string(m)?),
        });
    }
    w.allow(&["mach-lookup"], &names);

    w.section(
        "POSIX shared memory and semaphores: Python multiprocessing, OpenMP (libomp's\n\
         __KMP_REGISTERED_LIB_ segment), sccache and other build caches.",
    );
    w.allow_all(&["ipc-posix-shm*", "ipc-posix-sem"]);

    w.section("IOKit: only the power-management client, used to query sleep state.");
    w.allow(
        &["iokit-open"],
        &["(iokit-registry-entry-class \"RootDomainUserClient\")".to_string()],
    );

    w.section(
        "sysctl reads: hardware sizing, OS identification and limits; never writes, except\n\
         kern.grade_cputype, which the JVM sets for itself at start-up.",
    );
    let mut sysctls: Vec<String> = SYSCTL_NAMES
        .iter()
        .map(|n| format!("(sysctl-name \"{n}\")"))
        .collect();
    sysctls.extend(
        SYSCTL_PREFIXES
            .iter()
            .map(|p| format!("(sysctl-name-prefix \"{p}\")")),
    );
    w.allow(&["sysctl-read"], &sysctls);
    w.allow(
        &["sysctl-write"],
        &["(sysctl-name \"kern.grade_cputype\")".to_string()],
    );

    w.section("Standard device nodes behave as on any Unix: read, write and ioctl.");
    let devs: Vec<String> = DEVICES
        .iter()
        .map(|d| format!("(literal \"{d}\")"))
        .collect();
    w.allow(&["file-read*", "file-write-data", "file-ioctl"], &devs);

    if pty {
        w.section(
            "Pseudo-terminals, so interactive programs (editors, REPLs, `script`) can\n\
             allocate and drive a pty; ioctl on ttys for raw mode and window size.",
        );
        w.allow_all(&["pseudo-tty"]);
        let ttys = vec![
            "(literal \"/dev/ptmx\")".to_string(),
            "(regex \"^/dev/ttys[0-9]+$\")".to_string(),
        ];
        w.allow(&["file-read*", "file-write*", "file-ioctl"], &ttys);
    }
    Ok(())
}
