//! `exec` into a running container: the process is in every namespace and the cgroup
//! of the container, carries the same confinement (no_new_privs, capabilities, seccomp
//! filters, Landlock domain), and the caller gets its output and exit status, its pid
//! (`--detach --pid-file`) or its pty (`--console-socket`); signals sent to a waiting
//! `srt-runc exec` reach the process. As root and rootless.
#![cfg(target_os = "linux")]

mod common;
use common::oci::*;
use common::*;
use serde_json::json;
use std::io::Read;
use std::os::unix::net::UnixListener;

/// `/proc/PID/status` field.
fn status_field(pid: i64, key: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

fn ns_links(pid: &str) -> Vec<String> {
    ["user", "mnt", "pid", "net", "ipc", "uts"]
        .iter()
        .map(|n| {
            std::fs::read_link(format!("/proc/{pid}/ns/{n}"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect()
}

/// A started container running `sleep 1000`; returns its runtime handle and init pid.
fn running(s: &Scratch, user: User, id: &str) -> (Rt, i64) {
    let b = busybox_bundle(s, user, &["sleep", "1000"], false);
    let rt = Rt::new(s, user);
    let (code, err) = rt.create(&b, id, &[], &s.join("out"));
    assert_eq!(code, 0, "{}: create: {err}", user.label());
    ok(&rt.run(&["start", id]));
    let pid = rt.state(id)["pid"].as_i64().unwrap();
    (rt, pid)
}

#[test]
fn exec_joins_the_container_and_returns_the_status() {
    for user in users() {
        let s = Scratch::new("exec-basic", user);
        let (rt, init) = running(&s, user, "e1");

        let o = rt.run(&["exec", "e1", "sh", "-c", "echo hi from $(hostname); exit 3"]);
        assert_eq!(o.status.code(), Some(3), "{}: {}", user.label(), stderr(&o));
        assert_eq!(stdout(&o), "hi from lifecycle\n");

        // Same namespaces as the init, seen from inside.
        let o = rt.run(&[
            "exec",
            "e1",
            "sh",
            "-c",
            "for n in user mnt pid net ipc uts; do readlink /proc/self/ns/$n; done",
        ]);
        let inside: Vec<String> = ok(&o).lines().map(String::from).collect();
        assert_eq!(inside, ns_links(&init.to_string()), "{}", user.label());

        // --env, --cwd, args form on top of the container's process.
        let o = rt.run(&[
            "exec",
            "--env",
            "X=42",
            "--cwd",
            "/tmp",
            "e1",
            "sh",
            "-c",
            "echo $X $(pwd)",
        ]);
        assert_eq!(ok(&o), "42 /tmp\n");

        // Errors with runc's phrases.
        let o = rt.run(&["exec", "e1", "/no/such/program"]);
        fails_with(&o, "no such file or directory");
        ok(&rt.run(&["kill", "e1", "KILL"]));
        rt.wait_status("e1", "stopped");
        // runc's status for this one is 255.
        let o = rt.run(&["exec", "e1", "true"]);
        assert_eq!(o.status.code(), Some(255));
        assert!(stderr(&o).contains("cannot exec in a stopped container"));
        fails_with(
            &rt.run(&["exec", "nope", "true"]),
            "container does not exist",
        );
        ok(&rt.run(&["delete", "e1"]));
    }
}

#[test]
fn exec_detached_is_confined_like_the_container() {
    for user in users() {
        let s = Scratch::new("exec-detach", user);
        let (rt, init) = running(&s, user, "e2");
        let pid_file = s.join("exec.pid");
        // The detached process keeps the runtime's stdio: not a pipe the test waits on.
        let o = rt
            .cmd(&[
                "exec",
                "--detach",
                "--pid-file",
                pid_file.to_str().unwrap(),
                "e2",
                "sleep",
                "999",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(o.success());
        let text = std::fs::read_to_string(&pid_file).unwrap();
        assert!(
            text.bytes().all(|b| b.is_ascii_digit()),
            "no newline: {text:?}"
        );
        let pid: i64 = text.parse().unwrap();
        assert_eq!(ns_links(&pid.to_string()), ns_links(&init.to_string()));
        // The same seccomp programs, no_new_privs and (empty) capability sets.
        for key in [
            "Seccomp",
            "Seccomp_filters",
            "NoNewPrivs",
            "CapEff",
            "CapBnd",
            "CapPrm",
        ] {
            assert_eq!(status_field(pid, key), status_field(init, key), "{key}");
        }
        assert_eq!(status_field(pid, "NoNewPrivs"), "1");
        if user.is_root() {
            let pids: Vec<i64> =
                serde_json::from_str(&ok(&rt.run(&["ps", "--format", "json", "e2"]))).unwrap();
            assert!(pids.contains(&pid) && pids.contains(&init), "{pids:?}");
        }
        // Its own Landlock domain (the scope keeps it from signalling processes outside
        // it, even the container's PID 1, which has the same uid).
        let o = rt.run(&["exec", "e2", "sh", "-c", "kill -0 1 2>&1; echo status=$?"]);
        let out = ok(&o);
        assert!(out.contains("status=1"), "{out}");
        // seccomp: no new user namespaces from inside.
        let o = rt.run(&[
            "exec",
            "e2",
            "sh",
            "-c",
            "unshare -U true 2>&1; echo status=$?",
        ]);
        assert!(!ok(&o).contains("status=0"), "{}", stdout(&o));

        ok(&rt.run(&["delete", "--force", "e2"]));
        wait_gone(pid);
    }
}

#[test]
fn exec_process_file_with_a_console_socket() {
    for user in users() {
        let s = Scratch::new("exec-tty", user);
        let (rt, _) = running(&s, user, "e3");
        let sock_path = s.join("console.sock");
        let listener = UnixListener::bind(&sock_path).unwrap();
        chown(&sock_path, user);
        let process = s.join("process.json");
        std::fs::write(
            &process,
            serde_json::to_vec(&json!({
                "terminal": true,
                "args": ["sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty; sleep 5"],
                "cwd": "/",
                "env": ["PATH=/bin"],
                "user": {"uid": 0, "gid": 0}
            }))
            .unwrap(),
        )
        .unwrap();
        chown(&process, user);
        let pid_file = s.join("e.pid");
        ok(&rt.run(&[
            "exec",
            "--process",
            process.to_str().unwrap(),
            "--detach",
            "--pid-file",
            pid_file.to_str().unwrap(),
            "--console-socket",
            sock_path.to_str().unwrap(),
            "e3",
        ]));
        let (conn, _) = listener.accept().unwrap();
        let (name, master) = recv_fd(&conn);
        assert!(name.starts_with("/dev/pts/"), "{name}");
        let mut f = std::fs::File::from(master);
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&got).contains("is-a-tty") {
            let n = f.read(&mut buf).unwrap();
            assert!(n > 0, "pty closed: {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        // A terminal without a console socket cannot detach.
        let o = rt.run(&["exec", "--tty", "--detach", "e3", "true"]);
        fails_with(&o, "console socket");
        // A waiting `exec -t` without one relays the pty itself: the process has a
        // terminal, its output and status come back, and our input reaches it.
        let mut c = rt.cmd(&[
            "exec",
            "-t",
            "e3",
            "sh",
            "-c",
            "test -t 0 && test -t 1 && echo tty-yes; read line; echo \"got $line\"; exit 6",
        ]);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"hello\n").unwrap();
        let o = child.wait_with_output().unwrap();
        let text = stdout(&o);
        assert_eq!(o.status.code(), Some(6), "{text}{}", stderr(&o));
        assert!(text.contains("tty-yes"), "{text:?}");
        assert!(text.contains("got hello"), "{text:?}");
        ok(&rt.run(&["delete", "--force", "e3"]));
    }
}

/// Runs `c` (stdout piped, stdin as the caller set it) with a deadline, so that a hang
/// fails the test; returns its status, stdout and the CPU time (user + system) it used.
// The child is reaped by wait4 (below), which clippy does not see.
#[allow(clippy::zombie_processes)]
fn exec_within(mut c: std::process::Command, what: &str) -> (i32, String, f64) {
    use std::process::Stdio;
    // stderr is left to the test's own: nothing reads it here.
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut so = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    });
    let pid = child.id() as libc::pid_t;
    let start = std::time::Instant::now();
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // wait4, not `Child::wait`: it also gives this child's own resource usage.
    while unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) } == 0 {
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after 20s");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = secs(usage.ru_utime) + secs(usage.ru_stime);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (code, reader.join().unwrap(), cpu)
}

#[test]
fn exec_tty_without_a_console_socket_relays_eof_output_and_closed_stdin() {
    use std::os::unix::process::CommandExt;
    for user in users() {
        let s = Scratch::new("exec-tty-relay", user);
        let (rt, _) = running(&s, user, "e7");
        // A piped stdin's end reaches the process as the terminal's EOF character: `cat`
        // on the terminal ends instead of waiting forever.
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let (r, w) = unsafe {
            use std::os::fd::FromRawFd;
            (
                std::os::fd::OwnedFd::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        };
        std::io::Write::write_all(&mut &w, b"hi\n").unwrap();
        drop(w);
        let mut c = rt.cmd(&["exec", "-t", "e7", "cat"]);
        c.stdin(r);
        let (code, out, _) = exec_within(c, "printf 'hi\\n' | exec -t cat");
        assert_eq!(code, 0, "{}: {out:?}", user.label());
        // The terminal echoes the line, then cat prints it.
        assert_eq!(out.matches("hi").count(), 2, "{}: {out:?}", user.label());
        // A short-lived process's output is never lost, however fast it exits.
        for i in 0..20 {
            let (code, out, _) = exec_within(
                rt.cmd(&["exec", "-t", "e7", "echo", "quick"]),
                "exec -t echo",
            );
            assert_eq!(
                (code, out.as_str()),
                (0, "quick\r\n"),
                "{}: run {i}",
                user.label()
            );
        }
        // A closed stdin is given up, not polled in a loop: a second-long process
        // costs the waiting `srt-runc exec` next to no CPU time.
        let mut c = rt.cmd(&["exec", "-t", "e7", "sh", "-c", "sleep 1; echo done"]);
        unsafe {
            c.pre_exec(|| {
                libc::close(0);
                Ok(())
            });
        }
        let (code, out, cpu) = exec_within(c, "exec -t with stdin closed");
        assert_eq!(code, 0, "{}: {out:?}", user.label());
        assert!(out.contains("done"), "{}: {out:?}", user.label());
        assert!(
            cpu < 0.5,
            "{}: {cpu}s of CPU time for a 1s exec",
            user.label()
        );
        // A killed `srt-runc exec` closes the only pty master left (the joiner keeps
        // none), so the process, the terminal's session leader, gets a hangup and ends.
        let mut c = rt.cmd(&["exec", "-t", "e7", "sleep", "60"]);
        let mut exec = c.stdout(std::process::Stdio::null()).spawn().unwrap();
        let process = grandchild(exec.id() as i64);
        exec.kill().unwrap();
        exec.wait().unwrap();
        wait_gone(process);
        ok(&rt.run(&["delete", "--force", "e7"]));
    }
}

/// The child of `pid`'s child (a waiting exec's process, below its joiner), waited for
/// until it runs `sleep`.
fn grandchild(pid: i64) -> i64 {
    let children = |of: i64| -> Vec<i64> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i64>().ok())
            .filter(|p| {
                let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
                let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
                rest.split_whitespace().nth(1) == Some(&of.to_string())
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        // Once it runs `sleep`: the joiner has finished its part by then.
        let sleeping = |p: &i64| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep\0"))
        };
        if let Some(p) = children(pid).into_iter().flat_map(children).find(sleeping) {
            return p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no process under {pid}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn exec_into_a_paused_container_is_refused() {
    let user = root_user();
    let s = Scratch::new("exec-paused", user);
    let (rt, _) = running(&s, user, "e4");
    ok(&rt.run(&["pause", "e4"]));
    fails_with(
        &rt.run(&["exec", "e4", "true"]),
        "cannot exec in a paused container",
    );
    ok(&rt.run(&["resume", "e4"]));
    assert_eq!(ok(&rt.run(&["exec", "e4", "echo", "back"])), "back\n");
    ok(&rt.run(&["delete", "--force", "e4"]));
}

/// Starts `srt-runc exec ID ARGS...` with piped stdout and sends `sig` to the
/// `srt-runc exec` process itself once `ready` holds: after a `ready` line on stdout
/// (`ARGS` print it once their trap is set), or, for `None`, once `exec` blocks `sig`
/// (it is then held, and forwarded only after the process's execve). Returns the exit status and the rest of the output. A watchdog
/// deletes the container instead of letting the test hang.
fn signal_exec(
    rt: &Rt,
    id: &str,
    args: &[&str],
    ready: Option<&str>,
    sig: i32,
) -> (Option<i32>, String) {
    use std::io::BufRead;
    let mut all = vec!["exec", id];
    all.extend_from_slice(args);
    let mut child = rt
        .cmd(&all)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let (done, watch) = std::sync::mpsc::channel::<()>();
    let mut delete = rt.cmd(&["delete", "--force", id]);
    let watchdog = std::thread::spawn(move || {
        if watch
            .recv_timeout(std::time::Duration::from_secs(20))
            .is_err()
        {
            let _ = delete.output();
            panic!("srt-runc exec did not end after signal {sig}");
        }
    });
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    match ready {
        Some(line) => {
            let mut got = String::new();
            out.read_line(&mut got).unwrap();
            assert_eq!(got, format!("{line}\n"), "{}", {
                let mut e = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut e);
                e
            });
        }
        None => {
            let blocked = || {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
                let mask = status
                    .lines()
                    .find_map(|l| l.strip_prefix("SigBlk:"))
                    .unwrap();
                u64::from_str_radix(mask.trim(), 16).unwrap() & (1 << (sig - 1)) != 0
            };
            while !blocked() {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
    }
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let _ = done.send(());
    watchdog.join().unwrap();
    (status.code(), rest)
}

#[test]
fn signals_to_a_waiting_exec_reach_the_process() {
    for user in users() {
        let s = Scratch::new("exec-signals", user);
        let (rt, _) = running(&s, user, "e5");
        // Caught inside: the process saw the signal and its exit status comes back.
        for (sig, name) in [
            (libc::SIGUSR1, "USR1"),
            (libc::SIGUSR2, "USR2"),
            (libc::SIGHUP, "HUP"),
            (libc::SIGTERM, "TERM"),
            (libc::SIGWINCH, "WINCH"),
        ] {
            let script = format!(
                "trap 'kill -9 $!; echo got {name}; exit 7' {name}; echo ready; sleep 1000 & wait $!"
            );
            let (code, rest) = signal_exec(&rt, "e5", &["sh", "-c", &script], Some("ready"), sig);
            assert_eq!(rest, format!("got {name}\n"), "{}: {name}", user.label());
            assert_eq!(code, Some(7), "{}: {name}", user.label());
        }
        // Not caught: the process dies of it, and `exec` exits with 128+n. (`sleep`
        // itself, not a shell: busybox sh ignores SIGQUIT and handles SIGINT.)
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGQUIT, libc::SIGHUP] {
            let (code, rest) = signal_exec(&rt, "e5", &["sleep", "1000"], None, sig);
            assert_eq!(rest, "");
            assert_eq!(code, Some(128 + sig), "{}: signal {sig}", user.label());
        }
        // Nothing of them is left in the container: only the init sleeps.
        let o = rt.run(&[
            "exec",
            "e5",
            "sh",
            "-c",
            "ps -o args | grep -c '^sleep 1000$'",
        ]);
        assert_eq!(stdout(&o), "1\n", "{}", user.label());
        ok(&rt.run(&["delete", "--force", "e5"]));
    }
}
