//! The project index: what each module of the project defines at its top level, joined across
//! files, so that an imported name resolves to the object another file creates.
//!
//! Each file's [`LockSummary`](crate::lock_order::LockSummary) carries its module path, its
//! module-level objects with their kinds ([`ExportedObject`]) and the names it binds by importing
//! them. The index joins those: an absolute dotted name (`shop.jobs.LOCK`) resolves to the module
//! that defines the object, following re-exports (`from .locks import LOCK` in `shop/jobs.py`,
//! `from shop.jobs import LOCK` elsewhere) up to a fixed depth, so cycles of imports end.

use rustc_hash::FxHashMap as HashMap;

use crate::lock_order::LockSummary;
use crate::model::{ClassSummary, FileModel, ObjKey, ObjKind};

/// A module-level object of one file, as other files see it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportedObject {
    /// The defining module (`shop.locks`).
    pub module: String,
    /// Its name there (`LOCK`).
    pub name: String,
    /// What it is. A `Condition` over an explicit lock is exported with `lock: None` and the
    /// lock named in `condition_lock`: object numbers mean nothing outside their file.
    pub kind: ObjKind,
    /// For a `Condition(lock)` whose lock is another top-level object of the same module: that
    /// object's name.
    pub condition_lock: Option<String>,
    /// A function that returns a new object of `kind` on each call, not an object itself.
    #[serde(default)]
    pub factory: bool,
    /// A function that does nothing but sleep (`async fn sleep(d: Duration) {
    /// tokio::time::sleep(d).await }`): a call of it is a sleep. Exported as a factory of no
    /// object.
    #[serde(default)]
    pub sleeps: Option<Sleeper>,
}

/// How a function that only sleeps does it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Sleeper {
    /// It blocks the thread (`thread::sleep`, `time.sleep`).
    Blocking,
    /// It is a coroutine that awaits a sleep: awaiting a call of it sleeps.
    Async,
}

/// How many re-exports are followed before a name is taken as unresolved.
const MAX_REEXPORTS: usize = 16;
/// How many glob re-exports deep a name is looked for.
const MAX_GLOBS: usize = 4;

/// The prefix of a lookup that asks only whether a name is a class of the project, whatever it
/// holds (`class:pkg.timing.Deadline`): a file whose answer changes is analysed again.
pub const ANY_CLASS: &str = "class:";

/// The module-level objects and re-exports of every analysed file of a run.
#[derive(Debug, Default)]
pub struct ProjectIndex {
    objects: HashMap<String, ExportedObject>,
    /// `module.local` -> the absolute name it was imported from.
    aliases: HashMap<String, String>,
    /// Module -> the modules it re-exports whole.
    globs: HashMap<String, Vec<String>>,
    /// Modules through which at least one object can be reached (its own or re-exported).
    exporting: std::collections::HashSet<String>,
    /// Classes by absolute name (`pkg.pool.Pool`).
    classes: HashMap<String, ClassSummary>,
    /// Every exporting module and each package above one (`pkg`, `pkg.sub` for `pkg.sub.mod`).
    exporting_prefixes: std::collections::HashSet<String>,
    /// Classes (absolute) that matter to a file using them: their instances hold a
    /// synchronisation object, or one of their methods takes a lock (itself or through the
    /// functions it calls), in the class or a base.
    relevant_classes: std::collections::HashSet<String>,
    /// Classes (absolute) whose instances hold a lock-like object, in the class or a base.
    lock_holding_classes: std::collections::HashSet<String>,
    /// Every module a summary names: what a path written with `::` (`my_crate::a::Pool::take`)
    /// is split at into its module and the item inside it (`my_crate::a.Pool.take`).
    modules: std::collections::HashSet<String>,
    /// Rust crates (their root modules) with functions that take a lock, themselves or through
    /// their calls, and those functions' own names: a file of such a crate that the prefilter
    /// skipped may call one, a step of a chain to a lock.
    acquiring_crates: std::collections::HashSet<String>,
    acquiring_names: Vec<String>,
    /// Every function of the summaries (absolute), for names found through glob re-exports.
    functions: std::collections::HashSet<String>,
}

/// What a class and its bases hold and do.
#[derive(Clone, Copy, Default)]
struct ClassFlags {
    /// An attribute holds a synchronisation object.
    holds_objects: bool,
    /// An attribute holds a lock-like object.
    holds_locks: bool,
    /// A method takes a lock, itself or through the functions it calls.
    takes_locks: bool,
}

/// How many base classes deep an attribute or a method is looked for.
const MAX_BASES: usize = 16;

impl ProjectIndex {
    /// Joins the summaries of a run.
    pub fn new<'a>(summaries: impl IntoIterator<Item = &'a LockSummary>) -> Self {
        let summaries: Vec<&LockSummary> = summaries.into_iter().collect();
        let ambiguous = crate::lock_order::ambiguous_modules(summaries.iter().copied());
        let mut index = ProjectIndex::default();
        for summary in &summaries {
            let Some(module) = &summary.module else {
                continue;
            };
            if ambiguous.contains(module.as_str()) {
                continue;
            }
            index.modules.insert(module.clone());
            index
                .functions
                .extend(summary.functions.iter().map(|f| f.name.clone()));
            for object in &summary.exports {
                index
                    .objects
                    .entry(dotted(&object.module, &object.name))
                    .or_insert_with(|| object.clone());
            }
            for class in &summary.classes {
                index
                    .classes
                    .entry(dotted(module, &class.name))
                    .or_insert_with(|| class.clone());
            }
            for (local, target) in &summary.imports {
                if local == "*" {
                    index
                        .globs
                        .entry(module.clone())
                        .or_default()
                        .push(target.clone());
                    continue;
                }
                index
                    .aliases
                    .entry(dotted(module, local))
                    .or_insert_with(|| target.clone());
            }
        }
        // A module exports through another when that one imports a name that leads to an
        // object: collect every module on such a path.
        // Private names (`_lock`) are not meant to be imported: they do not make a module one
        // that others reach objects through.
        let mut exporting: std::collections::HashSet<String> = index
            .objects
            .values()
            .filter(|object| !object.name.starts_with('_'))
            .map(|object| object.module.clone())
            .collect();
        // What each class's hierarchy holds and does, worked out once.
        let acquiring = acquiring_functions(&summaries);
        let rust_modules: std::collections::HashSet<&str> = summaries
            .iter()
            .filter(|s| s.language == Some(crate::model::Language::Rust))
            .filter_map(|s| s.module.as_deref())
            .collect();
        for function in &acquiring {
            let Some((module, name)) = function.split_once('.') else {
                continue;
            };
            if rust_modules.contains(module) {
                let root = module.split("::").next().unwrap_or(module);
                index.acquiring_crates.insert(root.to_string());
                let short = name.rsplit('.').next().unwrap_or(name);
                index.acquiring_names.push(short.to_string());
            }
        }
        index.acquiring_names.sort_unstable();
        index.acquiring_names.dedup();
        let taking: std::collections::HashSet<&str> = acquiring
            .iter()
            .filter_map(|function| function.rsplit_once('.').map(|(owner, _)| owner))
            .collect();
        let mut flags: HashMap<String, ClassFlags> = HashMap::default();
        for name in index.classes.keys() {
            index.class_flags(name, &taking, &mut flags, 0);
        }
        for (name, flag) in &flags {
            if !index.classes.contains_key(name) {
                continue;
            }
            if flag.holds_objects {
                if let Some((module, _)) = name.rsplit_once('.') {
                    exporting.insert(module.to_string());
                }
            }
            if flag.holds_objects || flag.takes_locks {
                index.relevant_classes.insert(name.clone());
            }
            if flag.holds_locks {
                index.lock_holding_classes.insert(name.clone());
            }
        }
        // A class with a method that waits for another thread, or starts one, matters to the
        // files that call it (a thread's end awaited, or a thread started, through it).
        let waiting: Vec<String> = index
            .classes
            .iter()
            .filter(|(_, class)| !class.waiting.is_empty() || !class.starting.is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        index.relevant_classes.extend(waiting);
        for alias in index.aliases.keys() {
            if index.object(alias).is_some() {
                if let Some((module, _)) = alias.rsplit_once('.') {
                    exporting.insert(module.to_string());
                }
            }
        }
        for module in &exporting {
            let mut end = module.len();
            loop {
                index.exporting_prefixes.insert(module[..end].to_string());
                match module[..end].rfind('.') {
                    Some(dot) => end = dot,
                    None => break,
                }
            }
        }
        index.exporting = exporting;
        index
    }

    /// Whether the index knows no objects and no classes (nothing to resolve through it).
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.classes.is_empty()
    }

    /// The class an absolute name denotes, following re-exports: its absolute name.
    pub fn class(&self, qualified: &str) -> Option<(String, &ClassSummary)> {
        let name = self.canonical(qualified);
        let class = self.classes.get(&name)?;
        Some((name, class))
    }

    /// Where instances of `class` (absolute) get the attribute `attr` holding a
    /// synchronisation object: the defining class (absolute) and the object's kind, looking
    /// through base classes in any module.
    pub fn class_attribute(&self, class: &str, attr: &str) -> Option<(String, ObjKind)> {
        self.find_in_bases(class, &|_, summary| {
            summary
                .attributes
                .iter()
                .find(|(name, _)| name == attr)
                .map(|(_, kind)| *kind)
        })
    }

    /// The absolute name of the method `method` that instances of `class` run: the first
    /// class of its hierarchy that defines it (`pkg.base.Resource.close`).
    pub fn class_method(&self, class: &str, method: &str) -> Option<String> {
        let (owner, ()) = self.find_in_bases(class, &|_, summary| {
            summary.methods.iter().any(|m| m == method).then_some(())
        })?;
        Some(dotted(&owner, method))
    }

    /// Whether the method `method` of the class `class` (its own, or the first base's that
    /// defines it) waits for another thread.
    pub fn class_method_waits(&self, class: &str, method: &str) -> bool {
        self.class_method_in(class, method, |summary| &summary.waiting)
    }

    /// Whether the method `method` of the class `class` (its own, or the first base's that
    /// defines it) starts a thread and returns while it may still run.
    pub fn class_method_starts(&self, class: &str, method: &str) -> bool {
        self.class_method_in(class, method, |summary| &summary.starting)
    }

    /// Whether `method`, as the first class of `class`'s hierarchy that defines it has it, is
    /// one of that class's methods that `list` gives.
    fn class_method_in(
        &self,
        class: &str,
        method: &str,
        list: impl Fn(&ClassSummary) -> &Vec<String>,
    ) -> bool {
        self.find_in_bases(class, &|_, summary| {
            summary
                .methods
                .iter()
                .any(|m| m == method)
                .then(|| list(summary).iter().any(|m| m == method))
        })
        .is_some_and(|(_, listed)| listed)
    }

    /// The flags of the class `name` (as its module or a subclass names it), from its own
    /// summary and those of its bases, memoised in `flags` by the name asked and the
    /// absolute one.
    fn class_flags(
        &self,
        name: &str,
        taking: &std::collections::HashSet<&str>,
        flags: &mut HashMap<String, ClassFlags>,
        depth: usize,
    ) -> ClassFlags {
        if let Some(found) = flags.get(name) {
            return *found;
        }
        if depth > MAX_BASES {
            return ClassFlags::default();
        }
        let Some((absolute, class)) = self.class(name) else {
            return ClassFlags::default();
        };
        if let Some(found) = flags.get(&absolute) {
            let found = *found;
            flags.insert(name.to_string(), found);
            return found;
        }
        // A cycle of bases ends here.
        flags.insert(absolute.clone(), ClassFlags::default());
        let mut own = ClassFlags {
            holds_objects: !class.attributes.is_empty(),
            holds_locks: class.attributes.iter().any(|(_, kind)| kind.is_lock_like()),
            takes_locks: taking.contains(absolute.as_str()),
        };
        for base in &class.bases {
            let inherited = self.class_flags(base, taking, flags, depth + 1);
            own.holds_objects |= inherited.holds_objects;
            own.holds_locks |= inherited.holds_locks;
            own.takes_locks |= inherited.takes_locks;
        }
        if name != absolute {
            flags.insert(name.to_string(), own);
        }
        flags.insert(absolute, own);
        own
    }

    /// Depth-first through `class` and its bases (in order), the first class for which `found`
    /// answers, with its absolute name.
    fn find_in_bases<T>(
        &self,
        class: &str,
        found: &dyn Fn(&str, &ClassSummary) -> Option<T>,
    ) -> Option<(String, T)> {
        let mut stack = vec![(class.to_string(), 0)];
        let mut seen = std::collections::HashSet::new();
        while let Some((name, depth)) = stack.pop() {
            if depth > MAX_BASES || !seen.insert(name.clone()) {
                continue;
            }
            let Some((name, summary)) = self.class(&name) else {
                continue;
            };
            if let Some(value) = found(&name, summary) {
                return Some((name, value));
            }
            for base in summary.bases.iter().rev() {
                stack.push((base.clone(), depth + 1));
            }
        }
        None
    }

    /// The object an absolute dotted name denotes, following re-exports.
    pub fn object(&self, qualified: &str) -> Option<&ExportedObject> {
        // A name that is already an object's is its own canonical name (no allocation).
        if let Some(object) = self.objects.get(qualified) {
            return Some(object);
        }
        self.objects.get(&self.canonical(qualified))
    }

    /// `qualified` with every re-export on its way replaced by what it re-exports: the name
    /// under which the defining module knows it (or `qualified` itself when nothing applies).
    pub fn canonical(&self, qualified: &str) -> String {
        self.canonical_at(qualified, 0)
    }

    /// [`Self::canonical`], `globs` glob re-exports deep.
    fn canonical_at(&self, qualified: &str, globs: usize) -> String {
        let mut current = qualified.to_string();
        for _ in 0..MAX_REEXPORTS {
            if let std::borrow::Cow::Owned(path) = self.item_path(&current) {
                current = path;
            }
            if self.objects.contains_key(&current) {
                return current;
            }
            // The longest prefix that is an alias: `pkg.jobs.LOCK` through `pkg.jobs` bound by
            // `from pkg import jobs`, or `pkg.LOCK` re-exported by `pkg/__init__.py`.
            let mut replaced = None;
            let mut end = current.len();
            loop {
                let prefix = &current[..end];
                if let Some(target) = self.aliases.get(prefix) {
                    if target != prefix {
                        let mut next = String::with_capacity(target.len() + current.len() - end);
                        next.push_str(target);
                        next.push_str(&current[end..]);
                        replaced = Some(next);
                    }
                    break;
                }
                match prefix.rfind('.') {
                    Some(dot) => end = dot,
                    None => break,
                }
            }
            let replaced = replaced.or_else(|| self.through_glob(&current, globs));
            match replaced {
                Some(next) if next != current => current = next,
                _ => return current,
            }
        }
        current
    }

    /// `name` found in a module that re-exports another one whole (Rust: `pub use a::*;`,
    /// `("*", "my_crate::a")` among its imports): the first glob under which it names
    /// something the index knows.
    fn through_glob(&self, name: &str, globs: usize) -> Option<String> {
        if globs >= MAX_GLOBS {
            return None;
        }
        let mut end = name.len();
        while let Some(dot) = name[..end].rfind('.') {
            end = dot;
            let Some(targets) = self.globs.get(&name[..end]) else {
                continue;
            };
            for target in targets {
                let joined = format!("{target}{}", &name[end..]);
                let candidate = self.item_path(&joined);
                let found = self.canonical_at(&candidate, globs + 1);
                if self.knows(&found) {
                    return Some(found);
                }
            }
        }
        None
    }

    /// Whether `name` (absolute, canonical) is an object, a class, a function or a method of
    /// a class of the project.
    fn knows(&self, name: &str) -> bool {
        self.objects.contains_key(name)
            || self.classes.contains_key(name)
            || self.functions.contains(name)
    }

    /// A path whose module part is written with `::` (Rust: `my_crate::a::Pool::take`), as the
    /// index names items: the longest prefix that is a module of the project, then the item
    /// inside it (`my_crate::a.Pool.take`). A name already split (`my_crate::a.LOCK`), or of a
    /// language that writes modules with dots, is returned as it is.
    fn item_path<'p>(&self, path: &'p str) -> std::borrow::Cow<'p, str> {
        let (head, tail) = path.split_at(path.find('.').unwrap_or(path.len()));
        if !head.contains("::") || self.modules.contains(head) {
            return std::borrow::Cow::Borrowed(path);
        }
        let segments: Vec<&str> = head.split("::").collect();
        for end in (1..segments.len()).rev() {
            let module = segments[..end].join("::");
            if self.modules.contains(&module) {
                return format!("{module}.{}{tail}", segments[end..].join(".")).into();
            }
        }
        std::borrow::Cow::Borrowed(path)
    }

    /// Whether a file that imports `module` (or a name from it) may reach a project object
    /// through it.
    pub fn exports_through(&self, module: &str) -> bool {
        self.exporting.contains(module)
    }

    /// Whether the index resolves any of the names a file looked up (see
    /// [`LockSummary::lookups`](crate::lock_order::LockSummary::lookups)): analysing the file
    /// again with the index changes what it sees.
    pub fn resolves_any(&self, lookups: &[String]) -> bool {
        lookups.iter().any(|name| {
            if let Some(class) = name.strip_prefix(ANY_CLASS) {
                return self.class(class).is_some();
            }
            self.object(name).is_some()
                || self
                    .class(name)
                    .is_some_and(|(absolute, _)| self.relevant_classes.contains(&absolute))
        })
    }

    /// The last component of every name through which a file can use another file's lock or
    /// sleep: public module-level locks and lock factories, functions that only sleep, classes
    /// that hold locks (themselves or through their bases), and Rust functions that take locks
    /// (themselves or through calls). A file that names no concurrency API and mentions none of them is
    /// left unparsed (a thread, an event or a queue of another file used in such a file is not
    /// seen).
    pub fn used_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .objects
            .values()
            .filter(|object| {
                !object.name.starts_with('_')
                    && (object.kind.is_lock_like() || object.sleeps.is_some())
            })
            .map(|object| object.name.rsplit("::").next().unwrap_or(&object.name))
            .collect();
        names.extend(
            self.lock_holding_classes
                .iter()
                .map(|name| name.rsplit('.').next().unwrap_or(name)),
        );
        names.extend(self.acquiring_names.iter().map(String::as_str));
        names.sort_unstable();
        names.dedup();
        names
    }

    /// A fingerprint of what the index answers for `lookups`: the objects, factories and
    /// classes (with their bases) those names resolve to. Equal fingerprints mean a file that
    /// looked these names up sees the same project.
    pub fn fingerprint(&self, lookups: &[String]) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for name in lookups {
            name.hash(&mut hasher);
            if let Some(object) = self.object(name) {
                (
                    &object.module,
                    &object.name,
                    &object.condition_lock,
                    object.factory,
                    object.sleeps,
                )
                    .hash(&mut hasher);
                format!("{:?}", object.kind).hash(&mut hasher);
            }
            let class = name.strip_prefix(ANY_CLASS).unwrap_or(name);
            let mut stack = vec![(class.to_string(), 0)];
            while let Some((class, depth)) = stack.pop() {
                if depth > MAX_BASES {
                    continue;
                }
                if let Some((absolute, summary)) = self.class(&class) {
                    absolute.hash(&mut hasher);
                    summary.hash(&mut hasher);
                    stack.extend(summary.bases.iter().map(|b| (b.clone(), depth + 1)));
                }
            }
        }
        hasher.finish()
    }

    /// Whether importing the absolute name `imported` (an object, or a module or package) can
    /// lead to a project object: the object itself, or a module on the way to one.
    pub fn reaches(&self, imported: &str) -> bool {
        self.acquiring_crates.contains(imported)
            || self.object(imported).is_some()
            || self.class(imported).is_some()
            || self.exporting_prefixes.contains(imported)
            || self.exports_through(&self.canonical(imported))
    }
}

/// The absolute names of the functions that take a lock, themselves or through the functions
/// of the project they call.
fn acquiring_functions<'a>(summaries: &[&'a LockSummary]) -> std::collections::HashSet<&'a str> {
    let mut callers: HashMap<&str, Vec<&str>> = HashMap::default();
    let mut acquiring = std::collections::HashSet::default();
    let mut work = Vec::new();
    for function in summaries.iter().flat_map(|summary| &summary.functions) {
        for call in &function.calls {
            callers
                .entry(call.callee.as_str())
                .or_default()
                .push(function.name.as_str());
        }
        if !function.acquires.is_empty() && acquiring.insert(function.name.as_str()) {
            work.push(function.name.as_str());
        }
    }
    while let Some(callee) = work.pop() {
        for &caller in callers.get(callee).into_iter().flatten() {
            if acquiring.insert(caller) {
                work.push(caller);
            }
        }
    }
    acquiring
}

/// The module-level objects of a file, with their kinds, as other files see them.
pub fn exports(model: &FileModel) -> Vec<ExportedObject> {
    let Some(module) = &model.module else {
        return Vec::new();
    };
    let mut exports = Vec::new();
    for object in &model.objects {
        let ObjKey::Global(name) = &object.key else {
            continue;
        };
        // Objects created here under a plain top-level name (not an attribute path below one).
        if object.def.is_none() || object.kind == ObjKind::Unknown || name.contains('.') {
            continue;
        }
        let (kind, condition_lock) = match object.kind {
            ObjKind::Condition { lock: Some(lock) } => {
                let lock = model.object(model.lock_of(lock));
                match &lock.key {
                    ObjKey::Global(lock_name) if !lock_name.contains('.') => {
                        (ObjKind::Condition { lock: None }, Some(lock_name.clone()))
                    }
                    // A condition over a lock that other files cannot name: acquiring it is
                    // acquiring that lock, which is not reentrant as a bare condition's is.
                    _ => continue,
                }
            }
            kind => (kind, None),
        };
        exports.push(ExportedObject {
            module: module.path.clone(),
            name: name.clone(),
            kind,
            condition_lock,
            factory: false,
            sleeps: None,
        });
    }
    exports.extend(module.factories.iter().map(|(name, kind)| ExportedObject {
        module: module.path.clone(),
        name: name.clone(),
        kind: *kind,
        condition_lock: None,
        factory: true,
        sleeps: None,
    }));
    // Module-level functions that only sleep.
    exports.extend(module.sleepers.iter().map(|(name, sleeps)| ExportedObject {
        module: module.path.clone(),
        name: name.clone(),
        kind: ObjKind::Unknown,
        condition_lock: None,
        factory: true,
        sleeps: Some(*sleeps),
    }));
    exports.sort_by(|a, b| a.name.cmp(&b.name));
    exports
}

/// `module.name`, with one allocation (the index makes one such key per export, class and
/// import of every file, several times a run).
fn dotted(module: &str, name: &str) -> String {
    let mut key = String::with_capacity(module.len() + 1 + name.len());
    key.push_str(module);
    key.push('.');
    key.push_str(name);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Flavor;

    fn summary(module: &str, exports: &[(&str, ObjKind)], imports: &[(&str, &str)]) -> LockSummary {
        LockSummary {
            module: Some(module.to_string()),
            exports: exports
                .iter()
                .map(|(name, kind)| ExportedObject {
                    module: module.to_string(),
                    name: name.to_string(),
                    kind: *kind,
                    condition_lock: None,
                    factory: false,
                    sleeps: None,
                })
                .collect(),
            imports: imports
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..LockSummary::default()
        }
    }

    #[test]
    fn only_classes_that_hold_or_take_locks_need_the_index() {
        use crate::lock_order::{CallSite, FunctionEffects, LockUse};
        use crate::model::Span;
        let lock = ObjKind::Lock {
            flavor: Flavor::Std,
        };
        let class = |name: &str, bases: &[&str], attributes, methods: &[&str]| ClassSummary {
            name: name.to_string(),
            bases: bases.iter().map(ToString::to_string).collect(),
            attributes,
            methods: methods.iter().map(ToString::to_string).collect(),
            waiting: Vec::new(),
            starting: Vec::new(),
        };
        let function = |name: &str, acquires: bool, calls: &[&str]| FunctionEffects {
            name: name.to_string(),
            acquires: acquires
                .then(|| LockUse {
                    lock: "pkg.base.LOCK".to_string(),
                    display: "LOCK".to_string(),
                    site: Span::new(0, 0),
                    reentrant: false,
                    shared: false,
                })
                .into_iter()
                .collect(),
            calls: calls
                .iter()
                .map(|callee| CallSite {
                    callee: callee.to_string(),
                    site: Span::new(0, 0),
                    held: Vec::new(),
                    external: true,
                })
                .collect(),
        };
        let mut base = summary("pkg.base", &[], &[]);
        base.classes = vec![
            class("Plain", &[], Vec::new(), &["run"]),
            class("Holder", &[], vec![("lock".to_string(), lock)], &[]),
            class("Caller", &[], Vec::new(), &["close"]),
            class("Child", &["pkg.base.Holder"], Vec::new(), &[]),
        ];
        base.functions = vec![
            function("pkg.base.Plain.run", false, &["pkg.base.helper_free"]),
            function("pkg.base.Caller.close", false, &["pkg.base.helper"]),
            function("pkg.base.helper", true, &[]),
        ];
        let index = ProjectIndex::new([&base]);
        let resolves = |name: &str| index.resolves_any(&[name.to_string()]);
        assert!(!resolves("pkg.base.Plain"));
        assert!(resolves("pkg.base.Holder"));
        assert!(resolves("pkg.base.Child"));
        assert!(resolves("pkg.base.Caller"));
        assert!(!resolves("pkg.base.Missing"));
    }

    #[test]
    fn follows_reexports_to_the_definition() {
        let lock = ObjKind::Lock {
            flavor: Flavor::Std,
        };
        let summaries = [
            summary("shop.locks", &[("LOCK", lock)], &[]),
            summary(
                "shop",
                &[],
                &[("LOCK", "shop.locks.LOCK"), ("locks", "shop.locks")],
            ),
            summary("shop.jobs", &[], &[("shared", "shop.LOCK")]),
        ];
        let index = ProjectIndex::new(&summaries);
        assert_eq!(index.canonical("shop.LOCK"), "shop.locks.LOCK");
        assert_eq!(index.canonical("shop.jobs.shared"), "shop.locks.LOCK");
        assert_eq!(index.canonical("shop.locks.LOCK"), "shop.locks.LOCK");
        assert_eq!(index.object("shop.jobs.shared").map(|o| o.kind), Some(lock));
        assert!(index.exports_through("shop"));
        assert!(index.exports_through("shop.jobs"));
        assert!(index.object("shop.other").is_none());
    }

    #[test]
    fn rust_paths_split_at_the_longest_module_and_follow_reexports() {
        let lock = ObjKind::Lock {
            flavor: Flavor::Std,
        };
        let summaries = [
            summary(
                "app",
                &[],
                &[
                    ("Pool", "app::pool::Pool"),
                    ("jobs", "app::work::jobs"),
                    ("LOCK", "app::work::jobs::LOCK"),
                ],
            ),
            summary("app::pool", &[], &[]),
            summary("app::work", &[], &[]),
            summary("app::work::jobs", &[("LOCK", lock)], &[]),
        ];
        let mut summaries = summaries;
        summaries[3]
            .functions
            .push(crate::lock_order::FunctionEffects {
                name: "app::work::jobs.run".to_string(),
                acquires: Vec::new(),
                calls: Vec::new(),
            });
        summaries[2]
            .imports
            .push(("*".to_string(), "app::work::jobs".to_string()));
        let index = ProjectIndex::new(&summaries);
        // Through `pub use jobs::*;` in `app::work`.
        assert_eq!(index.canonical("app::work::run"), "app::work::jobs.run");
        assert_eq!(index.canonical("app::work::LOCK"), "app::work::jobs.LOCK");
        assert_eq!(index.canonical("app::work::missing"), "app::work.missing");
        assert_eq!(
            index.canonical("app::pool::Pool::take"),
            "app::pool.Pool.take"
        );
        assert_eq!(index.canonical("app::Pool::take"), "app::pool.Pool.take");
        assert_eq!(
            index.canonical("app::work::jobs::run"),
            "app::work::jobs.run"
        );
        assert_eq!(index.canonical("app::jobs::run"), "app::work::jobs.run");
        assert_eq!(index.canonical("app::LOCK"), "app::work::jobs.LOCK");
        assert_eq!(index.object("app::LOCK").map(|o| o.kind), Some(lock));
        // Already split, or outside every module of the project: as written.
        assert_eq!(
            index.canonical("app::pool.Pool.take"),
            "app::pool.Pool.take"
        );
        assert_eq!(index.canonical("other::x::f"), "other::x::f");
    }

    #[test]
    fn import_cycles_end() {
        let summaries = [
            summary("a", &[], &[("x", "b.x")]),
            summary("b", &[], &[("x", "a.x")]),
        ];
        let index = ProjectIndex::new(&summaries);
        assert!(index.object("a.x").is_none());
    }
}
