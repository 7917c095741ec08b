//! Hand-shakes through objects the model cannot type, found by their use: a local that a
//! function hands to a thread it starts (in `args=`/`kwargs=`, or captured by a nested target),
//! that the thread's function releases, sets or notifies, and that the function itself never
//! releases, sets or notifies. Its `acquire()` or `wait()` there waits for the thread
//! (`s = self.Semaphore(0)` from a test mixin's factory, then `s.acquire()` while the thread
//! calls `s.release()`): the lowering makes it a synchronisation. The other way round, a local
//! the thread waits on (`acquire()`, `wait()`) and the function signals is a wake-up of the
//! thread: its `notify()`/`set()` becomes a `Notify` event. A queue's join protocol is the same
//! hand-shake: the thread's `q.task_done()` signals, and the function's `q.join()` waits for it.

use super::*;

/// What a body does with plain names: the names it signals on, and the threads it constructs.
#[derive(Default)]
struct Uses<'a> {
    /// Names `n` of `n.release()`, `n.set()`, `n.notify()`, `n.notify_all()`,
    /// `n.task_done()`.
    signalled: HashSet<String>,
    /// Names `n` of `n.acquire()`, `n.wait()`, `n.join()`.
    waited: HashSet<String>,
    /// `Thread(...)` constructions (their qualified callee resolves later).
    calls: Vec<&'a ast::ExprCall>,
}

fn is_signal(method: &str) -> bool {
    matches!(
        method,
        "release" | "set" | "notify" | "notify_all" | "notifyAll" | "task_done"
    )
}

fn is_wait(method: &str) -> bool {
    matches!(method, "acquire" | "wait" | "join")
}

/// A call that runs an event loop or a server until something stops it (`loop.run_forever()`,
/// `app.start()`): a wait for a thread that stops it, when a thread does.
fn runs_until_stopped(method: &str) -> bool {
    matches!(method, "run_forever" | "serve_forever" | "start")
}

/// The name an attribute chain starts from (`app` of `app.io_loop`).
fn root_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(name) => Some(name.id.as_str()),
        Expr::Attribute(attr) => root_name(&attr.value),
        _ => None,
    }
}

/// What a thread's function does with a value it receives.
struct ParamUse {
    signalled: bool,
    waited: bool,
}

fn uses(body: &[Stmt]) -> Uses<'_> {
    let mut uses = Uses::default();
    walk_own_body(body, |visited| {
        let Visited::Expr(Expr::Call(call)) = visited else {
            return;
        };
        if let Expr::Attribute(method) = &*call.func {
            if let Expr::Name(receiver) = &*method.value {
                let name = method.attr.id.as_str();
                if is_signal(name) {
                    uses.signalled.insert(receiver.id.to_string());
                } else if is_wait(name) {
                    uses.waited.insert(receiver.id.to_string());
                }
            }
        }
        // Stopping an event loop reached through a name, by calling its `stop()` or by handing
        // `stop` to it as a callback (`loop.call_soon_threadsafe(loop.stop)`,
        // `app.io_loop.add_callback(app.io_loop.stop)`): a signal to whoever runs that loop.
        let stops = std::iter::once(&*call.func)
            .filter(|_| call.arguments.is_empty())
            .chain(call.arguments.args.iter())
            .filter_map(|expr| match expr {
                Expr::Attribute(attr) if attr.attr.id.as_str() == "stop" => root_name(&attr.value),
                _ => None,
            });
        for root in stops {
            uses.signalled.insert(root.to_string());
        }
        if call.arguments.find_argument_value("target", 1).is_some() {
            uses.calls.push(call);
        }
    });
    uses
}

impl<'a> Lowerer<'a> {
    /// The hand-shake names of every function, as (function, local name).
    pub(super) fn find_handshakes(&mut self) {
        for index in 0..self.functions.len() {
            let function = FnId(index as u32);
            let body = self.functions[index].body;
            let here = uses(body);
            for call in &here.calls {
                let (signalled, waited) = self.used_by_thread(function, call);
                for name in signalled {
                    if !here.signalled.contains(&name) {
                        self.handshakes.insert((function, name));
                    }
                }
                // The thread waits on it, this function signals it: a wake-up (a semaphore's
                // `release()` only where this function does not take it itself).
                for name in waited {
                    if here.signalled.contains(&name) {
                        let releases = !here.waited.contains(&name);
                        self.wakeups.insert((function, name), releases);
                    }
                }
            }
        }
    }

    /// The names of `function` that the thread constructed by `call` signals on, and those it
    /// waits on.
    fn used_by_thread(
        &mut self,
        function: FnId,
        call: &'a ast::ExprCall,
    ) -> (Vec<String>, Vec<String>) {
        let mut signalled = Vec::new();
        let mut waited = Vec::new();
        for (name, param) in self.handed_to_thread(function, call) {
            if param.signalled {
                signalled.push(name.clone());
            }
            if param.waited {
                waited.push(name);
            }
        }
        (signalled, waited)
    }

    /// The locals of `function` the thread constructed by `call` receives (as arguments or by
    /// capture), with what it does with each.
    fn handed_to_thread(
        &mut self,
        function: FnId,
        call: &'a ast::ExprCall,
    ) -> Vec<(String, ParamUse)> {
        let Some(qualified) = self.qualified_name(&call.func) else {
            return Vec::new();
        };
        if !matches!(
            self.constructed_kind(function, &qualified, &call.arguments),
            Some(ObjKind::Thread { .. })
        ) {
            return Vec::new();
        }
        let Some(target_expr) = call.arguments.find_argument_value("target", 1) else {
            return Vec::new();
        };
        let Some(target) = self.resolve_function(function, target_expr) else {
            return Vec::new();
        };
        let assigned = self.assigned_in(target).clone();
        let info = &self.functions[target.0 as usize];
        let used = uses(info.body);
        let param_use = |name: &str| ParamUse {
            signalled: used.signalled.contains(name),
            waited: used.waited.contains(name),
        };
        let mut names = Vec::new();
        // A function nested in this one uses this one's locals by capture.
        if info.parent == Some(function) {
            // Its parameters and the names it binds itself (unless declared `nonlocal`) are
            // its own.
            let own = |name: &str| {
                info.params.iter().any(|(n, _)| n == name)
                    || (assigned.contains(name) && !info.globals.contains(name))
            };
            for name in used.signalled.iter().chain(&used.waited) {
                if !own(name) {
                    names.push((name.clone(), param_use(name)));
                }
            }
        }
        // `self.worker` passes the instance as the first parameter.
        let offset = self.bound_offset(target, target_expr);
        let params: Vec<String> = info.params.iter().map(|(n, _)| n.clone()).collect();
        if let Some(
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }),
        ) = call.arguments.find_argument_value("args", 3)
        {
            for (position, element) in elts.iter().enumerate() {
                if let (Expr::Name(local), Some(param)) = (element, params.get(position + offset)) {
                    names.push((local.id.to_string(), param_use(param)));
                }
            }
        }
        if let Some(Expr::Dict(dict)) = call.arguments.find_argument_value("kwargs", 4) {
            for item in &dict.items {
                if let (Some(Expr::StringLiteral(key)), Expr::Name(local)) =
                    (&item.key, &item.value)
                {
                    names.push((local.id.to_string(), param_use(key.value.to_str())));
                }
            }
        }
        names
    }

    /// `n.notify()` / `n.set()` (or `n.release()` of a semaphore the thread takes) on a name
    /// the thread waits on, whose object the model does not type: the thread is woken here.
    /// The object, interned as the function's local, for a `Notify` event.
    pub(super) fn wakeup(&mut self, function: FnId, method: &ast::ExprAttribute) -> Option<ObjId> {
        let Expr::Name(receiver) = &*method.value else {
            return None;
        };
        let name = receiver.id.as_str();
        let releases = *self.wakeups.get(&(function, name.to_string()))?;
        let signal = match method.attr.id.as_str() {
            "notify" | "notify_all" | "notifyAll" | "set" => true,
            "release" => releases,
            _ => false,
        };
        if !signal
            || self
                .resolve(function, &method.value)
                .is_some_and(|obj| !self.untyped(obj))
        {
            return None;
        }
        let key = ObjKey::Local {
            function,
            name: name.to_string(),
        };
        Some(self.intern(key, name.to_string()))
    }

    /// `n.acquire()` / `n.wait()` / `n.join()` on a hand-shake name whose object the model does not type: a
    /// wait for the thread that signals it.
    pub(super) fn handshake_wait(
        &mut self,
        function: FnId,
        method: &ast::ExprAttribute,
        args: &Arguments,
    ) -> bool {
        let Expr::Name(receiver) = &*method.value else {
            return false;
        };
        let name = method.attr.id.as_str();
        // `self.start()` in a method is not a loop that a nested thread stops through `self`.
        let runs =
            runs_until_stopped(name) && Some(receiver.id.as_str()) != self.self_name(function);
        if !(is_wait(name) || runs)
            || !self
                .handshakes
                .contains(&(function, receiver.id.to_string()))
        {
            return false;
        }
        if self
            .resolve(function, &method.value)
            .is_some_and(|obj| !self.untyped(obj))
        {
            return false;
        }
        // `acquire(False)`, `acquire(blocking=False)` do not wait.
        !(name == "acquire"
            && args
                .find_argument_value("blocking", 0)
                .or_else(|| args.find_keyword("block").map(|k| &k.value))
                .is_some_and(is_false_literal))
    }

    /// The model does not know the object's class: its kind is unknown, or known only as a lock
    /// by its use (which may as well be a condition or a semaphore).
    fn untyped(&self, obj: ObjId) -> bool {
        matches!(
            self.objects[obj.0 as usize].kind,
            ObjKind::Unknown | ObjKind::UntypedLock
        )
    }
}
