use std::collections::HashSet;

use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Violation};
use crate::model::{
    bodies, events, BlockingKind, Condition, Event, EventKind, ExceptInfo, ExitKind, FileModel,
    Function, Language, LoopInfo, LoopKind, Node, ObjKind, Read, Scope, ScopeKind, Span,
};
use crate::registry::{Check, Context};
use crate::source::{short, text, SNIPPET_WIDTH};

declare_rule! {
    /// ## What it does
    /// Checks for loops that re-check a flag, a state or a predicate and sleep between the
    /// checks: `while not ready: time.sleep(0.1)`, `while True:` with `if done: break` and a
    /// sleep, `while not stop.is_set(): work(); time.sleep(1)`. A loop is reported once, at
    /// its first sleep, however many times a pass sleeps.
    ///
    /// ## Why is this bad?
    /// A polling loop notices the change up to one sleep late: a short sleep burns CPU waking
    /// up for nothing, a long one makes the program slow to react. A worker written as
    /// `while not stop.is_set(): ...; time.sleep(60)` delays shutdown by up to a minute. The
    /// thread that changes the state can wake the waiting one at once through a
    /// synchronisation object instead.
    ///
    /// What counts as a re-check: the loop condition, a test that leaves the loop
    /// (`if ...: break` / `return` / `raise`), or a test whose "not yet" arm holds the sleep (the arm
    /// `continue`s, or another arm does the work), when it reads shared state (a global, an
    /// attribute, a local filled by another thread), queries a synchronisation object
    /// (`stop.is_set()`, `q.empty()`, `t.is_alive()`) or calls a function. A local set from
    /// shared state alone before the test (`done = self.flag.is_set(); if done: break`; in
    /// Rust `let ready = READY.load(o);`, or a guard bound in the loop) is a test of that
    /// state, while one set from any other call in the loop is the result of the pass's own
    /// attempt (`let inserted = cache.insert(v); if !inserted { sleep(..); continue; }`); a
    /// call through a local bound to `time.sleep` (`pause = time.sleep`) is a sleep, and so is
    /// a call of a function of the project whose body is one sleep (`def pause(s):
    /// time.sleep(s)`; in Rust `pub async fn sleep(d: Duration) { tokio::time::sleep(d).await
    /// }` in another module, awaited). Not reported:
    /// - a sleep that paces a `for` loop (work items, or a fixed number of attempts);
    /// - a bounded retry: a sleep in an `except` handler (but not one that catches the "not
    ///   yet" of a non-blocking take from shared state, `queue.Empty` after `q.get_nowait()` or
    ///   `get(block=False)`, `queue.Full` after `put_nowait()`, a `KeyError` or an `IndexError`
    ///   after `self.pending.pop(key)` or `self.pending[key]`: that handler tests the state as
    ///   an `if` would, and its sleep polls; a handler that counts the time it slept, `sleep(t);
    ///   timeout -= t; continue`, is a deadline); in Rust, in the arm of a `match` on
    ///   the pass's attempt that takes any error, `Err(_)` or `Err(e)`; a `match` on a
    ///   non-blocking test, `m.try_lock()` or an atomic's `load`, re-checks like `if let`, and
    ///   its `Err(_)` arm is "not yet"), or a loop whose
    ///   condition reads a
    ///   variable or attribute the loop itself assigns (an attempt counter, the result of the
    ///   last try, the work left), or that leaves on such a test (`if attempt >= retries:
    ///   raise`, also inside the `except` handler); the same goes for a test of the loop's own
    ///   state in an `if` (`if elapsed >= period:`), and a test in an `except` handler of the
    ///   failure just caught (`if e.errno != 22: raise`). The loop's own state includes what
    ///   the methods of its class that it calls write (`self._close()` setting `self._exit`;
    ///   when one of them is left to subclasses, `@abstractmethod` or only `raise
    ///   NotImplementedError`, any attribute of `self` may be its result), a property of the
    ///   class is read as what its getter returns (`self.is_locked` as `self._fd is not None`),
    ///   the functions nested in the loop's function that it calls write (`def poll():
    ///   proc.returncode = ..`), and the locals a called test is given (`while not all(j.done
    ///   for j in jobs):` with `jobs` fetched again in the loop). A builtin or a function of the
    ///   file that reads only its arguments, applied to what the loop fetches again itself
    ///   (`while len(self.info["members"]) < n: sleep(0.1); self.info = client.identity()`),
    ///   tests the loop's own state; so does a container the function makes (a literal, a
    ///   comprehension, `set()`) and changes in the loop (`del remaining[k]`, `busy.clear()`)
    ///   when it is never passed to a call, captured or aliased: no other code can reach it.
    ///   A loop over the work left still polls when the
    ///   sleep is in a "not yet" arm that `continue`s before the pass changes any of it
    ///   (`while received < size: if not self.frames: sleep(0.01); continue` in Python): on
    ///   that path nothing but the tested state can end the wait. A count is a deadline, not
    ///   an attempt counter, when the pass does nothing but sleep and count it (`while
    ///   time_left > 0 and not self._cancelled: sleep(0.5); time_left -= 0.5`, the sleep
    ///   awaited too): the loop still polls the shared state its condition tests besides (a
    ///   bound in a local, `attempt < attempts`, is none);
    /// - a retry with back-off: a loop that sleeps for an interval it grows from its own value
    ///   on each pass (`time.sleep(delay)` with `delay = min(2 * delay, 30)` or `delay *= 2`)
    ///   tests the calls in it as its own attempts (`if await self.connect(): break`); a
    ///   query of an object's state (`stop.is_set()`) or an attribute it reads is still polled;
    /// - `while True: work(); time.sleep(n)` with nothing to re-check (a periodic task);
    /// - a loop each pass of which blocks, with no timeout, to receive or hand over work
    ///   (`while let Ok(job) = rx.recv()`, `rx.recv().await`, `item = q.get()` before the sleep):
    ///   the messages pace it and the sleep only throttles it. A `get(timeout=...)`, or a
    ///   receive that a "not yet" arm skips by sleeping and going round again, does not;
    /// - comparisons with the clock (`while time.monotonic() < deadline`,
    ///   `if time.monotonic() < self.next_run:`, also through a local bound to a lambda or to
    ///   `functools.partial` of one, whose body is what the call tests): a deadline passes by
    ///   itself, not through another thread. So does a query of an object that the function makes and keeps to
    ///   itself (`deadline = Deadline(t)`, then `while not deadline.expired():`, in Python),
    ///   when it is an instance of a project class or a library's object made from constants
    ///   alone (`watch = timeutils.StopWatch(duration=60)`; not one made from nothing,
    ///   `Worker()`, which may run a thread of its own): no other thread can reach it. A loop that also re-checks state (`while not ready and
    ///   time.monotonic() < deadline`) is still polling.
    ///
    /// The message names the state polled as resolved (`handler.done()`, `self.ready`), not
    /// the deadline it is compared with.
    ///
    /// ## Example
    /// ```python
    /// def worker(stop):
    ///     while not stop.is_set():
    ///         flush()
    ///         time.sleep(5)
    ///
    /// while not self.ready:
    ///     time.sleep(0.1)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def worker(stop):
    ///     while not stop.wait(5):
    ///         flush()
    ///
    /// self.ready_event.wait(timeout=30)  # set by the thread that makes it ready
    /// ```
    ///
    /// or, for a predicate over shared state, `with cond: cond.wait_for(lambda: self.ready,
    /// timeout=30)`, with the writer calling `cond.notify_all()` after changing the state.
    ///
    /// The same loops in a coroutine poll too: `while not self.ready: await asyncio.sleep(0.1)`
    /// (or `trio.sleep`, `trio.sleep_until`, `anyio.sleep`, and `trio.lowlevel.checkpoint()`,
    /// a sleep of zero) wakes the task on every pass; await an `asyncio.Event` (`trio.Event`,
    /// `anyio.Event`) or an `asyncio.Condition` that the code changing the state sets or
    /// notifies. A sleep that is not awaited does not sleep and is not a polling loop. This
    /// covers flake8-async's ASYNC110, whose loops hold nothing but the sleep, and also the
    /// loops that do work between the checks.
    ///
    /// In Rust, `while !ready.load(Ordering::Acquire) { thread::sleep(..) }` is the same
    /// polling loop (a comparison with `Instant::now()` or `start.elapsed()` is a deadline, as
    /// in Python). Wait on a `Condvar` instead (`cvar.wait_timeout_while(guard, timeout, |s|
    /// !s.ready)`, the writer calling `notify_all()`), block on a channel (`rx.recv_timeout(..)`),
    /// or park the thread (`thread::park_timeout(..)`, the writer calling `unpark()`); in async
    /// code (`tokio::time::sleep(..).await`, `async_std::task::sleep(..).await`),
    /// `tokio::sync::Notify` or a `watch` channel.
    ///
    /// ## References
    /// - [Python docs: `Event.wait`](https://docs.python.org/3/library/threading.html#threading.Event.wait)
    /// - [Python docs: `Condition.wait_for`](https://docs.python.org/3/library/threading.html#threading.Condition.wait_for)
    /// - [Rust docs: `Condvar::wait_timeout_while`](https://doc.rust-lang.org/std/sync/struct.Condvar.html#method.wait_timeout_while)
    /// - [Rust docs: `thread::park`](https://doc.rust-lang.org/std/thread/fn.park.html)
    /// - [Python docs: `asyncio.Event`](https://docs.python.org/3/library/asyncio-sync.html#asyncio.Event)
    /// - [flake8-async ASYNC110](https://flake8-async.readthedocs.io/en/latest/rules.html#async110)
    pub static RULE = {
        violation: SleepPolling,
        name: "sleep-polling",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A loop that sleeps and re-checks a flag, state or predicate instead of waiting to be signalled.",
        check: Check::File(check),
    };
}

/// Where a polling loop re-checks its state.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// `while <condition>:`
    LoopCondition,
    /// An `if` arm around the sleep.
    Guard,
    /// An `if` arm that leaves the loop.
    Exit,
}

struct Recheck<'a> {
    place: Place,
    condition: &'a Condition,
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    for function in &model.functions {
        // One finding per loop, at its first sleep: a pass that sleeps twice polls once.
        let mut reported: HashSet<Span> = HashSet::new();
        events(&function.body, &mut |event, scopes| {
            if !matches!(event.kind, EventKind::Sleep) {
                return;
            }
            let Some((info, rechecks, directly_in_loop)) =
                polling_loop(model, function, event, scopes)
            else {
                return;
            };
            let the_loop = scopes
                .iter()
                .rev()
                .find(|s| matches!(s.kind, ScopeKind::Loop(_)))
                .map(|s| s.span);
            if the_loop.is_some_and(|span| !reported.insert(span)) {
                return;
            }
            findings.push(report(
                cx,
                event,
                info,
                &rechecks,
                directly_in_loop,
                function.is_async,
            ));
        });
    }
    findings
}

/// The innermost loop around a sleep, when it is a polling loop: its info, what it
/// re-checks (best first), and whether the sleep is directly in the loop's body.
fn polling_loop<'a>(
    model: &'a FileModel,
    owner: &Function,
    sleep: &Event,
    scopes: &[&'a Scope],
) -> Option<(&'a LoopInfo, Vec<Recheck<'a>>, bool)> {
    let index = scopes
        .iter()
        .rposition(|s| matches!(s.kind, ScopeKind::Loop(_)))?;
    let the_loop = scopes[index];
    let ScopeKind::Loop(info) = &the_loop.kind else {
        return None;
    };
    if info.kind == LoopKind::For {
        return None;
    }
    // `while await trio.sleep(0):` sleeps to evaluate the condition; it checks nothing.
    if info
        .condition
        .span
        .is_some_and(|condition| condition.contains(sleep.span))
    {
        return None;
    }
    // Each pass waits for a message (`while let Ok(job) = rx.recv()`): what other threads
    // send paces the loop, and the sleep only slows the consumer down.
    let inner = &scopes[index + 1..];
    if paced_by_receive(the_loop, sleep, inner.is_empty()) {
        return None;
    }
    // A sleep in an `except` handler (in Rust, the `Err(_)` arm of a `match` on the pass's
    // attempt) is a back-off before the next attempt.
    if inner.iter().any(|s| s.handles_failure()) {
        return None;
    }
    // A sleep on the way out of the loop runs once, it does not repeat.
    if leaves_after(sleep, the_loop, inner) {
        return None;
    }
    // A condition over the loop's own state (an attempt counter, the result of the last try,
    // the work left) is a retry or a work loop, not a wait for another thread.
    let own = OwnState::of(model, owner, the_loop, info);
    // A pass that does nothing but sleep and count (its statements are the sleep and the
    // counts) makes its count a measure of the time waited (`while time_left > 0 and not
    // self._cancelled: sleep(0.5); time_left -= 0.5`): a deadline, and what else the condition
    // tests is what the loop waits for.
    let counts_time = only_sleeps(&the_loop.body)
        && the_loop.statements as usize <= 1 + info.counted.len()
        && info.condition.reads.iter().all(|read| match read {
            Read::Local(name) if info.assigned.contains(name) => info.counted.contains(name),
            read => !own.contains(read),
        });
    // A work loop (`while body_len < body_size`) still polls when the sleep is in an arm that
    // goes round again before the pass changes the work left (`if not self._inbound: sleep();
    // continue`): waiting there, the loop makes no progress; it waits for what the arm tests.
    let stalled = if !counts_time && info.condition.reads.iter().any(|r| own.contains(r)) {
        match stalled_arm(the_loop, info, &own, inner) {
            Some(arm) => Some(arm),
            None => return None,
        }
    } else {
        None
    };
    let mut found = Vec::new();
    // Beside a count of the time waited, a local the loop does not assign is its bound
    // (`while attempt < attempts`), not state another thread changes.
    let polls_beside_count = counts_time
        && info
            .condition
            .reads
            .iter()
            .any(|read| !matches!(read, Read::Local(_)) && own.changes_elsewhere(read));
    if rechecks(&info.condition, &own) || polls_beside_count {
        found.push(Recheck {
            place: Place::LoopCondition,
            condition: &info.condition,
        });
    }
    // The `if` arms around the sleep (an `else` arm runs when the arms before it failed).
    for (depth, scope) in inner.iter().enumerate().rev() {
        let parent = if depth == 0 {
            the_loop
        } else {
            inner[depth - 1]
        };
        let Some(position) = parent
            .body
            .iter()
            .position(|n| matches!(n, Node::Scope(s) if std::ptr::eq(s, *scope)))
        else {
            continue;
        };
        if stalled.is_some_and(|stalled| !std::ptr::eq(stalled, *scope)) {
            continue;
        }
        // A handler of a non-blocking take's "not yet" (`except queue.Empty:` after
        // `q.get_nowait()`): whatever it does next, the sleep waits for what the take found
        // missing.
        if let ScopeKind::Except(ExceptInfo {
            not_yet: Some(condition),
        }) = &scope.kind
        {
            if rechecks(condition, &own) {
                found.push(Recheck {
                    place: Place::Guard,
                    condition,
                });
            }
            continue;
        }
        // The sleep is the "not yet" alternative: its arm goes on with the next pass, or
        // another arm does the work.
        let Node::Scope(Scope {
            kind: ScopeKind::Branch(arm),
            ..
        }) = &parent.body[position]
        else {
            continue;
        };
        if arm.exits != Some(ExitKind::Continue) && !arm.has_else {
            continue;
        }
        for condition in arm_conditions(&parent.body, position) {
            if rechecks(condition, &own) {
                found.push(Recheck {
                    place: Place::Guard,
                    condition,
                });
            }
        }
    }
    // The tests that leave the loop.
    let mut bounded = false;
    bodies(&the_loop.body, &mut |body, nested| {
        let in_inner_loop = nested.iter().any(|s| matches!(s.kind, ScopeKind::Loop(_)));
        // A test in an `except` handler examines how this pass's attempt failed (`if e.errno
        // != EAGAIN: raise`): the loop's own result, not another thread's state. It can
        // still bound the loop (`except OSError: errors += 1; if errors > 3: raise`).
        let in_handler = nested.iter().any(|s| s.handles_failure());
        for (position, node) in body.iter().enumerate() {
            let Node::Scope(Scope {
                kind: ScopeKind::Branch(branch),
                ..
            }) = node
            else {
                continue;
            };
            let leaves = match branch.exits {
                Some(ExitKind::Return | ExitKind::Raise) => true,
                Some(ExitKind::Break) => !in_inner_loop,
                _ => false,
            };
            if !leaves {
                continue;
            }
            // A way out on the loop's own count (`if attempt >= retries: raise`): the loop
            // runs a bounded number of passes, a retry rather than a wait.
            if branch.first && bounds_passes(&branch.condition, &own, info) {
                bounded = true;
            }
            if in_handler {
                continue;
            }
            for condition in arm_conditions(body, position) {
                if rechecks(condition, &own) {
                    found.push(Recheck {
                        place: Place::Exit,
                        condition,
                    });
                }
            }
        }
    });
    if found.is_empty() || bounded {
        return None;
    }
    let directly = inner
        .iter()
        .all(|s| !matches!(s.kind, ScopeKind::Branch(_)));
    Some((info, found, directly))
}

/// In a loop whose condition is its own state, the arm around the sleep that goes on with the
/// next pass (`continue`) when no statement before it, or in it, assigns a name the condition
/// reads: on that path the pass changes nothing of its own. `None` when there is none, or when
/// the front-end does not say where the loop assigns its names.
fn stalled_arm<'a>(
    the_loop: &Scope,
    info: &LoopInfo,
    own: &OwnState,
    inner: &[&'a Scope],
) -> Option<&'a Scope> {
    if info.assigned_at.len() != info.assigned.len() || info.assigned_at.is_empty() {
        return None;
    }
    let names: Vec<&str> = info
        .condition
        .reads
        .iter()
        .filter(|read| own.contains(read))
        .filter_map(|read| match read {
            Read::Local(name) | Read::Shared(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    // State the loop changes by writing it (an attribute) rather than assigning a local:
    // where it does so is not known here.
    let writes_elsewhere = names
        .iter()
        .any(|name| !info.assigned.iter().any(|a| a == name));
    if writes_elsewhere {
        return None;
    }
    let first_change = info
        .assigned
        .iter()
        .zip(&info.assigned_at)
        .filter(|(name, _)| names.contains(&name.as_str()))
        .map(|(_, &at)| at)
        .min()?;
    // The arm may count the time it waited (`except KeyError: sleep(t); timeout -= t;
    // continue`): a deadline, when it does nothing else and the loop only ever counts the
    // names by what its sleep waits (`attempt += 1` counts attempts: a bounded retry).
    let counts_time = |scope: &Scope| {
        only_sleeps(&scope.body)
            && scope.statements as usize <= 2 + info.counted.len()
            && names
                .iter()
                .all(|name| info.timed.iter().any(|timed| timed == name))
    };
    inner.iter().copied().find(|scope| {
        goes_round(scope)
            && the_loop.span.contains(scope.span)
            && (first_change >= scope.span.end
                || (scope.span.contains(Span::new(first_change, first_change))
                    && counts_time(scope)))
    })
}

/// An arm around the sleep that goes on with the next pass: an `if` arm, or a handler of a
/// non-blocking take's "not yet", that ends in `continue`.
fn goes_round(scope: &Scope) -> bool {
    match &scope.kind {
        ScopeKind::Branch(arm) => arm.exits == Some(ExitKind::Continue),
        ScopeKind::Except(ExceptInfo {
            not_yet: Some(_), ..
        }) => scope.has_direct_event(|kind| matches!(kind, EventKind::Exit(ExitKind::Continue))),
        _ => false,
    }
}

/// The sleep is followed, in its own block or in an enclosing one inside the loop, by a
/// `return`, a `break` or a `raise` (a panic): `if now < deadline { sleep(deadline - now); }
/// return ..;` waits once before leaving.
fn leaves_after(sleep: &Event, the_loop: &Scope, inner: &[&Scope]) -> bool {
    let levels: Vec<&Scope> = std::iter::once(the_loop)
        .chain(inner.iter().copied())
        .collect();
    let mut child: Option<&Scope> = None;
    for level in levels.iter().rev() {
        let position = level.body.iter().position(|node| match (node, child) {
            (Node::Event(event), None) => std::ptr::eq(event, sleep),
            (Node::Scope(scope), Some(child)) => std::ptr::eq(scope, child),
            _ => false,
        });
        // The first exit after the sleep decides: a `continue` (an arm `if not ready: sleep();
        // continue`) goes round again, whatever follows the arm.
        let exit = position.and_then(|p| {
            level.body[p + 1..].iter().find_map(|node| match node {
                Node::Event(Event {
                    kind: EventKind::Exit(kind),
                    ..
                }) => Some(*kind),
                _ => None,
            })
        });
        match exit {
            Some(ExitKind::Return | ExitKind::Break | ExitKind::Raise) => return true,
            Some(ExitKind::Continue) => return false,
            None => {}
        }
        child = Some(level);
    }
    false
}

/// The conditions an arm of an `if` statement depends on: its own, and for `elif`/`else` the
/// conditions of the arms before it.
fn arm_conditions(body: &[Node], position: usize) -> Vec<&Condition> {
    let mut conditions = Vec::new();
    for node in body[..=position].iter().rev() {
        let Node::Scope(Scope {
            kind: ScopeKind::Branch(branch),
            ..
        }) = node
        else {
            break;
        };
        conditions.push(&branch.condition);
        if branch.first {
            break;
        }
    }
    conditions
}

/// At most this many methods are followed from one loop for what it writes.
const MAX_CALLEES: usize = 64;

/// What a loop changes itself: the local names its body assigns and the shared state it writes.
struct OwnState<'a> {
    assigned: &'a [String],
    written: Vec<&'a str>,
    /// A Python local the loop does not assign can change through a callback (a list it
    /// appends to, a `nonlocal` flag); a Rust one cannot: what others change is shared (an
    /// atomic, a guard's data) and read through a call or a field.
    locals_change: bool,
    /// The loop calls a method of its class left to subclasses (`self._acquire()`, abstract
    /// here): what it writes of `self` is not known, so any attribute of `self` (written
    /// `self.` plus the name) may be the result of the pass's own attempt.
    opaque_self: Option<String>,
    /// The loop backs off between passes ([`LoopInfo::backoff`]): the calls it tests are its
    /// own attempts (`if self.connect(): break`), retried with growing delays.
    backoff: bool,
}

impl<'a> OwnState<'a> {
    fn of(model: &'a FileModel, owner: &Function, the_loop: &'a Scope, info: &'a LoopInfo) -> Self {
        let mut written = Vec::new();
        let mut callees = Vec::new();
        events(&the_loop.body, &mut |event, _| match &event.kind {
            EventKind::SharedWrite { target, .. } => written.push(target.as_str()),
            EventKind::Call { callee } => callees.push(*callee),
            _ => {}
        });
        // What the loop writes through the methods of its own class it calls
        // (`self._close()` setting `self._exit`): there `self` is the same object. And through
        // the functions nested in its own (`def poll(): proc.returncode = ..`, called by the
        // loop): they see its names.
        let mut opaque_self = None;
        let mut seen = HashSet::new();
        while let Some(callee) = callees.pop() {
            if !seen.insert(callee) || seen.len() > MAX_CALLEES {
                continue;
            }
            let function = model.function(callee);
            let method = owner.class.is_some() && function.class == owner.class;
            let nested = function.span.start > owner.span.start
                && function.span.end <= owner.span.end
                && function.class.is_none();
            if !method && !nested {
                continue;
            }
            if method && function.is_abstract {
                opaque_self = owner.params.first().map(|name| format!("{name}."));
            }
            events(&function.body, &mut |event, _| match &event.kind {
                // A nested function's write to a name of its own parameter is not the loop's.
                EventKind::SharedWrite { target, .. }
                    if method || !function.params.iter().any(|p| root_is(target, p)) =>
                {
                    written.push(target.as_str());
                }
                EventKind::Call { callee } => callees.push(*callee),
                _ => {}
            });
        }
        OwnState {
            assigned: &info.assigned,
            written,
            locals_change: model.language == Language::Python,
            opaque_self,
            backoff: info.backoff,
        }
    }

    fn contains(&self, read: &Read) -> bool {
        match read {
            Read::Local(name) => self.assigned.contains(name),
            Read::Shared(name) => {
                self.assigned.contains(name)
                    || self.written.contains(&name.as_str())
                    || self
                        .opaque_self
                        .as_ref()
                        .is_some_and(|prefix| name.starts_with(prefix.as_str()))
            }
            Read::Call(_) => self.backoff,
            _ => false,
        }
    }

    /// Not the loop's own state, and something another thread can change: shared state, a
    /// query or call evaluated again, a local the loop does not assign (in Python, through a
    /// callback or a `nonlocal`); not a constant or the clock.
    fn changes_elsewhere(&self, read: &Read) -> bool {
        !self.contains(read)
            && match read {
                Read::Shared(_) | Read::Call(_) | Read::Query { .. } => true,
                Read::Local(_) => self.locals_change,
                Read::Constant | Read::Clock => false,
            }
    }
}

/// Whether `target` (`proc.returncode`, `items[0]`) is `name` or a part of it.
fn root_is(target: &str, name: &str) -> bool {
    target
        .strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// A way out of the loop on a count it keeps (`if attempt >= retries: raise`, the attempt
/// counted up each pass) or on its own attribute: the passes are bounded. A local the pass sets
/// from what it finds (`died = not w.is_alive(); if died: return`) bounds nothing.
fn bounds_passes(condition: &Condition, own: &OwnState, info: &LoopInfo) -> bool {
    condition.reads.iter().any(|read| match read {
        Read::Local(name) => own.contains(read) && info.counted.contains(name),
        read => own.contains(read),
    })
}

/// Every pass waits, with no timeout, to receive from or hand to another thread or task: a
/// blocking `recv()`/`get()`/`send()`/`put()`, or an awaited receive (`rx.recv().await`), in
/// the loop's condition or directly in its body, not in an arm, and before the sleep unless
/// the sleep too is directly in the body (a "not yet" arm that sleeps and goes round again
/// skips a receive after it).
fn paced_by_receive(the_loop: &Scope, sleep: &Event, sleep_on_every_pass: bool) -> bool {
    let events: Vec<&Event> = the_loop
        .body
        .iter()
        .filter_map(|node| match node {
            Node::Event(event) => Some(event),
            Node::Scope(_) => None,
        })
        .collect();
    let on_the_way = |event: &Event| sleep_on_every_pass || event.span.end <= sleep.span.start;
    events
        .iter()
        .enumerate()
        .any(|(i, event)| match event.kind {
            _ if !on_the_way(event) => false,
            EventKind::Blocking {
                kind:
                    BlockingKind::Recv
                    | BlockingKind::QueueGet
                    | BlockingKind::Send
                    | BlockingKind::QueuePut,
                timeout: false,
                ..
            } => true,
            EventKind::Synchronize => events.get(i + 1).is_some_and(|next| {
                matches!(next.kind, EventKind::Await) && next.span.contains(event.span)
            }),
            _ => false,
        })
}

/// Every event of the body is a sleep (awaited, in a coroutine), a test of state or a
/// `continue` to the next pass, and it sleeps: each pass only waits.
fn only_sleeps(body: &[Node]) -> bool {
    let mut sleeps = false;
    let mut other = false;
    events(body, &mut |event, _| match event.kind {
        EventKind::Sleep => sleeps = true,
        EventKind::StateTest { .. } | EventKind::Await | EventKind::Exit(ExitKind::Continue) => {}
        _ => other = true,
    });
    sleeps && !other
}

/// The condition reads something another thread can change, or a predicate re-evaluated on
/// every pass; not the loop's own state, constants, or a deadline (a comparison with the
/// clock, which the front-end reduces to [`Read::Clock`]).
fn rechecks(condition: &Condition, own: &OwnState) -> bool {
    // A test of the loop's own state is a timer, a counter or a retry (`if elapsed >= period`).
    !condition.reads.iter().any(|r| own.contains(r))
        && condition
            .reads
            .iter()
            .any(|read| own.changes_elsewhere(read))
}

/// A loop that sleeps between re-checks of some state.
pub struct SleepPolling {
    /// The sleep as written.
    pub call: String,
    /// The state it re-checks.
    pub checked: String,
    /// Whether a task sleeps (async code) rather than a thread.
    pub async_code: bool,
    /// The sleep is of no time (`time.sleep(0)`): the loop spins.
    pub spins: bool,
    /// The wait that replaces the sleep, as the polled object offers it.
    pub help: String,
}

impl Violation for SleepPolling {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        let SleepPolling {
            call,
            checked,
            async_code,
            spins,
            ..
        } = self;
        let waker = if *async_code { "task" } else { "thread" };
        if *spins {
            return format!(
                "`{call}` polls `{checked}` in a loop with no pause: the {waker} re-checks it as fast as it can, keeping a CPU busy, instead of being woken when it changes"
            );
        }
        format!(
            "`{call}` polls `{checked}` in a loop: the change is seen up to one sleep late, and the {waker} keeps waking up for nothing instead of being woken when it happens"
        )
    }

    fn help(&self) -> String {
        self.help.clone()
    }
}

fn report(
    cx: &Context,
    sleep: &Event,
    info: &LoopInfo,
    rechecks: &[Recheck],
    directly_in_loop: bool,
    async_code: bool,
) -> Finding {
    let model = cx.model;
    let call = short(text(cx.source, sleep.span), SNIPPET_WIDTH);
    let interval = model
        .call(sleep.span)
        .and_then(|call| call.arguments)
        .map_or("", |arguments| text(cx.source, arguments));
    let first = &rechecks[0];
    let checked = polled(model, first.condition).unwrap_or_else(|| {
        short(
            first.condition.span.map_or("", |s| text(cx.source, s)),
            SNIPPET_WIDTH,
        )
    });
    let only_loop_condition = first.place == Place::LoopCondition && directly_in_loop;
    let help = rechecks
        .iter()
        .find_map(|r| {
            r.condition.reads.iter().find_map(|read| match read {
                Read::Query { obj, method } => Some((r, *obj, method.as_str())),
                _ => None,
            })
        })
        .and_then(|(recheck, obj, method)| {
            if async_code && model.language == Language::Python {
                // The object's own blocking wait would stall the event loop.
                let object = model.object(obj);
                return Some(format!(
                    "`{}` is a `threading.{}` that another thread changes: its blocking wait would stall the event loop, so wait for it in a worker thread (`await asyncio.to_thread(...)`), or have that thread set an `asyncio.Event` through `loop.call_soon_threadsafe(event.set)` and await that instead of sleeping",
                    short(&object.display, SNIPPET_WIDTH),
                    object.kind.describe(model.language)
                ));
            }
            object_help(model, recheck, obj, method, interval, only_loop_condition, info)
        })
        .unwrap_or_else(|| match model.language {
            Language::Python if async_code => "Have the task that changes the state signal it: await an `asyncio.Event` (`await asyncio.wait_for(event.wait(), timeout)`) or an `asyncio.Condition` (`await cond.wait_for(predicate)`, the writer calling `notify_all()`), or a `trio.Event` / `anyio.Event` under those libraries, instead of sleeping".to_string(),
            Language::Python => "Have the thread that changes the state signal it: wait on a `threading.Event` (`event.wait(timeout)`), or on a `threading.Condition` (`cond.wait_for(predicate, timeout)`, the writer calling `notify_all()`), instead of sleeping".to_string(),
            Language::Rust if async_code => "Have the task that changes the state wake this one: `tokio::sync::Notify` (`notified().await`) or a `watch` channel (`changed().await`), with a `tokio::time::timeout` around it, instead of sleeping".to_string(),
            Language::Rust => "Have the thread that changes the state wake this one: wait on a `Condvar` (`cvar.wait_timeout_while(guard, timeout, |s| !s.ready)`, the writer calling `notify_all()`), block on a channel (`rx.recv_timeout(timeout)`), or `thread::park_timeout(timeout)` with the writer calling `unpark()`, instead of sleeping".to_string(),
        });
    // `sleep(0)`, `sleep(0.0)`, `Duration::ZERO`, `from_millis(0)`: no time at all.
    let spins = {
        let amount = interval.trim();
        let inner = amount
            .rsplit_once('(')
            .map_or(amount, |(_, rest)| rest.trim_end_matches(')'));
        amount.ends_with("ZERO")
            || (!inner.is_empty()
                && inner
                    .trim()
                    .bytes()
                    .all(|b| matches!(b, b'0' | b'.' | b'_')))
    };
    SleepPolling {
        call,
        checked,
        async_code,
        spins,
        help,
    }
    .at(sleep.span)
}

/// The state a re-check reads, as resolved: the queried object, the called predicate, the shared
/// variable; not the deadline or the constant it is compared with.
fn polled(model: &FileModel, condition: &Condition) -> Option<String> {
    // Shared state first: a local beside it is the loop's own count.
    let (shared, local): (Vec<&Read>, Vec<&Read>) = condition
        .reads
        .iter()
        .partition(|read| !matches!(read, Read::Local(_)));
    shared.into_iter().chain(local).find_map(|read| match read {
        Read::Query { obj, method } => Some(format!(
            "{}.{method}()",
            short(&model.object(*obj).display, SNIPPET_WIDTH)
        )),
        // The callee (`handler.done`), or a whole call with the arguments that hold the state
        // (`len(self.lines)`).
        Read::Call(call) if call.ends_with(')') => Some(short(call, SNIPPET_WIDTH)),
        Read::Call(callee) => Some(format!("{}()", short(callee, SNIPPET_WIDTH))),
        Read::Shared(name) | Read::Local(name) => Some(short(name, SNIPPET_WIDTH)),
        Read::Constant | Read::Clock => None,
    })
}

/// The blocking wait that the queried object offers in place of the sleep.
fn object_help(
    model: &FileModel,
    recheck: &Recheck,
    obj: crate::model::ObjId,
    method: &str,
    interval: &str,
    only_loop_condition: bool,
    info: &LoopInfo,
) -> Option<String> {
    let object = model.object(obj);
    let name = &object.display;
    let timeout = if interval.is_empty() {
        "timeout"
    } else {
        interval
    };
    Some(match object.kind {
        ObjKind::Event if matches!(method, "is_set" | "isSet") => {
            let alone = recheck.place == Place::LoopCondition
                && info.kind == LoopKind::While
                && matches!(recheck.condition.reads.as_slice(), [Read::Query { .. }]);
            if only_loop_condition && alone {
                format!("Wait on the event instead of sleeping: write the loop as `while not {name}.wait({timeout}):` and drop the sleep; it wakes up as soon as `{name}` is set")
            } else {
                format!("Wait on the event instead of sleeping: `{name}.wait({timeout})` returns `True` as soon as `{name}` is set (e.g. `if {name}.wait({timeout}): break` in place of the sleep)")
            }
        }
        ObjKind::Thread { .. } => format!(
            "Wait for the thread itself: `{name}.join(timeout)` returns as soon as it ends"
        ),
        ObjKind::Future => format!(
            "Wait for the future itself: `{name}.result(timeout=...)` or `concurrent.futures.wait([{name}], timeout=...)` returns as soon as it is done"
        ),
        ObjKind::Queue { .. } if method.starts_with("put") => format!(
            "Block on the queue instead of polling it: `{name}.put(item, timeout=...)` (catching `queue.Full`) returns as soon as there is room"
        ),
        ObjKind::Queue { .. } => format!(
            "Block on the queue instead of polling it: `{name}.get(timeout=...)` (catching `queue.Empty`) returns as soon as an item arrives"
        ),
        kind if kind.is_lock_like() => format!(
            "Block on the lock instead of polling it: `{name}.acquire(timeout=...)` returns as soon as it is free"
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_model() -> FileModel {
        FileModel {
            language: Language::Python,
            module: None,
            objects: Vec::new(),
            functions: Vec::new(),
            thread_entries: Vec::new(),
            calls: rustc_hash::FxHashMap::default(),
            module_imports: Vec::new(),
        }
    }

    #[test]
    fn message_names_the_polled_predicate_not_the_deadline() {
        // `while not handler.done() and time.time() < timeout_at:`
        let condition = Condition {
            reads: vec![Read::Clock, Read::Call("handler.done".into())],
            span: None,
        };
        assert_eq!(
            polled(&empty_model(), &condition).as_deref(),
            Some("handler.done()")
        );
    }

    #[test]
    fn a_condition_of_constants_and_the_clock_names_nothing() {
        let condition = Condition {
            reads: vec![Read::Clock, Read::Constant],
            span: None,
        };
        assert_eq!(polled(&empty_model(), &condition), None);
    }
}
