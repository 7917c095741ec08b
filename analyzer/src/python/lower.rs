//! Lowers a parsed Python module into the concurrency model.
//!
//! Three passes over the AST: `collect` finds functions, classes and imports; `define` resolves
//! what each variable and attribute is (`self._lock = threading.Lock()`, aliases, annotations);
//! `lower` turns each function body into scopes and events with every object resolved.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::comparable::ComparableExpr;
use ruff_python_ast::visitor::{walk_expr, Visitor};
use ruff_python_ast::{
    self as ast, Arguments, ExceptHandler, Expr, Number, Stmt, StmtFunctionDef, UnaryOp,
};
use ruff_text_size::{Ranged, TextRange};
use threadlint_rules::model::{
    AcquireHow, BlockingKind, BranchInfo, Condition, Event, EventKind, ExitKind, FileModel, FnId,
    Function, Language, LoopInfo, LoopKind, Node, ObjId, ObjKey, ObjKind, Read, Scope, ScopeKind,
    Span, SyncObject, ThreadEntry, WaitKind,
};

use super::modules::{self, ModulePath};
use super::names;
use threadlint_rules::model::ModuleInfo;
use threadlint_rules::project::ProjectIndex;

mod daemon;
mod escape;

/// Deeper nesting than this is not descended into: the model keeps what is above it.
const MAX_DEPTH: usize = 150;

fn span(range: TextRange) -> Span {
    Span::new(range.start().to_u32(), range.end().to_u32())
}

struct FnInfo<'a> {
    name: String,
    class: Option<usize>,
    parent: Option<FnId>,
    def: Option<&'a StmtFunctionDef>,
    body: &'a [Stmt],
    params: Vec<(String, Option<&'a Expr>)>,
    /// Names declared `global` (or `nonlocal`, which we treat alike: shared beyond the call).
    globals: HashSet<String>,
    /// Local names bound to objects (`lock = self._lock`, `t = Thread(...)`).
    locals: HashMap<String, ObjId>,
    /// Every name the body assigns, computed once on first use.
    assigned: std::cell::OnceCell<HashSet<String>>,
    /// The kind of object every `return` creates, for factories; computed once on first use.
    returns: std::cell::OnceCell<Option<ObjKind>>,
}

struct ClassInfo {
    name: String,
    bases: Vec<String>,
    methods: HashMap<String, FnId>,
}

pub struct Lowerer<'a> {
    source: &'a str,
    /// The file's module, when its package layout names it.
    module: Option<ModulePath>,
    /// What other files of the project define, for imported names.
    index: Option<&'a ProjectIndex>,
    /// Local name -> absolute name, for every import of the file.
    imports: HashMap<String, String>,
    /// The same, in source order (for the model's [`ModuleInfo`]).
    import_list: Vec<(String, String)>,
    functions: Vec<FnInfo<'a>>,
    classes: Vec<ClassInfo>,
    class_by_name: HashMap<String, usize>,
    /// Module-level functions by name.
    module_functions: HashMap<String, FnId>,
    /// Functions nested in another function, by (enclosing function, name).
    nested_functions: HashMap<(FnId, String), FnId>,
    objects: Vec<SyncObject>,
    object_by_key: HashMap<ObjKey, ObjId>,
    /// Attribute name -> kind, where every class of the file that defines the attribute agrees;
    /// used for receivers whose class is not known (`account.lock` with `account` a parameter).
    attribute_kinds: HashMap<String, Option<ObjKind>>,
    thread_entries: Vec<ThreadEntry>,
    /// Futures known to be finished (`for f in as_completed(...)`).
    done_futures: HashSet<ObjId>,
    /// Executors whose tasks run in other processes (`ProcessPoolExecutor`): what they run is
    /// not a thread entry.
    process_pools: HashSet<ObjId>,
    /// How many loops (or comprehensions) enclose the code being lowered: a hand-off to a
    /// thread there happens repeatedly.
    repeats: usize,
    /// Instantiations of the file's `Thread` subclasses: (class, inside a loop).
    thread_instantiations: Vec<(usize, bool)>,
    /// Objects a constructor call of the function that holds them creates (locals and
    /// temporaries), and those of them that escape it: see `escape.rs`.
    fresh: HashSet<ObjId>,
    escaped: HashSet<ObjId>,
    depth_exceeded: bool,
}

impl<'a> Lowerer<'a> {
    pub fn new(
        source: &'a str,
        module: Option<ModulePath>,
        index: Option<&'a ProjectIndex>,
    ) -> Self {
        Lowerer {
            source,
            module,
            index: index.filter(|index| !index.is_empty()),
            imports: HashMap::new(),
            import_list: Vec::new(),
            functions: Vec::new(),
            classes: Vec::new(),
            class_by_name: HashMap::new(),
            module_functions: HashMap::new(),
            nested_functions: HashMap::new(),
            objects: Vec::new(),
            object_by_key: HashMap::new(),
            attribute_kinds: HashMap::new(),
            thread_entries: Vec::new(),
            done_futures: HashSet::new(),
            process_pools: HashSet::new(),
            repeats: 0,
            thread_instantiations: Vec::new(),
            fresh: HashSet::new(),
            escaped: HashSet::new(),
            depth_exceeded: false,
        }
    }

    /// Lowers `module` into a model. `depth_exceeded` in the result tells that some deeply
    /// nested code was left out.
    pub fn lower(mut self, module: &'a [Stmt]) -> (FileModel, bool) {
        self.functions.push(FnInfo {
            name: "<module>".into(),
            class: None,
            parent: None,
            def: None,
            body: module,
            params: Vec::new(),
            globals: HashSet::new(),
            locals: HashMap::new(),
            assigned: std::cell::OnceCell::new(),
            returns: std::cell::OnceCell::new(),
        });
        self.collect(module, None, FnId(0), 0);
        for index in 0..self.functions.len() {
            let body = self.functions[index].body;
            self.define_body(FnId(index as u32), body, 0);
        }
        self.index_attribute_kinds();
        for (index, info) in self.functions.iter().enumerate() {
            if let (Some(parent), None) = (info.parent, info.class) {
                self.nested_functions
                    .entry((parent, info.name.clone()))
                    .or_insert(FnId(index as u32));
            }
        }
        self.find_thread_classes();
        let mut functions = Vec::with_capacity(self.functions.len());
        for index in 0..self.functions.len() {
            let id = FnId(index as u32);
            let body = self.functions[index].body;
            let nodes = self.lower_body(id, body, 0);
            let info = &self.functions[index];
            let (fn_span, name_span, is_async) = match info.def {
                Some(def) => (span(def.range), span(def.name.range), def.is_async),
                None => (
                    Span::new(0, self.source.len() as u32),
                    Span::new(0, 0),
                    false,
                ),
            };
            functions.push(Function {
                name: info.name.clone(),
                class: info.class.map(|c| self.classes[c].name.clone()),
                params: info.params.iter().map(|(n, _)| n.clone()).collect(),
                is_async,
                span: fn_span,
                name_span,
                body: nodes,
            });
        }
        self.mark_repeated_thread_classes();
        self.find_escapes();
        let mut factories: Vec<(String, ObjKind)> = self
            .module_functions
            .iter()
            .filter_map(|(name, &id)| Some((name.clone(), self.returned_kind(id)?)))
            .collect();
        factories.sort_by(|a, b| a.0.cmp(&b.0));
        let module = self.module.take().map(|module| ModuleInfo {
            path: module.name,
            imports: std::mem::take(&mut self.import_list),
            factories,
        });
        let model = FileModel {
            language: Language::Python,
            module,
            objects: self.objects,
            functions,
            thread_entries: self.thread_entries,
        };
        (model, self.depth_exceeded)
    }

    // ---------------------------------------------------------------- pass 1: collect

    fn collect(&mut self, body: &'a [Stmt], class: Option<usize>, parent: FnId, depth: usize) {
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return;
        }
        for stmt in body {
            match stmt {
                Stmt::Import(import) => {
                    for alias in &import.names {
                        let full = alias.name.id.as_str();
                        let (local, target) = match &alias.asname {
                            Some(asname) => (asname.id.to_string(), full.to_string()),
                            None => {
                                let first = full.split('.').next().unwrap_or(full);
                                (first.to_string(), first.to_string())
                            }
                        };
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
                        let absolute = format!("{module}.{name}");
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
                        globals: HashSet::new(),
                        locals: HashMap::new(),
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
                        methods: HashMap::new(),
                    });
                    self.class_by_name
                        .entry(def.name.id.to_string())
                        .or_insert(index);
                    // Class-level attributes: `lock = threading.Lock()` in the class body.
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
                                let kind = assign
                                    .value
                                    .as_deref()
                                    .and_then(|value| self.default_factory_kind(value))
                                    .or_else(|| self.annotation_kind(&assign.annotation));
                                if let Some(kind) = kind {
                                    let id = self.intern(key, name.id.to_string());
                                    self.set_kind(id, kind, span(assign.range));
                                } else if let Some(value) = &assign.value {
                                    self.define_from_value(FnId(0), key, value, &assign.target);
                                }
                            }
                            _ => {}
                        }
                    }
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

    fn find_thread_classes(&mut self) {
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
    fn mark_repeated_thread_classes(&mut self) {
        let mut runs: HashMap<FnId, (usize, bool)> = HashMap::new();
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

    fn is_thread_class(&self, class: usize, depth: usize) -> bool {
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

    // ---------------------------------------------------------------- names and objects

    /// The fully qualified name an expression refers to through the file's imports
    /// (`th.Lock` -> `threading.Lock`), or a class/function of this file by its own name.
    fn qualified_name(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(name) => {
                let id = name.id.as_str();
                if let Some(full) = self.imports.get(id) {
                    Some(full.clone())
                } else if id == "input" {
                    Some("input".into())
                } else {
                    Some(id.to_string()).filter(|id| self.class_by_name.contains_key(id))
                }
            }
            Expr::Attribute(attr) => {
                let base = self.qualified_name(&attr.value)?;
                Some(format!("{base}.{}", attr.attr.id))
            }
            _ => None,
        }
    }

    fn intern(&mut self, key: ObjKey, display: String) -> ObjId {
        if let Some(&id) = self.object_by_key.get(&key) {
            return id;
        }
        let id = ObjId(self.objects.len() as u32);
        self.objects.push(SyncObject {
            key: key.clone(),
            kind: ObjKind::Unknown,
            display,
            def: None,
            escapes: true,
            guarded_by: None,
            inferred: false,
        });
        self.object_by_key.insert(key, id);
        id
    }

    fn set_kind(&mut self, id: ObjId, kind: ObjKind, def: Span) {
        let object = &mut self.objects[id.0 as usize];
        if object.kind == ObjKind::Unknown {
            object.kind = kind;
            object.def = Some(def);
        }
    }

    fn text(&self, range: TextRange) -> &'a str {
        let source: &'a str = self.source;
        source
            .get(range.start().to_usize()..range.end().to_usize())
            .unwrap_or("")
    }

    fn self_name(&self, function: FnId) -> Option<&str> {
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
    fn defining_class(&self, class: usize, attr: &str) -> String {
        let mut current = class;
        for _ in 0..20 {
            let name = &self.classes[current].name;
            let key = ObjKey::Member {
                class: name.clone(),
                attr: attr.to_string(),
            };
            if self.object_by_key.contains_key(&key) {
                return name.clone();
            }
            match self.classes[current]
                .bases
                .iter()
                .find_map(|b| self.class_by_name.get(b).copied())
            {
                Some(base) if base != current => current = base,
                _ => break,
            }
        }
        self.classes[class].name.clone()
    }

    /// Where an assignment target lives, in the context of `function`.
    fn target_key(&self, function: FnId, target: &Expr) -> Option<(ObjKey, String)> {
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
    fn resolve(&mut self, function: FnId, expr: &Expr) -> Option<ObjId> {
        match expr {
            Expr::Name(name) => self.resolve_name(function, name.id.as_str(), expr.range()),
            Expr::Attribute(attr) => {
                let attr_name = attr.attr.id.as_str();
                let display = self.text(expr.range()).to_string();
                if let Some((key, _)) = self.target_key(function, expr) {
                    let id = self.intern(key, display);
                    self.fill_from_attribute_index(id, attr_name);
                    return Some(id);
                }
                // A path below a parameter or a local: `account.lock`.
                let (root, path) = attribute_path(expr)?;
                let info = &self.functions[function.0 as usize];
                let key = if let Some(index) = info.params.iter().position(|(n, _)| n == root) {
                    if info.locals.contains_key(root) {
                        return None;
                    }
                    ObjKey::Param {
                        function,
                        index: index as u32,
                        path: path.iter().map(|s| s.to_string()).collect(),
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
            Expr::Call(call) => {
                let qualified = self.qualified_name(&call.func)?;
                let kind = self.constructed_kind(function, &qualified, &call.arguments)?;
                let key = ObjKey::Other(format!("{}@{}", qualified, call.range().start().to_u32()));
                let id = self.intern(key, self.text(call.range()).to_string());
                self.set_kind(id, kind, span(call.range()));
                self.fresh.insert(id);
                if names::is_process_pool(&qualified) {
                    self.process_pools.insert(id);
                }
                Some(id)
            }
            _ => None,
        }
    }

    fn fill_from_attribute_index(&mut self, id: ObjId, attr: &str) {
        if self.objects[id.0 as usize].kind == ObjKind::Unknown {
            if let Some(Some(kind)) = self.attribute_kinds.get(attr) {
                self.objects[id.0 as usize].kind = *kind;
            }
        }
    }

    fn resolve_name(&mut self, function: FnId, name: &str, range: TextRange) -> Option<ObjId> {
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
    fn imported_object(&mut self, absolute: &str, display: &str, depth: usize) -> Option<ObjId> {
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
    fn external_callee(&self, callee: &Expr) -> Option<String> {
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

    fn annotation_kind(&self, annotation: &Expr) -> Option<ObjKind> {
        let qualified = match annotation {
            Expr::StringLiteral(s) => s.value.to_str().to_string(),
            other => self.qualified_name(other)?,
        };
        names::constructor_kind(&qualified).or_else(|| {
            let class = self.class_by_name.get(&qualified)?;
            self.is_thread_class(*class, 0)
                .then_some(ObjKind::Thread { daemon: false })
        })
    }

    /// `field(default_factory=threading.Lock)` (dataclasses, attrs and pydantic spell it
    /// alike): the kind each instance gets.
    fn default_factory_kind(&self, value: &Expr) -> Option<ObjKind> {
        let Expr::Call(call) = value else { return None };
        let factory = call.arguments.find_keyword("default_factory")?;
        let qualified = self.qualified_name(&factory.value)?;
        names::constructor_kind(&qualified).map(generic_kind)
    }

    /// What a call of a function of this file or of another module of the project returns,
    /// when that function is a factory (`def make_lock(): return threading.Lock()`).
    fn factory_kind(&self, function: FnId, callee: &Expr) -> Option<ObjKind> {
        if let Some(id) = self.resolve_function(function, callee) {
            return self.returned_kind(id);
        }
        let absolute = self.external_callee(callee)?;
        let export = self.index?.object(&absolute)?;
        export.factory.then_some(export.kind)
    }

    /// The kind every `return` of `function` creates, when they all create the same kind of
    /// object (computed once, on first use).
    fn returned_kind(&self, function: FnId) -> Option<ObjKind> {
        let info = &self.functions[function.0 as usize];
        *info.returns.get_or_init(|| {
            info.def?;
            let mut returns = Vec::new();
            collect_returns(info.body, &mut returns, 0);
            let created = |value: &Option<&Expr>| {
                let Some(Expr::Call(call)) = value else {
                    return None;
                };
                let qualified = self.qualified_name(&call.func)?;
                names::constructor_kind(&qualified).map(generic_kind)
            };
            let kind = created(returns.first()?)?;
            returns
                .iter()
                .all(|value| created(value) == Some(kind))
                .then_some(kind)
        })
    }

    /// The kind of object `qualified(args)` creates, looking at the arguments that matter.
    fn constructed_kind(
        &mut self,
        function: FnId,
        qualified: &str,
        args: &Arguments,
    ) -> Option<ObjKind> {
        let base = match names::constructor_kind(qualified) {
            Some(kind) => kind,
            None => {
                let class = *self.class_by_name.get(qualified)?;
                if self.is_thread_class(class, 0) {
                    ObjKind::Thread { daemon: false }
                } else {
                    return None;
                }
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
            other => other,
        })
    }

    fn index_attribute_kinds(&mut self) {
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
                            *k = None
                        }
                    })
                    .or_insert(Some(generic));
            }
        }
    }

    // ---------------------------------------------------------------- pass 2: define

    fn define_body(&mut self, function: FnId, body: &'a [Stmt], depth: usize) {
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
                    }
                }
                Stmt::AnnAssign(assign) => {
                    if let Some((key, display)) = self.target_key(function, &assign.target) {
                        if let Some(value) = &assign.value {
                            self.define_from_value(function, key.clone(), value, &assign.target)
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
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                _ => {
                    for child in child_bodies(stmt) {
                        self.define_body(function, child, depth + 1);
                    }
                }
            }
        }
    }

    /// `target = value`: records what `target` is when `value` creates or names an object.
    fn define_from_value(&mut self, function: FnId, key: ObjKey, value: &Expr, target: &Expr) {
        let display = self.text(target.range()).to_string();
        match value {
            Expr::Call(call) => {
                if let Some(qualified) = self.qualified_name(&call.func) {
                    if let Some(kind) = self.constructed_kind(function, &qualified, &call.arguments)
                    {
                        let local = matches!(key, ObjKey::Local { .. });
                        let id = self.intern(key, display);
                        self.set_kind(id, kind, span(call.range()));
                        if local {
                            self.fresh.insert(id);
                        }
                        if names::is_process_pool(&qualified) {
                            self.process_pools.insert(id);
                        }
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
                if let Expr::Attribute(method) = &*call.func {
                    if method.attr.id.as_str() == "submit" {
                        if let Some(executor) = self.resolve(function, &method.value) {
                            if self.objects[executor.0 as usize].kind == ObjKind::Executor {
                                let id = self.intern(key, display);
                                self.set_kind(id, ObjKind::Future, span(call.range()));
                            }
                        }
                    }
                }
            }
            Expr::Name(_) | Expr::Attribute(_) => {
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

/// Reduces a kind to what an unknown receiver with that attribute name can be assumed to be.
fn generic_kind(kind: ObjKind) -> ObjKind {
    match kind {
        // The lock a condition shares is known only through the defining class.
        ObjKind::Condition { .. } => ObjKind::Condition { lock: None },
        other => other,
    }
}

/// `a.b.c` -> ("a", ["b", "c"]).
fn attribute_path(expr: &Expr) -> Option<(&str, Vec<&str>)> {
    let mut path = Vec::new();
    let mut current = expr;
    loop {
        match current {
            Expr::Attribute(attr) => {
                path.push(attr.attr.id.as_str());
                current = &attr.value;
            }
            Expr::Name(name) => {
                path.reverse();
                return Some((name.id.as_str(), path));
            }
            _ => return None,
        }
    }
}

/// The statement bodies nested in a compound statement (not function or class bodies).
fn child_bodies(stmt: &Stmt) -> Vec<&[Stmt]> {
    match stmt {
        Stmt::If(s) => {
            let mut bodies = vec![&s.body[..]];
            bodies.extend(s.elif_else_clauses.iter().map(|c| &c.body[..]));
            bodies
        }
        Stmt::While(s) => vec![&s.body[..], &s.orelse[..]],
        Stmt::For(s) => vec![&s.body[..], &s.orelse[..]],
        Stmt::With(s) => vec![&s.body[..]],
        Stmt::Try(s) => {
            let mut bodies = vec![&s.body[..]];
            bodies.extend(
                s.handlers
                    .iter()
                    .map(|ExceptHandler::ExceptHandler(h)| &h.body[..]),
            );
            bodies.push(&s.orelse[..]);
            bodies.push(&s.finalbody[..]);
            bodies
        }
        Stmt::Match(s) => s.cases.iter().map(|c| &c.body[..]).collect(),
        _ => Vec::new(),
    }
}

fn is_constant_true(expr: &Expr) -> bool {
    match expr {
        Expr::BooleanLiteral(b) => b.value,
        Expr::NumberLiteral(n) => matches!(&n.value, Number::Int(i) if i.as_u64() != Some(0)),
        _ => false,
    }
}

fn is_false_literal(expr: &Expr) -> bool {
    match expr {
        Expr::BooleanLiteral(b) => !b.value,
        Expr::NumberLiteral(n) => matches!(&n.value, Number::Int(i) if i.as_u64() == Some(0)),
        _ => false,
    }
}

// -------------------------------------------------------------------- pass 3: lower

impl<'a> Lowerer<'a> {
    fn lower_body(&mut self, function: FnId, body: &'a [Stmt], depth: usize) -> Vec<Node> {
        let mut nodes = Vec::new();
        if depth > MAX_DEPTH {
            self.depth_exceeded = true;
            return nodes;
        }
        for stmt in body {
            self.lower_stmt(function, stmt, depth, &mut nodes);
        }
        nodes
    }

    fn scope(
        &mut self,
        kind: ScopeKind,
        whole: TextRange,
        keyword: Span,
        body: Vec<Node>,
        statements: usize,
    ) -> Node {
        Node::Scope(Scope {
            kind,
            span: span(whole),
            keyword,
            statements: statements as u32,
            body,
        })
    }

    fn keyword_span(&self, start: TextRange, keyword: &str) -> Span {
        let start = start.start().to_u32();
        Span::new(start, start + keyword.len() as u32)
    }

    fn lower_stmt(&mut self, function: FnId, stmt: &'a Stmt, depth: usize, out: &mut Vec<Node>) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Expr(expr_stmt) => {
                let statement = Some(span(expr_stmt.range));
                self.lower_expr(function, &expr_stmt.value, statement, out);
            }
            Stmt::Assign(assign) => {
                self.lower_expr(function, &assign.value, None, out);
                for target in &assign.targets {
                    self.lower_write(
                        function,
                        target,
                        Some(&assign.value),
                        span(assign.range),
                        out,
                    );
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.lower_expr(function, value, None, out);
                    self.lower_write(
                        function,
                        &assign.target,
                        Some(value),
                        span(assign.range),
                        out,
                    );
                }
            }
            Stmt::AugAssign(assign) => {
                self.lower_expr(function, &assign.value, None, out);
                self.lower_write(function, &assign.target, None, span(assign.range), out);
            }
            Stmt::Return(ret) => {
                if let Some(value) = &ret.value {
                    self.lower_expr(function, value, None, out);
                }
                out.push(exit(ExitKind::Return, ret.range));
            }
            Stmt::Raise(raise) => {
                if let Some(exc) = &raise.exc {
                    self.lower_expr(function, exc, None, out);
                }
                out.push(exit(ExitKind::Raise, raise.range));
            }
            Stmt::Break(b) => out.push(exit(ExitKind::Break, b.range)),
            Stmt::Continue(c) => out.push(exit(ExitKind::Continue, c.range)),
            Stmt::If(if_stmt) => self.lower_if(function, if_stmt, depth, out),
            Stmt::While(while_stmt) => {
                let mut body = Vec::new();
                let infinite = is_constant_true(&while_stmt.test);
                if !infinite {
                    self.lower_expr(function, &while_stmt.test, None, &mut body);
                }
                self.repeats += 1;
                body.extend(self.lower_body(function, &while_stmt.body, depth + 1));
                self.repeats -= 1;
                let condition = if infinite {
                    Condition::default()
                } else {
                    self.condition(function, &while_stmt.test)
                };
                let info = LoopInfo {
                    kind: if infinite {
                        LoopKind::Infinite
                    } else {
                        LoopKind::While
                    },
                    condition,
                    assigned: assigned_names(&while_stmt.body),
                };
                let keyword = self.keyword_span(while_stmt.range, "while");
                let node = self.scope(
                    ScopeKind::Loop(info),
                    while_stmt.range,
                    keyword,
                    body,
                    while_stmt.body.len(),
                );
                out.push(node);
                out.extend(self.lower_body(function, &while_stmt.orelse, depth + 1));
            }
            Stmt::For(for_stmt) => {
                self.lower_expr(function, &for_stmt.iter, None, out);
                self.repeats += 1;
                let body = self.lower_body(function, &for_stmt.body, depth + 1);
                self.repeats -= 1;
                let info = LoopInfo {
                    kind: LoopKind::For,
                    condition: Condition::default(),
                    assigned: assigned_names(&for_stmt.body),
                };
                let keyword = self.keyword_span(
                    for_stmt.range,
                    if for_stmt.is_async {
                        "async for"
                    } else {
                        "for"
                    },
                );
                if for_stmt.is_async {
                    // Each step of an `async for` awaits the iterator.
                    out.push(Node::Event(Event {
                        kind: EventKind::Await,
                        span: keyword,
                        statement: None,
                    }));
                }
                let node = self.scope(
                    ScopeKind::Loop(info),
                    for_stmt.range,
                    keyword,
                    body,
                    for_stmt.body.len(),
                );
                out.push(node);
                out.extend(self.lower_body(function, &for_stmt.orelse, depth + 1));
            }
            Stmt::With(with) => {
                let mut body = Vec::new();
                for item in &with.items {
                    self.lower_with_item(function, item, with.is_async, &mut body);
                }
                body.extend(self.lower_body(function, &with.body, depth + 1));
                self.shut_down_with_items(function, with, &mut body);
                let keyword = self.keyword_span(
                    with.range,
                    if with.is_async { "async with" } else { "with" },
                );
                let node = self.scope(ScopeKind::With, with.range, keyword, body, with.body.len());
                out.push(node);
            }
            Stmt::Try(try_stmt) => {
                let mut parts = Vec::new();
                let keyword = self.keyword_span(try_stmt.range, "try");
                let body = self.lower_body(function, &try_stmt.body, depth + 1);
                parts.push(self.scope(
                    ScopeKind::Try,
                    suite_range(&try_stmt.body, try_stmt.range),
                    keyword,
                    body,
                    try_stmt.body.len(),
                ));
                for ExceptHandler::ExceptHandler(handler) in &try_stmt.handlers {
                    let body = self.lower_body(function, &handler.body, depth + 1);
                    let keyword = self.keyword_span(handler.range, "except");
                    parts.push(self.scope(
                        ScopeKind::Except,
                        handler.range,
                        keyword,
                        body,
                        handler.body.len(),
                    ));
                }
                if !try_stmt.orelse.is_empty() {
                    let body = self.lower_body(function, &try_stmt.orelse, depth + 1);
                    let range = suite_range(&try_stmt.orelse, try_stmt.range);
                    let keyword = Span::new(range.start().to_u32(), range.start().to_u32());
                    parts.push(self.scope(
                        ScopeKind::TryElse,
                        range,
                        keyword,
                        body,
                        try_stmt.orelse.len(),
                    ));
                }
                if !try_stmt.finalbody.is_empty() {
                    let body = self.lower_body(function, &try_stmt.finalbody, depth + 1);
                    let range = suite_range(&try_stmt.finalbody, try_stmt.range);
                    let keyword = self.finally_keyword(range);
                    let whole = TextRange::new((keyword.start).into(), range.end());
                    parts.push(self.scope(
                        ScopeKind::Finally,
                        whole,
                        keyword,
                        body,
                        try_stmt.finalbody.len(),
                    ));
                }
                let node = self.scope(ScopeKind::TryStatement, try_stmt.range, keyword, parts, 1);
                out.push(node);
            }
            Stmt::Match(match_stmt) => {
                self.lower_expr(function, &match_stmt.subject, None, out);
                for (index, case) in match_stmt.cases.iter().enumerate() {
                    let body = self.lower_body(function, &case.body, depth + 1);
                    let info = BranchInfo {
                        first: index == 0,
                        has_else: match_stmt.cases.len() > 1,
                        condition: Condition::default(),
                        exits: exits(&case.body),
                        acquire_test: None,
                    };
                    let keyword = self.keyword_span(case.range, "case");
                    let node = self.scope(
                        ScopeKind::Branch(info),
                        case.range,
                        keyword,
                        body,
                        case.body.len(),
                    );
                    out.push(node);
                }
            }
            Stmt::Assert(assert) => self.lower_expr(function, &assert.test, None, out),
            Stmt::Delete(_)
            | Stmt::Pass(_)
            | Stmt::Import(_)
            | Stmt::ImportFrom(_)
            | Stmt::Global(_)
            | Stmt::Nonlocal(_)
            | Stmt::TypeAlias(_)
            | Stmt::IpyEscapeCommand(_) => {}
        }
    }

    /// The span of the `finally` keyword that precedes a `finally:` suite.
    fn finally_keyword(&self, suite: TextRange) -> Span {
        let before = &self.source[..suite.start().to_usize()];
        match before.rfind("finally") {
            Some(pos) => Span::new(pos as u32, (pos + "finally".len()) as u32),
            None => Span::new(suite.start().to_u32(), suite.start().to_u32()),
        }
    }

    fn lower_if(
        &mut self,
        function: FnId,
        if_stmt: &'a ast::StmtIf,
        depth: usize,
        out: &mut Vec<Node>,
    ) {
        self.lower_expr(function, &if_stmt.test, None, out);
        let has_else = !if_stmt.elif_else_clauses.is_empty();
        let acquire_test = self.acquire_test(function, &if_stmt.test);
        let body = self.lower_body(function, &if_stmt.body, depth + 1);
        let body_end = if_stmt
            .body
            .last()
            .map_or(if_stmt.range.end(), |s| s.range().end());
        let info = BranchInfo {
            first: true,
            has_else,
            condition: self.condition(function, &if_stmt.test),
            exits: exits(&if_stmt.body),
            acquire_test,
        };
        let keyword = self.keyword_span(if_stmt.range, "if");
        let node = self.scope(
            ScopeKind::Branch(info),
            TextRange::new(if_stmt.range.start(), body_end),
            keyword,
            body,
            if_stmt.body.len(),
        );
        out.push(node);
        for clause in &if_stmt.elif_else_clauses {
            let mut body = Vec::new();
            if let Some(test) = &clause.test {
                self.lower_expr(function, test, None, &mut body);
            }
            body.extend(self.lower_body(function, &clause.body, depth + 1));
            let condition = match &clause.test {
                Some(test) => self.condition(function, test),
                None => Condition::default(),
            };
            let info = BranchInfo {
                first: false,
                has_else: true,
                condition,
                exits: exits(&clause.body),
                acquire_test: None,
            };
            let word = if clause.test.is_some() {
                "elif"
            } else {
                "else"
            };
            let keyword = self.keyword_span(clause.range, word);
            let node = self.scope(
                ScopeKind::Branch(info),
                clause.range,
                keyword,
                body,
                clause.body.len(),
            );
            out.push(node);
        }
    }

    /// `if lock.acquire(...)` / `if not lock.acquire(...)`.
    fn acquire_test(&mut self, function: FnId, test: &Expr) -> Option<(ObjId, bool)> {
        let (call, negated) = match test {
            Expr::UnaryOp(unary) if unary.op == UnaryOp::Not => (&*unary.operand, true),
            other => (other, false),
        };
        let Expr::Call(call) = call else { return None };
        let Expr::Attribute(method) = &*call.func else {
            return None;
        };
        if method.attr.id.as_str() != "acquire" {
            return None;
        }
        let obj = self.resolve(function, &method.value)?;
        self.objects[obj.0 as usize]
            .kind
            .is_lock_like()
            .then_some((obj, negated))
    }

    fn condition(&mut self, function: FnId, test: &Expr) -> Condition {
        let mut reads = Vec::new();
        self.condition_reads(function, test, &mut reads, 0);
        Condition {
            reads,
            span: Some(span(test.range())),
        }
    }

    fn condition_reads(
        &mut self,
        function: FnId,
        expr: &Expr,
        reads: &mut Vec<Read>,
        depth: usize,
    ) {
        if depth > 50 {
            return;
        }
        match expr {
            Expr::Name(name) => {
                let id = name.id.to_string();
                let info = &self.functions[function.0 as usize];
                let is_local = function.0 != 0
                    && !info.globals.contains(&id)
                    && (info.params.iter().any(|(p, _)| *p == id)
                        || self.assigned_in(function).contains(&id));
                reads.push(if is_local {
                    Read::Local(id)
                } else {
                    Read::Shared(id)
                });
            }
            Expr::Attribute(_) => reads.push(Read::Shared(self.text(expr.range()).to_string())),
            Expr::Subscript(sub) => {
                self.condition_reads(function, &sub.value, reads, depth + 1);
                self.condition_reads(function, &sub.slice, reads, depth + 1);
            }
            Expr::Call(call) => {
                // A query of a known object's state (`stop.is_set()`), the clock, or any call.
                if let Expr::Attribute(method) = &*call.func {
                    if let Some(obj) = self.resolve(function, &method.value) {
                        let name = method.attr.id.as_str();
                        if names::is_state_query(self.objects[obj.0 as usize].kind, name) {
                            reads.push(Read::Query {
                                obj,
                                method: name.to_string(),
                            });
                            return;
                        }
                    }
                }
                if self
                    .qualified_name(&call.func)
                    .is_some_and(|q| names::is_clock(&q))
                {
                    reads.push(Read::Clock);
                    return;
                }
                reads.push(Read::Call(self.text(call.func.range()).to_string()));
            }
            Expr::BoolOp(op) => {
                for value in &op.values {
                    self.condition_reads(function, value, reads, depth + 1);
                }
            }
            Expr::UnaryOp(op) => self.condition_reads(function, &op.operand, reads, depth + 1),
            Expr::Compare(cmp) => {
                let mut compared = Vec::new();
                self.condition_reads(function, &cmp.left, &mut compared, depth + 1);
                for c in &cmp.comparators {
                    self.condition_reads(function, c, &mut compared, depth + 1);
                }
                // A comparison with the clock is a deadline test: what it compares against is
                // the deadline, not state another thread changes.
                if compared.contains(&Read::Clock) {
                    reads.push(Read::Clock);
                } else {
                    reads.extend(compared);
                }
            }
            Expr::BinOp(op) => {
                self.condition_reads(function, &op.left, reads, depth + 1);
                self.condition_reads(function, &op.right, reads, depth + 1);
            }
            Expr::Named(named) => self.condition_reads(function, &named.value, reads, depth + 1),
            Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_) => reads.push(Read::Constant),
            _ => reads.push(Read::Shared(self.text(expr.range()).to_string())),
        }
    }

    /// The end of `with ThreadPoolExecutor() as ex:` (or `with ex:`) shuts the executor down
    /// and waits for its tasks. The events close the block's body; their span is the `with`
    /// keyword (the block's end is the last statement's end, which belongs to that statement).
    fn shut_down_with_items(
        &mut self,
        function: FnId,
        with: &'a ast::StmtWith,
        out: &mut Vec<Node>,
    ) {
        let keyword = self.keyword_span(
            with.range,
            if with.is_async { "async with" } else { "with" },
        );
        for item in &with.items {
            let target = item
                .optional_vars
                .as_deref()
                .and_then(|t| self.resolve(function, t));
            let context = self.resolve(function, &item.context_expr);
            for obj in [target, context].into_iter().flatten() {
                if self.objects[obj.0 as usize].kind == ObjKind::Executor {
                    for kind in [EventKind::Shutdown { obj }, EventKind::Synchronize] {
                        out.push(Node::Event(Event {
                            kind,
                            span: keyword,
                            statement: None,
                        }));
                    }
                }
            }
        }
    }

    fn lower_with_item(
        &mut self,
        function: FnId,
        item: &'a ast::WithItem,
        is_async: bool,
        out: &mut Vec<Node>,
    ) {
        let context = &item.context_expr;
        // Calls inside the context expression happen first (`with pool.get_lock():`).
        if let Expr::Call(_) = context {
            self.lower_expr(function, context, None, out);
        }
        if is_async {
            out.push(Node::Event(Event {
                kind: EventKind::Await,
                span: span(item.range),
                statement: None,
            }));
        }
        if let Some(obj) = self.resolve(function, context) {
            if self.objects[obj.0 as usize].kind.is_lock_like() {
                out.push(Node::Event(Event {
                    kind: EventKind::Acquire {
                        obj,
                        how: AcquireHow::Scoped,
                        receiver: span(context.range()),
                        shared: false,
                    },
                    span: span(context.range()),
                    statement: None,
                }));
            }
        }
    }

    /// A write to `target`; `value` is the assigned value (`None` for augmented assignment).
    fn lower_write(
        &mut self,
        function: FnId,
        target: &Expr,
        value: Option<&Expr>,
        stmt: Span,
        out: &mut Vec<Node>,
    ) {
        let read_modify_write = match value {
            None => true,
            Some(value) => reads_expression(value, target),
        };
        let shared = match target {
            Expr::Name(name) => {
                function.0 != 0
                    && self.functions[function.0 as usize]
                        .globals
                        .contains(name.id.as_str())
            }
            Expr::Attribute(_) => {
                let root = attribute_path(target).map(|(root, _)| root);
                root.is_some_and(|root| {
                    Some(root) == self.self_name(function)
                        || self.functions[function.0 as usize].globals.contains(root)
                        || self.is_module_global(function, root)
                })
            }
            Expr::Subscript(sub) => match &*sub.value {
                Expr::Name(name) => {
                    let info = &self.functions[function.0 as usize];
                    function.0 != 0
                        && (info.globals.contains(name.id.as_str())
                            || self.is_module_global(function, name.id.as_str()))
                }
                Expr::Attribute(_) => attribute_path(&sub.value)
                    .is_some_and(|(root, _)| Some(root) == self.self_name(function)),
                _ => false,
            },
            _ => false,
        };
        if shared && function.0 != 0 {
            let obj = self.written_object(function, target);
            out.push(Node::Event(Event {
                kind: EventKind::SharedWrite {
                    target: self.text(target.range()).to_string(),
                    obj,
                    read_modify_write,
                },
                span: stmt,
                statement: Some(stmt),
            }));
        }
    }

    /// The object a shared write changes: a global, a `self` attribute (a class member), or
    /// the container of an item write (`d` in `d[k] += 1`).
    fn written_object(&mut self, function: FnId, target: &Expr) -> Option<ObjId> {
        let place = match target {
            Expr::Subscript(sub) => &*sub.value,
            other => other,
        };
        let display = self.text(place.range()).to_string();
        let key = match place {
            Expr::Name(name) => ObjKey::Global(name.id.to_string()),
            Expr::Attribute(_) => {
                let (root, path) = attribute_path(place)?;
                if Some(root) == self.self_name(function) {
                    self.target_key(function, place)?.0
                } else {
                    ObjKey::Global(format!("{root}.{}", path.join(".")))
                }
            }
            _ => return None,
        };
        Some(self.intern(key, display))
    }

    /// A module-level name read (not assigned) inside `function`.
    fn is_module_global(&self, function: FnId, name: &str) -> bool {
        let info = &self.functions[function.0 as usize];
        if info.params.iter().any(|(p, _)| p == name) || self.assigned_in(function).contains(name) {
            return false;
        }
        self.assigned_in(FnId(0)).contains(name)
    }

    /// The names `function`'s body assigns (cached).
    fn assigned_in(&self, function: FnId) -> &HashSet<String> {
        let info = &self.functions[function.0 as usize];
        info.assigned
            .get_or_init(|| assigned_names(info.body).into_iter().collect())
    }

    fn lower_expr(
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
            comprehensions: 0,
        };
        collector.visit_expr(expr);
        if collector.exceeded {
            self.depth_exceeded = true;
        }
        let CallCollector { calls, awaits, .. } = collector;
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

    fn lower_call(
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
                if let Some(event) = method_event(
                    kind,
                    name,
                    args,
                    obj,
                    receiver,
                    self.done_futures.contains(&obj),
                ) {
                    let synchronizes = matches!(
                        (kind, name),
                        (ObjKind::Thread { .. }, "join")
                            | (ObjKind::Future, "result" | "exception")
                            | (ObjKind::Event, "wait")
                            | (ObjKind::Barrier { .. }, "wait")
                            | (ObjKind::Executor, "shutdown")
                            | (ObjKind::Queue { .. }, "get" | "join")
                    );
                    let only_synchronizes = matches!(event, EventKind::Synchronize);
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
                    push(out, EventKind::Submit { target });
                    return;
                }
            }
            // `threading.Thread(target=f).start()`
            if name == "start" {
                if let Expr::Call(inner) = &*method.value {
                    if let Some(q) = self.qualified_name(&inner.func) {
                        if matches!(names::constructor_kind(&q), Some(ObjKind::Thread { .. })) {
                            push(out, EventKind::ThreadStart { obj: None });
                            return;
                        }
                    }
                }
            }
            // `self.method(...)` / `Class.method(...)`: a call within the file.
            if let Some(callee) = self.resolve_method_call(function, method) {
                push(out, EventKind::Call { callee });
                return;
            }
        }
        if let Some(qualified) = self.qualified_name(&call.func) {
            if names::is_sleep(&qualified) {
                push(out, EventKind::Sleep);
                return;
            }
            if let Some((kind, keyword)) = names::blocking_function(&qualified) {
                let timeout = !keyword.is_empty() && has_real_argument(args, keyword, usize::MAX);
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
        if let Expr::Name(name) = &*call.func {
            if let Some(callee) = self.resolve_plain_function(function, name.id.as_str()) {
                push(out, EventKind::Call { callee });
                return;
            }
        }
        if let Some(callee) = self.external_callee(&call.func) {
            push(out, EventKind::ExternalCall { callee });
        }
    }

    /// `f` or `self.m` or `Class.m` as a function of this file.
    fn resolve_function(&self, function: FnId, expr: &Expr) -> Option<FnId> {
        match expr {
            Expr::Name(name) => self.resolve_plain_function(function, name.id.as_str()),
            Expr::Attribute(method) => self.resolve_method_call(function, method),
            _ => None,
        }
    }

    fn resolve_plain_function(&self, function: FnId, name: &str) -> Option<FnId> {
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

    fn resolve_method_call(&self, function: FnId, method: &ast::ExprAttribute) -> Option<FnId> {
        let Expr::Name(receiver) = &*method.value else {
            return None;
        };
        let receiver = receiver.id.as_str();
        let name = method.attr.id.as_str();
        let class = if Some(receiver) == self.self_name(function) || receiver == "cls" {
            self.functions[function.0 as usize].class?
        } else {
            *self.class_by_name.get(receiver)?
        };
        self.method_of(class, name)
    }

    /// The method `name` of `class`: its own, or the first of its bases of this file that has it.
    fn method_of(&self, class: usize, name: &str) -> Option<FnId> {
        let mut current = class;
        for _ in 0..20 {
            if let Some(&id) = self.classes[current].methods.get(name) {
                return Some(id);
            }
            current = self.classes[current]
                .bases
                .iter()
                .find_map(|b| self.class_by_name.get(b).copied())
                .filter(|&b| b != current)?;
        }
        None
    }
}

/// The event for `obj.name(args)` given what `obj` is.
fn method_event(
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

/// The argument is passed and is not `None` (nor `-1` for a timeout).
fn has_real_argument(args: &Arguments, keyword: &str, position: usize) -> bool {
    args.find_argument_value(keyword, position).is_some_and(|value| {
        !value.is_none_literal_expr()
            && !matches!(value, Expr::UnaryOp(u) if u.op == UnaryOp::USub && matches!(&*u.operand, Expr::NumberLiteral(_)))
    })
}

/// Collects the calls of an expression in evaluation order (inner calls first) and its awaits.
struct CallCollector<'a> {
    /// Each call, and whether it is inside a comprehension (runs once per item).
    calls: Vec<(&'a ast::ExprCall, bool)>,
    awaits: Vec<TextRange>,
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
            Expr::Await(_) => {
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

/// The value of every `return` of a body (`None` for a bare `return`), not descending into
/// nested functions or classes.
fn collect_returns<'a>(body: &'a [Stmt], out: &mut Vec<Option<&'a Expr>>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for stmt in body {
        match stmt {
            Stmt::Return(ret) => out.push(ret.value.as_deref()),
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            other => {
                for child in child_bodies(other) {
                    collect_returns(child, out, depth + 1);
                }
            }
        }
    }
}

fn exit(kind: ExitKind, range: TextRange) -> Node {
    Node::Event(Event {
        kind: EventKind::Exit(kind),
        span: span(range),
        statement: Some(span(range)),
    })
}

/// How a suite ends, when its last statement leaves the enclosing block.
fn exits(body: &[Stmt]) -> Option<ExitKind> {
    body.iter().find_map(|stmt| match stmt {
        Stmt::Break(_) => Some(ExitKind::Break),
        Stmt::Continue(_) => Some(ExitKind::Continue),
        Stmt::Return(_) => Some(ExitKind::Return),
        Stmt::Raise(_) => Some(ExitKind::Raise),
        _ => None,
    })
}

fn suite_range(suite: &[Stmt], fallback: TextRange) -> TextRange {
    match (suite.first(), suite.last()) {
        (Some(first), Some(last)) => TextRange::new(first.range().start(), last.range().end()),
        _ => fallback,
    }
}

/// Local names a body assigns (not descending into nested functions or classes).
fn assigned_names(body: &[Stmt]) -> Vec<String> {
    fn target_names(target: &Expr, out: &mut Vec<String>) {
        match target {
            Expr::Name(name) => out.push(name.id.to_string()),
            Expr::Tuple(t) => t.elts.iter().for_each(|e| target_names(e, out)),
            Expr::List(l) => l.elts.iter().for_each(|e| target_names(e, out)),
            Expr::Starred(s) => target_names(&s.value, out),
            _ => {}
        }
    }
    fn go(body: &[Stmt], out: &mut Vec<String>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for stmt in body {
            match stmt {
                Stmt::Assign(a) => a.targets.iter().for_each(|t| target_names(t, out)),
                Stmt::AugAssign(a) => target_names(&a.target, out),
                Stmt::AnnAssign(a) if a.value.is_some() => target_names(&a.target, out),
                Stmt::For(f) => target_names(&f.target, out),
                Stmt::With(w) => w
                    .items
                    .iter()
                    .filter_map(|i| i.optional_vars.as_deref())
                    .for_each(|t| target_names(t, out)),
                _ => {}
            }
            for child in child_bodies(stmt) {
                go(child, out, depth + 1);
            }
        }
    }
    let mut out = Vec::new();
    go(body, &mut out, 0);
    out
}

/// Whether `value` reads `target` (`self.n = self.n + 1`), comparing expressions structurally.
fn reads_expression(value: &Expr, target: &Expr) -> bool {
    struct Finder<'t> {
        wanted: ComparableExpr<'t>,
        found: bool,
        depth: usize,
    }
    impl<'a> Visitor<'a> for Finder<'_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.found || self.depth > MAX_DEPTH {
                return;
            }
            if matches!(
                expr,
                Expr::Name(_) | Expr::Attribute(_) | Expr::Subscript(_)
            ) && ComparableExpr::from(expr) == self.wanted
            {
                self.found = true;
                return;
            }
            self.depth += 1;
            walk_expr(self, expr);
            self.depth -= 1;
        }
    }
    let mut finder = Finder {
        wanted: ComparableExpr::from(target),
        found: false,
        depth: 0,
    };
    finder.visit_expr(value);
    finder.found
}
