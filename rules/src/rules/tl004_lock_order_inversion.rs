use crate::declare_rule;
use crate::registry::Check;

declare_rule! {
    /// ## What it does
    /// Checks for locks acquired in conflicting orders: somewhere `b` is taken while `a` is
    /// held, and somewhere else `a` is taken while `b` is held (or a longer cycle `a -> b -> c
    /// -> a`). Acquisitions count whether they are nested `with` blocks, `acquire()` calls, or
    /// happen inside a function called while the outer lock is held. Also checks for two
    /// locks taken from parameters in argument order (`def transfer(a, b): with a.lock: with
    /// b.lock:`), which inverts as soon as two callers pass the arguments swapped.
    ///
    /// Every site of the cycle is reported, each with the other sites as related locations.
    /// When the inner lock is taken inside a callee, the finding is on the call in the function
    /// that holds the outer lock, and the callee's acquisition is a related location. Each side
    /// of the cycle is also given as a trace (SARIF `codeFlows`, JSON `traces`): where it takes
    /// the outer lock, each call it makes holding it, in whatever file, and where it takes the
    /// inner one.
    ///
    /// ## Why is this bad?
    /// Thread 1 holds `a` and waits for `b`; thread 2 holds `b` and waits for `a`. Neither can
    /// go on: a deadlock, which shows up only under load and only sometimes.
    ///
    /// ## Example
    /// ```python
    /// def deposit(self):
    ///     with self.accounts_lock:
    ///         with self.audit_lock:
    ///             ...
    ///
    /// def report(self):
    ///     with self.audit_lock:
    ///         with self.accounts_lock:
    ///             ...
    /// ```
    ///
    /// Use instead: one global order for every pair of locks.
    /// ```python
    /// def report(self):
    ///     with self.accounts_lock:
    ///         with self.audit_lock:
    ///             ...
    /// ```
    ///
    /// For locks that come from arguments, order them by something stable:
    /// ```python
    /// def transfer(a, b, amount):
    ///     first, second = sorted((a, b), key=id)
    ///     with first.lock, second.lock:
    ///         ...
    /// ```
    ///
    /// or replace the pair with a single, coarser lock.
    ///
    /// ## References
    /// - [Coffman et al., System Deadlocks (1971)](https://doi.org/10.1145/356586.356588)
    /// - [Python docs: Lock objects](https://docs.python.org/3/library/threading.html#lock-objects)
    pub static RULE = {
        code: "TL004",
        name: "lock-order-inversion",
        severity: Error,
        languages: [Python, Rust],
        summary: "Locks acquired nested in conflicting orders: two threads can deadlock.",
        guards_fixes: true,
        // The lock-order graph spans files: see `crate::lock_order`.
        check: Check::Program,
    };
}
