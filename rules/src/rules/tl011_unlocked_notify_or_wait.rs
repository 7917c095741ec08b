use std::collections::{BTreeSet, HashMap};

use crate::declare_rule;
use crate::diagnostic::{Applicability, Edit, Finding, Fix, FixAvailability, Violation};
use crate::held::walk_held;
use crate::model::{EventKind, FileModel, FnId, ObjId, ObjKey, ObjKind, Span};
use crate::registry::{Check, Context};
use crate::source::{indent_unit, indentation, may_hold_multiline_string, stands_alone, text};

declare_rule! {
    /// ## What it does
    /// Checks for `notify()`, `notify_all()`, `wait()` and `wait_for()` called on a
    /// `threading.Condition` whose lock the thread does not hold there: outside `with cond:`
    /// and not between `cond.acquire()` and `cond.release()`. A condition built over a lock
    /// (`Condition(lock)`) shares it, so holding `lock` (`with lock:`) counts.
    ///
    /// A function that holds nothing itself but is only ever called, in the file, from places
    /// that hold the lock (a `_notify_locked()` helper of a class) is not reported: its callers
    /// hold the lock for it. Not reported either: a condition that is a parameter of the
    /// function (its callers may hold it), and one built over a lock whose kind is not known.
    ///
    /// ## Why is this bad?
    /// A condition's methods require its lock: `wait()` releases it and takes it back, and
    /// `notify()` is only meaningful while the state it announces is protected. Called without
    /// the lock they raise `RuntimeError` ("cannot notify on un-acquired lock", "cannot wait on
    /// un-acquired lock"), every time. Even where a library would let it pass, a notification
    /// sent outside the lock can fall between a waiter's check of the predicate and its
    /// `wait()`, and be lost.
    ///
    /// ## Example
    /// ```python
    /// def put(self, item):
    ///     with self._lock:
    ///         self._items.append(item)
    ///     self._not_empty.notify()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def put(self, item):
    ///     with self._not_empty:
    ///         self._items.append(item)
    ///         self._not_empty.notify()
    /// ```
    ///
    /// ## Fix
    /// A call that is a statement of its own, on one line, on a condition named by a plain
    /// name or attribute (`self._cond`), is wrapped in `with <condition>:`. The fix is safe
    /// when the condition's lock is reentrant (a default `Condition()` wraps an `RLock`): a
    /// caller in another file that already holds it cannot deadlock on it. Over a plain `Lock`
    /// it is unsafe, and so it is wherever another lock is held at the call (the condition may
    /// be built over that lock). Widening the block to cover the state change the call announces is left
    /// to the author.
    ///
    /// ## References
    /// - [Python docs: Condition objects](https://docs.python.org/3/library/threading.html#condition-objects)
    pub static RULE = {
        violation: UnlockedNotifyOrWait,
        name: "unlocked-notify-or-wait",
        severity: Error,
        languages: [Python],
        summary: "`notify()`/`wait()` on a `Condition` whose lock is not held: raises `RuntimeError`.",
        check: Check::File(check),
    };
}

/// A condition call and the locks held where it happens (in its own function).
struct Site {
    function: FnId,
    cond: ObjId,
    span: Span,
    statement: Option<Span>,
    held: bool,
    /// Some other lock is held at the call.
    holding_other: bool,
    /// A wait rather than a notify.
    waits: bool,
}

fn check(cx: &Context) -> Vec<Finding> {
    let model = cx.model;
    let mut sites = Vec::new();
    // For each function, the locks held at each call to another function of the file.
    let mut calls: Vec<(FnId, FnId, BTreeSet<ObjId>)> = Vec::new();
    for index in 0..model.functions.len() {
        let function = FnId(index as u32);
        walk_held(model, function, &mut |event, held, _| {
            let cond = match event.kind {
                EventKind::Notify { obj } => obj,
                EventKind::Wait { obj, .. } => obj,
                EventKind::Call { callee } => {
                    let locks = held.iter().map(|h| h.lock).collect();
                    calls.push((function, callee, locks));
                    return;
                }
                _ => return,
            };
            if !checked(model, cond) {
                return;
            }
            let lock = model.lock_of(cond);
            sites.push(Site {
                function,
                cond,
                span: event.span,
                statement: event.statement,
                held: held.iter().any(|h| h.lock == lock),
                holding_other: !held.is_empty(),
                waits: matches!(event.kind, EventKind::Wait { .. }),
            });
        });
    }
    if sites.iter().all(|site| site.held) {
        return Vec::new();
    }
    let entry = held_on_entry(model, &calls);
    let mut findings = Vec::new();
    for site in sites {
        let lock = model.lock_of(site.cond);
        if site.held || entry[site.function.0 as usize].contains(&lock) {
            continue;
        }
        findings.push(finding(cx, &site));
    }
    findings
}

/// A `Condition` whose lock the rule can follow: not a parameter (the caller may hold it), and
/// over a lock of a known kind (a `with` on an unknown object is not seen as an acquisition).
fn checked(model: &FileModel, cond: ObjId) -> bool {
    let object = model.object(cond);
    let ObjKind::Condition { lock } = object.kind else {
        return false;
    };
    if matches!(object.key, ObjKey::Param { .. }) {
        return false;
    }
    match lock {
        Some(inner) if inner != cond => model.object(model.lock_of(cond)).kind.is_lock_like(),
        _ => true,
    }
}

/// For each function, the locks held at every call to it in the file (by the caller itself or
/// on entry to the caller), as long as it has such calls and does not run as a thread of its
/// own. Only identities that mean the same object in caller and callee (globals, members,
/// imported objects) pass through calls. The greatest fixed point: a function called only
/// from itself and from places holding the lock keeps it.
fn held_on_entry(
    model: &FileModel,
    calls: &[(FnId, FnId, BTreeSet<ObjId>)],
) -> Vec<BTreeSet<ObjId>> {
    let count = model.functions.len();
    let mut callers: HashMap<FnId, Vec<(FnId, &BTreeSet<ObjId>)>> = HashMap::new();
    for (caller, callee, held) in calls {
        callers.entry(*callee).or_default().push((*caller, held));
    }
    let threads: BTreeSet<FnId> = model.thread_entries.iter().map(|e| e.function).collect();
    // `None`: not yet constrained (everything); `Some(set)`: at most these locks.
    let mut entry: Vec<Option<BTreeSet<ObjId>>> = (0..count)
        .map(|index| {
            let id = FnId(index as u32);
            if callers.contains_key(&id) && !threads.contains(&id) {
                None
            } else {
                Some(BTreeSet::new())
            }
        })
        .collect();
    loop {
        let mut changed = false;
        for (callee, sites) in &callers {
            let current = &entry[callee.0 as usize];
            if current
                .as_ref()
                .is_some_and(std::collections::BTreeSet::is_empty)
            {
                continue;
            }
            let mut meet: Option<BTreeSet<ObjId>> = None;
            for (caller, held) in sites {
                let at_site: Option<BTreeSet<ObjId>> =
                    entry[caller.0 as usize].as_ref().map(|inherited| {
                        held.iter()
                            .chain(inherited.iter())
                            .copied()
                            .filter(|&lock| travels(&model.object(lock).key))
                            .collect()
                    });
                meet = match (meet, at_site) {
                    (None, other) | (other, None) => other,
                    (Some(a), Some(b)) => Some(a.intersection(&b).copied().collect()),
                };
            }
            if meet != *current {
                entry[callee.0 as usize] = meet;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // Functions reached only from one another, never from outside that cycle: no caller holds
    // anything for them.
    entry.into_iter().map(Option::unwrap_or_default).collect()
}

fn travels(key: &ObjKey) -> bool {
    matches!(
        key,
        ObjKey::Global(_) | ObjKey::Imported { .. } | ObjKey::Member { .. }
    )
}

/// `notify()` or `wait()` on a `Condition` whose lock is not held.
pub struct UnlockedNotifyOrWait {
    /// The condition as written.
    pub shown: String,
    /// The method called: `notify`, `notify_all`, `wait`, `wait_for`.
    pub method: String,
    /// "`cond`'s lock", or "its lock `lock`" for a condition over another lock.
    pub lock_name: String,
    /// A wait (`wait`, `wait_for`) rather than a notify.
    pub waits: bool,
}

impl Violation for UnlockedNotifyOrWait {
    const FIX: FixAvailability = FixAvailability::Sometimes;

    fn message(&self) -> String {
        let UnlockedNotifyOrWait {
            shown,
            method,
            lock_name,
            waits,
        } = self;
        let waits = *waits;
        let error = if waits {
            "cannot wait on un-acquired lock"
        } else {
            "cannot notify on un-acquired lock"
        };
        format!(
            "`{shown}.{method}()` is called without holding {lock_name}: a `Condition` must be held to {what}, so this raises `RuntimeError` ({error})",
            what = if waits { "wait on it" } else { "notify it" },
        )
    }

    fn help(&self) -> String {
        let shown = &self.shown;
        if self.waits {
            format!("Wait inside `with {shown}:`, around the loop that checks the predicate (`with {shown}: while not ready(): {shown}.wait()`), or use `{shown}.wait_for(predicate)` there")
        } else {
            format!("Notify inside `with {shown}:`, in the same block that changes the state the waiters check")
        }
    }
}

fn finding(cx: &Context, site: &Site) -> Finding {
    let model = cx.model;
    let syntax = model.call(site.span);
    let written = |span: Option<Span>| span.map_or("", |span| text(cx.source, span));
    let receiver = written(syntax.and_then(|call| call.receiver));
    let method = match syntax.and_then(|call| call.method.or(Some(call.callee))) {
        Some(method) => text(cx.source, method),
        None if site.waits => "wait",
        None => "notify",
    };
    let cond = model.object(site.cond);
    let lock = model.lock_of(site.cond);
    let shown = if receiver.is_empty() || receiver.len() > 60 || receiver.contains('\n') {
        cond.display.as_str()
    } else {
        receiver
    };
    let lock_name = if lock == site.cond {
        format!("`{shown}`'s lock")
    } else {
        format!("its lock `{}`", model.object(lock).display)
    };
    let violation = UnlockedNotifyOrWait {
        shown: shown.to_string(),
        method: method.to_string(),
        lock_name,
        waits: site.waits,
    };
    let fix = wrap_fix(cx, site, receiver);
    violation.at_with_fix(site.span, fix)
}

/// `cond.notify()` alone on its line -> `with cond:` around it.
fn wrap_fix(cx: &Context, site: &Site, receiver: &str) -> Option<Fix> {
    let statement = site.statement?;
    let source = cx.source;
    let simple = !receiver.is_empty()
        && receiver
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
    let body = text(source, statement);
    if !simple
        || body.contains('\n')
        || may_hold_multiline_string(body)
        || !stands_alone(source, statement, true)
    {
        return None;
    }
    let indent = indentation(source, statement.start);
    let unit = indent_unit(source, indent);
    // With another lock held, the condition may be built over that one, in a way the model
    // did not resolve: taking it again would then deadlock on a plain `Lock`.
    let applicability = if cx.model.is_reentrant(site.cond) && !site.holding_other {
        Applicability::Safe
    } else {
        Applicability::Unsafe
    };
    Some(Fix {
        applicability,
        message: format!("Wrap the call in `with {receiver}:`"),
        edits: vec![Edit {
            span: statement,
            content: format!("with {receiver}:\n{indent}{unit}{body}"),
        }],
    })
}
