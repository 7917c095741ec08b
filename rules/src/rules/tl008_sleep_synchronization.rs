use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Related, Violation};
use crate::model::{
    events, walk, AcquireHow, AsyncThread, BlockingKind, Event, EventKind, ExitKind, FileModel,
    Language, Node, ObjId, ObjKey, Scope, ScopeKind, Span,
};
use crate::registry::{Check, Context};
use crate::source::{
    line_start, one_line, only_trivia_between, short, text, NAME_WIDTH, SNIPPET_WIDTH,
};
use crate::waits::{starting_functions, waiting_functions};

declare_rule! {
    /// ## What it does
    /// Checks for `time.sleep()` used to wait for another thread: a sleep after starting a
    /// thread or submitting work to an executor, with no `join()`, `wait()` or `result()` in
    /// between, before the code goes on to rely on what the thread did. A call of a function
    /// that starts a thread and returns while it runs (a server's `start()`, a pool's own
    /// `execute(job)`, in the same file or, for a method of a class, in another module) starts
    /// one too; a function that then waits for it (until it is ready, or joins it) does not.
    /// A sleep inside the work handed to such a call runs on that thread and is not reported.
    ///
    /// ## Why is this bad?
    /// The sleep guesses how long the other thread needs. On a loaded machine (a CI runner)
    /// the thread is not done yet and the code reads a half-built state: a flaky test, a
    /// request sent to a server that is not listening yet. On a fast machine the time is
    /// wasted. Waiting on the thread itself, or on an object it signals, is both exact and as
    /// fast as possible.
    ///
    /// Not reported, because the sleep does not stand in for a wait there:
    /// - a thread already waited for since it started: `join()`, `result()`, `Queue.get()`,
    ///   any `wait()` on an event, condition or barrier, a blocking `acquire()` of a lock or
    ///   semaphore the thread releases (a hand-shake; not one this function releases itself,
    ///   which is a critical section), a channel's `recv()`, a call to a
    ///   function of the same file, or to a method of a class of another module, that does
    ///   one of these (a crate's own latch, a project queue's `join()`), or a loop
    ///   that waits for some state (TL003 reports it when it polls); joining one thread is no
    ///   wait for another started before it, which the finding then names;
    /// - a timed run: the statement right after the sleep signals or stops the thread
    ///   (`stop.set()`, `cond.notify()`, `lock.release()`, `self.running = False`,
    ///   `timer.cancel()`, a loop that calls `abort()` on each task handle, `close()` on the
    ///   channel the threads block in, a `send` to a thread that receives, `drop(tx)` of the
    ///   sender it waits on): the sleep is how long the thread may run, or stay blocked,
    ///   before it is told to go on or stop; whether it got there or not, the outcome is the
    ///   same. Statements the model does not see
    ///   (`print("stopping")`) may come between, as long as the signal comes before anything
    ///   that waits for the thread or uses its result. In module code, assigning a module
    ///   name after a thread was started (`stop = True`) is such a signal;
    /// - a sleep whose next statement waits for the thread anyway (`time.sleep(1)` then
    ///   `t.join()`, or a call of a function of the file that waits, such as a pool's
    ///   `join()`): pointless, but the join is what makes the result ready;
    /// - in Rust, a sleep in a `#[tokio::test]` body (a current-thread runtime) after it spawned
    ///   only tasks (`tokio::spawn`): they run on the test's one thread as soon as the body
    ///   yields, before any timer fires, so the sleep orders them rather than guessing
    ///   (threads, `spawn_blocking` and `flavor = "multi_thread"` are still reported);
    /// - in Rust, a sleep while a test runtime's clock is paused (`#[tokio::test(start_paused =
    ///   true)]`, or after `tokio::time::pause()`): it advances virtual time, which the runtime
    ///   moves on only once every task is idle, so it guesses no duration;
    /// - a sleep in an `except` handler or a Rust `Err(_)` arm (a back-off before retrying), a
    ///   sleep at the end of a
    ///   loop pass that starts threads (it paces the starts), a sleep in a loop around which
    ///   the thread was started (polling, TL003), and a sleep in another arm of the `if` that
    ///   starts the thread.
    ///
    /// A thread that was waited for but goes on running (a hand-shake) is waited for again by
    /// a sleep after the code wakes it (`cond.notify()`, `event.set()`, also on an object the
    /// model knows only by its use: one the thread waits on and this code signals), then relies
    /// on what it did.
    ///
    /// A sleep that deliberately lets time pass to check that something does *not* happen
    /// (a wait that must time out) is reported when nothing in the model shows it; an
    /// `Event.wait(timeout)` that must return `False` says the same without the guess, or
    /// suppress it with `# noqa: TL008`.
    ///
    /// ## Example
    /// ```python
    /// server = threading.Thread(target=serve, args=(port,))
    /// server.start()
    /// time.sleep(0.5)  # give the server time to start
    /// client.connect(port)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// ready = threading.Event()
    /// server = threading.Thread(target=serve, args=(port, ready))
    /// server.start()
    /// if not ready.wait(timeout=10):  # `serve` calls `ready.set()` once it listens
    ///     raise RuntimeError("server did not start")
    /// client.connect(port)
    /// ```
    ///
    /// To wait for the thread to finish, `server.join(timeout=...)`; for submitted work,
    /// `future.result(timeout=...)`; for threads that must all reach a point, a
    /// `threading.Barrier`.
    ///
    /// In Rust, the same goes for `thread::sleep` after `thread::spawn` (or a scoped or pool
    /// spawn): `handle.join()` waits for the thread to finish, a channel it sends on when it
    /// is ready (`ready_rx.recv_timeout(..)`) or a `Barrier` waits for it to reach a point.
    ///
    /// ## References
    /// - [Python docs: `Thread.join`](https://docs.python.org/3/library/threading.html#threading.Thread.join)
    /// - [Python docs: Event objects](https://docs.python.org/3/library/threading.html#event-objects)
    /// - [Python docs: `Future.result`](https://docs.python.org/3/library/concurrent.futures.html#concurrent.futures.Future.result)
    /// - [Rust docs: `JoinHandle::join`](https://doc.rust-lang.org/std/thread/struct.JoinHandle.html#method.join)
    pub static RULE = {
        violation: SleepSynchronization,
        name: "sleep-synchronization",
        severity: Warning,
        languages: [Python, Rust],
        summary: "`sleep` after starting a thread or submitting work, used to wait for it instead of `join`/`wait`/`result`.",
        check: Check::File(check),
    };
}

/// One event of a function in program order, with its enclosing scopes.
struct Step<'a> {
    event: &'a Event,
    scopes: Vec<&'a Scope>,
    /// A start made by calling a function that starts the thread.
    by_call: bool,
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    let waiting = waiting_functions(model);
    let starting = starting_functions(model, &waiting);
    // Where the clock is paused: from the pause to the end of the function that paused it,
    // closures and tasks defined there included.
    let paused: Vec<Span> = model
        .functions
        .iter()
        .filter_map(|f| f.paused_clock.map(|from| Span::new(from, f.span.end)))
        .collect();
    for function in &model.functions {
        let mut steps = Vec::new();
        let mut after_project_call: Option<Span> = None;
        events(&function.body, &mut |event, scopes| {
            // A call that starts a thread: a function of the file, or a method of another
            // module's class (its call, then the submission it makes, on the same span).
            let by_call = match event.kind {
                EventKind::Call { .. } => true,
                EventKind::Submit { .. } => after_project_call == Some(event.span),
                _ => false,
            };
            after_project_call =
                matches!(event.kind, EventKind::ExternalCall { .. }).then_some(event.span);
            steps.push(Step {
                event,
                scopes: scopes.to_vec(),
                by_call,
            });
        });
        let loops = wait_loops(model, &function.body);
        // Locks this function releases itself: taking one is a critical section, not a wait
        // for the thread to release it (a hand-shake).
        let released: Vec<ObjId> = steps
            .iter()
            .filter_map(|step| match step.event.kind {
                EventKind::Release { obj } => Some(obj),
                _ => None,
            })
            .collect();
        // A call of a function of the file that waits for another thread (a pool's `join()`)
        // synchronises as a join does.
        let synchronizes = |kind: &EventKind| {
            synchronizes(kind)
                && !matches!(kind, EventKind::Acquire { obj, .. } if released.contains(obj))
                || matches!(kind, EventKind::Call { callee } if waiting[callee.0 as usize])
        };
        // The thread starts and submissions not yet followed by a synchronisation.
        let mut pending: Vec<usize> = Vec::new();
        // Starts waited for by a hand-shake (a wait, an acquire, a message) while the thread
        // goes on running: signalling it again (`cond.notify()`, `event.set()`) makes it
        // pending again, with the signal that woke it.
        let mut settled: Vec<usize> = Vec::new();
        let mut woken: Option<&Event> = None;
        // The join being lowered: its `Synchronize` concerns that thread alone.
        let mut join: Option<Span> = None;
        for (index, step) in steps.iter().enumerate() {
            match &step.event.kind {
                EventKind::ThreadStart { .. } | EventKind::Submit { .. } => pending.push(index),
                // A function of the file that starts a thread and leaves it running.
                EventKind::Call { callee } if starting[callee.0 as usize] => pending.push(index),
                // Joining one thread waits for that thread, not for the others started before.
                EventKind::Blocking {
                    kind: BlockingKind::Join,
                    obj: Some(thread),
                    ..
                } if !joins_unknown(&steps, &pending, *thread) => {
                    let other = |&start: &usize| !matches!(steps[start].event.kind, EventKind::ThreadStart { obj: Some(o) } if o == *thread);
                    pending.retain(other);
                    settled.retain(other);
                    join = Some(step.event.span);
                }
                EventKind::Synchronize if join == Some(step.event.span) => {}
                EventKind::Call { callee } if waiting[callee.0 as usize] => {
                    pending.clear();
                    settled.clear();
                }
                // A finished thread or task (a result, a queue item, a blocking call) cannot
                // be woken again.
                EventKind::Blocking { .. } if synchronizes(&step.event.kind) => {
                    pending.clear();
                    settled.clear();
                }
                kind if synchronizes(kind) => {
                    settled.append(&mut pending);
                    woken = None;
                }
                EventKind::Notify { .. } if !settled.is_empty() => {
                    pending.append(&mut settled);
                    pending.sort_unstable();
                    woken = Some(step.event);
                }
                EventKind::Sleep => {
                    let Some(&start) = pending.last() else {
                        continue;
                    };
                    // In the work handed to a later call that starts a thread (a closure
                    // passed to `pool.execute(..)`): it sleeps on that thread.
                    let handed_on = steps[index + 1..]
                        .iter()
                        .any(|later| later.by_call && later.event.span.contains(step.event.span));
                    if handed_on || paused.iter().any(|p| p.contains(step.event.span)) {
                        continue;
                    }
                    // A `#[tokio::test]` body that only spawned tasks: they run on its one
                    // thread as soon as it yields, before any timer can fire.
                    let same_thread = |&start: &usize| {
                        matches!(
                            steps[start].event.kind,
                            EventKind::Submit { task: true, .. }
                        )
                    };
                    if function.async_thread == AsyncThread::TestThread
                        && pending.iter().all(same_thread)
                    {
                        continue;
                    }
                    let start_span = steps[start].event.span;
                    // A loop that waited for some state in between has synchronised, if
                    // crudely (TL003 reports it when it polls).
                    let waited = loops
                        .iter()
                        .any(|l| l.start >= start_span.end && l.end <= step.event.span.start);
                    if !waited
                        && !exclusive(&function.body, &steps[start], step)
                        && waits_for_thread(model, cx.source, &steps, start, index, &synchronizes)
                    {
                        let woken = woken.filter(|w| w.span.start > start_span.end);
                        // Other named threads started before and not waited for either.
                        let earlier: Vec<&Step> = pending[..pending.len() - 1]
                            .iter()
                            .map(|&i| &steps[i])
                            .filter(|s| {
                                matches!(s.event.kind, EventKind::ThreadStart { obj: Some(_) })
                            })
                            .collect();
                        findings.push(report(
                            cx,
                            model,
                            &steps[start],
                            &earlier,
                            step,
                            woken,
                            function.is_async,
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    findings
}

/// Waits for another thread: a join, a result, a queue item or a message (the front-end's
/// `Synchronize`, or the blocking call itself), any wait on a condition, event or barrier, or a
/// blocking `acquire()` of a lock or semaphore outside `with` (a hand-shake: the other thread
/// releases it). A send on a bounded channel is not: it waits for room in the channel, not for
/// the receiving thread to get anywhere.
fn synchronizes(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Synchronize
            | EventKind::Wait { .. }
            | EventKind::Acquire {
                how: AcquireHow::Manual | AcquireHow::Timeout,
                ..
            }
    ) || matches!(kind, EventKind::Blocking { kind, .. }
        if !kind.waits_outside() && *kind != BlockingKind::Send)
}

/// The joined thread is none of the pending starts the model can name: it may be any of them
/// (a start whose thread is not known), so the join counts as a wait for all.
fn joins_unknown(steps: &[Step], pending: &[usize], thread: ObjId) -> bool {
    !pending.iter().any(|&start| {
        matches!(steps[start].event.kind, EventKind::ThreadStart { obj: Some(o) } if o == thread)
    })
}

/// The start and the sleep are in different arms of one `if` statement: they never both run.
fn exclusive(body: &[Node], start: &Step, sleep: &Step) -> bool {
    let common = start
        .scopes
        .iter()
        .zip(&sleep.scopes)
        .take_while(|(a, b)| std::ptr::eq(**a, **b))
        .count();
    let (Some(start_arm), Some(sleep_arm)) = (start.scopes.get(common), sleep.scopes.get(common))
    else {
        return false;
    };
    let parent = match common {
        0 => body,
        n => &sleep.scopes[n - 1].body[..],
    };
    let position = |arm: &Scope| {
        parent
            .iter()
            .position(|n| matches!(n, Node::Scope(s) if std::ptr::eq(s, arm)))
    };
    let (Some(from), Some(to)) = (position(start_arm), position(sleep_arm)) else {
        return false;
    };
    // Every arm after the start's, up to the sleep's, continues the same statement.
    from < to
        && parent[from..=to].iter().all(|n| {
            matches!(
                n,
                Node::Scope(Scope {
                    kind: ScopeKind::Branch(_),
                    ..
                })
            )
        })
        && parent[from + 1..=to]
            .iter()
            .all(|n| matches!(n, Node::Scope(Scope { kind: ScopeKind::Branch(b), .. }) if !b.first))
}

/// The loops of a body that wait for something: they sleep, or leave on a test.
fn wait_loops(model: &FileModel, body: &[Node]) -> Vec<Span> {
    let mut loops = Vec::new();
    walk(body, &mut |node, _| {
        let Node::Scope(scope) = node else { return };
        if !matches!(scope.kind, ScopeKind::Loop(_)) {
            return;
        }
        // The arguments of the calls the loop makes: a sleep in a closure handed to one
        // (`pool.execute(Thunk::of(|| sleep(..)))`) is the job's, not the loop's.
        let mut handed: Vec<Span> = Vec::new();
        walk(&scope.body, &mut |inner, _| {
            if let Node::Event(event) = inner {
                if let Some(arguments) = model.call(event.span).and_then(|c| c.arguments) {
                    handed.push(arguments);
                }
            }
        });
        let mut waits = false;
        walk(&scope.body, &mut |inner, nested| {
            let in_inner_loop = nested.iter().any(|s| matches!(s.kind, ScopeKind::Loop(_)));
            match inner {
                Node::Event(event) => {
                    waits |= matches!(event.kind, EventKind::Sleep)
                        && !handed.iter().any(|a| a.contains(event.span));
                }
                Node::Scope(Scope {
                    kind: ScopeKind::Branch(branch),
                    ..
                }) => {
                    waits |= matches!(branch.exits, Some(ExitKind::Return))
                        || (matches!(branch.exits, Some(ExitKind::Break)) && !in_inner_loop);
                }
                Node::Scope(_) => {}
            }
        });
        if waits {
            loops.push(scope.span);
        }
    });
    loops
}

/// Whether the sleep at `index`, after the start at `start`, stands in for waiting on it.
fn waits_for_thread(
    model: &FileModel,
    source: &str,
    steps: &[Step],
    start: usize,
    index: usize,
    synchronizes: &dyn Fn(&EventKind) -> bool,
) -> bool {
    let sleep = &steps[index];
    // A back-off before retrying.
    if sleep.scopes.iter().any(|s| s.handles_failure()) {
        return false;
    }
    // The first event after the sleep's own statement (`sleep(..).await` awaits right after
    // sleeping, in the same statement).
    let own_statement = sleep.event.statement.unwrap_or(sleep.event.span);
    let next = steps[index + 1..]
        .iter()
        .position(|s| !own_statement.contains(s.event.span))
        .map(|offset| index + 1 + offset);
    let after = next.map(|n| &steps[n]);
    // In a loop, the sleep must follow a start of the same pass (a sleep repeated for one
    // start is polling, TL003), and something must follow it in that pass (a sleep at the
    // end of a pass paces the starts).
    if let Some(the_loop) = sleep
        .scopes
        .iter()
        .rev()
        .find(|s| matches!(s.kind, ScopeKind::Loop(_)))
    {
        if !the_loop.span.contains(steps[start].event.span) {
            return false;
        }
        if !after.is_some_and(|a| the_loop.span.contains(a.event.span)) {
            return false;
        }
    }
    // What the next statement does, when the model sees it.
    let sleep_end = sleep.event.statement.unwrap_or(sleep.event.span).end;
    let next_line = |step: &Step| {
        let line = line_start(source, step.event.span.start);
        (line >= sleep_end && only_trivia_between(source, sleep_end, line)).then_some(line)
    };
    // The next statement is a loop that starts right after the sleep (`for h in handles {
    // h.abort() }`): its body is what the statement does.
    let next_loop = after.and_then(|a| {
        a.scopes
            .iter()
            .skip(sleep.scopes.len())
            .find(|s| matches!(s.kind, ScopeKind::Loop(_)))
            .filter(|l| {
                let line = line_start(source, l.span.start);
                line >= sleep_end && only_trivia_between(source, sleep_end, line)
            })
    });
    let rest = &steps[next.unwrap_or(steps.len())..];
    let next_statement: Vec<&Step> = match (next_loop, after.and_then(next_line)) {
        (Some(the_loop), _) => rest
            .iter()
            .take_while(|s| the_loop.span.contains(s.event.span))
            .collect(),
        (None, Some(line)) => rest
            .iter()
            .take_while(|s| {
                s.event.span.start >= line && line_start(source, s.event.span.start) == line
            })
            .collect(),
        // Statements the model does not see come first (`print("stopping")`): the sleep
        // is a run window when the code then signals the thread before it waits for it
        // (`time.sleep(5); print(..); stop = True; t.join()`).
        (None, None) => return !signals_before_waiting(sleep, rest, synchronizes),
    };
    // A statement that only calls helpers of the file with nothing concurrent in them
    // (`let deadline = Instant::now() + ms(1000);`) is as good as invisible to the model.
    let plain = |step: &&Step| match step.event.kind {
        EventKind::Call { callee } => {
            let mut inert = true;
            events(&model.function(callee).body, &mut |_, _| inert = false);
            inert
        }
        _ => false,
    };
    // It may still use what the thread did (`connect(port)`), so only a signal before any
    // wait for the thread makes the sleep a run window.
    if !next_statement.is_empty() && next_statement.iter().all(plain) {
        return !signals_before_waiting(sleep, rest, synchronizes);
    }
    for step in next_statement {
        match step.event.kind {
            // A signal: the sleep let the thread run (or block) for a while before stopping
            // or releasing it (`time.sleep(2); stop.set()`), or it cancels the work
            // (`timer.cancel()`, `handle.abort()`).
            ref kind if signals(kind) || matches!(kind, EventKind::Shutdown { .. }) => {
                return false
            }
            // The next statement waits for the thread anyway: the sleep is not what makes the
            // result ready.
            ref kind if synchronizes(kind) => return false,
            _ => {}
        }
    }
    true
}

/// Code that tells a running thread to go on or stop: a notify or an event set, a release,
/// a write of state it reads (`stop = True`), a message on a channel or its end (`tx.send(v)`,
/// `drop(tx)`, `close()`).
fn signals(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Notify { .. }
            | EventKind::Release { .. }
            | EventKind::SharedWrite { .. }
            | EventKind::Blocking {
                kind: BlockingKind::Send,
                ..
            }
    )
}

/// In the sleep's block, after it, a signal to the thread (`stop.set()`, `stop = True`, a
/// release) comes before anything that waits for it or uses its result.
fn signals_before_waiting(
    sleep: &Step,
    rest: &[Step],
    synchronizes: &dyn Fn(&EventKind) -> bool,
) -> bool {
    let depth = sleep.scopes.len();
    for step in rest {
        let same_block = step.scopes.len() >= depth
            && step
                .scopes
                .iter()
                .zip(&sleep.scopes)
                .all(|(a, b)| std::ptr::eq(*a, *b));
        if !same_block {
            return false;
        }
        match step.event.kind {
            ref kind if signals(kind) => return true,
            // An executor's shutdown (the end of its `with` block) waits for the work.
            EventKind::Synchronize | EventKind::Shutdown { .. } => return false,
            ref kind if synchronizes(kind) => return false,
            _ => {}
        }
    }
    false
}

/// A sleep that stands in for waiting on a thread or on submitted work.
pub struct SleepSynchronization {
    /// The sleep as written.
    pub call: String,
    /// What it waits for: "thread `t`", "the work submitted with `ex.submit`".
    pub what: String,
    /// The signal it waits for the thread to act on, when it woke one (`cond.notify()`).
    pub woken: Option<String>,
    pub language: Language,
    /// The sleep is in async code, where the ways to wait are awaited.
    pub async_code: bool,
}

impl Violation for SleepSynchronization {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        let SleepSynchronization {
            call, what, woken, ..
        } = self;
        match woken {
            Some(signal) => format!(
                "`{call}` waits for {what} to act on `{signal}` by guessing how long it takes: on a loaded machine it has not yet, on a fast one the time is wasted"
            ),
            None => format!(
                "`{call}` waits for {what} by guessing how long it takes: on a loaded machine it is not done yet, on a fast one the time is wasted"
            ),
        }
    }

    fn help(&self) -> String {
        match (self.language, self.async_code) {
            (Language::Python, false) => "Wait for the thread itself: `join(timeout=...)` for it to finish, an `Event` it sets when ready (`ready.wait(timeout=...)`), `future.result(timeout=...)` for submitted work, or a `Barrier`",
            (Language::Python, true) => "Wait for the work itself: `await asyncio.wait_for(task, timeout)` for it to finish, or an `asyncio.Event` it sets when ready (`await asyncio.wait_for(ready.wait(), timeout)`); for a thread, `await asyncio.to_thread(thread.join, timeout)`",
            (Language::Rust, false) => "Wait for the thread itself: `handle.join()` for it to finish, a channel it sends on when ready (`ready_rx.recv_timeout(..)`), or a `Barrier` both threads reach",
            (Language::Rust, true) => "Wait for the work itself, without blocking the runtime: `handle.await` on the task's `JoinHandle` for it to finish, or a signal it gives when ready (a `tokio::sync::oneshot` it sends on, a `Notify`, a `watch` channel), bounded with `tokio::time::timeout`",
        }
        .to_string()
    }
}

/// Rust: the name the statement binds the handle of the spawn at `site` to (`let h =
/// scope.spawn(..)`, `let task = tokio::spawn(..)`), which names the thread or task.
fn handle_name(source: &str, site: Span) -> Option<String> {
    let before = source.get(line_start(source, site.start) as usize..site.start as usize)?;
    let binding = before
        .trim()
        .strip_prefix("let ")?
        .strip_suffix('=')?
        .trim();
    let binding = binding.strip_prefix("mut ").unwrap_or(binding);
    let name = binding.split(':').next()?.trim();
    let identifier = !name.is_empty()
        && name != "_"
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    identifier.then(|| short(name, NAME_WIDTH))
}

fn report(
    cx: &Context,
    model: &FileModel,
    start: &Step,
    earlier: &[&Step],
    sleep: &Step,
    woken: Option<&Event>,
    async_code: bool,
) -> Finding {
    let call = one_line(text(cx.source, sleep.event.span), SNIPPET_WIDTH);
    let thread_name = |step: &Step| match step.event.kind {
        EventKind::ThreadStart { obj: Some(obj) } => {
            Some(short(&model.object(obj).display, NAME_WIDTH))
        }
        _ => None,
    };
    let mut others: Vec<(String, Span)> = Vec::new();
    let (what, started) = match &start.event.kind {
        EventKind::ThreadStart { obj: Some(obj) } => {
            let name = short(&model.object(*obj).display, NAME_WIDTH);
            for step in earlier {
                if let Some(other) = thread_name(step).filter(|n| *n != name) {
                    if !others.iter().any(|(n, _)| *n == other) {
                        others.push((other, step.event.span));
                    }
                }
            }
            // A name bound to a new thread on each pass of a loop that starts it, slept after
            // outside that loop: every thread it named, not the last one.
            let per_pass = match &model.object(*obj).key {
                ObjKey::Local { name: local, .. } => start.scopes.iter().any(|scope| {
                    !scope.span.contains(sleep.event.span)
                        && matches!(&scope.kind, ScopeKind::Loop(info)
                            if info.assigned.iter().any(|a| a == crate::model::written_name(local)))
                }),
                _ => false,
            };
            if per_pass && others.is_empty() {
                (
                    format!("the threads the loop starts as `{name}`"),
                    format!("each `{name}` is started here"),
                )
            } else if others.is_empty() {
                (
                    format!("thread `{name}`"),
                    format!("`{name}` is started here"),
                )
            } else {
                let names: Vec<String> = others.iter().map(|(n, _)| format!("`{n}`")).collect();
                let all_but_last = names.join(", ");
                (
                    format!("threads {all_but_last} and `{name}`"),
                    format!("`{name}` is started here"),
                )
            }
        }
        EventKind::ThreadStart { obj: None } => (
            "the thread started before it".to_string(),
            "the thread is started here".to_string(),
        ),
        _ if start.by_call => {
            let callee = model.call(start.event.span).map_or_else(
                || short(text(cx.source, start.event.span), SNIPPET_WIDTH),
                |call| text(cx.source, call.callee).to_string(),
            );
            (
                format!("the thread that `{callee}` starts"),
                format!("`{callee}` starts a thread here and returns while it runs"),
            )
        }
        kind => match handle_name(cx.source, start.event.span).filter(|_| {
            model.language == Language::Rust && matches!(kind, EventKind::Submit { .. })
        }) {
            // The handle the spawn returns, bound to a name (`let h = s.spawn(..)`).
            Some(name) if !matches!(kind, EventKind::Submit { task: true, .. }) => (
                format!("thread `{name}`"),
                format!("`{name}` is started here"),
            ),
            Some(name) => (
                format!("task `{name}`"),
                format!("`{name}` is spawned here"),
            ),
            None => (
                format!(
                    "the work submitted with `{}`",
                    model.call(start.event.span).map_or_else(
                        || short(text(cx.source, start.event.span), SNIPPET_WIDTH),
                        |call| text(cx.source, call.callee).to_string()
                    )
                ),
                "the work is submitted here".to_string(),
            ),
        },
    };
    let violation = SleepSynchronization {
        call,
        what,
        woken: woken.map(|signal| short(text(cx.source, signal.span), NAME_WIDTH)),
        language: model.language,
        async_code,
    };
    let mut related: Vec<Related> = others
        .into_iter()
        .map(|(name, span)| Related {
            file: None,
            span,
            message: format!("`{name}` is started here"),
        })
        .collect();
    related.push(Related {
        file: None,
        span: start.event.span,
        message: started,
    });
    if let Some(signal) = woken {
        related.push(Related {
            file: None,
            span: signal.span,
            message: "it is woken here".to_string(),
        });
    }
    violation.at(sleep.event.span).with_related(related)
}
