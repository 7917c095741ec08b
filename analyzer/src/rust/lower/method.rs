//! Method calls: lock, wait, notify, join, receive and spawn on the objects the lowering knows,
//! methods of the file's own types, closures given to adaptors, and what other methods give back.

use syn::Expr;
use threadlint_rules::model::{
    AcquireHow, AtomicWrite, BlockingKind, EventKind, Flavor, FnId, Node, ObjKey, ObjKind, Span,
    WaitKind,
};

use crate::rust::names::{self, LockMethod};
use crate::rust::spans;

use super::escape;
use super::guards::is_shared_guard;
use super::values::{Place, Ty, Value};
use super::{Lowerer, MAX_DEPTH};

impl<'a> Lowerer<'a> {
    pub(super) fn method_call(
        &mut self,
        call: &'a syn::ExprMethodCall,
        hint: Option<Hint>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Value {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return Value::default();
        }
        let name = call.method.to_string();
        // `x.lock().unwrap()`: the receiver's shape tells a std lock even when its type is not
        // known here.
        let receiver = match (&*call.receiver, guard_wrapper(&name)) {
            (Expr::MethodCall(inner), true) => match lock_hint(&call.receiver, Hint::LockResult) {
                Some(inner_hint) => self.method_call(inner, Some(inner_hint), out, depth + 1),
                None => self.expr(&call.receiver, out, depth + 1),
            },
            _ => self.expr(&call.receiver, out, depth + 1),
        };
        let receiver = self.through_deref(receiver, &name);
        let span = self.join(spans::first(&call.receiver), call.paren_token.span.close());
        let receiver_span = self.expr_span(&call.receiver);
        let args: Vec<&'a Expr> = call.args.iter().collect();
        let before = out.len();
        let value = self.method_semantics(
            receiver,
            &name,
            &args,
            span,
            receiver_span,
            hint,
            out,
            depth,
        );
        let callee_end = call
            .turbofish
            .as_ref()
            .map_or_else(|| call.method.span(), |turbofish| turbofish.gt_token.span);
        let callee = self.join(spans::first(&call.receiver), callee_end);
        let method = self.span(call.method.span());
        self.record_call(
            out,
            Some(before),
            span,
            (callee, Some((receiver_span, method))),
            args,
        );
        value
    }

    /// A struct of this file that dereferences to another type, called with a method it does not
    /// define itself: the method is the target's (`self.links.lock()` with `struct
    /// Links(Arc<Mutex<..>>)` and `impl Deref for Links`), on the same object.
    fn through_deref(&self, receiver: Value, method: &str) -> Value {
        let Ty::Struct(name) = &receiver.ty else {
            return receiver;
        };
        let Some(&(target, module)) = self.derefs.get(name) else {
            return receiver;
        };
        if self
            .methods
            .contains_key(&(name.clone(), method.to_string()))
        {
            return receiver;
        }
        let ty = self.ty_of(target, module, Some(name), 0);
        Value { ty, ..receiver }
    }

    /// The object `value` denotes has been taken for a read-write lock already (its
    /// `write()` was seen earlier in the file).
    fn seen_as_rwlock(&self, value: &Value) -> bool {
        let Some(super::Place::Key(key)) = &value.place else {
            return false;
        };
        self.object_by_key
            .get(key)
            .is_some_and(|id| matches!(self.objects[id.0 as usize].kind, ObjKind::RwLock { .. }))
    }

    /// A thread spawned in a scope (`s.spawn(..)`, `builder.spawn_scoped(s, ..)`): work the
    /// scope joins when it ends, whose handle may be joined before.
    fn scoped_thread(&mut self, target: Option<FnId>, span: Span, out: &mut Vec<Node>) -> Value {
        let task = false;
        self.push(out, EventKind::Submit { target, task }, span);
        Value::of(Ty::Sync(ObjKind::Thread { daemon: false }))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn method_semantics(
        &mut self,
        receiver: Value,
        name: &str,
        args: &[&'a Expr],
        span: Span,
        receiver_span: Span,
        hint: Option<Hint>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Value {
        // A `move` closure is kept or sent by the callee, as with a function's arguments
        // (`args_in_place`): its body is a function of its own.
        let lower_args = |this: &mut Self, out: &mut Vec<Node>| -> Vec<Value> {
            args.iter()
                .map(|arg| match arg {
                    Expr::Closure(closure) if closure.capture.is_some() => this
                        .new_closure(arg, Vec::new())
                        .map_or_else(Value::default, |id| Value::of(Ty::Callable(id))),
                    arg => this.expr(arg, out, depth + 1),
                })
                .collect()
        };
        let mut receiver = receiver;
        // Another sender of a bounded channel: what it sends takes room too.
        if let (Ty::Sync(ObjKind::BoundedSender), Some(Place::Key(key)), "clone") =
            (&receiver.ty, &receiver.place, name)
        {
            self.room.remove(key);
        }
        // A receiver of unknown type used the way only a lock is.
        let mut guessed = false;
        // A type of another file of the crate may be its own lock (a wrapper with `lock()`).
        if matches!(receiver.ty, Ty::Unknown | Ty::Project(_)) && args.is_empty() {
            if let Some(hint) = hint {
                let flavor = match hint {
                    Hint::LockResult => Flavor::Std,
                    Hint::Async => Flavor::Async,
                };
                let kind = match name {
                    "lock" | "try_lock" => Some(ObjKind::Lock { flavor }),
                    "write" | "try_write" => Some(ObjKind::RwLock { flavor }),
                    // Many handles have a `read()` that gives a view, not a guard (a
                    // lock-free map's read handle): only an object also written as a lock is
                    // one.
                    "read" | "try_read" if self.seen_as_rwlock(&receiver) => {
                        Some(ObjKind::RwLock { flavor })
                    }
                    _ => None,
                };
                if let Some(kind) = kind {
                    receiver.ty = Ty::Lock(kind, Box::default());
                    guessed = true;
                }
            }
        }
        match receiver.ty.clone() {
            Ty::Lock(kind, inner) => {
                // `.lock().await` compiles only on an async lock, whatever the type looked like
                // (a crate's own `sync::Mutex` read as `std::sync::Mutex`).
                let kind = match (hint, kind) {
                    (Some(Hint::Async), ObjKind::Lock { .. }) if name == "lock" => ObjKind::Lock {
                        flavor: Flavor::Async,
                    },
                    (Some(Hint::Async), ObjKind::RwLock { .. })
                        if matches!(name, "read" | "write") =>
                    {
                        ObjKind::RwLock {
                            flavor: Flavor::Async,
                        }
                    }
                    _ => kind,
                };
                if let Some(method) = names::lock_method(kind, name) {
                    lower_args(self, out);
                    // Known before as something (or nothing): only a new kind is a guess.
                    let unknown_before = guessed && {
                        let id = self.object(&receiver, receiver_span, ObjKind::Unknown);
                        self.objects[id.0 as usize].kind == ObjKind::Unknown
                    };
                    let obj = self.object(&receiver, receiver_span, kind);
                    if unknown_before {
                        self.objects[obj.0 as usize].inferred = true;
                    }
                    if hint == Some(Hint::Async) {
                        self.objects[obj.0 as usize].kind = kind;
                    }
                    return match method {
                        LockMethod::Blocking | LockMethod::NonBlocking | LockMethod::Timeout => {
                            let how = match method {
                                LockMethod::Blocking => AcquireHow::Temporary,
                                LockMethod::NonBlocking => AcquireHow::NonBlocking,
                                _ => AcquireHow::Timeout,
                            };
                            let future = matches!(
                                kind,
                                ObjKind::Lock {
                                    flavor: Flavor::Async
                                } | ObjKind::RwLock {
                                    flavor: Flavor::Async
                                }
                            ) && method == LockMethod::Blocking
                                && !name.starts_with("blocking_");
                            if future {
                                // tokio's `lock()` builds a future: it locks where awaited.
                                return Value::of(Ty::LockFuture {
                                    obj,
                                    how,
                                    shared: is_shared_guard(name),
                                    inner,
                                    call: span,
                                    receiver: receiver_span,
                                });
                            }
                            let temp = self.acquire(
                                out,
                                obj,
                                (how, is_shared_guard(name)),
                                span,
                                receiver_span,
                            );
                            Value {
                                ty: Ty::Guard(Some(obj), inner),
                                temp: Some(temp),
                                ..Value::default()
                            }
                        }
                        LockMethod::ForceUnlock => {
                            self.push(out, EventKind::Release { obj }, span);
                            Value::default()
                        }
                        LockMethod::Raw => Value::of(Ty::Raw(obj)),
                    };
                }
            }
            Ty::Raw(obj) => {
                lower_args(self, out);
                match name {
                    "lock" | "lock_exclusive" | "lock_shared" | "lock_upgradable" => {
                        let receiver = receiver_span;
                        self.push(
                            out,
                            EventKind::Acquire {
                                obj,
                                how: AcquireHow::Manual,
                                receiver,
                                shared: name == "lock_shared",
                            },
                            span,
                        );
                    }
                    "try_lock" | "try_lock_exclusive" | "try_lock_shared" => {
                        let receiver = receiver_span;
                        self.push(
                            out,
                            EventKind::Acquire {
                                obj,
                                how: AcquireHow::NonBlocking,
                                receiver,
                                shared: name == "try_lock_shared",
                            },
                            span,
                        );
                    }
                    "unlock" | "unlock_fair" | "unlock_exclusive" | "unlock_shared"
                    | "unlock_upgradable" => {
                        self.push(out, EventKind::Release { obj }, span);
                    }
                    _ => {}
                }
                return Value::default();
            }
            Ty::Sync(kind @ ObjKind::Condvar { .. }) => {
                if let Some((predicate, timeout)) = names::condvar_wait(name) {
                    let values = lower_args(self, out);
                    let obj = self.object(&receiver, receiver_span, kind);
                    let kind = if predicate {
                        WaitKind::ConditionPredicate
                    } else {
                        WaitKind::Condition
                    };
                    self.push(out, EventKind::Wait { obj, kind, timeout }, span);
                    // The guard comes back: the same lock, held again.
                    let guard = values.into_iter().next().unwrap_or_default();
                    let guard = match guard.ty {
                        Ty::Guard(..) => Value {
                            ty: guard.ty,
                            temp: guard.temp.filter(|t| t.direct),
                            ..Value::default()
                        },
                        _ => Value::default(),
                    };
                    return if timeout && name.starts_with("wait_timeout") {
                        Value::of(Ty::Tuple(vec![guard.ty.clone(), Ty::Unknown]))
                            .with_temp(guard.temp)
                    } else {
                        guard
                    };
                }
                if matches!(name, "notify_one" | "notify_all") {
                    lower_args(self, out);
                    let obj = self.object(&receiver, receiver_span, kind);
                    self.push(out, EventKind::Notify { obj }, span);
                    return Value::default();
                }
            }
            Ty::Sync(kind @ ObjKind::Barrier { .. }) if name == "wait" => {
                let obj = self.object(&receiver, receiver_span, kind);
                self.push(
                    out,
                    EventKind::Wait {
                        obj,
                        kind: WaitKind::Barrier,
                        timeout: false,
                    },
                    span,
                );
                return Value::default();
            }
            // `rx.recv_async()` (flume, loole): awaited, it suspends the task until a message
            // comes; it blocks no thread, but it waits for the sender as a `recv()` does.
            Ty::Sync(ObjKind::Receiver) if name == "recv_async" && args.is_empty() => {
                self.push(out, EventKind::Synchronize, span);
                return Value::default();
            }
            // `rx.iter()`: the messages, received as the iterator is consumed.
            Ty::Sync(ObjKind::Receiver) if matches!(name, "iter" | "into_iter") => {
                lower_args(self, out);
                let obj = self.object(&receiver, receiver_span, ObjKind::Receiver);
                return Value::of(Ty::Drain(obj));
            }
            Ty::Drain(obj) => {
                lower_args(self, out);
                return match name {
                    // Adapters that pass every message on.
                    "map" | "filter" | "filter_map" | "enumerate" | "inspect" | "cloned"
                    | "copied" | "flatten" | "flat_map" | "peekable" | "by_ref" | "skip"
                    | "step_by" | "chain" => Value::of(Ty::Drain(obj)),
                    // Consumed to the end: every sender has been dropped.
                    "sum" | "product" | "count" | "collect" | "for_each" | "try_for_each"
                    | "last" | "max" | "min" | "max_by" | "max_by_key" | "min_by"
                    | "min_by_key" | "fold" | "try_fold" | "reduce" | "partition" | "unzip" => {
                        self.receive_all(obj, span, out);
                        Value::default()
                    }
                    // `take(n)`, `next()`, `find(..)`: some messages, then the function goes
                    // on while the senders may still run; not a hand-shake with them.
                    _ => Value::default(),
                };
            }
            Ty::Sync(ObjKind::Receiver)
                if matches!(name, "recv" | "recv_timeout" | "recv_deadline") =>
            {
                lower_args(self, out);
                let obj = self.object(&receiver, receiver_span, ObjKind::Receiver);
                let timeout = name != "recv";
                let what = format!("{name}()");
                self.push(
                    out,
                    EventKind::Blocking {
                        kind: BlockingKind::Recv,
                        obj: Some(obj),
                        timeout,
                        what,
                    },
                    span,
                );
                self.push(out, EventKind::Synchronize, span);
                return Value::default();
            }
            // `tx.send(v)` on a bounded channel waits for room; `try_send` does not.
            Ty::Sync(ObjKind::BoundedSender)
                if matches!(name, "send" | "send_timeout" | "send_deadline") =>
            {
                lower_args(self, out);
                let obj = self.object(&receiver, receiver_span, ObjKind::BoundedSender);
                // One of the first messages into a channel this function just made, sent
                // once (not in a loop): it fits, so the send cannot wait.
                if let Some(Place::Key(key)) = &receiver.place {
                    let alone = self.repetition == 0 && !self.escaped.contains(key);
                    match self.room.get_mut(key) {
                        Some(left) if *left > 0 && alone => {
                            *left -= 1;
                            self.push(out, EventKind::Notify { obj }, span);
                            return Value::default();
                        }
                        Some(_) => {
                            self.room.remove(key);
                        }
                        None => {}
                    }
                }
                self.push(
                    out,
                    EventKind::Blocking {
                        kind: BlockingKind::Send,
                        obj: Some(obj),
                        timeout: name != "send",
                        what: format!("{name}()"),
                    },
                    span,
                );
                return Value::default();
            }
            // A message on an unbounded channel: it never waits, and wakes the thread blocked
            // in `recv()`: a signal to it.
            Ty::Sync(ObjKind::Sender) if name == "send" => {
                lower_args(self, out);
                let obj = self.object(&receiver, receiver_span, ObjKind::Sender);
                self.push(out, EventKind::Notify { obj }, span);
                return Value::default();
            }
            // Closing a channel wakes every thread blocked on it (a `send` into a full channel,
            // a `recv` on an empty one) with an error: a signal to them.
            Ty::Sync(kind @ (ObjKind::Receiver | ObjKind::BoundedSender | ObjKind::Sender))
                if name == "close" =>
            {
                let obj = self.object(&receiver, receiver_span, kind);
                self.push(out, EventKind::Notify { obj }, span);
                return Value::default();
            }
            // `handle.abort()`: the spawned task is cancelled at its next `.await`.
            Ty::Sync(ObjKind::Future) if name == "abort" && args.is_empty() => {
                let obj = self.object(&receiver, receiver_span, ObjKind::Future);
                self.push(out, EventKind::Shutdown { obj }, span);
                return Value::default();
            }
            Ty::Sync(kind @ ObjKind::Thread { .. }) if name == "join" => {
                let obj = self.object(&receiver, receiver_span, kind);
                if let Some(site) = receiver.spawn {
                    // `thread::spawn(..).join()`: the handle of that start.
                    escape::link_spawn(out, site, obj);
                }
                let what = "join()".to_string();
                self.push(
                    out,
                    EventKind::Blocking {
                        kind: BlockingKind::Join,
                        obj: Some(obj),
                        timeout: false,
                        what,
                    },
                    span,
                );
                self.push(out, EventKind::Synchronize, span);
                return Value::default();
            }
            Ty::ThreadBuilder => match name {
                "spawn" | "spawn_unchecked" => {
                    self.spawn(args.first().copied(), span, Vec::new(), false, out, depth);
                    self.push(out, EventKind::ThreadStart { obj: None }, span);
                    return Value::new_thread(span);
                }
                "spawn_scoped" => {
                    let values: Vec<&'a Expr> = args.to_vec();
                    if let Some(scope) = values.first() {
                        self.expr(scope, out, depth + 1);
                    }
                    let target =
                        self.spawn(values.get(1).copied(), span, Vec::new(), false, out, depth);
                    return self.scoped_thread(target, span, out);
                }
                _ => {
                    lower_args(self, out);
                    return Value::of(Ty::ThreadBuilder);
                }
            },
            Ty::ThreadScope if name == "spawn" => {
                let target = self.spawn(
                    args.first().copied(),
                    span,
                    vec![Ty::ThreadScope],
                    false,
                    out,
                    depth,
                );
                return self.scoped_thread(target, span, out);
            }
            // `flag.store(true, ..)`: a write other threads see (a signal, a counter).
            Ty::Sync(ObjKind::Atomic) if names::is_atomic_write(name) => {
                let first_load = self.atomic_loads.len();
                lower_args(self, out);
                let obj = self.object(&receiver, receiver_span, ObjKind::Atomic);
                let target = self.text(receiver_span).to_string();
                // `x.store(x.load(o) + 1, o)`: the stored value is computed from a load of
                // the same atomic, a read and a write other threads can come between.
                let value = args.first().map(|value| self.expr_span(value));
                let read_modify_write = name == "store"
                    && value.is_some_and(|value| {
                        self.atomic_loads[first_load..]
                            .iter()
                            .any(|&(load, read)| read == obj && value.contains(load))
                    });
                self.push(
                    out,
                    EventKind::SharedWrite {
                        target,
                        obj: Some(obj),
                        read_modify_write,
                        key: None,
                        atomic: Some(atomic_write(name, args.first().copied())),
                    },
                    span,
                );
                return Value::default();
            }
            Ty::Sync(ObjKind::Atomic) if name == "load" => {
                lower_args(self, out);
                let obj = self.object(&receiver, receiver_span, ObjKind::Atomic);
                self.atomic_loads.push((span, obj));
                return Value::default();
            }
            Ty::Struct(class) | Ty::Project(class) => {
                // A method of an `impl` in this file (of another file's type too).
                let short = class.rsplit("::").next().unwrap_or(&class).to_string();
                if let Some(callee) = self.method_of(&short, name) {
                    let values = lower_args(self, out);
                    self.escape_all(&values);
                    self.hand_over(args.iter().copied(), &values, out);
                    return self.call_local(callee, span, out);
                }
            }
            // Methods of the protected data (`guard.push(x)`): auto-deref.
            Ty::Guard(lock, inner) if !guard_wrapper(name) => {
                let data = Value::of(*inner);
                let value =
                    self.method_semantics(data, name, args, span, receiver_span, None, out, depth);
                // An object the call made of the data (a `Receiver` it blocks on) is the lock's.
                let display = self.text(receiver_span);
                let key = ObjKey::Other(format!("{display}@{}", receiver_span.start));
                if let (Some(lock), Some(&id)) = (lock, self.object_by_key.get(&key)) {
                    self.objects[id.0 as usize].guarded_by = Some(lock);
                }
                return value;
            }
            _ => {}
        }
        // Work handed to a pool or runtime runs elsewhere (`pool.spawn(..)`, `rt.spawn(..)`).
        if matches!(
            name,
            "spawn" | "spawn_blocking" | "spawn_local" | "spawn_fifo" | "execute"
        ) && args
            .first()
            .is_some_and(|a| matches!(a, Expr::Closure(_) | Expr::Async(_)))
        {
            if matches!(name, "spawn" | "spawn_local") {
                self.fns[self.current.0 as usize].spawns_tasks = true;
            }
            // `rt.spawn(async { .. })`: a task; `pool.spawn(|| ..)`: a job for a thread.
            let task = matches!(name, "spawn" | "spawn_local")
                && args.first().is_some_and(|a| matches!(a, Expr::Async(_)));
            let target = self.spawn(args.first().copied(), span, Vec::new(), true, out, depth);
            for arg in args.iter().skip(1) {
                self.expr(arg, out, depth + 1);
            }
            self.push(out, EventKind::Submit { target, task }, span);
            return Value::default();
        }
        // `builder.spawn(..).map(|_| ())`: the closure throws the new handle away, which
        // detaches the thread, as `let _ = thread::spawn(..)` does.
        if receiver.spawn.is_some() && matches!(name, "map" | "and_then") {
            if let [Expr::Closure(closure)] = args {
                if closure.inputs.len() == 1 && matches!(closure.inputs[0], syn::Pat::Wild(_)) {
                    self.discard(&receiver, out);
                    let _ = self.inline_closure(closure, &[], out, depth);
                    return Value::default();
                }
            }
        }
        // Closures given to iterator adaptors and friends run here, now.
        let element = match (&receiver.ty, name) {
            (Ty::Seq(t) | Ty::Iter(t) | Ty::Opt(t), _) => Some((**t).clone()),
            (ty, "with" | "with_borrow" | "with_borrow_mut") => Some(ty.clone()),
            _ => None,
        };
        let mut values = Vec::new();
        // What `map`'s closure makes of each item (`|_| thread::spawn(..)`).
        let mut mapped = Ty::Unknown;
        for arg in args {
            match arg {
                // A `move` closure given to a method that is not a combinator known to call it
                // at once (`src.periodic_access(move || ..)`, a builder's callback) is kept to
                // run later or elsewhere, as one given to a function is.
                Expr::Closure(closure)
                    if closure.capture.is_some()
                        && element.is_none()
                        && !calls_closure_now(name) =>
                {
                    let value = match self.new_closure(arg, Vec::new()) {
                        Some(id) => Value::of(Ty::Callable(id)),
                        None => Value::default(),
                    };
                    values.push(value);
                }
                Expr::Closure(closure) => {
                    let hints = element.clone().map(|t| vec![t]).unwrap_or_default();
                    // An adaptor's closure may run once per item.
                    self.repetition += 1;
                    let returned = self.inline_closure(closure, &hints, out, depth);
                    self.repetition -= 1;
                    if name == "map" {
                        mapped = returned;
                    }
                    values.push(Value::default());
                }
                other => values.push(self.expr(other, out, depth + 1)),
            }
        }
        self.escape_all(&values);
        self.escape_moved_guards(args.iter().copied(), &values);
        if name == "push" {
            self.note_item(&receiver, receiver_span, &values);
        }
        // A handle pushed into a collection nothing reads is dropped with it.
        if matches!(name, "push" | "push_back") {
            let collection = self.text(receiver_span).to_string();
            if self.unread.contains(&collection) {
                for value in &values {
                    self.discard_into(value, &collection, out);
                }
            }
        }
        if matches!(
            name,
            "elapsed" | "duration_since" | "saturating_duration_since"
        ) {
            return Value::of(Ty::Clock);
        }
        // `rx.recv()` on a receiver whose type the model does not know (a generic
        // `S::Receiver`, a crate's own channel, a wrapper of one): a channel's receive, which
        // waits for another thread's send. A socket's `recv` takes a buffer.
        let receives = matches!(
            (name, values.len()),
            ("recv" | "blocking_recv", 0) | ("recv_timeout", 1)
        ) && matches!(receiver.ty, Ty::Unknown | Ty::Project(_));
        if name == "block_on" || receives {
            // `runtime.block_on(fut)`, like `futures::executor::block_on(fut)`.
            self.push(out, EventKind::Synchronize, span);
        } else if let Ty::Project(class) = &receiver.ty {
            // A method of a type of another file of the crate: resolved in the whole-program
            // pass, which knows what it acquires.
            let callee = format!("{class}::{name}");
            self.push(out, EventKind::ExternalCall { callee }, span);
            // One that waits for another thread (the crate's own latch or queue).
            self.lookups.borrow_mut().insert(class.clone());
            if self
                .index
                .is_some_and(|index| index.class_method_waits(class, name))
            {
                self.push(out, EventKind::Synchronize, span);
            }
        }
        // Handles made item by item (`(0..n).map(|_| thread::spawn(..))`): an iterator of them,
        // which `collect()` gathers (`for h in handles { h.join() }`).
        if matches!(mapped, Ty::Sync(ObjKind::Thread { .. } | ObjKind::Future)) {
            return Value::of(Ty::Iter(Box::new(mapped)));
        }
        transform(&receiver, name)
    }

    /// `handles.push(handle)` into a local collection whose items were not known: from here
    /// on its items are handles (`for h in handles { h.join() }`).
    fn note_item(&mut self, collection: &Value, span: Span, values: &[Value]) {
        let [item] = values else { return };
        if !matches!(collection.ty, Ty::Unknown | Ty::Seq(_))
            || !matches!(item.ty, Ty::Sync(ObjKind::Thread { .. } | ObjKind::Future))
        {
            return;
        }
        let local = self.text(span).to_string();
        if let Some(binding) = self.lookup_mut(&local) {
            if matches!(binding.value.ty, Ty::Unknown | Ty::Seq(_)) {
                binding.value.ty = Ty::Seq(Box::new(item.ty.clone()));
            }
        }
    }

    // -------------------------------------------------------------------------- control flow
}

/// Methods of the standard library that call the closure they are given before they return
/// (iterator adaptors, `Option`/`Result` combinators, entry and cell initialisers).
fn calls_closure_now(name: &str) -> bool {
    matches!(
        name,
        "map"
            | "map_err"
            | "map_or"
            | "map_or_else"
            | "and_then"
            | "or_else"
            | "unwrap_or_else"
            | "ok_or_else"
            | "filter"
            | "filter_map"
            | "flat_map"
            | "for_each"
            | "try_for_each"
            | "fold"
            | "try_fold"
            | "any"
            | "all"
            | "find"
            | "find_map"
            | "position"
            | "inspect"
            | "scan"
            | "take_while"
            | "skip_while"
            | "map_while"
            | "retain"
            | "retain_mut"
            | "sort_by"
            | "sort_by_key"
            | "sort_unstable_by"
            | "sort_unstable_by_key"
            | "max_by_key"
            | "min_by_key"
            | "max_by"
            | "min_by"
            | "or_insert_with"
            | "or_insert_with_key"
            | "get_or_insert_with"
            | "get_or_init"
            | "get_or_try_init"
            | "with"
            | "with_borrow"
            | "with_borrow_mut"
            | "then"
            | "is_some_and"
            | "is_ok_and"
            | "is_none_or"
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Hint {
    /// `.lock().unwrap()`: a `LockResult`, so a std lock.
    LockResult,
    /// `.lock().await`: an async lock.
    Async,
}

/// `x.lock()` / `x.read()` / `x.write()` with no arguments.
pub(super) fn lock_hint(expr: &Expr, hint: Hint) -> Option<Hint> {
    match expr {
        Expr::MethodCall(call)
            if call.args.is_empty()
                && matches!(
                    call.method.to_string().as_str(),
                    "lock" | "read" | "write" | "try_lock" | "try_read" | "try_write"
                ) =>
        {
            Some(hint)
        }
        _ => None,
    }
}

/// Methods that pass a guard through (`LockResult` / `Option` unwrapping).
pub(super) fn guard_wrapper(name: &str) -> bool {
    matches!(
        name,
        "unwrap"
            | "expect"
            | "unwrap_or_else"
            | "unwrap_unchecked"
            | "ok"
            | "into_ok"
            | "unwrap_or_default"
    )
}

/// What a method that is not a concurrency operation gives back.
pub(super) fn transform(receiver: &Value, name: &str) -> Value {
    let keep = || Value {
        place: receiver.place.clone(),
        ty: receiver.ty.clone(),
        temp: receiver.temp,
        spawn: None,
        def: receiver.def,
        fresh: receiver.fresh,
    };
    let unwrap = |inner: &Ty| Value {
        place: receiver.place.clone(),
        ty: inner.clone(),
        def: receiver.def,
        ..Value::default()
    };
    match (&receiver.ty, name) {
        (_, _)
            if guard_wrapper(name)
                && (receiver.temp.is_some() || matches!(receiver.ty, Ty::Guard(..))) =>
        {
            keep()
        }
        (Ty::Opt(inner), "unwrap" | "expect" | "unwrap_unchecked") => unwrap(inner),
        // `Builder::spawn(..).unwrap()`: the handle of that start.
        (Ty::Sync(ObjKind::Thread { .. }), _)
            if guard_wrapper(name) && receiver.spawn.is_some() =>
        {
            Value {
                spawn: receiver.spawn,
                ..keep()
            }
        }
        (
            Ty::Opt(_),
            "take" | "as_ref" | "as_mut" | "as_deref" | "as_deref_mut" | "clone" | "cloned"
            | "copied" | "replace",
        ) => Value {
            temp: None,
            ..keep()
        },
        (Ty::Once(inner), "get" | "get_mut") => Value {
            ty: Ty::Opt(inner.clone()),
            ..unwrap(inner)
        },
        (Ty::Once(inner), "get_or_init" | "get_or_try_init" | "wait" | "force") => unwrap(inner),
        (
            Ty::Seq(inner) | Ty::Iter(inner),
            "iter" | "iter_mut" | "into_iter" | "drain" | "rev" | "skip" | "take" | "filter"
            | "chain" | "by_ref",
        ) => Value::of(Ty::Iter(inner.clone())),
        (
            Ty::Seq(inner) | Ty::Iter(inner),
            "first" | "last" | "get" | "get_mut" | "pop" | "pop_front" | "pop_back" | "next"
            | "first_mut" | "last_mut",
        ) => Value::of(Ty::Opt(inner.clone())),
        (Ty::Seq(inner), "remove" | "swap_remove") => Value::of((**inner).clone()),
        (Ty::Iter(inner), "collect") => Value::of(Ty::Seq(inner.clone())),
        (
            Ty::Lock(..)
            | Ty::Sync(_)
            | Ty::Struct(_)
            | Ty::Project(_)
            | Ty::Tuple(_)
            | Ty::Seq(_)
            | Ty::Once(_),
            "clone" | "as_ref" | "borrow" | "deref" | "to_owned" | "as_deref" | "by_ref",
        ) => Value {
            temp: None,
            ..keep()
        },
        _ => Value::default(),
    }
}

/// How the atomic method `name` writes; `value`: its first argument.
fn atomic_write(name: &str, value: Option<&Expr>) -> AtomicWrite {
    match name {
        "store" => AtomicWrite::Store {
            constant: value.is_some_and(is_literal),
        },
        "swap" => AtomicWrite::Swap,
        _ if names::is_compare_and_swap(name) => AtomicWrite::CompareExchange,
        _ => AtomicWrite::Arithmetic,
    }
}

/// A literal, possibly negated or parenthesised (`true`, `0`, `-1`).
fn is_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(_) => true,
        Expr::Unary(unary) => is_literal(&unary.expr),
        Expr::Paren(paren) => is_literal(&paren.expr),
        Expr::Group(group) => is_literal(&group.expr),
        _ => false,
    }
}
