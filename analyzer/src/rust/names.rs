//! What the paths of `std`, `parking_lot`, `tokio`, `crossbeam` and friends are. Keys are full
//! paths as resolved through the file's `use` declarations (`use std::sync::{Mutex as M}` makes
//! `M` resolve to `std::sync::Mutex`), normalised so that `core::`/`alloc::` read as `std::`.

use threadlint_rules::model::{BlockingKind, Flavor, ObjKind};

/// A type the front-end knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownType {
    /// A lock that protects data (`Mutex<T>`, `RwLock<T>`, `ReentrantMutex<T>`).
    Lock(ObjKind),
    /// A synchronisation object without protected data (`Condvar`, `AtomicBool`, ...).
    Sync(ObjKind),
    /// A smart pointer or lazy cell that derefs to its first type argument.
    Transparent,
    /// `OnceLock<T>` / `OnceCell<T>`: `get()` gives `Option<&T>`, `get_or_init` gives `&T`.
    Once,
    Option,
    /// A collection of its first type argument (`Vec<T>`, `VecDeque<T>`).
    Seq,
    /// A lock guard (`MutexGuard<'_, T>`).
    Guard,
    /// `std::thread::Builder`.
    ThreadBuilder,
}

/// A function the front-end knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownFn {
    /// `std::thread::spawn`: a new OS thread, with a `JoinHandle`.
    ThreadSpawn,
    /// `tokio::spawn`, `rayon::spawn`, `spawn_blocking`, `blocking::unblock`: work handed to a
    /// runtime or pool; `async_task` when it is a task of the async runtime the caller runs on
    /// (`tokio::spawn`, not `spawn_blocking`'s thread pool).
    TaskSpawn {
        async_task: bool,
    },
    /// `std::thread::scope`, `crossbeam::scope`, `rayon::scope`: calls its closure with a scope
    /// whose spawned threads are joined when it returns.
    ThreadScope,
    Sleep,
    /// `tokio::time::sleep(..)`: a future.
    AsyncSleep,
    /// `tokio::time::pause()`: the runtime's clock stands still from here on; sleeps advance it
    /// when every task is idle.
    PauseClock,
    Drop,
    Forget,
    /// A channel constructor returning `(Sender, Receiver)`; `receiver` tells whether the
    /// receiver blocks the thread on `recv()` (std, crossbeam, flume, kanal, loole; not tokio), `bounded`
    /// whether the sender blocks on `send()` when the channel is full (`sync_channel`,
    /// `bounded`).
    Channel {
        receiver: bool,
        bounded: bool,
    },
    /// `parking_lot::const_mutex(..)` and friends.
    LockConstructor(ObjKind),
    /// `tokio::task::block_in_place(f)`: runs `f` on this thread, after the runtime has moved
    /// its other tasks away: blocking code inside is what it is for.
    BlockInPlace,
    /// A call that blocks the thread on the world outside: `std::fs` I/O,
    /// `std::net::TcpStream::connect`, `reqwest::blocking::get`.
    Blocking(BlockingKind),
}

/// `::std::x`, `core::x`, `alloc::x` -> `std::x`; `crossbeam::channel::x` ->
/// `crossbeam_channel::x`.
pub fn normalize(path: &str) -> String {
    let path = path.strip_prefix("::").unwrap_or(path);
    for (prefix, replacement) in [
        ("core::", "std::"),
        ("alloc::", "std::"),
        ("crossbeam::channel::", "crossbeam_channel::"),
        ("crossbeam_utils::thread::", "crossbeam::thread::"),
        ("futures_util::", "futures::"),
        ("loom::", "std::"),
    ] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return format!("{replacement}{rest}");
        }
    }
    path.to_string()
}

/// A crate's own `sync` module (`crate::sync::Mutex`, `crate::loom::sync::Condvar`,
/// `crate::primitive::sync::atomic::AtomicUsize`): a re-export of `std::sync` or of loom's copy
/// of it, by the convention of crates tested under loom. `path` is the part after `crate::`.
pub fn crate_shim(path: &str) -> Option<String> {
    let at = if path.starts_with("sync::") {
        0
    } else {
        path.rfind("::sync::")? + 2
    };
    let candidate = format!("std::{}", &path[at..]);
    let known = known_type(&candidate).is_some()
        || known_fn(&candidate).is_some()
        || candidate
            .rsplit_once("::")
            .is_some_and(|(owner, _)| known_type(owner).is_some());
    known.then_some(candidate)
}

const ATOMICS: &[&str] = &[
    "AtomicBool",
    "AtomicUsize",
    "AtomicIsize",
    "AtomicU8",
    "AtomicU16",
    "AtomicU32",
    "AtomicU64",
    "AtomicI8",
    "AtomicI16",
    "AtomicI32",
    "AtomicI64",
    "AtomicPtr",
    "AtomicU128",
    "AtomicI128",
];

pub fn known_type(path: &str) -> Option<KnownType> {
    use KnownType::{Guard, Lock, Once, Option, Seq, Sync, ThreadBuilder, Transparent};
    let std = Flavor::Std;
    let pl = Flavor::ParkingLot;
    let aio = Flavor::Async;
    let found = match path {
        "std::sync::Mutex" => Lock(ObjKind::Lock { flavor: std }),
        "std::sync::RwLock" => Lock(ObjKind::RwLock { flavor: std }),
        "std::sync::ReentrantLock" => Lock(ObjKind::RLock),
        "parking_lot::Mutex"
        | "parking_lot::FairMutex"
        | "lock_api::Mutex"
        | "spin::Mutex"
        | "spin::mutex::Mutex"
        | "spin::mutex::SpinMutex" => Lock(ObjKind::Lock { flavor: pl }),
        "parking_lot::RwLock" | "lock_api::RwLock" | "spin::RwLock" | "spin::rwlock::RwLock" => {
            Lock(ObjKind::RwLock { flavor: pl })
        }
        "parking_lot::ReentrantMutex" | "lock_api::ReentrantMutex" => Lock(ObjKind::RLock),
        "tokio::sync::Mutex"
        | "futures::lock::Mutex"
        | "async_std::sync::Mutex"
        | "async_lock::Mutex" => Lock(ObjKind::Lock { flavor: aio }),
        "tokio::sync::RwLock" | "async_std::sync::RwLock" | "async_lock::RwLock" => {
            Lock(ObjKind::RwLock { flavor: aio })
        }
        "std::sync::Condvar" => Sync(ObjKind::Condvar { flavor: std }),
        "parking_lot::Condvar" => Sync(ObjKind::Condvar { flavor: pl }),
        "std::sync::Barrier" => Sync(ObjKind::Barrier { has_timeout: false }),
        "std::sync::mpsc::Receiver"
        | "std::sync::mpmc::Receiver"
        | "crossbeam_channel::Receiver"
        | "flume::Receiver"
        | "loole::Receiver"
        | "kanal::Receiver" => Sync(ObjKind::Receiver),
        "std::sync::mpsc::SyncSender" => Sync(ObjKind::BoundedSender),
        "std::sync::mpsc::Sender" => Sync(ObjKind::Sender),
        "std::thread::JoinHandle"
        | "std::thread::ScopedJoinHandle"
        | "crossbeam::thread::ScopedJoinHandle" => Sync(ObjKind::Thread { daemon: false }),
        "tokio::task::JoinHandle" => Sync(ObjKind::Future),
        "std::sync::Arc"
        | "std::rc::Rc"
        | "std::boxed::Box"
        | "Box"
        | "std::sync::LazyLock"
        | "std::cell::LazyCell"
        | "once_cell::sync::Lazy"
        | "once_cell::unsync::Lazy"
        | "crossbeam::utils::CachePadded"
        | "crossbeam_utils::CachePadded"
        | "std::mem::ManuallyDrop"
        | "std::pin::Pin"
        | "triomphe::Arc" => Transparent,
        "std::sync::OnceLock"
        | "std::cell::OnceCell"
        | "once_cell::sync::OnceCell"
        | "once_cell::unsync::OnceCell" => Once,
        "std::option::Option" | "Option" => Option,
        "std::vec::Vec" | "Vec" | "std::collections::VecDeque" => Seq,
        "std::sync::MutexGuard"
        | "std::sync::RwLockReadGuard"
        | "std::sync::RwLockWriteGuard"
        | "parking_lot::MutexGuard"
        | "parking_lot::RwLockReadGuard"
        | "parking_lot::RwLockWriteGuard"
        | "parking_lot::ReentrantMutexGuard"
        | "parking_lot::MappedMutexGuard"
        | "tokio::sync::MutexGuard"
        | "tokio::sync::OwnedMutexGuard"
        | "tokio::sync::RwLockReadGuard"
        | "tokio::sync::RwLockWriteGuard" => Guard,
        "std::thread::Builder" => ThreadBuilder,
        _ => {
            let (module, name) = path.rsplit_once("::")?;
            let atomic_module = matches!(
                module,
                "std::sync::atomic"
                    | "portable_atomic"
                    | "crossbeam::atomic"
                    | "crossbeam_utils::atomic"
            );
            if atomic_module && (ATOMICS.contains(&name) || name == "AtomicCell") {
                Sync(ObjKind::Atomic)
            } else {
                return None;
            }
        }
    };
    Some(found)
}

pub fn known_fn(path: &str) -> Option<KnownFn> {
    use KnownFn::{
        AsyncSleep, BlockInPlace, Blocking, Channel, Drop, Forget, LockConstructor, PauseClock,
        Sleep, TaskSpawn, ThreadScope, ThreadSpawn,
    };
    let found = match path {
        "std::thread::spawn" => ThreadSpawn,
        "tokio::spawn"
        | "tokio::task::spawn"
        | "tokio::task::spawn_local"
        | "async_std::task::spawn"
        | "smol::spawn" => TaskSpawn { async_task: true },
        "tokio::task::spawn_blocking"
        | "rayon::spawn"
        | "rayon::spawn_fifo"
        | "async_std::task::spawn_blocking"
        | "smol::unblock"
        | "blocking::unblock" => TaskSpawn { async_task: false },
        "std::thread::scope"
        | "crossbeam::scope"
        | "crossbeam::thread::scope"
        | "rayon::scope"
        | "rayon::scope_fifo"
        | "rayon::in_place_scope" => ThreadScope,
        "std::thread::sleep" | "std::thread::sleep_ms" => Sleep,
        "tokio::time::sleep" | "tokio::time::sleep_until" | "async_std::task::sleep" => AsyncSleep,
        "tokio::time::pause" => PauseClock,
        "tokio::task::block_in_place" => BlockInPlace,
        "std::fs::read"
        | "std::fs::read_to_string"
        | "std::fs::read_dir"
        | "std::fs::write"
        | "std::fs::copy"
        | "std::fs::rename"
        | "std::fs::remove_file"
        | "std::fs::remove_dir"
        | "std::fs::remove_dir_all"
        | "std::fs::create_dir"
        | "std::fs::create_dir_all"
        | "std::fs::metadata"
        | "std::fs::symlink_metadata"
        | "std::fs::canonicalize"
        | "std::fs::hard_link"
        | "std::fs::read_link"
        | "std::fs::set_permissions"
        | "std::fs::File::open"
        | "std::fs::File::create"
        | "std::fs::File::create_new" => Blocking(BlockingKind::FileIo),
        "std::net::TcpStream::connect"
        | "std::net::TcpStream::connect_timeout"
        | "std::net::ToSocketAddrs::to_socket_addrs" => Blocking(BlockingKind::Connect),
        "reqwest::blocking::get" => Blocking(BlockingKind::Network),
        "std::mem::drop" | "drop" => Drop,
        "std::mem::forget" | "std::sync::MutexGuard::leak" => Forget,
        "std::sync::mpsc::channel"
        | "std::sync::mpmc::channel"
        | "crossbeam_channel::unbounded"
        | "flume::unbounded"
        | "loole::unbounded"
        | "kanal::unbounded" => Channel {
            receiver: true,
            bounded: false,
        },
        "std::sync::mpsc::sync_channel"
        | "std::sync::mpmc::sync_channel"
        | "crossbeam_channel::bounded"
        | "flume::bounded"
        | "loole::bounded"
        | "kanal::bounded" => Channel {
            receiver: true,
            bounded: true,
        },
        "tokio::sync::mpsc::channel"
        | "tokio::sync::mpsc::unbounded_channel"
        | "tokio::sync::oneshot::channel"
        | "tokio::sync::broadcast::channel"
        | "std::sync::mpsc::Sender" => Channel {
            receiver: false,
            bounded: false,
        },
        "parking_lot::const_mutex" | "parking_lot::const_fair_mutex" => {
            LockConstructor(ObjKind::Lock {
                flavor: Flavor::ParkingLot,
            })
        }
        "parking_lot::const_rwlock" => LockConstructor(ObjKind::RwLock {
            flavor: Flavor::ParkingLot,
        }),
        "parking_lot::const_reentrant_mutex" => LockConstructor(ObjKind::RLock),
        _ => return None,
    };
    Some(found)
}

/// Associated functions that build a value of their type (`Mutex::new`).
/// Methods of an atomic that write it (atomically: a read-modify-write of an atomic is not a
/// race).
pub fn is_atomic_write(method: &str) -> bool {
    matches!(
        method,
        "store" | "swap" | "compare_exchange" | "compare_exchange_weak" | "compare_and_swap"
    ) || method.starts_with("fetch_")
}

/// Atomic writes that take effect only if the atomic still holds the expected value.
pub fn is_compare_and_swap(method: &str) -> bool {
    matches!(
        method,
        "compare_exchange" | "compare_exchange_weak" | "compare_and_swap" | "fetch_update"
    )
}

/// Reads the current time: a condition comparing with it is a deadline, which passes by
/// itself rather than through another thread.
pub fn is_clock(path: &str) -> bool {
    matches!(
        path,
        "std::time::Instant::now" | "std::time::SystemTime::now" | "tokio::time::Instant::now"
    )
}

pub fn is_constructor(name: &str) -> bool {
    matches!(
        name,
        "new" | "default" | "const_new" | "from" | "new_with" | "with_capacity" | "new_in"
    )
}

/// What a method call on a lock does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMethod {
    /// Blocks until the lock is taken; returns a guard (`lock`, `read`, `write`).
    Blocking,
    /// `try_lock`, `try_read`, `try_write`.
    NonBlocking,
    /// `try_lock_for`, `try_lock_until`, `try_write_for`, ...
    Timeout,
    /// `force_unlock`: releases without a guard (parking_lot).
    ForceUnlock,
    /// `raw()`: the raw lock, locked and unlocked by hand.
    Raw,
}

pub fn lock_method(kind: ObjKind, method: &str) -> Option<LockMethod> {
    use LockMethod::{Blocking, ForceUnlock, NonBlocking, Raw, Timeout};
    let found = match (kind, method) {
        (
            ObjKind::Lock { .. } | ObjKind::RLock,
            "lock" | "lock_arc" | "lock_owned" | "blocking_lock",
        ) => Blocking,
        (ObjKind::Lock { .. } | ObjKind::RLock, "try_lock" | "try_lock_arc" | "try_lock_owned") => {
            NonBlocking
        }
        (ObjKind::Lock { .. } | ObjKind::RLock, "try_lock_for" | "try_lock_until") => Timeout,
        (
            ObjKind::RwLock { .. },
            "read"
            | "write"
            | "upgradable_read"
            | "read_recursive"
            | "read_arc"
            | "write_arc"
            | "upgradable_read_arc"
            | "read_owned"
            | "write_owned"
            | "blocking_read"
            | "blocking_write",
        ) => Blocking,
        (
            ObjKind::RwLock { .. },
            "try_read" | "try_write" | "try_upgradable_read" | "try_read_recursive",
        ) => NonBlocking,
        (
            ObjKind::RwLock { .. },
            "try_read_for"
            | "try_read_until"
            | "try_write_for"
            | "try_write_until"
            | "try_upgradable_read_for"
            | "try_upgradable_read_until",
        ) => Timeout,
        (
            ObjKind::Lock { .. } | ObjKind::RLock | ObjKind::RwLock { .. },
            "force_unlock"
            | "force_unlock_fair"
            | "force_unlock_read"
            | "force_unlock_write"
            | "force_unlock_read_fair"
            | "force_unlock_write_fair",
        ) => ForceUnlock,
        (ObjKind::Lock { .. } | ObjKind::RLock | ObjKind::RwLock { .. }, "raw") => Raw,
        _ => return None,
    };
    Some(found)
}

/// `Condvar` methods: (predicate loop built in, has a timeout).
pub fn condvar_wait(method: &str) -> Option<(bool, bool)> {
    Some(match method {
        "wait" => (false, false),
        "wait_timeout" | "wait_timeout_ms" | "wait_for" | "wait_until" => (false, true),
        "wait_while" => (true, false),
        "wait_timeout_while" | "wait_while_for" | "wait_while_until" => (true, true),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_knows_paths() {
        assert_eq!(
            normalize("::core::sync::atomic::AtomicBool"),
            "std::sync::atomic::AtomicBool"
        );
        assert_eq!(
            normalize("crossbeam::channel::Receiver"),
            "crossbeam_channel::Receiver"
        );
        assert_eq!(
            known_type("std::sync::atomic::AtomicU64"),
            Some(KnownType::Sync(ObjKind::Atomic))
        );
        assert_eq!(known_type("std::sync::Arc"), Some(KnownType::Transparent));
        assert_eq!(known_type("my::Mutex"), None);
        assert_eq!(known_fn("std::thread::spawn"), Some(KnownFn::ThreadSpawn));
        assert_eq!(
            crate_shim("primitive::sync::Condvar").as_deref(),
            Some("std::sync::Condvar")
        );
        assert_eq!(
            crate_shim("sync::Mutex::new").as_deref(),
            Some("std::sync::Mutex::new")
        );
        assert_eq!(
            crate_shim("loom::sync::atomic::AtomicBool").as_deref(),
            Some("std::sync::atomic::AtomicBool")
        );
        assert_eq!(crate_shim("util::Mutex"), None);
    }
}
