//! The intermediate model: what the schemas of one OCPP version say, with
//! every type named, merged and checked, ready to be written as Rust.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use heck::ToSnakeCase;
use serde_json::{Map, Value};

use crate::config::{Config, VersionConfig};

/// A generator failure, in words.
pub type Error = String;

/// One OCPP version: `v16` (core and security extension), `v201` or `v21`.
#[derive(Debug)]
pub struct Version {
    /// The Rust module name (`v16`).
    pub module: &'static str,
    /// The `ocpp_types::Version` variant (`V16`).
    pub variant: &'static str,
    /// The title for documentation (`OCPP 1.6-J`).
    pub title: &'static str,
    /// The schema folders read, relative to `schemas/`.
    pub folders: &'static [&'static str],
    /// Every action, sorted by name.
    pub actions: Vec<Action>,
    /// Every shared enumeration and object, by Rust name.
    pub types: BTreeMap<String, TypeDef>,
}

/// One action: its request (or SEND message) and its response.
#[derive(Debug)]
pub struct Action {
    /// The wire name (`BootNotification`).
    pub name: String,
    /// The request, or the SEND message.
    pub request: Message,
    /// The response; `None` for a SEND message.
    pub response: Option<Message>,
    /// Who may send it.
    pub senders: Senders,
}

/// Who may send an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Senders {
    /// The charge point only.
    ChargePoint,
    /// The CSMS only.
    Csms,
    /// Either side.
    Both,
}

/// A message payload and the file it comes from.
#[derive(Debug)]
pub struct Message {
    /// `schemas/`-relative path of the schema file (`v16/Authorize.json`).
    pub file: String,
    /// The payload's object type.
    pub object: Object,
}

/// A named enumeration or object.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDef {
    /// A string enumeration.
    Enum(Enum),
    /// An object.
    Object(Object),
}

/// A string enumeration.
#[derive(Debug, Clone, PartialEq)]
pub struct Enum {
    /// The Rust name.
    pub name: String,
    /// The schema's description.
    pub doc: Option<String>,
    /// The members, in schema order.
    pub variants: Vec<Variant>,
}

/// One enumeration member.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The Rust name.
    pub name: String,
    /// The spelling written on the wire.
    pub wire: String,
    /// Further spellings accepted when reading.
    pub aliases: Vec<String>,
}

/// An object type.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The Rust name.
    pub name: String,
    /// The schema's description.
    pub doc: Option<String>,
    /// The members, in schema order.
    pub fields: Vec<Field>,
    /// Whether members beyond `fields` are allowed (only `CustomDataType`).
    pub open: bool,
}

/// One object member.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The JSON member name.
    pub json: String,
    /// The Rust field name.
    pub rust: String,
    /// Its type.
    pub ty: Ty,
    /// Whether the schema requires it.
    pub required: bool,
    /// The description, with the schema default appended.
    pub doc: Option<String>,
}

/// A field or element type, with the constraints the schema puts on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// `string`, with its `maxLength`.
    String(Option<usize>),
    /// `string` with `format: date-time`.
    DateTime,
    /// `integer`.
    Integer(Bounds),
    /// `number`.
    Number(Bounds),
    /// `boolean`.
    Bool,
    /// No `type`: any JSON value.
    Any,
    /// A named enumeration or object.
    Named(String),
    /// `array`.
    Array {
        /// The element type.
        item: Box<Ty>,
        /// `minItems`.
        min: Option<usize>,
        /// `maxItems`.
        max: Option<usize>,
    },
}

/// Numeric constraints, as decimal text (`0`, `0.1`, `-100`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bounds {
    /// `minimum`.
    pub min: Option<String>,
    /// `maximum`.
    pub max: Option<String>,
    /// `multipleOf`.
    pub multiple_of: Option<String>,
}

impl Bounds {
    /// Whether any bound is set.
    pub fn any(&self) -> bool {
        self.min.is_some() || self.max.is_some() || self.multiple_of.is_some()
    }
}

/// Static facts about each version.
struct VersionInfo {
    module: &'static str,
    variant: &'static str,
    title: &'static str,
    folders: &'static [&'static str],
    /// 1.6 names requests `<Action>.json`; 2.x `<Action>Request.json`.
    request_suffix: &'static str,
}

const VERSIONS: [VersionInfo; 3] = [
    VersionInfo {
        module: "v16",
        variant: "V16",
        title: "OCPP 1.6-J (with the security extension)",
        folders: &["v16", "v16-security"],
        request_suffix: "",
    },
    VersionInfo {
        module: "v201",
        variant: "V201",
        title: "OCPP 2.0.1",
        folders: &["v201"],
        request_suffix: "Request",
    },
    VersionInfo {
        module: "v21",
        variant: "V21",
        title: "OCPP 2.1",
        folders: &["v21"],
        request_suffix: "Request",
    },
];

/// Reads every schema under `schema_dir` and builds the three versions.
pub fn load(schema_dir: &Path, config: &Config) -> Result<Vec<Version>, Error> {
    VERSIONS
        .iter()
        .map(|info| {
            let cfg = config.version(info.module);
            Builder::new(info, &cfg).build(schema_dir)
        })
        .collect()
}

/// The schema file of one message, parsed.
struct Source {
    file: String,
    root: Value,
}

struct Builder<'a> {
    info: &'a VersionInfo,
    cfg: &'a VersionConfig,
    /// Named types with the canonical shape each was built from and where.
    types: BTreeMap<String, (TypeDef, Value, String)>,
    /// Names from `names.toml` that were used (an unused one is a mistake).
    used_names: std::collections::BTreeSet<String>,
}

impl<'a> Builder<'a> {
    fn new(info: &'a VersionInfo, cfg: &'a VersionConfig) -> Self {
        Builder {
            info,
            cfg,
            types: BTreeMap::new(),
            used_names: Default::default(),
        }
    }

    fn build(self, schema_dir: &Path) -> Result<Version, Error> {
        let sources = read_sources(schema_dir, self.info.folders)?;
        self.build_from(sources)
    }

    fn build_from(mut self, sources: Vec<Source>) -> Result<Version, Error> {
        let mut requests: BTreeMap<String, Source> = BTreeMap::new();
        let mut responses: BTreeMap<String, Source> = BTreeMap::new();
        for src in sources {
            let stem = src
                .file
                .rsplit('/')
                .next()
                .and_then(|f| f.strip_suffix(".json"))
                .unwrap_or_default()
                .to_owned();
            if let Some(action) = stem.strip_suffix("Response") {
                responses.insert(action.to_owned(), src);
            } else {
                // 2.x: `XRequest`; a name without the suffix is a SEND message.
                let action = stem.strip_suffix(self.info.request_suffix).unwrap_or(&stem);
                requests.insert(action.to_owned(), src);
            }
        }
        let mut actions = Vec::new();
        for (name, request) in requests {
            let response = responses.remove(&name);
            let is_send = response.is_none();
            if is_send && self.info.module != "v21" {
                return Err(format!("{}: request without response", request.file));
            }
            let request_name = if is_send {
                name.clone()
            } else {
                format!("{name}Request")
            };
            let request = self.message(request, &request_name)?;
            let response = response
                .map(|r| self.message(r, &format!("{name}Response")))
                .transpose()?;
            let senders = self.cfg.senders(&name);
            actions.push(Action {
                name,
                request,
                response,
                senders,
            });
        }
        if let Some((name, src)) = responses.into_iter().next() {
            return Err(format!("{}: response without request `{name}`", src.file));
        }
        self.cfg
            .check_actions(actions.iter().map(|a| a.name.as_str()))?;
        for key in self.cfg.types.keys() {
            if !self.used_names.contains(key) {
                return Err(format!(
                    "names.toml [{}.types] `{key}` names nothing in the schemas",
                    self.info.module
                ));
            }
        }
        for action in &actions {
            for m in std::iter::once(&action.request).chain(&action.response) {
                if self.types.contains_key(&m.object.name) {
                    return Err(format!(
                        "{}: message type `{}` collides with a shared type",
                        m.file, m.object.name
                    ));
                }
            }
        }
        Ok(Version {
            module: self.info.module,
            variant: self.info.variant,
            title: self.info.title,
            folders: self.info.folders,
            actions,
            types: self
                .types
                .into_iter()
                .map(|(k, (t, _, _))| (k, t))
                .collect(),
        })
    }

    fn message(&mut self, src: Source, name: &str) -> Result<Message, Error> {
        let ctx = Ctx {
            file: &src.file,
            definitions: src.root.get("definitions").and_then(Value::as_object),
        };
        let object = self.object(&ctx, &src.root, name)?;
        Ok(Message {
            file: src.file.clone(),
            object,
        })
    }

    fn object(&mut self, ctx: &Ctx<'_>, node: &Value, name: &str) -> Result<Object, Error> {
        let empty = Map::new();
        let props = node
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for r in &required {
            if !props.contains_key(*r) {
                return Err(format!("{}: `{name}` requires unknown `{r}`", ctx.file));
            }
        }
        let mut fields = Vec::new();
        for (json, prop) in props {
            let ty = self.ty(ctx, prop, name, json)?;
            let mut doc = description(prop);
            if let Some(default) = prop.get("default") {
                let d = format!("Default: `{default}`.");
                doc = Some(match doc {
                    Some(text) => format!("{text}\n\n{d}"),
                    None => d,
                });
            }
            fields.push(Field {
                json: json.clone(),
                rust: rust_field_name(json),
                ty,
                required: required.contains(&json.as_str()),
                doc,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for f in &fields {
            if !seen.insert(f.rust.as_str()) {
                return Err(format!(
                    "{}: two members of `{name}` become field `{}`",
                    ctx.file, f.rust
                ));
            }
        }
        let open = node.get("additionalProperties") != Some(&Value::Bool(false));
        if open && fields.iter().any(|f| f.rust == "extra") {
            return Err(format!(
                "{}: open object `{name}` has a member `extra`",
                ctx.file
            ));
        }
        Ok(Object {
            name: name.to_owned(),
            doc: description(node),
            fields,
            open,
        })
    }

    /// The type of `node`, found as member `prop` of the type `owner`.
    fn ty(&mut self, ctx: &Ctx<'_>, node: &Value, owner: &str, prop: &str) -> Result<Ty, Error> {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            return self.reference(ctx, reference);
        }
        if node.get("enum").is_some() || node.get("type") == Some(&Value::from("object")) {
            let key = format!("{owner}.{prop}");
            let Some(name) = self.cfg.types.get(&key).cloned() else {
                return Err(format!(
                    "{}: anonymous type at `{key}` has no name: add it to names.toml [{}.types]",
                    ctx.file, self.info.module
                ));
            };
            self.used_names.insert(key);
            self.named(ctx, &name, node)?;
            return Ok(Ty::Named(name));
        }
        let kind = node.get("type").and_then(Value::as_str).unwrap_or_default();
        Ok(match kind {
            "string" if node.get("format") == Some(&Value::from("date-time")) => Ty::DateTime,
            "string" => Ty::String(
                node.get("maxLength")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize),
            ),
            "integer" => Ty::Integer(bounds(node, true)?),
            "number" => Ty::Number(bounds(node, false)?),
            "boolean" => Ty::Bool,
            "" if node.get("properties").is_none() => Ty::Any,
            "array" => {
                let item = node
                    .get("items")
                    .ok_or_else(|| format!("{}: array `{owner}.{prop}` without items", ctx.file))?;
                Ty::Array {
                    item: Box::new(self.ty(ctx, item, owner, &format!("{prop}[]"))?),
                    min: node
                        .get("minItems")
                        .and_then(Value::as_u64)
                        .map(|n| n as usize),
                    max: node
                        .get("maxItems")
                        .and_then(Value::as_u64)
                        .map(|n| n as usize),
                }
            }
            other => {
                return Err(format!(
                    "{}: `{owner}.{prop}` has unsupported type `{other}`",
                    ctx.file
                ));
            }
        })
    }

    fn reference(&mut self, ctx: &Ctx<'_>, reference: &str) -> Result<Ty, Error> {
        let def_name = reference
            .strip_prefix("#/definitions/")
            .ok_or_else(|| format!("{}: unsupported $ref `{reference}`", ctx.file))?;
        let node = ctx
            .definitions
            .and_then(|d| d.get(def_name))
            .ok_or_else(|| format!("{}: $ref to missing `{def_name}`", ctx.file))?;
        // 2.x names every definition by `javaType`, always the name minus
        // `Type`; the 1.6 security extension has `javaType` only once.
        let name = node
            .get("javaType")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| def_name.strip_suffix("Type").unwrap_or(def_name).to_owned());
        self.named(ctx, &name, node)?;
        Ok(Ty::Named(name))
    }

    /// Registers the enumeration or object `name` built from `node`, or
    /// checks that `node` has the shape it was first built from.
    fn named(&mut self, ctx: &Ctx<'_>, name: &str, node: &Value) -> Result<(), Error> {
        let shape = shape(node);
        if let Some((_, first, file)) = self.types.get(name) {
            if *first != shape {
                return Err(format!(
                    "type `{name}` has two different shapes: in {file} and in {}",
                    ctx.file
                ));
            }
            return Ok(());
        }
        let def = if let Some(members) = node.get("enum").and_then(Value::as_array) {
            TypeDef::Enum(self.enumeration(ctx, name, node, members)?)
        } else {
            // Reserve the name first: objects may refer to themselves.
            self.types.insert(
                name.to_owned(),
                (
                    TypeDef::Enum(Enum {
                        name: String::new(),
                        doc: None,
                        variants: vec![],
                    }),
                    shape.clone(),
                    ctx.file.to_owned(),
                ),
            );
            TypeDef::Object(self.object(ctx, node, name)?)
        };
        self.types
            .insert(name.to_owned(), (def, shape, ctx.file.to_owned()));
        Ok(())
    }

    fn enumeration(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        node: &Value,
        members: &[Value],
    ) -> Result<Enum, Error> {
        let members: Vec<&str> = members.iter().filter_map(Value::as_str).collect();
        let mut variants: Vec<Variant> = Vec::new();
        for wire in &members {
            let merged = self.cfg.spellings.iter().find_map(|(key, spellings)| {
                let (ty, variant) = key.split_once('.')?;
                (ty == name && spellings.iter().any(|s| s == wire)).then_some((variant, spellings))
            });
            match merged {
                Some((variant, spellings)) => {
                    if variants.iter().any(|v| v.name == variant) {
                        continue;
                    }
                    variants.push(Variant {
                        name: variant.to_owned(),
                        wire: spellings[0].clone(),
                        aliases: spellings[1..].to_vec(),
                    });
                }
                None => variants.push(Variant {
                    name: variant_name(wire),
                    wire: (*wire).to_owned(),
                    aliases: vec![],
                }),
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for v in &variants {
            if !seen.insert(v.name.as_str()) {
                return Err(format!(
                    "{}: two members of `{name}` become variant `{}`",
                    ctx.file, v.name
                ));
            }
        }
        Ok(Enum {
            name: name.to_owned(),
            doc: description(node),
            variants,
        })
    }
}

struct Ctx<'a> {
    file: &'a str,
    definitions: Option<&'a Map<String, Value>>,
}

fn read_sources(schema_dir: &Path, folders: &[&str]) -> Result<Vec<Source>, Error> {
    let mut out = Vec::new();
    for folder in folders {
        let dir = schema_dir.join(folder);
        let mut names: Vec<String> = fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            // Some OCA files start with a byte order mark.
            let text = text.trim_start_matches('\u{feff}');
            let root = serde_json::from_str(text).map_err(|e| format!("{folder}/{name}: {e}"))?;
            out.push(Source {
                file: format!("{folder}/{name}"),
                root,
            });
        }
    }
    Ok(out)
}

/// A node without the keywords that do not change what it accepts
/// (descriptions, names, ids), for comparing same-named types.
fn shape(node: &Value) -> Value {
    const IGNORED: [&str; 8] = [
        "description",
        "javaType",
        "comment",
        "$comment",
        "title",
        "$schema",
        "$id",
        "id",
    ];
    let Value::Object(map) = node else {
        return node.clone();
    };
    let mut out = Map::new();
    for (k, v) in map {
        if IGNORED.contains(&k.as_str()) {
            continue;
        }
        let v = match (k.as_str(), v) {
            ("properties" | "definitions", Value::Object(members)) => Value::Object(
                members
                    .iter()
                    .map(|(name, schema)| (name.clone(), shape(schema)))
                    .collect(),
            ),
            ("items", _) => shape(v),
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

fn description(node: &Value) -> Option<String> {
    node.get("description")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Numeric bounds as exact decimal text; on an integer field a bound such
/// as `0.0` must be whole.
fn bounds(node: &Value, integer: bool) -> Result<Bounds, Error> {
    let get = |key: &str| -> Result<Option<String>, Error> {
        let Some(v) = node.get(key) else {
            return Ok(None);
        };
        let Value::Number(n) = v else {
            return Err(format!("`{key}` is not a number: {v}"));
        };
        let text = if let Some(i) = n.as_i64() {
            i.to_string()
        } else {
            let f = n.as_f64().unwrap_or_default();
            if integer || f.fract() == 0.0 {
                if f.fract() != 0.0 {
                    return Err(format!("integer bound `{key}` is {f}"));
                }
                format!("{}", f as i64)
            } else {
                f.to_string()
            }
        };
        Ok(Some(text))
    };
    Ok(Bounds {
        min: get("minimum")?,
        max: get("maximum")?,
        multiple_of: get("multipleOf")?,
    })
}

/// `evseId` -> `evse_id`; `type` -> `kind` (a keyword, and `kind` reads well).
fn rust_field_name(json: &str) -> String {
    let snake = json.to_snake_case();
    match snake.as_str() {
        "type" => "kind".to_owned(),
        "as" | "break" | "const" | "continue" | "crate" | "else" | "enum" | "extern" | "false"
        | "fn" | "for" | "if" | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move"
        | "mut" | "pub" | "ref" | "return" | "static" | "struct" | "super" | "trait" | "true"
        | "unsafe" | "use" | "where" | "while" | "async" | "await" | "dyn" | "gen" | "try"
        | "yield" | "abstract" | "become" | "box" | "do" | "final" | "macro" | "override"
        | "priv" | "typeof" | "unsized" | "virtual" => format!("r#{snake}"),
        _ => snake,
    }
}

/// `Energy.Active.Import.Register` -> `EnergyActiveImportRegister`,
/// `L1-N` -> `L1N`, `s309-1P-16A` -> `S3091P16A`: separators dropped, each
/// part capitalised, the rest of the spelling kept (`SuspendedEVSE`).
fn variant_name(wire: &str) -> String {
    let mut out = String::new();
    for part in wire.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'N');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Builds a version from in-memory schema files.
    fn build(module: &str, names: &str, files: Vec<(&str, Value)>) -> Result<Version, Error> {
        let info = VERSIONS.iter().find(|v| v.module == module).unwrap();
        let config = Config::parse(names, "").unwrap();
        let cfg = config.version(module);
        let sources = files
            .into_iter()
            .map(|(file, root)| Source {
                file: file.to_owned(),
                root,
            })
            .collect();
        Builder::new(info, &cfg).build_from(sources)
    }

    fn v16_pair(action: &str, request: Value) -> Vec<(String, Value)> {
        vec![
            (format!("v16/{action}.json"), request),
            (
                format!("v16/{action}Response.json"),
                json!({"type": "object", "additionalProperties": false, "properties": {}}),
            ),
        ]
    }

    fn inline_status(members: &[&str]) -> Value {
        json!({"type": "object", "additionalProperties": false,
               "properties": {"status": {"type": "string", "enum": members}}})
    }

    #[test]
    fn one_name_for_two_different_inline_shapes_fails() {
        let mut files = v16_pair("A", inline_status(&["Accepted", "Rejected"]));
        files.extend(v16_pair("B", inline_status(&["Accepted", "Blocked"])));
        let names = r#"[v16.types]
"ARequest.status" = "Status"
"BRequest.status" = "Status""#;
        let files = files.iter().map(|(f, v)| (f.as_str(), v.clone())).collect();
        let err = build("v16", names, files).unwrap_err();
        assert!(
            err.contains("type `Status` has two different shapes"),
            "{err}"
        );
    }

    #[test]
    fn one_name_for_two_equal_inline_shapes_is_one_type() {
        let mut files = v16_pair("A", inline_status(&["Accepted", "Rejected"]));
        files.extend(v16_pair("B", inline_status(&["Accepted", "Rejected"])));
        let names = r#"[v16.types]
"ARequest.status" = "Status"
"BRequest.status" = "Status""#;
        let files = files.iter().map(|(f, v)| (f.as_str(), v.clone())).collect();
        let v = build("v16", names, files).unwrap();
        assert_eq!(v.types.len(), 1);
        assert_eq!(v.actions.len(), 2);
    }

    #[test]
    fn an_unnamed_inline_type_fails_naming_its_key() {
        let files = v16_pair("A", inline_status(&["Accepted"]));
        let files = files.iter().map(|(f, v)| (f.as_str(), v.clone())).collect();
        let err = build("v16", "", files).unwrap_err();
        assert!(err.contains("`ARequest.status` has no name"), "{err}");
    }

    #[test]
    fn an_unused_name_fails() {
        let files = v16_pair("A", json!({"type": "object", "properties": {}}));
        let files = files.iter().map(|(f, v)| (f.as_str(), v.clone())).collect();
        let err = build("v16", "[v16.types]\n\"ARequest.gone\" = \"Gone\"", files).unwrap_err();
        assert!(err.contains("names nothing"), "{err}");
    }

    #[test]
    fn same_named_definitions_that_differ_fail() {
        let with_def = |members: &[&str]| {
            json!({"type": "object", "additionalProperties": false,
                   "definitions": {"StatusEnumType": {"javaType": "StatusEnum", "type": "string", "enum": members}},
                   "properties": {"status": {"$ref": "#/definitions/StatusEnumType"}}})
        };
        let empty = json!({"type": "object", "properties": {}});
        let files = vec![
            ("v201/ARequest.json", with_def(&["Accepted"])),
            ("v201/AResponse.json", empty.clone()),
            ("v201/BRequest.json", with_def(&["Accepted", "Rejected"])),
            ("v201/BResponse.json", empty),
        ];
        let err = build("v201", "", files).unwrap_err();
        assert!(
            err.contains("`StatusEnum` has two different shapes: in v201/ARequest.json and in v201/BRequest.json"),
            "{err}"
        );
    }

    #[test]
    fn descriptions_do_not_make_definitions_differ() {
        let with_def = |doc: &str| {
            json!({"type": "object", "additionalProperties": false,
                   "definitions": {"StatusEnumType": {"javaType": "StatusEnum", "description": doc, "type": "string", "enum": ["Accepted"]}},
                   "properties": {"status": {"$ref": "#/definitions/StatusEnumType"}}})
        };
        let empty = json!({"type": "object", "properties": {}});
        let files = vec![
            ("v201/ARequest.json", with_def("one")),
            ("v201/AResponse.json", empty.clone()),
            ("v201/BRequest.json", with_def("two")),
            ("v201/BResponse.json", empty),
        ];
        let v = build("v201", "", files).unwrap();
        assert!(v.types.contains_key("StatusEnum"));
    }

    #[test]
    fn variant_names_keep_spelling_and_drop_separators() {
        assert_eq!(
            variant_name("Energy.Active.Import.Register"),
            "EnergyActiveImportRegister"
        );
        assert_eq!(variant_name("L1-N"), "L1N");
        assert_eq!(variant_name("s309-1P-16A"), "S3091P16A");
        assert_eq!(variant_name("SuspendedEVSE"), "SuspendedEVSE");
        assert_eq!(variant_name("AC_single_phase"), "ACSinglePhase");
    }

    #[test]
    fn field_names_are_snake_case_without_keywords() {
        assert_eq!(rust_field_name("evseId"), "evse_id");
        assert_eq!(rust_field_name("setpoint_L2"), "setpoint_l2");
        assert_eq!(rust_field_name("type"), "kind");
    }

    #[test]
    fn shape_ignores_descriptions_but_not_member_names() {
        let a = serde_json::json!({"type":"object","description":"x","properties":{"description":{"type":"string","description":"y"}}});
        let b = serde_json::json!({"type":"object","properties":{"description":{"type":"string"}}});
        assert_eq!(shape(&a), shape(&b));
    }
}
