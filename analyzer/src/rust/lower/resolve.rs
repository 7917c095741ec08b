//! Resolution: what a path names as seen from a module of the file (a struct, a static, a
//! function, a method, an alias, a known library item through the `use` declarations and glob
//! imports), and what a written type means to the lowering.

use syn::Type;
use threadlint_rules::model::{ClassSummary, FnId, ObjKey, ObjKind, Span};

use crate::rust::names::{self, KnownType};

use super::values::{project, Place, TempRef, Ty, Value};
use super::{Lowerer, GLOB_HOPS};

pub(super) enum Res {
    External(String),
    Struct(String),
    Static(String),
    Const,
    Fn(FnId),
    Assoc(String, String),
    Module(usize),
    Alias(usize, String),
    Unknown,
}

impl Lowerer<'_> {
    /// The identity of the static `name` defined in `module`: its path from the file's top
    /// level (`NAME`, `inner::NAME`), so that every path that resolves to it names one object
    /// and same-named statics of two modules stay two.
    pub(super) fn static_key(&self, module: usize, name: &str) -> String {
        let path = &self.modules[module].path;
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{}::{name}", path.join("::"))
        }
    }

    pub(super) fn resolve_item_types(&mut self) {
        let names: Vec<String> = self.structs.keys().cloned().collect();
        for name in names {
            let (module, fields) = {
                let info = &self.structs[&name];
                (info.module, info.fields.clone())
            };
            let types = fields
                .iter()
                .map(|(field, ty, span)| {
                    (
                        field.clone(),
                        (self.ty_of(ty, module, Some(&name), 0), *span),
                    )
                })
                .collect();
            if let Some(info) = self.structs.get_mut(&name) {
                info.types = types;
            }
        }
        let names: Vec<String> = self.statics.keys().cloned().collect();
        for name in names {
            let (module, ty) = (self.statics[&name].module, self.statics[&name].ty);
            let resolved = self.ty_of(ty, module, None, 0);
            if let Some(info) = self.statics.get_mut(&name) {
                info.resolved = resolved;
            }
        }
    }

    /// Resolves a path (`Mutex`, `sync::Mutex`, `crate::state::LOCK`, `Self::new`) as seen
    /// from `module`.
    pub(super) fn resolve(&self, module: usize, segments: &[String], depth: usize) -> Res {
        self.resolve_with(module, segments, depth, GLOB_HOPS)
    }

    /// `globs`: how many glob imports (`use super::*`) may still be followed; each hop fans out
    /// over every glob of a module, so the chain is kept short.
    pub(super) fn resolve_with(
        &self,
        module: usize,
        segments: &[String],
        depth: usize,
        globs: u8,
    ) -> Res {
        if depth > 16 || segments.is_empty() {
            return Res::Unknown;
        }
        let rest = &segments[1..];
        // A path into the crate that this file does not define lives in another file of it;
        // a `sync` module there re-exports `std::sync` (or loom's copy) by convention.
        let crate_local = |res: Res| match res {
            Res::External(path) if !path.starts_with("crate::") => crate_item(&path),
            other => other,
        };
        // In a file that is not its crate's root, `crate::` names this file's items only below
        // its own module path; `super::` from its top level leaves the file.
        let below_crate = self.file_module_below_crate();
        match segments[0].as_str() {
            "crate" if !below_crate.is_empty() => {
                if rest.len() > below_crate.len() && rest[..below_crate.len()] == below_crate[..] {
                    crate_local(self.resolve_in(0, &rest[below_crate.len()..], depth + 1, globs))
                } else {
                    crate_local(Res::External(names::normalize(&rest.join("::"))))
                }
            }
            "super" if module == 0 && !below_crate.is_empty() => {
                let mut path = below_crate[..below_crate.len() - 1].to_vec();
                path.extend(rest.iter().cloned());
                self.resolve_with(
                    module,
                    &[vec!["crate".to_string()], path].concat(),
                    depth + 1,
                    globs,
                )
            }
            "crate" => crate_local(self.resolve_in(0, rest, depth + 1, globs)),
            "self" if !rest.is_empty() => {
                crate_local(self.resolve_in(module, rest, depth + 1, globs))
            }
            "super" => {
                let parent = self.modules[module].parent.unwrap_or(0);
                if rest.first().is_some_and(|s| s == "super") {
                    self.resolve_with(parent, rest, depth + 1, globs)
                } else {
                    crate_local(self.resolve_in(parent, rest, depth + 1, globs))
                }
            }
            _ => self.resolve_in(module, segments, depth, globs),
        }
    }

    pub(super) fn resolve_in(
        &self,
        module: usize,
        segments: &[String],
        depth: usize,
        globs: u8,
    ) -> Res {
        if depth > 16 {
            return Res::Unknown;
        }
        let Some(first) = segments.first() else {
            return Res::Module(module);
        };
        let rest = &segments[1..];
        let m = &self.modules[module];
        if let Some(&child) = m.children.get(first) {
            if self.modules[child].out_of_line {
                // `mod pool;`: the module is another file of the crate.
                let mut path = self.file_module_below_crate();
                path.extend(self.modules[child].path.iter().cloned());
                path.extend(rest.iter().cloned());
                return crate_item(&path.join("::"));
            }
            return self.resolve_in(child, rest, depth + 1, globs);
        }
        if rest.is_empty() {
            if m.structs.contains(first) {
                return Res::Struct(first.clone());
            }
            if m.statics.contains(first) {
                return Res::Static(self.static_key(module, first));
            }
            if m.consts.contains(first) {
                return Res::Const;
            }
            if let Some(&id) = m.fns.get(first) {
                return Res::Fn(id);
            }
            if m.aliases.contains_key(first) {
                return Res::Alias(module, first.clone());
            }
        } else if rest.len() == 1 && m.structs.contains(first) {
            return Res::Assoc(first.clone(), rest[0].clone());
        }
        if let Some(target) = m.imports.get(first) {
            let mut full = target.clone();
            full.extend(rest.iter().cloned());
            return self.resolve_with(module, &full, depth + 1, globs);
        }
        if globs > 0 {
            for glob in &m.globs {
                match self.resolve_with(module, glob, depth + 1, 0) {
                    Res::Module(target) if target != module => {
                        let found = self.resolve_in(target, segments, depth + 1, globs - 1);
                        // What that module imports from a known library (`use super::*` under
                        // `use std::thread::JoinHandle;`) is seen here too.
                        match &found {
                            Res::Unknown => {}
                            Res::External(full) if !is_known_path(full) => {}
                            _ => return found,
                        }
                    }
                    Res::External(prefix) => {
                        let full = names::normalize(&format!("{prefix}::{}", segments.join("::")));
                        if is_known_path(&full) {
                            return Res::External(full);
                        }
                    }
                    _ => {}
                }
            }
        }
        // Edition 2015 paths are relative to the crate root.
        if module != 0 && self.modules[0].children.contains_key(first) {
            return self.resolve_in(0, segments, depth + 1, globs);
        }
        Res::External(names::normalize(&segments.join("::")))
    }

    pub(super) fn ty_of(&self, ty: &Type, module: usize, class: Option<&str>, depth: usize) -> Ty {
        if depth > 24 {
            return Ty::Unknown;
        }
        match ty {
            Type::Path(path) if path.qself.is_none() => {
                let Some(last) = path.path.segments.last() else {
                    return Ty::Unknown;
                };
                let argument = match &last.arguments {
                    syn::PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|a| match a {
                            syn::GenericArgument::Type(t) => Some(t),
                            _ => None,
                        })
                    }
                    _ => None,
                };
                let inner =
                    || argument.map_or(Ty::Unknown, |t| self.ty_of(t, module, class, depth + 1));
                let segments = path_segments(&path.path);
                if segments.len() == 1 && segments[0] == "Self" {
                    return class.map_or(Ty::Unknown, |c| Ty::Struct(c.to_string()));
                }
                match self.resolve(module, &segments, 0) {
                    Res::Struct(name) => Ty::Struct(name),
                    Res::Alias(alias_module, name) => {
                        match self.modules[alias_module].aliases.get(&name) {
                            Some(target) => self.ty_of(target, alias_module, class, depth + 1),
                            None => Ty::Unknown,
                        }
                    }
                    Res::External(full) => match names::known_type(&full) {
                        Some(KnownType::Lock(kind)) => Ty::Lock(kind, Box::new(inner())),
                        Some(KnownType::Sync(kind)) => Ty::Sync(kind),
                        Some(KnownType::Transparent) => inner(),
                        Some(KnownType::Once) => Ty::Once(Box::new(inner())),
                        Some(KnownType::Option) => Ty::Opt(Box::new(inner())),
                        Some(KnownType::Seq) => Ty::Seq(Box::new(inner())),
                        Some(KnownType::Guard) => Ty::Guard(None, Box::new(inner())),
                        Some(KnownType::ThreadBuilder) => Ty::ThreadBuilder,
                        None => self.project_path(&full).map_or(Ty::Unknown, Ty::Project),
                    },
                    _ => Ty::Unknown,
                }
            }
            Type::Reference(r) => self.ty_of(&r.elem, module, class, depth + 1),
            Type::Ptr(p) => self.ty_of(&p.elem, module, class, depth + 1),
            Type::Paren(p) => self.ty_of(&p.elem, module, class, depth + 1),
            Type::Group(g) => self.ty_of(&g.elem, module, class, depth + 1),
            Type::Tuple(t) => Ty::Tuple(
                t.elems
                    .iter()
                    .map(|e| self.ty_of(e, module, class, depth + 1))
                    .collect(),
            ),
            Type::Array(a) => Ty::Seq(Box::new(self.ty_of(&a.elem, module, class, depth + 1))),
            Type::Slice(s) => Ty::Seq(Box::new(self.ty_of(&s.elem, module, class, depth + 1))),
            _ => Ty::Unknown,
        }
    }

    /// Whether `ty`, written in `module`, is a lock itself (`Mutex<T>`, an alias of one), not a
    /// pointer or reference to one that others may share (`Arc<Mutex<T>>`, `&Mutex<T>`).
    pub(super) fn is_lock_itself(&self, ty: &Type, module: usize, depth: usize) -> bool {
        let Type::Path(path) = ty else {
            return false;
        };
        if depth > 8 || path.qself.is_some() {
            return false;
        }
        match self.resolve(module, &path_segments(&path.path), 0) {
            Res::Alias(alias_module, name) => self.modules[alias_module]
                .aliases
                .get(&name)
                .is_some_and(|target| self.is_lock_itself(target, alias_module, depth + 1)),
            Res::External(full) => matches!(names::known_type(&full), Some(KnownType::Lock(_))),
            _ => false,
        }
    }

    /// Marks the locks that are fields of a struct of this file holding the lock itself
    /// ([`SyncObject::owned`](threadlint_rules::model::SyncObject::owned)).
    pub(super) fn mark_owned_fields(&mut self) {
        let mut owned = Vec::new();
        for (index, object) in self.objects.iter().enumerate() {
            let ObjKey::Member { class, attr } = &object.key else {
                continue;
            };
            let Some(info) = self.structs.get(class) else {
                continue;
            };
            let field = info.fields.iter().find(|(name, _, _)| name == attr);
            if field.is_some_and(|(_, ty, _)| self.is_lock_itself(ty, info.module, 0)) {
                owned.push(index);
            }
        }
        for index in owned {
            self.objects[index].owned = true;
        }
    }

    /// The type, in the current function's context.
    pub(super) fn ty_here(&self, ty: &Type) -> Ty {
        let info = &self.fns[self.current.0 as usize];
        self.ty_of(ty, info.module, info.class.as_deref(), 0)
    }

    pub(super) fn current_module(&self) -> usize {
        self.fns[self.current.0 as usize].module
    }

    pub(super) fn current_class(&self) -> Option<String> {
        self.fns[self.current.0 as usize].class.clone()
    }

    /// Path segments with `Self` replaced by the current impl type.
    pub(super) fn segments_here(&self, path: &syn::Path) -> Vec<String> {
        let mut segments = path_segments(path);
        if segments.first().is_some_and(|s| s == "Self") {
            if let Some(class) = self.current_class() {
                segments[0] = class;
            }
        }
        segments
    }

    pub(super) fn return_value(&self, callee: FnId) -> Value {
        let info = &self.fns[callee.0 as usize];
        match info.ret {
            Some(ty) => Value::of(self.ty_of(ty, info.module, info.class.as_deref(), 0)),
            None => Value::default(),
        }
    }

    pub(super) fn method_of(&self, class: &str, name: &str) -> Option<FnId> {
        self.methods
            .get(&(class.to_string(), name.to_string()))
            .copied()
    }

    pub(super) fn field(&self, base: &Value, member: &str) -> Value {
        let (ty, def) = match &base.ty {
            Ty::Struct(name) => match self.structs.get(name).and_then(|s| s.types.get(member)) {
                Some((ty, span)) => (ty.clone(), Some(*span)),
                None => (Ty::Unknown, None),
            },
            Ty::Tuple(items) => (
                member
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .unwrap_or_default(),
                None,
            ),
            Ty::Project(class) => return self.project_field(base, class, member),
            Ty::Guard(_, inner) => {
                // Data inside a lock: no identity of its own.
                let data = Value {
                    ty: (**inner).clone(),
                    temp: base.temp.map(|t| TempRef { direct: false, ..t }),
                    ..Value::default()
                };
                return self.field(&data, member);
            }
            _ => (Ty::Unknown, None),
        };
        let place = base.place.as_ref().map(|p| project(p, member));
        // A field holding a wrapper that dereferences to a lock (`links: Links` with `impl
        // Deref for Links`) holds that lock.
        let wrapped = match &ty {
            Ty::Struct(wrapper) => self
                .derefs
                .get(wrapper)
                .map(|&(target, module)| self.ty_of(target, module, Some(wrapper), 0)),
            _ => None,
        };
        if let (Ty::Struct(class), Some(Place::Key(key)), Ty::Lock(..) | Ty::Sync(_)) =
            (&base.ty, &place, wrapped.as_ref().unwrap_or(&ty))
        {
            self.note_member_of_any_instance(key, class, member);
        }
        Value {
            place,
            ty,
            temp: base.temp.map(|t| TempRef { direct: false, ..t }),
            spawn: None,
            def,
            fresh: false,
        }
    }

    /// `pool.a` with `pool` a parameter, a static or a field of type `Pool` (a struct of this
    /// file): the path stays that value's own (two parameters of one type are two instances,
    /// and a call site says which lock a parameter's is), and across functions it is the lock
    /// that `Pool`'s own methods take as `self.a`, so that an order taken through a parameter
    /// meets the order of the methods. A local is left alone: a value made in the function is
    /// not the one other threads lock unless it leaves it.
    fn note_member_of_any_instance(&self, key: &ObjKey, class: &str, member: &str) {
        if matches!(
            key,
            ObjKey::Param { .. } | ObjKey::Global(_) | ObjKey::Imported { .. }
        ) || matches!(key, ObjKey::Member { class: owner, .. } if owner != class)
        {
            let shared = ObjKey::Member {
                class: class.to_string(),
                attr: member.to_string(),
            };
            self.project_keys.borrow_mut().insert(key.clone(), shared);
        }
    }

    // -------------------------------------------------------------------------- expressions
}

/// A path below the crate root (`pool::Pool`) that names an item of another file of the
/// crate: `crate::pool::Pool`, or the standard item that a crate's own `sync` module stands for.
fn crate_item(path: &str) -> Res {
    Res::External(names::crate_shim(path).unwrap_or_else(|| format!("crate::{path}")))
}

pub(super) fn path_segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

pub(super) fn is_known_path(full: &str) -> bool {
    names::known_type(full).is_some()
        || names::known_fn(full).is_some()
        || full
            .rsplit_once("::")
            .is_some_and(|(owner, _)| names::known_type(owner).is_some())
}

pub(super) fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        _ => None,
    }
}

impl Lowerer<'_> {
    /// The file's module path below its crate (`["a", "b"]` for `my_crate::a::b`; empty for
    /// the crate root or when unknown).
    fn file_module_below_crate(&self) -> Vec<String> {
        self.module_path
            .as_deref()
            .map(|path| path.split("::").skip(1).map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Every static of the file that holds a synchronisation object, as an object of the model,
    /// so that other files of the crate see it (the project index exports them).
    pub(super) fn intern_statics(&mut self) {
        let mut statics: Vec<(String, ObjKind, Span)> = self
            .statics
            .iter()
            .filter_map(|(key, info)| Some((key.clone(), static_kind(&info.resolved)?, info.span)))
            .collect();
        statics.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, kind, span) in statics {
            let display = key.rsplit("::").next().unwrap_or(&key).to_string();
            self.intern(ObjKey::Global(key), display, kind, Some(span));
        }
    }

    /// The absolute path (`my_crate::pool::Pool`) of an item that `full`, as resolution gives
    /// it, names in another file of the project: `crate::pool::Pool`, or from a test, an
    /// example or a binary, `my_crate::pool::Pool` through the package's library.
    pub(super) fn project_path(&self, full: &str) -> Option<String> {
        if let Some(rest) = full.strip_prefix("crate::") {
            return Some(format!("{}::{rest}", self.crate_name.as_deref()?));
        }
        let library = self.library.as_deref()?;
        full.strip_prefix(library)
            .is_some_and(|rest| rest.starts_with("::"))
            .then(|| full.to_string())
    }

    /// `base.member` where `base` is an instance of `class`, a struct of another file: the
    /// field's kind from the project index. A field reached through `self`, a static, another
    /// struct's field or a parameter is the lock of every instance of `class` (named as that
    /// struct's own methods name it: `my_crate::shared.Shared.a`) across functions, as a field
    /// of this file's structs is; through a local, it stays that value's.
    fn project_field(&self, base: &Value, class: &str, member: &str) -> Value {
        self.lookups.borrow_mut().insert(class.to_string());
        let found = self
            .index
            .and_then(|index| index.class_attribute(class, member));
        let Some((owner, kind)) = found else {
            return Value {
                place: base.place.as_ref().map(|p| project(p, member)),
                temp: base.temp.map(|t| TempRef { direct: false, ..t }),
                ..Value::default()
            };
        };
        let (module, name) = owner.rsplit_once('.').unwrap_or(("", owner.as_str()));
        let shared = ObjKey::Imported {
            module: module.to_string(),
            name: format!("{name}.{member}"),
        };
        let place = match &base.place {
            // `self` in an `impl` of the other file's type: its own field.
            Some(Place::SelfValue(_)) => Some(Place::Key(shared)),
            // A field of `self`, a static, another field or a parameter: one path of this
            // file to the struct's lock (two fields are two instances), which other files know
            // as the struct's own.
            Some(
                place @ Place::Key(
                    ObjKey::Member { .. }
                    | ObjKey::Global(_)
                    | ObjKey::Imported { .. }
                    | ObjKey::Param { .. },
                ),
            ) => {
                let place = project(place, member);
                if let Place::Key(key) = &place {
                    self.project_keys.borrow_mut().insert(key.clone(), shared);
                }
                Some(place)
            }
            // Through a local: that value's.
            other => other.as_ref().map(|p| project(p, member)),
        };
        let ty = if kind.is_mutex() {
            Ty::Lock(kind, Box::new(Ty::Unknown))
        } else {
            Ty::Sync(kind)
        };
        Value {
            place,
            ty,
            temp: base.temp.map(|t| TempRef { direct: false, ..t }),
            ..Value::default()
        }
    }

    /// A function of another file of the crate that only sleeps (its absolute path, `::`
    /// throughout), through the project index.
    pub(super) fn project_sleeper(
        &self,
        absolute: &str,
    ) -> Option<threadlint_rules::project::Sleeper> {
        let (module, name) = absolute.rsplit_once("::")?;
        let dotted = format!("{module}.{name}");
        self.lookups.borrow_mut().insert(dotted.clone());
        self.index?.object(&dotted)?.sleeps
    }

    /// A static of another file of the crate (`crate::locks::LOCK`, or a name bound to it by
    /// `use`; from a test, an example or a binary, `my_crate::locks::LOCK` of the package's
    /// library), through the project index: that file's object, with its kind.
    pub(super) fn imported_static(&self, path: &str, display: &str) -> Option<(ObjKey, Ty)> {
        let absolute = self.project_path(path)?;
        let (module, name) = absolute.rsplit_once("::")?;
        let dotted = format!("{module}.{name}");
        self.lookups.borrow_mut().insert(dotted.clone());
        let export = self.index?.object(&dotted).filter(|e| !e.factory)?;
        let _ = display;
        let ty = if export.kind.is_mutex() {
            Ty::Lock(export.kind, Box::new(Ty::Unknown))
        } else {
            Ty::Sync(export.kind)
        };
        Some((
            ObjKey::Imported {
                module: export.module.clone(),
                name: export.name.clone(),
            },
            ty,
        ))
    }
}

impl Lowerer<'_> {
    /// The items of other files of the crate that the file's top level re-exports with
    /// `pub use`: `(name here, absolute path)`, and `("*", module)` for `pub use module::*`,
    /// followed by the project index; a public type alias of a struct is one too.
    pub(super) fn reexports(&self, module: &str) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = self.modules[0]
            .public
            .iter()
            .filter_map(
                |name| match self.resolve(0, std::slice::from_ref(name), 0) {
                    Res::External(full) => Some((name.clone(), self.project_path(&full)?)),
                    _ => None,
                },
            )
            .collect();
        // `pub type Handle = Arc<Inner>;`: the struct other files reach through the alias.
        found.extend(
            self.modules[0]
                .aliases
                .iter()
                .filter(|(name, _)| self.modules[0].public.contains(*name))
                .filter_map(|(name, ty)| match self.ty_of(ty, 0, None, 0) {
                    Ty::Struct(class) => Some((name.clone(), format!("{module}::{class}"))),
                    Ty::Project(path) => Some((name.clone(), path)),
                    _ => None,
                }),
        );
        found.extend(self.modules[0].public_globs.iter().filter_map(|glob| {
            match self.resolve(0, glob, 0) {
                Res::External(full) => Some(("*".to_string(), self.project_path(&full)?)),
                _ => None,
            }
        }));
        found.sort();
        found
    }

    /// Finds the `impl` blocks whose type another file of the crate defines (not a struct
    /// of this file): their methods are that type's, `self` is an instance of it.
    pub(super) fn resolve_impls(&mut self) {
        // `impl Deref for Links`: a method `Links` does not have is the target's.
        for (class, trait_path, target, module) in std::mem::take(&mut self.deref_candidates) {
            let deref = matches!(
                self.resolve(module, &trait_path, 0),
                Res::External(path) if path == "std::ops::Deref" || path == "core::ops::Deref"
            );
            if deref && self.structs.contains_key(&class) {
                self.derefs.insert(class, (target, module));
            }
        }
        let impls = std::mem::take(&mut self.impls);
        for (class, ty, module) in &impls {
            if self.structs.contains_key(class) || self.foreign_impls.contains_key(class) {
                continue;
            }
            if let Ty::Project(owner) = self.ty_of(ty, *module, None, 0) {
                self.foreign_impls.insert(class.clone(), owner);
            }
        }
        self.impls = impls;
    }

    /// The modules (absolute, `my_crate::pool`) that define the types of this file's `impl`
    /// blocks of another file's types: their methods are named after those modules.
    pub(super) fn method_owners(&self) -> Vec<(String, String)> {
        let mut owners: Vec<(String, String)> = self
            .foreign_impls
            .iter()
            .filter_map(|(class, owner)| {
                let (module, _) = owner.rsplit_once("::")?;
                Some((class.clone(), module.to_string()))
            })
            .collect();
        owners.sort();
        owners
    }

    /// The structs at the file's top level as other files see them: their fields that hold
    /// synchronisation objects, and the methods of their `impl` blocks here.
    pub(super) fn class_summaries(&self) -> Vec<ClassSummary> {
        let mut classes: Vec<ClassSummary> = self
            .structs
            .iter()
            .filter(|(_, info)| info.module == 0)
            .map(|(name, info)| {
                let mut attributes: Vec<(String, ObjKind)> = info
                    .types
                    .iter()
                    .filter_map(|(field, (ty, _))| Some((field.clone(), static_kind(ty)?)))
                    .collect();
                attributes.sort_by(|a, b| a.0.cmp(&b.0));
                let mut methods: Vec<String> = self
                    .methods
                    .keys()
                    .filter(|(class, _)| class == name)
                    .map(|(_, method)| method.clone())
                    .collect();
                methods.sort();
                ClassSummary {
                    name: name.clone(),
                    bases: Vec::new(),
                    attributes,
                    methods,
                    waiting: Vec::new(),
                    starting: Vec::new(),
                }
            })
            .filter(|class| !class.attributes.is_empty() || !class.methods.is_empty())
            .collect();
        classes.sort_by(|a, b| a.name.cmp(&b.name));
        classes
    }
}

/// The kind of object a static of this type holds, when it is one the rules reason about.
fn static_kind(ty: &Ty) -> Option<ObjKind> {
    match ty {
        Ty::Lock(kind, _) | Ty::Sync(kind) if *kind != ObjKind::Unknown => Some(*kind),
        Ty::Once(inner) | Ty::Opt(inner) => static_kind(inner),
        _ => None,
    }
}
