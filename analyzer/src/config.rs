//! Configuration: `[tool.threadlint]` in `pyproject.toml`, or `threadlint.toml` /
//! `.threadlint.toml`. The nearest file above each checked file wins (as in ruff); `--config
//! PATH` names one file for everything; `--isolated` ignores them all. Command-line options
//! override what files say.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use globset::Glob;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use threadlint_rules::{RuleSettings, Severity};

use crate::selection::{RuleSelection, Selector};
use crate::settings::Settings;
pub use crate::settings::{PerFileIgnore, DEFAULT_EXCLUDES};

/// The file names looked for in each folder, in order of preference.
pub const CONFIG_FILES: &[&str] = &[".threadlint.toml", "threadlint.toml", "pyproject.toml"];

/// A configuration problem: which file, which key, what is allowed.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: `{}`: {}",
                self.file.display(),
                self.key,
                self.message
            )
        }
    }
}

/// Options from one configuration source, as the file spells them (kebab-case keys; a key
/// not declared here is an error that lists the declared ones). `None` means "not set here".
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    #[serde(deserialize_with = "some_selectors")]
    pub select: Option<Vec<Selector>>,
    #[serde(deserialize_with = "selectors")]
    pub extend_select: Vec<Selector>,
    #[serde(deserialize_with = "selectors")]
    pub ignore: Vec<Selector>,
    #[serde(deserialize_with = "per_file_ignores")]
    pub per_file_ignores: Vec<PerFileIgnore>,
    #[serde(deserialize_with = "some_strings")]
    pub exclude: Option<Vec<String>>,
    #[serde(deserialize_with = "strings")]
    pub extend_exclude: Vec<String>,
    pub respect_gitignore: Option<bool>,
    pub missing_timeout: MissingTimeout,
    pub severity: BTreeMap<RuleCode, Severity>,
    #[serde(deserialize_with = "output_format")]
    pub output_format: Option<String>,
}

/// `[missing-timeout]`: TL005's options.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct MissingTimeout {
    /// TL005 also checks the strict call set.
    pub strict: Option<bool>,
}

/// A rule's code, as a configuration key names it (by code or name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleCode(pub &'static str);

impl std::borrow::Borrow<str> for RuleCode {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl<'de> Deserialize<'de> for RuleCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        threadlint_rules::registry::find(&text)
            .map(|rule| RuleCode(rule.code))
            .ok_or_else(|| D::Error::custom(format!("`{text}` is not a rule code of this version")))
    }
}

/// A list of strings; anything else is an error that says so.
fn strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct List;
    impl<'de> serde::de::Visitor<'de> for List {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of strings, e.g. [\"TL002\"]")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                items.push(item);
            }
            Ok(items)
        }
    }
    deserializer.deserialize_seq(List)
}

fn some_strings<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    strings(deserializer).map(Some)
}

fn selectors<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Selector>, D::Error> {
    strings(deserializer)?
        .iter()
        .map(|s| Selector::parse(s).map_err(D::Error::custom))
        .collect()
}

fn some_selectors<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Selector>>, D::Error> {
    selectors(deserializer).map(Some)
}

fn output_format<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let format = String::deserialize(deserializer)?;
    if OUTPUT_FORMATS.contains(&format.as_str()) {
        Ok(Some(format))
    } else {
        Err(D::Error::custom(format!(
            "`{format}`: expected one of {}",
            OUTPUT_FORMATS.join(", ")
        )))
    }
}

/// `glob = [selectors]`, in the file's order.
fn per_file_ignores<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<PerFileIgnore>, D::Error> {
    struct Globs;
    impl<'de> serde::de::Visitor<'de> for Globs {
        type Value = Vec<PerFileIgnore>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a table of glob = [codes], e.g. \"tests/*\" = [\"TL003\"]")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(pattern) = map.next_key::<String>()? {
                let rules = map.next_value::<SelectorList>()?.0;
                let glob = Glob::new(&pattern).map_err(|e| {
                    A::Error::custom(format!("`{pattern}` is not a valid glob: {e}"))
                })?;
                entries.push(PerFileIgnore {
                    matcher: glob.compile_matcher(),
                    basename_only: !pattern.contains('/'),
                    pattern,
                    rules,
                });
            }
            Ok(entries)
        }
    }
    deserializer.deserialize_map(Globs)
}

/// [`selectors`] as a type, for the values of a table.
struct SelectorList(Vec<Selector>);

impl<'de> Deserialize<'de> for SelectorList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        selectors(deserializer).map(SelectorList)
    }
}

/// A configuration file that was found and read.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// The folder it applies to (its own folder): globs are relative to it.
    pub root: PathBuf,
    pub options: Options,
}

pub const OUTPUT_FORMATS: &[&str] = &[
    "full",
    "concise",
    "grouped",
    "json",
    "json-lines",
    "github",
    "gitlab",
    "sarif",
    "junit",
];

fn error(file: &Path, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        key: key.to_string(),
        message: message.into(),
    }
}

/// Reads options from a TOML table (the `[tool.threadlint]` table, or a whole
/// `threadlint.toml`); an error names the key (`missing-timeout.strict`) and what is allowed.
pub fn parse_options(file: &Path, table: &toml::Table) -> Result<Options, ConfigError> {
    serde_path_to_error::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let path = toml_key(e.path());
        let message = e.inner().message().trim_end().to_string();
        // The path of an unknown key ends with that key.
        match unknown_key(&message) {
            Some(allowed) => error(file, &path, format!("unknown key; the keys are {allowed}")),
            None => error(file, &path, expected_first(&message)),
        }
    })
}

/// A path in the table as TOML writes a key: `per-file-ignores."tests/*"`, `exclude[0]`.
fn toml_key(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut key = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => key.push_str(&format!("[{index}]")),
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                if !key.is_empty() {
                    key.push('.');
                }
                let bare = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if bare {
                    key.push_str(name);
                } else {
                    key.push_str(&format!("{name:?}"));
                }
            }
            Segment::Unknown => key.push_str(if key.is_empty() { "?" } else { ".?" }),
        }
    }
    key
}

/// `"select, extend-select, ..."` from serde's "unknown field `selec`, expected one of
/// `select`, `extend-select`, ..." (or "expected `strict`").
fn unknown_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (_, rest) = rest.split_once('`')?;
    let allowed = rest
        .trim_start_matches(", ")
        .trim_start_matches("expected one of ")
        .trim_start_matches("expected ")
        .replace('`', "");
    Some(allowed)
}

/// serde's "invalid type: string \"x\", expected a list of strings" as "expected a list of
/// strings, not string \"x\"": what is allowed first.
fn expected_first(message: &str) -> String {
    match message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("unknown variant "))
        .and_then(|rest| rest.split_once(", expected "))
    {
        Some((found, "a boolean")) => format!("expected `true` or `false`, not {found}"),
        Some((found, expected)) => format!("expected {expected}, not {found}"),
        None => message.to_string(),
    }
}

/// A TOML error located by line and column, without the excerpt of the file that the parser's
/// own message quotes: error messages end up in CI logs, and the file may not be what it
/// seems (a link to a file that is no configuration at all).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let at = e
        .span()
        .map(|span| {
            let before = text.get(..span.start).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!(" at line {line}, column {column}")
        })
        .unwrap_or_default();
    format!("not valid TOML{at}: {}", e.message().trim_end())
}

/// A configuration file found by looking up from a checked file is a symbolic link whose
/// target lies outside the project: the repository that holds the link (the nearest folder
/// above it with `.git`), or, outside a repository, the link's own folder. Such a file is not
/// read: a checked-out tree must not make the tool read (and quote) files elsewhere.
fn link_leaves_project(candidate: &Path, dir: &Path) -> bool {
    let is_link = std::fs::symlink_metadata(candidate).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return false;
    }
    let (Ok(target), Ok(folder)) = (std::fs::canonicalize(candidate), std::fs::canonicalize(dir))
    else {
        return true;
    };
    let root = folder
        .ancestors()
        .find(|a| a.join(".git").exists())
        .unwrap_or(&folder);
    !target.starts_with(root)
}

/// Reads a configuration file. `Ok(None)` for a `pyproject.toml` without `[tool.threadlint]`.
pub fn load(path: &Path) -> Result<Option<ConfigFile>, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| error(path, "", format!("cannot read: {e}")))?;
    let document: toml::Table = text
        .parse()
        .map_err(|e| error(path, "", toml_error(&text, &e)))?;
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    let table = if is_pyproject {
        match document.get("tool").and_then(|t| t.get("threadlint")) {
            Some(toml::Value::Table(table)) => table.clone(),
            Some(_) => return Err(error(path, "tool.threadlint", "expected a table")),
            None => return Ok(None),
        }
    } else {
        document
    };
    let root = path.parent().map_or_else(
        || PathBuf::from("."),
        |p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        },
    );
    Ok(Some(ConfigFile {
        path: path.to_path_buf(),
        root,
        options: parse_options(path, &table)?,
    }))
}

/// What the command line says, on top of (or instead of) the files.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub select: Option<Vec<Selector>>,
    pub extend_select: Vec<Selector>,
    pub ignore: Vec<Selector>,
    /// `--config "key = value"` settings.
    pub inline: Options,
    pub extend_exclude: Vec<String>,
}

/// Where settings come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// Look for the nearest file above each checked file.
    Discover,
    /// `--config PATH`.
    File(Arc<ConfigFile>),
    /// `--isolated`.
    Isolated,
}

/// Resolves the settings for each file, caching configuration lookups per folder.
pub struct Resolver {
    source: Source,
    overrides: Overrides,
    found: Mutex<HashMap<PathBuf, Option<Arc<ConfigFile>>>>,
    settings: Mutex<HashMap<Option<PathBuf>, Arc<ResolvedConfig>>>,
    errors: Mutex<Vec<ConfigError>>,
}

/// Settings that apply below one configuration file.
pub struct ResolvedConfig {
    pub file: Option<Arc<ConfigFile>>,
    pub settings: Arc<Settings>,
    pub excludes: globset::GlobSet,
    pub respect_gitignore: bool,
    pub output_format: Option<String>,
}

impl Resolver {
    pub fn new(source: Source, overrides: Overrides) -> Self {
        Resolver {
            source,
            overrides,
            found: Mutex::new(HashMap::new()),
            settings: Mutex::new(HashMap::new()),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// Configuration errors met so far (each file once).
    pub fn errors(&self) -> Vec<ConfigError> {
        self.errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The configuration file that applies to `path`.
    pub fn config_for(&self, path: &Path) -> Option<Arc<ConfigFile>> {
        self.config_for_entry(path, None)
    }

    /// [`Self::config_for`], told whether `path` is a folder when the caller knows (a walk
    /// does), which saves asking the file system.
    fn config_for_entry(&self, path: &Path, is_dir: Option<bool>) -> Option<Arc<ConfigFile>> {
        match &self.source {
            Source::Isolated => None,
            Source::File(file) => Some(file.clone()),
            Source::Discover => {
                let absolute = if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    working_dir().join(path)
                };
                let start = if is_dir.unwrap_or_else(|| absolute.is_dir()) {
                    absolute.as_path()
                } else {
                    absolute.parent()?
                };
                self.nearest(start)
            }
        }
    }

    fn nearest(&self, dir: &Path) -> Option<Arc<ConfigFile>> {
        if let Some(found) = self
            .found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(dir)
        {
            return found.clone();
        }
        let mut result = None;
        for name in CONFIG_FILES {
            let candidate = dir.join(name);
            if candidate.is_file() {
                if link_leaves_project(&candidate, dir) {
                    self.errors
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(error(
                            &candidate,
                            "",
                            "a symbolic link to a file outside the project; it is not read",
                        ));
                    break;
                }
                match load(&candidate) {
                    Ok(Some(file)) => {
                        result = Some(Arc::new(file));
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        self.errors
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(e);
                        break;
                    }
                }
            }
        }
        if result.is_none() {
            if let Some(parent) = dir.parent() {
                result = self.nearest(parent);
            }
        }
        self.found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(dir.to_path_buf(), result.clone());
        result
    }

    /// The resolved configuration that applies to `path`.
    pub fn resolved_for(&self, path: &Path) -> Arc<ResolvedConfig> {
        self.resolved_for_entry(path, None)
    }

    fn resolved_for_entry(&self, path: &Path, is_dir: Option<bool>) -> Arc<ResolvedConfig> {
        let file = self.config_for_entry(path, is_dir);
        let key = file.as_ref().map(|f| f.path.clone());
        if let Some(resolved) = self
            .settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return resolved.clone();
        }
        let resolved = Arc::new(self.resolve(file));
        self.settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, resolved.clone());
        resolved
    }

    fn resolve(&self, file: Option<Arc<ConfigFile>>) -> ResolvedConfig {
        let empty = Options::default();
        let options = file.as_ref().map_or(&empty, |f| &f.options);
        let inline = &self.overrides.inline;
        let select = self
            .overrides
            .select
            .clone()
            .or_else(|| inline.select.clone())
            .or_else(|| options.select.clone());
        let extend: Vec<Selector> = options
            .extend_select
            .iter()
            .chain(&inline.extend_select)
            .chain(&self.overrides.extend_select)
            .cloned()
            .collect();
        let ignore: Vec<Selector> = options
            .ignore
            .iter()
            .chain(&inline.ignore)
            .chain(&self.overrides.ignore)
            .cloned()
            .collect();
        let mut per_file_ignores = options.per_file_ignores.clone();
        per_file_ignores.extend(inline.per_file_ignores.iter().cloned());
        let severity = options
            .severity
            .iter()
            .chain(&inline.severity)
            .map(|(code, level)| (code.0, *level))
            .collect();
        let settings = Settings {
            selection: RuleSelection::resolve(select.as_deref(), &extend, &ignore),
            rules: RuleSettings {
                missing_timeout_strict: inline
                    .missing_timeout
                    .strict
                    .or(options.missing_timeout.strict)
                    .unwrap_or(false),
            },
            severity,
            per_file_ignores,
            root: file.as_ref().map(|f| f.root.clone()),
        };
        let mut excludes = globset::GlobSetBuilder::new();
        let patterns: Vec<String> = inline
            .exclude
            .clone()
            .or_else(|| options.exclude.clone())
            .unwrap_or_else(|| {
                DEFAULT_EXCLUDES
                    .iter()
                    .map(std::string::ToString::to_string)
                    .collect()
            })
            .into_iter()
            .chain(options.extend_exclude.iter().cloned())
            .chain(inline.extend_exclude.iter().cloned())
            .chain(self.overrides.extend_exclude.iter().cloned())
            .collect();
        for pattern in &patterns {
            if let Ok(glob) = Glob::new(pattern) {
                excludes.add(glob);
            }
        }
        ResolvedConfig {
            settings: Arc::new(settings),
            excludes: excludes
                .build()
                .unwrap_or_else(|_| globset::GlobSet::empty()),
            respect_gitignore: inline
                .respect_gitignore
                .or(options.respect_gitignore)
                .unwrap_or(true),
            output_format: inline
                .output_format
                .clone()
                .or_else(|| options.output_format.clone()),
            file,
        }
    }

    /// Whether `path` is excluded by the configuration that applies to it: a pattern matches
    /// its name, or its path relative to the configuration's folder.
    pub fn is_excluded(&self, path: &Path) -> bool {
        self.is_excluded_entry(path, None)
    }

    fn is_excluded_entry(&self, path: &Path, is_dir: Option<bool>) -> bool {
        let resolved = self.resolved_for_entry(path, is_dir);
        if let Some(name) = path.file_name() {
            if resolved.excludes.is_match(name) {
                return true;
            }
        }
        let root = resolved
            .file
            .as_ref()
            .map_or_else(|| PathBuf::from("."), |f| f.root.clone());
        relative(path, &root).is_some_and(|r| resolved.excludes.is_match(r))
    }
}

/// The folder the process runs in, read once: a run asks for it for every file, and nothing
/// in threadlint changes it.
pub fn working_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| std::env::current_dir().unwrap_or_default())
}

/// `path` relative to `root`, comparing absolute forms.
pub fn relative(path: &Path, root: &Path) -> Option<PathBuf> {
    let cwd = working_dir();
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let root = if root.is_absolute() {
        root.to_path_buf()
    } else {
        cwd.join(root)
    };
    let clean = |p: &Path| -> PathBuf {
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect()
    };
    clean(&path)
        .strip_prefix(clean(&root))
        .ok()
        .map(Path::to_path_buf)
}

impl Settings {
    /// Whether `code` is reported for the file at `path`, after per-file ignores.
    pub fn is_enabled_for(&self, code: &str, path: &Path) -> bool {
        if !self.selection.is_enabled(code) {
            return false;
        }
        if self.per_file_ignores.is_empty() {
            return true;
        }
        let root = self.root.clone().unwrap_or_else(|| PathBuf::from("."));
        let Some(relative) = relative(path, &root) else {
            return true;
        };
        !self.per_file_ignores.iter().any(|entry| {
            entry.matches(&relative)
                && RuleSelection::resolve(Some(&entry.rules), &[], &[]).is_enabled(code)
        })
    }
}

impl crate::settings::SettingsSource for Resolver {
    fn settings_for(&self, path: &Path) -> Arc<Settings> {
        self.resolved_for(path).settings.clone()
    }
    fn is_excluded(&self, path: &Path) -> bool {
        Resolver::is_excluded(self, path)
    }
    fn is_excluded_entry(&self, path: &Path, is_dir: bool) -> bool {
        Resolver::is_excluded_entry(self, path, Some(is_dir))
    }
    fn respect_gitignore(&self, path: &Path) -> bool {
        self.resolved_for(path).respect_gitignore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Options, ConfigError> {
        parse_options(Path::new("threadlint.toml"), &text.parse().unwrap())
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = parse("selec = [\"TL001\"]").unwrap_err();
        assert_eq!(e.key, "selec");
        assert!(e.to_string().contains("unknown key; the keys are select"));
        let e = parse("select = \"TL001\"").unwrap_err();
        assert!(e.to_string().contains("expected a list of strings"));
        let e = parse("missing-timeout = { strct = true }").unwrap_err();
        assert_eq!(e.key, "missing-timeout.strct");
        let e = parse("[severity]\nTL005 = \"fatal\"").unwrap_err();
        assert_eq!(e.key, "severity.TL005");
        let e = parse("ignore = [\"XY1\"]").unwrap_err();
        assert!(e.message.contains("unknown rule selector"));
    }

    /// Every error: the key where it is, what is allowed.
    #[test]
    fn errors_name_the_key_and_what_is_allowed() {
        let cases = [
            ("selec = [\"TL001\"]", "selec", "the keys are select, extend-select, ignore, per-file-ignores, exclude, extend-exclude, respect-gitignore, missing-timeout, severity, output-format"),
            ("select = \"TL001\"", "select", "expected a list of strings, e.g. [\"TL002\"], not string \"TL001\""),
            ("exclude = [1]", "exclude[0]", "expected a string"),
            ("respect-gitignore = \"yes\"", "respect-gitignore", "expected `true` or `false`, not string \"yes\""),
            ("missing-timeout = { strct = true }", "missing-timeout.strct", "the keys are strict"),
            ("missing-timeout = true", "missing-timeout", "expected struct MissingTimeout"),
            ("[severity]\nTL005 = \"fatal\"", "severity.TL005", "expected `warning` or `error`, not `fatal`"),
            ("[severity]\nTL099 = \"error\"", "severity.TL099", "`TL099` is not a rule code of this version"),
            ("output-format = \"xml\"", "output-format", "expected one of full, concise"),
            ("[per-file-ignores]\n\"a[\" = [\"TL001\"]", "per-file-ignores", "`a[` is not a valid glob"),
            ("[per-file-ignores]\n\"tests/*\" = [\"XY\"]", "per-file-ignores.\"tests/*\"", "unknown rule selector `XY`"),
        ];
        for (text, key, allowed) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.key, key, "{text}: {e}");
            assert!(e.message.contains(allowed), "{text}: {e}");
            assert!(e.to_string().starts_with("threadlint.toml: "), "{e}");
        }
    }

    #[test]
    fn reads_every_key() {
        let options = parse(
            "select = [\"TL00\"]\nextend-select = [\"TL004\"]\nignore = [\"TL003\"]\nexclude = [\"gen\"]\nextend-exclude = [\"x\"]\nrespect-gitignore = false\noutput-format = \"concise\"\n[per-file-ignores]\n\"tests/*\" = [\"TL008\"]\n[missing-timeout]\nstrict = true\n[severity]\nTL005 = \"error\"\n",
        )
        .unwrap();
        assert_eq!(options.missing_timeout.strict, Some(true));
        assert_eq!(options.severity.get("TL005"), Some(&Severity::Error));
        assert_eq!(options.per_file_ignores.len(), 1);
        assert!(options.per_file_ignores[0].matches(Path::new("tests/test_a.py")));
        assert!(!options.per_file_ignores[0].matches(Path::new("src/a.py")));
        assert_eq!(options.respect_gitignore, Some(false));
    }
}
