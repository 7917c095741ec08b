use crate::declare_rule;
use crate::diagnostic::{FixAvailability, Violation};
use crate::registry::Check;

declare_rule! {
    /// ## What it does
    /// Checks for locks acquired in conflicting orders: somewhere `b` is taken while `a` is
    /// held, and somewhere else `a` is taken while `b` is held (or a longer cycle `a -> b -> c
    /// -> a`). Acquisitions count whether they are nested `with` blocks, `acquire()` calls, or
    /// happen inside a function called while the outer lock is held. Also checks for two
    /// locks taken from two parameters of the same type (`def transfer(a, b): with a.lock: with
    /// b.lock:`), which inverts as soon as two callers pass the arguments swapped. Parameters
    /// whose written types differ (`code: &Mutex<Code>, storage: &Mutex<Store>`) cannot be
    /// swapped and are not reported. The same goes for a lock of `self` and the same lock of a
    /// parameter of its type (`fn link(&self, other: &Peer)` taking `self.links`, then
    /// `other.links`): `a.link(&b)` and `b.link(&a)` at once deadlock. `tokio::join!(a.lock(),
    /// b.lock())` takes `a`, then `b`, when both are free. A wrapper type that dereferences to a
    /// lock (`struct Links(Arc<Mutex<..>>)` with `impl Deref for Links`) is that lock.
    ///
    /// In Rust, a method that has its value to itself (`&mut self`, `self` by value, as
    /// `Drop::drop`) and holds a lock that is a field of that value (`Mutex<T>`, not
    /// `Arc<Mutex<T>>`) orders nothing: no other thread can reach that lock meanwhile, so no
    /// other thread can hold the second lock and wait for it.
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
        violation: LockOrderInversion,
        name: "lock-order-inversion",
        severity: Error,
        languages: [Python, Rust],
        summary: "Locks acquired nested in conflicting orders: two threads can deadlock.",
        guards_fixes: true,
        // The lock-order graph spans files: see `crate::lock_order`.
        check: Check::Program,
    };
}

/// Locks acquired nested in an order that another site reverses.
pub enum LockOrderInversion {
    /// `inner` acquired while holding `outer` (`through_call`: in a function this call
    /// reaches), where elsewhere the order is reversed, or closes a cycle of three or more
    /// locks taken in the order `chain`.
    Cycle {
        inner: String,
        outer: String,
        through_call: bool,
        chain: Option<String>,
    },
    /// Both locks taken from two parameters of the same type.
    ParameterOrder {
        inner: String,
        outer: String,
        /// The code is Rust (the advice orders by address, not by `id()`).
        rust: bool,
    },
}

impl Violation for LockOrderInversion {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        match self {
            LockOrderInversion::Cycle {
                inner,
                outer,
                through_call,
                chain,
            } => {
                let through = if *through_call {
                    " (through this call)"
                } else {
                    ""
                };
                match chain {
                    Some(chain) => format!(
                        "`{inner}` is acquired{through} while holding `{outer}`, and elsewhere locks are taken in the order {chain}, which closes a cycle of {count} locks: threads following it deadlock",
                        count = chain.matches(" -> ").count() + 1,
                    ),
                    None => format!(
                        "`{inner}` is acquired{through} while holding `{outer}`, but elsewhere `{outer}` is acquired while holding `{inner}`: two threads taking them in opposite orders deadlock"
                    ),
                }
            }
            LockOrderInversion::ParameterOrder { inner, outer, .. } => format!(
                "`{inner}` is acquired while holding `{outer}`, both from parameters of the same type: a call that passes the same two locks the other way round deadlocks with this one"
            ),
        }
    }

    fn help(&self) -> String {
        match self {
            LockOrderInversion::Cycle { .. } => "Take these locks in one global order everywhere (or replace them with a single coarser lock)",
            LockOrderInversion::ParameterOrder { rust: false, .. } => "Acquire the two locks in an order that does not depend on the arguments, e.g. sorted by `id()` or by a key of what they guard",
            LockOrderInversion::ParameterOrder { rust: true, .. } => "Acquire the two locks in an order that does not depend on the arguments, e.g. by a key of what they guard or by address (`std::ptr::addr_of!(*a) < std::ptr::addr_of!(*b)`)",
        }
        .to_string()
    }
}
