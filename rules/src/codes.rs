//! Every rule's code, bound to the rule's violation type in this one place (as ruff's
//! `codes.rs`): a rule file names no code. A rule's `declare_rule!` names its violation type
//! and takes the code from here; its findings take it from their violation.

use crate::registry::Rule;
use crate::rules::*;

/// The code of a violation type, given by [`codes!`] only.
pub trait Code {
    const CODE: &'static str;
}

/// Binds each code to its rule's violation type and lists the rules, in code order, as
/// [`RULES`].
macro_rules! codes {
    ($($code:literal => $module:ident :: $violation:ident,)*) => {
        $(
            impl Code for $module::$violation {
                const CODE: &'static str = $code;
            }
        )*

        /// Every rule, in code order.
        pub static RULES: &[&Rule] = &[$(&$module::RULE),*];
    };
}

codes! {
    "TL001" => tl001_bare_acquire::BareAcquire,
    "TL002" => tl002_wait_not_in_loop::WaitNotInLoop,
    "TL003" => tl003_sleep_polling::SleepPolling,
    "TL004" => tl004_lock_order_inversion::LockOrderInversion,
    "TL005" => tl005_missing_timeout::MissingTimeout,
    "TL006" => tl006_unsynchronized_shared_update::UnsynchronizedSharedUpdate,
    "TL007" => tl007_nonreentrant_reacquire::NonreentrantReacquire,
    "TL008" => tl008_sleep_synchronization::SleepSynchronization,
    "TL009" => tl009_blocking_under_lock::BlockingUnderLock,
    "TL010" => tl010_useless_lock::UselessLock,
    "TL011" => tl011_unlocked_notify_or_wait::UnlockedNotifyOrWait,
    "TL012" => tl012_thread_run_called::ThreadRunCalled,
    "TL013" => tl013_daemon_after_start::DaemonAfterStart,
    "TL014" => tl014_thread_leak::ThreadLeak,
    "TL015" => tl015_check_then_act::CheckThenAct,
    "TL016" => tl016_lost_exception::LostException,
    "TL017" => tl017_guard_dropped_immediately::GuardDroppedImmediately,
    "TL018" => tl018_lock_across_await::LockAcrossAwait,
    "TL019" => tl019_blocking_call_in_async::BlockingCallInAsync,
}
