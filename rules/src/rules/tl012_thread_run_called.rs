use crate::declare_rule;
use crate::diagnostic::{Applicability, Edit, Finding, Fix, FixAvailability, Violation};
use crate::model::{events, EventKind, Node, ObjId, ThreadAction};
use crate::registry::{Check, Context};
use crate::source::{short, NAME_WIDTH};
use rustc_hash::FxHashMap;

declare_rule! {
    /// ## What it does
    /// Checks for `run()` called on a thread object: a `threading.Thread`, a `Timer`, or an
    /// instance of a `Thread` subclass, known as such from its constructor or an annotation.
    ///
    /// The object's kind decides, never the method name: `run()` on anything else (a runner,
    /// a command, an event loop) is not reported. A `Thread` subclass calling its own `run`
    /// (`self.run()` from an overridden `start`, `super().run()` inside `run`) is not either:
    /// that is how a subclass extends `Thread`, not a call of another thread's entry point.
    ///
    /// ## Why is this bad?
    /// `run()` is the method `start()` calls on the new thread. Called directly, it runs the
    /// target in the calling thread, to the end, before the call returns: nothing runs
    /// concurrently, the caller blocks for as long as the work takes, and a later `join()`
    /// raises `RuntimeError` because the thread was never started. The code looks threaded and
    /// is not.
    ///
    /// ## Example
    /// ```python
    /// worker = threading.Thread(target=download, args=(url,))
    /// worker.run()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// worker = threading.Thread(target=download, args=(url,))
    /// worker.start()
    /// ```
    ///
    /// ## Fix
    /// `run` becomes `start` when the call passes no arguments and is the function's only
    /// `run()` or `start()` of that thread (a thread starts once: a second `start()` raises
    /// `RuntimeError`, so `t.run(); t.run()` is reported but not fixed). The fix is unsafe: it changes
    /// which thread runs the code, and the caller no longer waits for it to finish (add a
    /// `join()` where the caller needs the result).
    ///
    /// ## References
    /// - [Python docs: Thread objects](https://docs.python.org/3/library/threading.html#thread-objects)
    pub static RULE = {
        violation: ThreadRunCalled,
        name: "thread-run-called",
        severity: Error,
        languages: [Python],
        summary: "`run()` called on a thread object instead of `start()`: the code runs in the calling thread.",
        check: Check::File(check),
    };
}

/// `run()` called on a thread object.
pub struct ThreadRunCalled {
    /// The thread as written.
    pub receiver: String,
    /// What kind of thread object it is.
    pub kind: &'static str,
}

impl Violation for ThreadRunCalled {
    const FIX: FixAvailability = FixAvailability::Sometimes;

    fn message(&self) -> String {
        let ThreadRunCalled { receiver, kind } = self;
        format!(
            "`{receiver}.run()` runs the {kind}'s code in the calling thread, not in a new one: `run()` is what `start()` calls on the new thread, so nothing runs concurrently and the caller waits for all of it"
        )
    }

    fn help(&self) -> String {
        let receiver = &self.receiver;
        format!(
            "Call `{receiver}.start()` to run it on its own thread (and `{receiver}.join()` where the result is needed), or call the target function directly if it should run here"
        )
    }
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    for function in &model.functions {
        let started = starts_per_thread(&function.body);
        events(&function.body, &mut |event, _| {
            let EventKind::ThreadControl {
                obj,
                action: ThreadAction::Run { arguments },
                name,
            } = event.kind
            else {
                return;
            };
            let object = model.object(obj);
            let kind = object.kind.describe(model.language);
            let violation = ThreadRunCalled {
                receiver: short(&object.display, NAME_WIDTH),
                kind,
            };
            let once = started.get(&obj).is_some_and(|count| *count == 1);
            // The front-end makes a `Run` event of a `run()` call only: `name` is `run`.
            let fix = (!arguments && once).then(|| Fix {
                applicability: Applicability::Unsafe,
                message: "Replace `run()` with `start()`".into(),
                edits: vec![Edit {
                    span: name,
                    content: "start".into(),
                }],
            });
            findings.push(violation.at_with_fix(event.span, fix));
        });
    }
    findings
}

/// How many times the function runs or starts each thread object: the fix turns every `run()`
/// into a `start()`, and a thread can start only once.
fn starts_per_thread(body: &[Node]) -> FxHashMap<ObjId, usize> {
    let mut counts = FxHashMap::default();
    events(body, &mut |event, _| {
        let obj = match event.kind {
            EventKind::ThreadControl {
                obj,
                action: ThreadAction::Run { .. },
                ..
            } => obj,
            EventKind::ThreadStart { obj: Some(obj) } => obj,
            _ => return,
        };
        *counts.entry(obj).or_insert(0) += 1;
    });
    counts
}
