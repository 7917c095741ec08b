//! Functions whose value depends on their arguments alone: a loop condition that applies one
//! to the loop's own state (`len(self.data)`, `running(self.info)`) tests that state.

use super::*;

/// Builtins that compute a value from their arguments and change nothing.
const PURE_BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "float",
    "frozenset",
    "int",
    "isinstance",
    "len",
    "list",
    "max",
    "min",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
];

impl<'a> Lowerer<'a> {
    /// The attributes and items of the enclosing function's values (`proc.returncode`,
    /// `state["done"]`) that the functions nested in `function` and called by name in `body`
    /// assign: what a loop calling `poll()` changes itself through it.
    pub(super) fn closure_writes(&self, function: FnId, body: &'a [Stmt]) -> Vec<(String, u32)> {
        let mut called = Vec::new();
        walk_own_body(body, |visited| {
            if let Visited::Expr(Expr::Call(call)) = visited {
                if let Expr::Name(name) = &*call.func {
                    if let Some(&nested) =
                        self.nested_functions.get(&(function, name.id.to_string()))
                    {
                        if !called.contains(&nested) {
                            called.push(nested);
                        }
                    }
                }
            }
        });
        let mut writes = Vec::new();
        for nested in called {
            let info = &self.functions[nested.0 as usize];
            let own = self.assigned_in(nested);
            walk_own_body(info.body, |visited| {
                let Visited::Stmt(Stmt::Assign(assign)) = visited else {
                    return;
                };
                for target in &assign.targets {
                    let mut root = target;
                    while let Expr::Attribute(ast::ExprAttribute { value, .. })
                    | Expr::Subscript(ast::ExprSubscript { value, .. }) = root
                    {
                        root = value;
                    }
                    let Expr::Name(name) = root else { continue };
                    let free = !info.params.iter().any(|(p, _)| p == name.id.as_str())
                        && !own.contains(name.id.as_str());
                    if free && !std::ptr::eq(root, target) {
                        writes.push((
                            self.text(target.range()).to_string(),
                            assign.range.start().to_u32(),
                        ));
                    }
                }
            });
        }
        writes
    }

    /// The local containers of `function` that `body` changes in place (`del pending[k]`,
    /// `pending[k] = v`, `busy.clear()`) and that never leave the function: not passed to a
    /// call (other than a pure builtin), aliased, captured by a nested function or lambda,
    /// or yielded. Nothing but this code can change them, so a loop testing one tests its own
    /// state.
    pub(super) fn private_mutations(&self, function: FnId, body: &'a [Stmt]) -> Vec<(String, u32)> {
        if function.0 == 0 {
            return Vec::new();
        }
        let info = &self.functions[function.0 as usize];
        let mut changed: Vec<(&str, u32)> = Vec::new();
        let root_name = |mut expr: &'a Expr| {
            while let Expr::Subscript(ast::ExprSubscript { value, .. }) = expr {
                expr = value;
            }
            match expr {
                Expr::Name(name) => Some(name),
                _ => None,
            }
        };
        walk_own_body(body, |visited| match visited {
            Visited::Stmt(Stmt::Delete(delete)) => {
                for target in &delete.targets {
                    if let (Expr::Subscript(_), Some(name)) = (target, root_name(target)) {
                        changed.push((name.id.as_str(), delete.range.start().to_u32()));
                    }
                }
            }
            Visited::Stmt(Stmt::Assign(assign)) => {
                for target in &assign.targets {
                    if let (Expr::Subscript(_), Some(name)) = (target, root_name(target)) {
                        changed.push((name.id.as_str(), assign.range.start().to_u32()));
                    }
                }
            }
            Visited::Expr(Expr::Call(call)) => {
                if let Expr::Attribute(method) = &*call.func {
                    if let Some(name) = root_name(&method.value) {
                        changed.push((name.id.as_str(), call.range().start().to_u32()));
                    }
                }
            }
            _ => {}
        });
        let locals = self.assigned_in(function);
        // Only a container the function makes itself: an object from a call may be known to
        // others already.
        let mut made_here: HashSet<&str> = HashSet::default();
        let mut made_elsewhere: HashSet<&str> = HashSet::default();
        walk_own_body(info.body, |visited| {
            let Visited::Stmt(Stmt::Assign(assign)) = visited else {
                return;
            };
            for target in &assign.targets {
                if let Expr::Name(name) = target {
                    if self.new_container(&assign.value) {
                        made_here.insert(name.id.as_str());
                    } else {
                        made_elsewhere.insert(name.id.as_str());
                    }
                }
            }
        });
        changed.retain(|(name, _)| {
            locals.contains(*name)
                && made_here.contains(name)
                && !made_elsewhere.contains(name)
                && !info.globals.contains(*name)
                && !info.params.iter().any(|(p, _)| p == name)
        });
        if changed.is_empty() {
            return Vec::new();
        }
        let mut escaped: HashSet<&str> = HashSet::default();
        let mentions = mentions_name;
        walk_own_body(info.body, |visited| match visited {
            Visited::Expr(Expr::Call(call)) => {
                let pure_callee = matches!(&*call.func, Expr::Name(callee) if PURE_BUILTINS.contains(&callee.id.as_str()));
                if !pure_callee {
                    let arguments = call
                        .arguments
                        .args
                        .iter()
                        .chain(call.arguments.keywords.iter().map(|k| &k.value));
                    for arg in arguments {
                        for (name, _) in &changed {
                            if mentions(arg, name) {
                                escaped.insert(name);
                            }
                        }
                    }
                }
            }
            Visited::Expr(Expr::Lambda(lambda)) => {
                for (name, _) in &changed {
                    if mentions(&lambda.body, name) {
                        escaped.insert(name);
                    }
                }
            }
            Visited::Expr(Expr::Yield(ast::ExprYield {
                value: Some(value), ..
            })) => {
                if let Expr::Name(name) = &**value {
                    escaped.insert(name.id.as_str());
                }
            }
            Visited::Stmt(Stmt::Assign(assign)) => {
                for (name, _) in &changed {
                    if mentions(&assign.value, name) {
                        escaped.insert(name);
                    }
                }
            }
            _ => {}
        });
        // A nested function or class that names it shares it.
        for (index, nested) in self.functions.iter().enumerate() {
            if nested.parent != Some(function) || index == function.0 as usize {
                continue;
            }
            walk_own_body(nested.body, |visited| {
                if let Visited::Expr(Expr::Name(name)) = visited {
                    escaped.insert(name.id.as_str());
                }
            });
        }
        changed
            .into_iter()
            .filter(|(name, _)| !escaped.contains(name))
            .map(|(name, at)| (name.to_string(), at))
            .collect()
    }

    /// Whether `value` makes a new container: a literal, a comprehension, or a call of a
    /// builtin or `collections` container type.
    fn new_container(&self, value: &Expr) -> bool {
        match value {
            Expr::Dict(_)
            | Expr::List(_)
            | Expr::Set(_)
            | Expr::Tuple(_)
            | Expr::DictComp(_)
            | Expr::ListComp(_)
            | Expr::SetComp(_) => true,
            Expr::Call(call) => match &*call.func {
                Expr::Name(name)
                    if matches!(name.id.as_str(), "dict" | "list" | "set")
                        && !self.imports.contains_key(name.id.as_str())
                        && !self.module_functions.contains_key(name.id.as_str()) =>
                {
                    true
                }
                func => self.qualified_name(func).is_some_and(|q| {
                    matches!(
                        q.as_str(),
                        "collections.defaultdict"
                            | "collections.OrderedDict"
                            | "collections.Counter"
                            | "collections.deque"
                    )
                }),
            },
            _ => false,
        }
    }

    /// Whether the innermost `while` loop being lowered assigns `value` (a name, an attribute
    /// or an item, as written), or the attribute or item it is part of, in its body, not
    /// counting nested functions.
    pub(super) fn loop_assigns(&self, value: &Expr) -> bool {
        let Some(body) = self.while_bodies.last() else {
            return false;
        };
        // The value, or what it is part of (`self.info["workers"]` of `self.info`).
        let mut wanted = vec![self.text(value.range())];
        let mut part = value;
        while let Expr::Attribute(ast::ExprAttribute { value, .. })
        | Expr::Subscript(ast::ExprSubscript { value, .. }) = part
        {
            part = value;
            if !matches!(part, Expr::Name(_)) {
                wanted.push(self.text(part.range()));
            }
        }
        let mut found = false;
        walk_own_body(body, |visited| {
            let targets: &[Expr] = match visited {
                Visited::Stmt(Stmt::Assign(assign)) => &assign.targets,
                Visited::Stmt(Stmt::AugAssign(assign)) => std::slice::from_ref(&*assign.target),
                Visited::Stmt(Stmt::AnnAssign(assign)) => std::slice::from_ref(&*assign.target),
                _ => return,
            };
            found |= targets
                .iter()
                .any(|target| wanted.contains(&self.text(target.range())));
        });
        found
    }

    /// Whether `name`, called from `function`, is a pure builtin (not rebound by the module or
    /// the function) or a function of this file whose body reads nothing but its parameters,
    /// its own locals and pure builtins.
    pub(super) fn applies_to_arguments(&self, function: FnId, name: &str) -> bool {
        let local = self.functions[function.0 as usize]
            .params
            .iter()
            .any(|(param, _)| param == name)
            || self.assigned_in(function).contains(name);
        if let Some(&callee) = self
            .nested_functions
            .get(&(function, name.to_string()))
            .or_else(|| self.module_functions.get(name))
        {
            return self.reads_only_arguments(callee);
        }
        !local
            && PURE_BUILTINS.contains(&name)
            && !self.imports.contains_key(name)
            && !self.class_by_name.contains_key(name)
    }

    /// Whether the body of `function` reads only its parameters, names it binds itself
    /// (comprehension variables included), imported modules and classes, and pure builtins,
    /// and calls only pure builtins and methods of those values.
    fn reads_only_arguments(&self, function: FnId) -> bool {
        let info = &self.functions[function.0 as usize];
        if info.def.is_none() {
            return false;
        }
        let mut bound: HashSet<&str> = info.params.iter().map(|(p, _)| p.as_str()).collect();
        walk_own_body(info.body, |visited| {
            if let Visited::Expr(Expr::Name(name)) = visited {
                if name.ctx == ast::ExprContext::Store {
                    bound.insert(name.id.as_str());
                }
            }
        });
        let mut pure = true;
        walk_own_body(info.body, |visited| match visited {
            Visited::Stmt(
                Stmt::Global(_) | Stmt::Nonlocal(_) | Stmt::FunctionDef(_) | Stmt::ClassDef(_),
            ) => pure = false,
            Visited::Expr(Expr::Name(name)) if name.ctx == ast::ExprContext::Load => {
                let id = name.id.as_str();
                // An imported module or class (`Status.running`) is read for its constants.
                if !bound.contains(id)
                    && !PURE_BUILTINS.contains(&id)
                    && !self.imports.contains_key(id)
                {
                    pure = false;
                }
            }
            Visited::Expr(Expr::Await(_) | Expr::Yield(_) | Expr::YieldFrom(_)) => pure = false,
            // A callable passed in may do anything.
            Visited::Expr(Expr::Call(call)) => {
                if let Expr::Name(callee) = &*call.func {
                    if !PURE_BUILTINS.contains(&callee.id.as_str()) {
                        pure = false;
                    }
                }
            }
            _ => {}
        });
        pure
    }
}
