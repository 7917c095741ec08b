//! Code actions (a quick fix per fixable diagnostic, "Disable TLxxx for this line", fix-all)
//! and hover (a rule's documentation over its diagnostic or over a `noqa` code).

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, Hover, HoverContents,
    HoverParams, MarkupContent, MarkupKind, Position, Range, TextEdit, Uri, WorkspaceEdit,
};
use threadlint_analyzer::engine::{self, Settings, SettingsSource};
use threadlint_analyzer::lines::LineIndex;
use threadlint_rules::Applicability;

use super::position::{self, Encoding};
use super::{Document, Server};

pub const FIX_ALL_KIND: &str = "source.fixAll.threadlint";

// lsp-types keys `WorkspaceEdit::changes` by `Uri`, which clippy takes for a mutable key.
#[allow(clippy::mutable_key_type)]
fn workspace_edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    let mut changes = HashMap::new();
    changes.insert(uri.clone(), edits);
    WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    }
}

fn overlaps(a: &Range, b: &Range) -> bool {
    let before = |x: &Position, y: &Position| (x.line, x.character) < (y.line, y.character);
    !before(&a.end, &b.start) && !before(&b.end, &a.start)
}

/// Code action kinds are hierarchical: `source` asks for `source.fixAll.threadlint`, `quick`
/// asks for nothing.
fn kind_includes(asked: &str, kind: &str) -> bool {
    kind == asked || (kind.starts_with(asked) && kind.as_bytes().get(asked.len()) == Some(&b'.'))
}

/// The code actions at a range of an analysed document, and the fix-all action if it must be
/// computed now (fixing re-parses the file, maybe many times: the caller does it off the
/// message loop).
pub fn code_actions(
    server: &Server,
    params: CodeActionParams,
) -> (Vec<CodeActionOrCommand>, Option<FixAll>) {
    let key = params.text_document.uri.as_str().to_string();
    let encoding = server.encoding;
    let unsafe_fixes = server.client.unsafe_fixes;
    let Some(document) = server.documents.get(&key) else {
        return (Vec::new(), None);
    };
    let Some(report) = document.report() else {
        return (Vec::new(), None);
    };
    let wanted = |kind: &str| {
        params
            .context
            .only
            .as_ref()
            .is_none_or(|only| only.iter().any(|k| kind_includes(k.as_str(), kind)))
    };
    // Fix-all was asked for by name (a source action menu, fix on save), not offered along
    // with the quick fixes at the cursor.
    let fix_all_asked = params
        .context
        .only
        .as_ref()
        .is_some_and(|only| only.iter().any(|k| kind_includes(k.as_str(), FIX_ALL_KIND)));
    let mut actions = Vec::new();
    let lsp = server.lsp_diagnostics(document);
    if wanted(CodeActionKind::QUICKFIX.as_str()) {
        let mut disabled_lines: BTreeSet<(usize, &str)> = BTreeSet::new();
        for (diagnostic, shown) in report.diagnostics.iter().zip(&lsp) {
            if !overlaps(&shown.range, &params.range) {
                continue;
            }
            let Some(code) = diagnostic.code else {
                continue;
            };
            if let Some(fix) = &diagnostic.fix {
                if fix.applicability == Applicability::Safe
                    || (fix.applicability == Applicability::Unsafe && unsafe_fixes)
                {
                    let edits = fix
                        .edits
                        .iter()
                        .map(|edit| TextEdit {
                            range: position::range(
                                &document.text,
                                &report.lines,
                                edit.span,
                                encoding,
                            ),
                            new_text: edit.content.clone(),
                        })
                        .collect();
                    actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                        title: format!(
                            "Fix {code}: {} ({})",
                            fix.message,
                            fix.applicability.as_str()
                        ),
                        kind: Some(CodeActionKind::QUICKFIX),
                        diagnostics: Some(vec![shown.clone()]),
                        edit: Some(workspace_edit(&document.uri, edits)),
                        is_preferred: Some(fix.applicability == Applicability::Safe),
                        ..Default::default()
                    }));
                }
            }
            let line = report.lines.line_of(diagnostic.span.start);
            if disabled_lines.insert((line, code)) {
                if let Some(edit) = disable_for_line(document, &report.lines, line, code, encoding)
                {
                    actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                        title: format!("Disable {code} for this line"),
                        kind: Some(CodeActionKind::QUICKFIX),
                        diagnostics: Some(vec![shown.clone()]),
                        edit: Some(workspace_edit(&document.uri, vec![edit])),
                        ..Default::default()
                    }));
                }
            }
        }
    }
    let fixable = report
        .diagnostics
        .iter()
        .filter(|d| {
            d.fix
                .as_ref()
                .is_some_and(|fix| fix.applicability.is_applied(unsafe_fixes))
        })
        .count();
    if wanted(FIX_ALL_KIND) && fixable > 0 {
        let title = format!(
            "threadlint: fix all ({fixable} fixable finding{})",
            if fixable == 1 { "" } else { "s" }
        );
        if server.code_action_resolve && !fix_all_asked {
            // Offered at every cursor move: fixing a large file takes long, so the edit is
            // computed only if the action is chosen (`codeAction/resolve`).
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title,
                kind: Some(CodeActionKind::new(FIX_ALL_KIND)),
                data: Some(serde_json::json!({ "uri": key, "version": document.version })),
                ..Default::default()
            }));
        } else {
            return (actions, Some(FixAll::new(server, document, title)));
        }
    }
    (actions, None)
}

/// What the fix-all action of a document needs, to be computed off the message loop.
pub struct FixAll {
    title: String,
    uri: Uri,
    path: PathBuf,
    text: String,
    settings: Arc<Settings>,
    unsafe_fixes: bool,
    encoding: Encoding,
}

impl FixAll {
    fn new(server: &Server, document: &Document, title: String) -> Self {
        FixAll {
            title,
            uri: document.uri.clone(),
            path: document.path.clone(),
            text: document.text.clone(),
            settings: server.resolver.settings_for(&document.path),
            unsafe_fixes: server.client.unsafe_fixes,
            encoding: server.encoding,
        }
    }

    /// The action with its edit; `None` when no fix applies after all.
    pub fn action(&self) -> Option<CodeActionOrCommand> {
        Some(CodeActionOrCommand::CodeAction(CodeAction {
            title: self.title.clone(),
            kind: Some(CodeActionKind::new(FIX_ALL_KIND)),
            edit: Some(self.edit()?),
            ..Default::default()
        }))
    }

    /// The edit of `source.fixAll.threadlint`: every applicable fix, as one edit over the
    /// part of the text that changes (not the whole document).
    pub fn edit(&self) -> Option<WorkspaceEdit> {
        let fixed = threadlint_analyzer::fixing::fix_source(
            &self.path,
            &self.text,
            &self.settings,
            self.unsafe_fixes,
        );
        if fixed.fixed == 0 {
            return None;
        }
        let (start, end, replacement) = position::changed_part(&self.text, &fixed.source);
        let lines = LineIndex::new(&self.text);
        let range = Range {
            start: position::position(&self.text, &lines, start as u32, self.encoding),
            end: position::position(&self.text, &lines, end as u32, self.encoding),
        };
        Some(workspace_edit(
            &self.uri,
            vec![TextEdit {
                range,
                new_text: replacement.to_string(),
            }],
        ))
    }
}

/// `codeAction/resolve`: what computes the edit of a fix-all action offered without one;
/// `None` when the action is not that or its document is not open.
pub fn fix_all_to_resolve(server: &Server, action: &CodeAction) -> Option<FixAll> {
    if action.edit.is_some()
        || action.kind.as_ref().map(lsp_types::CodeActionKind::as_str) != Some(FIX_ALL_KIND)
    {
        return None;
    }
    let key = action.data.as_ref()?.get("uri")?.as_str()?;
    let document = server.documents.get(key)?;
    Some(FixAll::new(server, document, action.title.clone()))
}

/// The edit that adds `code` to the line's `noqa` comment.
fn disable_for_line(
    document: &Document,
    lines: &LineIndex,
    line: usize,
    code: &str,
    encoding: Encoding,
) -> Option<TextEdit> {
    let text = lines.line_text(&document.text, line);
    let comment = match engine::language_of(&document.path) {
        Some(threadlint_rules::model::Language::Rust) => "//",
        _ => "#",
    };
    let codes: BTreeSet<&str> = [code].into_iter().collect();
    let new_line = threadlint_analyzer::noqa::with_noqa(text, comment, &codes)?;
    let start = lines.line_start(line);
    let span = threadlint_rules::model::Span::new(start, start + text.len() as u32);
    Some(TextEdit {
        range: position::range(&document.text, lines, span, encoding),
        new_text: new_line,
    })
}

pub fn hover(server: &Server, params: HoverParams) -> Option<Hover> {
    let key = params
        .text_document_position_params
        .text_document
        .uri
        .as_str();
    let encoding = server.encoding;
    let document = server.documents.get(key)?;
    let report = document.report()?;
    let lines = &report.lines;
    let offset = position::offset(
        &document.text,
        lines,
        params.text_document_position_params.position,
        encoding,
    ) as u32;
    // Over a diagnostic: its rule.
    let code = report
        .diagnostics
        .iter()
        .find(|d| d.span.start <= offset && offset <= d.span.end.max(d.span.start + 1))
        .and_then(|d| d.code)
        .map(str::to_string)
        .or_else(|| {
            // Over a code in a comment: `# noqa: TL002`.
            let line = lines.line_of(offset);
            let text = lines.line_text(&document.text, line);
            let column = (offset - lines.line_start(line)) as usize;
            let start = text[..column.min(text.len())]
                .rfind(|c: char| !c.is_ascii_alphanumeric())
                .map_or(0, |i| i + 1);
            let end = text[column.min(text.len())..]
                .find(|c: char| !c.is_ascii_alphanumeric())
                .map_or(text.len(), |i| column + i);
            let word = &text[start..end];
            (text.contains("noqa") && threadlint_rules::registry::find(word).is_some())
                .then(|| word.to_string())
        })?;
    let rule = threadlint_rules::registry::find(&code)?;
    let value = format!(
        "**{} {}** ({})\n\n{}\n\n{}",
        rule.code,
        rule.name,
        rule.severity.as_str(),
        rule.summary,
        rule.documentation()
    );
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: None,
    })
}
