//! Runs a command and writes its wall time, peak RSS, CPU time and exit code to a file.
//!
//!     measure STATS_FILE COMMAND [ARGS...]
//!
//! Used by bench/compare_rust.sh, which compiles it with plain `rustc` (standard library
//! only, so that the benchmark needs nothing but a Rust toolchain). The command inherits
//! stdin, stdout and stderr. STATS_FILE receives one line:
//!
//!     <wall seconds> <peak RSS KiB> <CPU seconds, user + system> <exit code>
//!
//! Peak RSS and CPU time come from the kernel's resource usage of the finished child
//! (`wait4`, the figures GNU `time -v` prints). They include the child's own waited-for
//! children: CPU time is summed over the process tree, peak RSS is that of the largest
//! single process in it (for `cargo clippy`, usually the `clippy-driver` process).
//! The exit code of a command killed by a signal is 128 + the signal number.
//! Linux only: elsewhere `ru_maxrss` has other units.

use std::fs;
use std::os::raw::{c_int, c_long};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::time::Instant;

#[repr(C)]
#[derive(Default)]
struct Timeval {
    tv_sec: c_long,
    tv_usec: c_long,
}

/// `struct rusage` of Linux: two timevals and fourteen longs.
#[repr(C)]
#[derive(Default)]
struct Rusage {
    ru_utime: Timeval,
    ru_stime: Timeval,
    ru_maxrss: c_long,
    rest: [c_long; 13],
}

extern "C" {
    fn wait4(pid: c_int, status: *mut c_int, options: c_int, rusage: *mut Rusage) -> c_int;
}

fn secs(t: &Timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: measure STATS_FILE COMMAND [ARGS...]");
        std::process::exit(2);
    }
    let start = Instant::now();
    let child = match Command::new(&args[1]).args(&args[2..]).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("measure: cannot run {}: {e}", args[1]);
            std::process::exit(127);
        }
    };
    let pid = child.id() as c_int;
    let mut status: c_int = 0;
    let mut usage = Rusage::default();
    loop {
        // SAFETY: `status` and `usage` are valid for writes; `pid` is our child, which
        // `Child` has not waited for (it never waits on drop).
        let r = unsafe { wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            eprintln!("measure: wait4 failed: {err}");
            std::process::exit(2);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let status = ExitStatus::from_raw(status);
    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    let cpu = secs(&usage.ru_utime) + secs(&usage.ru_stime);
    let line = format!("{wall:.4} {} {cpu:.4} {code}\n", usage.ru_maxrss);
    if let Err(e) = fs::write(&args[0], line) {
        eprintln!("measure: cannot write {}: {e}", args[0]);
        std::process::exit(2);
    }
}
