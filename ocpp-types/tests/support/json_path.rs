//! Locations inside a JSON instance, written both as a JSON pointer
//! (`/meterValue/0/sampledValue/1/unit`, what `jsonschema` reports) and in
//! our dotted form (`meterValue[0].sampledValue[1].unit`, what `ocpp_types`
//! reports).

use std::fmt::Write as _;

use serde_json::Value;

/// One step into an object member or an array element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// A location inside an instance; the empty location is the payload itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loc(pub Vec<Seg>);

impl Loc {
    /// This location extended by the member `key`.
    pub fn key(&self, key: &str) -> Loc {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        Loc(segs)
    }

    /// This location extended by the element `index`.
    pub fn index(&self, index: usize) -> Loc {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Loc(segs)
    }

    /// The JSON pointer (RFC 6901) of this location.
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            match seg {
                Seg::Key(key) => {
                    out.push('/');
                    out.push_str(&key.replace('~', "~0").replace('/', "~1"));
                }
                Seg::Index(i) => {
                    let _ = write!(out, "/{i}");
                }
            }
        }
        out
    }

    /// The dotted form of this location (`a[0].b`).
    pub fn dotted(&self) -> String {
        pointer_to_dotted(&self.pointer())
    }

    /// The value at this location (which must exist) of `instance`.
    pub fn get<'v>(&self, instance: &'v Value) -> &'v Value {
        let pointer = self.pointer();
        instance
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("no value at `{pointer}`"))
    }

    /// Removes the member at this location (which must be a member) from `instance`.
    pub fn remove(&self, instance: &mut Value) {
        let (Some(Seg::Key(key)), parent) = (
            self.0.last(),
            Loc(self.0[..self.0.len().saturating_sub(1)].to_vec()),
        ) else {
            panic!("`{}` is not an object member", self.pointer());
        };
        parent
            .get_mut(instance)
            .as_object_mut()
            .expect("the parent of a member is an object")
            .remove(key);
    }

    /// The value at this location (which must exist) of `instance`, mutably.
    pub fn get_mut<'v>(&self, instance: &'v mut Value) -> &'v mut Value {
        let pointer = self.pointer();
        instance
            .pointer_mut(&pointer)
            .unwrap_or_else(|| panic!("no value at `{pointer}`"))
    }
}

/// Converts a JSON pointer into our dotted form: `/a/0/b` -> `a[0].b`.
///
/// A segment made only of digits is taken as an array index; no OCPP schema
/// has a member named like that.
pub fn pointer_to_dotted(pointer: &str) -> String {
    let mut out = String::new();
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            let _ = write!(out, "[{seg}]");
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

/// `base.member` in dotted form (just `member` at the root).
pub fn dotted_member(base: &str, member: &str) -> String {
    if base.is_empty() {
        member.to_owned()
    } else {
        format!("{base}.{member}")
    }
}
