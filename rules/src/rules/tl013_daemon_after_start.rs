use crate::declare_rule;
use crate::diagnostic::{Finding, FixAvailability, Related, Violation};
use crate::model::{EventKind, FileModel, Node, ObjId, Span, ThreadAction};
use crate::registry::{Check, Context};

declare_rule! {
    /// ## What it does
    /// Checks for a thread's daemon flag set (`t.daemon = ...` or `t.setDaemon(...)`) after
    /// `t.start()` has run on every path to it: the same thread object, in the same function,
    /// with the start earlier in the same block or in a block that encloses the setting. A
    /// `Thread` subclass that starts itself (`self.start()` in `__init__`) and then sets
    /// `self.daemon` is reported too.
    ///
    /// A start in one branch of an `if`, in a loop body that the setting follows, or in a
    /// `try` whose `except` sets the flag does not run on every path and is not reported. A
    /// name bound to a new thread between the two (`t = Thread(...)` again) is a new thread.
    ///
    /// ## Why is this bad?
    /// A thread's daemon status is fixed when it starts. Setting it afterwards raises
    /// `RuntimeError: cannot set daemon status of active thread`, even when the value does not
    /// change and even after the thread has finished. The code that follows never runs, and
    /// the thread keeps the status it started with, which decides whether the interpreter waits
    /// for it at exit.
    ///
    /// ## Example
    /// ```python
    /// worker = threading.Thread(target=serve)
    /// worker.start()
    /// worker.daemon = True
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// worker = threading.Thread(target=serve, daemon=True)
    /// worker.start()
    /// ```
    ///
    /// ## References
    /// - [Python docs: `Thread.daemon`](https://docs.python.org/3/library/threading.html#threading.Thread.daemon)
    pub static RULE = {
        violation: DaemonAfterStart,
        name: "daemon-after-start",
        severity: Error,
        languages: [Python],
        summary: "A thread's daemon flag set after `start()`: raises `RuntimeError`.",
        check: Check::File(check),
    };
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut findings = Vec::new();
    for function in &model.functions {
        let mut started = Vec::new();
        walk(model, &function.body, &mut started, &mut findings);
    }
    findings
}

/// Walks one block with the threads started on every path before it (`started`: the thread
/// and its `start()` call). Starts inside a nested block count only inside it; a rebinding
/// anywhere inside counts for what follows the block too. Returns the threads rebound.
fn walk(
    model: &FileModel,
    body: &[Node],
    started: &mut Vec<(ObjId, Span)>,
    findings: &mut Vec<Finding>,
) -> Vec<ObjId> {
    let mut rebound = Vec::new();
    for node in body {
        match node {
            Node::Event(event) => match event.kind {
                EventKind::ThreadStart { obj: Some(obj) } => started.push((obj, event.span)),
                EventKind::ThreadControl {
                    obj,
                    action: ThreadAction::Rebind,
                    ..
                } => {
                    started.retain(|(o, _)| *o != obj);
                    rebound.push(obj);
                }
                EventKind::ThreadControl {
                    obj,
                    action: ThreadAction::SetDaemon,
                    ..
                } => {
                    if let Some(&(_, start)) = started.iter().find(|(o, _)| *o == obj) {
                        findings.push(finding(model, event.span, obj, start));
                    }
                }
                _ => {}
            },
            Node::Scope(scope) => {
                let mut inner = started.clone();
                let gone = walk(model, &scope.body, &mut inner, findings);
                started.retain(|(o, _)| !gone.contains(o));
                rebound.extend(gone);
            }
        }
    }
    rebound
}

/// A thread's daemon flag set after its start.
pub struct DaemonAfterStart {
    /// The thread as written.
    pub thread: String,
    /// Set with `setDaemon()` rather than the `daemon` attribute.
    pub set_daemon_call: bool,
}

impl Violation for DaemonAfterStart {
    const FIX: FixAvailability = FixAvailability::None;

    fn message(&self) -> String {
        let thread = &self.thread;
        let setting = if self.set_daemon_call {
            format!("`{thread}.setDaemon()`")
        } else {
            format!("`{thread}.daemon` is set")
        };
        format!(
            "{setting} after `{thread}.start()`: a started thread's daemon status cannot change, so this raises `RuntimeError` (cannot set daemon status of active thread)"
        )
    }

    fn help(&self) -> String {
        let thread = &self.thread;
        format!(
            "Pass `daemon=True` (or `False`) where the thread is created (`Thread(..., daemon=True)`), or set `{thread}.daemon` before `{thread}.start()`"
        )
    }
}

fn finding(model: &FileModel, site: Span, obj: ObjId, start: Span) -> Finding {
    let thread = &model.object(obj).display;
    let violation = DaemonAfterStart {
        thread: thread.clone(),
        // `t.setDaemon(...)` is a call; `t.daemon = ...` an assignment.
        set_daemon_call: model.call(site).is_some(),
    };
    violation.at(site).with_related(vec![Related {
        file: None,
        span: start,
        message: format!("`{thread}` started here"),
    }])
}
