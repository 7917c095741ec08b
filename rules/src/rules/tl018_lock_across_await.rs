use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Related, Violation};
use crate::held::walk_held;
use crate::model::{EventKind, FileModel, Flavor, FnId, Language, ObjKind, Span};
use crate::registry::{Check, Context};

declare_rule! {
    /// ## What it does
    /// Checks for a thread lock held across an `await`: in Python, a `threading` lock taken
    /// with `with lock:` (or `lock.acquire()`) in an `async def` and still held at an `await`,
    /// `async with` or `async for`; in Rust, a `std::sync` or `parking_lot` guard (of a
    /// `Mutex`, `RwLock` or `ReentrantMutex`) alive at an `.await`.
    ///
    /// Locks made for async code are fine: `asyncio.Lock` (taken with `async with`),
    /// `tokio::sync::Mutex`/`RwLock`, `futures::lock::Mutex`, `async_std` and `async_lock`
    /// locks. A guard dropped before the `.await` (`drop(guard)`, or a block that ends before
    /// it) and a temporary guard that ends with its statement (`let v =
    /// m.lock().unwrap().clone();`) are not held there.
    ///
    /// One finding per acquisition, at the first `await` it is held across; the later ones
    /// are listed as related locations.
    ///
    /// ## Why is this bad?
    /// At an `await` the task is suspended and the executor runs other tasks on the same
    /// thread, while the thread lock stays held. When one of them takes the same lock it
    /// blocks the whole thread, including the suspended task that would release the lock: the
    /// event loop (or the runtime worker) deadlocks. Even without a second taker, every thread
    /// that needs the lock waits for however long the awaited operation takes. In Rust a
    /// `std::sync::MutexGuard` is also not `Send`, so such a future cannot be spawned on a
    /// multi-threaded runtime.
    ///
    /// ## Example
    /// ```python
    /// class Cache:
    ///     def __init__(self):
    ///         self._lock = threading.Lock()
    ///
    ///     async def refresh(self, key):
    ///         with self._lock:
    ///             self._data[key] = await fetch(key)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// class Cache:
    ///     def __init__(self):
    ///         self._lock = asyncio.Lock()
    ///
    ///     async def refresh(self, key):
    ///         async with self._lock:
    ///             self._data[key] = await fetch(key)
    /// ```
    ///
    /// or await first and take the lock only around the update:
    /// `value = await fetch(key)` then `with self._lock: self._data[key] = value`. In Rust, end
    /// the guard's scope (a `{ }` block, or `drop(guard)`) before the `.await`, or use
    /// `tokio::sync::Mutex`, whose guard may be held across `.await`.
    ///
    /// ## References
    /// - [Python docs: asyncio synchronization primitives](https://docs.python.org/3/library/asyncio-sync.html)
    /// - [Clippy lint `await_holding_lock`](https://rust-lang.github.io/rust-clippy/master/index.html#await_holding_lock)
    /// - [Tokio docs: which kind of mutex should you use?](https://docs.rs/tokio/latest/tokio/sync/struct.Mutex.html#which-kind-of-mutex-should-you-use)
    pub static RULE = {
        violation: LockAcrossAwait,
        name: "lock-across-await",
        severity: Error,
        languages: [Python, Rust],
        summary: "A thread lock (`threading`, `std::sync`, `parking_lot`) held across an `await`: blocks the event loop and can deadlock it.",
        check: Check::File(check),
    };
}

/// One acquisition held across at least one await.
struct Crossing {
    lock: crate::model::ObjId,
    obj: crate::model::ObjId,
    site: Span,
    awaits: Vec<Span>,
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    for index in 0..model.functions.len() {
        for crossing in crossings(model, FnId(index as u32)) {
            findings.push(finding(model, cx.source, &crossing));
        }
    }
    findings
}

/// The acquisitions of `function` held at an `await`, in order of their first such await.
fn crossings(model: &FileModel, function: FnId) -> Vec<Crossing> {
    let mut found: Vec<Crossing> = Vec::new();
    // Acquisitions that are themselves awaited (`async with lock:`, `await lock.acquire()`,
    // `lock.lock().await`): only an async lock can be, whatever its kind was resolved to. The
    // await comes right before the acquisition it contains, or right after it.
    let mut awaited: Vec<Span> = Vec::new();
    let mut last_await: Option<Span> = None;
    let mut last_acquire: Option<Span> = None;
    walk_held(model, function, &mut |event, held, _| {
        match event.kind {
            EventKind::Acquire { .. } => {
                if last_await.is_some_and(|a| a.contains(event.span)) {
                    awaited.push(event.span);
                }
                last_await = None;
                last_acquire = Some(event.span);
                return;
            }
            EventKind::Await => {
                if let Some(acquire) = last_acquire.filter(|a| event.span.contains(*a)) {
                    awaited.push(acquire);
                }
                last_acquire = None;
                last_await = Some(event.span);
            }
            _ => {
                last_await = None;
                last_acquire = None;
                return;
            }
        }
        for h in held {
            if !blocks_thread(model.object(h.lock).kind) || awaited.contains(&h.site) {
                continue;
            }
            match found
                .iter_mut()
                .find(|c| c.site == h.site && c.lock == h.lock)
            {
                Some(crossing) => crossing.awaits.push(event.span),
                None => found.push(Crossing {
                    lock: h.lock,
                    obj: h.obj,
                    site: h.site,
                    awaits: vec![event.span],
                }),
            }
        }
    });
    found
}

/// A lock that blocks the thread while another holds it: mutual exclusion not made for async.
fn blocks_thread(kind: ObjKind) -> bool {
    kind.is_mutex()
        && !matches!(
            kind,
            ObjKind::Lock {
                flavor: Flavor::Async
            } | ObjKind::RwLock {
                flavor: Flavor::Async
            }
        )
}

/// A thread lock held across an `await`.
pub struct LockAcrossAwait {
    /// The lock as written, and its kind.
    pub object: String,
    pub kind: &'static str,
    pub reentrant: bool,
    pub language: Language,
    /// How the code suspends there: `await`, `async with`, `async for` (Rust: `.await`).
    pub point: &'static str,
}

impl Violation for LockAcrossAwait {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        let LockAcrossAwait {
            object,
            kind,
            point,
            ..
        } = self;
        match self.language {
            Language::Python if self.reentrant => format!("The threading `{kind}` `{object}` is held across this `{point}`: it belongs to the thread, not the coroutine, so other coroutines on the event loop's thread take it too while this one is suspended, and it excludes nothing between them"),
            Language::Python => format!("The threading `{kind}` `{object}` is held across this `{point}`: another coroutine that takes it while this one is suspended blocks the event loop's thread, and this one can never resume to release it"),
            Language::Rust if self.reentrant => format!("A guard of `{object}` (a thread-owned `{kind}`) is alive across this `.await`: other tasks on the same thread take it too while this one is suspended, so it excludes nothing between them, and tasks on other threads block"),
            Language::Rust => format!("A guard of `{object}` (a blocking `{kind}`) is alive across this `.await`: while the task is suspended the lock stays held, so another task that locks it on the same thread blocks that thread and deadlocks"),
        }
    }

    fn help(&self) -> String {
        let object = &self.object;
        match self.language {
            Language::Python => format!("Release `{object}` before awaiting (take it only around the code that does not await); if only coroutines take it, an `asyncio.Lock` (`async with`) may be held across `await`, but not if plain threads share it"),
            Language::Rust => "Drop the guard before the `.await` (end its block, or call `drop(guard)`), or use `tokio::sync::Mutex`, whose guard may be held across `.await`".to_string(),
        }
    }
}

fn finding(model: &FileModel, source: &str, crossing: &Crossing) -> Finding {
    let object = &model.object(crossing.obj).display;
    // The statement the suspension point begins (an `async with` item's span is its context
    // expression, after the keywords).
    let at = crossing.awaits[0].start as usize;
    let line_start = source
        .get(..at)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    let statement = source.get(line_start..).unwrap_or("").trim_start();
    let point = match model.language {
        Language::Rust => ".await",
        Language::Python if statement.starts_with("async with") => "async with",
        Language::Python if statement.starts_with("async for") => "async for",
        Language::Python => "await",
    };
    let kind = model.object(crossing.lock).kind.describe(model.language);
    let reentrant = model.is_reentrant(crossing.lock);
    let violation = LockAcrossAwait {
        object: object.clone(),
        kind,
        reentrant,
        language: model.language,
        point,
    };
    let mut related = vec![Related {
        file: None,
        span: crossing.site,
        message: format!("`{object}` acquired here"),
    }];
    for span in crossing.awaits.iter().skip(1) {
        related.push(Related {
            file: None,
            span: *span,
            message: format!("`{object}` is still held at this `await`"),
        });
    }
    violation.at(crossing.awaits[0]).with_related(related)
}
