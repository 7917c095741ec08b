//! Reading a source file: regular files only, up to [`MAX_FILE_BYTES`], UTF-8; anything else
//! is a [`ReadError`] that names the problem, never a crash.

use std::path::Path;

use crate::diagnostic::display_path;
use crate::problem::Problem;

/// Files larger than this are reported and skipped.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a file could not be checked.
#[derive(Clone, Debug)]
pub struct ReadError {
    /// `IoError` (could not be read: exit status 2), `UnsupportedEncoding` (not UTF-8),
    /// `FileTooLarge`.
    pub kind: Problem,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Reads a file as UTF-8, with an error message naming the file.
pub fn read_source(path: &Path) -> Result<String, ReadError> {
    let shown = display_path(path);
    let io = |e: std::io::Error| ReadError {
        kind: Problem::IoError,
        message: format!("Failed to read {shown}: {e}"),
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    // Reading a FIFO blocks until a writer comes, a device may never end: only regular files
    // are read.
    if !metadata.is_file() {
        return Err(ReadError {
            kind: Problem::IoError,
            message: format!(
                "Skipped {shown}: {}, not a regular file",
                file_kind(metadata.file_type())
            ),
        });
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(ReadError {
            kind: Problem::FileTooLarge,
            message: format!(
                "Skipped {shown}: {} MB is larger than the {} MB limit",
                metadata.len() / (1024 * 1024),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| ReadError {
        kind: Problem::IoError,
        message: format!("Failed to read {}: {e}", display_path(path)),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        // A Python file may say which encoding it is in (PEP 263): name it, so that the
        // reader knows the file is not broken, only not analysed.
        let declared = coding_declaration(e.as_bytes())
            .map(|name| format!("it declares the `{name}` encoding, "))
            .unwrap_or_default();
        ReadError {
            kind: Problem::UnsupportedEncoding,
            message: format!(
                "Skipped {}: not valid UTF-8 ({declared}invalid byte at offset {}); only UTF-8 sources are analysed",
                display_path(path),
                e.utf8_error().valid_up_to()
            ),
        }
    })
}

/// The encoding a source declares on one of its first two lines, as PEP 263 writes it (`#
/// -*- coding: latin-1 -*-`, `# vim: set fileencoding=cp850 :`).
fn coding_declaration(bytes: &[u8]) -> Option<String> {
    bytes.split(|&b| b == b'\n').take(2).find_map(|line| {
        let line = std::str::from_utf8(line).ok()?;
        let comment = line
            .trim_start_matches([' ', '\t', '\x0c'])
            .strip_prefix('#')?;
        let at = comment.find("coding")?;
        let rest = comment[at + "coding".len()..].strip_prefix([':', '='])?;
        let name: String = rest
            .trim_start_matches([' ', '\t'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        (!name.is_empty()).then_some(name)
    })
}

/// What a path that is not a regular file is, in words.
fn file_kind(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}
