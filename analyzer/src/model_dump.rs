//! A model rendered as compact text, for the front-ends' tests: `acq:scoped:m` is
//! `Acquire { how: Scoped }` of the object displayed as `m`; scopes enclose their bodies in
//! braces (`while{wait:cond:c}`).

use threadlint_rules::model::{
    AcquireHow, EventKind, FileModel, LoopKind, Node, ScopeKind, WaitKind,
};

/// The body of a function (or any list of nodes) as one line.
pub(crate) fn render_body(model: &FileModel, source: &str, body: &[Node], out: &mut Vec<String>) {
    for node in body {
        match node {
            Node::Event(event) => {
                let name = |obj: threadlint_rules::model::ObjId| model.object(obj).display.clone();
                let text = match &event.kind {
                    EventKind::Acquire { obj, how, .. } => {
                        let how = match how {
                            AcquireHow::Scoped => "scoped",
                            AcquireHow::Temporary => "temp",
                            AcquireHow::Manual => "manual",
                            AcquireHow::Timeout => "timeout",
                            AcquireHow::NonBlocking => "try",
                        };
                        format!("acq:{how}:{}", name(*obj))
                    }
                    EventKind::Release { obj } => format!("rel:{}", name(*obj)),
                    EventKind::GuardLeak { obj } => format!("leak:{}", name(*obj)),
                    EventKind::Shutdown { obj } => format!("shutdown:{}", name(*obj)),
                    EventKind::ThreadControl { obj, .. } => format!("thread:{}", name(*obj)),
                    EventKind::UncheckedFuture { .. } => "unchecked-future".into(),
                    EventKind::StateTest { obj, .. } => format!("test:{}", name(*obj)),
                    EventKind::JoinDiscarded { obj } => format!("join-discarded:{}", name(*obj)),
                    EventKind::Wait { obj, kind, timeout } => {
                        let kind = match kind {
                            WaitKind::Condition => "cond",
                            WaitKind::ConditionPredicate => "pred",
                            WaitKind::Event => "event",
                            WaitKind::Barrier => "barrier",
                        };
                        format!(
                            "wait:{kind}{}:{}",
                            if *timeout { ":timeout" } else { "" },
                            name(*obj)
                        )
                    }
                    EventKind::Notify { obj } => format!("notify:{}", name(*obj)),
                    EventKind::Sleep => "sleep".into(),
                    EventKind::Blocking { what, timeout, .. } => {
                        format!("block:{what}{}", if *timeout { ":timeout" } else { "" })
                    }
                    EventKind::Call { callee } => format!("call:{}", model.function(*callee).name),
                    EventKind::ExternalCall { callee } => format!("call:{callee}"),
                    EventKind::Await => "await".into(),
                    EventKind::SharedWrite { target, .. } => format!("write:{target}"),
                    EventKind::ThreadStart { obj } => match obj {
                        Some(obj) => format!("start:{}", name(*obj)),
                        None => "start".into(),
                    },
                    EventKind::Submit { target, .. } => match target {
                        Some(f) => format!("submit:{}", model.function(*f).name),
                        None => "submit".into(),
                    },
                    EventKind::Synchronize => "sync".into(),
                    EventKind::Exit(kind) => format!("exit:{kind:?}").to_lowercase(),
                };
                let _ = source;
                out.push(text);
            }
            Node::Scope(scope) => {
                let kind = match &scope.kind {
                    ScopeKind::Loop(info) => match info.kind {
                        LoopKind::While => "while",
                        LoopKind::Infinite => "loop",
                        LoopKind::For => "for",
                    },
                    ScopeKind::Branch(_) => "branch",
                    ScopeKind::Block => "block",
                    _ => "scope",
                };
                let mut inner = Vec::new();
                render_body(model, source, &scope.body, &mut inner);
                out.push(format!("{kind}{{{}}}", inner.join(" ")));
            }
        }
    }
}

/// Every object of the model with its kind, then every function with its body, one per line:
/// what a front-end made of a whole file.
pub(crate) fn render_model(model: &FileModel, source: &str) -> String {
    let mut out = String::new();
    for object in &model.objects {
        out.push_str(&format!(
            "object {}: {:?} {:?}{}\n",
            object.display,
            object.kind,
            object.key,
            if object.escapes {
                ""
            } else {
                " (does not escape)"
            }
        ));
    }
    for function in &model.functions {
        let mut body = Vec::new();
        render_body(model, source, &function.body, &mut body);
        out.push_str(&format!(
            "{}{} {}: {}\n",
            if function.is_async { "async " } else { "" },
            if function.class.is_some() {
                "method"
            } else {
                "fn"
            },
            function.qualified_name(),
            body.join(" ")
        ));
    }
    out
}

/// Each call with events as its call table entry gives it: `callee|arguments`, then
/// `|receiver|method` for a method call (once per call).
#[cfg(test)]
pub(crate) fn render_calls(model: &FileModel, source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for function in &model.functions {
        threadlint_rules::model::events(&function.body, &mut |event, _| {
            if let Some(call) = model.call(event.span) {
                let text = |span: Option<threadlint_rules::model::Span>| {
                    span.map_or("", |s| &source[s.range()])
                };
                let mut entry = format!("{}|{}", text(Some(call.callee)), text(call.arguments));
                if call.method.is_some() {
                    entry += &format!("|{}|{}", text(call.receiver), text(call.method));
                }
                out.push(entry);
            }
        });
    }
    out.dedup();
    out
}
