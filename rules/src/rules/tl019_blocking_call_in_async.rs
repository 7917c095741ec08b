use crate::declare_rule;
use crate::diagnostic::{Applicability, Edit, Finding, Fix, FixAvailability, Violation};
use crate::model::{
    walk, AcquireHow, AsyncThread, BlockingKind, Event, EventKind, FileModel, Flavor, FnId,
    Function, Language, LoopInfo, LoopKind, Node, ObjId, ObjKind, Read, ScopeKind, Span, WaitKind,
};
use crate::registry::{Check, Context};
use crate::source::{quoted_call, text};

declare_rule! {
    /// ## What it does
    /// Checks for calls that block the operating-system thread inside a coroutine
    /// (`async def`): `time.sleep`, a blocking `acquire()` or `with` on a `threading` lock,
    /// condition, or semaphore, `wait()` on a `threading` `Event`, `Condition` or `Barrier`,
    /// `Thread.join()`, `get()`/`put()` on a `queue.Queue` (`put()` when the queue is bounded),
    /// `Future.result()` of `concurrent.futures`, `concurrent.futures.wait`/`as_completed`,
    /// synchronous HTTP (the functions of `requests` and `httpx`, the requests of a
    /// `requests.Session` or an `httpx.Client` however it is reached, `urllib.request.urlopen`,
    /// `urllib3.request`), `socket.create_connection` and `connect()` of a `socket.socket`,
    /// processes (`subprocess.run`/`call`/`check_call`/`check_output`/`getoutput`/
    /// `getstatusoutput`, creating a `subprocess.Popen` and its `wait()`/`communicate()`,
    /// `os.system`, `os.spawn*`, `os.posix_spawn*`, `os.wait*`), opening a file (`open`,
    /// `io.open`, `io.open_code`, `os.fdopen`; and, on a `pathlib.Path`, `open()`,
    /// `read_text()`, `read_bytes()`, `write_text()`, `write_bytes()`), and `input()`.
    /// `os.waitpid` and the other
    /// `os.wait*` calls with `os.WNOHANG` return at once and are not reported.
    ///
    /// Not reported: code in a nested synchronous `def` or a `lambda`, which runs where it is
    /// called (typically handed to `asyncio.to_thread` or `loop.run_in_executor`), a callable
    /// passed uncalled (`await asyncio.to_thread(time.sleep, 1)`), non-blocking calls
    /// (`acquire(blocking=False)`, `get(block=False)`), `result()` of a future known to be done
    /// (in an `as_completed` loop, after `concurrent.futures.wait`, or after the coroutine
    /// awaited it: `await asyncio.wrap_future(f)`), a `join()` or
    /// `result()` after a loop that awaits until the thread or future has ended
    /// (`while t.is_alive(): await asyncio.sleep(0.1)`), and `asyncio` locks,
    /// events and queues, the requests of an `httpx.AsyncClient`, `wait()`/`communicate()` of a
    /// process already ended in the function (by a `wait()` or `kill()`), and a call awaited where it is
    /// made (`await open_async(...)` returns an awaitable, it does not block), and a coroutine
    /// that runs alone on a loop of its own: every use of it in the file hands it to
    /// `run_until_complete` of a loop the caller made with `asyncio.new_event_loop()` (a
    /// thread's private loop) or to `asyncio.run`, and it starts no other work there (no
    /// `create_task`, `gather`, `wait`, `call_soon`, server): while it blocks, no task waits.
    ///
    /// In Rust, inside an `async fn` or an `async` block: `std::thread::sleep`, a `Condvar`
    /// or `std::sync::Barrier` wait, a blocking `recv()` of a `std::sync::mpsc`, crossbeam or
    /// flume receiver, a `send()` on a bounded channel (`mpsc::sync_channel`, crossbeam's or
    /// flume's `bounded(n)`: it waits while the channel is full; an unbounded channel's
    /// `send` does not block, nor do the first `n` sends, outside loops, into a channel of
    /// capacity `n` that the function made and has not handed out), `JoinHandle::join`, `std::fs` I/O (`read`, `read_to_string`, `write`,
    /// `File::open`, ...), `std::net::TcpStream::connect` and `reqwest::blocking::get`. Not
    /// reported: a closure or block handed to `spawn_blocking` or `blocking::unblock` (it runs
    /// on a thread pool) or to `tokio::task::block_in_place` (which moves the other tasks away),
    /// an `async` block passed to a `block_on` function (`futures::executor::block_on`,
    /// `futures_lite::future::block_on`, `async_std::task::block_on`), which runs it on the
    /// calling thread with nothing else to stall, the body of an async test that runs alone on
    /// the test's thread (`#[async_std::test]` and `#[tokio::test(flavor = "multi_thread")]`,
    /// which drive it with `block_on` while their tasks run on other threads, and
    /// `#[tokio::test]` when the body spawns no task onto its current-thread runtime), awaited futures (`tokio::time::sleep(d).await`, `rx.recv().await`), and a
    /// `std::sync::Mutex::lock()` (tokio's advice for short critical sections; one held
    /// across an await is TL018).
    ///
    /// A plain function of the same file that the async code calls runs on its thread too: a
    /// call of one that sleeps, waits or blocks whenever it is called (not under an `if`, which
    /// may depend on the caller's arguments, unless every arm of an `if` with an `else`
    /// blocks), itself or through the plain functions it calls
    /// (three deep), is reported at the call, with the blocking call as a related location
    /// (`wait_for_removal(&rx)` whose body is `rx.recv()`). Its lock acquisitions are not (a
    /// short critical section in a helper is the common case), nor is a closure or block
    /// written in the async function itself (handed to `block_in_place`).
    ///
    /// ## Why is this bad?
    /// An event loop runs all its tasks on one thread and switches between them only at an
    /// `await`. A call that blocks the thread stops every task of the loop for as long as it
    /// takes: timers fire late, connections time out, and a blocking wait for something that
    /// another task of the same loop must provide (a lock it holds, an item it puts) never
    /// ends. This is a superset of flake8-async's ASYNC210, ASYNC220-222, ASYNC230 and
    /// ASYNC251 for names the file imports (flake8-async also matches `subprocess.run` or
    /// `os.system` in a file that never imports `subprocess` or `os`).
    ///
    /// ## Example
    /// ```python
    /// async def poll(url):
    ///     response = requests.get(url, timeout=10)
    ///     time.sleep(1)
    ///     return response
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def poll(url):
    ///     response = await asyncio.to_thread(requests.get, url, timeout=10)
    ///     await asyncio.sleep(1)
    ///     return response
    /// ```
    ///
    /// ## Fix
    /// `time.sleep(x)` as a statement of its own becomes `await asyncio.sleep(x)` when the file
    /// imports `asyncio` with `import asyncio` (the name it binds is used). The fix is unsafe:
    /// other tasks run during the sleep, which can change what the code after it sees.
    ///
    /// ## References
    /// - [Python docs: Developing with asyncio, running blocking code](https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code)
    /// - [flake8-async rules](https://flake8-async.readthedocs.io/en/latest/rules.html)
    /// - [Tokio docs: `spawn_blocking`](https://docs.rs/tokio/latest/tokio/task/fn.spawn_blocking.html)
    pub static RULE = {
        violation: BlockingCallInAsync,
        name: "blocking-call-in-async",
        severity: Warning,
        languages: [Python, Rust],
        summary: "A call that blocks the thread (`time.sleep`, a threading lock or wait, `requests`, `subprocess.run`, ...) inside `async def`: every task of the event loop stalls.",
        check: Check::File(check),
    };
}

/// What a blocking call is, for the message and the help line.
enum Stall {
    Sleep,
    /// `scoped`: taken by `with`.
    Lock {
        scoped: bool,
    },
    Wait(WaitKind),
    Call(BlockingKind),
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let rust = model.language == Language::Rust;
    let asyncio = model.module_bound_as("asyncio").map(str::to_string);
    let mut findings = Vec::new();
    for function in model
        .functions
        .iter()
        .filter(|f| f.is_async && f.async_thread != AsyncThread::Alone)
    {
        // `concurrent.futures.wait(...)`: the futures it waited for are done afterwards.
        let mut waited_from: Option<u32> = None;
        // Threads and futures a polling loop waited out (`while t.is_alive(): await ...`), and
        // where that loop ends: joining or asking them afterwards returns at once.
        let mut ended: Vec<(ObjId, u32)> = Vec::new();
        // `await f(...)`: a call awaited where it is made returns an awaitable; it is not the
        // blocking function of the same name (`await asyncio.sleep(1)`).
        let mut awaits: Vec<Span> = Vec::new();
        // Rust: a sleep future awaited away from its call (`let s = Box::pin(sleep(d));
        // s.await`) is lowered as its sleep right before that await, with the await as its
        // statement (a thread's sleep before an await is not one).
        let mut awaited_sleeps: Vec<Span> = Vec::new();
        let mut last_sleep: Option<(Span, Option<Span>)> = None;
        crate::model::events(&function.body, &mut |event, _| {
            if matches!(event.kind, EventKind::Await) {
                awaits.push(event.span);
                awaited_sleeps.extend(
                    last_sleep
                        .filter(|(_, statement)| *statement == Some(event.span))
                        .map(|(sleep, _)| sleep),
                );
            }
            last_sleep = match event.kind {
                EventKind::Sleep => Some((event.span, event.statement)),
                _ => None,
            };
        });
        walk(&function.body, &mut |node, _| {
            let event = match node {
                Node::Scope(scope) => {
                    if let ScopeKind::Loop(info) = &scope.kind {
                        ended.extend(polled_out(info).map(|obj| (obj, scope.span.end)));
                    }
                    return;
                }
                Node::Event(event) => event,
            };
            if let EventKind::Blocking {
                kind: BlockingKind::FuturesWait,
                ..
            } = event.kind
            {
                waited_from.get_or_insert(event.span.end);
            }
            if let EventKind::Blocking { obj: Some(obj), .. } = event.kind {
                if ended
                    .iter()
                    .any(|&(o, end)| o == obj && end <= event.span.start)
                {
                    return;
                }
            }
            if awaits
                .iter()
                .any(|a| a.end == event.span.end && a.start < event.span.start)
            {
                return;
            }
            // Rust: `tokio::time::sleep(d).await`, `rx.recv().await` are futures, awaited.
            let future = matches!(
                event.kind,
                EventKind::Sleep
                    | EventKind::Blocking {
                        kind: BlockingKind::Recv | BlockingKind::Send,
                        ..
                    }
            );
            if rust
                && future
                && (awaits.iter().any(|a| a.contains(event.span))
                    || awaited_sleeps.contains(&event.span))
            {
                return;
            }
            if let Some(stall) = stall(model, event, waited_from) {
                findings.push(finding(cx, function, event, &stall, asyncio.as_deref()));
                return;
            }
            // A plain function of the file called here runs on this thread: what blocks in it
            // blocks here.
            // A closure or block written inside this function (handed to `block_in_place`,
            // which moves the other tasks away) is not followed.
            if let EventKind::Call { callee } = event.kind {
                if function.span.contains(model.function(callee).span) {
                    return;
                }
                let mut seen = Vec::new();
                if let Some((inner, owner)) = blocking_inside(model, callee, 0, &mut seen) {
                    if let Some(stall) = stall(model, inner, None) {
                        let mut found = finding(cx, function, inner, &stall, asyncio.as_deref());
                        let call = quoted_call(cx.source, event.span);
                        found.message = format!(
                            "{call} calls `{}`, where {}",
                            owner.qualified_name(),
                            lowercase_first(&found.message)
                        );
                        found.span = event.span;
                        found.fix = None;
                        found.related.push(crate::diagnostic::Related {
                            file: None,
                            span: inner.span,
                            message: format!("blocks here, in `{}`", owner.qualified_name()),
                        });
                        findings.push(found);
                    }
                }
            }
        });
    }
    findings
}

/// How many calls deep a blocking call is looked for from async code.
const MAX_CALL_DEPTH: usize = 3;

/// The first call in `callee` (a plain function, not a coroutine or an async block) or in the
/// plain functions it calls that sleeps, waits or blocks on every call (not under an `if`),
/// with the function it is in. Lock
/// acquisitions are left out: a short critical section in a helper is the common case, and a
/// lock taken in the async code itself is reported there.
fn blocking_inside<'m>(
    model: &'m FileModel,
    callee: FnId,
    depth: usize,
    seen: &mut Vec<FnId>,
) -> Option<(&'m Event, &'m Function)> {
    if depth >= MAX_CALL_DEPTH || seen.contains(&callee) {
        return None;
    }
    seen.push(callee);
    let function = model.function(callee);
    if function.is_async {
        return None;
    }
    let mut found = None;
    let mut calls = Vec::new();
    crate::model::events(&function.body, &mut |event, scopes| {
        // Only what the function does whenever it is called: a call under an `if` may depend
        // on an argument the async caller gives (`if stall { sleep(..) }`).
        if found.is_some()
            || scopes
                .iter()
                .any(|scope| matches!(scope.kind, ScopeKind::Branch(_)))
        {
            return;
        }
        match &event.kind {
            EventKind::Acquire { .. } => {}
            EventKind::Call { callee } => calls.push(*callee),
            _ if stall(model, event, None).is_some() => found = Some(event),
            _ => {}
        }
    });
    if let Some(event) = found.or_else(|| every_arm_stalls(model, &function.body)) {
        return Some((event, function));
    }
    calls
        .into_iter()
        .find_map(|next| blocking_inside(model, next, depth + 1, seen))
}

/// An `if` statement of the body (not nested in another branch) with an `else`, every arm of
/// which sleeps, waits or blocks, outside any deeper `if`: whichever arm runs, the function
/// blocks (`if self.history: open(a, "w") ... else: open(b, "w")`). The first arm's call.
fn every_arm_stalls<'m>(model: &'m FileModel, body: &'m [Node]) -> Option<&'m Event> {
    let arm_stall = |arm: &'m crate::model::Scope| {
        let mut found = None;
        crate::model::events(&arm.body, &mut |event, scopes| {
            let deeper = scopes
                .iter()
                .any(|scope| matches!(scope.kind, ScopeKind::Branch(_)));
            if found.is_none()
                && !deeper
                && !matches!(event.kind, EventKind::Acquire { .. })
                && stall(model, event, None).is_some()
            {
                found = Some(event);
            }
        });
        found
    };
    let arms_of = |start: usize| {
        body[start..]
            .iter()
            .enumerate()
            .map_while(|(offset, node)| match node {
                Node::Scope(
                    scope @ crate::model::Scope {
                        kind: ScopeKind::Branch(arm),
                        ..
                    },
                ) if arm.if_statement && (offset == 0) == arm.first => Some((scope, arm)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    body.iter().enumerate().find_map(|(index, node)| {
        let Node::Scope(crate::model::Scope {
            kind: ScopeKind::Branch(first),
            ..
        }) = node
        else {
            return None;
        };
        if !(first.if_statement && first.first && first.has_else) {
            return None;
        }
        let arms = arms_of(index);
        // The last arm is an `else`: it has no condition of its own.
        let covers = arms
            .last()
            .is_some_and(|(_, arm)| !arm.first && arm.condition.span.is_none());
        if !covers {
            return None;
        }
        let stalls: Vec<&Event> = arms
            .iter()
            .filter_map(|(scope, _)| arm_stall(scope))
            .collect();
        (stalls.len() == arms.len()).then(|| stalls[0])
    })
}

fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) if !message.starts_with('`') => first.to_lowercase().chain(chars).collect(),
        _ => message.to_string(),
    }
}

/// The objects a `while` loop polls until they end: `while t.is_alive():`,
/// `while not future.done():`.
fn polled_out(info: &LoopInfo) -> impl Iterator<Item = ObjId> + '_ {
    info.condition
        .reads
        .iter()
        .filter_map(move |read| match read {
            Read::Query { obj, method }
                if info.kind == LoopKind::While
                    && matches!(method.as_str(), "is_alive" | "isAlive" | "done") =>
            {
                Some(*obj)
            }
            _ => None,
        })
}

fn stall(model: &FileModel, event: &Event, waited_from: Option<u32>) -> Option<Stall> {
    match &event.kind {
        EventKind::Sleep => Some(Stall::Sleep),
        // A short `std::sync::Mutex::lock()` is tokio's own advice for state shared between
        // tasks; holding it across an await is TL018.
        EventKind::Acquire { .. } if model.language == Language::Rust => None,
        EventKind::Acquire { obj, how, .. } => {
            let kind = model.object(model.lock_of(*obj)).kind;
            let threading = kind.is_lock_like()
                && !matches!(
                    kind,
                    ObjKind::Lock {
                        flavor: Flavor::Async
                    } | ObjKind::RwLock {
                        flavor: Flavor::Async
                    } | ObjKind::UntypedLock
                );
            (threading && *how != AcquireHow::NonBlocking).then_some(Stall::Lock {
                scoped: *how == AcquireHow::Scoped,
            })
        }
        EventKind::Wait { obj, kind, .. } => match model.object(*obj).kind {
            ObjKind::Condition { .. }
            | ObjKind::Event
            | ObjKind::Barrier { .. }
            | ObjKind::Condvar { .. } => Some(Stall::Wait(*kind)),
            _ => None,
        },
        EventKind::Blocking {
            kind: BlockingKind::FutureResult,
            ..
        } if waited_from.is_some_and(|end| end <= event.span.start) => None,
        EventKind::Blocking { kind, .. } => Some(Stall::Call(*kind)),
        _ => None,
    }
}

/// A call that blocks the thread inside async code.
pub struct BlockingCallInAsync {
    /// The call as written (or "This call"), what it does ("sleeps", "blocks (...)"), and the
    /// async function it is in.
    pub code: String,
    pub what: String,
    pub owner: String,
    pub language: Language,
    /// Rust: the thread the function's async code runs on.
    pub thread: AsyncThread,
    /// The async counterpart of what it blocks on.
    pub help: String,
}

impl Violation for BlockingCallInAsync {
    const FIX: FixAvailability = FixAvailability::Sometimes;

    fn message(&self) -> String {
        let BlockingCallInAsync {
            code, what, owner, ..
        } = self;
        match self.language {
            Language::Python => format!(
                "{code} {what} on the event loop's thread inside `async def {owner}`: every other task of the loop stalls until it returns"
            ),
            Language::Rust if self.thread == AsyncThread::TestThread => format!(
                "{code} {what} on the test's one runtime thread inside `{owner}` (a current-thread `#[tokio::test]`): no task the test spawns can run on that thread until it returns"
            ),
            Language::Rust => format!(
                "{code} {what} on an async runtime's thread inside the async code of `{owner}`: the other tasks of that thread stall until it returns"
            ),
        }
    }

    fn help(&self) -> String {
        self.help.clone()
    }
}

fn finding(
    cx: &Context,
    function: &Function,
    event: &Event,
    stall: &Stall,
    asyncio: Option<&str>,
) -> Finding {
    let code = match stall {
        Stall::Lock { scoped: true } => {
            match quoted_call(cx.source, event.span).strip_prefix('`') {
                Some(lock) => format!("`with {lock}"),
                None => "This `with`".to_string(),
            }
        }
        _ => quoted_call(cx.source, event.span),
    };
    let owner = function.qualified_name();
    let what = match stall {
        Stall::Sleep => "sleeps".to_string(),
        Stall::Lock { .. } => {
            "waits for a `threading` lock whenever another thread holds it".into()
        }
        Stall::Wait(_) if cx.model.language == Language::Rust => match &event.kind {
            EventKind::Wait { obj, .. } => format!(
                "waits on a `{}`",
                cx.model.object(*obj).kind.describe(cx.model.language)
            ),
            _ => "waits".into(),
        },
        Stall::Wait(WaitKind::Event) => "waits for a `threading.Event`".into(),
        Stall::Wait(WaitKind::Barrier) => "waits at a `threading.Barrier`".into(),
        Stall::Wait(_) => "waits on a `threading.Condition`".into(),
        Stall::Call(kind) => match resolved(cx, event) {
            Some(resolved) => format!("blocks ({}: {resolved})", kind.describe()),
            None => format!("blocks ({})", kind.describe()),
        },
    };
    let help = match stall {
        _ if cx.model.language == Language::Rust => rust_help(stall),
        Stall::Sleep => "Use `await asyncio.sleep(...)`".to_string(),
        Stall::Lock { .. } => "Run the code that needs the thread lock with `await asyncio.to_thread(...)`; if only tasks of this loop take the lock, make it an `asyncio.Lock` (`async with`)".into(),
        Stall::Wait(WaitKind::Event) => "Use an `asyncio.Event` (`await event.wait()`), or `await asyncio.to_thread(event.wait, timeout)` for an event set by another thread".into(),
        Stall::Wait(_) => "Use the `asyncio` counterpart (`asyncio.Condition`, `asyncio.Barrier`), or wait in a thread with `await asyncio.to_thread(...)`".into(),
        Stall::Call(BlockingKind::Network) => "Use an async client (`httpx.AsyncClient`, `aiohttp`), or `await asyncio.to_thread(...)` around the call".into(),
        Stall::Call(BlockingKind::Connect) => "Use `await asyncio.open_connection(host, port)` (or the loop's `sock_connect`), or `await asyncio.to_thread(...)` around the call".into(),
        Stall::Call(BlockingKind::Subprocess | BlockingKind::ProcessWait | BlockingKind::Spawn) => "Use `await asyncio.create_subprocess_exec(...)` and `await process.communicate()` (`trio.run_process`, `anyio.run_process`), or `await asyncio.to_thread(...)` around the call".into(),
        Stall::Call(BlockingKind::FileIo) => "Do the file I/O in a worker thread (`await asyncio.to_thread(path.read_text)`, or `path.write_text`), or use an async file API (`anyio.open_file`, `trio.open_file`, `aiofiles.open`)".into(),
        Stall::Call(BlockingKind::Input) => "Read input in a worker thread: `await asyncio.to_thread(input, prompt)`".into(),
        Stall::Call(BlockingKind::QueueGet | BlockingKind::QueuePut) => "Use an `asyncio.Queue` between tasks, or `await asyncio.to_thread(queue.get)` for a queue fed by threads".into(),
        Stall::Call(BlockingKind::FutureResult) => {
            // The future as the code names it (`f` in `f.result()`), when it is a short name.
            let future = cx
                .model
                .call(event.span)
                .and_then(|call| call.receiver)
                .map(|receiver| text(cx.source, receiver))
                .filter(|name| name.len() <= 40 && !name.contains('\n'))
                .unwrap_or("future");
            format!("Await the future instead: `await asyncio.wrap_future({future})`")
        }
        Stall::Call(BlockingKind::FuturesWait | BlockingKind::AsCompleted) => "Await the futures instead: `asyncio.wait`/`asyncio.as_completed` over `asyncio.wrap_future(f)` for each".into(),
        Stall::Call(_) => "Run it in a worker thread: `await asyncio.to_thread(...)`".into(),
    };
    let fix = match stall {
        Stall::Sleep => asyncio.and_then(|name| sleep_fix(cx.model, event, name)),
        _ => None,
    };
    let violation = BlockingCallInAsync {
        code,
        what,
        owner,
        language: cx.model.language,
        thread: function.async_thread,
        help,
    };
    violation.at_with_fix(event.span, fix)
}

/// What to write instead in Rust async code.
fn rust_help(stall: &Stall) -> String {
    match stall {
        Stall::Sleep => "Use `tokio::time::sleep(..).await` (or your runtime's async sleep)",
        Stall::Wait(_) => "Use the runtime's async primitive (`tokio::sync::Notify`, a `watch` channel, `tokio::sync::Barrier`), or wait inside `tokio::task::spawn_blocking`",
        Stall::Call(BlockingKind::Recv) => "Use an async channel (`tokio::sync::mpsc`, `rx.recv().await`), or receive inside `tokio::task::spawn_blocking`",
        Stall::Call(BlockingKind::Send) => "Use an async channel (`tokio::sync::mpsc`, `tx.send(v).await`), `try_send` when dropping or retrying is acceptable, or send inside `tokio::task::spawn_blocking`",
        Stall::Call(BlockingKind::Join) => "Join inside `tokio::task::spawn_blocking(move || handle.join())`, or run the work as a task and await its `JoinHandle`",
        Stall::Call(BlockingKind::FileIo) => "Use `tokio::fs` (`tokio::fs::read_to_string(path).await`), or do the I/O inside `tokio::task::spawn_blocking`",
        Stall::Call(BlockingKind::Connect) => "Use `tokio::net::TcpStream::connect(addr).await`, or connect inside `tokio::task::spawn_blocking`",
        Stall::Call(BlockingKind::Network) => "Use the async `reqwest::Client` (`client.get(url).send().await`), or call `reqwest::blocking` inside `tokio::task::spawn_blocking`",
        _ => "Run it inside `tokio::task::spawn_blocking` and await the handle",
    }
    .to_string()
}

/// What a blocking call resolved to, when the source text does not say it: the function
/// imported under another name (`get(url)` is `requests.get`), or the kind of the object
/// whose method it is (`session.get(url)` on an HTTP client).
fn resolved(cx: &Context, event: &Event) -> Option<String> {
    let model = cx.model;
    let EventKind::Blocking { obj, what, .. } = &event.kind else {
        return None;
    };
    match obj {
        Some(obj) => {
            let object = model.object(*obj);
            match object.kind {
                ObjKind::HttpClient { .. } | ObjKind::Process | ObjKind::Socket => Some(format!(
                    "`{}` of the {} `{}`",
                    what,
                    object.kind.describe(model.language),
                    object.display.lines().next().unwrap_or("").trim()
                )),
                _ => None,
            }
        }
        None if (what.contains('.') || what.contains("::"))
            && !text(cx.source, event.span).starts_with(what.as_str()) =>
        {
            Some(format!("`{what}`"))
        }
        None => None,
    }
}

/// `time.sleep(x)` on its own -> `await asyncio.sleep(x)`.
fn sleep_fix(model: &FileModel, event: &Event, asyncio: &str) -> Option<Fix> {
    if event.statement != Some(event.span) {
        return None;
    }
    let callee = model.call(event.span)?.callee;
    Some(Fix {
        applicability: Applicability::Unsafe,
        message: format!("Replace with `await {asyncio}.sleep(...)`"),
        edits: vec![Edit {
            span: Span::new(event.span.start, callee.end),
            content: format!("await {asyncio}.sleep"),
        }],
    })
}
