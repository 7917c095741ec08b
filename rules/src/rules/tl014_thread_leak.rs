use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Violation};
use crate::model::{
    events, BlockingKind, EventKind, ExitKind, FileModel, FnId, Function, Language, LoopKind, Node,
    ObjId, ObjKey, ObjKind, Scope, ScopeKind, Span, WaitKind,
};
use crate::registry::{Check, Context};
use crate::source::{short, NAME_WIDTH};
use crate::waits::{waiting_functions, waits_for_other_thread};

declare_rule! {
    /// ## What it does
    /// Checks for threads that nothing waits for:
    /// - a thread started in a function (`t = Thread(...); t.start()`,
    ///   `Thread(target=f).start()`) that the function never joins, stores or returns, unless
    ///   it is a daemon thread (`daemon=True`, `t.daemon = True`, a `Thread` subclass that
    ///   sets it);
    /// - an executor (a `ThreadPoolExecutor`, or a process pool such as `multiprocessing.Pool`)
    ///   created as a local, outside `with`, that the function never shuts down, stores or
    ///   returns;
    /// - Rust: a `thread::spawn` (or `thread::Builder::spawn`) whose `JoinHandle` is dropped:
    ///   not bound (`thread::spawn(..);`, `let _ = thread::spawn(..)`), or bound and never
    ///   joined, returned, stored or handed to other code before the function returns. A
    ///   call of a helper without a receiver that returns a new handle (`fn start() ->
    ///   JoinHandle<()>`, or an `Option` or `Result` of one) starts a thread for its caller,
    ///   so `start();` detaches it too, as does a closure that ignores the new handle
    ///   (`builder.spawn(..).map(|_| ())`), and so does a handle pushed into a local
    ///   collection that the function never reads (`let mut handles = Vec::new();` used only
    ///   as `handles.push(thread::spawn(..))`): it is dropped with the collection.
    ///
    /// A thread kept somewhere else (appended to a list, stored in an attribute or a field,
    /// passed to a call, captured by a closure, or stored by its own code: a target that does
    /// `self._thread = threading.current_thread()`) is someone else's to join and is not reported,
    /// nor are scoped threads (`thread::scope`), which are joined at the end of the scope, nor
    /// a `threading.Timer` the function cancels (`timer.cancel()` ends its thread). A
    /// function that, after the start, blocks until another thread signals it (a channel's
    /// `recv()`, or its receiver iterated to the end, which waits until every sender is dropped:
    /// `for msg in &rx`, `rx.iter().sum()`; not `rx.iter().take(n)`; `Queue.get()`, a wait on a `Condvar`, `Condition`, `Event` or `Barrier`,
    /// `join()` of a thread the model cannot name, a future's `result()`, running an event loop or a server
    /// that the thread stops (`loop.run_forever()` while the thread calls
    /// `loop.call_soon_threadsafe(loop.stop)`); in Rust `block_on` and an awaited
    /// future other than a sleep), itself or through a function of the same file it calls, or
    /// a method of a class of another module (a crate's own latch or wait group, a project
    /// queue's `join()`), waits for the thread's last act (a hand-shake) and is
    /// not reported either; nor is a thread whose last act is a wait on a barrier, or a signal
    /// on a condition or event, that another function of the file waits on (a `run()` or
    /// `wait()` method that waits for the threads to reach their end). A signal sent on each
    /// round of a loop is no last act, nor is a wait (only a barrier's, where both sides
    /// wait); joining one named thread is no wait for another (`first.join()` leaves `second`
    /// running), and a thread started in an arm that then returns is waited for only by what
    /// that arm does after the start.
    ///
    /// ## Why is this bad?
    /// A thread nobody joins runs on after the function that started it returns: its errors
    /// (exceptions, panics) are lost, the work it does may be half done when the program goes
    /// on or exits, and tests that start it leak threads into the tests that follow. A
    /// non-daemon Python thread also keeps the interpreter from exiting until it ends, and an
    /// executor that is never shut down keeps its worker threads alive until exit. In Rust,
    /// dropping a `JoinHandle` detaches the thread: it is killed mid-work when `main` returns.
    ///
    /// ## Example
    /// ```python
    /// def refresh(urls):
    ///     worker = threading.Thread(target=download, args=(urls,))
    ///     worker.start()
    ///
    /// def run(tasks):
    ///     executor = ThreadPoolExecutor(max_workers=4)
    ///     return [executor.submit(task) for task in tasks]
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def refresh(urls):
    ///     worker = threading.Thread(target=download, args=(urls,))
    ///     worker.start()
    ///     worker.join(timeout=60)
    ///
    /// def run(tasks):
    ///     with ThreadPoolExecutor(max_workers=4) as executor:
    ///         return [f.result() for f in [executor.submit(task) for task in tasks]]
    /// ```
    ///
    /// In Rust, keep the handle and `join()` it, return it to the caller, or spawn inside
    /// `std::thread::scope(|s| { s.spawn(..); })`, which joins every thread it started.
    ///
    /// ## References
    /// - [Python docs: `Thread.join` and daemon threads](https://docs.python.org/3/library/threading.html#thread-objects)
    /// - [Python docs: `Executor.shutdown`](https://docs.python.org/3/library/concurrent.futures.html#concurrent.futures.Executor.shutdown)
    /// - [Rust docs: `std::thread::JoinHandle`](https://doc.rust-lang.org/std/thread/struct.JoinHandle.html)
    /// - [Rust docs: `std::thread::scope`](https://doc.rust-lang.org/std/thread/fn.scope.html)
    pub static RULE = {
        violation: ThreadLeak,
        name: "thread-leak",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A thread started and never joined, stored or returned (a dropped `JoinHandle`), or an executor never shut down.",
        check: Check::File(check),
    };
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    // Executors by the function that creates them (found once, not per function).
    let mut executors: std::collections::HashMap<FnId, Vec<ObjId>> =
        std::collections::HashMap::new();
    let function_index = crate::model::FunctionIndex::new(model);
    let waiting = waiting_functions(model);
    for (index, object) in model.objects.iter().enumerate() {
        if object.kind != ObjKind::Executor {
            continue;
        }
        if let Some(owner) = object.def.and_then(|def| function_index.innermost(def)) {
            executors
                .entry(owner)
                .or_default()
                .push(ObjId(index as u32));
        }
    }
    for (index, function) in model.functions.iter().enumerate() {
        let id = FnId(index as u32);
        let mut joined = Vec::new();
        let mut shut_down = Vec::new();
        let mut starts = Vec::new();
        // Where, in program order, the function blocks waiting for another thread, and the
        // thread it joins when that is a join of one the model names.
        let mut waits: Vec<(usize, Option<ObjId>, Span)> = Vec::new();
        let mut join_span: Option<(Span, ObjId)> = None;
        let mut position = 0usize;
        // `sleep(..).await` sleeps; it does not wait for anyone.
        let mut sleeps: Vec<Span> = Vec::new();
        events(&function.body, &mut |event, scopes| {
            position += 1;
            if matches!(event.kind, EventKind::Sleep) {
                sleeps.push(event.statement.unwrap_or(event.span));
            }
            let sleeping = matches!(event.kind, EventKind::Await)
                && sleeps.iter().any(|s| s.contains(event.span));
            match &event.kind {
                EventKind::Blocking {
                    kind: BlockingKind::Join,
                    obj: Some(obj),
                    ..
                } => joined.push(*obj),
                EventKind::Shutdown { obj } => shut_down.push(*obj),
                EventKind::ThreadStart { obj: Some(obj) } => {
                    // Started in an arm that then leaves the function (`thread.start();
                    // return`): only what that arm does after the start can wait for it.
                    let arm = scopes
                        .iter()
                        .rev()
                        .find(|scope| {
                            matches!(&scope.kind, ScopeKind::Branch(branch)
                                if matches!(branch.exits, Some(ExitKind::Return | ExitKind::Raise)))
                        })
                        .map(|scope| scope.span);
                    starts.push((*obj, event.span, position, arm));
                }
                _ => {}
            }
            let through_call =
                matches!(event.kind, EventKind::Call { callee } if waiting[callee.0 as usize]);
            if (waits_for_other_thread(model.language, &event.kind) || through_call) && !sleeping {
                // A join of a named thread (and the `Synchronize` that goes with it) waits
                // for that thread only.
                let joined = match event.kind {
                    EventKind::Blocking {
                        kind: BlockingKind::Join,
                        obj: Some(thread),
                        ..
                    } if matches!(model.object(thread).kind, ObjKind::Thread { .. }) => {
                        join_span = Some((event.span, thread));
                        Some(thread)
                    }
                    EventKind::Synchronize => join_span
                        .filter(|(span, _)| *span == event.span)
                        .map(|(_, thread)| thread),
                    _ => None,
                };
                waits.push((position, joined, event.span));
            }
        });
        for (obj, site, position, arm) in starts {
            let object = model.object(obj);
            // A function that blocks on a channel, a queue, a condition variable, an event, a
            // barrier or a future after the start (itself, or in a function of the file it
            // calls: a crate's own primitive) waits for the thread's signal, its last act: the
            // thread is done with its work when the function goes on.
            let waited = waits.iter().any(|&(wait, joined, at)| {
                wait > position
                    && joined.is_none_or(|t| t == obj)
                    && arm.is_none_or(|arm| arm.contains(at))
            }) || awaited_elsewhere(model, obj, site);
            let leaks = matches!(object.kind, ObjKind::Thread { daemon: false })
                && is_private(model, id, obj)
                && !joined.contains(&obj)
                && !shut_down.contains(&obj)
                && !waited;
            if leaks {
                findings.push(thread_finding(model, function, obj, site));
            }
        }
        for &obj in executors.get(&id).into_iter().flatten() {
            let object = model.object(obj);
            let Some(def) = object.def else { continue };
            if is_private(model, id, obj) && !shut_down.contains(&obj) {
                findings.push(executor_finding(function, &object.display, def));
            }
        }
    }
    findings
}

/// The thread's last act is a hand-shake that another function of the file waits for: it
/// waits on a barrier that function waits on too, or signals a condition or event that
/// function waits on (`end.wait()` as the thread's last statement, `self.end.wait()` in the
/// struct's `run()`). Whoever waits there waits for the thread to be done.
fn awaited_elsewhere(model: &FileModel, thread: ObjId, start: Span) -> bool {
    let object = model.object(thread);
    let Some(entry) = thread_entry(model, object.def.unwrap_or(start)) else {
        return false;
    };
    let mut last = None;
    events(
        &model.function(entry.function).body,
        &mut |event, scopes| {
            // A signal repeated in a loop is no last act.
            let once = !scopes.iter().any(|s| matches!(s.kind, ScopeKind::Loop(_)));
            match event.kind {
                // Both sides wait at a barrier; on an event or condition, the waiter is the
                // one signalled, so its wait is no signal to anyone.
                EventKind::Wait {
                    obj,
                    kind: WaitKind::Barrier,
                    ..
                }
                | EventKind::Notify { obj } => {
                    last = once.then_some(obj);
                }
                EventKind::Wait { .. } => last = None,
                EventKind::Call { .. }
                | EventKind::ExternalCall { .. }
                | EventKind::Blocking { .. }
                | EventKind::Sleep
                | EventKind::SharedWrite { .. } => last = None,
                _ => {}
            }
        },
    );
    let Some(signal) = last else {
        return false;
    };
    model.functions.iter().enumerate().any(|(index, other)| {
        if index == entry.function.0 as usize {
            return false;
        }
        let mut waits = false;
        events(&other.body, &mut |event, _| {
            waits |= matches!(event.kind, EventKind::Wait { obj, .. } if obj == signal);
        });
        waits
    })
}

/// The function handed to the thread made at `made` (the construction or spawn there).
fn thread_entry(model: &FileModel, made: Span) -> Option<&crate::model::ThreadEntry> {
    model
        .thread_entries
        .iter()
        .find(|entry| made.contains(entry.site) || entry.site.contains(made))
}

/// The function the thread made at `made` runs is an endless loop (`loop { .. }`, `while
/// True:`) that nothing in it leaves: no `break`, `return` or `raise` (a panic) anywhere in it.
fn runs_forever(model: &FileModel, made: Span) -> bool {
    let Some(entry) = thread_entry(model, made) else {
        return false;
    };
    let body = &model.function(entry.function).body;
    let endless = body.iter().any(|node| {
        matches!(node, Node::Scope(Scope { kind: ScopeKind::Loop(info), .. })
            if info.kind == LoopKind::Infinite)
    });
    let mut leaves = false;
    events(body, &mut |event, _| {
        leaves |= matches!(
            event.kind,
            EventKind::Exit(ExitKind::Break | ExitKind::Return | ExitKind::Raise)
        );
    });
    endless && !leaves
}

/// Created in this call of `function` and never handed out.
fn is_private(model: &FileModel, function: FnId, obj: ObjId) -> bool {
    let object = model.object(obj);
    let created_here = match &object.key {
        ObjKey::Local {
            function: owner, ..
        } => *owner == function,
        ObjKey::Other(_) => true,
        _ => false,
    };
    created_here && !object.escapes
}

/// A thread nothing waits for, or an executor never shut down.
pub enum ThreadLeak {
    /// A thread started in `owner` and never joined, stored or returned; `temporary` when it
    /// was never bound to a name (`Thread(...).start()`, a dropped `JoinHandle`).
    Thread {
        name: String,
        owner: String,
        temporary: bool,
        /// Rust: the handle was pushed into this local collection, which nothing reads.
        unread_in: Option<String>,
        language: Language,
        /// The thread's function is an endless loop with no way out: joining alone would
        /// wait forever.
        forever: bool,
    },
    /// An executor created outside `with` that `owner` never shuts down.
    Executor { name: String, owner: String },
}

impl Violation for ThreadLeak {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        match self {
            ThreadLeak::Thread { name, owner, temporary: true, language: Language::Python, .. } => format!("`{name}` is started without keeping the thread: nothing can join it, so it may still run when `{owner}` returns and its errors go unnoticed"),
            ThreadLeak::Thread { name, owner, temporary: false, language: Language::Python, .. } => format!("Thread `{name}` is started but `{owner}` never joins, stores or returns it: it may still run when `{owner}` returns and its errors go unnoticed"),
            ThreadLeak::Thread { owner, unread_in: Some(collection), .. } => format!("The `JoinHandle`s pushed into `{collection}` are never joined: nothing reads `{collection}`, which is dropped at the end of `{owner}` and detaches the threads while they may still run"),
            ThreadLeak::Thread { name, owner, temporary: true, language: Language::Rust, .. } => format!("The `JoinHandle` of `{name}` is dropped at once, which detaches the thread: it may still run when `{owner}` returns, and no code can join it to wait for its end or receive its panic"),
            ThreadLeak::Thread { name, owner, temporary: false, language: Language::Rust, .. } => format!("The `JoinHandle` `{name}` is never joined, returned or stored: it is dropped at the end of `{owner}`, which detaches the thread while it may still run"),
            ThreadLeak::Executor { name, owner } => format!("Executor `{name}` is created outside `with` and `{owner}` never shuts it down, stores or returns it: its workers outlive the function"),
        }
    }

    fn help(&self) -> String {
        match self {
            ThreadLeak::Thread { forever: true, language, .. } => {
                let (flag, join) = match language {
                    Language::Python => ("a `threading.Event`", "`join(timeout=...)`"),
                    Language::Rust => ("an `AtomicBool` or a channel", "`join()`"),
                };
                format!("The thread loops forever: give it a way to stop ({flag} that it checks on each pass), signal it before returning, then {join} it")
            }
            ThreadLeak::Thread { temporary: true, language: Language::Python, .. } => "Keep the thread and `join(timeout=...)` it before returning, or store it where the code that shuts down can join it; pass `daemon=True` if it may be stopped at exit".to_string(),
            ThreadLeak::Thread { name, temporary: false, language: Language::Python, .. } => format!("Call `{name}.join(timeout=...)` before returning, or store the thread where the code that shuts down can join it; pass `daemon=True` if it may be stopped at exit"),
            ThreadLeak::Thread { unread_in: Some(collection), .. } => format!("Join them before returning (`for handle in {collection} {{ handle.join().unwrap(); }}`), or spawn inside `std::thread::scope`, which joins its threads"),
            ThreadLeak::Thread { temporary: true, language: Language::Rust, .. } => "Keep the handle and `join()` it before returning (or return or store it for the caller), or spawn inside `std::thread::scope`, which joins its threads".to_string(),
            ThreadLeak::Thread { name, temporary: false, language: Language::Rust, .. } => format!("Call `{name}.join()` before returning (or return or store the handle for the caller), or spawn inside `std::thread::scope`, which joins its threads"),
            ThreadLeak::Executor { .. } => "Create it in a `with` block (`with ThreadPoolExecutor(...) as executor:`), which shuts it down at the end of the block, or shut it down in a `finally:` (`executor.shutdown(wait=True, cancel_futures=True)`; for a process pool such as `multiprocessing.Pool`, `close()` then `join()`)".to_string(),
        }
    }
}

fn thread_finding(model: &FileModel, function: &Function, obj: ObjId, site: Span) -> Finding {
    let object = model.object(obj);
    let name = name_of(object);
    let owner = function.qualified_name();
    // A handle pushed into a collection nothing reads is its element (`handles[]`).
    let unread_in = match &object.key {
        ObjKey::Other(key) if crate::model::written_name(key).ends_with("[]") => {
            Some(short(&object.display, NAME_WIDTH))
        }
        _ => None,
    };
    let violation = ThreadLeak::Thread {
        name,
        owner,
        temporary: matches!(object.key, ObjKey::Other(_)),
        unread_in,
        language: model.language,
        forever: runs_forever(model, object.def.unwrap_or(site)),
    };
    violation.at(site)
}

fn executor_finding(function: &Function, display: &str, def: Span) -> Finding {
    ThreadLeak::Executor {
        name: short(display, NAME_WIDTH),
        owner: function.qualified_name(),
    }
    .at(def)
}

/// How the object is named in messages: a local by its variable, anything else as written.
fn name_of(object: &crate::model::SyncObject) -> String {
    match &object.key {
        ObjKey::Local { name, .. } => short(crate::model::written_name(name), NAME_WIDTH),
        // The front-end names a temporary by its call, already cut to its callee when long.
        _ => short(&object.display, NAME_WIDTH),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AsyncThread;

    #[test]
    fn executor_message_does_not_assume_its_workers_are_threads() {
        let function = Function {
            name: "run".into(),
            class: None,
            params: Vec::new(),
            param_types: Vec::new(),
            is_abstract: false,
            exclusive_receiver: false,
            is_async: false,
            span: Span::new(0, 10),
            name_span: Span::new(4, 7),
            body: Vec::new(),
            paused_clock: None,
            async_thread: AsyncThread::Runtime,
        };
        let finding = executor_finding(&function, "pool", Span::new(0, 4));
        assert!(
            finding.message.contains("its workers outlive"),
            "{}",
            finding.message
        );
        assert!(!finding.message.contains("thread"), "{}", finding.message);
        assert!(
            finding.help.contains("`close()` then `join()`"),
            "{}",
            finding.help
        );
    }
}
