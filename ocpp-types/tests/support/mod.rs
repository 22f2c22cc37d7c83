//! Test support driven by the official OCA JSON schemas: finding and loading
//! the files, checking instances with the independent `jsonschema` crate,
//! building valid instances ([`instance`]) and breaking them ([`mutation`]).
//!
//! Everything here works on the schemas as `serde_json::Value`s and knows
//! nothing about the generated types.

pub mod instance;
pub mod json_path;
pub mod mutation;

use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

/// One of the four schema folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Folder {
    /// `v16/`: OCPP 1.6-J core (draft-04).
    V16,
    /// `v16-security/`: the 1.6 security extension (draft-06).
    V16Security,
    /// `v201/`: OCPP 2.0.1 (draft-06).
    V201,
    /// `v21/`: OCPP 2.1 (draft-06).
    V21,
}

impl Folder {
    /// The folder's name.
    pub fn dir(self) -> &'static str {
        match self {
            Folder::V16 => "v16",
            Folder::V16Security => "v16-security",
            Folder::V201 => "v201",
            Folder::V21 => "v21",
        }
    }

    fn from_dir(dir: &str) -> Option<Folder> {
        [Folder::V16, Folder::V16Security, Folder::V201, Folder::V21]
            .into_iter()
            .find(|f| f.dir() == dir)
    }

    /// The JSON Schema draft the folder's `$schema` names.
    fn draft(self) -> jsonschema::Draft {
        match self {
            Folder::V16 => jsonschema::Draft::Draft4,
            _ => jsonschema::Draft::Draft6,
        }
    }
}

impl fmt::Display for Folder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir())
    }
}

/// Whether a file describes a request (or a 2.1 SEND message) or a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A CALL payload (or a SEND payload).
    Request,
    /// A CALLRESULT payload.
    Response,
}

/// A schema file, the message it describes, and its compiled validator.
pub struct SchemaFile {
    /// The path relative to the schema folder, e.g. `v201/BootNotificationRequest.json`.
    pub rel: &'static str,
    /// The folder it is in.
    pub folder: Folder,
    /// The action's wire name, e.g. `BootNotification`.
    pub action: String,
    /// Request or response.
    pub direction: Direction,
    /// The parsed schema.
    pub schema: Value,
    validator: jsonschema::Validator,
}

/// One complaint of the official schema about an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaComplaint {
    /// The JSON pointer of the offending value (`/a/0/b`).
    pub pointer: String,
    /// The keyword that failed (`maxLength`, `required`, ...).
    pub keyword: &'static str,
    /// For `required`, the missing member; for `additionalProperties`, the
    /// first unexpected one.
    pub member: Option<String>,
    /// The validator's message.
    pub message: String,
}

impl fmt::Display for SchemaComplaint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}: {}", self.pointer, self.keyword, self.message)
    }
}

impl SchemaFile {
    /// Everything the official schema finds wrong with `instance`.
    pub fn complaints(&self, instance: &Value) -> Vec<SchemaComplaint> {
        self.validator
            .iter_errors(instance)
            .map(|e| {
                let (keyword, member) = keyword(&e.kind);
                SchemaComplaint {
                    pointer: e.instance_path.as_str().to_owned(),
                    keyword,
                    member,
                    message: e.to_string(),
                }
            })
            .collect()
    }

    /// Panics, listing the complaints, unless the official schema accepts `instance`.
    pub fn assert_accepts(&self, instance: &Value, what: &str) {
        let complaints = self.complaints(instance);
        assert!(
            complaints.is_empty(),
            "{}: the official schema rejects the {what} instance:\n  {}\ninstance: {instance}",
            self.rel,
            complaints
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
}

/// The keyword of a `jsonschema` error kind, with the member it names.
fn keyword(kind: &ValidationErrorKind) -> (&'static str, Option<String>) {
    match kind {
        ValidationErrorKind::MaxLength { .. } => ("maxLength", None),
        ValidationErrorKind::Minimum { .. } => ("minimum", None),
        ValidationErrorKind::Maximum { .. } => ("maximum", None),
        ValidationErrorKind::MultipleOf { .. } => ("multipleOf", None),
        ValidationErrorKind::Enum { .. } => ("enum", None),
        ValidationErrorKind::Required { property } => {
            ("required", property.as_str().map(str::to_owned))
        }
        ValidationErrorKind::Type { .. } => ("type", None),
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            ("additionalProperties", unexpected.first().cloned())
        }
        ValidationErrorKind::MinItems { .. } => ("minItems", None),
        ValidationErrorKind::MaxItems { .. } => ("maxItems", None),
        ValidationErrorKind::Format { .. } => ("format", None),
        // `additionalProperties: false` without `properties` (the empty
        // 1.6-security responses) is reported as a false schema.
        ValidationErrorKind::FalseSchema => ("additionalProperties", None),
        _ => ("other", None),
    }
}

/// The directory holding the verified OCA schema folders; panics with the
/// locator's explanation (which says how to get them) when there is none.
pub fn schema_dir() -> PathBuf {
    ocpp_codegen::schemas::locate().unwrap_or_else(|e| panic!("{e}"))
}

/// Every schema file of the manifest, loaded and compiled once per process.
pub fn schema_files() -> &'static [SchemaFile] {
    static FILES: OnceLock<Vec<SchemaFile>> = OnceLock::new();
    FILES.get_or_init(load)
}

/// The schema files of one folder.
pub fn files_in(folder: Folder) -> impl Iterator<Item = &'static SchemaFile> {
    schema_files().iter().filter(move |f| f.folder == folder)
}

fn load() -> Vec<SchemaFile> {
    let dir = schema_dir();
    let mut files: Vec<SchemaFile> = ocpp_codegen::schemas::manifest()
        .into_iter()
        .map(|(rel, _sha)| {
            let (folder_name, file) = rel
                .split_once('/')
                .unwrap_or_else(|| panic!("manifest path without folder: {rel}"));
            let folder = Folder::from_dir(folder_name)
                .unwrap_or_else(|| panic!("unknown schema folder in {rel}"));
            let name = file
                .strip_suffix(".json")
                .unwrap_or_else(|| panic!("not a .json file: {rel}"));
            let (action, direction) = message_of(folder, name);
            let text = std::fs::read_to_string(dir.join(rel))
                .unwrap_or_else(|e| panic!("read {rel}: {e}"));
            let schema: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {rel}: {e}"));
            let validator = jsonschema::options()
                .with_draft(folder.draft())
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|e| panic!("compile {rel}: {e}"));
            SchemaFile {
                rel,
                folder,
                action: action.to_owned(),
                direction,
                schema,
                validator,
            }
        })
        .collect();
    files.sort_by_key(|f| (f.folder, f.rel));
    files
}

/// The action and direction a file name stands for: 1.6 `X` / `XResponse`,
/// 2.x `XRequest` / `XResponse`, and 2.1's SEND message without suffix.
fn message_of(folder: Folder, name: &str) -> (&str, Direction) {
    if let Some(action) = name.strip_suffix("Response") {
        return (action, Direction::Response);
    }
    match folder {
        Folder::V16 | Folder::V16Security => (name, Direction::Request),
        Folder::V201 | Folder::V21 => match name.strip_suffix("Request") {
            Some(action) => (action, Direction::Request),
            None => (name, Direction::Request),
        },
    }
}
