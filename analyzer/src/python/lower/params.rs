//! Parameters typed by their callers. A parameter without an annotation whose every call in the
//! file passes a synchronisation object of one kind is an object of that kind: `def
//! worker(lock): with lock: ...` started as `Thread(target=worker, args=(lock,))` with `lock =
//! threading.Lock()` holds a lock in its `with`. Calls are direct (`f(lock)`, `self.m(lock)`),
//! thread targets (`args=`, `kwargs=`) and executor submissions (`pool.submit(f, lock)`). A
//! thread pool handed to a function is one too (`def run(pool): pool.submit(job)`), and so is
//! what a class's `__init__` receives when the file makes its instances (`Worker(event)`).

use super::*;

/// What one parameter receives across the calls seen so far.
#[derive(Clone, Copy, PartialEq)]
enum Received {
    Kind(ObjKind),
    /// Calls disagree, or one passes something that is not known.
    Mixed,
}

/// The kinds a parameter can take from its callers: the synchronisation objects whose use in
/// the callee the rules read (held, waited on, signalled).
fn handed_kind(kind: ObjKind) -> bool {
    kind.is_lock_like()
        || matches!(
            kind,
            ObjKind::Event | ObjKind::Barrier { .. } | ObjKind::Queue { .. } | ObjKind::Executor
        )
}

impl<'a> Lowerer<'a> {
    /// Gives unannotated parameters the kind every caller in the file passes them.
    pub(super) fn type_parameters_from_callers(&mut self) {
        // Nothing to hand on: no body worth walking again.
        if !self.objects.iter().any(|object| handed_kind(object.kind)) {
            return;
        }
        let calls: Vec<(FnId, &'a ast::ExprCall)> = (0..self.functions.len())
            .flat_map(|index| {
                let mut found = Vec::new();
                walk_own_body(self.functions[index].body, |visited| {
                    if let Visited::Expr(Expr::Call(call)) = visited {
                        found.push(call);
                    }
                });
                let function = FnId(index as u32);
                found.into_iter().map(move |call| (function, call))
            })
            .collect();
        let mut received: HashMap<(FnId, usize), Received> = HashMap::default();
        for &(function, call) in &calls {
            let Some((target, arguments)) = self.call_arguments(function, call) else {
                continue;
            };
            for (index, argument) in arguments {
                // A process pool is handed on as nothing: its tasks share no memory with the
                // caller, and the callee's `submit` must not make them threads.
                let kind = match argument {
                    Expr::Name(_) | Expr::Attribute(_) => self
                        .resolve(function, argument)
                        .filter(|id| !self.process_pools.contains(id))
                        .map(|id| self.objects[id.0 as usize].kind)
                        .filter(|&kind| handed_kind(kind)),
                    _ => None,
                };
                let now = kind.map_or(Received::Mixed, Received::Kind);
                received
                    .entry((target, index))
                    .and_modify(|seen| {
                        if *seen != now {
                            *seen = Received::Mixed;
                        }
                    })
                    .or_insert(now);
            }
        }
        let mut typed: Vec<((FnId, usize), ObjKind)> = received
            .into_iter()
            .filter_map(|(param, seen)| match seen {
                Received::Kind(kind) => Some((param, kind)),
                Received::Mixed => None,
            })
            .collect();
        typed.sort_by_key(|((function, index), _)| (function.0, *index));
        for ((function, index), kind) in typed {
            let info = &self.functions[function.0 as usize];
            let Some((name, None)) = info.params.get(index) else {
                continue;
            };
            let (name, at) = (
                name.clone(),
                info.def.map_or(Span::new(0, 0), |d| span(d.range)),
            );
            let key = ObjKey::Param {
                function,
                index: index as u32,
                path: Vec::new(),
            };
            let id = self.intern(key, name.clone());
            self.set_kind(id, kind, at);
            self.members_from_parameter(function, &name, kind);
        }
    }

    /// `self.event = event` in the function whose parameter `event` was just typed: the
    /// attribute holds that object too, unless something else made it an object of its own.
    fn members_from_parameter(&mut self, function: FnId, param: &str, kind: ObjKind) {
        if self.self_name(function).is_none() {
            return;
        }
        let mut targets: Vec<&'a Expr> = Vec::new();
        walk_own_body(self.functions[function.0 as usize].body, |visited| {
            if let Visited::Stmt(Stmt::Assign(assign)) = visited {
                if matches!(&*assign.value, Expr::Name(value) if value.id.as_str() == param) {
                    targets.extend(
                        assign
                            .targets
                            .iter()
                            .filter(|t| matches!(t, Expr::Attribute(_))),
                    );
                }
            }
        });
        for target in targets {
            let Some((key @ ObjKey::Member { .. }, display)) = self.target_key(function, target)
            else {
                continue;
            };
            let id = self.intern(key, display);
            if self.objects[id.0 as usize].kind == ObjKind::Unknown {
                self.set_kind(id, kind, span(target.range()));
            }
        }
    }

    /// The function of this file a call runs, with each argument it passes by parameter index.
    fn call_arguments(
        &mut self,
        function: FnId,
        call: &'a ast::ExprCall,
    ) -> Option<(FnId, Vec<(usize, &'a Expr)>)> {
        // `Thread(target=f, args=(..), kwargs={..})`.
        if let Some(target) = call.arguments.find_keyword("target").map(|k| &k.value) {
            let qualified = self.qualified_name(&call.func)?;
            if !matches!(
                self.constructed_kind(function, &qualified, &call.arguments),
                Some(ObjKind::Thread { .. })
            ) {
                return None;
            }
            let callee = self.resolve_function(function, target)?;
            let offset = self.bound_offset(callee, target);
            let mut arguments = Vec::new();
            if let Some(
                Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }),
            ) = call.arguments.find_keyword("args").map(|k| &k.value)
            {
                arguments.extend(elts.iter().enumerate().map(|(i, e)| (i + offset, e)));
            }
            if let Some(Expr::Dict(dict)) = call.arguments.find_keyword("kwargs").map(|k| &k.value)
            {
                for item in &dict.items {
                    if let Some(Expr::StringLiteral(key)) = &item.key {
                        if let Some(index) = self.param_index(callee, key.value.to_str()) {
                            arguments.push((index, &item.value));
                        }
                    }
                }
            }
            return Some((callee, arguments));
        }
        // `pool.submit(f, a, b)`.
        if self.submits_to_pool(function, call) {
            let (target, rest) = call.arguments.args.split_first()?;
            let callee = self.resolve_function(function, target)?;
            let offset = self.bound_offset(callee, target);
            let arguments = rest.iter().enumerate().map(|(i, e)| (i + offset, e));
            return Some((callee, arguments.collect()));
        }
        // `f(a, b)`, `self.m(a)`; `Worker(a, b)`, a class of this file, runs its `__init__`
        // with the new instance first.
        let constructor = match &*call.func {
            Expr::Name(name) => self
                .class_by_name
                .get(name.id.as_str())
                .and_then(|&class| self.method_of(class, "__init__")),
            _ => None,
        };
        let (callee, offset) = if let Some(init) = constructor {
            (init, 1)
        } else {
            let callee = self.resolve_function(function, &call.func)?;
            (callee, self.bound_offset(callee, &call.func))
        };
        let mut arguments: Vec<(usize, &'a Expr)> = call
            .arguments
            .args
            .iter()
            .take_while(|a| !a.is_starred_expr())
            .enumerate()
            .map(|(i, e)| (i + offset, e))
            .collect();
        for keyword in &call.arguments.keywords {
            if let Some(name) = &keyword.arg {
                if let Some(index) = self.param_index(callee, name.as_str()) {
                    arguments.push((index, &keyword.value));
                }
            }
        }
        Some((callee, arguments))
    }

    /// 1 when `reference` names a method through an instance (`self.m`, `obj.m`), which passes
    /// the instance as the first parameter; 0 for a plain function or `Class.m`.
    pub(super) fn bound_offset(&self, callee: FnId, reference: &Expr) -> usize {
        let bound = matches!(reference, Expr::Attribute(a)
            if !matches!(&*a.value, Expr::Name(n) if self.class_by_name.contains_key(n.id.as_str())))
            && self.self_name(callee).is_some();
        usize::from(bound)
    }

    fn param_index(&self, function: FnId, name: &str) -> Option<usize> {
        self.functions[function.0 as usize]
            .params
            .iter()
            .position(|(param, _)| param == name)
    }
}
