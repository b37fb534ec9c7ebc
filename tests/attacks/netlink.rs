//! Dump the network interfaces over rtnetlink: the host's interface showing up means
//! the sandbox sees (and with privilege could reconfigure) the host's network.
use super::*;

pub fn run() -> Outcome {
    let want = target("HOST_IF");
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return blocked("socket(AF_NETLINK)");
    }
    // nlmsghdr (16) + ifinfomsg (16): RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP.
    let mut req = [0u8; 32];
    req[0..4].copy_from_slice(&32u32.to_ne_bytes());
    req[4..6].copy_from_slice(&(libc::RTM_GETLINK).to_ne_bytes());
    req[6..8].copy_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    req[16] = libc::AF_UNSPEC as u8;
    if unsafe { libc::send(fd, req.as_ptr().cast(), req.len(), 0) } < 0 {
        return blocked("send RTM_GETLINK");
    }
    let mut names = Vec::new();
    let mut buf = vec![0u8; 65536];
    'outer: loop {
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n <= 0 {
            break;
        }
        let mut off = 0usize;
        while off + 16 <= n as usize {
            let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
            let ty = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().unwrap());
            if len < 16 || ty == libc::NLMSG_DONE as u16 || ty == libc::NLMSG_ERROR as u16 {
                break 'outer;
            }
            let mut a = off + 32;
            while a + 4 <= off + len {
                let alen = u16::from_ne_bytes(buf[a..a + 2].try_into().unwrap()) as usize;
                let aty = u16::from_ne_bytes(buf[a + 2..a + 4].try_into().unwrap());
                if alen < 4 {
                    break;
                }
                if aty == libc::IFLA_IFNAME {
                    let s = &buf[a + 4..a + alen];
                    names.push(
                        String::from_utf8_lossy(s)
                            .trim_end_matches('\0')
                            .to_string(),
                    );
                }
                a += (alen + 3) & !3;
            }
            off += (len + 3) & !3;
        }
    }
    unsafe { libc::close(fd) };
    if names.contains(&want) {
        Outcome::Escaped(format!(
            "rtnetlink lists the host's {want} ({})",
            names.join(",")
        ))
    } else {
        Outcome::Blocked(format!("rtnetlink lists only {}", names.join(",")))
    }
}
