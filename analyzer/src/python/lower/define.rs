//! Pass 2: what each variable and attribute is bound to (`self._lock = threading.Lock()`,
//! aliases, annotations).

use super::*;

impl<'a> Lowerer<'a> {
    pub(super) fn define_body(&mut self, function: FnId, body: &'a [Stmt], depth: usize) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        for stmt in body {
            self.note_daemon(function, stmt);
            match stmt {
                Stmt::Global(global) => {
                    for name in &global.names {
                        self.functions[function.0 as usize]
                            .globals
                            .insert(name.id.to_string());
                    }
                }
                Stmt::Nonlocal(nonlocal) => {
                    for name in &nonlocal.names {
                        self.functions[function.0 as usize]
                            .globals
                            .insert(name.id.to_string());
                    }
                }
                Stmt::Assign(assign) => {
                    for target in &assign.targets {
                        if let Some((key, _)) = self.target_key(function, target) {
                            self.define_from_value(function, key, &assign.value, target);
                        }
                        // `a, b = Lock(), Lock()`: each name is bound to its own value.
                        if let (Expr::Tuple(names), Expr::Tuple(values)) = (target, &*assign.value)
                        {
                            if names.elts.len() == values.elts.len() {
                                for (name, value) in names.elts.iter().zip(&values.elts) {
                                    if let Some((key, _)) = self.target_key(function, name) {
                                        self.define_from_value(function, key, value, name);
                                    }
                                }
                            }
                        }
                    }
                }
                Stmt::AnnAssign(assign) => {
                    if let Some((key, display)) = self.target_key(function, &assign.target) {
                        if let Some(value) = &assign.value {
                            self.define_from_value(function, key.clone(), value, &assign.target);
                        }
                        if let Some(kind) = self.annotation_kind(&assign.annotation) {
                            let id = self.intern(key, display);
                            self.set_kind(id, kind, span(assign.range));
                        }
                    }
                }
                Stmt::With(with) => {
                    for item in &with.items {
                        if let Some(target) = &item.optional_vars {
                            if let Some((key, _)) = self.target_key(function, target) {
                                self.define_from_value(function, key, &item.context_expr, target);
                            }
                        }
                    }
                    self.define_body(function, &with.body, depth + 1);
                }
                Stmt::For(for_stmt) => {
                    // `for f in futures`, a container built from objects of one kind.
                    if let Some(kind) = self
                        .target_key(function, &for_stmt.iter)
                        .and_then(|(key, _)| self.element_kinds.get(&key).copied())
                    {
                        if let Some((key, display)) = self.target_key(function, &for_stmt.target) {
                            let id = self.intern(key, display);
                            self.set_kind(id, kind, span(for_stmt.target.range()));
                        }
                    }
                    // `for f in as_completed(fs)`: each `f` is a finished future.
                    if let (Expr::Call(call), Expr::Name(_)) = (&*for_stmt.iter, &*for_stmt.target)
                    {
                        let qualified = self.qualified_name(&call.func);
                        if qualified.as_deref() == Some("concurrent.futures.as_completed") {
                            if let Some((key, display)) =
                                self.target_key(function, &for_stmt.target)
                            {
                                let id = self.intern(key, display);
                                self.set_kind(id, ObjKind::Future, span(for_stmt.target.range()));
                                self.done_futures.insert(id);
                            }
                        }
                    }
                    self.define_body(function, &for_stmt.body, depth + 1);
                    self.define_body(function, &for_stmt.orelse, depth + 1);
                }
                Stmt::Expr(statement) => self.note_socket_timeout(function, &statement.value),
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                _ => {
                    for child in child_bodies(stmt) {
                        self.define_body(function, child, depth + 1);
                    }
                }
            }
        }
    }

    /// `sock.settimeout(5)`, `sock.setblocking(False)`, `socket.setdefaulttimeout(5)`: a
    /// later `connect()` of that socket (of every socket) cannot wait forever.
    fn note_socket_timeout(&mut self, function: FnId, expr: &'a Expr) {
        let Expr::Call(call) = expr else { return };
        let argument = call.arguments.find_positional(0);
        let timed = match call.arguments.find_argument_value("timeout", 0) {
            Some(value) => !value.is_none_literal_expr(),
            None => false,
        };
        if self.qualified_name(&call.func).as_deref() == Some("socket.setdefaulttimeout") {
            self.default_socket_timeout |= timed;
            return;
        }
        let Expr::Attribute(method) = &*call.func else {
            return;
        };
        let bounds = match method.attr.id.as_str() {
            "settimeout" => argument.is_some_and(|value| !value.is_none_literal_expr()),
            "setblocking" => argument.is_some_and(is_false_literal),
            _ => false,
        };
        if bounds {
            if let Some(socket) = self.resolve(function, &method.value) {
                self.timed_sockets.insert(socket);
            }
        }
    }

    /// The kind of every element of a list, tuple or comprehension made of objects of one
    /// kind: futures (`pool.submit(..)`), events, queues, barriers. Locks and conditions are
    /// not typed as such (one object would stand for several locks, which must not look
    /// re-entered): a container made of them per key or slot has `UntypedLock` elements, whose
    /// re-entry is not judged. Threads and executors are left out, their starts and shutdowns
    /// being followed one by one.
    fn element_kind(&mut self, function: FnId, value: &Expr) -> Option<ObjKind> {
        // Locks made per key or per slot (`defaultdict(threading.RLock)`, `{k: Lock() for k
        // in ks}`, `[Lock() for _ in range(n)]`): one object stands for all of them, so it is
        // a lock whose re-entry is not known (two keys' locks would look re-entered).
        if self
            .lock_elements(function, value)
            .is_some_and(ObjKind::is_lock_like)
        {
            return Some(ObjKind::UntypedLock);
        }
        let elements: Vec<&Expr> = match value {
            Expr::List(list) => list.elts.iter().collect(),
            Expr::Tuple(tuple) => tuple.elts.iter().collect(),
            Expr::ListComp(comp) => vec![&*comp.elt],
            _ => return None,
        };
        let mut kinds = elements.iter().map(|element| {
            let Expr::Call(call) = element else {
                return None;
            };
            if self.submits_to_pool(function, call) {
                return Some(ObjKind::Future);
            }
            let qualified = self.qualified_name(&call.func)?;
            self.constructed_kind(function, &qualified, &call.arguments)
        });
        let first = kinds.next()??;
        let element = matches!(
            first,
            ObjKind::Future | ObjKind::Event | ObjKind::Queue { .. } | ObjKind::Barrier { .. }
        );
        (element && kinds.all(|kind| kind == Some(first))).then_some(first)
    }

    /// The kind of the objects a container of one made per key or per slot holds:
    /// `defaultdict(threading.Lock)` (or a lambda making one), a dict or list comprehension
    /// of one constructor.
    fn lock_elements(&mut self, function: FnId, value: &Expr) -> Option<ObjKind> {
        let made = |this: &mut Self, element: &Expr| {
            let Expr::Call(call) = element else {
                return None;
            };
            let qualified = this.qualified_name(&call.func)?;
            this.constructed_kind(function, &qualified, &call.arguments)
        };
        match value {
            Expr::Call(call) => {
                let qualified = self.qualified_name(&call.func)?;
                if qualified != "collections.defaultdict" {
                    return None;
                }
                match call.arguments.find_positional(0)? {
                    Expr::Lambda(lambda) => made(self, &lambda.body),
                    factory => {
                        let qualified = self.qualified_name(factory)?;
                        names::constructor_kind(&qualified)
                    }
                }
            }
            Expr::DictComp(comp) => made(self, &comp.value),
            Expr::ListComp(comp) => made(self, &comp.elt),
            _ => None,
        }
    }

    /// `target = value`: records what `target` is when `value` creates or names an object.
    pub(super) fn define_from_value(
        &mut self,
        function: FnId,
        key: ObjKey,
        value: &Expr,
        target: &Expr,
    ) {
        let display = self.text(target.range()).to_string();
        if let Some(kind) = self.element_kind(function, value) {
            self.element_kinds.insert(key, kind);
            return;
        }
        match value {
            Expr::Call(call) => {
                if let Some(qualified) = self.qualified_name(&call.func) {
                    if let Some(kind) = self.constructed_kind(function, &qualified, &call.arguments)
                    {
                        let owner = match &key {
                            ObjKey::Local { function, .. } => Some(*function),
                            _ => None,
                        };
                        let id = self.intern(key, display);
                        self.set_kind(id, kind, span(call.range()));
                        if let Some(owner) = owner {
                            self.fresh.insert(id);
                            self.fresh_in.insert(owner);
                            self.fresh_in.insert(function);
                        }
                        if names::is_process_pool(&qualified) {
                            self.process_pools.insert(id);
                        }
                        return;
                    }
                }
                // `q = Queue()` with `Queue` a class of this file.
                if let Some(&class) = self
                    .qualified_name(&call.func)
                    .and_then(|q| self.class_by_name.get(&q))
                {
                    self.file_instances.insert(key, class);
                    return;
                }
                // `self.pool = Pool()` with `Pool` a class of another module of the project.
                let imported = self.qualified_name(&call.func).filter(|q| {
                    !self.class_by_name.contains_key(q) && !names::is_standard_library(q)
                });
                if let Some(imported) = imported {
                    self.lookups.borrow_mut().insert(imported.clone());
                    if let Some((class, _)) = self.index.and_then(|index| index.class(&imported)) {
                        self.instance_types.insert(key, class);
                        return;
                    }
                }
                // `lock = make_lock()`: a factory of this file or another module.
                if let Some(kind) = self.factory_kind(function, &call.func) {
                    let id = self.intern(key, display);
                    self.set_kind(id, kind, span(call.range()));
                    return;
                }
                // `f = executor.submit(...)`: a future.
                if self.submits_to_pool(function, call) {
                    let id = self.intern(key, display);
                    self.set_kind(id, ObjKind::Future, span(call.range()));
                }
            }
            Expr::Name(_) if self.instance_of(function, value).is_some() => {
                if let Some(class) = self.instance_of(function, value) {
                    self.file_instances.insert(key, class);
                }
            }
            Expr::Attribute(_) if self.instance_of(function, value).is_some() => {
                if let Some(class) = self.instance_of(function, value) {
                    self.file_instances.insert(key, class);
                }
            }
            Expr::Name(name) => {
                // `self.registry = registry` with `registry: Registry` a parameter annotated
                // with a class of another module: the attribute holds an instance of it.
                if let Some(class) = self.annotated_project_class(function, name.id.as_str()) {
                    self.instance_types.insert(key, class);
                    return;
                }
                self.define_alias(function, key, value);
            }
            Expr::Attribute(_) => self.define_alias(function, key, value),
            _ => {}
        }
    }

    /// The project class (absolute) a parameter of `function` is annotated with, when it is one
    /// of another module (`registry: Registry`, `registry: "Registry"`).
    fn annotated_project_class(&self, function: FnId, name: &str) -> Option<String> {
        let info = &self.functions[function.0 as usize];
        let annotation = info.params.iter().find(|(n, _)| n == name)?.1?;
        let qualified = match annotation {
            Expr::StringLiteral(s) => {
                let text = s.value.to_str();
                self.imports
                    .get(text)
                    .cloned()
                    .unwrap_or_else(|| text.to_string())
            }
            other => self.qualified_name(other)?,
        };
        if self.class_by_name.contains_key(&qualified) || names::is_standard_library(&qualified) {
            return None;
        }
        self.lookups.borrow_mut().insert(qualified.clone());
        Some(self.index?.class(&qualified)?.0)
    }

    /// `lock = self._lock`: a local name for an object.
    fn define_alias(&mut self, function: FnId, key: ObjKey, value: &Expr) {
        match value {
            Expr::Name(_) | Expr::Attribute(_) => {
                // `s = time.sleep`: a local name for a library function; calls of `s` are
                // calls of it.
                if let ObjKey::Local { function: f, name } = &key {
                    if let Some(qualified) = self
                        .qualified_name(value)
                        .filter(|q| names::is_sleep(q) || names::blocking_function(q).is_some())
                    {
                        self.callable_aliases.insert((*f, name.clone()), qualified);
                        return;
                    }
                }
                // An alias of a local name: `lock = self._lock` makes `lock` that object.
                if let ObjKey::Local { function: f, name } = &key {
                    if let Some(existing) = self.resolve(function, value) {
                        if self.objects[existing.0 as usize].kind != ObjKind::Unknown {
                            self.functions[f.0 as usize]
                                .locals
                                .insert(name.clone(), existing);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
