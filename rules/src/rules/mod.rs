//! One rule per file; the file's doc comment (in `declare_rule!`) is the rule's documentation.

pub mod tl001_bare_acquire;
pub mod tl002_wait_not_in_loop;
pub mod tl003_sleep_polling;
pub mod tl004_lock_order_inversion;
pub mod tl005_missing_timeout;
pub mod tl006_unsynchronized_shared_update;
pub mod tl007_nonreentrant_reacquire;
pub mod tl008_sleep_synchronization;
pub mod tl009_blocking_under_lock;
pub mod tl010_useless_lock;
pub mod tl011_unlocked_notify_or_wait;
pub mod tl012_thread_run_called;
pub mod tl013_daemon_after_start;
pub mod tl014_thread_leak;
pub mod tl015_check_then_act;
pub mod tl016_lost_exception;
pub mod tl017_guard_dropped_immediately;
pub mod tl018_lock_across_await;
pub mod tl019_blocking_call_in_async;
