//! Pass 3, expressions and calls: the event each call is (acquire, wait, sleep, blocking call,
//! call of a function of this or another module, ...).

use super::*;

impl<'a> Lowerer<'a> {
    pub(super) fn lower_expr(
        &mut self,
        function: FnId,
        expr: &'a Expr,
        statement: Option<Span>,
        out: &mut Vec<Node>,
    ) {
        let mut collector = CallCollector {
            calls: Vec::new(),
            depth: 0,
            exceeded: false,
            awaits: Vec::new(),
            awaited: Vec::new(),
            comprehensions: 0,
        };
        collector.visit_expr(expr);
        if collector.exceeded {
            self.depth_exceeded = true;
        }
        let CallCollector {
            calls,
            awaits,
            awaited,
            ..
        } = collector;
        // Calls whose value is a coroutine: awaited, or handed to an `asyncio` function that
        // runs one (`asyncio.wait_for(event.wait(), 5)`).
        self.awaited_calls
            .extend(awaited.iter().map(|range| range.start().to_u32()));
        self.coroutine_calls.clear();
        self.coroutine_calls.extend(awaited);
        for (call, _) in &calls {
            if self
                .qualified_name(&call.func)
                .is_some_and(|q| names::runs_coroutines(&q))
            {
                for arg in &call.arguments.args {
                    if let Expr::Call(inner) = arg {
                        self.coroutine_calls.insert(inner.range());
                    }
                }
            }
        }
        let mut awaits = awaits.into_iter().peekable();
        for (call, in_comprehension) in calls {
            while let Some(a) = awaits.peek() {
                if a.end() <= call.range().start() {
                    out.push(Node::Event(Event {
                        kind: EventKind::Await,
                        span: span(*a),
                        statement: None,
                    }));
                    awaits.next();
                } else {
                    break;
                }
            }
            let whole = statement.filter(|_| call.range() == expr.range());
            self.repeats += usize::from(in_comprehension);
            self.lower_call(function, call, whole, out);
            self.repeats -= usize::from(in_comprehension);
        }
        for a in awaits {
            out.push(Node::Event(Event {
                kind: EventKind::Await,
                span: span(a),
                statement: None,
            }));
        }
    }

    /// The events of one call; a call that is an event itself gets its [`CallSyntax`].
    pub(super) fn lower_call(
        &mut self,
        function: FnId,
        call: &'a ast::ExprCall,
        statement: Option<Span>,
        out: &mut Vec<Node>,
    ) {
        let before = out.len();
        self.call_events(function, call, statement, out);
        let call_span = span(call.range());
        if out[before..]
            .iter()
            .any(|node| matches!(node, Node::Event(event) if event.span == call_span))
        {
            let args = &call.arguments;
            let first = args.args.first().map(Ranged::range);
            let first = first
                .into_iter()
                .chain(args.keywords.first().map(Ranged::range));
            let last = args.args.last().map(Ranged::range);
            let last = last
                .into_iter()
                .chain(args.keywords.last().map(Ranged::range));
            let arguments = first
                .min_by_key(Ranged::start)
                .zip(last.max_by_key(Ranged::end))
                .map(|(first, last)| span(first.cover(last)));
            let method = match &*call.func {
                Expr::Attribute(attribute) => Some(attribute),
                _ => None,
            };
            self.calls.insert(
                call_span,
                CallSyntax {
                    callee: span(call.func.range()),
                    receiver: method.map(|m| span(m.value.range())),
                    method: method.map(|m| span(m.attr.range())),
                    arguments,
                    first_argument: args.args.first().map(|first| span(first.range())),
                    first_variable: match args.args.first() {
                        Some(Expr::Name(name)) => Some(span(name.range())),
                        _ => None,
                    },
                },
            );
        }
    }

    fn call_events(
        &mut self,
        function: FnId,
        call: &'a ast::ExprCall,
        statement: Option<Span>,
        out: &mut Vec<Node>,
    ) {
        let call_span = span(call.range());
        let push = |out: &mut Vec<Node>, kind: EventKind| {
            out.push(Node::Event(Event {
                kind,
                span: call_span,
                statement,
            }));
        };
        let args = &call.arguments;
        if let Expr::Attribute(method) = &*call.func {
            let name = method.attr.id.as_str();
            if self.handshake_wait(function, method, args) {
                push(out, EventKind::Synchronize);
                return;
            }
            if let Some(obj) = self.wakeup(function, method) {
                push(out, EventKind::Notify { obj });
                return;
            }
            if let Some(obj) = self.resolve(function, &method.value) {
                let kind = self.objects[obj.0 as usize].kind;
                let receiver = span(method.value.range());
                // A local future this code completes itself is done from here on.
                if kind == ObjKind::Future
                    && matches!(name, "set_result" | "set_exception")
                    && matches!(self.objects[obj.0 as usize].key, ObjKey::Local { .. })
                {
                    self.done_futures.insert(obj);
                }
                if let (ObjKind::Thread { .. }, "run" | "setDaemon") = (kind, name) {
                    let action = match name {
                        "run" => ThreadAction::Run {
                            arguments: !args.is_empty(),
                        },
                        _ => ThreadAction::SetDaemon,
                    };
                    push(
                        out,
                        EventKind::ThreadControl {
                            obj,
                            action,
                            name: span(method.attr.range()),
                        },
                    );
                    return;
                }
                if kind == ObjKind::Process {
                    // A process that a wait without timeout (or `kill()`) has ended earlier in
                    // this function: waiting for it again returns at once.
                    let ended = self.ended_processes.contains(&(function, obj));
                    if ended && matches!(name, "wait" | "communicate") {
                        return;
                    }
                    if name == "kill" {
                        self.ended_processes.insert((function, obj));
                    }
                }
                if let Some(event) = self.io_method_event(function, kind, name, args, obj) {
                    if let EventKind::Blocking {
                        kind: BlockingKind::Subprocess,
                        timeout: false,
                        ..
                    } = event
                    {
                        self.ended_processes.insert((function, obj));
                    }
                    push(out, event);
                    return;
                }
                if matches!(kind, ObjKind::HttpClient { sync: false, .. }) {
                    // An `httpx.AsyncClient` request is a coroutine: awaited, it blocks nothing.
                    return;
                }
                let done = self.is_done(function, obj);
                if let Some(event) = method_event(kind, name, args, obj, receiver, done) {
                    let synchronizes = matches!(
                        (kind, name),
                        (ObjKind::Thread { .. }, "join")
                            | (ObjKind::Future, "result" | "exception")
                            | (ObjKind::Event | ObjKind::Barrier { .. }, "wait")
                            | (ObjKind::Executor, "shutdown")
                            | (ObjKind::Queue { .. }, "get" | "join")
                    );
                    let only_synchronizes = matches!(event, EventKind::Synchronize);
                    // `await self.ready.wait()`: a `threading` wait cannot be awaited, so here
                    // the object is its `asyncio` counterpart (the attribute was bound again
                    // to an `asyncio.Event`), and the wait suspends the task, not the thread.
                    if matches!(event, EventKind::Wait { .. })
                        && self.coroutine_calls.contains(&call.range())
                    {
                        push(out, EventKind::Synchronize);
                        return;
                    }
                    push(out, event);
                    if synchronizes && !only_synchronizes {
                        push(out, EventKind::Synchronize);
                    }
                    return;
                }
                if kind == ObjKind::Executor
                    && matches!(
                        name,
                        "submit" | "map" | "apply_async" | "imap" | "imap_unordered" | "starmap"
                    )
                {
                    let target = args
                        .find_positional(0)
                        .and_then(|f| self.resolve_function(function, f));
                    if let Some(target) = target.filter(|_| !self.process_pools.contains(&obj)) {
                        // A pool runs its tasks on several threads at once.
                        self.thread_entries.push(ThreadEntry {
                            function: target,
                            site: call_span,
                            repeated: true,
                        });
                    }
                    push(
                        out,
                        EventKind::Submit {
                            target,
                            task: false,
                        },
                    );
                    // `executor.submit(task)` as a statement: the future is dropped at once,
                    // which loses nothing when the task catches every exception itself.
                    let quiet = target.is_some_and(|t| self.catches_everything(t, 0));
                    if name == "submit" && statement.is_some() && !quiet {
                        push(
                            out,
                            EventKind::UncheckedFuture {
                                executor: Some(obj),
                                future: None,
                            },
                        );
                    }
                    return;
                }
            }
            // `threading.Thread(target=f).start()`
            if name == "start" {
                if let Expr::Call(inner) = &*method.value {
                    if let Some(q) = self.qualified_name(&inner.func) {
                        if matches!(names::constructor_kind(&q), Some(ObjKind::Thread { .. })) {
                            // A thread that keeps itself is stored, not dropped.
                            let obj = self.stores_itself(function, inner).then(|| {
                                let at = inner.range().start().to_u32();
                                let key = ObjKey::Other(format!("{q}@{at}"));
                                let display = crate::display::temporary(self.text(inner.range()));
                                let id = self.intern(key, display);
                                self.set_kind(
                                    id,
                                    ObjKind::Thread { daemon: false },
                                    span(inner.range()),
                                );
                                self.escaped.insert(id);
                                id
                            });
                            push(out, EventKind::ThreadStart { obj });
                            return;
                        }
                    }
                }
            }
            // `self.start()` / `self.setDaemon(...)` in a `Thread` subclass that does not
            // define the method itself: the thread starts itself, or sets its own flag.
            if matches!(name, "start" | "setDaemon")
                && self.resolve_method_call(function, method).is_none()
            {
                if let Some(this) = self.own_thread(function, &method.value) {
                    let kind = match name {
                        "start" => EventKind::ThreadStart { obj: Some(this) },
                        _ => EventKind::ThreadControl {
                            obj: this,
                            action: ThreadAction::SetDaemon,
                            name: span(method.attr.range()),
                        },
                    };
                    push(out, kind);
                    return;
                }
            }
            // `self.method(...)` / `Class.method(...)`: a call within the file.
            if let Some(callee) = self.resolve_method_call(function, method) {
                push(out, EventKind::Call { callee });
                return;
            }
            // A method of a class of another module: inherited, or of a held instance.
            if let Some(called) = self.project_method(function, method) {
                push(
                    out,
                    EventKind::ExternalCall {
                        callee: called.callee,
                    },
                );
                if called.waits {
                    push(out, EventKind::Synchronize);
                }
                if called.starts {
                    push(
                        out,
                        EventKind::Submit {
                            target: None,
                            task: false,
                        },
                    );
                }
                return;
            }
        }
        // A function nested in this one (or an enclosing one) hides an import of the same
        // name: `async def sleep(): ...` then `await sleep()`.
        if let Expr::Name(name) = &*call.func {
            if let Some(callee) = self.nested_function(function, name.id.as_str()) {
                push(out, EventKind::Call { callee });
                return;
            }
        }
        let aliased = match &*call.func {
            Expr::Name(name) => self
                .callable_aliases
                .get(&(function, name.id.to_string()))
                .cloned(),
            _ => None,
        };
        if let Some(qualified) = aliased.or_else(|| self.qualified_name(&call.func)) {
            if names::is_sleep(&qualified) {
                push(out, EventKind::Sleep);
                return;
            }
            // `await asyncio.sleep(..)` suspends the task, as `tokio::time::sleep(..).await`
            // does: the same polling loop when it re-checks some state. Not awaited, it does
            // nothing.
            if names::is_async_sleep(&qualified) {
                if self.awaited_calls.contains(&call_span.start) {
                    push(out, EventKind::Sleep);
                }
                return;
            }
            // `httpx.Client(timeout=None)`: the client is an object even where no name holds
            // it, so that TL005 can report the constructor that turned the timeout off.
            if let Some(kind @ ObjKind::HttpClient { .. }) =
                self.constructed_kind(function, &qualified, args)
            {
                let key = ObjKey::Other(format!("{qualified}@{}", call_span.start));
                let id = self.intern(key, crate::display::temporary(self.text(call.range())));
                self.set_kind(id, kind, call_span);
                return;
            }
            // `urlopen("data:,...")`, `urlopen("file://%s" % path)`: no network involved.
            if qualified == "urllib.request.urlopen"
                && args
                    .find_argument_value("url", 0)
                    .and_then(literal_prefix)
                    .is_some_and(|url| {
                        let url = url.trim_start().to_ascii_lowercase();
                        url.starts_with("data:") || url.starts_with("file:")
                    })
            {
                return;
            }
            // `os.waitpid(pid, os.WNOHANG)` returns at once.
            let options = match qualified.as_str() {
                "os.wait3" => Some(0),
                "os.waitpid" | "os.wait4" => Some(1),
                "os.waitid" => Some(2),
                _ => None,
            };
            if options
                .and_then(|position| args.find_argument_value("options", position))
                .is_some_and(|flags| self.has_flag(flags, "os.WNOHANG"))
            {
                return;
            }
            if let Some((mut kind, parameter)) = names::blocking_function(&qualified) {
                // `os.spawnl(os.P_NOWAIT, ...)` starts the process and returns its id.
                if kind == BlockingKind::ProcessWait
                    && qualified.starts_with("os.spawn")
                    && args.find_positional(0).is_some_and(|mode| {
                        self.has_flag(mode, "os.P_NOWAIT") || self.has_flag(mode, "os.P_NOWAITO")
                    })
                {
                    kind = BlockingKind::Spawn;
                }
                let timeout = parameter.is_some_and(|parameter| {
                    self.timeout_given(function, args, parameter)
                        .unwrap_or_else(|| names::has_default_timeout(&qualified))
                });
                let synchronizes =
                    matches!(kind, BlockingKind::FuturesWait | BlockingKind::AsCompleted);
                push(
                    out,
                    EventKind::Blocking {
                        kind,
                        obj: None,
                        timeout,
                        what: qualified.clone(),
                    },
                );
                if synchronizes {
                    push(out, EventKind::Synchronize);
                }
                return;
            }
            if let Some(ObjKind::Thread { .. }) = self.constructed_kind(function, &qualified, args)
            {
                let repeated = self.repeats > 0;
                if let Some(&class) = self.class_by_name.get(&qualified) {
                    self.thread_instantiations.push((class, repeated));
                }
                if self.stores_itself(function, call) {
                    self.self_storing_threads.insert(call_span);
                }
                // `Thread(target=f)`: `f` runs on the new thread.
                if let Some(target) = args.find_argument_value("target", 1) {
                    if let Some(target) = self.resolve_function(function, target) {
                        self.thread_entries.push(ThreadEntry {
                            function: target,
                            site: call_span,
                            repeated,
                        });
                    }
                }
                return;
            }
        }
        // A function of the file or of the project that only sleeps (`def pause(s):
        // time.sleep(s)`): a call of it sleeps (a coroutine's, where it is awaited).
        let sleeps = |this: &Self, sleeper: Sleeper, out: &mut Vec<Node>| {
            if sleeper == Sleeper::Blocking || this.awaited_calls.contains(&call_span.start) {
                push(out, EventKind::Sleep);
            }
        };
        if let Expr::Name(name) = &*call.func {
            if let Some(callee) = self.resolve_plain_function(function, name.id.as_str()) {
                match self.local_sleeper(callee) {
                    Some(sleeper) => sleeps(self, sleeper, out),
                    None => push(out, EventKind::Call { callee }),
                }
                return;
            }
        }
        if let Some(callee) = self.external_callee(&call.func) {
            match self.project_sleeper(&callee) {
                Some(sleeper) => sleeps(self, sleeper, out),
                None => push(out, EventKind::ExternalCall { callee }),
            }
        }
    }

    /// A request of an HTTP client, `wait()`/`communicate()` of a process, `connect()` of a
    /// socket: the blocking event, with whether a timeout bounds it.
    fn io_method_event(
        &self,
        function: FnId,
        kind: ObjKind,
        name: &str,
        args: &Arguments,
        obj: ObjId,
    ) -> Option<EventKind> {
        let (kind, timeout) = match kind {
            ObjKind::HttpClient {
                sync: true,
                timeout,
            } if names::is_http_method(name) => {
                let given = self.timeout_given(
                    function,
                    args,
                    names::TimeoutParameter {
                        keyword: "timeout",
                        position: usize::MAX,
                    },
                );
                (
                    BlockingKind::Network,
                    given.unwrap_or(timeout == ClientTimeout::Bounded),
                )
            }
            ObjKind::Process if matches!(name, "wait" | "communicate") => {
                let position = usize::from(name != "wait");
                let given = self.timeout_given(
                    function,
                    args,
                    names::TimeoutParameter {
                        keyword: "timeout",
                        position,
                    },
                );
                (BlockingKind::Subprocess, given.unwrap_or(false))
            }
            // Reading or writing a file through its path.
            ObjKind::Path
                if matches!(
                    name,
                    "open" | "read_text" | "read_bytes" | "write_text" | "write_bytes"
                ) =>
            {
                (BlockingKind::FileIo, false)
            }
            ObjKind::Socket if name == "connect" => (
                BlockingKind::Connect,
                self.default_socket_timeout || self.timed_sockets.contains(&obj),
            ),
            _ => return None,
        };
        Some(EventKind::Blocking {
            kind,
            obj: Some(obj),
            timeout,
            what: format!("{name}()"),
        })
    }

    /// `flags` is `flag`, or a bitwise or of flags that has it (`os.WNOHANG | os.WUNTRACED`).
    fn has_flag(&self, flags: &Expr, flag: &str) -> bool {
        match flags {
            Expr::BinOp(binary) if binary.op == ast::Operator::BitOr => {
                self.has_flag(&binary.left, flag) || self.has_flag(&binary.right, flag)
            }
            other => self.qualified_name(other).as_deref() == Some(flag),
        }
    }

    /// Whether a call passes a timeout: `Some(true)` for a real one (or a `**mapping` that may
    /// hold one), `Some(false)` for `None` (or `-1`), `None` when it passes none.
    pub(super) fn timeout_given(
        &self,
        function: FnId,
        args: &Arguments,
        parameter: names::TimeoutParameter,
    ) -> Option<bool> {
        if args
            .find_argument_value(parameter.keyword, parameter.position)
            .is_some()
        {
            return Some(has_real_argument(
                args,
                parameter.keyword,
                parameter.position,
            ));
        }
        let carried = args.keywords.iter().any(|keyword| {
            keyword.arg.is_none() && self.may_carry(function, &keyword.value, parameter.keyword)
        });
        carried.then_some(true)
    }

    /// `**mapping` may pass `keyword`: unless it is a dict display without that key and
    /// without `**` of its own, or a name bound once, to such a display, and never changed.
    fn may_carry(&self, function: FnId, mapping: &Expr, keyword: &str) -> bool {
        match mapping {
            Expr::Dict(dict) => dict.items.iter().any(|item| match &item.key {
                None => true,
                Some(Expr::StringLiteral(key)) => key.value.to_str() == keyword,
                Some(_) => true,
            }),
            Expr::Name(name) => match self.dict_binding(function, name.id.as_str()) {
                Some(dict) => self.may_carry(function, dict, keyword),
                None => true,
            },
            _ => true,
        }
    }

    /// The dict display a name is bound to, when the module binds that name once, to a dict
    /// display, and never stores an item into it or calls a method on it.
    fn dict_binding(&self, _function: FnId, name: &str) -> Option<&'a Expr> {
        let mut finder = DictBinding {
            name,
            value: None,
            bindings: 0,
            changed: false,
        };
        finder.visit_body(self.functions[0].body);
        match finder.value {
            Some(value) if finder.bindings == 1 && !finder.changed => Some(value),
            _ => None,
        }
    }

    /// The object `self` denotes in a method of a `Thread` subclass of this file, when
    /// `receiver` is that `self`: the thread the method runs on behalf of.
    pub(super) fn own_thread(&mut self, function: FnId, receiver: &Expr) -> Option<ObjId> {
        let Expr::Name(name) = receiver else {
            return None;
        };
        if Some(name.id.as_str()) != self.self_name(function) {
            return None;
        }
        let class = self.functions[function.0 as usize].class?;
        if !self.is_thread_class(class, 0) {
            return None;
        }
        self.resolve(function, receiver)
    }

    /// `f` or `self.m` or `Class.m` as a function of this file.
    pub(super) fn resolve_function(&self, function: FnId, expr: &Expr) -> Option<FnId> {
        match expr {
            Expr::Name(name) => self.resolve_plain_function(function, name.id.as_str()),
            Expr::Attribute(method) => self.resolve_method_call(function, method),
            _ => None,
        }
    }

    /// A function defined inside `function` or one of the functions enclosing it.
    pub(super) fn nested_function(&self, function: FnId, name: &str) -> Option<FnId> {
        let mut current = Some(function);
        while let Some(f) = current {
            if let Some(&nested) = self.nested_functions.get(&(f, name.to_string())) {
                return Some(nested);
            }
            current = self.functions[f.0 as usize].parent;
        }
        None
    }

    pub(super) fn resolve_plain_function(&self, function: FnId, name: &str) -> Option<FnId> {
        // A nested function of this one (or of an enclosing one), then a module function.
        let mut current = Some(function);
        while let Some(f) = current {
            if let Some(&nested) = self.nested_functions.get(&(f, name.to_string())) {
                return Some(nested);
            }
            current = self.functions[f.0 as usize].parent;
        }
        self.module_functions.get(name).copied()
    }

    pub(super) fn resolve_method_call(
        &self,
        function: FnId,
        method: &ast::ExprAttribute,
    ) -> Option<FnId> {
        let name = method.attr.id.as_str();
        let own = self.functions[function.0 as usize].class;
        let enclosing = match &*method.value {
            Expr::Name(receiver) if own.is_none() => {
                self.enclosing_self(function, receiver.id.as_str())
            }
            _ => None,
        };
        let class = match &*method.value {
            Expr::Name(receiver)
                if Some(receiver.id.as_str()) == self.self_name(function)
                    || receiver.id.as_str() == "cls" =>
            {
                own?
            }
            Expr::Name(receiver) if self.class_by_name.contains_key(receiver.id.as_str()) => {
                self.class_by_name[receiver.id.as_str()]
            }
            // `self` of the method around a nested function (`def _run():
            // self.run_listeners(m)`): the same instance.
            Expr::Name(_) if enclosing.is_some() => enclosing?,
            // `self.store.put(x)`, `store.put(x)`: a method of an instance of a class of the
            // file. Not for another instance of the method's own class (or a related one):
            // its methods take that instance's locks, which the callee's `self` would confuse
            // with this one's.
            receiver => {
                let class = self.instance_of(function, receiver)?;
                if own.is_some_and(|own| self.related_classes(own, class)) {
                    return None;
                }
                class
            }
        };
        self.method_of(class, name)
    }

    /// The class of the method whose `self` a nested function reaches by `name` (a closure
    /// over the method's receiver), when no function in between binds the name.
    fn enclosing_self(&self, function: FnId, name: &str) -> Option<usize> {
        let mut current = function;
        loop {
            let info = &self.functions[current.0 as usize];
            if info.class.is_some() {
                return (current != function && self.self_name(current) == Some(name))
                    .then_some(info.class)
                    .flatten();
            }
            if info.params.iter().any(|(p, _)| p == name)
                || self.assigned_in(current).contains(name)
            {
                return None;
            }
            current = info.parent?;
        }
    }

    /// The method `name` of `class`: its own, or the first of its bases of this file that has it.
    pub(super) fn method_of(&self, class: usize, name: &str) -> Option<FnId> {
        self.ancestry(class)
            .find_map(|c| self.classes[c].methods.get(name).copied())
    }
}

/// The event for `obj.name(args)` given what `obj` is.
pub(super) fn method_event(
    kind: ObjKind,
    name: &str,
    args: &Arguments,
    obj: ObjId,
    receiver: Span,
    known_done: bool,
) -> Option<EventKind> {
    Some(match (kind, name) {
        (k, "acquire") if k.is_lock_like() => {
            // `multiprocessing` locks spell the keyword `block`.
            let blocking = args
                .find_argument_value("blocking", 0)
                .or_else(|| args.find_keyword("block").map(|k| &k.value));
            let how = if blocking.is_some_and(is_false_literal) {
                AcquireHow::NonBlocking
            } else if has_real_argument(args, "timeout", 1) {
                AcquireHow::Timeout
            } else if blocking
                .is_some_and(|b| !matches!(b, Expr::BooleanLiteral(_) | Expr::NumberLiteral(_)))
            {
                // `acquire(blocking)` with a runtime value: may or may not block.
                AcquireHow::NonBlocking
            } else {
                AcquireHow::Manual
            };
            EventKind::Acquire {
                obj,
                how,
                receiver,
                shared: false,
            }
        }
        (k, "release") if k.is_lock_like() => EventKind::Release { obj },
        // `multiprocessing` pools end with `close()`/`terminate()` and `join()`.
        (ObjKind::Executor, "shutdown" | "close" | "terminate" | "join") => {
            EventKind::Shutdown { obj }
        }
        (ObjKind::Condition { .. }, "wait") => EventKind::Wait {
            obj,
            kind: WaitKind::Condition,
            timeout: has_real_argument(args, "timeout", 0),
        },
        (ObjKind::Condition { .. }, "wait_for") => EventKind::Wait {
            obj,
            kind: WaitKind::ConditionPredicate,
            timeout: has_real_argument(args, "timeout", 1),
        },
        (ObjKind::Condition { .. }, "notify" | "notify_all" | "notifyAll")
        | (ObjKind::Event, "set") => EventKind::Notify { obj },
        (ObjKind::Event, "wait") => EventKind::Wait {
            obj,
            kind: WaitKind::Event,
            timeout: has_real_argument(args, "timeout", 0),
        },
        (ObjKind::Barrier { has_timeout }, "wait") => EventKind::Wait {
            obj,
            kind: WaitKind::Barrier,
            timeout: has_timeout || has_real_argument(args, "timeout", 0),
        },
        (ObjKind::Thread { .. }, "start") => EventKind::ThreadStart { obj: Some(obj) },
        // `timer.cancel()` (a `threading.Timer`, the one thread with `cancel`): the thread
        // stops waiting and ends without running its function.
        (ObjKind::Thread { .. }, "cancel") => EventKind::Shutdown { obj },
        (ObjKind::Thread { .. }, "join") => EventKind::Blocking {
            kind: BlockingKind::Join,
            obj: Some(obj),
            timeout: has_real_argument(args, "timeout", 0),
            what: "join()".into(),
        },
        // Calls that cannot block are not `Blocking`: the result of a future known to be done,
        // `get(block=False)` (which still takes the item: a synchronisation), `put(block=False)`.
        (ObjKind::Future, "result" | "exception") if known_done => EventKind::Synchronize,
        (ObjKind::Queue { .. }, "get")
            if args
                .find_argument_value("block", 0)
                .is_some_and(is_false_literal) =>
        {
            EventKind::Synchronize
        }
        (ObjKind::Queue { .. }, "put")
            if args
                .find_argument_value("block", 1)
                .is_some_and(is_false_literal) =>
        {
            return None
        }
        (ObjKind::Future, "result" | "exception") => EventKind::Blocking {
            kind: BlockingKind::FutureResult,
            obj: Some(obj),
            timeout: has_real_argument(args, "timeout", 0),
            what: format!("{name}()"),
        },
        (ObjKind::Queue { .. }, "get") => EventKind::Blocking {
            kind: BlockingKind::QueueGet,
            obj: Some(obj),
            timeout: has_real_argument(args, "timeout", 1),
            what: "get()".into(),
        },
        (ObjKind::Queue { bounded: true }, "put") => EventKind::Blocking {
            kind: BlockingKind::QueuePut,
            obj: Some(obj),
            timeout: has_real_argument(args, "timeout", 2),
            what: "put()".into(),
        },
        _ => return None,
    })
}

/// The text a string starts with, when the source spells it: a literal, an f-string's first
/// literal part, the format of `"file://%s" % path`.
fn literal_prefix(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringLiteral(literal) => Some(literal.value.to_str().to_string()),
        Expr::FString(fstring) => fstring.value.elements().next().and_then(|element| {
            element
                .as_literal()
                .map(|literal| literal.value.to_string())
        }),
        Expr::BinOp(binary) if binary.op == ast::Operator::Mod => literal_prefix(&binary.left),
        _ => None,
    }
}

/// The argument is passed and is not `None` (nor `-1` for a timeout).
pub(super) fn has_real_argument(args: &Arguments, keyword: &str, position: usize) -> bool {
    args.find_argument_value(keyword, position).is_some_and(|value| {
        !value.is_none_literal_expr()
            && !matches!(value, Expr::UnaryOp(u) if u.op == UnaryOp::USub && matches!(&*u.operand, Expr::NumberLiteral(_)))
    })
}

/// Finds the bindings of one name in a module, and whether anything changes what it holds.
struct DictBinding<'a, 'n> {
    name: &'n str,
    value: Option<&'a Expr>,
    bindings: usize,
    changed: bool,
}

impl<'a> Visitor<'a> for DictBinding<'a, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::Assign(assign) = stmt {
            for target in &assign.targets {
                if matches!(target, Expr::Name(n) if n.id.as_str() == self.name) {
                    self.bindings += 1;
                    if matches!(&*assign.value, Expr::Dict(_)) {
                        self.value = Some(&assign.value);
                    }
                } else {
                    self.visit_expr(target);
                }
            }
            self.visit_expr(&assign.value);
            return;
        }
        ruff_python_ast::visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        let named = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == self.name);
        match expr {
            // Any other binding: `for`, `with ... as`, `:=`, augmented assignment, `global`.
            Expr::Name(n) if n.id.as_str() == self.name && !n.ctx.is_load() => {
                self.bindings += 1;
            }
            Expr::Subscript(item) if named(&item.value) && !item.ctx.is_load() => {
                self.changed = true;
            }
            Expr::Attribute(method) if named(&method.value) => self.changed = true,
            _ => {}
        }
        walk_expr(self, expr);
    }
}

/// Collects the calls of an expression in evaluation order (inner calls first) and its awaits.
pub(super) struct CallCollector<'a> {
    /// Each call, and whether it is inside a comprehension (runs once per item).
    calls: Vec<(&'a ast::ExprCall, bool)>,
    awaits: Vec<TextRange>,
    /// Calls that are the operand of an `await`.
    awaited: Vec<TextRange>,
    depth: usize,
    exceeded: bool,
    comprehensions: usize,
}

impl<'a> Visitor<'a> for CallCollector<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth > MAX_DEPTH {
            self.exceeded = true;
            return;
        }
        match expr {
            // Bodies of lambdas run later, when called.
            Expr::Lambda(_) => {}
            Expr::Call(call) => {
                self.depth += 1;
                walk_expr(self, expr);
                self.depth -= 1;
                self.calls.push((call, self.comprehensions > 0));
            }
            Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {
                self.depth += 1;
                self.comprehensions += 1;
                walk_expr(self, expr);
                self.comprehensions -= 1;
                self.depth -= 1;
            }
            Expr::Await(a) => {
                if let Expr::Call(call) = &*a.value {
                    self.awaited.push(call.range());
                }
                self.depth += 1;
                walk_expr(self, expr);
                self.depth -= 1;
                self.awaits.push(expr.range());
            }
            _ => {
                self.depth += 1;
                walk_expr(self, expr);
                self.depth -= 1;
            }
        }
    }
}
