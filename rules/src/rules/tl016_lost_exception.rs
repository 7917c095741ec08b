use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Violation};
use crate::model::{events, Event, EventKind, ExitKind, FileModel, Language, Node, ObjId, Span};
use crate::registry::{Check, Context};

declare_rule! {
    /// ## What it does
    /// Checks for tasks whose exceptions nobody can see: `executor.submit(task)` as a
    /// statement of its own, which drops the future at once, and a
    /// `for future in as_completed(futures):` loop whose body never calls
    /// `future.result()` or `future.exception()`.
    ///
    /// Not reported: a future that is kept (assigned, stored, appended), returned, passed to
    /// a call, or given a callback (`executor.submit(task).add_done_callback(log_errors)`);
    /// in an `as_completed` loop, a future the body hands on (`results.append(future)`,
    /// `handle(future)`) is the callee's to check. Only the future's state queries
    /// (`done()`, `cancelled()`, `running()`) and lookups keyed by it (`names[future]`) leave
    /// it unchecked. `map(...)` is left alone: a `multiprocessing` pool's `map` returns a list
    /// and raises in the caller, and an executor's `map` raises when its results are iterated.
    /// Nor is a dropped future of a task that handles its own failures: a function of the
    /// file whose work is in a `try` with a handler of `Exception` (or `BaseException`, or a
    /// bare `except:`) that raises nothing, beside simple statements (assignments, calls,
    /// `if`s), or that only calls such functions (`def _run(): self.run_listeners(m)`):
    /// its future never holds an exception.
    ///
    /// Rust: the result of `JoinHandle::join()` thrown away (`let _ = handle.join();`,
    /// `handle.join().ok();`, `_ = handle.join();`, `drop(handle.join())`,
    /// `handle.join().unwrap_or_default();`), on a handle resolved as a thread's: from
    /// `std::thread::spawn`, a `thread::Builder`, a scoped thread of `std::thread::scope` or
    /// crossbeam, or a value typed `JoinHandle`/`ScopedJoinHandle`. A scoped thread joined by
    /// hand counts as handled: its scope no longer re-raises the panic. Not reported: a tokio
    /// `JoinHandle`, which is awaited, not joined; `let _ = handle.await;` is also how a task
    /// that was just `abort()`ed is waited for, and its `Err` is then the expected
    /// cancellation. A type of the crate's own with a `join` method is not a thread handle.
    /// Nor is a thread whose code ends in a `panic!` of its own, outside any branch (a test
    /// that poisons a lock): there the `Err` is the expected outcome.
    ///
    /// ## Why is this bad?
    /// An exception raised in a task submitted to an executor is caught by the executor and
    /// stored in the task's future; it is raised again only by `result()` (or returned by
    /// `exception()`). When nothing asks, the task fails silently: no traceback, no log line,
    /// and the program goes on as though the work was done.
    ///
    /// ## Example
    /// ```python
    /// with ThreadPoolExecutor() as executor:
    ///     for url in urls:
    ///         executor.submit(download, url)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// with ThreadPoolExecutor() as executor:
    ///     futures = [executor.submit(download, url) for url in urls]
    ///     for future in as_completed(futures):
    ///         try:
    ///             future.result()
    ///         except Exception:
    ///             log.exception("download failed")
    /// ```
    ///
    /// In Rust, a panic in a spawned thread unwinds that thread only; `join()` returns it as
    /// `Err(payload)`. Throwing that `Result` away prints the panic message (the default hook
    /// does) but lets the program continue with the thread's work undone.
    ///
    /// ```rust
    /// let handle = thread::spawn(move || write_index(&path));
    /// let _ = handle.join();
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let handle = thread::spawn(move || write_index(&path));
    /// handle.join().expect("index writer panicked");
    /// ```
    ///
    /// In a `Drop` implementation's `drop`, log the `Err` instead (`if let Err(panic) =
    /// handle.join() { ... }`): a panic there while the thread is already unwinding aborts the
    /// process. The advice says so.
    ///
    /// ## References
    /// - [Rust docs: `JoinHandle::join`](https://doc.rust-lang.org/std/thread/struct.JoinHandle.html#method.join)
    /// - [Python docs: `Executor.submit`](https://docs.python.org/3/library/concurrent.futures.html#concurrent.futures.Executor.submit)
    /// - [Python docs: `Future.result`](https://docs.python.org/3/library/concurrent.futures.html#concurrent.futures.Future.result)
    pub static RULE = {
        violation: LostException,
        name: "lost-exception",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A submitted task's future discarded or never asked for its result, or a Rust thread's `join()` result thrown away: an exception or panic in the task is lost silently.",
        check: Check::File(check),
    };
}

/// A task whose exception or panic nobody sees.
pub enum LostException {
    /// `executor.submit(task)` as a statement of its own.
    DiscardedFuture { executor: String },
    /// An `as_completed` loop that never asks its `future` for the result.
    UncheckedLoop { future: String },
    /// Rust: a thread's `join()` result thrown away; the handle as written, unless it is too
    /// long to quote (a handle joined where it is spawned).
    /// `in_drop`: the join is in a `Drop` implementation's `drop(&mut self)`, where a panic
    /// while the thread is already unwinding aborts the process.
    DiscardedJoin {
        handle: Option<String>,
        in_drop: bool,
    },
}

impl Violation for LostException {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        match self {
            LostException::DiscardedFuture { executor } => format!("The future returned by `{executor}.submit(...)` is discarded: an exception the task raises is stored in that future and never raised or logged, so the failure goes unnoticed"),
            LostException::UncheckedLoop { future: name } => format!("This `as_completed(...)` loop never calls `{name}.result()` or `{name}.exception()`: an exception a task raised stays stored in its future and is never seen"),
            LostException::DiscardedJoin { handle, .. } => {
                let joined = handle.as_ref().map_or_else(
                    || "this thread's `join()`".to_string(),
                    |handle| format!("`{handle}.join()`"),
                );
                format!(
                    "The result of {joined} is thrown away: it is `Err` with the panic payload when the thread panicked, so the failure is swallowed and the program goes on as though the thread's work was done"
                )
            }
        }
    }

    fn help(&self) -> String {
        match self {
            LostException::DiscardedFuture { .. } => "Keep the future and call `result()` on it inside `try`/`except` (collect the futures and loop over `as_completed(futures)`), or attach `add_done_callback` with a callback that logs `future.exception()`".to_string(),
            LostException::UncheckedLoop { future: name } => format!("Call `{name}.result()` in the loop body, inside `try`/`except` where a failed task should not stop the others"),
            LostException::DiscardedJoin { handle, in_drop: false } => {
                let handle = handle.as_deref().unwrap_or("handle");
                format!(
                    "Handle the `Err`: `{handle}.join().expect(\"worker thread panicked\")` to pass the panic on, or `if let Err(panic) = {handle}.join() {{ ... }}` to log it (or `std::panic::resume_unwind(panic)` to re-raise it)"
                )
            }
            LostException::DiscardedJoin { handle, in_drop: true } => {
                let handle = handle.as_deref().unwrap_or("handle");
                format!(
                    "Log the `Err` rather than panic, since this is `drop` (a panic while the thread is already unwinding aborts the process): `if let Err(panic) = {handle}.join() {{ ... }}`, or pass it on only when `!std::thread::panicking()`"
                )
            }
        }
    }
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    for function in &model.functions {
        events(&function.body, &mut |event, _| {
            if let EventKind::JoinDiscarded { obj } = event.kind {
                if !panics_on_purpose(model, obj) {
                    // `impl Drop for T { fn drop(&mut self) }`: the one method of that name
                    // with only `self` (the front-end does not record the trait).
                    let in_drop = model.language == Language::Rust
                        && function.name == "drop"
                        && function.class.is_some()
                        && function.params.len() == 1;
                    findings.push(discarded_join(cx, obj, event.span, in_drop));
                }
                return;
            }
            let EventKind::UncheckedFuture { executor, future } = event.kind else {
                return;
            };
            let violation = match (executor, future) {
                (Some(executor), _) => LostException::DiscardedFuture {
                    executor: model.object(executor).display.clone(),
                },
                (None, future) => LostException::UncheckedLoop {
                    future: future
                        .map_or("future", |f| model.object(f).display.as_str())
                        .to_string(),
                },
            };
            findings.push(violation.at(event.span));
        });
    }
    findings
}

/// The thread `handle` joins was started on code that ends in a panic of its own (`panic!()`
/// as its last statement, outside any branch): the `Err` is the outcome the code asks for (a
/// test that poisons a lock), not a failure to report.
fn panics_on_purpose(model: &FileModel, handle: ObjId) -> bool {
    let mut sites = Vec::new();
    for function in &model.functions {
        events(&function.body, &mut |event, _| {
            if let EventKind::ThreadStart { obj: Some(obj) } = event.kind {
                if obj == handle {
                    sites.push(event.span);
                }
            }
        });
    }
    !sites.is_empty()
        && sites.iter().all(|site| {
            model.thread_entries.iter().any(|entry| {
                entry.site == *site
                    && model.function(entry.function).body.iter().any(|node| {
                        matches!(
                            node,
                            Node::Event(Event {
                                kind: EventKind::Exit(ExitKind::Raise),
                                ..
                            })
                        )
                    })
            })
        })
}

/// Rust: `let _ = handle.join();` and the like.
fn discarded_join(cx: &Context, obj: ObjId, span: Span, in_drop: bool) -> Finding {
    let display = &cx.model.object(obj).display;
    // A handle joined where it is spawned is shown by its spawn call: too long to quote.
    let handle = (!display.contains('\n') && display.len() <= 40).then(|| display.clone());
    LostException::DiscardedJoin { handle, in_drop }.at(span)
}
