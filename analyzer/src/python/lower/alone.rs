//! Coroutines that run alone on an event loop of their own: a thread that makes a loop
//! (`loop = asyncio.new_event_loop()`) and runs one coroutine to completion on it
//! (`loop.run_until_complete(self._run())`), or `asyncio.run(main())`. While such a coroutine
//! blocks, no other task of that loop waits, so long as it starts none.

use ruff_python_ast::{Expr, Stmt};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use threadlint_rules::model::FnId;

use super::syntax::{walk_own_body, Visited};
use super::Lowerer;

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

impl<'a> Lowerer<'a> {
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
        // How many coroutine calls of each name are handed to `run_until_complete` of a new
        // loop or to `asyncio.run`, and how many times each name is used at all (`f`, `obj.f`).
        let mut drives: HashMap<&str, usize> = HashMap::default();
        let mut references: HashMap<&str, usize> = HashMap::default();
        for info in &self.functions {
            // Names of this function bound to `asyncio.new_event_loop()`.
            let mut loops: Vec<&str> = Vec::new();
            walk_own_body(info.body, |visited| match visited {
                Visited::Stmt(Stmt::Assign(assign)) => {
                    if let ([Expr::Name(target)], Expr::Call(call)) =
                        (assign.targets.as_slice(), &*assign.value)
                    {
                        if self.calls_named(&call.func, "asyncio.new_event_loop") {
                            loops.push(target.id.as_str());
                        }
                    }
                }
                Visited::Expr(Expr::Name(name)) => {
                    if let Some(name) = coroutines.get(name.id.as_str()) {
                        *references.entry(name).or_default() += 1;
                    }
                }
                Visited::Expr(Expr::Attribute(attr)) => {
                    if let Some(name) = coroutines.get(attr.attr.id.as_str()) {
                        *references.entry(name).or_default() += 1;
                    }
                }
                Visited::Expr(Expr::Call(call)) => {
                    let [Expr::Call(coroutine)] = call.arguments.args.as_ref() else {
                        return;
                    };
                    let called = match &*coroutine.func {
                        Expr::Name(name) => coroutines.get(name.id.as_str()),
                        Expr::Attribute(attr) => coroutines.get(attr.attr.id.as_str()),
                        _ => None,
                    };
                    let Some(called) = called else { return };
                    let on_new_loop = matches!(&*call.func, Expr::Attribute(method)
                        if method.attr.id.as_str() == "run_until_complete"
                            && matches!(&*method.value, Expr::Name(receiver)
                                if loops.contains(&receiver.id.as_str())));
                    if on_new_loop || self.calls_named(&call.func, "asyncio.run") {
                        *drives.entry(called).or_default() += 1;
                    }
                }
                _ => {}
            });
        }
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

    /// `func` is the function named `qualified` (through the file's imports); the last part of
    /// the name is compared first, without building the qualified name.
    fn calls_named(&self, func: &Expr, qualified: &str) -> bool {
        let last = qualified.rsplit('.').next().unwrap_or(qualified);
        let written = match func {
            Expr::Attribute(attr) => attr.attr.id.as_str(),
            Expr::Name(name) => name.id.as_str(),
            _ => return false,
        };
        written == last
            && self
                .qualified_name(func)
                .is_some_and(|name| name == qualified)
    }

    /// The body calls something that puts other work on its loop.
    fn starts_work(&self, body: &'a [Stmt]) -> bool {
        let mut found = false;
        walk_own_body(body, |visited| {
            let Visited::Expr(Expr::Call(call)) = visited else {
                return;
            };
            let method = matches!(&*call.func, Expr::Attribute(attr)
                if STARTS_WORK_METHODS.contains(&attr.attr.id.as_str()));
            let function = !method
                && self
                    .qualified_name(&call.func)
                    .is_some_and(|name| STARTS_WORK.contains(&name.as_str()));
            found |= method || function;
        });
        found
    }
}
