//! The Python lowering, case by case: each test snapshots what the front-end makes of a small
//! module ([`crate::model_dump::render_model`]: the objects with their kinds and identities,
//! then each function's tree as compact text). Read a changed snapshot as a change of the
//! model every rule sees.

use crate::model_dump::render_model;

fn dump(source: &str) -> String {
    let lowered = super::lower(source, None, None);
    assert!(
        lowered.syntax_errors.is_empty(),
        "{:?}",
        lowered.syntax_errors
    );
    assert!(!lowered.depth_exceeded);
    render_model(&lowered.model, source)
}

#[test]
fn with_blocks_bare_acquires_and_try_finally() {
    insta::assert_snapshot!(dump(
        "import threading

lock = threading.Lock()

def scoped():
    with lock:
        work()

def bare():
    lock.acquire()
    work()
    lock.release()

def guarded():
    lock.acquire()
    try:
        work()
    finally:
        lock.release()

def with_timeout():
    if lock.acquire(timeout=1):
        try:
            work()
        finally:
            lock.release()
"
    ));
}

#[test]
fn condition_waits_in_if_and_while_and_notifies() {
    insta::assert_snapshot!(dump(
        "import threading

class Box:
    def __init__(self):
        self._cond = threading.Condition()
        self.ready = False

    def get_once(self):
        with self._cond:
            if not self.ready:
                self._cond.wait()

    def get(self):
        with self._cond:
            while not self.ready:
                self._cond.wait(timeout=5)
            self._cond.wait_for(lambda: self.ready)

    def put(self):
        with self._cond:
            self.ready = True
            self._cond.notify_all()
"
    ));
}

#[test]
fn imports_and_aliases_resolve_to_kinds() {
    insta::assert_snapshot!(dump(
        "from threading import RLock as Reentrant, Semaphore, Event
import threading as t

a = Reentrant()
b = Semaphore(3)
c = Event()
d = t.Lock()

def nested():
    with a:
        with d:
            b.acquire()
            c.wait()
"
    ));
}

#[test]
fn threads_sleeps_and_executors() {
    insta::assert_snapshot!(dump(
        "import threading, time
from concurrent.futures import ThreadPoolExecutor

done = threading.Event()

def poll():
    while not done.is_set():
        time.sleep(0.1)

def start():
    worker = threading.Thread(target=poll)
    worker.start()
    worker.join()

def fan_out(items):
    with ThreadPoolExecutor() as pool:
        futures = [pool.submit(poll) for _ in items]
        return [f.result() for f in futures]
"
    ));
}

#[test]
fn async_locks_and_awaits() {
    insta::assert_snapshot!(dump(
        "import asyncio, threading, time

alock = asyncio.Lock()
tlock = threading.Lock()

async def fetch(session):
    async with alock:
        await session.get()
    with tlock:
        await asyncio.sleep(1)
        time.sleep(1)
"
    ));
}

#[test]
fn fresh_locks_that_never_leave_their_function() {
    insta::assert_snapshot!(dump(
        "import threading

def local_only():
    lock = threading.Lock()
    with lock:
        work()

def handed_on(register):
    lock = threading.Lock()
    register(lock)
    with lock:
        work()
"
    ));
}

/// Each call with events as its call table entry gives it: `callee|arguments`, then
/// `|receiver|method` for a method call (once per call).
fn call_syntax(source: &str) -> Vec<String> {
    let lowered = super::lower(source, None, None);
    crate::model_dump::render_calls(&lowered.model, source)
}

#[test]
fn call_events_carry_their_callee_and_arguments() {
    let source = "import time
import requests
from concurrent.futures import ThreadPoolExecutor

ex = ThreadPoolExecutor()

def work(n):
    pass

from time import sleep

def poll(done):
    while not done():
        time.sleep( 0.5 )
    requests.get(
        'https://example.com', *rest, timeout=None, **options)
    ex.submit(work, 1)
    ex.shutdown()
    make()(later)
    sleep(1)
";
    assert_eq!(
        call_syntax(source),
        [
            "time.sleep|0.5|time|sleep",
            "requests.get|'https://example.com', *rest, timeout=None, **options|requests|get",
            "ex.submit|work, 1|ex|submit",
            "ex.shutdown||ex|shutdown",
            "sleep|1",
        ]
    );
}

#[test]
fn module_imports_are_the_top_levels_import_statements() {
    let source = "import asyncio as aio\nimport os.path\ntry:\n    import uvloop\nexcept ImportError:\n    pass\nfrom time import sleep\n\ndef f():\n    import json\n\nclass C:\n    import re\n";
    let model = super::lower(source, None, None).model;
    assert_eq!(
        model.module_imports,
        [
            ("aio".to_string(), "asyncio".to_string()),
            ("os".to_string(), "os".to_string()),
            ("uvloop".to_string(), "uvloop".to_string()),
        ]
    );
    assert_eq!(model.module_bound_as("asyncio"), Some("aio"));
    assert_eq!(model.module_bound_as("json"), None);
}
