//! Calls of paths: functions of the file, known library functions (`thread::spawn`,
//! `thread::scope`, `sleep`, `drop`, channel and lock constructors) and associated functions of
//! known types (`Mutex::new`, `Arc::clone`, `MutexGuard::leak`), and hand-offs to other threads.

use syn::punctuated::Punctuated;
use syn::{Expr, Token, Type};
use threadlint_rules::model::{EventKind, FnId, Node, ObjKind, Span, ThreadEntry};
use threadlint_rules::project::Sleeper;

use crate::rust::names::{self, KnownFn, KnownType};
use crate::rust::spans;

use super::items::{FnBody, Input};
use super::resolve::Res;
use super::values::{Ty, Value};
use super::Lowerer;

impl<'a> Lowerer<'a> {
    /// The function a spawned argument runs: a closure, an async block, a function of the file.
    pub(super) fn spawn_target(
        &mut self,
        arg: &'a Expr,
        hints: Vec<Ty>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Option<FnId> {
        match arg {
            Expr::Closure(_) | Expr::Async(_) => self.new_closure(arg, hints),
            other => match self.expr(other, out, depth + 1).ty {
                Ty::Callable(id) => Some(id),
                _ => None,
            },
        }
    }

    /// The function a closure argument is, when there is one.
    fn spawn_target_of(
        &mut self,
        arg: Option<&'a Expr>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Option<FnId> {
        self.spawn_target(arg?, Vec::new(), out, depth)
    }

    /// Hands `arg` to another thread; `pooled` when a pool or runtime may run it on several
    /// threads (and the caller may hand it over again).
    pub(super) fn spawn(
        &mut self,
        arg: Option<&'a Expr>,
        site: Span,
        hints: Vec<Ty>,
        pooled: bool,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Option<FnId> {
        let target = arg.and_then(|arg| self.spawn_target(arg, hints, out, depth));
        if let Some(function) = target {
            let repeated = self.repetition > 0 || pooled;
            self.thread_entries.push(ThreadEntry {
                function,
                site,
                repeated,
            });
        }
        target
    }

    /// The arguments of a call: they are handed to the callee, so what they denote escapes.
    pub(super) fn args(
        &mut self,
        args: &'a Punctuated<Expr, Token![,]>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Vec<Value> {
        let values = self.args_in_place(args, out, depth);
        self.escape_all(&values);
        self.escape_moved_guards(args, &values);
        values
    }

    /// Arguments that stay what they are (`Arc::clone(&m)` is `m`).
    pub(super) fn args_in_place(
        &mut self,
        args: &'a Punctuated<Expr, Token![,]>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Vec<Value> {
        args.iter()
            .map(|arg| match arg {
                // A `move` closure owns what it captures: it is made to be kept or sent, and the
                // callee may run it later or on another thread (`run_later(move || ..)`,
                // `Box::new(move || ..)`). Its body is a function of its own, not code that runs
                // here while this function's guards are alive.
                Expr::Closure(closure) if closure.capture.is_some() => {
                    match self.new_closure(arg, Vec::new()) {
                        Some(id) => Value::of(Ty::Callable(id)),
                        None => Value::default(),
                    }
                }
                _ => self.expr(arg, out, depth + 1),
            })
            .collect()
    }

    /// A call of a path or a closure; a call that is an event itself gets its `CallSyntax`.
    pub(super) fn call(
        &mut self,
        call: &'a syn::ExprCall,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Value {
        let before = out.len();
        let value = self.call_events(call, out, depth);
        let span = self.join(spans::first(&call.func), call.paren_token.span.close());
        let callee = self.expr_span(&call.func);
        let later = matches!(value.ty, Ty::SleepFuture(_));
        let before = (!later).then_some(before);
        self.record_call(out, before, span, (callee, None), &call.args);
        value
    }

    fn call_events(&mut self, call: &'a syn::ExprCall, out: &mut Vec<Node>, depth: usize) -> Value {
        let span = self.join(spans::first(&call.func), call.paren_token.span.close());
        let Expr::Path(path) = &*call.func else {
            self.expr(&call.func, out, depth + 1);
            self.args(&call.args, out, depth);
            return Value::default();
        };
        if path.qself.is_some() {
            self.args(&call.args, out, depth);
            return Value::default();
        }
        // A closure bound to a local name.
        if path.path.segments.len() == 1 && path.path.leading_colon.is_none() {
            let name = path.path.segments[0].ident.to_string();
            if let Some(binding) = self.lookup(&name) {
                let ty = binding.value.ty.clone();
                let values = self.args(&call.args, out, depth);
                if let Ty::Callable(callee) = ty {
                    self.hand_over(call.args.iter(), &values, out);
                    return self.call_local(callee, span, out);
                }
                return Value::default();
            }
        }
        let segments = self.segments_here(&path.path);
        match self.resolve(self.current_module(), &segments, 0) {
            Res::Fn(callee) => {
                let values = self.args(&call.args, out, depth);
                if let Some(sleeper) = self.local_sleeper(callee) {
                    return self.sleep_call(sleeper, span, out);
                }
                self.hand_over(call.args.iter(), &values, out);
                self.call_local(callee, span, out)
            }
            Res::Assoc(class, name) => {
                let callee = self.method_of(&class, &name);
                let values = self.args(&call.args, out, depth);
                match callee {
                    Some(callee) => {
                        self.hand_over(call.args.iter(), &values, out);
                        self.call_local(callee, span, out)
                    }
                    None if names::is_constructor(&name) => Value::of(Ty::Struct(class)),
                    None => Value::default(),
                }
            }
            Res::Struct(name) => {
                self.args(&call.args, out, depth);
                Value::of(Ty::Struct(name))
            }
            Res::External(full) => self.call_external(&full, call, span, out, depth),
            _ => {
                self.args(&call.args, out, depth);
                Value::default()
            }
        }
    }

    /// A call to a function of this file. Calling an async function only builds its future:
    /// its body runs where the future is awaited or spawned.
    pub(super) fn call_local(&mut self, callee: FnId, span: Span, out: &mut Vec<Node>) -> Value {
        if self.fns[callee.0 as usize].is_async {
            return Value::of(Ty::Callable(callee));
        }
        self.push(out, EventKind::Call { callee }, span);
        if self.hands_over_new_thread(callee) {
            // For the caller, the call starts the thread whose handle it returns: thrown away
            // (`start();`), it is detached, as `thread::spawn(..);` is.
            self.push(out, EventKind::ThreadStart { obj: None }, span);
            return Value::new_thread(span);
        }
        self.return_value(callee)
    }

    /// A function without a receiver that returns a thread's handle it owns (`fn start() ->
    /// JoinHandle<()>`, `Option<JoinHandle<()>>`, `io::Result<JoinHandle<()>>`): a helper that
    /// spawns. A method may hand out a handle it kept (`self.worker.take()`), so methods are
    /// left out.
    fn hands_over_new_thread(&self, callee: FnId) -> bool {
        let info = &self.fns[callee.0 as usize];
        if info.inputs.iter().any(|i| matches!(i, Input::SelfParam)) {
            return false;
        }
        let Some(mut ty) = info.ret else {
            return false;
        };
        // Through one `Option<..>` or `Result<.., E>`.
        if let Type::Path(path) = ty {
            let last = path.path.segments.last();
            if let Some(segment) = last.filter(|s| s.ident == "Option" || s.ident == "Result") {
                if let syn::PathArguments::AngleBracketed(args) = &segment.arguments {
                    if let Some(syn::GenericArgument::Type(inner)) = args.args.first() {
                        ty = inner;
                    }
                }
            }
        }
        matches!(
            self.ty_of(ty, info.module, info.class.as_deref(), 0),
            Ty::Sync(ObjKind::Thread { .. })
        )
    }

    /// A call of a function that only sleeps: a sleep, or for a coroutine a sleep's future
    /// (which sleeps where it is awaited).
    fn sleep_call(&mut self, sleeper: Sleeper, span: Span, out: &mut Vec<Node>) -> Value {
        match sleeper {
            Sleeper::Blocking => {
                self.push(out, EventKind::Sleep, span);
                Value::default()
            }
            Sleeper::Async => Value::of(Ty::SleepFuture(span)),
        }
    }

    /// The functions at the file's top level (not in a `mod` block, an `impl` or another
    /// function) whose body is one sleep, for other files of the crate.
    pub(super) fn sleepers(&self) -> Vec<(String, Sleeper)> {
        let mut sleepers: Vec<(String, Sleeper)> = self.modules[0]
            .fns
            .iter()
            .filter_map(|(name, &id)| Some((name.clone(), self.local_sleeper(id)?)))
            .collect();
        sleepers.sort_by(|a, b| a.0.cmp(&b.0));
        sleepers
    }

    /// A function of this file whose body is one call of a known sleep (`thread::sleep(d)`,
    /// `tokio::time::sleep(d).await` in an `async fn`), with or without a `;`.
    pub(super) fn local_sleeper(&self, callee: FnId) -> Option<Sleeper> {
        let info = &self.fns[callee.0 as usize];
        let FnBody::Block(block) = info.body else {
            return None;
        };
        let [syn::Stmt::Expr(expr, _)] = block.stmts.as_slice() else {
            return None;
        };
        let (call, awaited) = match expr {
            Expr::Await(awaited) => (&*awaited.base, true),
            other => (other, false),
        };
        let Expr::Call(call) = call else { return None };
        let Expr::Path(path) = &*call.func else {
            return None;
        };
        let segments = self.segments_here(&path.path);
        let Res::External(full) = self.resolve(info.module, &segments, 0) else {
            return None;
        };
        match (names::known_fn(&full)?, awaited, info.is_async) {
            (KnownFn::Sleep, false, false) => Some(Sleeper::Blocking),
            (KnownFn::AsyncSleep, true, true) => Some(Sleeper::Async),
            _ => None,
        }
    }

    pub(super) fn call_external(
        &mut self,
        full: &str,
        call: &'a syn::ExprCall,
        span: Span,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Value {
        let first = call.args.first();
        if let Some(known) = names::known_fn(full) {
            match known {
                KnownFn::ThreadSpawn => {
                    self.spawn(first, span, Vec::new(), false, out, depth);
                    self.push(out, EventKind::ThreadStart { obj: None }, span);
                    return Value::new_thread(span);
                }
                KnownFn::TaskSpawn { async_task } => {
                    self.fns[self.current.0 as usize].spawns_tasks |= async_task;
                    let target = self.spawn(first, span, Vec::new(), true, out, depth);
                    for arg in call.args.iter().skip(1) {
                        self.expr(arg, out, depth + 1);
                    }
                    self.push(
                        out,
                        EventKind::Submit {
                            target,
                            task: async_task,
                        },
                        span,
                    );
                    return Value::of(Ty::Sync(ObjKind::Future));
                }
                KnownFn::ThreadScope => {
                    for arg in &call.args {
                        match arg {
                            Expr::Closure(closure) => {
                                let _ =
                                    self.inline_closure(closure, &[Ty::ThreadScope], out, depth);
                            }
                            other => {
                                self.expr(other, out, depth + 1);
                            }
                        }
                    }
                    // Every thread spawned in the scope is joined when it returns.
                    self.push(out, EventKind::Synchronize, span);
                    return Value::default();
                }
                KnownFn::Sleep => {
                    self.args(&call.args, out, depth);
                    self.push(out, EventKind::Sleep, span);
                    return Value::default();
                }
                KnownFn::PauseClock => {
                    let paused = &mut self.fns[self.current.0 as usize].paused_clock;
                    *paused = Some(paused.map_or(span.end, |from| from.min(span.end)));
                    return Value::default();
                }
                KnownFn::AsyncSleep => {
                    self.args(&call.args, out, depth);
                    return Value::of(Ty::SleepFuture(span));
                }
                KnownFn::BlockInPlace => {
                    // The closure runs here and now, as a synchronous function of its own.
                    match self.spawn_target_of(first, out, depth) {
                        Some(callee) => self.push(out, EventKind::Call { callee }, span),
                        None => {
                            self.args(&call.args, out, depth);
                        }
                    }
                    return Value::default();
                }
                KnownFn::Blocking(kind) => {
                    self.args(&call.args, out, depth);
                    self.push(
                        out,
                        EventKind::Blocking {
                            kind,
                            obj: None,
                            timeout: false,
                            what: full.to_string(),
                        },
                        span,
                    );
                    return Value::default();
                }
                KnownFn::Drop | KnownFn::Forget => {
                    let value = first
                        .map(|arg| self.expr(arg, out, depth + 1))
                        .unwrap_or_default();
                    self.end_guard(&value, first, known == KnownFn::Forget, span, out);
                    // `drop(tx)`: the channel closes on the other side once every end is
                    // gone, which wakes a thread blocked on it: a signal to it.
                    if let (KnownFn::Drop, Ty::Sync(kind), Some(arg @ Expr::Path(_))) =
                        (known, &value.ty, first)
                    {
                        if matches!(
                            kind,
                            ObjKind::Sender | ObjKind::BoundedSender | ObjKind::Receiver
                        ) && value.place.is_some()
                        {
                            let obj = self.object(&value, self.span_of(arg), *kind);
                            self.push(out, EventKind::Notify { obj }, span);
                        }
                    }
                    return Value::default();
                }
                KnownFn::Channel { receiver, bounded } => {
                    self.args(&call.args, out, depth);
                    self.pending_room = match call.args.first() {
                        Some(Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Int(capacity),
                            ..
                        })) if bounded => capacity.base10_parse::<u32>().ok(),
                        _ => None,
                    };
                    let tx = match (bounded, receiver) {
                        (true, _) => Ty::Sync(ObjKind::BoundedSender),
                        (false, true) => Ty::Sync(ObjKind::Sender),
                        (false, false) => Ty::Unknown,
                    };
                    let rx = if receiver {
                        Ty::Sync(ObjKind::Receiver)
                    } else {
                        Ty::Unknown
                    };
                    return Value::of(Ty::Tuple(vec![tx, rx]));
                }
                KnownFn::LockConstructor(kind) => {
                    let inner = self
                        .args(&call.args, out, depth)
                        .into_iter()
                        .next()
                        .unwrap_or_default();
                    return Value {
                        ty: Ty::Lock(kind, Box::new(inner.ty)),
                        def: Some(span),
                        fresh: true,
                        ..Value::default()
                    };
                }
            }
        }
        if names::is_clock(full) {
            self.args(&call.args, out, depth);
            return Value::of(Ty::Clock);
        }
        // `futures::executor::block_on(fut)`: runs the future to completion on this thread,
        // waiting for whatever it waits for (a message, another thread's signal).
        if full.rsplit("::").next() == Some("block_on") {
            let values = self.args(&call.args, out, depth);
            // `block_on(async { .. })` (futures, futures-lite, async-std, pollster): the block
            // runs on this thread, driven by nothing else; a blocking call in it blocks only
            // this thread, as it would outside the block.
            for value in values {
                if let Ty::Callable(id) = value.ty {
                    if matches!(self.fns[id.0 as usize].body, super::items::FnBody::Async(_)) {
                        self.fns[id.0 as usize].is_async = false;
                    }
                }
            }
            self.push(out, EventKind::Synchronize, span);
            return Value::default();
        }
        // `Default::default()` makes a new value, of the type the binding's annotation names
        // (`let m: Arc<Mutex<S>> = Default::default();`): private to the function until it
        // escapes, as `Mutex::new(..)` is.
        if matches!(
            full,
            "Default::default" | "default::Default::default" | "std::default::Default::default"
        ) && call.args.is_empty()
        {
            return Value {
                def: Some(span),
                fresh: true,
                ..Value::default()
            };
        }
        // `Some(x)`
        if full == "Some" {
            let inner = self
                .args(&call.args, out, depth)
                .into_iter()
                .next()
                .unwrap_or_default();
            return Value {
                ty: Ty::Opt(Box::new(inner.ty)),
                ..inner
            };
        }
        if full == "Ok" {
            return self
                .args(&call.args, out, depth)
                .into_iter()
                .next()
                .unwrap_or_default();
        }
        // `Type::function(..)`.
        let Some((owner, name)) = full.rsplit_once("::") else {
            self.args(&call.args, out, depth);
            return Value::default();
        };
        let Some(owner) = names::known_type(owner) else {
            self.args(&call.args, out, depth);
            if let Some(callee) = self.project_path(full) {
                if let Some(sleeper) = self.project_sleeper(&callee) {
                    return self.sleep_call(sleeper, span, out);
                }
                // A function or an associated function of another file of the crate: resolved
                // in the whole-program pass, which knows what it acquires.
                let owner = self.project_path(owner);
                self.push(out, EventKind::ExternalCall { callee }, span);
                if names::is_constructor(name) {
                    if let Some(owner) = owner {
                        return Value::of(Ty::Project(owner));
                    }
                }
            }
            return Value::default();
        };
        match owner {
            KnownType::Lock(kind) | KnownType::Sync(kind) if !names::is_constructor(name) => {
                // `Mutex::lock(&m)`: a method called by its path.
                let receiver = first
                    .map(|arg| self.expr(arg, out, depth + 1))
                    .unwrap_or_default();
                let receiver_span = first.map_or(span, |arg| self.expr_span(arg));
                let ty = match owner {
                    KnownType::Lock(_) => match receiver.ty {
                        Ty::Lock(..) => receiver.ty.clone(),
                        _ => Ty::Lock(kind, Box::default()),
                    },
                    _ => Ty::Sync(kind),
                };
                let receiver = Value { ty, ..receiver };
                let rest: Vec<&'a Expr> = call.args.iter().skip(1).collect();
                self.method_semantics(receiver, name, &rest, span, receiver_span, None, out, depth)
            }
            KnownType::Lock(kind) => {
                let inner = self
                    .args(&call.args, out, depth)
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                Value {
                    ty: Ty::Lock(kind, Box::new(inner.ty)),
                    def: Some(span),
                    fresh: true,
                    ..Value::default()
                }
            }
            KnownType::Sync(kind) => {
                self.args(&call.args, out, depth);
                Value {
                    ty: Ty::Sync(kind),
                    def: Some(span),
                    fresh: true,
                    ..Value::default()
                }
            }
            KnownType::Transparent => {
                let args = if name == "clone" {
                    self.args_in_place(&call.args, out, depth)
                } else {
                    self.args(&call.args, out, depth)
                };
                let value = args.into_iter().next().unwrap_or_default();
                if name == "clone" {
                    // `Arc::clone(&m)` is `m`.
                    value.settled()
                } else if names::is_constructor(name) || matches!(name, "pin" | "new_uninit") {
                    Value {
                        place: None,
                        def: value.def.or(Some(span)),
                        ..value.settled()
                    }
                } else {
                    Value::default()
                }
            }
            KnownType::Guard if matches!(name, "leak") => {
                let value = first
                    .map(|arg| self.expr(arg, out, depth + 1))
                    .unwrap_or_default();
                self.end_guard(&value, first, true, span, out);
                Value::default()
            }
            KnownType::Guard if matches!(name, "map" | "try_map" | "filter_map" | "map_split") => {
                let value = first
                    .map(|arg| self.expr(arg, out, depth + 1))
                    .unwrap_or_default();
                for arg in call.args.iter().skip(1) {
                    self.expr(arg, out, depth + 1);
                }
                value
            }
            KnownType::Once if names::is_constructor(name) => {
                self.args(&call.args, out, depth);
                Value::of(Ty::Once(Box::default()))
            }
            KnownType::Seq if names::is_constructor(name) => {
                self.args(&call.args, out, depth);
                Value::of(Ty::Seq(Box::default()))
            }
            KnownType::ThreadBuilder => {
                self.args(&call.args, out, depth);
                Value::of(Ty::ThreadBuilder)
            }
            _ => {
                self.args(&call.args, out, depth);
                Value::default()
            }
        }
    }
}
