//! What a name, an attribute or a call denotes: the object table, imports and the project
//! index, kinds from constructors, annotations and factories.

use super::syntax::after_docstring;
use super::*;

impl<'a> Lowerer<'a> {
    /// The fully qualified name an expression refers to through the file's imports
    /// (`th.Lock` -> `threading.Lock`), or a class/function of this file by its own name.
    pub(super) fn qualified_name(&self, expr: &Expr) -> Option<String> {
        // Built in one buffer: one allocation for `a.b.c.d`, not one per level.
        let mut name = String::new();
        self.qualified_into(expr, &mut name).then_some(name)
    }

    /// Appends the qualified name of `expr` to `out`; false when it has none (`out` is then
    /// left in any state).
    fn qualified_into(&self, expr: &Expr, out: &mut String) -> bool {
        match expr {
            Expr::Name(name) => {
                let id = name.id.as_str();
                let base = if let Some(full) = self.imports.get(id) {
                    full.as_str()
                } else if matches!(id, "input" | "open") && !self.module_functions.contains_key(id)
                {
                    // The builtins, unless the module defines its own.
                    id
                } else if self.class_by_name.contains_key(id) {
                    id
                } else {
                    return false;
                };
                out.push_str(base);
                true
            }
            Expr::Attribute(attr) => {
                if !self.qualified_into(&attr.value, out) {
                    return false;
                }
                out.push('.');
                out.push_str(attr.attr.id.as_str());
                true
            }
            _ => false,
        }
    }

    pub(super) fn intern(&mut self, key: ObjKey, display: String) -> ObjId {
        if let Some(&id) = self.object_by_key.get(&key) {
            return id;
        }
        let id = ObjId(self.objects.len() as u32);
        self.objects.push(SyncObject::new(key.clone(), display));
        self.object_by_key.insert(key, id);
        id
    }

    pub(super) fn set_kind(&mut self, id: ObjId, kind: ObjKind, def: Span) {
        let object = &mut self.objects[id.0 as usize];
        if object.kind == ObjKind::Unknown {
            object.kind = kind;
            object.def = Some(def);
        }
    }

    pub(super) fn text(&self, range: TextRange) -> &'a str {
        let source: &'a str = self.source;
        source
            .get(range.start().to_usize()..range.end().to_usize())
            .unwrap_or("")
    }

    pub(super) fn self_name(&self, function: FnId) -> Option<&str> {
        let info = &self.functions[function.0 as usize];
        info.class?;
        let def = info.def?;
        let is_static = def
            .decorator_list
            .iter()
            .any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "staticmethod"));
        if is_static {
            return None;
        }
        info.params.first().map(|(name, _)| name.as_str())
    }

    /// The class that defines `attr` for instances of `class`: the class itself or the first
    /// base class of this file that has it.
    pub(super) fn defining_class(&self, class: usize, attr: &str) -> String {
        self.ancestry(class)
            .map(|c| &self.classes[c].name)
            .find(|name| {
                self.object_by_key.contains_key(&ObjKey::Member {
                    class: (*name).clone(),
                    attr: attr.to_string(),
                })
            })
            .unwrap_or(&self.classes[class].name)
            .clone()
    }

    /// `name` is bound once in `function`, to a new instance of a class of the project
    /// (`timer = Timeout(t)`), and used only to call its methods (`timer.expired()`): not
    /// passed, stored, returned or captured, so no other thread can reach it.
    pub(super) fn private_instance(&self, function: FnId, name: &str) -> bool {
        struct Uses<'n> {
            name: &'n str,
            /// Every `Name` node of the name, and those that are a method call's receiver.
            all: usize,
            receivers: usize,
            bindings: Vec<&'n Expr>,
            depth: usize,
            /// Inside a nested function, class or lambda: a use there is a capture.
            nested: usize,
            captured: bool,
        }
        impl<'n> Visitor<'n> for Uses<'n> {
            fn visit_stmt(&mut self, stmt: &'n Stmt) {
                if self.depth > MAX_DEPTH {
                    return;
                }
                let nests = matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_));
                if nests {
                    self.nested += 1;
                    self.depth += 1;
                    ruff_python_ast::visitor::walk_stmt(self, stmt);
                    self.depth -= 1;
                    self.nested -= 1;
                    return;
                }
                if let Stmt::Assign(assign) = stmt {
                    if let [Expr::Name(target)] = assign.targets.as_slice() {
                        if target.id.as_str() == self.name {
                            self.bindings.push(&assign.value);
                        }
                    }
                }
                self.depth += 1;
                ruff_python_ast::visitor::walk_stmt(self, stmt);
                self.depth -= 1;
            }
            fn visit_expr(&mut self, expr: &'n Expr) {
                if self.depth > MAX_DEPTH {
                    return;
                }
                match expr {
                    Expr::Name(n) if n.id.as_str() == self.name => {
                        self.all += 1;
                        self.captured |= self.nested > 0;
                    }
                    Expr::Lambda(_) => {
                        self.nested += 1;
                        self.depth += 1;
                        walk_expr(self, expr);
                        self.depth -= 1;
                        self.nested -= 1;
                        return;
                    }
                    Expr::Call(call) => {
                        if let Expr::Attribute(method) = &*call.func {
                            if matches!(&*method.value, Expr::Name(n) if n.id.as_str() == self.name)
                            {
                                self.receivers += 1;
                            }
                        }
                    }
                    _ => {}
                }
                self.depth += 1;
                walk_expr(self, expr);
                self.depth -= 1;
            }
        }
        // Only a name the function assigns can be one (the set is cached): the body is walked
        // for the rest, once per condition that calls a method on the name.
        if function.0 == 0 || !self.assigned_in(function).contains(name) {
            return false;
        }
        let info = &self.functions[function.0 as usize];
        if info.params.iter().any(|(p, _)| p == name) {
            return false;
        }
        let mut uses = Uses {
            name,
            all: 0,
            receivers: 0,
            bindings: Vec::new(),
            depth: 0,
            nested: 0,
            captured: false,
        };
        for stmt in info.body {
            uses.visit_stmt(stmt);
        }
        if uses.captured {
            return false;
        }
        // The binding's target is one `Name` node; every other one calls a method.
        let [Expr::Call(made)] = uses.bindings.as_slice() else {
            return false;
        };
        if uses.all != uses.receivers + 1 || info.globals.contains(name) {
            return false;
        }
        let Some(class) = self.qualified_name(&made.func) else {
            return false;
        };
        if self.class_by_name.contains_key(&class) {
            return true;
        }
        if names::is_standard_library(&class) {
            return false;
        }
        // A library's callable given nothing but constants (`timeutils.StopWatch(duration=5)`)
        // is handed no object another thread holds: what it makes is this function's alone.
        if self.constant_arguments(made) {
            return true;
        }
        self.lookups
            .borrow_mut()
            .insert(format!("{}{class}", threadlint_rules::project::ANY_CLASS));
        self.index.and_then(|index| index.class(&class)).is_some()
    }

    /// The call has arguments, and every one is a literal, or a module-level name bound once
    /// to one (`RUN_TIME = 5`), or arithmetic on those: no callable, no object, no parameter.
    /// (A call with none, `Worker()`, tells nothing of what the object does.)
    fn constant_arguments(&self, call: &ast::ExprCall) -> bool {
        let arguments = &call.arguments;
        !arguments.is_empty()
            && arguments
                .args
                .iter()
                .chain(arguments.keywords.iter().map(|k| &k.value))
                .all(|arg| self.is_constant(arg, 0))
    }

    fn is_constant(&self, expr: &Expr, depth: usize) -> bool {
        if depth > 8 {
            return false;
        }
        match expr {
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_) => true,
            Expr::UnaryOp(op) => self.is_constant(&op.operand, depth + 1),
            Expr::BinOp(op) => {
                self.is_constant(&op.left, depth + 1) && self.is_constant(&op.right, depth + 1)
            }
            Expr::Name(name) => {
                let id = name.id.as_str();
                let mut values = self.functions[0].body.iter().filter_map(|stmt| match stmt {
                    Stmt::Assign(assign) => match assign.targets.as_slice() {
                        [Expr::Name(target)] if target.id.as_str() == id => Some(&*assign.value),
                        _ => None,
                    },
                    _ => None,
                });
                let value = values.next();
                values.next().is_none()
                    && value.is_some_and(|value| {
                        !matches!(value, Expr::Name(_)) && self.is_constant(value, depth + 1)
                    })
            }
            _ => false,
        }
    }

    /// `self.name` in a method, where `name` is a property of the method's class (or a base of
    /// the file) whose getter only returns an expression: the getter and that expression.
    pub(super) fn own_property(
        &self,
        function: FnId,
        attr: &ast::ExprAttribute,
    ) -> Option<(FnId, &'a Expr)> {
        let Expr::Name(receiver) = &*attr.value else {
            return None;
        };
        if Some(receiver.id.as_str()) != self.self_name(function) {
            return None;
        }
        let class = self.functions[function.0 as usize].class?;
        let getter = self
            .ancestry(class)
            .find_map(|c| self.classes[c].methods.get(attr.attr.id.as_str()).copied())?;
        let def = self.functions[getter.0 as usize].def?;
        // Computed on each read (a `cached_property` is not).
        let is_property = def.decorator_list.iter().any(|decorator| {
            matches!(&decorator.expression, Expr::Name(name) if name.id.as_str() == "property")
        });
        if !is_property {
            return None;
        }
        let body = after_docstring(&def.body);
        match body {
            [Stmt::Return(ret)] => ret.value.as_deref().map(|value| (getter, value)),
            _ => None,
        }
    }

    /// A `with` that expects its body to raise: `pytest.raises(..)`, or a test case's
    /// `self.assertRaises(..)` / `self.assertRaisesRegex(..)`.
    pub(super) fn expects_raise(&self, function: FnId, with: &ast::StmtWith) -> bool {
        with.items.iter().any(|item| {
            let Expr::Call(call) = &item.context_expr else {
                return false;
            };
            if self
                .qualified_name(&call.func)
                .is_some_and(|name| name == "pytest.raises")
            {
                return true;
            }
            match &*call.func {
                Expr::Attribute(method) => {
                    matches!(
                        method.attr.id.as_str(),
                        "assertRaises" | "assertRaisesRegex"
                    ) && matches!(&*method.value, Expr::Name(receiver)
                            if Some(receiver.id.as_str()) == self.self_name(function))
                }
                _ => false,
            }
        })
    }

    /// `pool.submit(..)` on a thread pool: a call that returns the task's future.
    pub(super) fn submits_to_pool(&mut self, function: FnId, call: &ast::ExprCall) -> bool {
        let Expr::Attribute(method) = &*call.func else {
            return false;
        };
        method.attr.id.as_str() == "submit"
            && self
                .resolve(function, &method.value)
                .is_some_and(|pool| self.objects[pool.0 as usize].kind == ObjKind::Executor)
    }

    /// How a function of another module that the project index says only sleeps does it.
    pub(super) fn project_sleeper(&self, absolute: &str) -> Option<Sleeper> {
        self.lookups.borrow_mut().insert(absolute.to_string());
        self.index?.object(absolute)?.sleeps
    }

    /// How a function of the file sleeps when its body (after its docstring) is one
    /// `time.sleep(..)` (`await asyncio.sleep(..)` in a coroutine) and nothing else.
    pub(super) fn local_sleeper(&self, id: FnId) -> Option<Sleeper> {
        let def = self.functions[id.0 as usize].def?;
        let body = after_docstring(&def.body);
        let [Stmt::Expr(statement)] = body else {
            return None;
        };
        let (call, awaited) = match &*statement.value {
            Expr::Await(awaited) => (&*awaited.value, true),
            other => (other, false),
        };
        let Expr::Call(call) = call else { return None };
        let qualified = self.qualified_name(&call.func)?;
        match (awaited, def.is_async) {
            (false, false) if names::is_sleep(&qualified) => Some(Sleeper::Blocking),
            (true, true) if names::is_async_sleep(&qualified) => Some(Sleeper::Async),
            _ => None,
        }
    }

    /// A method left to subclasses: decorated `@abstractmethod`, or whose body (after its
    /// docstring) only raises `NotImplementedError`.
    pub(super) fn is_abstract(&self, def: &StmtFunctionDef) -> bool {
        let decorated = def.decorator_list.iter().any(|decorator| {
            self.qualified_name(&decorator.expression)
                .is_some_and(|name| name == "abc.abstractmethod")
        });
        let body = after_docstring(&def.body);
        let raises_not_implemented = match body {
            [Stmt::Raise(raise)] => raise.exc.as_deref().is_some_and(|exc| {
                let exc = match exc {
                    Expr::Call(call) => &*call.func,
                    exc => exc,
                };
                matches!(exc, Expr::Name(name) if name.id.as_str() == "NotImplementedError")
            }),
            _ => false,
        };
        decorated || raises_not_implemented
    }

    /// One class derives from the other, or they are the same: an instance of either may be
    /// `self` in the other's methods.
    pub(super) fn related_classes(&self, a: usize, b: usize) -> bool {
        self.ancestry(a).any(|c| c == b) || self.ancestry(b).any(|c| c == a)
    }

    /// `class`, then its first base that is a class of this file, and so on (a bounded walk: a
    /// base cycle in broken code ends it).
    pub(super) fn ancestry(&self, class: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(class), move |&current| {
            self.classes[current]
                .bases
                .iter()
                .find_map(|b| self.class_by_name.get(b).copied())
                .filter(|&base| base != current)
        })
        .take(20)
    }

    /// A method of the class or of one of its bases in the file assigns the attribute
    /// (`self.attr = ...`).
    fn class_assigns(&self, class: usize, attr: &str) -> bool {
        let assigns = |body: &[Stmt], receiver: &str| {
            let mut found = false;
            walk_own_body(body, |visited| {
                let targets: &[Expr] = match visited {
                    Visited::Stmt(Stmt::Assign(a)) => &a.targets,
                    Visited::Stmt(Stmt::AnnAssign(a)) if a.value.is_some() => {
                        std::slice::from_ref(&*a.target)
                    }
                    _ => return,
                };
                found |= targets.iter().any(|target| {
                    matches!(target, Expr::Attribute(a) if a.attr.id.as_str() == attr
                        && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == receiver))
                });
            });
            found
        };
        self.ancestry(class).any(|c| {
            self.classes[c].methods.values().any(|&method| {
                self.self_name(method).is_some_and(|receiver| {
                    assigns(self.functions[method.0 as usize].body, receiver)
                })
            })
        })
    }

    /// Where an assignment target lives, in the context of `function`.
    pub(super) fn target_key(&self, function: FnId, target: &Expr) -> Option<(ObjKey, String)> {
        match target {
            Expr::Name(name) => {
                let id = name.id.to_string();
                let info = &self.functions[function.0 as usize];
                if function.0 == 0 || info.globals.contains(&id) {
                    Some((ObjKey::Global(id.clone()), id))
                } else {
                    Some((
                        ObjKey::Local {
                            function,
                            name: id.clone(),
                        },
                        id,
                    ))
                }
            }
            Expr::Attribute(_) => {
                let (root, path) = attribute_path(target)?;
                let display = self.text(target.range()).to_string();
                let info = &self.functions[function.0 as usize];
                if Some(root) == self.self_name(function) || root == "cls" && info.class.is_some() {
                    let class = self.defining_class(info.class?, &path.join("."));
                    return Some((
                        ObjKey::Member {
                            class,
                            attr: path.join("."),
                        },
                        display,
                    ));
                }
                if self.class_by_name.contains_key(root) && path.len() == 1 {
                    return Some((
                        ObjKey::Member {
                            class: root.to_string(),
                            attr: path.join("."),
                        },
                        display,
                    ));
                }
                None
            }
            _ => None,
        }
    }

    /// Resolves an expression to an object of the file, in the context of `function`.
    pub(super) fn resolve(&mut self, function: FnId, expr: &Expr) -> Option<ObjId> {
        match expr {
            Expr::Name(name) => self.resolve_name(function, name.id.as_str(), expr.range()),
            Expr::Attribute(attr) => {
                let attr_name = attr.attr.id.as_str();
                let display = self.text(expr.range()).to_string();
                // `parent._not_empty` with `parent` an instance of a class of this file: that
                // class's member, the object its own methods reach through `self`.
                if let Some(class) = self.instance_of(function, &attr.value) {
                    // Another instance of the method's own class (`other` in `def
                    // transfer(self, other: "Account")`) has members of its own: `other._lock`
                    // is not `self._lock`. So do two instances of one class that a function
                    // reaches by two names (`def transfer(a: Account, b: Account)`), though
                    // across functions each one's lock is the class's.
                    let own = self.functions[function.0 as usize]
                        .class
                        .is_some_and(|own| self.related_classes(own, class));
                    let several = !own && self.several_instances(function, class);
                    let defining = self.defining_class(class, attr_name);
                    let attr_key = if own || several {
                        format!("{attr_name}#{}", self.text(attr.value.range()))
                    } else {
                        attr_name.to_string()
                    };
                    let key = ObjKey::Member {
                        class: defining.clone(),
                        attr: attr_key,
                    };
                    let id = self.intern(key, display);
                    if several {
                        self.objects[id.0 as usize].project_key = Some(ObjKey::Member {
                            class: defining,
                            attr: attr_name.to_string(),
                        });
                    }
                    self.fill_from_class(id, class, attr_name);
                    return Some(id);
                }
                if let Some((key, _)) = self.target_key(function, expr) {
                    if let Some(id) = self.project_member(&key, &display) {
                        return Some(id);
                    }
                    let own_class = match &key {
                        ObjKey::Member { class, .. } => self.class_by_name.get(class).copied(),
                        _ => None,
                    };
                    let id = self.intern(key, display);
                    match own_class {
                        Some(class) => self.fill_from_class(id, class, attr_name),
                        None => self.fill_from_attribute_index(id, attr_name),
                    }
                    return Some(id);
                }
                // A path below a parameter or a local: `account.lock`.
                let (root, path) = attribute_path(expr)?;
                if let [attr] = path.as_slice() {
                    let local = ObjKey::Local {
                        function,
                        name: root.to_string(),
                    };
                    if let Some(id) = self.attribute_of_instance(&local, attr, &display) {
                        return Some(id);
                    }
                }
                let info = &self.functions[function.0 as usize];
                let key = if let Some(index) = info.params.iter().position(|(n, _)| n == root) {
                    if info.locals.contains_key(root) {
                        return None;
                    }
                    ObjKey::Param {
                        function,
                        index: index as u32,
                        path: path.iter().map(std::string::ToString::to_string).collect(),
                    }
                } else if let Some(base) = self.imports.get(root) {
                    let absolute = format!("{base}.{}", path.join("."));
                    if let Some(id) = self.imported_object(&absolute, &display, 0) {
                        return Some(id);
                    }
                    ObjKey::Global(format!("{root}.{}", path.join(".")))
                } else if function.0 != 0 {
                    ObjKey::Local {
                        function,
                        name: format!("{root}.{}", path.join(".")),
                    }
                } else {
                    ObjKey::Global(format!("{root}.{}", path.join(".")))
                };
                let id = self.intern(key, display);
                // The receiver may be a class of this file, known by annotation.
                self.fill_from_attribute_index(id, attr_name);
                Some(id)
            }
            // `futures[i]` of a container built from objects of one kind: one object stands
            // for its elements.
            Expr::Subscript(subscript) => {
                let (key, _) = self.target_key(function, &subscript.value)?;
                let kind = *self.element_kinds.get(&key)?;
                let element = match key {
                    ObjKey::Local { function, name } => ObjKey::Local {
                        function,
                        name: format!("{name}[]"),
                    },
                    ObjKey::Member { class, attr } => ObjKey::Member {
                        class,
                        attr: format!("{attr}[]"),
                    },
                    ObjKey::Global(name) => ObjKey::Global(format!("{name}[]")),
                    _ => return None,
                };
                let id = self.intern(element, self.text(expr.range()).to_string());
                self.set_kind(id, kind, span(expr.range()));
                Some(id)
            }
            Expr::Call(call) => {
                // `pool.submit(task)` used at once (`pool.submit(task).result()`): the future
                // it returns, as `f = pool.submit(task)` binds it.
                if self.submits_to_pool(function, call) {
                    let key = ObjKey::Other(format!("submit@{}", call.range().start().to_u32()));
                    let id = self.intern(key, crate::display::temporary(self.text(call.range())));
                    self.set_kind(id, ObjKind::Future, span(call.range()));
                    return Some(id);
                }
                let qualified = self.qualified_name(&call.func)?;
                let kind = self.constructed_kind(function, &qualified, &call.arguments)?;
                let key = ObjKey::Other(format!("{}@{}", qualified, call.range().start().to_u32()));
                let id = self.intern(key, crate::display::temporary(self.text(call.range())));
                self.set_kind(id, kind, span(call.range()));
                self.fresh.insert(id);
                self.fresh_in.insert(function);
                if names::is_process_pool(&qualified) {
                    self.process_pools.insert(id);
                }
                Some(id)
            }
            _ => None,
        }
    }

    /// The kind of an attribute of an instance of `class`: what the class defines it as, or,
    /// when the class does not assign it at all, what every class of the file that does
    /// agrees on. A class that assigns it something else (`self._lock = Lock()`, a class of
    /// the project) keeps it unknown, whatever another class's `_lock` is.
    fn fill_from_class(&mut self, id: ObjId, class: usize, attr: &str) {
        if self.objects[id.0 as usize].kind != ObjKind::Unknown {
            return;
        }
        let defining = self.defining_class(class, attr);
        let own = self
            .object_by_key
            .get(&ObjKey::Member {
                class: defining,
                attr: attr.to_string(),
            })
            .map(|&own| self.objects[own.0 as usize].kind)
            .filter(|&kind| kind != ObjKind::Unknown);
        match own {
            Some(kind) => self.objects[id.0 as usize].kind = kind,
            // Only a name some class of the file gives a kind needs the class's methods read.
            None if !matches!(self.attribute_kinds.get(attr), Some(Some(_))) => {}
            None => {
                let key = (class, attr.to_string());
                let assigns = if let Some(&assigns) = self.class_assigns_memo.get(&key) {
                    assigns
                } else {
                    let assigns = self.class_assigns(class, attr);
                    self.class_assigns_memo.insert(key, assigns);
                    assigns
                };
                if !assigns {
                    self.fill_from_attribute_index(id, attr);
                }
            }
        }
    }

    pub(super) fn fill_from_attribute_index(&mut self, id: ObjId, attr: &str) {
        if self.objects[id.0 as usize].kind == ObjKind::Unknown {
            if let Some(Some(kind)) = self.attribute_kinds.get(attr) {
                self.objects[id.0 as usize].kind = *kind;
            }
        }
    }

    pub(super) fn resolve_name(
        &mut self,
        function: FnId,
        name: &str,
        range: TextRange,
    ) -> Option<ObjId> {
        if let (0, Some(class)) = (function.0, &self.class_body) {
            let key = ObjKey::Member {
                class: class.clone(),
                attr: name.to_string(),
            };
            if let Some(&id) = self.object_by_key.get(&key) {
                return Some(id);
            }
        }
        // Locals of this function, then of enclosing functions (closures), then globals.
        let mut current = Some(function);
        while let Some(f) = current {
            let info = &self.functions[f.0 as usize];
            if let Some(&id) = info.locals.get(name) {
                return Some(id);
            }
            if f.0 != 0 && !info.globals.contains(name) {
                let key = ObjKey::Local {
                    function: f,
                    name: name.to_string(),
                };
                if let Some(&id) = self.object_by_key.get(&key) {
                    return Some(id);
                }
                if let Some(index) = info.params.iter().position(|(n, _)| n == name) {
                    let annotation = info.params[index].1;
                    let key = ObjKey::Param {
                        function: f,
                        index: index as u32,
                        path: Vec::new(),
                    };
                    let id = self.intern(key, name.to_string());
                    if let Some(kind) = annotation.and_then(|a| self.annotation_kind(a)) {
                        self.set_kind(id, kind, span(range));
                    }
                    return Some(id);
                }
            }
            current = info.parent;
        }
        if let Some(&id) = self.object_by_key.get(&ObjKey::Global(name.to_string())) {
            return Some(id);
        }
        let absolute = self.imports.get(name)?.clone();
        self.imported_object(&absolute, name, 0)
    }

    /// The object of another module of the project that the absolute name `absolute` denotes
    /// (through the project index, following re-exports), as an `Imported` object of this file.
    pub(super) fn imported_object(
        &mut self,
        absolute: &str,
        display: &str,
        depth: usize,
    ) -> Option<ObjId> {
        self.lookups.borrow_mut().insert(absolute.to_string());
        let export = self.index?.object(absolute).filter(|e| !e.factory)?;
        let key = ObjKey::Imported {
            module: export.module.clone(),
            name: export.name.clone(),
        };
        if let Some(&id) = self.object_by_key.get(&key) {
            return Some(id);
        }
        let kind = match (export.kind, &export.condition_lock) {
            // `Condition(LOCK)` in that module: acquiring it acquires `LOCK`.
            (ObjKind::Condition { .. }, Some(lock)) if depth == 0 => {
                let lock_name = format!("{}.{lock}", export.module);
                let inner = self.imported_object(&lock_name, lock, depth + 1)?;
                ObjKind::Condition { lock: Some(inner) }
            }
            (ObjKind::Condition { .. }, Some(_)) => return None,
            (kind, _) => kind,
        };
        let id = self.intern(key, display.to_string());
        // Created in another file: `def` stays empty, and it escapes (it is shared).
        self.objects[id.0 as usize].kind = kind;
        Some(id)
    }

    /// The absolute name of a call's callee in another module of the project (`run` bound by
    /// `from .jobs import run`, `jobs.run` with `from . import jobs`), when the file's module is
    /// known and the callee is not in the standard library.
    pub(super) fn external_callee(&self, callee: &Expr) -> Option<String> {
        self.module.as_ref()?;
        let (root, path) = match callee {
            Expr::Name(name) => (name.id.as_str(), Vec::new()),
            Expr::Attribute(_) => attribute_path(callee)?,
            _ => return None,
        };
        let base = self.imports.get(root)?;
        if names::is_standard_library(base) {
            return None;
        }
        let mut absolute = base.clone();
        for part in path {
            absolute.push('.');
            absolute.push_str(part);
        }
        Some(absolute)
    }

    pub(super) fn annotation_kind(&self, annotation: &Expr) -> Option<ObjKind> {
        let qualified = match annotation {
            Expr::StringLiteral(s) => s.value.to_str().to_string(),
            other => self.qualified_name(other)?,
        };
        names::constructor_kind(&qualified)
            .or_else(|| names::abstract_kind(&qualified))
            .or_else(|| {
                let class = *self.class_by_name.get(&qualified)?;
                if self.is_thread_class(class, 0) {
                    Some(ObjKind::Thread { daemon: false })
                } else {
                    self.inherited_kind(class, 0)
                }
            })
    }

    /// `field(default_factory=threading.Lock)` (dataclasses, attrs and pydantic spell it
    /// alike): the kind each instance gets.
    pub(super) fn default_factory_kind(&self, value: &Expr) -> Option<ObjKind> {
        let Expr::Call(call) = value else { return None };
        let factory = call.arguments.find_keyword("default_factory")?;
        let qualified = self.qualified_name(&factory.value)?;
        names::constructor_kind(&qualified).map(generic_kind)
    }

    /// What a call of a function of this file or of another module of the project returns,
    /// when that function is a factory (`def make_lock(): return threading.Lock()`).
    pub(super) fn factory_kind(&self, function: FnId, callee: &Expr) -> Option<ObjKind> {
        if let Some(id) = self.resolve_function(function, callee) {
            return self.returned_kind(id);
        }
        let absolute = self.external_callee(callee)?;
        self.lookups.borrow_mut().insert(absolute.clone());
        let export = self.index?.object(&absolute)?;
        // A function that only sleeps is exported as a factory of no object.
        (export.factory && export.sleeps.is_none()).then_some(export.kind)
    }

    /// The kind every `return` of `function` creates, when they all create the same kind of
    /// object (computed once, on first use).
    pub(super) fn returned_kind(&self, function: FnId) -> Option<ObjKind> {
        let info = &self.functions[function.0 as usize];
        *info.returns.get_or_init(|| {
            info.def?;
            let mut returns = Vec::new();
            collect_returns(info.body, &mut returns, 0);
            let created = |value: Option<&Expr>| {
                let Some(Expr::Call(call)) = value else {
                    return None;
                };
                let qualified = self.qualified_name(&call.func)?;
                names::constructor_kind(&qualified).map(generic_kind)
            };
            let kind = created(*returns.first()?)?;
            returns
                .iter()
                .all(|&value| created(value) == Some(kind))
                .then_some(kind)
        })
    }

    /// The kind of object `qualified(args)` creates, looking at the arguments that matter.
    pub(super) fn constructed_kind(
        &mut self,
        function: FnId,
        qualified: &str,
        args: &Arguments,
    ) -> Option<ObjKind> {
        let base = if let Some(kind) = names::constructor_kind(qualified) {
            kind
        } else {
            let class = *self.class_by_name.get(qualified)?;
            if self.is_thread_class(class, 0) {
                ObjKind::Thread { daemon: false }
            } else {
                self.inherited_kind(class, 0)?
            }
        };
        Some(match base {
            ObjKind::Condition { .. } => {
                let lock = args
                    .find_argument_value("lock", 0)
                    .filter(|e| !e.is_none_literal_expr())
                    .and_then(|e| self.resolve(function, e));
                ObjKind::Condition { lock }
            }
            ObjKind::Barrier { .. } => ObjKind::Barrier {
                has_timeout: args
                    .find_argument_value("timeout", 2)
                    .is_some_and(|e| !e.is_none_literal_expr()),
            },
            ObjKind::Queue { .. } => ObjKind::Queue {
                bounded: args.find_argument_value("maxsize", 0).is_some_and(|e| {
                    !matches!(e, Expr::NumberLiteral(n) if matches!(&n.value, Number::Int(i) if i.as_u64() == Some(0)))
                }),
            },
            ObjKind::Thread { .. } => ObjKind::Thread {
                daemon: args
                    .find_keyword("daemon")
                    .is_some_and(|k| !matches!(&k.value, Expr::BooleanLiteral(b) if !b.value))
                    || self.class_by_name.get(qualified).is_some_and(|&c| self.is_daemon_class(c)),
            },
            // `httpx.Client(timeout=None)` turns the library's default timeout off.
            ObjKind::HttpClient { sync, timeout } => ObjKind::HttpClient {
                sync,
                timeout: match args.find_keyword("timeout") {
                    Some(keyword) if keyword.value.is_none_literal_expr() => {
                        ClientTimeout::Disabled
                    }
                    _ => timeout,
                },
            },
            other => other,
        })
    }

    pub(super) fn index_attribute_kinds(&mut self) {
        for object in &self.objects {
            if let ObjKey::Member { attr, .. } = &object.key {
                if object.kind == ObjKind::Unknown || attr.contains('.') {
                    continue;
                }
                let generic = generic_kind(object.kind);
                self.attribute_kinds
                    .entry(attr.clone())
                    .and_modify(|k| {
                        if *k != Some(generic) {
                            *k = None;
                        }
                    })
                    .or_insert(Some(generic));
            }
        }
    }

    /// The file's classes as other modules see them (only when the module is known).
    pub(super) fn class_summaries(&self) -> Vec<ClassSummary> {
        let Some(module) = &self.module else {
            return Vec::new();
        };
        let mut summaries: Vec<ClassSummary> = self
            .classes
            .iter()
            .map(|class| ClassSummary {
                name: class.name.clone(),
                bases: class
                    .bases
                    .iter()
                    .map(|base| {
                        if self.class_by_name.contains_key(base) {
                            format!("{}.{base}", module.name)
                        } else {
                            base.clone()
                        }
                    })
                    .collect(),
                attributes: Vec::new(),
                methods: {
                    let mut methods: Vec<String> = class.methods.keys().cloned().collect();
                    methods.sort();
                    methods
                },
                waiting: Vec::new(),
                starting: Vec::new(),
            })
            .collect();
        let position: HashMap<&str, usize> = self
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        for object in &self.objects {
            let ObjKey::Member { class, attr } = &object.key else {
                continue;
            };
            if object.kind == ObjKind::Unknown || attr.contains('.') {
                continue;
            }
            if let Some(&i) = position.get(class.as_str()) {
                summaries[i]
                    .attributes
                    .push((attr.clone(), generic_kind(object.kind)));
            }
        }
        for summary in &mut summaries {
            summary.attributes.sort_by(|a, b| a.0.cmp(&b.0));
        }
        summaries
    }

    /// `self.attr` that a base class in another module defines, or `self.x.attr` where `self.x`
    /// holds an instance of a project class of another module: that module's object. `None`
    /// when this file defines it (or nothing in the project does).
    fn project_member(&mut self, key: &ObjKey, display: &str) -> Option<ObjId> {
        self.index?;
        if self.object_by_key.contains_key(key) {
            return None;
        }
        let ObjKey::Member { class, attr } = key else {
            return None;
        };
        match attr.split_once('.') {
            None => self.inherited_object(&class.clone(), &attr.clone(), display),
            Some((first, rest)) if !rest.contains('.') => {
                let holder = ObjKey::Member {
                    class: class.clone(),
                    attr: first.to_string(),
                };
                let rest = rest.to_string();
                self.attribute_of_instance(&holder, &rest, display)
            }
            Some(_) => None,
        }
    }

    /// The absolute names of the classes of other modules that `class` derives from, directly
    /// or through its bases in this file.
    fn external_bases(&self, class: usize) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![(class, 0)];
        while let Some((current, depth)) = stack.pop() {
            if depth > 20 {
                continue;
            }
            for base in &self.classes[current].bases {
                match self.class_by_name.get(base) {
                    Some(&local) if local != current => stack.push((local, depth + 1)),
                    Some(_) => {}
                    None => found.push(base.clone()),
                }
            }
        }
        found
    }

    /// `self.<attr>` of the local class `class` when a base class in another module defines
    /// it: that module's object, the same in every file.
    pub(super) fn inherited_object(
        &mut self,
        class: &str,
        attr: &str,
        display: &str,
    ) -> Option<ObjId> {
        let index = self.index?;
        let local = *self.class_by_name.get(class)?;
        let (owner, kind) = self
            .external_bases(local)
            .iter()
            .find_map(|base| index.class_attribute(base, attr))?;
        Some(self.member_of_project_class(&owner, attr, kind, display))
    }

    /// The attribute `attr` of instances of the project class `owner` (absolute), as an object.
    fn member_of_project_class(
        &mut self,
        owner: &str,
        attr: &str,
        kind: ObjKind,
        display: &str,
    ) -> ObjId {
        let (module, class) = owner.rsplit_once('.').unwrap_or(("", owner));
        let key = ObjKey::Imported {
            module: module.to_string(),
            name: format!("{class}.{attr}"),
        };
        let known = self.object_by_key.contains_key(&key);
        let id = self.intern(key, display.to_string());
        if !known {
            self.objects[id.0 as usize].kind = kind;
        }
        id
    }

    /// The project class (absolute name) that the object `key` is an instance of, when it was
    /// bound to `SomeClass(...)` of another module.
    pub(super) fn instance_class(&self, key: &ObjKey) -> Option<&str> {
        self.instance_types.get(key).map(String::as_str)
    }

    /// `x.attr` where `x` (the object `key`) is an instance of a project class of another
    /// module that holds a synchronisation object in `attr`.
    pub(super) fn attribute_of_instance(
        &mut self,
        key: &ObjKey,
        attr: &str,
        display: &str,
    ) -> Option<ObjId> {
        let class = self.instance_class(key)?.to_string();
        let (owner, kind) = self.index?.class_attribute(&class, attr)?;
        Some(self.member_of_project_class(&owner, attr, kind, display))
    }

    /// The method a call `receiver.method()` runs in another module: a method inherited by this
    /// file's class from a base elsewhere (`self.close()`), or one of a project class whose
    /// instance the receiver holds (`self.pool.close()`); with whether it waits for another
    /// thread (a project queue's `join()`), or starts one and leaves it running (a server's
    /// `start()`).
    pub(super) fn project_method(
        &mut self,
        function: FnId,
        method: &ast::ExprAttribute,
    ) -> Option<ProjectMethod> {
        let index = self.index?;
        let name = method.attr.id.as_str();
        let found = |class: &str| {
            index.class_method(class, name).map(|callee| ProjectMethod {
                callee,
                waits: index.class_method_waits(class, name),
                starts: index.class_method_starts(class, name),
            })
        };
        if let Expr::Name(receiver) = &*method.value {
            let receiver = receiver.id.as_str();
            if Some(receiver) == self.self_name(function) || receiver == "cls" {
                let class = self.functions[function.0 as usize].class?;
                if self.method_of(class, name).is_some() {
                    return None;
                }
                return self.external_bases(class).iter().find_map(|b| found(b));
            }
        }
        let key = self.receiver_key(function, &method.value)?;
        let class = self.instance_class(&key)?;
        found(class)
    }

    /// The class of this file that `expr` is an instance of: a parameter annotated with it
    /// (`parent: Queue`, `parent: "Queue[T]"`), or a name or attribute bound to one.
    pub(super) fn instance_of(&self, function: FnId, expr: &Expr) -> Option<usize> {
        match expr {
            Expr::Name(name) => {
                let name = name.id.as_str();
                let mut current = Some(function);
                while let Some(f) = current {
                    let info = &self.functions[f.0 as usize];
                    if let Some((_, annotation)) = info.params.iter().find(|(n, _)| n == name) {
                        return annotation.and_then(|a| self.file_class_annotation(a));
                    }
                    let key = ObjKey::Local {
                        function: f,
                        name: name.to_string(),
                    };
                    if let Some(&class) = self.file_instances.get(&key) {
                        return Some(class);
                    }
                    current = info.parent;
                }
                self.file_instances
                    .get(&ObjKey::Global(name.to_string()))
                    .copied()
            }
            Expr::Attribute(_) => {
                let (key, _) = self.target_key(function, expr)?;
                self.file_instances.get(&key).copied()
            }
            _ => None,
        }
    }

    /// Whether `function` has two or more names, parameters or locals, for instances of
    /// `class` (or of a class related to it): each may be another object.
    fn several_instances(&self, function: FnId, class: usize) -> bool {
        let info = &self.functions[function.0 as usize];
        let params = info.params.iter().filter(|(_, annotation)| {
            annotation
                .and_then(|a| self.file_class_annotation(a))
                .is_some_and(|c| self.related_classes(c, class))
        });
        let locals = self.file_instances.iter().filter(|(key, &c)| {
            matches!(key, ObjKey::Local { function: f, name } if *f == function
                && !name.contains('.'))
                && self.related_classes(c, class)
        });
        // Stops at the second: the file's instances are walked only when parameters are fewer.
        params
            .map(|_| ())
            .chain(locals.map(|_| ()))
            .nth(1)
            .is_some()
    }

    /// The class of this file an annotation names: `Queue`, `Queue[T]`, `"Queue[T]"`.
    fn file_class_annotation(&self, annotation: &Expr) -> Option<usize> {
        let name = match annotation {
            Expr::Name(name) => name.id.as_str(),
            Expr::Subscript(subscript) => match &*subscript.value {
                Expr::Name(name) => name.id.as_str(),
                _ => return None,
            },
            Expr::StringLiteral(text) => {
                let text = text.value.to_str();
                text.split('[').next().unwrap_or(text).trim()
            }
            _ => return None,
        };
        self.class_by_name.get(name).copied()
    }

    /// The identity of a receiver expression without creating an object for it.
    fn receiver_key(&self, function: FnId, expr: &Expr) -> Option<ObjKey> {
        if let Some((key, _)) = self.target_key(function, expr) {
            return Some(key);
        }
        None
    }
}

/// A method of a class of another module that a call runs, and what it does with threads.
pub(super) struct ProjectMethod {
    pub(super) callee: String,
    /// It waits for another thread.
    pub(super) waits: bool,
    /// It starts a thread, or hands work to one, and returns while that may still run.
    pub(super) starts: bool,
}
