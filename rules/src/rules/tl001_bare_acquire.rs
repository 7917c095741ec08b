use crate::declare_rule;
use crate::diagnostic::{Applicability, Edit, Finding, Fix, FixAvailability, Violation};
use crate::model::{
    bodies, AcquireHow, Event, EventKind, ExitKind, FileModel, FnId, Language, Node, ObjId, Scope,
    ScopeKind, Span,
};
use crate::registry::{Check, Context};
use crate::source::{
    indent_lines, indentation, line_end_inclusive, line_start, may_hold_multiline_string,
    only_trivia_between, short, stands_alone, text, SNIPPET_WIDTH,
};

/// How wide a Rust lock or call may be quoted in a message.
const ONE_LINE_WIDTH: usize = 50;

declare_rule! {
    /// ## What it does
    /// Checks for `acquire()` calls on a lock, semaphore or condition that are not protected by
    /// `with` or by a `try:` block, right after the acquisition, whose `finally:` releases it.
    ///
    /// ## Why is this bad?
    /// If any statement between `acquire()` and `release()` raises, the release never runs and
    /// the lock stays held: every other thread that needs it blocks forever. `with lock:`
    /// releases on every path out of the block, exceptions included.
    ///
    /// Not reported: `if lock.acquire(timeout=t):` (or `if not lock.acquire(...): raise ...`)
    /// followed by `try:`/`finally: lock.release()`, which is the correct way to take a lock
    /// with a timeout, or by a `release()` as the arm's first statement (a probe: `if
    /// lock.acquire(False): lock.release()`; a statement before it, even `value = table[key]`,
    /// can raise); and an acquisition whose release is in another method of the same class
    /// (a check-out/return protocol such as a connection pool's semaphore). That method must give
    /// back what another took: a release after its own acquisition of the lock ends its own
    /// critical section, and does not make a protocol of an acquisition elsewhere that is
    /// never released. (A lock a plain or nested function releases is often a signal handed
    /// between threads, and is left alone.) Nor are `try: lock.acquire()` / `except ...:` /
    /// `else: lock.release()`, where the handlers run only if the acquisition itself failed,
    /// and an acquisition in a function that first released the same lock (a condition's
    /// `wait()` gives the caller's hold back, then takes it again), or inside a `with` block of
    /// the same lock that let it go for a while (around an `await`): the block's end releases it.
    /// An acquisition that is the last statement of a `with pytest.raises(...)` (or a test
    /// case's `self.assertRaises(...)`) block is expected to fail and takes nothing; one
    /// followed by another statement there is taken, and may be left held.
    ///
    /// The lock may be of a class threadlint cannot resolve (made by a factory, a mixin's
    /// `self.Lock()`, another library's reader-writer lock): an object on which one function
    /// calls `acquire()` with a lock's arguments and `release()` with none is used as only a
    /// lock is, and so is every other result of the call that made it. On such an object a
    /// non-blocking `acquire(False)` whose result is dropped is not reported: it is as likely
    /// a semaphore's token taken on purpose.
    ///
    /// ## Example
    /// ```python
    /// lock.acquire()
    /// balance += amount
    /// lock.release()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// with lock:
    ///     balance += amount
    /// ```
    ///
    /// With a timeout:
    /// ```python
    /// if not lock.acquire(timeout=5):
    ///     raise TimeoutError("lock busy")
    /// try:
    ///     balance += amount
    /// finally:
    ///     lock.release()
    /// ```
    ///
    /// In Rust a guard releases the lock on every path, panics included, so the rule reports
    /// the ways around it: a guard leaked with `std::mem::forget(guard)` or
    /// `MutexGuard::leak(guard)` (the lock stays held, or is released later by hand with
    /// parking_lot's `force_unlock`, which a panic or an early `return` in between skips), and a
    /// raw lock (`m.raw().lock()`) that is not unlocked on every path out of the function. A
    /// leak or a raw lock whose unlock is in another function of the file (a lock held across
    /// calls on purpose) is a protocol, not reported; so is a guard forgotten and unlocked by
    /// hand at once, with nothing in between (`mem::forget(guard); unsafe { m.force_unlock() }`),
    /// which unlocks where a drop would.
    ///
    /// ```rust
    /// let guard = state.lock();
    /// std::mem::forget(guard);
    /// update(&state)?;
    /// unsafe { state.force_unlock() };
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let mut guard = state.lock();
    /// update_locked(&mut guard)?;
    /// ```
    ///
    /// ## Fix
    /// `acquire()`, statements, then `try:` ... `finally: release()` becomes one `with` block
    /// (safe: the only difference is that the lock is also released when the statements before
    /// the `try` raise). A straight-line `acquire(); ...; release()` becomes a `with` block too,
    /// but that fix is unsafe: the lock is then released when the block raises, which changes
    /// what other threads can observe after an error.
    ///
    /// There is no fix when the acquisition has a timeout or does not block (`acquire(timeout=5)`,
    /// `acquire(False)`: a `with` block would wait forever), nor when the lock is released
    /// early on another path in between (`if done: lock.release(); return`), which the `with`
    /// block would release a second time, nor when the object is known only by its
    /// `acquire()`/`release()` calls (a `multiprocessing` manager's proxy of a lock has no
    /// `__enter__`: `with` would raise `TypeError`).
    ///
    /// ## References
    /// - [Python docs: Using locks, conditions, and semaphores in the `with` statement](https://docs.python.org/3/library/threading.html#with-locks)
    /// - [Rust docs: `std::mem::forget`](https://doc.rust-lang.org/std/mem/fn.forget.html)
    /// - [lock_api docs: `Mutex::force_unlock`](https://docs.rs/lock_api/latest/lock_api/struct.Mutex.html#method.force_unlock)
    pub static RULE = {
        violation: BareAcquire,
        name: "bare-acquire",
        severity: Warning,
        languages: [Python, Rust],
        summary: "`acquire()` without `with` or `try`/`finally`: an exception leaves the lock held.",
        supersedes: [crate::rules::tl005_missing_timeout::MissingTimeout],
        check: Check::File(check),
    };
}

/// A lock taken where it is not released on every path.
pub enum BareAcquire {
    /// Python: `acquire()` without `with` or `try`/`finally`; `call` as written when it has
    /// arguments, `waits` when it blocks with no timeout, `with_statement` when the object is
    /// known to be a context manager.
    Acquire {
        name: String,
        call: String,
        kind: &'static str,
        waits: bool,
        with_statement: bool,
    },
    /// Rust: a guard leaked (`mem::forget`), unlocked later by hand or never.
    LeakedGuard {
        call: String,
        name: String,
        kind: &'static str,
        unlocked_later: bool,
    },
    /// Rust: a raw lock (`raw().lock()`) not unlocked on every path, or never.
    RawLock {
        call: String,
        name: String,
        kind: &'static str,
        unlocked_later: bool,
    },
}

impl Violation for BareAcquire {
    const FIX: FixAvailability = FixAvailability::Sometimes;

    fn message(&self) -> String {
        match self {
            BareAcquire::Acquire { call, kind, waits: true, .. } => format!(
                "`{call}` is not released on every path: if the code after it raises, the {kind} stays held and other threads block forever"
            ),
            BareAcquire::Acquire { call, kind, waits: false, .. } => format!(
                "`{call}` is not released on every path: if the code after it raises, the {kind} stays held and every later attempt to take it blocks or fails"
            ),
            BareAcquire::LeakedGuard { call, name, kind, unlocked_later: false } => format!("`{call}` leaks the guard of `{name}`: the {kind} stays locked, no drop will unlock it, and every later attempt to lock it blocks forever"),
            BareAcquire::LeakedGuard { call, name, kind, unlocked_later: true } => format!("`{call}` leaks the guard of `{name}` and unlocks it later by hand: a panic or an early return in between leaves the {kind} locked forever"),
            BareAcquire::RawLock { call, name, kind, unlocked_later: false } => format!("Raw `{call}` locks `{name}` and this function never unlocks it: the {kind} stays locked and every later attempt to lock it blocks forever"),
            BareAcquire::RawLock { call, name, unlocked_later: true, .. } => format!("Raw `{call}` is not unlocked on every path: a panic, an early return or a branch that skips the `unlock()` leaves `{name}` locked forever"),
        }
    }

    fn help(&self) -> String {
        match self {
            BareAcquire::Acquire { name, waits: true, with_statement: true, .. } => format!("Use `with {name}:`, or follow the acquisition at once with `try:` ... `finally: {name}.release()`"),
            BareAcquire::Acquire { name, waits: false, with_statement: true, .. } => format!("Follow the successful acquisition at once with `try:` ... `finally: {name}.release()` (inside the `if` that tests it); `with {name}:` would wait with no timeout"),
            BareAcquire::Acquire { name, with_statement: false, .. } => format!("Follow the acquisition at once with `try:` ... `finally: {name}.release()` (`{name}` is known only by its `acquire()`/`release()`, and may not support `with`: a manager's proxy does not)"),
            BareAcquire::LeakedGuard { name, unlocked_later: false, .. } => format!("Let the guard go out of scope (or `drop(guard)`) to unlock `{name}`; to hold it across calls, keep the guard in a struct field instead of forgetting it"),
            BareAcquire::LeakedGuard { name, unlocked_later: true, .. } => format!("Keep the guard alive until the work is done and let its drop unlock `{name}` on every path, panics included, instead of `mem::forget` and `force_unlock`"),
            BareAcquire::RawLock { name, unlocked_later: false, .. } => format!("Use `{name}.lock()` and its guard, which unlocks on every path; or call `unlock()` before every return"),
            BareAcquire::RawLock { name, unlocked_later: true, .. } => format!("Use `{name}.lock()` and its guard, which unlocks on every path, panics included"),
        }
    }
}

/// Two algorithms, one per language, because the languages release locks differently: in
/// Python a lock taken by hand is released by a call that must run on every way out
/// ([`python`]); in Rust a guard releases itself when dropped, so what is left is a guard
/// leaked with `mem::forget` and a raw lock unlocked by hand ([`rust`]).
fn check(cx: &Context) -> Vec<Finding> {
    match cx.model.language {
        Language::Python => python::check(cx),
        Language::Rust => rust::check(cx),
    }
}

mod python;
mod rust;
