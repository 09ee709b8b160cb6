//! A program's own types, from the DWARF its compiler wrote (`-g`): `struct STU`, `class
//! testmap`, with every member's offset, type, bit-field and enumerator.
//!
//! Pure functions over the bytes of an ELF file (the program, a library, or a separate debug
//! file); finding those bytes is [`super::debuginfo`]'s job. Bytes are untrusted: a truncated
//! or fuzzed file gives an error or fewer types, never a panic or an unbounded walk
//! (`fuzz/fuzz_targets/dwarf.rs`).
//!
//! Why gimli and object: gimli is the DWARF reader the Rust toolchain itself uses (std's
//! backtraces, addr2line), reads DWARF 2 to 5 without copying, and is fuzzed upstream; object
//! finds sections and *decompresses* them (`SHF_COMPRESSED` zlib/zstd and `.zdebug_*`, which
//! distributions' debug files and `gcc -gz` produce) and reads the build-id and
//! `.gnu_debuglink` notes. goblin, which resolves `SYMBOL[+OFF]` in [`super::elf`], does neither.
//! Each DIE we need is copied into a small arena first, so types are built without holding
//! gimli's borrows and cycles are cut by a depth limit.

use gimli::{AttributeValue, DwTag, EndianSlice, RunTimeEndian, UnitOffset};
use object::{Object, ObjectSection};
use std::borrow::Cow;
use std::collections::HashMap;

/// What went wrong reading DWARF.
#[derive(Debug, thiserror::Error)]
pub enum DwarfError {
    #[error("not an ELF file we can read: {0}")]
    NotElf(String),
    #[error("no DWARF debug information (.debug_info) in it")]
    NoDebugInfo,
    #[error("malformed DWARF: {0}")]
    Malformed(String),
}

impl From<gimli::Error> for DwarfError {
    fn from(e: gimli::Error) -> Self {
        DwarfError::Malformed(e.to_string())
    }
}

/// struct, class or union.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Struct,
    Class,
    Union,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Struct => "struct",
            RecordKind::Class => "class",
            RecordKind::Union => "union",
        }
    }
}

/// How a base type's bits are read (DW_AT_encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Signed,
    Unsigned,
    /// `char`, `signed char`.
    SignedChar,
    UnsignedChar,
    Float,
    Bool,
    Other,
}

/// A C or C++ type, as far as decoding bytes needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum CType {
    Base {
        name: String,
        size: u64,
        encoding: Encoding,
    },
    /// A pointer or reference; `to` names what it points to.
    Pointer {
        size: u64,
        to: String,
    },
    Record {
        kind: RecordKind,
        /// Qualified (`app::testmap`), or `<anonymous>`.
        name: String,
        size: u64,
        members: Vec<Member>,
    },
    Array {
        elem: Box<CType>,
        count: u64,
    },
    Enum {
        name: String,
        size: u64,
        signed: bool,
        values: Vec<(i64, String)>,
    },
    Typedef {
        name: String,
        ty: Box<CType>,
    },
    /// Something we do not decode (a function type, a cut cycle, a type in another unit).
    Opaque {
        name: String,
        size: u64,
    },
}

/// One data member of a struct, class or union.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// None for an anonymous struct or union member.
    pub name: Option<String>,
    /// Byte offset in the enclosing record (for a bit-field, of the byte holding its first bit).
    pub offset: u64,
    /// Bit-field: (bit offset inside the byte at `offset`, width in bits).
    pub bits: Option<(u32, u32)>,
    pub ty: CType,
    /// A base class's subobject (C++ inheritance).
    pub inherited: bool,
}

impl Member {
    /// A named member that is no bit-field, as tests build types by hand.
    #[cfg(test)]
    pub fn named(name: &str, offset: u64, ty: CType) -> Member {
        Member {
            name: Some(name.into()),
            offset,
            bits: None,
            ty,
            inherited: false,
        }
    }
}

impl CType {
    /// `sizeof`.
    pub fn size(&self) -> u64 {
        match self {
            CType::Base { size, .. }
            | CType::Pointer { size, .. }
            | CType::Record { size, .. }
            | CType::Enum { size, .. }
            | CType::Opaque { size, .. } => *size,
            CType::Array { elem, count } => elem.size().saturating_mul(*count),
            CType::Typedef { ty, .. } => ty.size(),
        }
    }

    /// The name a user would write: `struct STU`, `testmap`, `int[4]`.
    pub fn name(&self) -> String {
        match self {
            CType::Base { name, .. } | CType::Typedef { name, .. } | CType::Opaque { name, .. } => {
                name.clone()
            }
            CType::Pointer { to, .. } => format!("{to} *"),
            CType::Record { kind, name, .. } => format!("{} {name}", kind.as_str()),
            CType::Array { elem, count } => format!("{}[{count}]", elem.name()),
            CType::Enum { name, .. } => format!("enum {name}"),
        }
    }

    /// The type beneath typedefs.
    pub fn resolved(&self) -> &CType {
        let mut t = self;
        for _ in 0..MAX_DEPTH {
            match t {
                CType::Typedef { ty, .. } => t = ty,
                _ => break,
            }
        }
        t
    }
}

/// The path of the member holding byte `offset` of a value of type `ty`: `addr.city[3]`,
/// `pts[1].x`, `lock`; None past its end or in padding. For naming what a lock or a changed byte
/// belongs to.
pub fn member_at(ty: &CType, offset: u64) -> Option<String> {
    // Down to the innermost member: one that is neither a record nor an array.
    walk_to_member(ty, offset, |t| {
        !matches!(t.resolved(), CType::Record { .. } | CType::Array { .. })
    })
}

/// Walk from a value of type `ty` down through records and arrays to the member that covers
/// byte `offset`, and give its path (`hdr.lock`, `slots[3].m`) at the first member for which
/// `stop` holds (`stop` sees each member's type as declared, typedefs and all). None when
/// the byte lies past the end, in padding, or in no member `stop` accepts.
pub fn walk_to_member(ty: &CType, offset: u64, stop: impl Fn(&CType) -> bool) -> Option<String> {
    let mut path = String::new();
    let mut ty = ty;
    let mut off = offset;
    for _ in 0..MAX_DEPTH {
        if !path.is_empty() && stop(ty) {
            return Some(path);
        }
        match ty.resolved() {
            CType::Record { members, .. } => {
                let m = members.iter().find(|m| {
                    let size = if m.bits.is_some() {
                        1
                    } else {
                        m.ty.size().max(1)
                    };
                    off >= m.offset && off - m.offset < size
                })?;
                if let Some(n) = &m.name {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(n);
                }
                off -= m.offset;
                ty = &m.ty;
            }
            CType::Array { elem, count } => {
                let each = elem.size().max(1);
                let i = off / each;
                if i >= *count {
                    return None;
                }
                path.push_str(&format!("[{i}]"));
                off -= i * each;
                ty = elem;
            }
            _ => return None,
        }
    }
    None
}

/// One struct, class or union a program defines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct TypeSummary {
    pub name: String,
    pub kind: RecordKind,
    pub size: u64,
    pub members: usize,
}

/// A type as the user names it: `struct STU`, `testmap`, `app::testmap`, `STU[4]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeName {
    pub kind: Option<RecordKind>,
    pub is_enum: bool,
    pub name: String,
    /// `[N]`: that many one after another.
    pub count: Option<u64>,
}

impl TypeName {
    pub fn parse(text: &str) -> Result<TypeName, String> {
        let mut t = text.trim();
        let mut count = None;
        if let Some(open) = t
            .strip_suffix(']')
            .and_then(|s| s.rfind('[').map(|i| (s, i)))
        {
            let (s, i) = open;
            let n: u64 = s[i + 1..]
                .trim()
                .parse()
                .map_err(|_| format!("array length in {text:?} is not a number"))?;
            if n == 0 {
                return Err(format!("array length 0 in {text:?}"));
            }
            count = Some(n);
            t = s[..i].trim();
        }
        let (kind, is_enum, rest) = match t.split_once(char::is_whitespace) {
            Some(("struct", r)) => (Some(RecordKind::Struct), false, r),
            Some(("class", r)) => (Some(RecordKind::Class), false, r),
            Some(("union", r)) => (Some(RecordKind::Union), false, r),
            Some(("enum", r)) => (None, true, r),
            _ => (None, false, t),
        };
        let name = rest.trim();
        let ok = !name.is_empty()
            && !["struct", "class", "union", "enum"].contains(&name)
            && name.len() <= 512
            && !name.chars().any(|c| c.is_control() || c == '[' || c == ']');
        if !ok {
            return Err(format!(
                "{text:?} is not a type name (e.g. 'struct STU', 'testmap')"
            ));
        }
        Ok(TypeName {
            kind,
            is_enum,
            name: name.to_string(),
            count,
        })
    }
}

impl std::fmt::Display for TypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.kind, self.is_enum) {
            (Some(k), _) => write!(f, "{} {}", k.as_str(), self.name),
            (None, true) => write!(f, "enum {}", self.name),
            _ => f.write_str(&self.name),
        }
    }
}

/// Nesting deeper than this is a cycle or an attack.
const MAX_DEPTH: usize = 48;
/// Nodes one type may have in all (members of members …), so a hostile file cannot make us
/// build an exponential tree.
const MAX_NODES: usize = 200_000;
/// DIEs kept from one file.
const MAX_DIES: usize = 20_000_000;

/// The DIEs of one unit that types are made of.
#[derive(Debug, Clone)]
struct Die {
    tag: DwTag,
    name: Option<String>,
    size: Option<u64>,
    ty: Option<usize>,
    /// DW_AT_data_member_location.
    location: Option<u64>,
    data_bit_offset: Option<u64>,
    /// DWARF 2/3 bit-fields: DW_AT_bit_offset from the storage unit's most significant bit.
    old_bit_offset: Option<u64>,
    bit_size: Option<u64>,
    encoding: Option<u8>,
    value: Option<(i64, u64)>,
    count: Option<u64>,
    upper: Option<u64>,
    declaration: bool,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// One unit's type DIEs, indexed by unit offset.
struct Unit {
    dies: Vec<Die>,
}

const KEPT: &[DwTag] = &[
    gimli::DW_TAG_compile_unit,
    gimli::DW_TAG_partial_unit,
    gimli::DW_TAG_namespace,
    gimli::DW_TAG_structure_type,
    gimli::DW_TAG_class_type,
    gimli::DW_TAG_union_type,
    gimli::DW_TAG_enumeration_type,
    gimli::DW_TAG_enumerator,
    gimli::DW_TAG_typedef,
    gimli::DW_TAG_base_type,
    gimli::DW_TAG_pointer_type,
    gimli::DW_TAG_reference_type,
    gimli::DW_TAG_rvalue_reference_type,
    gimli::DW_TAG_ptr_to_member_type,
    gimli::DW_TAG_const_type,
    gimli::DW_TAG_volatile_type,
    gimli::DW_TAG_restrict_type,
    gimli::DW_TAG_atomic_type,
    gimli::DW_TAG_array_type,
    gimli::DW_TAG_subrange_type,
    gimli::DW_TAG_member,
    gimli::DW_TAG_inheritance,
    gimli::DW_TAG_subroutine_type,
    gimli::DW_TAG_unspecified_type,
];

/// The DWARF of an ELF file, read into arenas.
pub struct Dwarf {
    units: Vec<Unit>,
}

/// Whether the ELF in `bytes` carries DWARF type information of its own.
pub fn has_debug_info(bytes: &[u8]) -> bool {
    object::File::parse(bytes).is_ok_and(|o| {
        o.section_by_name(".debug_info")
            .is_some_and(|s| s.size() > 0)
    })
}

/// `.note.gnu.build-id` and `.gnu_debuglink` (file name, CRC-32) of an ELF file.
pub fn build_id_and_debuglink(bytes: &[u8]) -> (Option<Vec<u8>>, Option<(String, u32)>) {
    let Ok(o) = object::File::parse(bytes) else {
        return (None, None);
    };
    let id = o.build_id().ok().flatten().map(<[u8]>::to_vec);
    let link = o
        .gnu_debuglink()
        .ok()
        .flatten()
        .map(|(n, crc)| (String::from_utf8_lossy(n).into_owned(), crc));
    (id, link)
}

impl Dwarf {
    /// Read the type DIEs of every unit.
    pub fn parse(bytes: &[u8]) -> Result<Dwarf, DwarfError> {
        let obj = object::File::parse(bytes).map_err(|e| DwarfError::NotElf(e.to_string()))?;
        if obj
            .section_by_name(".debug_info")
            .is_none_or(|s| s.size() == 0)
        {
            return Err(DwarfError::NoDebugInfo);
        }
        let endian = if obj.is_little_endian() {
            RunTimeEndian::Little
        } else {
            RunTimeEndian::Big
        };
        let load = |id: gimli::SectionId| -> Result<Cow<[u8]>, DwarfError> {
            Ok(match obj.section_by_name(id.name()) {
                Some(s) => s
                    .uncompressed_data()
                    .map_err(|e| DwarfError::Malformed(format!("{}: {e}", id.name())))?,
                None => Cow::Borrowed(&[]),
            })
        };
        let sections = gimli::DwarfSections::load(load)?;
        let dwarf = sections.borrow(|s| EndianSlice::new(s, endian));
        let mut units = Vec::new();
        let mut headers = dwarf.units();
        let mut kept = 0usize;
        while let Some(header) = headers.next()? {
            let unit = dwarf.unit(header)?;
            let u = read_unit(&dwarf, &unit, &mut kept)?;
            units.push(u);
        }
        Ok(Dwarf { units })
    }

    /// Every named struct, class and union defined (not just declared), once per name and size.
    pub fn list_types(&self) -> Vec<TypeSummary> {
        let mut out = Vec::new();
        for u in &self.units {
            for (i, d) in u.dies.iter().enumerate() {
                let kind = match record_kind(d.tag) {
                    Some(k) => k,
                    None => continue,
                };
                if d.declaration || d.name.is_none() {
                    continue;
                }
                let members = d
                    .children
                    .iter()
                    .filter(|&&c| u.dies[c].tag == gimli::DW_TAG_member)
                    .count();
                out.push(TypeSummary {
                    name: qualified(u, i),
                    kind,
                    size: d.size.unwrap_or(0),
                    members,
                });
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The first definition of the named type.
    pub fn find_type(&self, want: &TypeName) -> Option<CType> {
        let matches = |u: &Unit, i: usize| {
            let d = &u.dies[i];
            let kind_ok = match (want.kind, want.is_enum) {
                (Some(k), _) => record_kind(d.tag) == Some(k),
                (None, true) => d.tag == gimli::DW_TAG_enumeration_type,
                (None, false) => {
                    record_kind(d.tag).is_some()
                        || matches!(
                            d.tag,
                            gimli::DW_TAG_enumeration_type
                                | gimli::DW_TAG_typedef
                                | gimli::DW_TAG_base_type
                        )
                }
            };
            kind_ok && !d.declaration && d.name.is_some()
        };
        // A fully qualified match first, then the last component (`testmap` for `app::testmap`).
        for exact in [true, false] {
            for u in &self.units {
                for i in 0..u.dies.len() {
                    if !matches(u, i) {
                        continue;
                    }
                    let hit = if exact {
                        qualified(u, i) == want.name
                    } else {
                        u.dies[i].name.as_deref() == Some(want.name.as_str())
                    };
                    if hit {
                        let mut budget = MAX_NODES;
                        return Some(build(u, i, 0, &mut budget));
                    }
                }
            }
        }
        None
    }
}

fn record_kind(tag: DwTag) -> Option<RecordKind> {
    match tag {
        gimli::DW_TAG_structure_type => Some(RecordKind::Struct),
        gimli::DW_TAG_class_type => Some(RecordKind::Class),
        gimli::DW_TAG_union_type => Some(RecordKind::Union),
        _ => None,
    }
}

type R<'a> = EndianSlice<'a, RunTimeEndian>;

fn read_unit(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    kept: &mut usize,
) -> Result<Unit, DwarfError> {
    let mut dies: Vec<Die> = Vec::new();
    let mut by_offset = HashMap::new();
    // The kept ancestor at each depth (None for a skipped DIE such as a function).
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut refs: Vec<(usize, usize)> = Vec::new();
    let mut cursor = unit.entries();
    while let Some(e) = cursor.next_dfs()? {
        let depth = usize::try_from(e.depth()).unwrap_or(0).min(4096);
        stack.truncate(depth);
        if !KEPT.contains(&e.tag()) || *kept >= MAX_DIES {
            stack.resize(depth, None);
            stack.push(None);
            continue;
        }
        *kept += 1;
        let parent = stack.get(depth.wrapping_sub(1)).copied().flatten();
        let mut d = Die {
            tag: e.tag(),
            name: None,
            size: None,
            ty: None,
            location: None,
            data_bit_offset: None,
            old_bit_offset: None,
            bit_size: None,
            encoding: None,
            value: None,
            count: None,
            upper: None,
            declaration: false,
            parent,
            children: Vec::new(),
        };
        for attr in e.attrs() {
            let v = attr.value();
            match attr.name() {
                gimli::DW_AT_name => {
                    d.name = dwarf
                        .attr_string(unit, v)
                        .ok()
                        .map(|s| s.to_string_lossy().into_owned());
                }
                gimli::DW_AT_byte_size => d.size = v.udata_value(),
                gimli::DW_AT_type => {
                    if let AttributeValue::UnitRef(UnitOffset(o)) = v {
                        refs.push((dies.len(), o));
                    }
                }
                gimli::DW_AT_data_member_location => d.location = member_location(&v),
                gimli::DW_AT_data_bit_offset => d.data_bit_offset = v.udata_value(),
                gimli::DW_AT_bit_offset => d.old_bit_offset = v.udata_value(),
                gimli::DW_AT_bit_size => d.bit_size = v.udata_value(),
                gimli::DW_AT_encoding => {
                    if let AttributeValue::Encoding(enc) = v {
                        d.encoding = Some(enc.0);
                    }
                }
                gimli::DW_AT_const_value => d.value = const_value(&v),
                gimli::DW_AT_count => d.count = v.udata_value(),
                gimli::DW_AT_upper_bound => d.upper = v.udata_value(),
                gimli::DW_AT_declaration => d.declaration = matches!(v, AttributeValue::Flag(true)),
                _ => {}
            }
        }
        let idx = dies.len();
        by_offset.insert(e.offset().0, idx);
        if let Some(p) = parent {
            dies[p].children.push(idx);
        }
        dies.push(d);
        stack.resize(depth, None);
        stack.push(Some(idx));
    }
    for (from, to) in refs {
        if let Some(&t) = by_offset.get(&to) {
            dies[from].ty = Some(t);
        }
    }
    Ok(Unit { dies })
}

/// DW_AT_data_member_location: a constant, or (DWARF 2) `DW_OP_plus_uconst N`.
fn member_location(v: &AttributeValue<R<'_>>) -> Option<u64> {
    if let Some(n) = v.udata_value() {
        return Some(n);
    }
    let AttributeValue::Exprloc(expr) = v else {
        return None;
    };
    let bytes = expr.0.slice();
    match bytes.split_first() {
        Some((0x23, rest)) => uleb128(rest),
        _ => None,
    }
}

fn uleb128(bytes: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for (i, b) in bytes.iter().take(10).enumerate() {
        v |= ((b & 0x7f) as u64).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// An enumerator's value, read signed and unsigned (the enum's type decides which applies).
fn const_value(v: &AttributeValue<R<'_>>) -> Option<(i64, u64)> {
    Some(match *v {
        AttributeValue::Sdata(s) => (s, s as u64),
        AttributeValue::Udata(u) => (u as i64, u),
        AttributeValue::Data1(b) => (b as i8 as i64, b as u64),
        AttributeValue::Data2(b) => (b as i16 as i64, b as u64),
        AttributeValue::Data4(b) => (b as i32 as i64, b as u64),
        AttributeValue::Data8(b) => (b as i64, b),
        _ => return None,
    })
}

/// `outer::inner::name` through namespaces and enclosing classes.
fn qualified(u: &Unit, i: usize) -> String {
    let mut parts = vec![u.dies[i]
        .name
        .clone()
        .unwrap_or_else(|| "<anonymous>".into())];
    let mut p = u.dies[i].parent;
    for _ in 0..MAX_DEPTH {
        let Some(pi) = p else { break };
        let d = &u.dies[pi];
        if d.tag == gimli::DW_TAG_namespace || record_kind(d.tag).is_some() {
            parts.push(
                d.name
                    .clone()
                    .unwrap_or_else(|| "(anonymous namespace)".into()),
            );
        }
        p = d.parent;
    }
    parts.reverse();
    parts.join("::")
}

fn opaque(name: &str, size: u64) -> CType {
    CType::Opaque {
        name: name.to_string(),
        size,
    }
}

/// Build the type at DIE `i` (depth-limited; every node spends budget).
fn build(u: &Unit, i: usize, depth: usize, budget: &mut usize) -> CType {
    let d = &u.dies[i];
    if depth > MAX_DEPTH || *budget == 0 {
        return opaque("<too deep>", d.size.unwrap_or(0));
    }
    *budget -= 1;
    let target = |budget: &mut usize| match d.ty {
        Some(t) => build(u, t, depth + 1, budget),
        None => opaque("void", 0),
    };
    match d.tag {
        gimli::DW_TAG_base_type => {
            let encoding = match d.encoding.map(gimli::DwAte) {
                Some(gimli::DW_ATE_signed) => Encoding::Signed,
                Some(gimli::DW_ATE_unsigned) => Encoding::Unsigned,
                Some(gimli::DW_ATE_signed_char) => Encoding::SignedChar,
                Some(gimli::DW_ATE_unsigned_char | gimli::DW_ATE_UTF) => Encoding::UnsignedChar,
                Some(gimli::DW_ATE_float) => Encoding::Float,
                Some(gimli::DW_ATE_boolean) => Encoding::Bool,
                _ => Encoding::Other,
            };
            CType::Base {
                name: d.name.clone().unwrap_or_else(|| "<base>".into()),
                size: d.size.unwrap_or(0),
                encoding,
            }
        }
        gimli::DW_TAG_pointer_type
        | gimli::DW_TAG_reference_type
        | gimli::DW_TAG_rvalue_reference_type => CType::Pointer {
            size: d.size.unwrap_or(8),
            to: match d.ty {
                Some(t) => type_label(u, t, depth + 1),
                None => "void".into(),
            },
        },
        gimli::DW_TAG_ptr_to_member_type => opaque("pointer to member", d.size.unwrap_or(8)),
        gimli::DW_TAG_const_type
        | gimli::DW_TAG_volatile_type
        | gimli::DW_TAG_restrict_type
        | gimli::DW_TAG_atomic_type => target(budget),
        gimli::DW_TAG_typedef => CType::Typedef {
            name: qualified(u, i),
            ty: Box::new(target(budget)),
        },
        gimli::DW_TAG_enumeration_type => {
            let under = d.ty.map(|t| build(u, t, depth + 1, budget));
            let signed = !matches!(
                under.as_ref().map(CType::resolved),
                Some(CType::Base {
                    encoding: Encoding::Unsigned | Encoding::UnsignedChar | Encoding::Bool,
                    ..
                })
            );
            let values = d
                .children
                .iter()
                .map(|&c| &u.dies[c])
                .filter(|c| c.tag == gimli::DW_TAG_enumerator)
                .filter_map(|c| {
                    let (s, us) = c.value?;
                    Some((if signed { s } else { us as i64 }, c.name.clone()?))
                })
                .collect();
            CType::Enum {
                name: if d.name.is_some() {
                    qualified(u, i)
                } else {
                    "<anonymous>".into()
                },
                size: d.size.or(under.map(|t| t.size())).unwrap_or(4),
                signed,
                values,
            }
        }
        gimli::DW_TAG_array_type => {
            let mut elem = target(budget);
            let dims: Vec<u64> = d
                .children
                .iter()
                .map(|&c| &u.dies[c])
                .filter(|c| c.tag == gimli::DW_TAG_subrange_type)
                .map(|c| {
                    c.count
                        .or(c.upper.map(|n| n.saturating_add(1)))
                        .unwrap_or(0)
                })
                .collect();
            // `int a[2][3]`: the last subrange is the innermost.
            for &n in dims.iter().rev() {
                elem = CType::Array {
                    elem: Box::new(elem),
                    count: n,
                };
            }
            if dims.is_empty() {
                elem = CType::Array {
                    elem: Box::new(elem),
                    count: 0,
                };
            }
            elem
        }
        tag if record_kind(tag).is_some() => {
            let kind = record_kind(tag).unwrap_or(RecordKind::Struct);
            let union = kind == RecordKind::Union;
            let mut members = Vec::new();
            for &c in &d.children {
                let m = &u.dies[c];
                let inherited = m.tag == gimli::DW_TAG_inheritance;
                if !(m.tag == gimli::DW_TAG_member || inherited) || m.declaration {
                    continue;
                }
                // A static member (DWARF 4) has no location; a union's members may omit it.
                let loc = match (m.location, union) {
                    (Some(l), _) => Some(l),
                    (None, true) => Some(0),
                    (None, false) => None,
                };
                let (offset, bits) = match (m.bit_size, m.data_bit_offset, m.old_bit_offset) {
                    (Some(w), Some(dbo), _) => {
                        (dbo / 8, Some(((dbo % 8) as u32, w.min(64) as u32)))
                    }
                    (Some(w), None, Some(bo)) => {
                        // DWARF 2/3: counted from the storage unit's top bit (little-endian).
                        let storage = m.size.unwrap_or(4).saturating_mul(8);
                        let Some(l) = loc else { continue };
                        let low = storage.saturating_sub(bo).saturating_sub(w);
                        let dbo = l.saturating_mul(8).saturating_add(low);
                        (dbo / 8, Some(((dbo % 8) as u32, w.min(64) as u32)))
                    }
                    _ => match loc {
                        Some(l) => (l, None),
                        None => continue,
                    },
                };
                let ty = match m.ty {
                    Some(t) => build(u, t, depth + 1, budget),
                    None => opaque("<unknown>", 0),
                };
                members.push(Member {
                    name: m.name.clone(),
                    offset,
                    bits,
                    ty,
                    inherited,
                });
            }
            CType::Record {
                kind,
                name: if d.name.is_some() {
                    qualified(u, i)
                } else {
                    "<anonymous>".into()
                },
                size: d.size.unwrap_or(0),
                members,
            }
        }
        gimli::DW_TAG_subroutine_type => opaque("function", d.size.unwrap_or(0)),
        _ => opaque(
            d.name.as_deref().unwrap_or("<unknown>"),
            d.size.unwrap_or(0),
        ),
    }
}

/// A type's name without building it (what a pointer points to).
fn type_label(u: &Unit, i: usize, depth: usize) -> String {
    let d = &u.dies[i];
    if depth > MAX_DEPTH {
        return "…".into();
    }
    match d.tag {
        gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type | gimli::DW_TAG_atomic_type => {
            let q = match d.tag {
                gimli::DW_TAG_const_type => "const ",
                gimli::DW_TAG_volatile_type => "volatile ",
                _ => "_Atomic ",
            };
            match d.ty {
                Some(t) => format!("{q}{}", type_label(u, t, depth + 1)),
                None => format!("{q}void"),
            }
        }
        gimli::DW_TAG_pointer_type | gimli::DW_TAG_reference_type => match d.ty {
            Some(t) => format!("{} *", type_label(u, t, depth + 1)),
            None => "void *".into(),
        },
        tag => {
            let base = if d.name.is_some() {
                qualified(u, i)
            } else {
                "<anonymous>".into()
            };
            match record_kind(tag) {
                Some(k) if !base.contains("::") => format!("{} {base}", k.as_str()),
                _ => base,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_parse() {
        let t = TypeName::parse("struct STU").unwrap();
        assert_eq!(
            (t.kind, t.name.as_str(), t.count),
            (Some(RecordKind::Struct), "STU", None)
        );
        let t = TypeName::parse(" STU[4] ").unwrap();
        assert_eq!((t.kind, t.name.as_str(), t.count), (None, "STU", Some(4)));
        let t = TypeName::parse("class app::testmap").unwrap();
        assert_eq!(
            (t.kind, t.name.as_str()),
            (Some(RecordKind::Class), "app::testmap")
        );
        assert!(TypeName::parse("enum color").unwrap().is_enum);
        assert_eq!(
            TypeName::parse("union U[2]").unwrap().to_string(),
            "union U"
        );
        for bad in ["", "struct ", "STU[0]", "STU[x]", "a\x1bb"] {
            assert!(TypeName::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// `gcc -g -O0` of tests/types.rs's REC_WRITER: a C program whose DWARF has nested structs,
    /// an enum, bit-fields, a union, a pointer and arrays.
    const REC_ELF: &[u8] = include_bytes!("testdata/rec-writer.elf");

    fn named(t: &str) -> TypeName {
        TypeName::parse(t).unwrap()
    }

    #[test]
    fn reads_a_c_programs_types() {
        let d = Dwarf::parse(REC_ELF).unwrap();
        let list = d.list_types();
        let stu = list.iter().find(|t| t.name == "STU").unwrap();
        assert_eq!(
            (stu.kind, stu.size, stu.members),
            (RecordKind::Struct, 28, 3)
        );
        let rec = d.find_type(&named("struct REC")).unwrap();
        let CType::Record { members, size, .. } = &rec else {
            panic!("{rec:?}")
        };
        assert_eq!(*size, 88);
        let names: Vec<&str> = members.iter().filter_map(|m| m.name.as_deref()).collect();
        assert_eq!(
            names,
            ["stu", "colour", "in", "flags", "delta", "u", "heap", "raw"]
        );
        let flags = members
            .iter()
            .find(|m| m.name.as_deref() == Some("flags"))
            .unwrap();
        let delta = members
            .iter()
            .find(|m| m.name.as_deref() == Some("delta"))
            .unwrap();
        assert_eq!((flags.offset, flags.bits), (64, Some((0, 3))));
        assert_eq!((delta.offset, delta.bits), (64, Some((3, 5))));
        let CType::Enum { values, .. } = members[1].ty.resolved() else {
            panic!("{:?}", members[1].ty)
        };
        assert_eq!(values[3], (3, "CYAN".to_string()));
        assert_eq!(member_at(&rec, 5).as_deref(), Some("stu.name[1]"));
        assert_eq!(member_at(&rec, 48).as_deref(), Some("in[1].a"));
        assert_eq!(member_at(&rec, 80).as_deref(), Some("raw[0]"));
        assert_eq!(member_at(&rec, 83), None);
        assert!(d.find_type(&named("class STU")).is_none());
        assert!(d.find_type(&named("nothing_here")).is_none());
        assert_eq!(d.find_type(&named("enum color")).unwrap().size(), 4);
    }

    /// Every way of reading types, on bytes that may be anything.
    fn read_everything(bytes: &[u8]) {
        if let Ok(d) = Dwarf::parse(bytes) {
            for t in d.list_types() {
                if let Some(ty) = d.find_type(&named(&t.name)) {
                    for off in [0, 1, 7, 64, ty.size().saturating_sub(1), u64::MAX] {
                        let _ = member_at(&ty, off);
                    }
                }
            }
        }
        let _ = build_id_and_debuglink(bytes);
        let _ = has_debug_info(bytes);
    }

    #[test]
    fn truncated_and_corrupted_elf_files_never_panic() {
        for cut in (0..REC_ELF.len()).step_by(331).chain([REC_ELF.len() - 1]) {
            read_everything(&REC_ELF[..cut]);
        }
        // Deterministic corruption: a few bytes at a time, anywhere, most in the DWARF.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..300 {
            let mut b = REC_ELF.to_vec();
            for _ in 0..1 + next() % 8 {
                let at = if next() % 4 == 0 {
                    next() as usize % b.len()
                } else {
                    0x30af + next() as usize % (b.len() - 0x30af)
                };
                b[at] = next() as u8;
            }
            read_everything(&b);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(Dwarf::parse(b""), Err(DwarfError::NotElf(_))));
        assert!(matches!(
            Dwarf::parse(b"\x7fELF\x02\x01\x01garbage"),
            Err(DwarfError::NotElf(_))
        ));
        assert!(uleb128(&[0x80; 20]).is_none());
        assert_eq!(uleb128(&[0xe5, 0x8e, 0x26]), Some(624485));
    }

    fn stu() -> CType {
        let int = CType::Base {
            name: "int".into(),
            size: 4,
            encoding: Encoding::Signed,
        };
        let ch = CType::Base {
            name: "char".into(),
            size: 1,
            encoding: Encoding::SignedChar,
        };
        let m = Member::named;
        CType::Record {
            kind: RecordKind::Struct,
            name: "STU".into(),
            size: 28,
            members: vec![
                m("id", 0, int),
                m(
                    "name",
                    4,
                    CType::Array {
                        elem: Box::new(ch.clone()),
                        count: 20,
                    },
                ),
                m("sex", 24, ch),
            ],
        }
    }

    #[test]
    fn member_at_names_the_member() {
        let t = stu();
        assert_eq!(member_at(&t, 0).as_deref(), Some("id"));
        assert_eq!(member_at(&t, 3).as_deref(), Some("id"));
        assert_eq!(member_at(&t, 9).as_deref(), Some("name[5]"));
        assert_eq!(member_at(&t, 24).as_deref(), Some("sex"));
        assert_eq!(member_at(&t, 25), None);
        let arr = CType::Array {
            elem: Box::new(t),
            count: 2,
        };
        assert_eq!(member_at(&arr, 28 + 24).as_deref(), Some("[1].sex"));
        assert_eq!(member_at(&arr, 56), None);
    }
}
