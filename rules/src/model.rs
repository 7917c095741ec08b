//! The concurrency model: the seam between language front-ends and rules.
//!
//! A front-end lowers one source file into a [`FileModel`]: the functions of the file, and for
//! each a tree of the constructs that matter for concurrency (loops, branches, `with` blocks,
//! `try`/`finally`) holding [`Event`]s (acquisitions, waits, sleeps, blocking calls, calls to
//! functions of the same file, shared-state writes, ...). Objects are resolved once, by the
//! front-end, into a table of [`SyncObject`]s: rules compare identities, they never look at names.

use std::fmt;

/// A byte range into the file's source text.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub const fn new(start: u32, end: u32) -> Self {
        Span { start, end }
    }
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
    pub fn contains(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    Rust,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::Rust => "Rust",
        }
    }
}

/// Index into [`FileModel::objects`].
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ObjId(pub u32);

/// Index into [`FileModel::functions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnId(pub u32);

/// Where an object lives: its identity. Two expressions denote the same object exactly when
/// they resolve to the same key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjKey {
    /// A module-level variable (Python) or a `static` (Rust) of this file's own module, by its
    /// name there (a path below it for attributes: `mod.attr`).
    Global(String),
    /// A module-level object of another module of the project, reached through an import: the
    /// same object as that module's `Global(name)`. Only front-ends that know the file's module
    /// path ([`FileModel::module`]) and a project index produce it.
    Imported { module: String, name: String },
    /// An attribute of the instances (or the class) `class`: `self.<attr>`, `cls.<attr>`,
    /// `Class.<attr>`; a struct field reached through `self` in Rust.
    Member { class: String, attr: String },
    /// A local variable of one function.
    Local { function: FnId, name: String },
    /// A parameter of one function, possibly followed by attribute accesses (`a.lock`).
    Param {
        function: FnId,
        index: u32,
        path: Vec<String>,
    },
    /// Anything else the front-end could name: an attribute path rooted at a local that is not
    /// itself a known object (`conn.lock`), or a temporary (`threading.Lock()` used in place).
    Other(String),
}

/// Which library a lock-like object comes from, where it matters (Rust async rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Flavor {
    /// Python `threading`/`multiprocessing`, Rust `std::sync`.
    Std,
    ParkingLot,
    /// `tokio::sync` / `asyncio`: awaited locks, safe to hold across an await.
    Async,
}

/// What an object is, as far as the front-end could resolve it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ObjKind {
    /// Non-reentrant mutual exclusion: `threading.Lock`, `std::sync::Mutex`.
    Lock {
        flavor: Flavor,
    },
    /// Reentrant: `threading.RLock`, `parking_lot::ReentrantMutex`.
    RLock,
    /// Readers-writer lock (Rust `RwLock`).
    RwLock {
        flavor: Flavor,
    },
    /// `threading.Condition`. `lock` is the explicit lock it wraps; `None` means its own
    /// (reentrant) `RLock`.
    Condition {
        lock: Option<ObjId>,
    },
    Semaphore {
        bounded: bool,
    },
    Event,
    Barrier {
        has_timeout: bool,
    },
    /// Rust `Condvar` (std or parking_lot).
    Condvar {
        flavor: Flavor,
    },
    Thread {
        daemon: bool,
    },
    Executor,
    Future,
    Queue {
        bounded: bool,
    },
    /// Rust `AtomicBool` and friends.
    Atomic,
    /// A channel receiver (`mpsc::Receiver`, `crossbeam_channel::Receiver`).
    Receiver,
    /// The sending half of an unbounded channel (`mpsc::Sender`, the `Sender` of a crossbeam or
    /// flume `unbounded()` channel): `send` never waits, and wakes a thread blocked in `recv()`.
    Sender,
    /// The sending half of a bounded channel (`mpsc::SyncSender`, the `Sender` of a crossbeam
    /// or flume `bounded(n)` channel): `send` blocks while the channel is full.
    BoundedSender,
    /// An HTTP client that keeps connections: `requests.Session`, `httpx.Client`,
    /// `httpx.AsyncClient`. `sync`: its requests block the calling thread (not `AsyncClient`).
    HttpClient {
        sync: bool,
        timeout: ClientTimeout,
    },
    /// A child process: `subprocess.Popen`.
    Process,
    /// A socket: `socket.socket(...)`.
    Socket,
    /// A filesystem path: `pathlib.Path(...)`, whose `open()`, `read_text()`, `write_bytes()`
    /// and the like read and write the file.
    Path,
    /// An object of a class the front-end cannot type that the code uses as only a lock is
    /// used: `acquire()` with a lock's arguments and `release()` with none on the same object in
    /// one function, or the result of a call whose other results are used so. Whether it is
    /// reentrant is not known, so re-taking it is not reported as a self-deadlock. Also one
    /// lock standing for the many of a container made per key or per slot
    /// (`defaultdict(threading.Lock)`, `[Lock() for _ in range(n)]`), where taking two of
    /// them would look like a re-entry.
    UntypedLock,
    /// Unknown kind: still has an identity (used for shared-state writes and lock order of
    /// parameters whose type is not known).
    Unknown,
}

/// The timeout an HTTP client gives the requests that do not pass their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ClientTimeout {
    /// The library has none (`requests.Session`): a request without `timeout=` can wait
    /// forever.
    Never,
    /// The library's default or one passed to the constructor (`httpx.Client()`).
    Bounded,
    /// Turned off by the constructor (`httpx.Client(timeout=None)`).
    Disabled,
}

impl ObjKind {
    /// Can be acquired and released (mutual exclusion or a semaphore slot).
    pub fn is_lock_like(self) -> bool {
        matches!(
            self,
            ObjKind::Lock { .. }
                | ObjKind::RLock
                | ObjKind::RwLock { .. }
                | ObjKind::Condition { .. }
                | ObjKind::Semaphore { .. }
                | ObjKind::UntypedLock
        )
    }

    /// A lock in the strict sense: mutual exclusion (semaphores excluded).
    pub fn is_mutex(self) -> bool {
        matches!(
            self,
            ObjKind::Lock { .. }
                | ObjKind::RLock
                | ObjKind::RwLock { .. }
                | ObjKind::Condition { .. }
        )
    }

    /// The Python/Rust type name to show in messages.
    pub fn describe(self, language: Language) -> &'static str {
        match (self, language) {
            (ObjKind::Lock { .. }, Language::Python) => "Lock",
            (
                ObjKind::Lock {
                    flavor: Flavor::Async,
                },
                Language::Rust,
            ) => "tokio::sync::Mutex",
            (ObjKind::Lock { .. }, Language::Rust) => "Mutex",
            (ObjKind::RLock, Language::Python) => "RLock",
            (ObjKind::RLock, Language::Rust) => "ReentrantMutex",
            (ObjKind::RwLock { .. }, _) => "RwLock",
            (ObjKind::Condition { .. }, _) => "Condition",
            (ObjKind::Semaphore { bounded: true }, _) => "BoundedSemaphore",
            (ObjKind::Semaphore { .. }, _) => "Semaphore",
            (ObjKind::Event, _) => "Event",
            (ObjKind::Barrier { .. }, _) => "Barrier",
            (ObjKind::Condvar { .. }, _) => "Condvar",
            (ObjKind::Thread { .. }, _) => "Thread",
            (ObjKind::Executor, _) => "Executor",
            (ObjKind::Future, _) => "Future",
            (ObjKind::Queue { .. }, _) => "Queue",
            (ObjKind::Atomic, _) => "atomic",
            (ObjKind::Receiver, _) => "Receiver",
            (ObjKind::Sender, _) => "Sender",
            (ObjKind::BoundedSender, _) => "bounded Sender",
            (ObjKind::HttpClient { sync: true, .. }, _) => "HTTP client",
            (ObjKind::HttpClient { .. }, _) => "async HTTP client",
            (ObjKind::Process, _) => "Popen",
            (ObjKind::Socket, _) => "socket",
            (ObjKind::Path, _) => "Path",
            (ObjKind::UntypedLock, _) => "lock",
            (ObjKind::Unknown, _) => "object",
        }
    }
}

/// One resolved object of the file.
#[derive(Clone, Debug)]
pub struct SyncObject {
    pub key: ObjKey,
    pub kind: ObjKind,
    /// How the source names it where it is used (`self._lock`, `LOCK`, `a.lock`).
    pub display: String,
    /// Where it is created, when the file creates it.
    pub def: Option<Span>,
    /// The object can be reached from outside the function that holds it. Always `true` for
    /// globals, members and parameters. A local or a temporary escapes unless a constructor
    /// call in that function creates it and it never leaves the function: it is not passed to
    /// a call, returned, stored (attribute, field, container, another shared name), nor
    /// captured by a nested function, lambda or closure.
    pub escapes: bool,
    /// The lock whose protected data this object is (Rust: the `Receiver` in a
    /// `Mutex<Receiver<T>>`, reached through a guard). `None` when it stands on its own.
    pub guarded_by: Option<ObjId>,
    /// The kind is a guess from how the object is used (Rust: `x.lock().unwrap()` on a value
    /// whose type is not known), not read from a type or a constructor: it may be something
    /// else with a method of that name (`std::fs::File::lock`).
    pub inferred: bool,
    /// The identity other files know this object by, when this file reaches it by a path of
    /// its own (Rust: `self.from.state` where `from` holds a struct of another file is that
    /// struct's `state`, `Imported{module, "Shared.state"}`). The key stays the path, so that
    /// two fields holding two instances are two objects here.
    pub project_key: Option<ObjKey>,
    /// Rust: a field of its struct whose type is the lock itself (`Mutex<T>`, not
    /// `Arc<Mutex<T>>` or a reference): only a holder of that struct value reaches it.
    pub owned: bool,
}

impl SyncObject {
    /// An object a front-end has just met under `key`: kind not known yet, not created here,
    /// reachable from elsewhere until escape analysis says otherwise.
    pub fn new(key: ObjKey, display: String) -> Self {
        SyncObject {
            key,
            kind: ObjKind::Unknown,
            display: one_line_display(display),
            def: None,
            escapes: true,
            guarded_by: None,
            inferred: false,
            project_key: None,
            owned: false,
        }
    }

    /// The identity the whole-program pass joins files by.
    pub fn project_key(&self) -> &ObjKey {
        self.project_key.as_ref().unwrap_or(&self.key)
    }
}

/// A type as written, with what does not tell types apart taken out: spaces, Rust lifetimes
/// (`&'a Account` and `&'b Account` take the same values), Python's quotes around a forward
/// reference (`"Account"`).
pub fn type_text(text: &str, language: Language) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, language) {
            (c, _) if c.is_whitespace() => {}
            ('"' | '\'', Language::Python) => {}
            ('\'', Language::Rust) => {
                while chars
                    .next_if(|c| c.is_alphanumeric() || *c == '_')
                    .is_some()
                {}
            }
            (c, _) => out.push(c),
        }
    }
    out
}

/// A function, method, or the module's top-level code (`<module>`).
#[derive(Clone, Debug)]
pub struct Function {
    pub name: String,
    /// The class (or Rust `impl` type) this is a method of.
    pub class: Option<String>,
    pub params: Vec<String>,
    /// Each parameter's type as written, without spaces (`&Mutex<Store>`; Python: the
    /// annotation), `None` when it has none.
    pub param_types: Vec<Option<String>>,
    /// A method left to subclasses (Python: `@abstractmethod`, or a body that only raises
    /// `NotImplementedError`): what a call of it does is not in this body.
    pub is_abstract: bool,
    /// Rust: a method that has its receiver to itself (`&mut self`, or `self` by value, as
    /// `Drop::drop` does): while it runs, no other thread can use that value.
    pub exclusive_receiver: bool,
    pub is_async: bool,
    /// The whole definition.
    pub span: Span,
    /// The name, for reporting.
    pub name_span: Span,
    pub body: Vec<Node>,
    /// Rust: where the test runtime's clock is paused from (the function's start for
    /// `#[tokio::test(start_paused = true)]`, the end of a `tokio::time::pause()` call): a sleep
    /// after it, here or in a closure or task defined here, advances virtual time, which the
    /// runtime moves on only once every task is idle; it guesses no duration.
    pub paused_clock: Option<u32>,
    /// Rust: which thread runs the function's async code.
    pub async_thread: AsyncThread,
}

/// The thread an async function's code runs on, as far as the file tells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AsyncThread {
    /// A thread of whatever runtime polls it, shared with that runtime's other tasks.
    #[default]
    Runtime,
    /// A test body driven by `block_on` on the test's own thread with no other task on it
    /// (`#[tokio::test(flavor = "multi_thread")]`, `#[async_std::test]`, or `#[tokio::test]`
    /// when the body spawns no task): a blocking call there stalls no other task.
    Alone,
    /// A `#[tokio::test]` body that spawns tasks: the current-thread runtime runs them on the
    /// test's one thread, so they cannot run while the body blocks.
    TestThread,
}

impl Function {
    pub fn qualified_name(&self) -> String {
        match &self.class {
            Some(class) => format!("{class}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A node of a function's concurrency tree.
#[derive(Clone, Debug)]
pub enum Node {
    Event(Event),
    Scope(Scope),
}

/// A construct with a body: a loop, a branch, a `with` block, a part of a `try` statement.
#[derive(Clone, Debug)]
pub struct Scope {
    pub kind: ScopeKind,
    /// The whole statement (for a branch: the arm, from its keyword to its last line).
    pub span: Span,
    /// The keyword that opens it (`if`, `while`, `with`, ...).
    pub keyword: Span,
    /// How many statements the body holds directly.
    pub statements: u32,
    pub body: Vec<Node>,
}

#[derive(Clone, Debug)]
pub enum ScopeKind {
    Loop(LoopInfo),
    /// One arm of an `if`/`elif`/`else` (or a `match` arm).
    Branch(BranchInfo),
    /// A `with` block; its acquisitions are `Acquire { how: Scoped }` events at the start of
    /// the body. Rust: a block in which a guard is alive is not a `With` (guards are events).
    With,
    /// A whole `try` statement: its body holds a `Try` scope, then `Except`, `TryElse` and
    /// `Finally` scopes for the parts it has.
    TryStatement,
    /// The body of a `try`.
    Try,
    Except(ExceptInfo),
    /// The `else:` of a `try`.
    TryElse,
    Finally,
    /// Rust: `async` block; a plain `{ }` block.
    Block,
}

#[derive(Clone, Debug)]
pub struct LoopInfo {
    pub kind: LoopKind,
    /// What the loop condition reads (empty for `for` loops and `while True`).
    pub condition: Condition,
    /// Local names the loop body assigns (counters, retry state).
    pub assigned: Vec<String>,
    /// Where the statement that assigns each name of `assigned` starts, in the same order;
    /// empty when the front-end does not record it.
    pub assigned_at: Vec<u32>,
    /// The names of `assigned` that the body only counts up or down (`left -= step`: every
    /// assignment of them is a compound one).
    pub counted: Vec<String>,
    /// The names of `counted` that the body counts by what a sleep of the loop waits
    /// (`sleep(step); left -= step`): the time waited, a deadline rather than a count of
    /// attempts. Empty when the front-end does not record it.
    pub timed: Vec<String>,
    /// The loop sleeps for an interval it grows from its own value on each pass (`sleep(delay)`
    /// with `delay = min(2 * delay, cap)` or `delay *= 2`): a retry with back-off. False when
    /// the front-end does not record it.
    pub backoff: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopKind {
    /// `while <cond>` with a condition that can change.
    While,
    /// `while True:` / `loop {}`.
    Infinite,
    /// `for x in items` (iterates over a collection).
    For,
}

/// A condition expression, reduced to what it reads.
#[derive(Clone, Debug, Default)]
pub struct Condition {
    pub reads: Vec<Read>,
    /// The whole condition's text span, when there is one.
    pub span: Option<Span>,
}

impl Condition {
    /// Reads only local variables that the body itself assigns (a counter: `while i < n`).
    pub fn is_local_counter(&self, assigned_in_body: &[String]) -> bool {
        !self.reads.is_empty()
            && self.reads.iter().all(|read| match read {
                Read::Local(name) => assigned_in_body.contains(name),
                Read::Constant => true,
                _ => false,
            })
            && self
                .reads
                .iter()
                .any(|r| matches!(r, Read::Local(n) if assigned_in_body.contains(n)))
    }
}

/// One thing a condition reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    /// A plain local variable.
    Local(String),
    /// State another thread can change: a global, an attribute (`self.done`), an object.
    Shared(String),
    /// A call (`stop.is_set()`, `os.path.exists(p)`, `flag.load(..)`): re-evaluated each time.
    /// The text is the callee (`stop.is_set`), or for a function applied to arguments in
    /// Python the whole call (`len(self.lines)`), whose arguments hold the state.
    Call(String),
    Constant,
    /// A side-effect-free query of a known object's state, which other threads change
    /// (`stop.is_set()`, `q.empty()`, `t.is_alive()`, `lock.locked()`, `future.done()`).
    Query {
        obj: ObjId,
        method: String,
    },
    /// The current time (`time.monotonic()`): a deadline, which no other thread changes.
    Clock,
}

/// What an `except` handler catches, when the front-end could tell.
#[derive(Clone, Debug, Default)]
pub struct ExceptInfo {
    /// The handler catches the "not yet" of a non-blocking take from shared state that the
    /// `try` body makes: `queue.Empty` after `q.get_nowait()` (or `get(block=False)`),
    /// `queue.Full` after `put_nowait()`, a `KeyError` or an `IndexError` after a lookup in a
    /// container other threads fill (`self.pending.pop(key)`). The handler is then the arm of
    /// a test of that state, as the `else` of `if not q.empty():` would be, not the failure of
    /// the pass's own attempt; the condition reads the object taken from.
    pub not_yet: Option<Condition>,
}

#[derive(Clone, Debug)]
pub struct BranchInfo {
    /// The first arm (`if`), as opposed to `elif`/`else`.
    pub first: bool,
    /// The `if` statement has an `elif`/`else` arm.
    pub has_else: bool,
    pub condition: Condition,
    /// This arm's body ends control flow (`break`, `return`, `raise`, `continue`) directly.
    pub exits: Option<ExitKind>,
    /// The condition is `x.acquire(...)` (`Some(false)`) or `not x.acquire(...)` (`Some(true)`).
    pub acquire_test: Option<(ObjId, bool)>,
    /// Rust: a `match` arm that takes any error of the value matched (`Err(_)`, `Err(e)`) when
    /// that value is an attempt, not a non-blocking test of another thread's state (a
    /// `try_lock`): the arm handles the attempt's failure, as an `except` handler does.
    pub handles_failure: bool,
    /// An arm of an `if` statement (`if`, `elif`, `else`; Rust `if`, `if let`, `else`), whose
    /// first arm a `while` can replace; not a `match` arm, a `let ... else` or a `select!`
    /// branch.
    pub if_statement: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    Break,
    Continue,
    Return,
    Raise,
}

/// Something that happens at one place in the code.
#[derive(Clone, Debug)]
pub struct Event {
    pub kind: EventKind,
    /// The call or statement itself.
    pub span: Span,
    /// The statement the event is the whole of (`lock.acquire()` on its own line), if any.
    pub statement: Option<Span>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcquireHow {
    /// `with lock:`; Rust: a guard bound with `let`.
    Scoped,
    /// `lock.acquire()` blocking without timeout.
    Manual,
    /// `lock.acquire(timeout=t)`; Rust `try_lock_for`.
    Timeout,
    /// `lock.acquire(blocking=False)` / `lock.acquire(False)`; Rust `try_lock`.
    NonBlocking,
    /// Rust: a guard that lives only to the end of the statement (`m.lock().unwrap().push(x)`).
    Temporary,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitKind {
    /// `Condition.wait()`, `Condvar::wait` / `wait_timeout`: must be in a predicate loop.
    Condition,
    /// `Condition.wait_for(pred)`, `Condvar::wait_while`: loops itself.
    ConditionPredicate,
    Event,
    Barrier,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockingKind {
    Join,
    QueueGet,
    QueuePut,
    FutureResult,
    FuturesWait,
    AsCompleted,
    Recv,
    /// Sends on a bounded channel (Rust `SyncSender::send`): waits for room when it is full.
    Send,
    /// Runs a process to its end and has a `timeout=` (`subprocess.run`, `Popen.wait()`).
    Subprocess,
    /// Waits for a process with no timed variant (`os.system`, `os.waitpid`, `os.spawnl`,
    /// `subprocess.getoutput`).
    ProcessWait,
    /// Starts a process (`subprocess.Popen(...)`, `os.posix_spawn`): fork and exec on the
    /// calling thread.
    Spawn,
    /// An HTTP request or other network call that has a `timeout=` (`requests.get`,
    /// `urllib.request.urlopen`, `session.post`).
    Network,
    /// Connects a socket (`socket.create_connection`, `sock.connect`).
    Connect,
    Input,
    /// Opens a file (`open`, `io.open`, `os.fdopen`).
    FileIo,
}

impl BlockingKind {
    /// It waits for the world outside the program (a process, the network, a file, the user),
    /// not for another thread of it.
    pub fn waits_outside(self) -> bool {
        matches!(
            self,
            BlockingKind::Subprocess
                | BlockingKind::ProcessWait
                | BlockingKind::Spawn
                | BlockingKind::Network
                | BlockingKind::Connect
                | BlockingKind::Input
                | BlockingKind::FileIo
        )
    }

    pub fn describe(self) -> &'static str {
        match self {
            BlockingKind::Join => "joining a thread",
            BlockingKind::QueueGet => "getting from a queue",
            BlockingKind::QueuePut => "putting to a bounded queue",
            BlockingKind::FutureResult => "waiting for a future's result",
            BlockingKind::FuturesWait => "waiting for futures",
            BlockingKind::AsCompleted => "waiting for futures to complete",
            BlockingKind::Recv => "receiving from a channel",
            BlockingKind::Send => "sending on a bounded channel",
            BlockingKind::Subprocess => "running a subprocess",
            BlockingKind::ProcessWait => "waiting for a process",
            BlockingKind::Spawn => "starting a process",
            BlockingKind::Network => "a network call",
            BlockingKind::Connect => "connecting a socket",
            BlockingKind::Input => "reading input",
            BlockingKind::FileIo => "file I/O",
        }
    }
}

#[derive(Clone, Debug)]
pub enum EventKind {
    Acquire {
        obj: ObjId,
        how: AcquireHow,
        /// The receiver expression's span (`self._lock` in `self._lock.acquire()`).
        receiver: Span,
        /// A shared (read) guard of a readers-writer lock: other read guards may coexist.
        shared: bool,
    },
    Release {
        obj: ObjId,
    },
    Wait {
        obj: ObjId,
        kind: WaitKind,
        timeout: bool,
    },
    Notify {
        obj: ObjId,
    },
    Sleep,
    Blocking {
        kind: BlockingKind,
        obj: Option<ObjId>,
        timeout: bool,
        /// What the call looks like (`q.get()`, `subprocess.run`).
        what: String,
    },
    /// A call to a function or method of the same file.
    Call {
        callee: FnId,
    },
    /// A call to a function of another module, by its absolute name as imported
    /// (`pkg.jobs.run` for `from pkg.jobs import run; run()`): resolved across files by the
    /// whole-program pass, where a re-export is followed to the definition.
    ExternalCall {
        callee: String,
    },
    Await,
    /// A write to state that outlives the function: a global or an attribute.
    SharedWrite {
        target: String,
        /// The object written: the global or attribute itself (`self.n` is a member of the
        /// class), or the container of an item write (`d` in `d[k] += 1`). `None` when the
        /// front-end cannot name it.
        obj: Option<ObjId>,
        /// `x += 1`, `x = x + 1`, `d[k] += 1`: a read and a write that can interleave. For an
        /// atomic (Rust), a plain store of a value computed from a load of the same atomic
        /// (`x.store(x.load(o) + 1, o)`): two atomic operations, not one.
        read_modify_write: bool,
        /// An item write (`d[k] = v`): the key as written, whitespace removed, so that two
        /// writes or tests of the same key compare equal. `None` for other writes.
        key: Option<String>,
        /// How an atomic is written (Rust); `None` for a plain write.
        atomic: Option<AtomicWrite>,
    },
    /// A test of a shared object's state that the code goes on to act on: in the condition
    /// of a branch or a loop, `q.empty()`, `lock.locked()`, `key in d`, an atomic
    /// `x.load(o)` (TL015). The answer can be stale by the time the code acts on it.
    StateTest {
        obj: ObjId,
        test: StateTestKind,
        /// For [`StateTestKind::Contains`]: the key tested, written as
        /// [`EventKind::SharedWrite::key`] writes it.
        key: Option<String>,
    },
    /// The result of joining a thread is thrown away (Rust `let _ = handle.join();`,
    /// `handle.join().ok();`): the panic that ended the thread is swallowed (TL016).
    JoinDiscarded {
        obj: ObjId,
    },
    /// `t.start()`, `Thread(...).start()`.
    ThreadStart {
        obj: Option<ObjId>,
    },
    /// `executor.submit(f)`, `executor.map(f, items)`, `thread::spawn`.
    Submit {
        target: Option<FnId>,
        /// An async task of the runtime the caller runs on (`tokio::spawn`, `rt.spawn(async
        /// ..)`), not work for another thread (`spawn_blocking`, a pool, a scoped thread).
        task: bool,
    },
    /// The value of a started thread / submitted future is used (`future.result()`, `t.join()`,
    /// `event.wait()`, reading a shared attribute the worker writes).
    Synchronize,
    /// `return`, `raise`, `break`, `continue`.
    Exit(ExitKind),
    /// Rust: a guard of `obj` is leaked (`std::mem::forget(guard)`, `MutexGuard::leak`): the
    /// lock stays held and no later drop releases it.
    GuardLeak {
        obj: ObjId,
    },
    /// An executor (thread pool) is shut down: `executor.shutdown()`, or the end of the `with`
    /// block that manages it.
    Shutdown {
        obj: ObjId,
    },
    /// Python: the outcome of a submitted task that no code looks at, so an exception it
    /// raises is never seen (TL016). `executor.submit(task)` as a statement of its own gives
    /// the executor; `for f in as_completed(fs):` whose body neither asks `f` for its result
    /// or exception nor hands it on gives the loop's future.
    UncheckedFuture {
        executor: Option<ObjId>,
        future: Option<ObjId>,
    },
    /// A thread object's life cycle touched other than by `start()`/`join()`: `t.run()`, a
    /// daemon setting, the name bound to a new thread (TL012, TL013).
    ThreadControl {
        obj: ObjId,
        action: ThreadAction,
        /// The method or attribute name (`run` in `t.run()`, `daemon` in `t.daemon = True`).
        name: Span,
    },
}

/// How an atomic is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicWrite {
    /// `store(value, o)`; `constant`: the value is a literal (`true`, `0`), a flag set or a
    /// counter reset rather than a value computed from other state.
    Store { constant: bool },
    /// `swap(value, o)`: returns the old value, so the code can tell what it replaced.
    Swap,
    /// `fetch_add`, `fetch_sub`, `fetch_or`, ...: one atomic read-modify-write.
    Arithmetic,
    /// `compare_exchange`, `fetch_update`: writes only if the value is still the one the code
    /// saw, so it cannot act on a stale test.
    CompareExchange,
}

/// What a [`EventKind::StateTest`] asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateTestKind {
    /// `q.empty()`, `q.qsize()`, `q.full()`: how many items a queue holds.
    QueueSize,
    /// `lock.locked()`: whether a lock is held.
    Locked,
    /// `key in d`, `key not in d`: whether a container holds a key.
    Contains,
    /// An atomic's `load(o)`.
    AtomicLoad,
}

/// What a [`EventKind::ThreadControl`] does to its thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadAction {
    /// `t.run()`: the thread's code, run in the calling thread. `arguments`: the call passes
    /// some (a `run` that is not `Thread.run`'s signature).
    Run { arguments: bool },
    /// `t.daemon = value` or `t.setDaemon(value)`.
    SetDaemon,
    /// `t = Thread(...)` again: from here on the name is a thread not yet started.
    Rebind,
}

/// A function that runs on a thread other than the one that defined it.
#[derive(Clone, Debug)]
pub struct ThreadEntry {
    pub function: FnId,
    /// Where it is handed to a thread or executor (for a `Thread.run` override: its name).
    pub site: Span,
    /// The hand-off can run the function on several threads at once: a task submitted to an
    /// executor, a `Thread(target=...)` created in a loop or comprehension, a `Thread` subclass
    /// instantiated in a loop or at several places.
    pub repeated: bool,
}

/// A file's place in its project.
#[derive(Clone, Debug, Default)]
pub struct ModuleInfo {
    /// The module path (`pkg.sub.mod`).
    pub path: String,
    /// Names the module binds by importing them, with what they refer to, absolute
    /// (`("Lock", "pkg.locks.Lock")` for `from .locks import Lock` in `pkg.jobs`; `("locks",
    /// "pkg.locks")` for `from pkg import locks`). They let other modules reach objects through
    /// this one (re-exports).
    pub imports: Vec<(String, String)>,
    /// Module-level functions that return a new synchronisation object of one kind
    /// (`def make_lock(): return threading.Lock()`), by name.
    pub factories: Vec<(String, ObjKind)>,
    /// Module-level functions whose body is one sleep (`def pause(s): time.sleep(s)`), by
    /// name, with how they sleep.
    pub sleepers: Vec<(String, crate::project::Sleeper)>,
    /// The module's classes, as subclasses and users in other modules see them.
    pub classes: Vec<ClassSummary>,
    /// Absolute names of other modules' objects, classes and factories the file uses (`pkg.
    /// locks.LOCK`, `pkg.pool.Pool`): what a project index may resolve for it.
    pub lookups: Vec<String>,
    /// Classes whose methods this file defines but another module declares (Rust: an `impl`
    /// of a type of another file): `(class, defining module)`. Their methods are named after
    /// that module.
    pub method_owners: Vec<(String, String)>,
    /// Functions written inside a module of the file (Rust: `mod inner { fn f() }`), by index,
    /// with that module's path below the file's (`inner`, `inner.deeper`).
    pub inline_modules: Vec<(u32, String)>,
}

/// A class as other modules see it: what its instances hold and which methods it defines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ClassSummary {
    /// Its name in its module (`Pool`; `Outer.Inner` is not summarised).
    pub name: String,
    /// Its base classes, absolute (`pkg.base.Resource`).
    pub bases: Vec<String>,
    /// Attributes of its instances (or the class) that hold synchronisation objects. A
    /// `Condition` over another attribute's lock is given with `lock: None`.
    pub attributes: Vec<(String, ObjKind)>,
    /// The methods it defines itself.
    pub methods: Vec<String>,
    /// Those of its methods that block until another thread acts (a wait on a condition, an
    /// event or a barrier, a join, a message), themselves or through the functions of their
    /// file they call: a call of one from another module waits for a thread too (a project
    /// queue's `join()`, a latch's `wait()`).
    #[serde(default)]
    pub waiting: Vec<String>,
    /// Those of its methods that start a thread (or hand work to one) and return while it may
    /// still run, themselves or through the functions of their file they call, waiting for no
    /// other thread: a call of one from another module starts that work too (a server's
    /// `start()`, a handler's `dispatch_in_background()`).
    #[serde(default)]
    pub starting: Vec<String>,
}

/// How a call that is an event is written, as the front-end parsed it: rules quote and
/// shorten it from these spans instead of taking the call's text apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallSyntax {
    /// The called expression: `time.sleep`, `ex.submit`, `a.b(c)` in `a.b(c)(d)`; in Rust the
    /// path, or the receiver and the method with its turbofish (`rx.recv`).
    pub callee: Span,
    /// A method call's receiver (`self._cond` in `self._cond.wait()`, `rx` in `rx.recv()`).
    pub receiver: Option<Span>,
    /// A method call's method name (`wait`, `recv`).
    pub method: Option<Span>,
    /// From the first argument's start to the last one's end; `None` without arguments.
    pub arguments: Option<Span>,
    /// The first positional argument (`guard` in `cvar.wait(guard)`).
    pub first_argument: Option<Span>,
    /// The variable the first argument is, through a reference (`guard` in `cvar.wait(guard)`
    /// and in `cv.wait(&mut guard)`); `None` when it is anything else.
    pub first_variable: Option<Span>,
}

/// Everything the rules know about one file.
#[derive(Clone, Debug)]
pub struct FileModel {
    pub language: Language,
    /// Where the file sits in its project, when the front-end knows it. With it, `Global` and
    /// `Member` identities mean the same object in every file of the project; without it they
    /// are scoped to the file.
    pub module: Option<ModuleInfo>,
    pub objects: Vec<SyncObject>,
    pub functions: Vec<Function>,
    pub thread_entries: Vec<ThreadEntry>,
    /// How each call event is written, by the event's span ([`FileModel::call`]).
    pub calls: rustc_hash::FxHashMap<Span, CallSyntax>,
    /// Python: the names the file's top level binds to whole modules (`import asyncio` binds
    /// `("asyncio", "asyncio")`, `import asyncio as aio` `("aio", "asyncio")`), in order.
    pub module_imports: Vec<(String, String)>,
}

impl FileModel {
    /// The name under which the file's top level imports `module`, if it does
    /// ([`FileModel::module_imports`]).
    pub fn module_bound_as(&self, module: &str) -> Option<&str> {
        self.module_imports
            .iter()
            .find(|(_, imported)| imported == module)
            .map(|(local, _)| local.as_str())
    }

    /// How the call at `span` (an event's span) is written, when that event is a call.
    pub fn call(&self, span: Span) -> Option<CallSyntax> {
        self.calls.get(&span).copied()
    }

    pub fn object(&self, id: ObjId) -> &SyncObject {
        &self.objects[id.0 as usize]
    }

    /// How a message names `obj` where the code takes it at `site` (an acquisition: the
    /// `with` item, or the call whose receiver it is): the member path written there
    /// (`ledger._lock`, where the object's own display is its class's `self._lock`); its
    /// display when the site writes no member path (a local alias, a call).
    pub fn name_at(&self, source: &str, obj: ObjId, site: Span) -> String {
        let written = match self.call(site).and_then(|call| call.receiver) {
            Some(receiver) => source.get(receiver.range()),
            None => source.get(site.range()),
        };
        let member_path = |text: &str| {
            (text.contains('.') || text.contains("::"))
                && text.len() <= 60
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':'))
        };
        match written {
            Some(text) if member_path(text) => text.to_string(),
            _ => self.object(obj).display.clone(),
        }
    }
    pub fn function(&self, id: FnId) -> &Function {
        &self.functions[id.0 as usize]
    }

    /// The object that is actually locked when `id` is acquired: a `Condition` built over an
    /// explicit lock shares that lock.
    pub fn lock_of(&self, id: ObjId) -> ObjId {
        match self.object(id).kind {
            ObjKind::Condition { lock: Some(inner) } if inner != id => self.lock_of(inner),
            _ => id,
        }
    }

    /// Whether no other thread can want the lock `id` while `function` holds it: it is a field
    /// its struct owns, of the value the method has to itself (`&mut self`). A lock order
    /// through it cannot deadlock: the thread that would take the locks the other way round
    /// cannot reach it.
    pub fn uncontended(&self, function: FnId, id: ObjId) -> bool {
        let function = self.function(function);
        let object = self.object(self.lock_of(id));
        function.exclusive_receiver
            && object.owned
            && matches!(&object.key, ObjKey::Member { class, .. } if function.class.as_ref() == Some(class))
    }

    /// Whether acquiring `id` while already holding it deadlocks.
    pub fn is_reentrant(&self, id: ObjId) -> bool {
        let lock = self.lock_of(id);
        match self.object(lock).kind {
            ObjKind::RLock => true,
            ObjKind::Condition { lock: None } => true,
            // Readers may share an RwLock; only write-write is a self-deadlock, which the
            // front-end records as a `Lock` kind for `write()` guards.
            ObjKind::RwLock { .. } => false,
            ObjKind::Lock { .. } => false,
            _ => true,
        }
    }
}

/// An expression written over several lines (`self\n    .set`) as one line (`self.set`), for
/// messages.
fn one_line_display(display: String) -> String {
    if !display.contains('\n') {
        return display;
    }
    let mut out = String::with_capacity(display.len());
    for word in display.split_whitespace() {
        let joins = out.is_empty()
            || out.ends_with(['.', '(', '[', ':'])
            || word.starts_with(['.', ')', ']', ',', ':', '?']);
        if !joins {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A local's name as written. A binding that shadows another of the same name in its function
/// is another object, keyed `name@offset` (the offset of the binding).
pub fn written_name(name: &str) -> &str {
    match name.rsplit_once('@') {
        Some((written, offset))
            if !offset.is_empty() && offset.bytes().all(|b| b.is_ascii_digit()) =>
        {
            written
        }
        _ => name,
    }
}

impl fmt::Display for ObjKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjKey::Global(name) => write!(f, "{name}"),
            ObjKey::Imported { module, name } => write!(f, "{module}.{name}"),
            ObjKey::Member { class, attr } => write!(f, "{class}.{attr}"),
            ObjKey::Local { name, .. } => write!(f, "{}", written_name(name)),
            ObjKey::Param { index, path, .. } => {
                write!(f, "param#{index}")?;
                for p in path {
                    write!(f, ".{p}")?;
                }
                Ok(())
            }
            ObjKey::Other(text) => write!(f, "{text}"),
        }
    }
}

/// Walks every node of a body, depth first, with the chain of enclosing scopes.
pub fn walk<'a>(body: &'a [Node], visit: &mut dyn FnMut(&'a Node, &[&'a Scope])) {
    fn go<'a>(
        body: &'a [Node],
        stack: &mut Vec<&'a Scope>,
        visit: &mut dyn FnMut(&'a Node, &[&'a Scope]),
    ) {
        for node in body {
            visit(node, stack);
            if let Node::Scope(scope) = node {
                stack.push(scope);
                go(&scope.body, stack, visit);
                stack.pop();
            }
        }
    }
    go(body, &mut Vec::new(), visit);
}

/// Every event of a body, with the chain of enclosing scopes.
pub fn events<'a>(body: &'a [Node], visit: &mut dyn FnMut(&'a Event, &[&'a Scope])) {
    walk(body, &mut |node, scopes| {
        if let Node::Event(event) = node {
            visit(event, scopes);
        }
    });
}

/// Every statement list of a body (the body itself and each scope's), with the enclosing
/// scopes: for rules that look at what follows what.
pub fn bodies<'a>(body: &'a [Node], visit: &mut dyn FnMut(&'a [Node], &[&'a Scope])) {
    fn go<'a>(
        body: &'a [Node],
        stack: &mut Vec<&'a Scope>,
        visit: &mut dyn FnMut(&'a [Node], &[&'a Scope]),
    ) {
        visit(body, stack);
        for node in body {
            if let Node::Scope(scope) = node {
                stack.push(scope);
                go(&scope.body, stack, visit);
                stack.pop();
            }
        }
    }
    go(body, &mut Vec::new(), visit);
}

impl Scope {
    /// An `except` handler, or a Rust `match` arm that handles an attempt's failure
    /// (`BranchInfo::handles_failure`); not a handler of a non-blocking take's "not yet"
    /// (`ExceptInfo::not_yet`), which tests another thread's state.
    pub fn handles_failure(&self) -> bool {
        match &self.kind {
            ScopeKind::Except(handler) => handler.not_yet.is_none(),
            ScopeKind::Branch(branch) => branch.handles_failure,
            _ => false,
        }
    }

    /// The child scope of a `try` statement of the given kind.
    pub fn part(&self, kind: fn(&ScopeKind) -> bool) -> Option<&Scope> {
        self.body.iter().find_map(|node| match node {
            Node::Scope(scope) if kind(&scope.kind) => Some(scope),
            _ => None,
        })
    }

    /// Whether an event of this scope's own body (not nested deeper) satisfies `test`.
    pub fn has_direct_event(&self, test: impl Fn(&EventKind) -> bool) -> bool {
        self.body
            .iter()
            .any(|node| matches!(node, Node::Event(event) if test(&event.kind)))
    }
}

/// Functions ordered by where they start, to find the innermost function around a place
/// without scanning every function each time.
pub struct FunctionIndex {
    /// `(start, end, id)`, sorted by start, then by end descending (outer before inner).
    spans: Vec<(u32, u32, FnId)>,
}

impl FunctionIndex {
    pub fn new(model: &FileModel) -> Self {
        let mut spans: Vec<(u32, u32, FnId)> = model
            .functions
            .iter()
            .enumerate()
            .map(|(index, f)| (f.span.start, f.span.end, FnId(index as u32)))
            .collect();
        spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        FunctionIndex { spans }
    }

    /// The innermost function whose definition holds `span`. Definitions nest or are
    /// disjoint, so going back from the last one that starts before `span`, the first that
    /// also ends after it is the innermost.
    pub fn innermost(&self, span: Span) -> Option<FnId> {
        let after = self
            .spans
            .partition_point(|&(start, _, _)| start <= span.start);
        self.spans[..after]
            .iter()
            .rev()
            .find(|&&(_, end, _)| end >= span.end)
            .map(|&(_, _, id)| id)
    }
}
