use std::collections::{HashMap, HashSet};

use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Related, Violation};
use crate::held::{walk_held, Held};
use crate::model::{
    AcquireHow, AtomicWrite, BlockingKind, EventKind, FileModel, Flavor, FnId, Language, ObjId,
    ObjKey, ObjKind, Scope, ScopeKind, Span, StateTestKind,
};
use crate::registry::{Check, Context};
use crate::source::{short, text, SNIPPET_WIDTH};

declare_rule! {
    /// ## What it does
    /// Checks for code that tests the state of a shared object and then acts on the answer in
    /// a separate step, with nothing keeping another thread from changing the state between
    /// the two:
    /// - a queue's size tested, then a blocking `get()` or `put()` on it
    ///   (`if not q.empty(): q.get()`, `while q.qsize() > 0: q.get()`, `if not q.full(): q.put(x)`),
    ///   when another function of the file also gets from (puts to) that queue, or the code
    ///   runs on several threads at once: with a single consumer nothing else can take the
    ///   item the test saw (nor fill the room, with a single producer);
    /// - `lock.locked()` tested, then the same lock acquired blocking (`lock.acquire()`,
    ///   `with lock:`);
    /// - `key in d` / `key not in d` tested on a module global or an attribute of `self`, then
    ///   `d[key]` written, in thread code (a thread's target, a `Thread.run` override, a task
    ///   given to a pool, and the functions of the file they call) that several threads run at
    ///   once, or while another function writes the same container (a `Thread` subclass's own
    ///   attribute, reached from its `run()`, belongs to one thread);
    /// - Rust: a lock taken in an `if` or `while` condition to test its data (the guard is
    ///   dropped when the condition ends), then taken again in the body to act on it
    ///   (`if map.lock().unwrap().contains_key(&k) { map.lock().unwrap().remove(&k); }`, a
    ///   `read()` guard then a `write()` guard).
    ///
    /// An atomic tested, then written by a separate operation (`if !flag.load(o) {
    /// flag.store(true, o); .. }`) is a read-modify-write split in two: TL006 reports it.
    ///
    /// The check is the condition of an `if`, `elif` or `while`; the act is in its body, in a
    /// later `elif`/`else` arm, or after the `if` when its arm leaves the block (`if key in
    /// cache: return cache[key]` then `cache[key] = value`). Not reported: a lock held over both the check and the act (acquired before the
    /// condition); an act that cannot block or cannot act on a stale answer
    /// (`q.get(timeout=...)`, `get_nowait()`, `lock.acquire(blocking=False)`); a test repeated under the act's own lock (the
    /// act is judged against the innermost test that covers it, and in Rust a body that tests
    /// again after taking the second guard is left alone); objects that do not leave their
    /// function (a local queue never handed to another thread); a different key,
    /// a different lock, or a method of that name on an object that is not a queue or a lock.
    /// A Rust guard bound once (`let g = m.lock().unwrap();`) and used for the test and the act
    /// is one critical section and is not reported. A `load` whose stored value is computed
    /// from it (`x.store(x.load(o) + 1, o)`) is TL006's.
    ///
    /// ## Why is this bad?
    /// The answer to the test is true only at the instant it is made. Between the test and the
    /// act another thread can take the last item (and `get()` blocks forever), take the lock
    /// the test saw free, insert the key (and one of the two values is overwritten), or flip
    /// the flag (and two threads both run the code the flag was meant to run once). These races
    /// need two threads to interleave at one spot, so tests rarely hit them; they show up under
    /// load, as hangs and lost data.
    ///
    /// ## Example
    /// ```python
    /// def drain(jobs):
    ///     while not jobs.empty():
    ///         handle(jobs.get())
    ///
    /// def remember(key, value):
    ///     if key not in cache:
    ///         cache[key] = value
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def drain(jobs):
    ///     while True:
    ///         try:
    ///             job = jobs.get_nowait()
    ///         except queue.Empty:
    ///             break
    ///         handle(job)
    ///
    /// def remember(key, value):
    ///     cache.setdefault(key, value)
    /// ```
    ///
    /// In Rust, take one guard and use it for the test and the act
    /// (`let mut map = cache.lock().unwrap(); map.entry(key).or_insert(value);`), or test
    /// again under the write guard.
    ///
    /// ## References
    /// - [Python docs: `Queue.qsize`, `empty` and `full`](https://docs.python.org/3/library/queue.html#queue.Queue.qsize) ("a subsequent get() is not guaranteed to not block")
    /// - [Python docs: `Lock.acquire`](https://docs.python.org/3/library/threading.html#threading.Lock.acquire)
    /// - [Python docs: `dict.setdefault`](https://docs.python.org/3/library/stdtypes.html#dict.setdefault)
    /// - [Rust reference: temporary scopes](https://doc.rust-lang.org/reference/destructors.html#temporary-scopes)
    pub static RULE = {
        violation: CheckThenAct,
        name: "check-then-act",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A shared object's state tested (`q.empty()`, `lock.locked()`, `key in d`, a Rust guard), then acted on in a separate step another thread can come between.",
        check: Check::File(check),
    };
}

/// What a test asks about, so that acts can be matched with it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Subject {
    /// A [`StateTestKind`] on an object (with the key, for a container).
    State(ObjId, StateTestKind, Option<String>),
    /// Rust: a lock whose guard lives only through the condition.
    Guard(ObjId),
}

/// One check in a condition.
struct Test {
    subject: Subject,
    span: Span,
}

/// What an event does to a tested object, if it acts on one.
fn act_subject(model: &FileModel, kind: &EventKind) -> Option<Subject> {
    match kind {
        EventKind::Blocking {
            kind: BlockingKind::QueueGet | BlockingKind::QueuePut,
            obj: Some(queue),
            timeout: false,
            ..
        } => Some(Subject::State(*queue, StateTestKind::QueueSize, None)),
        EventKind::Acquire { obj, how, .. } => match (model.language, how) {
            (Language::Python, AcquireHow::Manual | AcquireHow::Scoped) => Some(Subject::State(
                model.lock_of(*obj),
                StateTestKind::Locked,
                None,
            )),
            (Language::Rust, AcquireHow::Temporary | AcquireHow::Scoped | AcquireHow::Manual) => {
                Some(Subject::Guard(model.lock_of(*obj)))
            }
            _ => None,
        },
        EventKind::SharedWrite {
            obj: Some(container),
            key: Some(key),
            ..
        } => Some(Subject::State(
            *container,
            StateTestKind::Contains,
            Some(key.clone()),
        )),
        // A flag set or a counter reset, or an arithmetic update; not a store of a value
        // computed from other state (a mirror of data a lock guards), nor a swap or a
        // compare-and-swap, which tell the code what they replaced.
        EventKind::SharedWrite {
            obj: Some(atomic),
            key: None,
            read_modify_write: false,
            atomic: Some(AtomicWrite::Store { constant: true } | AtomicWrite::Arithmetic),
            ..
        } => Some(Subject::State(*atomic, StateTestKind::AtomicLoad, None)),
        _ => None,
    }
}

/// The subject an event in a condition tests.
fn test_subject(model: &FileModel, kind: &EventKind) -> Option<Subject> {
    match kind {
        EventKind::StateTest { obj, test, key } => {
            let obj = match test {
                StateTestKind::Locked => model.lock_of(*obj),
                _ => *obj,
            };
            Some(Subject::State(obj, *test, key.clone()))
        }
        EventKind::Acquire { obj, how, .. }
            if model.language == Language::Rust
                && matches!(how, AcquireHow::Temporary | AcquireHow::Manual) =>
        {
            Some(Subject::Guard(model.lock_of(*obj)))
        }
        _ => None,
    }
}

/// Where code runs under the answer of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// The arm of the `if` (`elif`) the condition opens.
    Arm,
    /// The body of the `while` loop.
    Loop,
    /// A later `elif`/`else` arm of the same `if`.
    Else,
    /// The rest of the enclosing block, after an `if` whose arm leaves it (`return`,
    /// `continue`, `break`, `raise`): reached only when the test came out the other way.
    After,
}

/// A stretch of code that runs under the answer of one condition.
struct Region {
    condition: Span,
    /// Where the code is (for [`Place::Arm`] and [`Place::Loop`], the scope's span).
    span: Span,
    place: Place,
}

/// The regions of a function: each arm and loop body under its condition, the later arms of
/// an `if`, and what follows an `if` whose first arm exits.
fn regions(function: &crate::model::Function) -> Vec<Region> {
    let mut regions = Vec::new();
    crate::model::bodies(&function.body, &mut |nodes, scopes| {
        let parent_end = scopes.last().map_or(function.span.end, |s| s.span.end);
        for (index, node) in nodes.iter().enumerate() {
            let crate::model::Node::Scope(scope) = node else {
                continue;
            };
            let (info, condition) = match &scope.kind {
                ScopeKind::Loop(info) => {
                    if let Some(condition) = info.condition.span {
                        regions.push(Region {
                            condition,
                            span: scope.span,
                            place: Place::Loop,
                        });
                    }
                    continue;
                }
                ScopeKind::Branch(info) => match info.condition.span {
                    Some(condition) => (info, condition),
                    None => continue,
                },
                _ => continue,
            };
            regions.push(Region {
                condition,
                span: scope.span,
                place: Place::Arm,
            });
            if !info.first {
                continue;
            }
            let mut end = scope.span.end;
            for later in &nodes[index + 1..] {
                match later {
                    crate::model::Node::Scope(Scope {
                        kind: ScopeKind::Branch(arm),
                        span,
                        ..
                    }) if !arm.first => {
                        regions.push(Region {
                            condition,
                            span: *span,
                            place: Place::Else,
                        });
                        end = span.end;
                    }
                    _ => break,
                }
            }
            if info.exits.is_some() && end < parent_end {
                regions.push(Region {
                    condition,
                    span: Span::new(end, parent_end),
                    place: Place::After,
                });
            }
        }
    });
    regions
}

/// One report: a test and the first act on its answer.
pub(crate) struct Race {
    test: Span,
    act: Span,
    subject: Subject,
    /// The act puts into a queue (rather than taking from it); takes a lock with `with`.
    put: bool,
    scoped: bool,
}

fn check(cx: &Context) -> Vec<Finding> {
    races(cx)
        .iter()
        .filter_map(|race| finding(cx, race))
        .collect()
}

/// Rust: an atomic whose `load` is tested, then written by a separate `store`, `swap` or
/// `fetch_*` in the arm the test opens, found the way every check-then-act is: `(test, act,
/// atomic)`.
pub(crate) fn tested_atomics(cx: &Context) -> Vec<(Span, Span, ObjId)> {
    races(cx)
        .into_iter()
        .filter_map(|race| match race.subject {
            Subject::State(atomic, StateTestKind::AtomicLoad, _) => {
                Some((race.test, race.act, atomic))
            }
            _ => None,
        })
        .collect()
}

/// Every test of the file and the first act on its answer that another thread can come
/// between.
fn races(cx: &Context) -> Vec<Race> {
    let model = cx.model;
    let threads = ThreadCode::new(model);
    let mut findings = Vec::new();
    for index in 0..model.functions.len() {
        let function = FnId(index as u32);
        // Every test event of the function, by position.
        let mut tests: Vec<Test> = Vec::new();
        crate::model::events(&model.function(function).body, &mut |event, _| {
            if let Some(subject) = test_subject(model, &event.kind) {
                tests.push(Test {
                    subject,
                    span: event.span,
                });
            }
        });
        if tests.is_empty() {
            continue;
        }
        tests.sort_by_key(|t| (t.span.start, t.span.end));
        // Branch and loop scopes (their spans), for the Rust re-test after a second guard.
        let mut tested_scopes: Vec<Span> = Vec::new();
        crate::model::walk(&model.function(function).body, &mut |node, _| {
            if let crate::model::Node::Scope(scope) = node {
                if matches!(scope.kind, ScopeKind::Branch(_) | ScopeKind::Loop(_)) {
                    tested_scopes.push(scope.span);
                }
            }
        });
        let regions = regions(model.function(function));
        let mut races: Vec<Race> = Vec::new();
        let mut reported: HashSet<(Span, Subject)> = HashSet::new();
        walk_held(model, function, &mut |event, held, scopes| {
            let Some(subject) = act_subject(model, &event.kind) else {
                return;
            };
            // The nearest test of the same subject whose answer the act runs under.
            let found = regions
                .iter()
                .filter(|r| r.span.contains(event.span) && event.span.start >= r.condition.end)
                .filter_map(|region| {
                    let first = tests.partition_point(|t| t.span.start < region.condition.start);
                    tests[first..]
                        .iter()
                        .take_while(|t| t.span.end <= region.condition.end)
                        .find(|t| t.subject == subject)
                        .map(|t| (t, region))
                })
                .max_by_key(|(_, region)| {
                    (region.condition.start, std::cmp::Reverse(region.span.end))
                });
            let Some((test, region)) = found else {
                return;
            };
            let condition = region.condition;
            // `fetch_add`/`fetch_sub` after a test: a bound checked then crossed (`if n > 0 {
            // n.fetch_sub(..) }`) when the update follows from the test alone; in a loop
            // condition the test is when to stop, and under a further branch the update
            // follows from that branch's own test (an item taken, a task done).
            //
            // An atomic written elsewhere than in the arm its test opens (after an early
            // return, in a loop) is a one-way latch or a fast path: the store repeats what
            // another thread may have stored, and nothing is claimed on the stale answer.
            if let EventKind::SharedWrite {
                atomic: Some(write),
                ..
            } = event.kind
            {
                // An `else` arm is the arm the test opens for its other answer (`if n > 0 {
                // .. } else { n.fetch_add(1, o) }` is `if n <= 0 { n.fetch_add(1, o) }`).
                let innermost = scopes.last().is_some_and(|s| s.span == region.span);
                let opened = matches!(region.place, Place::Arm | Place::Else);
                if !opened || (write == AtomicWrite::Arithmetic && !innermost) {
                    return;
                }
            }
            if !shared(model, &subject)
                || locked_over_both(model, held, condition, &subject)
                || on_one_event_loop(model, &subject)
            {
                return;
            }
            if let Subject::Guard(lock) = subject {
                // The first guard still alive (an `if let` scrutinee before edition 2024):
                // taking the lock again is a self-deadlock, TL007's.
                if held.iter().any(|h| h.lock == lock) {
                    return;
                }
                // A test made again under the second guard, bound for the rest of its block
                // (`let mut map = m.write().unwrap(); if !map.contains_key(..)`). A guard that
                // is a temporary is gone by the next statement: a later test is not under it.
                let bound = matches!(
                    event.kind,
                    EventKind::Acquire {
                        how: AcquireHow::Scoped | AcquireHow::Manual,
                        ..
                    }
                );
                if bound
                    && tested_scopes
                        .iter()
                        .any(|s| s.start > event.span.start && region.span.contains(*s))
                {
                    return;
                }
            }
            if let Subject::State(container, StateTestKind::Contains, _) = subject {
                if !threads.races(model, function, container) {
                    return;
                }
            }
            // A queue with one consumer (one producer, for `full()`) cannot lose the item
            // (the room) it saw: only another thread doing the same act can.
            if let EventKind::Blocking {
                kind,
                obj: Some(queue),
                ..
            } = event.kind
            {
                if !threads.rival_queue_users(model, function, queue, kind) {
                    return;
                }
            }
            if reported.insert((test.span, subject.clone())) {
                races.push(Race {
                    test: test.span,
                    act: event.span,
                    subject,
                    put: matches!(
                        event.kind,
                        EventKind::Blocking {
                            kind: BlockingKind::QueuePut,
                            ..
                        }
                    ),
                    scoped: matches!(
                        event.kind,
                        EventKind::Acquire {
                            how: AcquireHow::Scoped,
                            ..
                        }
                    ),
                });
            }
        });
        findings.extend(races);
    }
    findings
}

/// The tested object can be reached by other threads.
fn shared(model: &FileModel, subject: &Subject) -> bool {
    let obj = match subject {
        Subject::State(obj, ..) | Subject::Guard(obj) => *obj,
    };
    model.object(obj).escapes
}

/// An async lock is tested and taken by tasks of one event loop: nothing runs between
/// `locked()` and an acquisition that does not suspend.
fn on_one_event_loop(model: &FileModel, subject: &Subject) -> bool {
    let Subject::State(obj, StateTestKind::Locked, _) = subject else {
        return false;
    };
    matches!(
        model.object(*obj).kind,
        ObjKind::Lock {
            flavor: Flavor::Async
        } | ObjKind::RwLock {
            flavor: Flavor::Async
        }
    )
}

/// A lock taken before the condition and still held at the act makes the two one critical
/// section (for the threads that take it).
fn locked_over_both(model: &FileModel, held: &[Held], condition: Span, subject: &Subject) -> bool {
    let tested = match subject {
        Subject::State(obj, StateTestKind::Locked, _) | Subject::Guard(obj) => Some(*obj),
        _ => None,
    };
    held.iter().any(|h| {
        h.site.end <= condition.start
            && Some(h.lock) != tested
            && model.object(h.lock).kind.is_mutex()
    })
}

/// Which functions run on other threads, and which write each container (Python).
struct ThreadCode {
    /// For each function, the thread entries that reach it through calls.
    entries_of: HashMap<FnId, Vec<usize>>,
    /// Each entry's reach.
    reach: Vec<HashSet<FnId>>,
    /// Functions that write or test each container object.
    users: HashMap<ObjId, HashSet<FnId>>,
    /// Functions that get from (put to, `true`) each queue.
    queue_users: HashMap<(ObjId, bool), HashSet<FnId>>,
}

impl ThreadCode {
    fn new(model: &FileModel) -> Self {
        let mut calls: Vec<Vec<FnId>> = vec![Vec::new(); model.functions.len()];
        let mut users: HashMap<ObjId, HashSet<FnId>> = HashMap::new();
        let mut queue_users: HashMap<(ObjId, bool), HashSet<FnId>> = HashMap::new();
        for (index, function) in model.functions.iter().enumerate() {
            let id = FnId(index as u32);
            crate::model::events(&function.body, &mut |event, _| match &event.kind {
                EventKind::Call { callee } => calls[index].push(*callee),
                EventKind::SharedWrite { obj: Some(obj), .. } => {
                    users.entry(*obj).or_default().insert(id);
                }
                EventKind::Blocking {
                    kind: kind @ (BlockingKind::QueueGet | BlockingKind::QueuePut),
                    obj: Some(queue),
                    ..
                } => {
                    let put = *kind == BlockingKind::QueuePut;
                    queue_users.entry((*queue, put)).or_default().insert(id);
                }
                _ => {}
            });
        }
        let mut entries_of: HashMap<FnId, Vec<usize>> = HashMap::new();
        let mut reach = Vec::new();
        for (entry_index, entry) in model.thread_entries.iter().enumerate() {
            let mut seen = HashSet::new();
            let mut stack = vec![entry.function];
            while let Some(function) = stack.pop() {
                if seen.insert(function) {
                    entries_of.entry(function).or_default().push(entry_index);
                    stack.extend(calls[function.0 as usize].iter().copied());
                }
            }
            reach.push(seen);
        }
        ThreadCode {
            entries_of,
            reach,
            users,
            queue_users,
        }
    }

    /// `function` runs on several threads at once: a pool task, a thread started in a loop,
    /// code several thread entries reach.
    fn concurrent(&self, model: &FileModel, function: FnId) -> bool {
        let Some(entries) = self.entries_of.get(&function) else {
            return false;
        };
        let handoffs = |f: FnId| {
            model
                .thread_entries
                .iter()
                .filter(|e| e.function == f)
                .count()
        };
        entries.len() > 1
            || entries.iter().any(|&e| {
                let entry = &model.thread_entries[e];
                entry.repeated || handoffs(entry.function) > 1
            })
    }

    /// Another thread may `get` from (`put` to) `queue` while `function` does: another function
    /// of the file does, or `function` itself runs on several threads at once.
    fn rival_queue_users(
        &self,
        model: &FileModel,
        function: FnId,
        queue: ObjId,
        kind: BlockingKind,
    ) -> bool {
        let others = self
            .queue_users
            .get(&(queue, kind == BlockingKind::QueuePut))
            .is_some_and(|users| users.iter().any(|&f| f != function));
        others || self.concurrent(model, function)
    }

    /// `function` runs on several threads at once, or on one thread while a function outside
    /// it writes `container` too.
    fn races(&self, model: &FileModel, function: FnId, container: ObjId) -> bool {
        let Some(entries) = self.entries_of.get(&function) else {
            return false;
        };
        // A `Thread` subclass's own attributes, reached from its `run()`: each thread object
        // has its own, however many threads run that code.
        let own_attribute = match &model.object(container).key {
            ObjKey::Member { class, .. } => entries.iter().all(|&e| {
                let entry = &model.thread_entries[e];
                let run = model.function(entry.function);
                entry.site == run.name_span && run.class.as_deref() == Some(class.as_str())
            }),
            _ => false,
        };
        if !own_attribute && self.concurrent(model, function) {
            return true;
        }
        let reach = &self.reach[entries[0]];
        self.users.get(&container).is_some_and(|users| {
            users
                .iter()
                .any(|f| !reach.contains(f) && !is_constructor(model, *f))
        })
    }
}

/// A new object is not shared while it is being built.
fn is_constructor(model: &FileModel, function: FnId) -> bool {
    matches!(
        model.function(function).name.as_str(),
        "__init__" | "__new__"
    )
}

/// A shared object's state tested, then acted on in a separate step.
pub struct CheckThenAct {
    /// The test and the act as written.
    pub check: String,
    pub act: String,
    /// The object tested, as written, and its kind.
    pub name: String,
    pub kind: &'static str,
    pub step: Step,
}

/// What is tested and then done.
pub enum Step {
    /// A queue's size, then a put.
    QueuePut,
    /// A queue's size, then a get.
    QueueGet,
    /// Whether a lock is free, then taking it.
    Locked,
    /// Whether a mapping holds the key, then writing it.
    Contains(String),
    /// Rust: a guard's data tested in a condition, then locked again.
    Guard,
}

impl CheckThenAct {
    /// What the act's site is, for its related location.
    fn act_site(&self) -> &'static str {
        match self.step {
            Step::QueuePut => "the put that relies on the test",
            Step::QueueGet => "the get that relies on the test",
            Step::Locked => "the lock is taken here",
            Step::Contains(_) => "the item is written here",
            Step::Guard => "locked again here, after the test's guard was dropped",
        }
    }
}

impl Violation for CheckThenAct {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        let CheckThenAct {
            check,
            act,
            name,
            kind,
            ..
        } = self;
        match &self.step {
            Step::QueuePut => format!("`{check}` tests the {kind} `{name}`, then `{act}` acts on the answer: another thread can fill the queue in between, and `{act}` then blocks until a consumer makes room, possibly for ever"),
            Step::QueueGet => format!("`{check}` tests the {kind} `{name}`, then `{act}` acts on the answer: another thread can take the last item in between, and `{act}` then blocks until a producer adds one, possibly for ever"),
            Step::Locked => format!("`{check}` tests whether the {kind} `{name}` is free, then `{act}` takes it: another thread can take it in between, and this thread then blocks although the test said it would not"),
            Step::Contains(key) => format!("`{check}` tests whether `{name}` holds `{key}`, then `{act}` writes it, with no lock held over both, in code that runs on several threads: another thread can insert the same key in between, and one of the two values is overwritten"),
            Step::Guard => format!("The {kind} `{name}` is locked in this condition to test its data, the guard is dropped when the condition ends, and `{act}` locks it again to act on the answer: another thread can change the data between the two guards"),
        }
    }

    fn help(&self) -> String {
        let name = &self.name;
        match &self.step {
            Step::QueuePut => format!("Drop the test and let the call say whether it could: `try: {name}.put_nowait(item)` with `except queue.Full:` (or `{name}.put(item, timeout=...)`)"),
            Step::QueueGet => format!("Drop the test and let the call say whether it could: `try: item = {name}.get_nowait()` with `except queue.Empty:` (or `{name}.get(timeout=...)`)"),
            Step::Locked => format!("Test and take in one call: `if {name}.acquire(blocking=False):` and release it in a `finally:`"),
            Step::Contains(key) => format!("Insert only if absent, in one step: `{name}.setdefault({key}, value)`, or hold one lock over the test and the write (`with lock:` around the whole `if`)"),
            Step::Guard => format!("Take one guard and use it for the test and the act (`let mut data = {name}.lock().unwrap();` before the `if`, or the `entry` API), or for a `RwLock`, test again under the write guard"),
        }
    }
}

/// The finding of a race; none for an atomic tested then written, which the catalogue makes a
/// split read-modify-write, TL006's ([`tested_atomics`]).
fn finding(cx: &Context, race: &Race) -> Option<Finding> {
    let model = cx.model;
    let check = short(text(cx.source, race.test), SNIPPET_WIDTH);
    let act = short(text(cx.source, race.act), SNIPPET_WIDTH);
    let act = if race.scoped {
        model.language.syntax().scoped_acquire(&act)
    } else {
        act
    };
    let (obj, step) = match &race.subject {
        Subject::State(obj, test, key) => (
            *obj,
            match test {
                StateTestKind::QueueSize if race.put => Step::QueuePut,
                StateTestKind::QueueSize => Step::QueueGet,
                StateTestKind::Locked => Step::Locked,
                StateTestKind::Contains => {
                    Step::Contains(key.as_deref().unwrap_or("key").to_string())
                }
                StateTestKind::AtomicLoad => return None,
            },
        ),
        Subject::Guard(lock) => (*lock, Step::Guard),
    };
    let object = model.object(obj);
    let violation = CheckThenAct {
        check,
        act,
        name: object.display.clone(),
        kind: object.kind.describe(model.language),
        step,
    };
    let related = violation.act_site();
    Some(violation.at(race.test).with_related(vec![Related {
        file: None,
        span: race.act,
        message: related.to_string(),
    }]))
}
