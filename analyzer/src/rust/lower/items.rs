//! Collection: one walk over the items of a file (modules, `use` declarations, structs and their
//! field types, statics including `lazy_static!`/`thread_local!`, consts, type aliases,
//! functions, methods and trait default methods) before any body is lowered.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use proc_macro2::Span as TokenSpan;
use syn::visit::Visit;
use syn::{Block, Expr, FnArg, Pat, Type, UseTree};
use threadlint_rules::model::{FnId, Span};

use crate::rust::macros::{Body as MacroBody, MacroArena};

use super::guards::Binding;
use super::resolve::type_name;
use super::syntax::{signature_start, test_attribute, TestRuntime};
use super::values::Ty;
use super::{Lowerer, MAX_DEPTH};

#[derive(Default)]
pub(super) struct Module<'a> {
    pub(super) parent: Option<usize>,
    /// The names of the inline modules from the file's top level to this one.
    pub(super) path: Vec<String>,
    pub(super) children: HashMap<String, usize>,
    /// `mod name;`: the module's items are in another file.
    pub(super) out_of_line: bool,
    /// Names bound by a `pub use` or declared by a `pub type` (what other modules may name
    /// through this one).
    pub(super) public: HashSet<String>,
    /// `pub use a::*;`: every public name of `a` is re-exported.
    pub(super) public_globs: Vec<Vec<String>>,
    pub(super) imports: HashMap<String, Vec<String>>,
    pub(super) globs: Vec<Vec<String>>,
    pub(super) structs: HashSet<String>,
    pub(super) statics: HashSet<String>,
    pub(super) consts: HashSet<String>,
    pub(super) fns: HashMap<String, FnId>,
    pub(super) aliases: HashMap<String, &'a Type>,
}

pub(super) struct StructInfo<'a> {
    pub(super) module: usize,
    pub(super) fields: Vec<(String, &'a Type, Span)>,
    pub(super) types: HashMap<String, (Ty, Span)>,
}

pub(super) struct StaticInfo<'a> {
    pub(super) module: usize,
    pub(super) ty: &'a Type,
    pub(super) span: Span,
    pub(super) resolved: Ty,
}

#[derive(Clone, Copy)]
pub(super) enum FnBody<'a> {
    None,
    Block(&'a Block),
    Closure(&'a syn::ExprClosure),
    Async(&'a syn::ExprAsync),
}

#[derive(Clone, Copy)]
pub(super) enum Input<'a> {
    SelfParam,
    Typed(&'a Pat, Option<&'a Type>),
}

pub(super) struct FnInfo<'a> {
    pub(super) name: String,
    pub(super) class: Option<String>,
    pub(super) module: usize,
    pub(super) body: FnBody<'a>,
    pub(super) inputs: Vec<Input<'a>>,
    /// Types known for the inputs from where a closure is used (`thread::scope(|s| ..)`).
    pub(super) hints: Vec<Ty>,
    pub(super) ret: Option<&'a Type>,
    pub(super) is_async: bool,
    /// A method whose receiver is `&mut self` or `self` by value.
    pub(super) exclusive_receiver: bool,
    pub(super) span: Span,
    pub(super) name_span: Span,
    /// The bindings a closure captures.
    pub(super) env: Vec<Binding>,
    /// Where the test runtime's clock is paused from (`Function::paused_clock`).
    pub(super) paused_clock: Option<u32>,
    /// The runtime an async test attribute (`#[tokio::test]`) runs the body on.
    pub(super) test_runtime: Option<TestRuntime>,
    /// The body spawns a task onto the runtime it runs on (`tokio::spawn(..)`).
    pub(super) spawns_tasks: bool,
}

pub(super) struct Collector<'l, 'a> {
    pub(super) lw: &'l mut Lowerer<'a>,
    pub(super) module: usize,
    pub(super) class: Option<String>,
    pub(super) depth: usize,
}

impl<'a> Collector<'_, 'a> {
    pub(super) fn register(
        &mut self,
        sig: &'a syn::Signature,
        body: &'a Block,
        class: Option<String>,
        first: TokenSpan,
    ) -> FnId {
        let id = FnId(self.lw.fns.len() as u32);
        let inputs = sig
            .inputs
            .iter()
            .map(|input| match input {
                FnArg::Receiver(_) => Input::SelfParam,
                FnArg::Typed(typed) => Input::Typed(&typed.pat, Some(&typed.ty)),
            })
            .collect();
        let ret = match &sig.output {
            syn::ReturnType::Type(_, ty) => Some(&**ty),
            syn::ReturnType::Default => None,
        };
        let span = self.lw.join(first, body.brace_token.span.close());
        let name_span = self.lw.span(sig.ident.span());
        self.lw.fns.push(FnInfo {
            name: sig.ident.to_string(),
            class,
            module: self.module,
            body: FnBody::Block(body),
            inputs,
            hints: Vec::new(),
            ret,
            is_async: sig.asyncness.is_some(),
            exclusive_receiver: sig.receiver().is_some_and(|receiver| match &*receiver.ty {
                syn::Type::Reference(reference) => reference.mutability.is_some(),
                // `self` and `mut self`; not `self: Arc<Self>`.
                syn::Type::Path(path) => path.qself.is_none() && path.path.is_ident("Self"),
                _ => false,
            }),
            span,
            name_span,
            env: Vec::new(),
            paused_clock: None,
            test_runtime: None,
            spawns_tasks: false,
        });
        id
    }

    /// A test's runtime: whether its clock starts paused, and where it runs the body.
    fn mark_test(&mut self, id: FnId, attrs: &[syn::Attribute]) {
        let info = &mut self.lw.fns[id.0 as usize];
        let test = test_attribute(attrs);
        if test.start_paused {
            info.paused_clock = Some(info.span.start);
        }
        info.test_runtime = test.runtime;
    }

    pub(super) fn add_static(&mut self, name: String, ty: &'a Type, span: Span) {
        self.lw.modules[self.module].statics.insert(name.clone());
        let key = self.lw.static_key(self.module, &name);
        self.lw.statics.entry(key).or_insert(StaticInfo {
            module: self.module,
            ty,
            span,
            resolved: Ty::Unknown,
        });
    }
}

pub(super) fn flatten_use(tree: &UseTree, prefix: &mut Vec<String>, module: &mut Module) {
    match tree {
        UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            flatten_use(&path.tree, prefix, module);
            prefix.pop();
        }
        UseTree::Name(name) => {
            let ident = name.ident.to_string();
            if ident == "self" {
                if let Some(last) = prefix.last() {
                    module.imports.insert(last.clone(), prefix.clone());
                }
            } else {
                let mut full = prefix.clone();
                full.push(ident.clone());
                module.imports.insert(ident, full);
            }
        }
        UseTree::Rename(rename) => {
            let ident = rename.ident.to_string();
            let mut full = prefix.clone();
            if ident != "self" {
                full.push(ident);
            }
            if rename.rename != "_" {
                module.imports.insert(rename.rename.to_string(), full);
            }
        }
        UseTree::Glob(_) => module.globs.push(prefix.clone()),
        UseTree::Group(group) => {
            for item in &group.items {
                flatten_use(item, prefix, module);
            }
        }
    }
}

impl<'a> Visit<'a> for Collector<'_, 'a> {
    fn visit_item_mod(&mut self, item: &'a syn::ItemMod) {
        let index = self.lw.modules.len();
        let mut path = self.lw.modules[self.module].path.clone();
        path.push(item.ident.to_string());
        self.lw.modules.push(Module {
            parent: Some(self.module),
            path,
            out_of_line: item.content.is_none(),
            ..Module::default()
        });
        self.lw.modules[self.module]
            .children
            .insert(item.ident.to_string(), index);
        if let Some((_, items)) = &item.content {
            let saved = (self.module, self.class.take());
            self.module = index;
            for item in items {
                self.visit_item(item);
            }
            self.module = saved.0;
            self.class = saved.1;
        }
    }

    fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
        let mut prefix = Vec::new();
        if item.leading_colon.is_some() {
            // `use ::std::..`: an external crate.
        }
        let module = &mut self.lw.modules[self.module];
        let before: HashSet<String> = module.imports.keys().cloned().collect();
        let globs_before = module.globs.len();
        flatten_use(&item.tree, &mut prefix, module);
        if !matches!(item.vis, syn::Visibility::Inherited) {
            let added = module.globs[globs_before..].to_vec();
            module.public_globs.extend(added);
            let added: Vec<String> = module
                .imports
                .keys()
                .filter(|name| !before.contains(*name))
                .cloned()
                .collect();
            module.public.extend(added);
        }
    }

    fn visit_item_struct(&mut self, item: &'a syn::ItemStruct) {
        let name = item.ident.to_string();
        self.lw.modules[self.module].structs.insert(name.clone());
        let fields = item
            .fields
            .iter()
            .enumerate()
            .map(|(index, field)| {
                let name = field
                    .ident
                    .as_ref()
                    .map_or_else(|| index.to_string(), std::string::ToString::to_string);
                let span = self.lw.span_of(field);
                (name, &field.ty, span)
            })
            .collect();
        self.lw.structs.entry(name).or_insert(StructInfo {
            module: self.module,
            fields,
            types: HashMap::default(),
        });
    }

    fn visit_item_static(&mut self, item: &'a syn::ItemStatic) {
        let span = self
            .lw
            .join(item.static_token.span, item.semi_token.spans[0]);
        self.add_static(item.ident.to_string(), &item.ty, span);
        syn::visit::visit_item_static(self, item);
    }

    fn visit_item_const(&mut self, item: &'a syn::ItemConst) {
        self.lw.modules[self.module]
            .consts
            .insert(item.ident.to_string());
        syn::visit::visit_item_const(self, item);
    }

    fn visit_item_type(&mut self, item: &'a syn::ItemType) {
        let module = &mut self.lw.modules[self.module];
        module.aliases.insert(item.ident.to_string(), &item.ty);
        if !matches!(item.vis, syn::Visibility::Inherited) {
            module.public.insert(item.ident.to_string());
        }
    }

    fn visit_item_fn(&mut self, item: &'a syn::ItemFn) {
        let id = self.register(&item.sig, &item.block, None, signature_start(&item.sig));
        self.mark_test(id, &item.attrs);
        self.lw.modules[self.module]
            .fns
            .entry(item.sig.ident.to_string())
            .or_insert(id);
        let saved = self.class.take();
        self.visit_block(&item.block);
        self.class = saved;
    }

    fn visit_item_impl(&mut self, item: &'a syn::ItemImpl) {
        let Some(class) = type_name(&item.self_ty) else {
            return;
        };
        self.lw
            .impls
            .push((class.clone(), &*item.self_ty, self.module));
        if let Some((_, path, _)) = &item.trait_ {
            let target = item.items.iter().find_map(|impl_item| match impl_item {
                syn::ImplItem::Type(ty) if ty.ident == "Target" => Some(&ty.ty),
                _ => None,
            });
            if let Some(target) = target {
                self.lw.deref_candidates.push((
                    class.clone(),
                    super::resolve::path_segments(path),
                    target,
                    self.module,
                ));
            }
        }
        let saved = self.class.replace(class.clone());
        for impl_item in &item.items {
            if let syn::ImplItem::Fn(method) = impl_item {
                let first = method
                    .defaultness
                    .map_or_else(|| signature_start(&method.sig), |t| t.span);
                let id = self.register(&method.sig, &method.block, Some(class.clone()), first);
                self.mark_test(id, &method.attrs);
                self.lw
                    .methods
                    .entry((class.clone(), method.sig.ident.to_string()))
                    .or_insert(id);
                self.visit_block(&method.block);
            }
        }
        self.class = saved;
    }

    fn visit_item_trait(&mut self, item: &'a syn::ItemTrait) {
        let class = item.ident.to_string();
        let saved = self.class.replace(class.clone());
        for trait_item in &item.items {
            if let syn::TraitItem::Fn(method) = trait_item {
                if let Some(block) = &method.default {
                    let id = self.register(
                        &method.sig,
                        block,
                        Some(class.clone()),
                        signature_start(&method.sig),
                    );
                    self.lw
                        .methods
                        .entry((class.clone(), method.sig.ident.to_string()))
                        .or_insert(id);
                    self.visit_block(block);
                }
            }
        }
        self.class = saved;
    }

    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        let key = self
            .lw
            .positions
            .offset(mac.delimiter.span().open().start());
        let macros: &'a MacroArena = self.lw.macros;
        if let Some(&index) = macros.static_index.get(&key) {
            for decl in &macros.statics[index] {
                let span = self.lw.span_of(&decl.name);
                self.add_static(decl.name.to_string(), &decl.ty, span);
            }
        }
        if let Some(&index) = macros.index.get(&key) {
            // Items and nested functions inside statement-like macro bodies.
            if let MacroBody::Stmts(stmts) = &macros.bodies[index] {
                for stmt in stmts {
                    self.visit_stmt(stmt);
                }
            }
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth > MAX_DEPTH {
            self.lw.depth_exceeded = true;
            return;
        }
        self.depth += 1;
        syn::visit::visit_expr(self, expr);
        self.depth -= 1;
    }
}
