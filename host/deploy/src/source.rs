//! Source files and positions: every value loaded from a project remembers the file, line and
//! column it came from, so a finding can point at the exact text that produced it.
//!
//! A [`SourceMap`] owns the text of every file read while loading a project (`brickship.yaml`,
//! the pipeline's `job.yaml`, its environment overlay, a `--config-file`). A [`Span`] is a
//! `(file, start, end)` triple; [`SourceMap::locate`] turns it into a self-contained
//! [`Location`] with the source line for caret excerpts.

use std::path::{Path, PathBuf};

use crate::diagnostics::Location;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A position in a file: 1-based line and 1-based column, counted in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Line, starting at 1.
    pub line: u32,
    /// Column in characters, starting at 1.
    pub col: u32,
}

impl Pos {
    /// A position from a 1-based line and column.
    pub fn new(line: u32, col: u32) -> Self {
        Self { line, col }
    }
}

/// A range of text in one file; `end` is exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file the text is in.
    pub file: FileId,
    /// First character.
    pub start: Pos,
    /// One past the last character (same line as `start` for scalars).
    pub end: Pos,
}

impl Span {
    /// A span from `start` to `end` in `file`.
    pub fn new(file: FileId, start: Pos, end: Pos) -> Self {
        Self { file, start, end }
    }

    /// A zero-width span at `pos`.
    pub fn point(file: FileId, pos: Pos) -> Self {
        Self {
            file,
            start: pos,
            end: pos,
        }
    }

    /// A sub-span covering `len` characters starting `offset` characters after `start`, when the
    /// span is on one line (used to point at one `${...}` reference inside a longer string).
    pub fn sub(&self, offset: u32, len: u32) -> Span {
        if self.start.line != self.end.line {
            return *self;
        }
        let start = Pos::new(self.start.line, self.start.col + offset);
        Span::new(self.file, start, Pos::new(start.line, start.col + len))
    }
}

/// One file read while loading a project.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path shown to users: relative to the project root when the file is inside it.
    pub display: String,
    /// Absolute (or as-given) path on disk.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// The text of 1-based line `line`, without its line terminator.
    pub fn line(&self, line: u32) -> &str {
        let idx = line.saturating_sub(1) as usize;
        let Some(&start) = self.line_starts.get(idx) else {
            return "";
        };
        let end = self.line_starts.get(idx + 1).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Number of lines in the file.
    pub fn line_count(&self) -> u32 {
        u32::try_from(self.line_starts.len()).unwrap_or(u32::MAX)
    }
}

/// All files read while loading one project, addressed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id. `display` is the path shown in findings.
    pub fn add(&mut self, display: impl Into<String>, path: impl Into<PathBuf>, text: String) -> FileId {
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        if line_starts.len() > 1 && line_starts.last() == Some(&text.len()) {
            line_starts.pop();
        }
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            display: display.into(),
            path: path.into(),
            text,
            line_starts,
        });
        id
    }

    /// The file with id `id`, if it exists.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// Every file, in the order they were added.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    /// Resolves a span to a [`Location`] with the path relative to the project and the text of
    /// its first line.
    pub fn locate(&self, span: Span) -> Location {
        let (file, source_line) = match self.get(span.file) {
            Some(f) => (f.display.clone(), f.line(span.start.line).to_string()),
            None => ("<unknown>".to_string(), String::new()),
        };
        Location {
            file,
            line: span.start.line,
            column: span.start.col,
            end_line: span.end.line,
            end_column: span.end.col,
            source_line,
        }
    }
}

/// Path of `path` relative to `root` with `/` separators, or `path` as given when it is outside.
pub fn display_path(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            parts.join("/")
        }
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based_and_trimmed() {
        let mut map = SourceMap::new();
        let id = map.add("a.yaml", "a.yaml", "one\r\ntwo\nthree\n".to_string());
        let f = map.get(id).expect("file");
        assert_eq!(f.line(1), "one");
        assert_eq!(f.line(2), "two");
        assert_eq!(f.line(3), "three");
        assert_eq!(f.line(4), "");
        assert_eq!(f.line_count(), 3);
    }

    #[test]
    fn locate_carries_the_source_line() {
        let mut map = SourceMap::new();
        let id = map.add("p/job.yaml", "/x/p/job.yaml", "name: x\ntasks: []\n".to_string());
        let loc = map.locate(Span::new(id, Pos::new(2, 1), Pos::new(2, 6)));
        assert_eq!(loc.file, "p/job.yaml");
        assert_eq!(loc.source_line, "tasks: []");
        assert_eq!((loc.line, loc.column, loc.end_column), (2, 1, 6));
    }

    #[test]
    fn sub_span_narrows_single_line_spans_only() {
        let s = Span::new(FileId(0), Pos::new(3, 10), Pos::new(3, 30));
        let sub = s.sub(4, 6);
        assert_eq!((sub.start.col, sub.end.col), (14, 20));
        let multi = Span::new(FileId(0), Pos::new(3, 10), Pos::new(5, 2));
        assert_eq!(multi.sub(4, 6), multi);
    }

    #[test]
    fn display_path_is_relative_with_slashes() {
        let root = Path::new("/p");
        assert_eq!(
            display_path(root, Path::new("/p/pipelines/a/job.yaml")),
            "pipelines/a/job.yaml"
        );
        assert_eq!(
            display_path(root, Path::new("/elsewhere/c.yaml")),
            "/elsewhere/c.yaml"
        );
    }
}
