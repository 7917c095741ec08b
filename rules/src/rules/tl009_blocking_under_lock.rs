use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Related, Violation};
use crate::held::{walk_held, Held};
use crate::model::{
    events, AcquireHow, BlockingKind, Event, EventKind, FileModel, FnId, Language, ObjId, ObjKey,
    ObjKind, Span, WaitKind,
};
use crate::registry::{Check, Context};
use crate::source::quoted_call;

declare_rule! {
    /// ## What it does
    /// Checks for sleeping or blocking while a lock is held: `time.sleep()`, `Thread.join()`,
    /// `Queue.get()` (and `put()` on a bounded queue), `Future.result()`,
    /// `concurrent.futures.wait()`, a subprocess or network call, `input()`, `Event.wait()` or
    /// `Barrier.wait()` inside `with lock:` (or between `acquire()` and `release()`); in
    /// Rust, `thread::sleep`, a blocking `recv()`, a `send()` on a bounded channel (it waits
    /// for a receiver to make room: one that needs the lock never will; not one of the first
    /// `n` sends, outside loops, into a channel of capacity `n` the function made and kept) or
    /// `JoinHandle::join()` while a `Mutex` or `RwLock` guard is alive. A call to a function or method of the same file that blocks
    /// (`with self._lock: self._flush()` where `_flush` sleeps) is reported at the call, with
    /// the blocking call inside as a related location.
    ///
    /// Locks only: `Lock`, `RLock`, `Condition`, `Mutex`, `RwLock` (read guards too, which
    /// keep writers out). Holding a semaphore slot while blocking is what a semaphore is for.
    ///
    /// Calls with a timeout are reported too: `q.get(timeout=5)` under a lock still makes
    /// every other thread that needs the lock wait up to five seconds. Calls that cannot
    /// block are not (`q.get(block=False)`, `try_recv()`, the `result()` of a future known to
    /// be done: one from an `as_completed` loop, or after `concurrent.futures.wait()`).
    ///
    /// Not reported:
    /// - waiting on the held condition itself (`with cond: cond.wait()`), which releases the
    ///   lock while it waits; waiting on a `Condition` built over another lock is reported,
    ///   since the held lock stays held (in Rust, `Condvar` waits are not checked: the model
    ///   does not know which guard a `Condvar` releases);
    /// - a lock used as a signal between threads, which some function releases without
    ///   acquiring it (`done.acquire()` waiting for a worker's `done.release()`; not an
    ///   `RLock`, which only the thread that took it can release: released in another method,
    ///   it is checked out and returned, and protects what runs in between), or a lock the
    ///   function creates itself and takes by hand (`gate = Lock(); gate.acquire()`), which
    ///   matters only as a gate for another thread: neither protects anything while "held";
    /// - a lock no other thread can acquire: a local created in the function and never handed
    ///   out (say one that shadows the name of a shared lock), which TL010 reports instead;
    ///   in Rust, a mutex that is a field the value owns (not behind an `Arc`), taken in a
    ///   method that has the value to itself (`&mut self`, such as `Drop::drop`);
    /// - blocking on the data the lock protects: workers sharing one `Mutex<Receiver<T>>`
    ///   (`rx.lock().unwrap().recv()`), where the lock exists to let one thread at a time wait
    ///   on the channel;
    /// - a helper that releases the caller's lock before it blocks (`self._lock.release();
    ///   time.sleep(1); self._lock.acquire()`);
    /// - an awaited sleep (`tokio::time::sleep(d).await`), which suspends the task, not the
    ///   thread (TL018 reports a thread lock held across it).
    ///
    /// ## Why is this bad?
    /// Every other thread that needs the lock stops for as long as the holder sleeps or
    /// waits, so the program runs at the speed of the slowest blocking call, one thread at a
    /// time. Worse, when the thread being waited for needs the same lock to make progress (the
    /// worker that must put the item, finish the future, or exit to be joined), both wait for
    /// each other forever.
    ///
    /// ## Example
    /// ```python
    /// def stop(self):
    ///     with self._lock:
    ///         self._running = False
    ///         self._worker.join()  # the worker takes self._lock to finish its loop
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def stop(self):
    ///     with self._lock:
    ///         self._running = False
    ///         worker = self._worker
    ///     worker.join()
    /// ```
    ///
    /// In Rust, end the guard's block (or `drop(guard)`) before `thread::sleep`, `recv()` or
    /// `join()`, copying out what the blocking call needs.
    ///
    /// ## References
    /// - [Python docs: Lock objects](https://docs.python.org/3/library/threading.html#lock-objects)
    /// - [Rust docs: `Mutex`](https://doc.rust-lang.org/std/sync/struct.Mutex.html)
    /// - [CERT LCK09-J: Do not perform operations that can block while holding a lock](https://wiki.sei.cmu.edu/confluence/display/java/LCK09-J.+Do+not+perform+operations+that+can+block+while+holding+a+lock)
    pub static RULE = {
        violation: BlockingUnderLock,
        name: "blocking-under-lock",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A sleep or blocking call (`join`, `Queue.get`, `result`, `recv`, I/O) while a lock is held.",
        check: Check::File(check),
    };
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let handoff = cx.handoff_locks();
    let reached = blocking_through_calls(model);
    let mut findings = Vec::new();
    for (index, function) in model.functions.iter().enumerate() {
        let marks = Marks::of(&function.body);
        walk_held(model, FnId(index as u32), &mut |event, held, _| {
            // The locks a blocking call keeps held: locks in the strict sense, not signals, and
            // not a lock the call itself releases first.
            let kept = |site: &Site| -> Vec<&Held> {
                held.iter()
                    .filter(|h| {
                        model.object(h.lock).kind.is_mutex()
                            // An `RLock` belongs to the thread that took it: released in
                            // another method, it is a check-out and return, not a signal.
                            && (!handoff.contains(&h.lock) || model.is_reentrant(h.lock))
                            && !is_gate(model, h)
                            && !is_unshared(model, h)
                            // A field the method's value owns, which it has to itself (`&mut
                            // self`): no other thread can be waiting for it.
                            && !model.uncontended(FnId(index as u32), h.lock)
                    })
                    .filter(|h| !site.frees(h.lock))
                    .collect()
            };
            if let EventKind::Call { callee } = event.kind {
                let through = reached[callee.0 as usize].iter().find_map(|site| {
                    let kept = kept(site);
                    (!kept.is_empty()).then_some((site, kept))
                });
                if let Some((site, kept)) = through {
                    findings.push(finding(cx, event, site, &kept, true));
                }
                return;
            }
            let Some(blocking) = classify(model, event, &marks) else {
                return;
            };
            let site = Site {
                function: FnId(index as u32),
                event,
                blocking,
                released: Vec::new(),
            };
            let kept = kept(&site);
            if !kept.is_empty() {
                findings.push(finding(cx, event, &site, &kept, false));
            }
        });
    }
    findings
}

/// A blocking call, in the function that makes it, as seen from a caller.
#[derive(Clone)]
struct Site<'a> {
    function: FnId,
    event: &'a Event,
    blocking: Blocking,
    /// Locks released on the way from the caller's call to the blocking call
    /// (`self._lock.release(); time.sleep(1); self._lock.acquire()` in a helper).
    released: Vec<ObjId>,
}

impl Site<'_> {
    /// The call does not keep `lock` held while it blocks.
    fn frees(&self, lock: ObjId) -> bool {
        self.blocking.releases == Some(lock)
            || self.blocking.data_of == Some(lock)
            || self.released.contains(&lock)
    }
}

/// At most this many blocking calls are remembered per function, through calls.
const MAX_REACHED: usize = 16;

/// For each function, the blocking calls it makes directly or through calls to functions of the
/// same file, in program order.
fn blocking_through_calls(model: &FileModel) -> Vec<Vec<Site<'_>>> {
    let count = model.functions.len();
    let mut direct: Vec<Vec<Site>> = vec![Vec::new(); count];
    // Each call of each function, with the locks released before it.
    let mut calls: Vec<Vec<(FnId, Vec<ObjId>)>> = vec![Vec::new(); count];
    for (index, function) in model.functions.iter().enumerate() {
        let marks = Marks::of(&function.body);
        let mut released = Vec::new();
        events(&function.body, &mut |event, _| match event.kind {
            EventKind::Release { obj } => released.push(model.lock_of(obj)),
            EventKind::Call { callee } => calls[index].push((callee, released.clone())),
            _ => {
                if let Some(blocking) = classify(model, event, &marks) {
                    if direct[index].len() < MAX_REACHED {
                        direct[index].push(Site {
                            function: FnId(index as u32),
                            event,
                            blocking,
                            released: released.clone(),
                        });
                    }
                }
            }
        });
    }
    // Fixed point over the call graph; sets only grow and are bounded, so this terminates.
    let mut reached = direct;
    loop {
        let mut changed = false;
        for index in 0..count {
            for (callee, released) in calls[index].clone() {
                if callee.0 as usize == index {
                    continue;
                }
                for site in reached[callee.0 as usize].clone() {
                    let known = reached[index]
                        .iter()
                        .any(|s| s.function == site.function && s.event.span == site.event.span);
                    if known || reached[index].len() >= MAX_REACHED {
                        continue;
                    }
                    let mut site = site;
                    site.released.extend(released.iter().copied());
                    reached[index].push(site);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    reached
}

/// A lock the function creates itself and takes by hand (`done = Lock(); done.acquire()`): a
/// local lock matters only if handed to another thread, so taking it by hand is a gate that
/// thread waits at (or opens), not a critical section.
fn is_gate(model: &FileModel, held: &Held) -> bool {
    matches!(
        held.how,
        AcquireHow::Manual | AcquireHow::Timeout | AcquireHow::NonBlocking
    ) && matches!(model.object(held.lock).key, ObjKey::Local { .. })
}

/// A lock no other thread can acquire: created in the function that holds it and never handed
/// out (a local that shadows a shared lock's name, or a lock under test). Blocking while holding
/// it makes nobody wait; TL010 reports the lock itself.
fn is_unshared(model: &FileModel, held: &Held) -> bool {
    let object = model.object(held.lock);
    matches!(object.key, ObjKey::Local { .. }) && !object.escapes
}

/// What a blocking event does, for the message.
#[derive(Clone)]
struct Blocking {
    /// `sleeps`, `blocks (joining a thread)`, ...
    what: String,
    timeout: bool,
    /// The lock a condition wait releases while it waits.
    releases: Option<ObjId>,
    /// It waits for another thread of this program to act (not for time, I/O or a process).
    waits_for_another: bool,
    /// The lock whose protected data it blocks on (a `Mutex<Receiver<T>>` shared by workers).
    data_of: Option<ObjId>,
}

fn classify(model: &FileModel, event: &Event, marks: &Marks) -> Option<Blocking> {
    let blocking = match &event.kind {
        EventKind::Sleep => {
            if marks.awaits.iter().any(|a| a.contains(event.span)) {
                return None;
            }
            Blocking {
                what: "sleeps".into(),
                timeout: false,
                releases: None,
                waits_for_another: false,
                data_of: None,
            }
        }
        // After `concurrent.futures.wait(...)` the futures it waited for are done (as TL005
        // assumes): their `result()` returns at once.
        EventKind::Blocking {
            kind: BlockingKind::FutureResult,
            ..
        } if marks
            .futures_waits
            .iter()
            .any(|w| w.end <= event.span.start) =>
        {
            return None
        }
        // Starting a process or opening a file takes the time of a system call, not of a wait:
        // doing it under a lock is ordinary (a log handler opening its file).
        EventKind::Blocking {
            kind: BlockingKind::Spawn | BlockingKind::FileIo,
            ..
        } => return None,
        EventKind::Blocking {
            kind, timeout, obj, ..
        } => Blocking {
            what: format!("blocks ({})", kind.describe()),
            timeout: *timeout,
            releases: None,
            waits_for_another: !kind.waits_outside(),
            data_of: obj.and_then(|obj| model.object(obj).guarded_by),
        },
        EventKind::Wait { obj, kind, timeout } => {
            let releases = match (model.object(*obj).kind, kind) {
                // The mutex a `Condvar` releases is the guard passed to it, which the model
                // does not record.
                (ObjKind::Condvar { .. }, _) => return None,
                (ObjKind::Condition { .. }, _) => Some(model.lock_of(*obj)),
                _ => None,
            };
            let what = match kind {
                WaitKind::Event => "waits for an event",
                WaitKind::Barrier => "waits at a barrier",
                WaitKind::Condition | WaitKind::ConditionPredicate => "waits on a condition",
            };
            Blocking {
                what: what.into(),
                timeout: *timeout,
                releases,
                waits_for_another: true,
                data_of: None,
            }
        }
        _ => return None,
    };
    Some(blocking)
}

/// Events of a function that change what a later call does.
struct Marks {
    /// Awaits: `sleep(d).await` suspends the task, not the thread.
    awaits: Vec<Span>,
    /// `concurrent.futures.wait(...)` calls.
    futures_waits: Vec<Span>,
}

impl Marks {
    fn of(body: &[crate::model::Node]) -> Self {
        let mut marks = Marks {
            awaits: Vec::new(),
            futures_waits: Vec::new(),
        };
        events(body, &mut |event, _| match event.kind {
            EventKind::Await => marks.awaits.push(event.span),
            EventKind::Blocking {
                kind: BlockingKind::FuturesWait,
                ..
            } => marks.futures_waits.push(event.span),
            _ => {}
        });
        marks
    }
}

/// A blocking call made while a lock is held.
pub struct BlockingUnderLock {
    /// The call as written (or "This call"), and the call it makes when it blocks in a callee.
    pub subject: String,
    /// What it does: "waits for a thread to finish".
    pub what: String,
    pub lock: String,
    /// " (it releases `cond`, not `lock`)", or empty.
    pub releases: String,
    /// Whether the blocking call has a timeout.
    pub timeout: bool,
    /// How it can deadlock, when it waits for another thread; or empty.
    pub deadlock: String,
    pub language: Language,
}

impl Violation for BlockingUnderLock {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        let BlockingUnderLock {
            subject,
            what,
            lock,
            releases,
            deadlock,
            ..
        } = self;
        let how_long = if self.timeout {
            "up to its timeout"
        } else {
            "as long"
        };
        format!(
            "{subject} {what} while `{lock}` is held{releases}: every other thread that needs `{lock}` waits {how_long}{deadlock}"
        )
    }

    fn help(&self) -> String {
        let lock = &self.lock;
        match self.language {
            Language::Python => format!("Move the blocking call out of the critical section: copy what it needs while holding `{lock}`, release the lock, then block"),
            Language::Rust => "Drop the guard before blocking (end its block, or call `drop(guard)`), copying out what the blocking call needs".to_string(),
        }
    }
}

fn finding(cx: &Context, at: &Event, site: &Site, kept: &[&Held], through: bool) -> Finding {
    let model = cx.model;
    let blocking = &site.blocking;
    let innermost = kept[kept.len() - 1];
    // As the code writes it where it is taken (`self._lock`, not a class attribute's `_lock`).
    let lock = &model.name_at(cx.source, innermost.obj, innermost.site);
    let call = quoted_call(cx.source, site.event.span);
    let subject = if through {
        let callee = model.function(site.function).qualified_name();
        format!(
            "{} calls `{callee}`, where {}",
            quoted_call(cx.source, at.span),
            call.replace("This call", "a call")
        )
    } else {
        call
    };
    let releases = match blocking.releases {
        // The condition's own lock is named as the wait writes the condition (`cls._changed`).
        Some(released) => {
            let name = match site.event.kind {
                EventKind::Wait { obj, .. } if obj == released => {
                    model.name_at(cx.source, released, site.event.span)
                }
                _ => model.object(released).display.clone(),
            };
            format!(" (it releases `{name}`, not `{lock}`)")
        }
        None => String::new(),
    };
    let deadlock = if blocking.waits_for_another {
        format!(", and if the thread it waits for needs `{lock}` to get there, neither can go on")
    } else {
        String::new()
    };
    let violation = BlockingUnderLock {
        subject,
        what: blocking.what.clone(),
        lock: lock.clone(),
        releases,
        timeout: blocking.timeout,
        deadlock,
        language: model.language,
    };
    let mut related: Vec<Related> = kept
        .iter()
        .map(|h| Related {
            file: None,
            span: h.site,
            message: format!("`{}` acquired here", model.object(h.obj).display),
        })
        .collect();
    if through {
        related.push(Related {
            file: None,
            span: site.event.span,
            message: format!(
                "the blocking call, in `{}`",
                model.function(site.function).qualified_name()
            ),
        });
    }
    violation.at(at.span).with_related(related)
}
