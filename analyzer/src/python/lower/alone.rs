//! Coroutines that run alone on an event loop of their own: a thread that makes a loop
//! (`loop = asyncio.new_event_loop()`) and runs one coroutine to completion on it
//! (`loop.run_until_complete(self._run())`), or `asyncio.run(main())`. While such a coroutine
//! blocks, no other task of that loop waits, so long as it starts none.

use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{Expr, Stmt};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use threadlint_rules::model::FnId;

use super::{Lowerer, MAX_DEPTH};

/// Functions that put other work on the running loop (a task, a server's connections) or
/// run several awaitables on it at once: the coroutine that calls them no longer runs alone.
const STARTS_WORK: &[&str] = &[
    "asyncio.TaskGroup",
    "asyncio.as_completed",
    "asyncio.create_task",
    "asyncio.ensure_future",
    "asyncio.gather",
    "asyncio.start_server",
    "asyncio.wait",
    "asyncio.wait_for",
];

/// Methods of a loop, a task group or a nursery that do the same.
const STARTS_WORK_METHODS: &[&str] = &[
    "call_at",
    "call_later",
    "call_soon",
    "create_server",
    "create_task",
    "start_soon",
];

impl Lowerer<'_> {
    /// The coroutine functions of the file that every use of drives alone on a new loop.
    pub(super) fn coroutines_run_alone(&self) -> Vec<FnId> {
        // Only the names of the file's coroutine functions are counted.
        let coroutines: HashSet<&str> = self
            .functions
            .iter()
            .filter(|info| info.def.is_some_and(|def| def.is_async))
            .map(|info| info.name.as_str())
            .collect();
        if coroutines.is_empty() {
            return Vec::new();
        }
        let mut uses = Uses {
            lowerer: self,
            coroutines: &coroutines,
            loops: Vec::new(),
            drives: HashMap::default(),
            references: HashMap::default(),
            depth: 0,
        };
        for info in &self.functions {
            uses.loops.clear();
            for stmt in info.body {
                uses.visit_stmt(stmt);
            }
        }
        let (drives, references) = (uses.drives, uses.references);
        self.functions
            .iter()
            .enumerate()
            .filter(|(_, info)| info.def.is_some_and(|def| def.is_async))
            .filter(|(_, info)| {
                let name = info.name.as_str();
                drives
                    .get(name)
                    .is_some_and(|&driven| references.get(name) == Some(&driven))
            })
            .filter(|(_, info)| !self.starts_work(info.body))
            .map(|(index, _)| FnId(index as u32))
            .collect()
    }
}

struct Uses<'l, 'a> {
    lowerer: &'l Lowerer<'a>,
    coroutines: &'l HashSet<&'l str>,
    /// Names of the current function bound to `asyncio.new_event_loop()`.
    loops: Vec<String>,
    /// How many coroutine calls of each function or method name are handed to
    /// `run_until_complete` of such a loop or to `asyncio.run`.
    drives: HashMap<String, usize>,
    /// How many times each name is used as a value or called (`f`, `obj.f`).
    references: HashMap<String, usize>,
    depth: usize,
}

impl<'a> Visitor<'a> for Uses<'_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.depth > MAX_DEPTH {
            return;
        }
        match stmt {
            // Nested definitions are functions of their own, visited in their turn.
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
            Stmt::Assign(assign) => {
                if let ([Expr::Name(target)], Expr::Call(call)) =
                    (assign.targets.as_slice(), &*assign.value)
                {
                    let named = match &*call.func {
                        Expr::Attribute(attr) => attr.attr.id.as_str(),
                        Expr::Name(name) => name.id.as_str(),
                        _ => "",
                    };
                    if named == "new_event_loop" && self.is("asyncio.new_event_loop", &call.func) {
                        self.loops.push(target.id.to_string());
                    }
                }
            }
            _ => {}
        }
        self.depth += 1;
        walk_stmt(self, stmt);
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth > MAX_DEPTH {
            return;
        }
        match expr {
            Expr::Name(name) => self.count(name.id.as_str()),
            Expr::Attribute(attr) => self.count(attr.attr.id.as_str()),
            Expr::Call(call) => {
                if let [Expr::Call(coroutine)] = call.arguments.args.as_ref() {
                    let called = match &*coroutine.func {
                        Expr::Name(name) => Some(name.id.as_str()),
                        Expr::Attribute(attr) => Some(attr.attr.id.as_str()),
                        _ => None,
                    };
                    let on_new_loop = match &*call.func {
                        Expr::Attribute(method) => {
                            method.attr.id.as_str() == "run_until_complete"
                                && matches!(&*method.value, Expr::Name(receiver)
                                    if self.loops.iter().any(|l| l == receiver.id.as_str()))
                        }
                        _ => false,
                    };
                    if let Some(called) = called.filter(|c| self.coroutines.contains(c)) {
                        if on_new_loop || self.is("asyncio.run", &call.func) {
                            *self.drives.entry(called.to_string()).or_default() += 1;
                        }
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

impl Uses<'_, '_> {
    /// One more use of `name`, when it names a coroutine function of the file.
    fn count(&mut self, name: &str) {
        if self.coroutines.contains(name) {
            *self.references.entry(name.to_string()).or_default() += 1;
        }
    }

    /// `func` is the function named `qualified`, through the file's imports.
    fn is(&self, qualified: &str, func: &Expr) -> bool {
        self.lowerer
            .qualified_name(func)
            .is_some_and(|name| name == qualified)
    }
}

impl<'a> Lowerer<'a> {
    /// The body calls something that puts other work on its loop.
    fn starts_work(&self, body: &'a [Stmt]) -> bool {
        struct Starts<'l, 'a> {
            lowerer: &'l Lowerer<'a>,
            found: bool,
            depth: usize,
        }
        impl<'a> Visitor<'a> for Starts<'_, 'a> {
            fn visit_stmt(&mut self, stmt: &'a Stmt) {
                if self.found || self.depth > MAX_DEPTH {
                    return;
                }
                self.depth += 1;
                walk_stmt(self, stmt);
                self.depth -= 1;
            }
            fn visit_expr(&mut self, expr: &'a Expr) {
                if self.found || self.depth > MAX_DEPTH {
                    return;
                }
                if let Expr::Call(call) = expr {
                    let method = matches!(&*call.func, Expr::Attribute(attr)
                        if STARTS_WORK_METHODS.contains(&attr.attr.id.as_str()));
                    let function = self
                        .lowerer
                        .qualified_name(&call.func)
                        .is_some_and(|name| STARTS_WORK.contains(&name.as_str()));
                    if method || function {
                        self.found = true;
                        return;
                    }
                }
                self.depth += 1;
                walk_expr(self, expr);
                self.depth -= 1;
            }
        }
        let mut starts = Starts {
            lowerer: self,
            found: false,
            depth: 0,
        };
        for stmt in body {
            starts.visit_stmt(stmt);
        }
        starts.found
    }
}
