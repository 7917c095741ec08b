//! What the Python standard library's names are: which constructors create which kind of
//! synchronisation object, and which functions block. Keys are fully qualified names, as
//! resolved through the file's imports (`import threading as th` makes `th.Lock` resolve to
//! `threading.Lock`).

use threadlint_rules::model::{BlockingKind, ClientTimeout, Flavor, ObjKind};

/// The kind of object a call to `qualified` creates, before arguments are looked at.
pub fn constructor_kind(qualified: &str) -> Option<ObjKind> {
    let kind = match qualified {
        "threading.Lock"
        | "threading._allocate_lock"
        | "_thread.allocate_lock"
        | "_thread.LockType"
        | "multiprocessing.Lock"
        | "multiprocessing.synchronize.Lock"
        | "threading._thread.allocate_lock" => ObjKind::Lock {
            flavor: Flavor::Std,
        },
        "threading.RLock"
        | "threading._RLock"
        | "threading._PyRLock"
        | "_thread.RLock"
        | "multiprocessing.RLock"
        | "multiprocessing.synchronize.RLock" => ObjKind::RLock,
        "threading.Condition"
        | "multiprocessing.Condition"
        | "multiprocessing.synchronize.Condition" => ObjKind::Condition { lock: None },
        "threading.Semaphore" | "multiprocessing.Semaphore" => {
            ObjKind::Semaphore { bounded: false }
        }
        "threading.BoundedSemaphore" | "multiprocessing.BoundedSemaphore" => {
            ObjKind::Semaphore { bounded: true }
        }
        "threading.Event" | "multiprocessing.Event" => ObjKind::Event,
        "threading.Barrier" | "multiprocessing.Barrier" => ObjKind::Barrier { has_timeout: false },
        "threading.Thread" | "threading.Timer" => ObjKind::Thread { daemon: false },
        "concurrent.futures.ThreadPoolExecutor"
        | "concurrent.futures.thread.ThreadPoolExecutor"
        | "concurrent.futures.ProcessPoolExecutor"
        | "concurrent.futures.process.ProcessPoolExecutor"
        | "multiprocessing.pool.ThreadPool"
        | "multiprocessing.dummy.Pool"
        | "multiprocessing.Pool"
        | "multiprocessing.pool.Pool" => ObjKind::Executor,
        "concurrent.futures.Future" => ObjKind::Future,
        "queue.Queue"
        | "queue.LifoQueue"
        | "queue.PriorityQueue"
        | "multiprocessing.Queue"
        | "multiprocessing.JoinableQueue" => ObjKind::Queue { bounded: false },
        // Not `multiprocessing.SimpleQueue`: its `get()` takes no timeout, so it is not a
        // `Queue` whose blocking calls can be bounded.
        "queue.SimpleQueue" => ObjKind::Queue { bounded: false },
        // `requests` has no default timeout; `httpx` has one (5 s) unless the constructor
        // turns it off, which `constructed_kind` reads from the arguments.
        "requests.Session"
        | "requests.sessions.Session"
        | "requests.session"
        | "requests.sessions.session" => ObjKind::HttpClient {
            sync: true,
            timeout: ClientTimeout::Never,
        },
        "httpx.Client" => ObjKind::HttpClient {
            sync: true,
            timeout: ClientTimeout::Bounded,
        },
        "httpx.AsyncClient" => ObjKind::HttpClient {
            sync: false,
            timeout: ClientTimeout::Bounded,
        },
        "subprocess.Popen" => ObjKind::Process,
        "socket.socket" | "socket.SocketType" => ObjKind::Socket,
        "pathlib.Path" | "pathlib.PosixPath" | "pathlib.WindowsPath" => ObjKind::Path,
        _ => return None,
    };
    Some(kind)
}

/// The kind an annotation with an abstract base names (`service: Executor`): nothing
/// constructs one, but every object it types is one.
pub fn abstract_kind(qualified: &str) -> Option<ObjKind> {
    match qualified {
        "concurrent.futures.Executor" | "concurrent.futures._base.Executor" => {
            Some(ObjKind::Executor)
        }
        _ => None,
    }
}

/// Executors that run their tasks in other processes, not on threads of this one.
pub fn is_process_pool(qualified: &str) -> bool {
    matches!(
        qualified,
        "concurrent.futures.ProcessPoolExecutor"
            | "concurrent.futures.process.ProcessPoolExecutor"
            | "multiprocessing.Pool"
            | "multiprocessing.pool.Pool"
    )
}

/// Classes whose subclasses are threads (their `run` runs on the new thread).
pub fn is_thread_class(qualified: &str) -> bool {
    matches!(qualified, "threading.Thread" | "threading.Timer")
}

/// How a blocking call can be bounded: the keyword of its timeout and the position it takes
/// when passed positionally.
#[derive(Clone, Copy)]
pub struct TimeoutParameter {
    pub keyword: &'static str,
    pub position: usize,
}

/// Keyword only.
const TIMEOUT: Option<TimeoutParameter> = Some(TimeoutParameter {
    keyword: "timeout",
    position: usize::MAX,
});

#[allow(clippy::unnecessary_wraps)] // Read in tables next to `None` entries.
const fn timeout_at(position: usize) -> Option<TimeoutParameter> {
    Some(TimeoutParameter {
        keyword: "timeout",
        position,
    })
}

/// The HTTP methods of `requests`, `httpx` and their sessions and clients.
pub fn is_http_method(method: &str) -> bool {
    matches!(
        method,
        "get" | "post" | "put" | "patch" | "delete" | "head" | "options" | "request"
    )
}

/// A call that blocks the calling thread by its qualified name, and how it is bounded (`None`:
/// it has no timed variant).
pub fn blocking_function(qualified: &str) -> Option<(BlockingKind, Option<TimeoutParameter>)> {
    let found = match qualified {
        "concurrent.futures.wait" => (BlockingKind::FuturesWait, TIMEOUT),
        "concurrent.futures.as_completed" => (BlockingKind::AsCompleted, TIMEOUT),
        "subprocess.run"
        | "subprocess.call"
        | "subprocess.check_call"
        | "subprocess.check_output" => (BlockingKind::Subprocess, TIMEOUT),
        "subprocess.getoutput"
        | "subprocess.getstatusoutput"
        | "os.system"
        | "os.wait"
        | "os.wait3"
        | "os.wait4"
        | "os.waitid"
        | "os.waitpid"
        | "os.spawnl"
        | "os.spawnle"
        | "os.spawnlp"
        | "os.spawnlpe"
        | "os.spawnv"
        | "os.spawnve"
        | "os.spawnvp"
        | "os.spawnvpe" => (BlockingKind::ProcessWait, None),
        "subprocess.Popen" | "os.posix_spawn" | "os.posix_spawnp" => (BlockingKind::Spawn, None),
        // `urlopen(url, data=None, timeout=...)`.
        "urllib.request.urlopen" => (BlockingKind::Network, timeout_at(2)),
        "socket.create_connection" => (BlockingKind::Connect, timeout_at(1)),
        "urllib3.request" => (BlockingKind::Network, TIMEOUT),
        "input" => (BlockingKind::Input, None),
        "open" | "io.open" | "io.open_code" | "os.fdopen" => (BlockingKind::FileIo, None),
        _ => {
            let (module, method) = qualified.rsplit_once('.')?;
            let http = matches!(
                module,
                "requests"
                    | "requests.api"
                    | "requests.Session"
                    | "requests.sessions.Session"
                    | "httpx"
                    | "httpx.Client"
            );
            if !(http && is_http_method(method)) {
                return None;
            }
            (BlockingKind::Network, TIMEOUT)
        }
    };
    Some(found)
}

/// Whether a library's module functions (or a class's unbound methods) have a timeout by
/// default: `httpx` does, `requests` and `urllib3` do not.
pub fn has_default_timeout(qualified: &str) -> bool {
    qualified.starts_with("httpx.")
}

/// Awaitable sleeps of the async libraries: a task that awaits one lets the others run.
pub fn is_async_sleep(qualified: &str) -> bool {
    matches!(
        qualified,
        "asyncio.sleep"
            | "trio.sleep"
            | "trio.sleep_until"
            | "trio.lowlevel.checkpoint"
            | "anyio.sleep"
            | "anyio.sleep_until"
            | "anyio.lowlevel.checkpoint"
    )
}

/// `time.sleep` and the names it is re-exported under.
pub fn is_sleep(qualified: &str) -> bool {
    matches!(qualified, "time.sleep")
}

/// Calls that never return to the caller: they end the process (`os._exit`, `os.abort`) or
/// raise `SystemExit` (`sys.exit`). For the flow of locks they leave like a `raise`.
pub fn is_process_exit(qualified: &str) -> bool {
    matches!(qualified, "sys.exit" | "os._exit" | "os.abort")
}

/// `asyncio` functions that take a coroutine and run or await it: a call passed to one is a
/// coroutine, not a blocking call.
pub fn runs_coroutines(qualified: &str) -> bool {
    matches!(
        qualified,
        "asyncio.wait_for"
            | "asyncio.shield"
            | "asyncio.create_task"
            | "asyncio.ensure_future"
            | "asyncio.gather"
            | "asyncio.run"
            | "asyncio.run_coroutine_threadsafe"
            | "asyncio.tasks.wait_for"
    )
}

/// Calls that read the current time: a comparison with one is a deadline test.
pub fn is_clock(qualified: &str) -> bool {
    matches!(
        qualified,
        "time.time"
            | "time.time_ns"
            | "time.monotonic"
            | "time.monotonic_ns"
            | "time.perf_counter"
            | "time.perf_counter_ns"
            | "time.process_time"
            | "datetime.datetime.now"
            | "datetime.datetime.utcnow"
            | "trio.current_time"
            | "anyio.current_time"
    )
}

/// Methods that only read the state of an object of `kind`, without changing it.
pub fn is_state_query(kind: ObjKind, method: &str) -> bool {
    match kind {
        ObjKind::Event => matches!(method, "is_set" | "isSet"),
        ObjKind::Thread { .. } => matches!(method, "is_alive" | "isAlive"),
        ObjKind::Future => matches!(method, "done" | "running" | "cancelled"),
        ObjKind::Queue { .. } => matches!(method, "empty" | "full" | "qsize"),
        kind if kind.is_lock_like() => method == "locked",
        _ => false,
    }
}

/// Whether an absolute name belongs to the standard library (its top-level module is one of
/// Python 3.11's `sys.stdlib_module_names`, private ones left out): calls into it are not calls
/// into the project.
pub fn is_standard_library(qualified: &str) -> bool {
    let top = qualified.split('.').next().unwrap_or(qualified);
    top.starts_with('_') || STANDARD_LIBRARY.binary_search(&top).is_ok()
}

/// Python 3.11's public top-level standard-library modules, sorted.
const STANDARD_LIBRARY: &[&str] = &[
    "abc",
    "aifc",
    "antigravity",
    "argparse",
    "array",
    "ast",
    "asynchat",
    "asyncio",
    "asyncore",
    "atexit",
    "audioop",
    "base64",
    "bdb",
    "binascii",
    "bisect",
    "builtins",
    "bz2",
    "cProfile",
    "calendar",
    "cgi",
    "cgitb",
    "chunk",
    "cmath",
    "cmd",
    "code",
    "codecs",
    "codeop",
    "collections",
    "colorsys",
    "compileall",
    "concurrent",
    "configparser",
    "contextlib",
    "contextvars",
    "copy",
    "copyreg",
    "crypt",
    "csv",
    "ctypes",
    "curses",
    "dataclasses",
    "datetime",
    "dbm",
    "decimal",
    "difflib",
    "dis",
    "distutils",
    "doctest",
    "email",
    "encodings",
    "ensurepip",
    "enum",
    "errno",
    "faulthandler",
    "fcntl",
    "filecmp",
    "fileinput",
    "fnmatch",
    "fractions",
    "ftplib",
    "functools",
    "gc",
    "genericpath",
    "getopt",
    "getpass",
    "gettext",
    "glob",
    "graphlib",
    "grp",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http",
    "idlelib",
    "imaplib",
    "imghdr",
    "imp",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "keyword",
    "lib2to3",
    "linecache",
    "locale",
    "logging",
    "lzma",
    "mailbox",
    "mailcap",
    "marshal",
    "math",
    "mimetypes",
    "mmap",
    "modulefinder",
    "msilib",
    "msvcrt",
    "multiprocessing",
    "netrc",
    "nis",
    "nntplib",
    "nt",
    "ntpath",
    "nturl2path",
    "numbers",
    "opcode",
    "operator",
    "optparse",
    "os",
    "ossaudiodev",
    "pathlib",
    "pdb",
    "pickle",
    "pickletools",
    "pipes",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "posix",
    "posixpath",
    "pprint",
    "profile",
    "pstats",
    "pty",
    "pwd",
    "py_compile",
    "pyclbr",
    "pydoc",
    "pydoc_data",
    "pyexpat",
    "queue",
    "quopri",
    "random",
    "re",
    "readline",
    "reprlib",
    "resource",
    "rlcompleter",
    "runpy",
    "sched",
    "secrets",
    "select",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "site",
    "smtpd",
    "smtplib",
    "sndhdr",
    "socket",
    "socketserver",
    "spwd",
    "sqlite3",
    "sre_compile",
    "sre_constants",
    "sre_parse",
    "ssl",
    "stat",
    "statistics",
    "string",
    "stringprep",
    "struct",
    "subprocess",
    "sunau",
    "symtable",
    "sys",
    "sysconfig",
    "syslog",
    "tabnanny",
    "tarfile",
    "telnetlib",
    "tempfile",
    "termios",
    "textwrap",
    "this",
    "threading",
    "time",
    "timeit",
    "tkinter",
    "token",
    "tokenize",
    "tomllib",
    "trace",
    "traceback",
    "tracemalloc",
    "tty",
    "turtle",
    "turtledemo",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uu",
    "uuid",
    "venv",
    "warnings",
    "wave",
    "weakref",
    "webbrowser",
    "winreg",
    "winsound",
    "wsgiref",
    "xdrlib",
    "xml",
    "xmlrpc",
    "zipapp",
    "zipfile",
    "zipimport",
    "zlib",
    "zoneinfo",
];

/// `six.moves.queue`, `six.moves.urllib.request.urlopen`: the standard library's module of the
/// same name, which `six` gives under Python 3.
pub fn six_moves(absolute: String) -> String {
    let Some(rest) = absolute.strip_prefix("six.moves.") else {
        return absolute;
    };
    let module = rest.split('.').next().unwrap_or(rest);
    let same_name = matches!(
        module,
        "queue" | "_thread" | "urllib" | "socketserver" | "configparser" | "builtins" | "reprlib"
    );
    if same_name {
        rest.to_string()
    } else {
        absolute
    }
}
