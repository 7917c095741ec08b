use std::collections::HashMap;

use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Related, Violation};
use crate::held::walk_held;
use crate::model::{
    EventKind, FileModel, FnId, Language, ObjId, ObjKey, ObjKind, Span, ThreadEntry,
};
use crate::registry::{Check, Context};
use crate::source::{short, text, SNIPPET_WIDTH};

declare_rule! {
    /// ## What it does
    /// Checks for read-modify-write updates (`x += 1`, `self.n = self.n + 1`, `d[k] += 1`) of a
    /// module global or an instance attribute, with no lock held, in thread code: a
    /// `Thread(target=...)` target, a `Thread.run` override, a function submitted to a thread
    /// pool or passed to its `map`, and the functions of the same file they call.
    ///
    /// It reports an update when two threads can run it at once: the code is a pool task, its
    /// thread is created in a loop or a comprehension (or the `Thread` subclass is instantiated
    /// there or at several places), or several threads reach it. An update in code that runs on
    /// a single thread is reported only when another function, outside that thread, writes the
    /// same state, or calls the function that updates it (the flush thread and every caller of
    /// `gauge()` both run `_report()`): one background thread counting into a global that the
    /// main thread reads after `join()` is not a race.
    ///
    /// Not reported: an update with a lock held around it, in the same function or at every call
    /// that leads to it from thread code; an update in `__init__` (the object is not shared yet),
    /// or in a test case's `setUp` (or pytest's `setup_method`), which runs before the test
    /// starts its threads;
    /// an update of a `Thread` subclass's own attributes from its `run()`, since that object
    /// belongs to one thread (unless another method writes the same attribute); tasks of a
    /// process pool, which do not share memory.
    ///
    /// Rust: an atomic updated in two atomic operations, a `store` of a value computed from a
    /// `load` of the same atomic (`x.store(x.load(o) + 1, o)`), with no lock held. An atomic is
    /// made to be shared, so no thread entry is needed; a local atomic that never leaves its
    /// function is not reported, nor is a value loaded into a variable first (often the one
    /// writer of a single-writer structure), nor a store of another atomic's value. An atomic's
    /// `load` tested, then the atomic written by a separate `store`, `swap` or `fetch_*` in the
    /// arm the test opens (`if x.load(o) == 0 { x.store(1, o) }`, or its `else` arm: `if
    /// x.load(o) > 0 { .. } else { x.fetch_add(1, o) }`) is the same split: another
    /// thread can write between the test and the write. Not that: a flag tested for an early
    /// return and set later (a one-way latch, where every thread stores the same value), an
    /// atomic stored from state a lock guards, a `compare_exchange`, `swap` or `fetch_update`
    /// that tests and writes in one operation.
    ///
    /// ## Why is this bad?
    /// `counter += 1` is several bytecodes: load the value, add, store it back. The GIL can
    /// switch threads between the load and the store, so two threads can both read the old value
    /// and one of the increments is lost. The GIL makes single bytecodes atomic, not statements,
    /// and free-threaded Python has no GIL at all. Lost updates are rare and timing-dependent:
    /// counters drift, totals are wrong, and tests pass anyway.
    ///
    /// ## Example
    /// ```python
    /// hits = 0
    ///
    /// def handle(request):
    ///     global hits
    ///     hits += 1
    ///
    /// with ThreadPoolExecutor() as executor:
    ///     executor.map(handle, requests)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// hits = 0
    /// hits_lock = threading.Lock()
    ///
    /// def handle(request):
    ///     global hits
    ///     with hits_lock:
    ///         hits += 1
    /// ```
    ///
    /// In Rust, `HITS.store(HITS.load(Relaxed) + 1, Relaxed)` becomes
    /// `HITS.fetch_add(1, Relaxed)`; any other function of the old value,
    /// `x.fetch_update(SeqCst, SeqCst, |v| Some(f(v)))`.
    ///
    /// ## References
    /// - [Rust docs: `AtomicUsize::fetch_update`](https://doc.rust-lang.org/std/sync/atomic/struct.AtomicUsize.html#method.fetch_update)
    /// - [Python docs: What kinds of global value mutation are thread-safe?](https://docs.python.org/3/faq/library.html#what-kinds-of-global-value-mutation-are-thread-safe)
    /// - [Python docs: Lock objects](https://docs.python.org/3/library/threading.html#lock-objects)
    pub static RULE = {
        violation: UnsynchronizedSharedUpdate,
        name: "unsynchronized-shared-update",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A read-modify-write (`x += 1`) of shared state in code that runs on several threads, with no lock held; Rust: an atomic updated by a `load` then a `store`.",
        check: Check::File(check),
    };
}

/// A read-modify-write of shared state that another thread's update can interleave.
pub enum UnsynchronizedSharedUpdate {
    /// With no lock held, in code that runs on several threads (`runs`), or on one thread while
    /// another function (`writer`) also writes the state.
    Update {
        /// The statement as written, or "The update of `x`".
        shown: String,
        /// "an attribute" or "shared state".
        place: &'static str,
        /// The function that runs it, and the thread entry that calls it.
        runs: String,
        writer: Option<String>,
        /// `writer` does not write the state itself: it calls the function that does, outside
        /// the thread.
        through_call: bool,
        /// The lock to suggest.
        lock: String,
    },
    /// Rust: an atomic loaded, then stored back with a separate `store`.
    SplitAtomic { target: String, atomic: String },
    /// Rust: an atomic's `load` tested, then the atomic written by a separate operation in the
    /// arm the test opens.
    TestedAtomic {
        check: String,
        act: String,
        atomic: String,
    },
}

impl Violation for UnsynchronizedSharedUpdate {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        match self {
            UnsynchronizedSharedUpdate::Update {
                shown,
                place,
                runs,
                writer: None,
                ..
            } => format!(
                "{shown} reads and writes {place} with no lock held, and {runs} runs on several threads at once: two threads can read the same old value and one of the updates is lost"
            ),
            UnsynchronizedSharedUpdate::Update {
                shown,
                place,
                runs,
                writer: Some(caller),
                through_call: true,
                ..
            } => format!(
                "{shown} reads and writes {place} with no lock held in {runs}, which runs on another thread while `{caller}` also calls it outside that thread: a write between the read and the write back is lost"
            ),
            UnsynchronizedSharedUpdate::Update {
                shown,
                place,
                runs,
                writer: Some(writer_name),
                ..
            } => format!(
                "{shown} reads and writes {place} with no lock held in {runs}, which runs on another thread while `{writer_name}` also writes it: a write between the read and the write back is lost"
            ),
            UnsynchronizedSharedUpdate::SplitAtomic { target, atomic } => format!(
                "`{target}` is loaded, then a value computed from it is stored back with a separate `store`: another thread's update of the atomic `{atomic}` between the two is overwritten and lost"
            ),
            UnsynchronizedSharedUpdate::TestedAtomic { check, act, atomic } => format!(
                "`{check}` tests the atomic `{atomic}`, then `{act}` writes it in a separate operation: another thread can change it in between, and both threads act on the same stale value"
            ),
        }
    }

    fn help(&self) -> String {
        match self {
            UnsynchronizedSharedUpdate::Update { lock, .. } => format!(
                "Hold one lock shared by every thread that updates it: `with {lock}:` above the statement, the statement indented under it (the GIL does not make `+=` atomic)"
            ),
            UnsynchronizedSharedUpdate::SplitAtomic { target, .. } => format!(
                "Make the update one atomic operation: `{target}.fetch_add(..)` (or `fetch_sub`, `fetch_or`, ...), or `{target}.fetch_update(set, fetch, |v| Some(f(v)))` for any other function of the old value"
            ),
            UnsynchronizedSharedUpdate::TestedAtomic { atomic, .. } => format!(
                "Make the test and the write one atomic operation: `{atomic}.compare_exchange(expected, new, Ordering::AcqRel, Ordering::Acquire)` and act only on `Ok`, `{atomic}.swap(new, ..)` for a flag (act on the old value it returns), or `{atomic}.fetch_update(..)`"
            ),
        }
    }
}

/// One read-modify-write with no lock held in its own function.
struct Update {
    span: Span,
    target: String,
    obj: ObjId,
}

/// The functions one thread entry runs.
struct EntryReach {
    /// Reached through calls made with no lock held; `[shared_self, own_self]`: whether reached
    /// with a `self` other threads can use too, or from a `Thread` subclass's own `run()`
    /// through method calls, where `self` is the thread object itself.
    unlocked: HashMap<u32, [bool; 2]>,
    /// Reached through any calls: everything that runs on this entry's thread.
    all: std::collections::HashSet<u32>,
}

/// Why an update races.
enum Race {
    /// The code runs on several threads at once (the entry that makes it so).
    Concurrent(usize),
    /// The code runs on one other thread, and another function writes the same state.
    OtherWriter {
        entry: usize,
        writer: FnId,
        site: Span,
    },
    /// The code runs on one other thread, and a function outside that thread calls it too
    /// (`gauge()` calling the `_report()` the flush thread runs).
    OtherCaller {
        entry: usize,
        caller: FnId,
        site: Span,
    },
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    if model.language == Language::Rust {
        let mut findings = split_atomic_updates(cx);
        findings.extend(tested_atomics(cx));
        return findings;
    }
    if model.thread_entries.is_empty() {
        return Vec::new();
    }
    let count = model.functions.len();
    let mut calls: Vec<Vec<(FnId, bool)>> = vec![Vec::new(); count];
    // For each function, the calls of it made with no lock held: (caller, site).
    let mut unlocked_callers: Vec<Vec<(FnId, Span)>> = vec![Vec::new(); count];
    let mut updates: Vec<Vec<Update>> = (0..count).map(|_| Vec::new()).collect();
    // Every write of each object, outside constructors: (function, site).
    let mut writers: HashMap<ObjId, Vec<(FnId, Span)>> = HashMap::new();
    for index in 0..count {
        let function = FnId(index as u32);
        let constructor = is_constructor(model.function(function));
        walk_held(model, function, &mut |event, held, _| {
            let locked = held
                .iter()
                .any(|h| model.object(h.lock).kind.is_lock_like());
            match &event.kind {
                EventKind::Call { callee } => {
                    calls[index].push((*callee, locked));
                    if !locked && !constructor {
                        unlocked_callers[callee.0 as usize].push((function, event.span));
                    }
                }
                EventKind::SharedWrite {
                    target,
                    obj: Some(obj),
                    read_modify_write,
                    ..
                } if !constructor => {
                    writers
                        .entry(*obj)
                        .or_default()
                        .push((function, event.span));
                    if *read_modify_write && !locked {
                        updates[index].push(Update {
                            span: event.span,
                            target: target.clone(),
                            obj: *obj,
                        });
                    }
                }
                _ => {}
            }
        });
    }
    let reaches: Vec<EntryReach> = model
        .thread_entries
        .iter()
        .map(|entry| reach(model, entry, &calls))
        .collect();
    // For each function, the entries that run it without a lock: only those need looking at.
    let mut reaching_entries: Vec<Vec<(usize, [bool; 2])>> = vec![Vec::new(); count];
    for (entry_index, reach) in reaches.iter().enumerate() {
        for (&function, &flags) in &reach.unlocked {
            reaching_entries[function as usize].push((entry_index, flags));
        }
    }
    for list in &mut reaching_entries {
        list.sort_unstable_by_key(|(entry_index, _)| *entry_index);
    }
    // Several hand-offs of the same function run it on several threads.
    let mut handoff_counts: HashMap<FnId, usize> = HashMap::new();
    for entry in &model.thread_entries {
        *handoff_counts.entry(entry.function).or_default() += 1;
    }
    let handoffs = |function: FnId| handoff_counts.get(&function).copied().unwrap_or(0);
    let function_index = crate::model::FunctionIndex::new(model);

    let mut findings = Vec::new();
    for (index, function_updates) in updates.iter().enumerate() {
        for update in function_updates {
            let is_member = matches!(model.object(update.obj).key, ObjKey::Member { .. });
            let mut race = None;
            let mut reaching = Vec::new();
            for &(entry_index, [shared_self, own_self]) in &reaching_entries[index] {
                let entry = &model.thread_entries[entry_index];
                let reach = &reaches[entry_index];
                // A `Thread` subclass's own attributes belong to that one thread.
                let per_thread = is_member && !shared_self;
                if !(shared_self || own_self) {
                    continue;
                }
                if !per_thread {
                    reaching.push(entry_index);
                    if entry.repeated || handoffs(entry.function) > 1 {
                        race = Some(Race::Concurrent(entry_index));
                        break;
                    }
                }
                let handoff = function_index.innermost(entry.site);
                let other =
                    writers
                        .get(&update.obj)
                        .into_iter()
                        .flatten()
                        .find(|(writer, site)| {
                            let same_thread = reach.all.contains(&writer.0);
                            let ordered = Some(*writer) == handoff
                                && sequential(model, *writer, entry.site, *site);
                            !same_thread && !ordered
                        });
                if let Some(&(writer, site)) = other {
                    race.get_or_insert(Race::OtherWriter {
                        entry: entry_index,
                        writer,
                        site,
                    });
                }
                // The function itself is also called outside the thread, with no lock held.
                let outside = unlocked_callers[index].iter().find(|(caller, site)| {
                    let same_thread = reach.all.contains(&caller.0);
                    let ordered =
                        Some(*caller) == handoff && sequential(model, *caller, entry.site, *site);
                    !same_thread && !ordered
                });
                if let Some(&(caller, site)) = outside {
                    race.get_or_insert(Race::OtherCaller {
                        entry: entry_index,
                        caller,
                        site,
                    });
                }
            }
            if race.is_none() && reaching.len() > 1 {
                race = Some(Race::Concurrent(reaching[0]));
            }
            if let Some(race) = race {
                findings.push(finding(cx, FnId(index as u32), update, race));
            }
        }
    }
    findings
}

/// Whether a write in the function that starts the thread at `handoff` cannot overlap it:
/// it comes before the hand-off, or after a `join()`/`result()`/`wait()` that follows it.
fn sequential(model: &FileModel, function: FnId, handoff: Span, write: Span) -> bool {
    if write.end <= handoff.start {
        return true;
    }
    let mut joined_before_write = false;
    crate::model::events(&model.function(function).body, &mut |event, _| {
        if matches!(event.kind, EventKind::Synchronize)
            && event.span.start >= handoff.end
            && event.span.end <= write.start
        {
            joined_before_write = true;
        }
    });
    joined_before_write
}

/// A new object is not shared while it is being built; a test case's fixture methods
/// (unittest's `setUp`, pytest's `setup_method`) build it again before each test, which starts
/// its threads after them.
fn is_constructor(function: &crate::model::Function) -> bool {
    matches!(function.name.as_str(), "__init__" | "__new__")
        || function.class.is_some()
            && matches!(
                function.name.as_str(),
                "setUp" | "asyncSetUp" | "setUpClass" | "setup_method" | "setup_class"
            )
}

/// What one thread entry runs.
fn reach(model: &FileModel, entry: &ThreadEntry, calls: &[Vec<(FnId, bool)>]) -> EntryReach {
    let mut all = std::collections::HashSet::new();
    let mut stack = vec![entry.function];
    while let Some(function) = stack.pop() {
        if all.insert(function.0) {
            stack.extend(calls[function.0 as usize].iter().map(|(callee, _)| *callee));
        }
    }
    let mut unlocked: HashMap<u32, [bool; 2]> = HashMap::new();
    // The front-end records a `run()` override with its own name as the site.
    let own_self = entry.site == model.function(entry.function).name_span;
    let mut stack = vec![(entry.function, own_self)];
    while let Some((function, own_self)) = stack.pop() {
        let flags = unlocked.entry(function.0).or_default();
        if std::mem::replace(&mut flags[usize::from(own_self)], true) {
            continue;
        }
        for &(callee, locked) in &calls[function.0 as usize] {
            if !locked && !is_constructor(model.function(callee)) {
                // A method called from the thread's own methods runs on the same `self`.
                let callee_own = own_self && model.function(callee).class.is_some();
                stack.push((callee, callee_own));
            }
        }
    }
    EntryReach { unlocked, all }
}

fn finding(cx: &Context, function: FnId, update: &Update, race: Race) -> Finding {
    let model = cx.model;
    let name = model.function(function).qualified_name();
    let statement = text(cx.source, update.span);
    let shown = if statement.contains('\n') || statement.len() > 60 {
        format!("The update of `{}`", update.target)
    } else {
        format!("`{statement}`")
    };
    let place = match model.object(update.obj).key {
        ObjKey::Member { .. } => "an attribute",
        _ => "shared state",
    };
    let entry_index = match race {
        Race::Concurrent(entry)
        | Race::OtherWriter { entry, .. }
        | Race::OtherCaller { entry, .. } => entry,
    };
    let entry = &model.thread_entries[entry_index];
    let entry_name = model.function(entry.function).qualified_name();
    let runs = if entry.function == function {
        format!("`{name}`")
    } else {
        format!("`{name}` (called from `{entry_name}`)")
    };
    let through_call = matches!(race, Race::OtherCaller { .. });
    let (writer, mut related) = match race {
        Race::Concurrent(_) => (None, Vec::new()),
        Race::OtherCaller { caller, site, .. } => (
            Some(model.function(caller).qualified_name()),
            vec![Related {
                file: None,
                span: site,
                message: format!("`{name}` is also called here, outside that thread"),
            }],
        ),
        Race::OtherWriter { writer, site, .. } => {
            let writer_name = model.function(writer).qualified_name();
            (
                Some(writer_name),
                vec![Related {
                    file: None,
                    span: site,
                    message: format!(
                        "`{}` is also written here, outside that thread",
                        update.target
                    ),
                }],
            )
        }
    };
    related.insert(
        0,
        Related {
            file: None,
            span: entry.site,
            message: format!("`{entry_name}` starts running on another thread here"),
        },
    );
    let lock = suggested_lock(model, update.obj);
    let violation = UnsynchronizedSharedUpdate::Update {
        shown,
        place,
        runs,
        writer,
        through_call,
        lock,
    };
    violation.at(update.span).with_related(related)
}
/// A lock that already guards state of the same owner (`self._lock` of the same class, a
/// module-level lock), to name in the help; a generic name otherwise.
fn suggested_lock(model: &FileModel, written: ObjId) -> String {
    let owner = &model.object(written).key;
    let found = model.objects.iter().find(|object| {
        object.kind.is_mutex()
            && match (&object.key, owner) {
                (ObjKey::Member { class, attr }, ObjKey::Member { class: owner, .. }) => {
                    class == owner && !attr.contains('.')
                }
                (ObjKey::Global(name), ObjKey::Global(_)) => !name.contains('.'),
                _ => false,
            }
    });
    match (found, owner) {
        (Some(lock), _) => lock.display.clone(),
        (None, ObjKey::Member { .. }) => "self._lock".to_string(),
        (None, _) => "_lock".to_string(),
    }
}

/// Rust: `if !x.load(o) { x.store(true, o); .. }`: the test and the write are one
/// read-modify-write split in two, found by check-then-act's search for a test and the act on
/// its answer (which leaves atomics to this rule, as the catalogue does).
fn tested_atomics(cx: &Context) -> Vec<Finding> {
    crate::rules::tl015_check_then_act::tested_atomics(cx)
        .into_iter()
        .map(|(test, act, atomic)| {
            UnsynchronizedSharedUpdate::TestedAtomic {
                check: short(text(cx.source, test), SNIPPET_WIDTH),
                act: short(text(cx.source, act), SNIPPET_WIDTH),
                atomic: cx.model.object(atomic).display.clone(),
            }
            .at(test)
            .with_related(vec![Related {
                file: None,
                span: act,
                message: "the atomic is written here".to_string(),
            }])
        })
        .collect()
}

/// Rust: `x.store(f(x.load(o)), o)` on an atomic other code can reach, with no lock held. An
/// atomic is there to be shared, so no thread entry is needed: the split is the bug.
fn split_atomic_updates(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    for index in 0..model.functions.len() {
        walk_held(model, FnId(index as u32), &mut |event, held, _| {
            let EventKind::SharedWrite {
                target,
                obj: Some(obj),
                read_modify_write: true,
                ..
            } = &event.kind
            else {
                return;
            };
            let object = model.object(*obj);
            let locked = held
                .iter()
                .any(|h| model.object(h.lock).kind.is_lock_like());
            if object.kind != ObjKind::Atomic || !object.escapes || locked {
                return;
            }
            let violation = UnsynchronizedSharedUpdate::SplitAtomic {
                target: target.clone(),
                atomic: object.display.clone(),
            };
            findings.push(violation.at(event.span));
        });
    }
    findings
}
