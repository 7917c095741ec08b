use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Violation};
use crate::model::{
    events, AcquireHow, BlockingKind, ClientTimeout, Event, EventKind, Flavor, Function, Language,
    ObjId, ObjKey, ObjKind, Span, WaitKind,
};
use crate::registry::{Check, Context};
use crate::source::{joined, one_line, text};

declare_rule! {
    /// ## What it does
    /// Checks for blocking calls that can wait forever because they have no timeout.
    ///
    /// By default it reports:
    /// - a blocking `acquire()` without `timeout` on a `Lock`, `RLock`, `Semaphore`,
    ///   `BoundedSemaphore` or `Condition`;
    /// - `Event.wait()` without `timeout`;
    /// - `Barrier.wait()` without `timeout`, on a barrier created without a default `timeout`;
    /// - `Future.result()` (and `Future.exception()`) without `timeout`, unless the future is known
    ///   to be finished: the variable of a `for f in as_completed(...)` loop (and, in a branch
    ///   under `if f is first:`, `first`), the future a function registered with
    ///   `add_done_callback` is given, one an earlier `concurrent.futures.wait()` waited for,
    ///   or one a coroutine awaited earlier through a call it was given (`await
    ///   asyncio.wrap_future(f)`, `await asyncio.wait([f])`), until it is bound again;
    /// - HTTP requests that can wait forever for a server that never answers: the functions
    ///   `get`, `post`, `put`, `patch`, `delete`, `head`, `options` and `request` of `requests`
    ///   and the same methods of a `requests.Session` (however it is reached: `from requests
    ///   import get`, `s = requests.Session()`, `with requests.Session() as s`,
    ///   `self.session = Session()`, a subclass of `Session`, `requests.Session.get(s, url)`)
    ///   without `timeout=` or with `timeout=None`; `urllib.request.urlopen` and
    ///   `urllib3.request` without a timeout (not `urlopen` of a `data:` or `file:` URL the
    ///   source spells out, which never touches the network); `httpx`, which has a default timeout, only where
    ///   `timeout=None` turns it off: on a request, or on the `httpx.Client(timeout=None)` /
    ///   `httpx.AsyncClient(timeout=None)` constructor (then also on the requests of that
    ///   client that pass no timeout of their own). A `**kwargs` passed through may hold a
    ///   timeout and is trusted, unless it is a dict display (or a name bound once to one and
    ///   never changed) without a `"timeout"` key. This is a superset of pylint's
    ///   `missing-timeout` (W3101) and ruff's `S113`.
    ///
    /// With `missing-timeout.strict = true` it also reports calls that many codebases leave
    /// unbounded on purpose: `Condition.wait()` and `Condition.wait_for()`, `Thread.join()`,
    /// `Queue.get()`, `put()` on a bounded queue, `concurrent.futures.wait()` and
    /// `as_completed()`, and `Future.result()` after `wait()`; `socket.create_connection()`
    /// without a timeout and `connect()` of a `socket.socket` that no `settimeout()` (nor
    /// `setblocking(False)`, nor `socket.setdefaulttimeout()`) bounds; `subprocess.run`,
    /// `call`, `check_call`, `check_output` and `Popen.wait()` / `Popen.communicate()` without
    /// `timeout=` (not once the process has ended: after a `wait()` or `communicate()` without
    /// timeout, or a `kill()`, earlier in the same function, as in the documented
    /// `except TimeoutExpired: proc.kill(); proc.communicate()`).
    ///
    /// Calls that have no timed variant are never reported, and neither is `with lock:`: the
    /// `with` statement cannot take a timeout, and it is the recommended way to hold a lock.
    /// Non-blocking calls (`acquire(blocking=False)`, `get(block=False)`) are not reported.
    /// Neither is an `acquire()` that TL001 (bare-acquire) reports: the `with` block that fixes
    /// TL001 removes both, so the call carries one finding. A wait that is awaited or handed to
    /// `asyncio.wait_for(...)` is a coroutine: the object there is an `asyncio` event (an
    /// attribute bound again to `asyncio.Event()`), which suspends the task, not the thread.
    ///
    /// In Rust, a lock guard (`m.lock()`) is the counterpart of `with lock:` and is not
    /// reported; the strict set checks `Condvar::wait` and `wait_while` (`wait_timeout`,
    /// `wait_timeout_while`; parking_lot `wait_for`, `wait_while_for`) and `Receiver::recv()` of
    /// `std::sync::mpsc`, crossbeam and flume (`recv_timeout`). `JoinHandle::join` and
    /// `std::sync::Barrier::wait`, which have no timed variant, are never reported.
    ///
    /// ## Why is this bad?
    /// A call without a timeout trusts another thread to do its part: release the lock, set the
    /// event, finish the task. If that thread crashes, hangs or takes a path that forgets to
    /// signal, the caller blocks forever, with no error and no log line: the program hangs and
    /// the cause is hard to find. With a timeout the caller wakes up and can report the problem,
    /// retry or give up cleanly.
    ///
    /// ## Example
    /// ```python
    /// if not ready.wait():
    ///     ...
    /// result = future.result()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// if not ready.wait(timeout=30):
    ///     raise TimeoutError("worker did not start within 30 s")
    /// try:
    ///     result = future.result(timeout=60)
    /// except TimeoutError:
    ///     future.cancel()
    ///     raise
    /// ```
    ///
    /// ## Options
    /// - `missing-timeout.strict` (default `false`): also check the strict set above.
    ///
    /// ## References
    /// - [Python docs: `Lock.acquire`](https://docs.python.org/3/library/threading.html#threading.Lock.acquire)
    /// - [Python docs: `Event.wait`](https://docs.python.org/3/library/threading.html#threading.Event.wait)
    /// - [Python docs: `Future.result`](https://docs.python.org/3/library/concurrent.futures.html#concurrent.futures.Future.result)
    /// - [Python docs: `Thread.join`](https://docs.python.org/3/library/threading.html#threading.Thread.join)
    /// - [Requests docs: timeouts](https://requests.readthedocs.io/en/latest/user/advanced/#timeouts)
    /// - [HTTPX docs: timeouts](https://www.python-httpx.org/advanced/timeouts/)
    /// - [Python docs: `subprocess.run`](https://docs.python.org/3/library/subprocess.html#subprocess.run)
    /// - [Rust docs: `Condvar::wait_timeout`](https://doc.rust-lang.org/std/sync/struct.Condvar.html#method.wait_timeout)
    /// - [Rust docs: `Receiver::recv_timeout`](https://doc.rust-lang.org/std/sync/mpsc/struct.Receiver.html#method.recv_timeout)
    pub static RULE = {
        violation: MissingTimeout,
        name: "missing-timeout",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A blocking call without a timeout (`acquire()`, `Event.wait()`, `Future.result()`, an HTTP request, ...) that can wait forever.",
        check: Check::File(check),
    };
}

/// A blocking call, or a client, that can wait forever.
pub enum MissingTimeout {
    /// A call without a timeout: as written, what it resolved to (` (`requests.get`)`, or
    /// empty), what it waits for, the kind of lock it acquires, and its receiver for the help.
    Call {
        call: String,
        resolved: String,
        unbounded: Unbounded,
        kind_name: &'static str,
        receiver: String,
    },
    /// Rust: a condition variable wait or a channel receive without a timeout.
    RustCall {
        call: String,
        unbounded: Unbounded,
        receiver: String,
        flavor: Flavor,
    },
    /// `httpx.Client(timeout=None)`, as written.
    DisabledClientTimeout { call: String },
}

impl Violation for MissingTimeout {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        match self {
            MissingTimeout::Call {
                call,
                resolved,
                unbounded,
                kind_name,
                ..
            } => format!("`{call}`{resolved} has no timeout: {}", unbounded.risk(kind_name)),
            MissingTimeout::RustCall {
                call,
                unbounded: Unbounded::Recv,
                ..
            } => format!("`{call}` has no timeout: {}", Unbounded::Recv.risk("")),
            MissingTimeout::RustCall { call, .. } => format!(
                "`{call}` has no timeout: if no thread notifies the condition variable, this thread waits forever"
            ),
            MissingTimeout::DisabledClientTimeout { call } => format!("`{call}` turns off the HTTP client's default timeout: each of its requests that passes no `timeout=` waits forever for a server that never answers"),
        }
    }

    fn help(&self) -> String {
        match self {
            MissingTimeout::Call {
                unbounded,
                receiver,
                ..
            } => unbounded.help(receiver),
            MissingTimeout::RustCall {
                unbounded,
                receiver,
                flavor,
                ..
            } => unbounded.rust_help(receiver, *flavor),
            MissingTimeout::DisabledClientTimeout { .. } => "Keep the default timeout or pass a finite one (`timeout=10`, `httpx.Timeout(10, connect=5)`); pass `timeout=None` only to the single request that must wait without a bound".to_string(),
        }
    }
}

/// A blocking call that has a timed variant, by what it waits for.
#[derive(Clone, Copy)]
pub enum Unbounded {
    Acquire(ObjKind),
    EventWait,
    BarrierWait,
    FutureResult,
    ConditionWait,
    ConditionWaitFor,
    Join,
    QueueGet,
    QueuePut,
    FuturesWait,
    AsCompleted,
    /// Rust `Receiver::recv()`.
    Recv,
    /// An HTTP request (`requests.get`, `session.post`, `urlopen`).
    Http,
    /// `socket.create_connection`, `sock.connect`.
    /// A connection: a socket\'s `connect` (`socket`), or a function that connects.
    Connect {
        socket: bool,
    },
    /// `subprocess.run`, `Popen.wait()`, `Popen.communicate()`.
    Process,
}

impl Unbounded {
    /// Why waiting forever can happen, after "`call` has no timeout: ".
    fn risk(self, kind_name: &str) -> String {
        match self {
            Unbounded::Acquire(ObjKind::Semaphore { .. }) => format!(
                "if no other thread releases the {kind_name}, this thread waits forever"
            ),
            Unbounded::Acquire(_) => format!(
                "if the holder of the {kind_name} never releases it, this thread waits forever"
            ),
            Unbounded::EventWait => {
                "if the event is never set (its setter crashed or returned early), this thread waits forever".into()
            }
            Unbounded::BarrierWait => {
                "if one party never arrives, every thread at the barrier waits forever".into()
            }
            Unbounded::FutureResult => {
                "if the task hangs or never runs, the caller waits forever".into()
            }
            Unbounded::ConditionWait | Unbounded::ConditionWaitFor => {
                "if no thread notifies the condition, this thread waits forever".into()
            }
            Unbounded::Join => "if the thread never finishes, the caller waits forever".into(),
            Unbounded::QueueGet => {
                "if no producer puts another item, this thread waits forever".into()
            }
            Unbounded::QueuePut => {
                "once the bounded queue is full and no consumer takes items, this thread waits forever".into()
            }
            Unbounded::FuturesWait | Unbounded::AsCompleted => {
                "if one task hangs, the caller waits forever".into()
            }
            Unbounded::Recv => {
                "if the senders stay alive but never send again, this thread waits forever".into()
            }
            Unbounded::Http => {
                "if the server accepts the connection but never answers, the call waits forever".into()
            }
            Unbounded::Connect { .. } => {
                "a blocking socket waits for a peer that never answers as long as the operating system lets it (minutes)".into()
            }
            Unbounded::Process => {
                "if the child process hangs, this thread waits for it forever".into()
            }
        }
    }

    /// What to write instead in Rust.
    fn rust_help(self, receiver: &str, flavor: Flavor) -> String {
        let parking_lot = flavor == Flavor::ParkingLot;
        match self {
            Unbounded::ConditionWait if parking_lot => format!(
                "Use `{receiver}.wait_for(&mut guard, timeout)` and check `timed_out()` on its result: re-check the predicate, then give up or report the missing notification"
            ),
            Unbounded::ConditionWait => format!(
                "Use `{receiver}.wait_timeout(guard, timeout)` and check `timed_out()` on the `WaitTimeoutResult`: re-check the predicate, then give up or report the missing notification"
            ),
            Unbounded::ConditionWaitFor if parking_lot => format!(
                "Use `{receiver}.wait_while_for(&mut guard, predicate, timeout)`, whose `timed_out()` tells that it expired"
            ),
            Unbounded::ConditionWaitFor => format!(
                "Use `{receiver}.wait_timeout_while(guard, timeout, predicate)`, whose `WaitTimeoutResult::timed_out()` tells that it expired"
            ),
            _ => format!(
                "Use `{receiver}.recv_timeout(timeout)` and handle `RecvTimeoutError::Timeout`: report the silent sender or give up"
            ),
        }
    }

    /// What to write instead: the timeout argument and what to do when it expires.
    fn help(self, receiver: &str) -> String {
        match self {
            Unbounded::Acquire(_) => format!(
                "Pass a timeout (`if not {receiver}.acquire(timeout=10): raise TimeoutError(...)`): `acquire` returns `False` when it expires, then log, retry or give up"
            ),
            Unbounded::EventWait => format!(
                "Pass a timeout (`if not {receiver}.wait(timeout=30): ...`): `wait` returns `False` when it expires, then report the missing signal or give up"
            ),
            Unbounded::BarrierWait => format!(
                "Pass `timeout=` to `{receiver}.wait()` (or create the barrier with `Barrier(n, timeout=...)`) and handle `threading.BrokenBarrierError`, raised when it expires"
            ),
            Unbounded::FutureResult => format!(
                "Pass a timeout (`{receiver}.result(timeout=60)`) and handle `TimeoutError`: cancel the future or report the stuck task"
            ),
            Unbounded::ConditionWait => format!(
                "Pass a timeout (`{receiver}.wait(timeout=10)`): it returns `False` when it expires, then re-check the predicate and give up or raise `TimeoutError`"
            ),
            Unbounded::ConditionWaitFor => format!(
                "Pass a timeout (`{receiver}.wait_for(predicate, timeout=10)`): it returns the predicate's last value, so a false result means it expired"
            ),
            Unbounded::Join => format!(
                "Pass a timeout (`{receiver}.join(timeout=30)`) and then check `{receiver}.is_alive()`: the thread is still running if the join expired"
            ),
            Unbounded::QueueGet => format!(
                "Pass a timeout (`{receiver}.get(timeout=5)`) and handle `queue.Empty`, raised when it expires"
            ),
            Unbounded::QueuePut => format!(
                "Pass a timeout (`{receiver}.put(item, timeout=5)`) and handle `queue.Full`, raised when it expires"
            ),
            Unbounded::FuturesWait => format!(
                "Pass a timeout (`{receiver}(futures, timeout=60)`) and handle the futures it returns in `not_done`: cancel or report them"
            ),
            Unbounded::AsCompleted => format!(
                "Pass a timeout (`{receiver}(futures, timeout=60)`) and handle `TimeoutError`, raised when futures are still pending"
            ),
            Unbounded::Recv => format!(
                "Use `{receiver}.recv_timeout(timeout)` and handle the timeout"
            ),
            Unbounded::Http => format!(
                "Pass a timeout (`{receiver}(..., timeout=10)`; `requests` also takes a `(connect, read)` pair) and handle the error it raises when it expires (`requests.Timeout`, `httpx.TimeoutException`, `TimeoutError` from `urlopen`)"
            ),
            Unbounded::Connect { socket: false } => format!(
                "Pass a timeout (`{receiver}(address, timeout=10)`) and handle `TimeoutError`"
            ),
            Unbounded::Connect { socket: true } => format!(
                "Call `{receiver}.settimeout(10)` before `connect()` and handle `TimeoutError`"
            ),
            Unbounded::Process => format!(
                "Pass `timeout=` to `{receiver}` and handle `subprocess.TimeoutExpired`: kill the child (`run` does it for you) and report it"
            ),
        }
    }

    fn method(self) -> &'static str {
        match self {
            Unbounded::Acquire(_) => "acquire",
            Unbounded::EventWait | Unbounded::BarrierWait | Unbounded::ConditionWait => "wait",
            Unbounded::ConditionWaitFor => "wait_for",
            Unbounded::FutureResult => "result",
            Unbounded::Join => "join",
            Unbounded::QueueGet => "get",
            Unbounded::QueuePut => "put",
            Unbounded::FuturesWait => "wait",
            Unbounded::AsCompleted => "as_completed",
            Unbounded::Recv => "recv",
            Unbounded::Http | Unbounded::Connect { .. } | Unbounded::Process => "",
        }
    }
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let strict = cx.settings.missing_timeout_strict;
    let mut findings = Vec::new();
    for function in &model.functions {
        // `concurrent.futures.wait(...)` calls of this function: the futures they waited for
        // are usually done afterwards (unless the wait itself timed out).
        let mut futures_waits: Vec<Span> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        events(&function.body, &mut |event, _| {
            spans.push(event.span);
            if let EventKind::Blocking {
                kind: BlockingKind::FuturesWait,
                ..
            } = event.kind
            {
                futures_waits.push(event.span);
            }
        });
        if model.language == Language::Rust {
            // `rx.recv().await`: an async receiver's future, not a blocking call.
            let mut awaits = Vec::new();
            events(&function.body, &mut |event, _| {
                if matches!(event.kind, EventKind::Await) {
                    awaits.push(event.span);
                }
            });
            events(&function.body, &mut |event, _| {
                let awaited = awaits
                    .iter()
                    .any(|a| a.contains(event.span) && *a != event.span);
                if let Some(finding) = check_rust(cx, event, strict).filter(|_| !awaited) {
                    findings.push(finding);
                }
            });
            continue;
        }
        events(&function.body, &mut |event, _| {
            let Some((unbounded, obj)) = classify(cx, event, strict, &futures_waits) else {
                return;
            };
            if matches!(
                unbounded,
                Unbounded::Http | Unbounded::Connect { .. } | Unbounded::Process
            ) {
                findings.push(io_finding(cx, event, unbounded, obj));
                return;
            }
            if obj.is_some_and(|obj| just_created(cx, function, obj, event, &spans)) {
                return;
            }
            let (call, receiver) = call_names(cx, event, obj, unbounded);
            let kind_name = match unbounded {
                Unbounded::Acquire(kind) => kind.describe(model.language),
                _ => "",
            };
            let violation = MissingTimeout::Call {
                call,
                resolved: String::new(),
                unbounded,
                kind_name,
                receiver,
            };
            findings.push(violation.at(event.span));
        });
    }
    if model.language == Language::Python {
        findings.extend(disabled_client_timeouts(cx));
    }
    findings
}

/// `httpx.Client(timeout=None)`: every request of the client that passes no timeout of its
/// own can wait forever. Reported at the constructor, once.
fn disabled_client_timeouts(cx: &Context) -> Vec<Finding> {
    let mut seen: Vec<Span> = Vec::new();
    let mut findings = Vec::new();
    for object in &cx.model.objects {
        let (
            ObjKind::HttpClient {
                timeout: ClientTimeout::Disabled,
                ..
            },
            Some(def),
        ) = (object.kind, object.def)
        else {
            continue;
        };
        if matches!(object.key, ObjKey::Imported { .. }) || seen.contains(&def) {
            continue;
        }
        seen.push(def);
        let call = one_line(text(cx.source, def), 80);
        findings.push(MissingTimeout::DisabledClientTimeout { call }.at(def));
    }
    findings
}

/// An HTTP request, a socket connection or a subprocess wait without a timeout, naming what
/// the call resolved to.
fn io_finding(cx: &Context, event: &Event, unbounded: Unbounded, obj: Option<ObjId>) -> Finding {
    let model = cx.model;
    let written = callee_of(cx, event);
    let (callee, has_arguments) = (written.callee, written.has_arguments);
    let readable = !callee.is_empty() && !callee.contains(['\n', '\r']) && callee.len() <= 80;
    let what = match &event.kind {
        EventKind::Blocking { what, .. } => what.as_str(),
        _ => "",
    };
    let arguments = if has_arguments { "(...)" } else { "()" };
    let call = if readable {
        format!("{callee}{arguments}")
    } else {
        what.to_string()
    };
    let (resolved, receiver) = if let Some(object) = obj.map(|obj| model.object(obj)) {
        let receiver = written
            .receiver
            .filter(|r| readable && !r.is_empty())
            .map_or_else(|| one_line(&object.display, 80), str::to_string);
        let disabled = matches!(
            object.kind,
            ObjKind::HttpClient {
                timeout: ClientTimeout::Disabled,
                ..
            }
        );
        let kind = object.kind.describe(model.language);
        let resolved = if disabled {
            format!(" (a request of `{receiver}`, an {kind} made with `timeout=None`)")
        } else if let ObjKind::HttpClient { timeout, .. } = object.kind {
            if timeout == ClientTimeout::Never {
                format!(" (a request of `{receiver}`, an {kind} without a default timeout)")
            } else {
                format!(" (a request of `{receiver}`, an {kind} whose default timeout `timeout=None` turns off)")
            }
        } else if matches!(object.key, ObjKey::Other(_)) {
            // A temporary: `Popen(args).wait()`.
            format!(" (of a `{kind}`)")
        } else {
            format!(" (`{receiver}` is a `{kind}`)")
        };
        let receiver = match unbounded {
            Unbounded::Process => format!("{receiver}.{}", what.trim_end_matches("()")),
            Unbounded::Http => format!("{receiver}.{}", what.trim_end_matches("()")),
            _ => receiver,
        };
        (resolved, receiver)
    } else {
        let resolved = if readable && callee != what {
            format!(" (`{what}`)")
        } else {
            String::new()
        };
        (
            resolved,
            if readable {
                callee.to_string()
            } else {
                what.to_string()
            },
        )
    };
    MissingTimeout::Call {
        call,
        resolved,
        unbounded,
        kind_name: "",
        receiver,
    }
    .at(event.span)
}

/// Rust: the strict set only. A guard (`lock()`) is like `with lock:`; `JoinHandle::join` and
/// `std::sync::Barrier::wait` have no timed variant.
fn check_rust(cx: &Context, event: &Event, strict: bool) -> Option<Finding> {
    if !strict {
        return None;
    }
    let model = cx.model;
    let (unbounded, obj) = match &event.kind {
        EventKind::Wait {
            obj,
            kind: WaitKind::Condition,
            timeout: false,
        } => (Unbounded::ConditionWait, *obj),
        EventKind::Wait {
            obj,
            kind: WaitKind::ConditionPredicate,
            timeout: false,
        } => (Unbounded::ConditionWaitFor, *obj),
        EventKind::Blocking {
            kind: BlockingKind::Recv,
            obj: Some(obj),
            timeout: false,
            ..
        } => (Unbounded::Recv, *obj),
        _ => return None,
    };
    let object = model.object(obj);
    let written = callee_of(cx, event);
    let callee = joined(written.callee);
    let has_arguments = written.has_arguments;
    let readable = !callee.is_empty() && callee.len() <= 80;
    let call = if readable {
        format!("{callee}({})", if has_arguments { ".." } else { "" })
    } else {
        let method = match unbounded {
            Unbounded::ConditionWaitFor => "wait_while",
            other => other.method(),
        };
        format!("{}.{method}(..)", joined(&object.display))
    };
    let receiver = written
        .receiver
        .map(joined)
        .filter(|r| readable && !r.is_empty())
        .unwrap_or_else(|| joined(&object.display));
    let flavor = match object.kind {
        ObjKind::Condvar { flavor } => flavor,
        _ => Flavor::Std,
    };
    let violation = MissingTimeout::RustCall {
        call,
        unbounded,
        receiver,
        flavor,
    };
    Some(violation.at(event.span))
}

/// What an event waits for, if it can block forever and the settings check it.
fn classify(
    cx: &Context,
    event: &Event,
    strict: bool,
    futures_waits: &[Span],
) -> Option<(Unbounded, Option<ObjId>)> {
    let model = cx.model;
    match &event.kind {
        EventKind::Acquire {
            obj,
            how: AcquireHow::Manual,
            ..
        } => {
            let kind = model.object(*obj).kind;
            // `asyncio.Lock.acquire()` has no timeout parameter; a lock known only by its use
            // is of a class whose `acquire` may take none, or bound the wait itself.
            let timed = kind.is_lock_like()
                && !matches!(
                    kind,
                    ObjKind::Lock {
                        flavor: Flavor::Async
                    } | ObjKind::UntypedLock
                );
            timed.then_some((Unbounded::Acquire(kind), Some(*obj)))
        }
        EventKind::Wait {
            obj,
            kind,
            timeout: false,
        } => {
            let unbounded = match kind {
                WaitKind::Event => Unbounded::EventWait,
                WaitKind::Barrier => Unbounded::BarrierWait,
                WaitKind::Condition if strict => Unbounded::ConditionWait,
                WaitKind::ConditionPredicate if strict => Unbounded::ConditionWaitFor,
                _ => return None,
            };
            Some((unbounded, Some(*obj)))
        }
        EventKind::Blocking {
            kind,
            obj,
            timeout: false,
            ..
        } => {
            let unbounded = match kind {
                BlockingKind::FutureResult => {
                    let after_wait = futures_waits
                        .iter()
                        .any(|wait| wait.end <= event.span.start);
                    if after_wait && !strict {
                        return None;
                    }
                    Unbounded::FutureResult
                }
                BlockingKind::Join if strict => Unbounded::Join,
                BlockingKind::QueueGet if strict => Unbounded::QueueGet,
                BlockingKind::QueuePut if strict => Unbounded::QueuePut,
                BlockingKind::FuturesWait if strict => Unbounded::FuturesWait,
                BlockingKind::AsCompleted if strict => Unbounded::AsCompleted,
                BlockingKind::Network => Unbounded::Http,
                BlockingKind::Connect if strict => Unbounded::Connect {
                    socket: obj.is_some(),
                },
                BlockingKind::Subprocess if strict => Unbounded::Process,
                _ => return None,
            };
            Some((unbounded, *obj))
        }
        _ => None,
    }
}

/// The first acquisition of a lock this function has just created, with nothing in between:
/// no other thread can hold it yet, so it does not block (`self._ready = Lock();
/// self._ready.acquire()` to start out locked).
fn just_created(
    cx: &Context,
    function: &Function,
    obj: ObjId,
    event: &Event,
    spans: &[Span],
) -> bool {
    let object = cx.model.object(obj);
    let Some(created) = object.def else {
        return false;
    };
    matches!(event.kind, EventKind::Acquire { .. })
        && object.kind.is_mutex()
        && function.span.contains(created)
        && created.end <= event.span.start
        && !spans
            .iter()
            .any(|span| span.start >= created.end && span.start < event.span.start)
}

/// A call as the front-end parsed it: the callee (`a.b(c)` in `a.b(c)(d)`), a method call's
/// receiver and method name, and whether it has arguments. An event that is no call is all
/// callee.
struct Written<'s> {
    callee: &'s str,
    receiver: Option<&'s str>,
    method: Option<&'s str>,
    has_arguments: bool,
}

fn callee_of<'s>(cx: &Context<'s>, event: &Event) -> Written<'s> {
    let quote = |span: Span| text(cx.source, span);
    match cx.model.call(event.span) {
        Some(call) => Written {
            callee: quote(call.callee),
            receiver: call.receiver.map(quote),
            method: call.method.map(quote),
            has_arguments: call.arguments.is_some(),
        },
        None => Written {
            callee: text(cx.source, event.span).trim(),
            receiver: None,
            method: None,
            has_arguments: false,
        },
    }
}

/// The call as it reads in the source (`self._ready.wait()`, `futures.wait(...)`) and the
/// receiver to show in the help (`self._ready`, `futures.wait`).
fn call_names(
    cx: &Context,
    event: &Event,
    obj: Option<ObjId>,
    unbounded: Unbounded,
) -> (String, String) {
    let written = callee_of(cx, event);
    let callee = written.callee;
    let arguments = if written.has_arguments { "(...)" } else { "()" };
    let readable = !callee.is_empty() && !callee.contains(['\n', '\r']) && callee.len() <= 80;
    let method = match &event.kind {
        // `Future.exception()` is lowered like `result()`.
        EventKind::Blocking { what, .. } if what.starts_with("exception") => "exception",
        _ => unbounded.method(),
    };
    let receiver = match (obj, &event.kind) {
        (_, EventKind::Acquire { receiver, .. }) => text(cx.source, *receiver).to_string(),
        (Some(obj), _) => match written.receiver.filter(|_| written.method == Some(method)) {
            Some(receiver) if readable && !receiver.is_empty() => receiver.to_string(),
            _ => cx.model.object(obj).display.clone(),
        },
        (None, _) if readable => return (format!("{callee}{arguments}"), callee.to_string()),
        (None, _) => return (format!("{method}{arguments}"), method.to_string()),
    };
    (format!("{receiver}.{method}{arguments}"), receiver)
}
