//! Pass 1: the file's functions, classes and imports.

use super::*;

impl<'a> Lowerer<'a> {
    pub(super) fn collect(
        &mut self,
        body: &'a [Stmt],
        class: Option<usize>,
        parent: FnId,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        for stmt in body {
            match stmt {
                Stmt::Import(import) => {
                    for alias in &import.names {
                        let full = alias.name.id.as_str();
                        let (local, target) = if let Some(asname) = &alias.asname {
                            (asname.id.to_string(), names::six_moves(full.to_string()))
                        } else {
                            let first = full.split('.').next().unwrap_or(full);
                            (first.to_string(), first.to_string())
                        };
                        if class.is_none() && parent == FnId(0) {
                            self.module_imports.push((local.clone(), target.clone()));
                        }
                        self.import_list.push((local.clone(), target.clone()));
                        self.imports.insert(local, target);
                    }
                }
                Stmt::ImportFrom(import) => {
                    let target = import.module.as_ref().map(|m| m.id.as_str());
                    let module = if import.level > 0 {
                        // Relative: only meaningful where the package layout names this file.
                        let Some(here) = &self.module else { continue };
                        let Some(base) = modules::resolve_relative(here, import.level, target)
                        else {
                            continue;
                        };
                        base
                    } else {
                        target.unwrap_or("").to_string()
                    };
                    for alias in &import.names {
                        let name = alias.name.id.as_str();
                        if name == "*" {
                            continue;
                        }
                        let local = alias.asname.as_ref().map_or(name, |a| a.id.as_str());
                        let absolute = names::six_moves(format!("{module}.{name}"));
                        self.import_list.push((local.to_string(), absolute.clone()));
                        self.imports.insert(local.to_string(), absolute);
                    }
                }
                Stmt::FunctionDef(def) => {
                    let id = FnId(self.functions.len() as u32);
                    let params = def
                        .parameters
                        .iter_non_variadic_params()
                        .map(|p| {
                            (
                                p.parameter.name.id.to_string(),
                                p.parameter.annotation.as_deref(),
                            )
                        })
                        .collect();
                    self.functions.push(FnInfo {
                        name: def.name.id.to_string(),
                        class,
                        parent: (parent.0 != 0 || class.is_some()).then_some(parent),
                        def: Some(def),
                        body: &def.body,
                        params,
                        globals: HashSet::default(),
                        locals: HashMap::default(),
                        assigned: std::cell::OnceCell::new(),
                        returns: std::cell::OnceCell::new(),
                    });
                    match class {
                        Some(c) => {
                            self.classes[c].methods.insert(def.name.id.to_string(), id);
                        }
                        None if parent.0 == 0 => {
                            self.module_functions.insert(def.name.id.to_string(), id);
                        }
                        None => {}
                    }
                    self.collect(&def.body, None, id, depth + 1);
                }
                Stmt::ClassDef(def) => {
                    let bases = def
                        .arguments
                        .as_ref()
                        .map(|args| {
                            args.args
                                .iter()
                                .filter_map(|b| self.qualified_name(b))
                                .collect()
                        })
                        .unwrap_or_default();
                    let index = self.classes.len();
                    self.classes.push(ClassInfo {
                        name: def.name.id.to_string(),
                        bases,
                        methods: HashMap::default(),
                    });
                    self.class_by_name
                        .entry(def.name.id.to_string())
                        .or_insert(index);
                    // Class-level attributes: `lock = threading.Lock()` in the class body,
                    // where a bare name is an attribute defined above it (`cond =
                    // threading.Condition(lock)`).
                    let outer = self.class_body.replace(def.name.id.to_string());
                    for stmt in &def.body {
                        match stmt {
                            Stmt::Assign(assign) => {
                                for target in &assign.targets {
                                    if let Expr::Name(name) = target {
                                        let key = ObjKey::Member {
                                            class: def.name.id.to_string(),
                                            attr: name.id.to_string(),
                                        };
                                        self.define_from_value(FnId(0), key, &assign.value, target);
                                    }
                                }
                            }
                            // A declared field: `lock: threading.Lock`, or a dataclass field
                            // `lock: Lock = field(default_factory=threading.Lock)`.
                            Stmt::AnnAssign(assign) => {
                                let Expr::Name(name) = &*assign.target else {
                                    continue;
                                };
                                let key = ObjKey::Member {
                                    class: def.name.id.to_string(),
                                    attr: name.id.to_string(),
                                };
                                let factory = assign
                                    .value
                                    .as_deref()
                                    .and_then(|value| self.default_factory_kind(value));
                                if let Some(kind) = factory {
                                    let id = self.intern(key, name.id.to_string());
                                    self.set_kind(id, kind, span(assign.range));
                                    continue;
                                }
                                // What the value makes says more than the annotation does
                                // (`cond: Condition = Condition(lock=_lock)`: over `_lock`).
                                if let Some(value) = &assign.value {
                                    self.define_from_value(
                                        FnId(0),
                                        key.clone(),
                                        value,
                                        &assign.target,
                                    );
                                }
                                if let Some(kind) = self.annotation_kind(&assign.annotation) {
                                    let id = self.intern(key, name.id.to_string());
                                    self.set_kind(id, kind, span(assign.range));
                                }
                            }
                            _ => {}
                        }
                    }
                    self.class_body = outer;
                    self.collect(&def.body, Some(index), parent, depth + 1);
                }
                _ => {
                    for child in child_bodies(stmt) {
                        self.collect(child, class, parent, depth + 1);
                    }
                }
            }
        }
    }

    pub(super) fn find_thread_classes(&mut self) {
        for class in 0..self.classes.len() {
            if self.is_thread_class(class, 0) {
                if let Some(&run) = self.classes[class].methods.get("run") {
                    let site = self.functions[run.0 as usize]
                        .def
                        .map(|d| span(d.name.range))
                        .unwrap_or_default();
                    self.thread_entries.push(ThreadEntry {
                        function: run,
                        site,
                        repeated: false,
                    });
                }
            }
        }
    }

    /// A `Thread` subclass instantiated in a loop or at several places runs its `run()` on
    /// several threads at once.
    pub(super) fn mark_repeated_thread_classes(&mut self) {
        let mut runs: HashMap<FnId, (usize, bool)> = HashMap::default();
        for &(class, repeated) in &self.thread_instantiations {
            if let Some(run) = self.method_of(class, "run") {
                let entry = runs.entry(run).or_insert((0, false));
                entry.0 += 1;
                entry.1 |= repeated;
            }
        }
        for entry in &mut self.thread_entries {
            if let Some(&(count, repeated)) = runs.get(&entry.function) {
                entry.repeated |= repeated || count > 1;
            }
        }
    }

    pub(super) fn is_thread_class(&self, class: usize, depth: usize) -> bool {
        if depth > 20 {
            return false;
        }
        self.classes[class].bases.iter().any(|base| {
            names::is_thread_class(base)
                || self
                    .class_by_name
                    .get(base)
                    .is_some_and(|&b| b != class && self.is_thread_class(b, depth + 1))
        })
    }

    /// The kind of a class of this file that extends an HTTP client, a `Popen` or a socket
    /// (`class RetrySession(requests.Session)`): its instances are one.
    pub(super) fn inherited_kind(&self, class: usize, depth: usize) -> Option<ObjKind> {
        if depth > 20 {
            return None;
        }
        self.classes[class].bases.iter().find_map(|base| {
            if let Some(kind @ (ObjKind::HttpClient { .. } | ObjKind::Process | ObjKind::Socket)) =
                names::constructor_kind(base)
            {
                Some(kind)
            } else {
                let b = *self.class_by_name.get(base)?;
                (b != class).then(|| self.inherited_kind(b, depth + 1))?
            }
        })
    }
}
