//! `--layout`: C-like field lists decoded with C alignment, e.g.
//! `id:i32,name:char[20],sex:char` → `id=10 name="hqx" sex='m'`.
//!
//! The parser and the decoder are pure functions; [`LayoutWriter`] streams records out of
//! chunks for `dump`.

#[path = "layout_stream.rs"]
mod stream;

use super::color::Palette;
use super::hex::{HintFn, Sink};
use serde_json::{json, Value};
use std::fmt;
use std::io::{self, Write};

/// The element types a field can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    Bool,
    Char,
    Ptr,
}

/// Byte order of a field: the machine's own (the C spellings), or fixed (`u32be`, `i16le`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Native,
    Big,
    Little,
}

impl Scalar {
    /// A type name of the grammar: `i32`, `u16be`, `f64le`, or a C spelling (`int`,
    /// `unsigned char`, `uint32_t`, `long double` is not one) or pointer (`char *`, `void*`).
    pub fn parse(s: &str) -> Option<(Scalar, Order)> {
        let s = s.trim();
        if let Some(base) = s.strip_suffix('*') {
            // Any pointer: `void *`, `char*`, `struct STU *`, `int **`.
            return (!base.trim().is_empty()).then_some((Scalar::Ptr, Order::Native));
        }
        for (suffix, order) in [("be", Order::Big), ("le", Order::Little)] {
            // Only the fixed-width names take a byte order, and one byte has none.
            if let Some(sc) = s.strip_suffix(suffix).and_then(Scalar::fixed) {
                return match sc {
                    Scalar::I8 | Scalar::U8 | Scalar::Bool | Scalar::Char | Scalar::Ptr => None,
                    sc => Some((sc, order)),
                };
            }
        }
        Scalar::fixed(s)
            .or_else(|| Scalar::c_spelling(s))
            .map(|sc| (sc, Order::Native))
    }

    fn fixed(s: &str) -> Option<Scalar> {
        Some(match s {
            "i8" => Scalar::I8,
            "i16" => Scalar::I16,
            "i32" => Scalar::I32,
            "i64" => Scalar::I64,
            "u8" => Scalar::U8,
            "u16" => Scalar::U16,
            "u32" => Scalar::U32,
            "u64" => Scalar::U64,
            "f32" => Scalar::F32,
            "f64" => Scalar::F64,
            "bool" => Scalar::Bool,
            "char" => Scalar::Char,
            "ptr" => Scalar::Ptr,
            _ => return None,
        })
    }

    /// C and C++ spellings as an LP64 compiler (x86-64, aarch64 Linux) sizes them, in any word
    /// order (`unsigned long int`, `long unsigned int` as DWARF writes it), and the <stdint.h>
    /// and <stddef.h> typedefs.
    pub fn c_spelling(s: &str) -> Option<Scalar> {
        let typedef = match s {
            "int8_t" => Some(Scalar::I8),
            "int16_t" => Some(Scalar::I16),
            "int32_t" => Some(Scalar::I32),
            "int64_t" | "ssize_t" | "intptr_t" | "ptrdiff_t" | "off_t" | "time_t" => {
                Some(Scalar::I64)
            }
            "uint8_t" => Some(Scalar::U8),
            "uint16_t" => Some(Scalar::U16),
            "uint32_t" => Some(Scalar::U32),
            "uint64_t" | "size_t" | "uintptr_t" => Some(Scalar::U64),
            "float" => Some(Scalar::F32),
            "double" => Some(Scalar::F64),
            "_Bool" => Some(Scalar::Bool),
            "pid_t" | "key_t" | "uid_t" | "gid_t" => Some(if s == "pid_t" || s == "key_t" {
                Scalar::I32
            } else {
                Scalar::U32
            }),
            _ => None,
        };
        if typedef.is_some() {
            return typedef;
        }
        let (mut signed, mut unsigned, mut char_, mut short, mut longs, mut int) =
            (false, false, false, false, 0, false);
        for w in s.split_whitespace() {
            match w {
                "signed" if !signed && !unsigned => signed = true,
                "unsigned" if !signed && !unsigned => unsigned = true,
                "char" if !char_ => char_ = true,
                "short" if !short => short = true,
                "long" if longs < 2 => longs += 1,
                "int" if !int => int = true,
                _ => return None,
            }
        }
        let words = [char_, short, longs > 0].iter().filter(|&&b| b).count();
        if words > 1 || (char_ && int) {
            return None;
        }
        Some(match (char_, short, longs, unsigned) {
            (true, ..) if signed => Scalar::I8,
            (true, _, _, true) => Scalar::U8,
            (true, ..) => Scalar::Char,
            (_, true, _, false) => Scalar::I16,
            (_, true, _, true) => Scalar::U16,
            (_, _, 1 | 2, false) => Scalar::I64,
            (_, _, 1 | 2, true) => Scalar::U64,
            _ if !(signed || unsigned || int) => return None,
            (_, _, _, false) => Scalar::I32,
            (_, _, _, true) => Scalar::U32,
        })
    }

    /// Size and (natural, x86-64/aarch64 C ABI) alignment.
    pub fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 | Scalar::Bool | Scalar::Char => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::I64 | Scalar::U64 | Scalar::F64 | Scalar::Ptr => 8,
        }
    }
}

/// One field: a scalar, or an array of them (`dims` outermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The member's name, or its path inside nested structs (`addr.city`, `pts[1].x`).
    pub name: String,
    pub scalar: Scalar,
    pub dims: Vec<usize>,
    pub offset: usize,
    pub order: Order,
    /// What a program's debuginfo says beyond the scalar.
    pub meaning: Meaning,
}

/// How a field's bytes are read beyond their scalar type (layouts built from DWARF).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Meaning {
    #[default]
    Plain,
    /// An enum: the scalar's value by enumerator name.
    Enum(std::sync::Arc<Vec<(i64, String)>>),
    /// A bit-field of `width` bits, `shift` bits into its bytes (little-endian order), which
    /// the field covers as `u8[N]`.
    Bits {
        shift: u32,
        width: u32,
        signed: bool,
    },
    /// A type shown only as its name and size (`u8[N]`), e.g. `long double`.
    Opaque(String),
    /// A C++ class that owns heap memory (`std::string`, `std::vector`, …): its pointers are
    /// the writer's private addresses.
    HeapOwner(String),
}

/// The warning a heap-owning member carries.
pub const HEAP_WARNING: &str = "points into the writer's heap — this is why the reader crashes";

impl Field {
    /// A plain field.
    pub fn new(name: &str, scalar: Scalar, dims: Vec<usize>, offset: usize) -> Field {
        Field {
            name: name.to_string(),
            scalar,
            dims,
            offset,
            order: Order::Native,
            meaning: Meaning::Plain,
        }
    }

    pub fn size(&self) -> usize {
        self.dims.iter().product::<usize>() * self.scalar.size()
    }
}

/// A parsed struct layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub fields: Vec<Field>,
    /// One past the last field's last byte.
    end: usize,
    /// `sizeof`: end rounded up to the struct's alignment (the stride of an array of them).
    stride: usize,
}

/// Why a spec did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// A struct larger than this is surely a typo.
const MAX_SIZE: usize = 1 << 30;

fn err(s: String) -> SpecError {
    SpecError(s)
}

fn parse_type(ty: &str, field: &str) -> Result<(Scalar, Order, Vec<usize>), SpecError> {
    let (base, mut rest) = match ty.find('[') {
        Some(i) => (ty[..i].trim(), ty[i..].trim()),
        None => (ty.trim(), ""),
    };
    let (scalar, order) = Scalar::parse(base).ok_or_else(|| {
        err(format!(
            "field {field:?}: unknown type {base:?} (i8..i64, u8..u64, f32, f64 with an optional \
             be/le suffix, bool, char, ptr, C names such as int or uint32_t, T*, T[N])"
        ))
    })?;
    let mut dims = Vec::new();
    while !rest.is_empty() {
        let inner = rest
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .ok_or_else(|| err(format!("field {field:?}: malformed array type {ty:?}")))?;
        let n: usize = inner.0.trim().parse().map_err(|_| {
            err(format!(
                "field {field:?}: array length {:?} is not a number",
                inner.0
            ))
        })?;
        if n == 0 {
            return Err(err(format!("field {field:?}: array length 0")));
        }
        dims.push(n);
        rest = inner.1.trim();
    }
    Ok((scalar, order, dims))
}

fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

impl Layout {
    /// Parse `name:type,name:type,…`.
    pub fn parse(spec: &str) -> Result<Layout, SpecError> {
        if spec.trim().is_empty() {
            return Err(err("empty layout (e.g. 'id:i32,name:char[20]')".into()));
        }
        let mut fields: Vec<Field> = Vec::new();
        let mut end = 0usize;
        let mut align = 1usize;
        for part in spec.split(',') {
            let (name, ty) = part
                .split_once(':')
                .ok_or_else(|| err(format!("{:?} is not NAME:TYPE", part.trim())))?;
            let name = name.trim();
            if !valid_name(name) {
                return Err(err(format!("invalid field name {name:?}")));
            }
            if fields.iter().any(|f| f.name == name) {
                return Err(err(format!("field {name:?} appears twice")));
            }
            let (scalar, order, dims) = parse_type(ty, name)?;
            let a = scalar.size();
            let offset = end.div_ceil(a) * a;
            let size = dims
                .iter()
                .try_fold(a, |acc, &d| acc.checked_mul(d))
                .filter(|&s| s <= MAX_SIZE)
                .ok_or_else(|| err(format!("field {name:?} is too large")))?;
            end = offset + size;
            if end > MAX_SIZE {
                return Err(err("layout is too large".into()));
            }
            align = align.max(a);
            fields.push(Field {
                order,
                ..Field::new(name, scalar, dims, offset)
            });
        }
        Ok(Layout {
            fields,
            end,
            stride: end.div_ceil(align) * align,
        })
    }

    /// A layout of fields already placed (from a program's debuginfo), `sizeof` being `size`.
    /// Fields that would end past [`MAX_SIZE`] are dropped, so decoding never reads out of
    /// bounds whatever the fields claim.
    pub fn from_fields(fields: Vec<Field>, size: usize) -> Layout {
        let fields: Vec<Field> = fields
            .into_iter()
            .filter(|f| {
                let n = f
                    .dims
                    .iter()
                    .try_fold(f.scalar.size(), |acc, &d| acc.checked_mul(d));
                n.and_then(|n| n.checked_add(f.offset))
                    .is_some_and(|end| end <= MAX_SIZE)
            })
            .collect();
        let end = fields
            .iter()
            .map(|f| f.offset + f.size())
            .max()
            .unwrap_or(0)
            .max(1);
        Layout {
            fields,
            end,
            stride: size.min(MAX_SIZE).max(end),
        }
    }

    /// Bytes one record needs (without tail padding).
    pub fn size(&self) -> usize {
        self.end
    }

    /// `sizeof` the struct: the distance between records.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Bytes `count` records need.
    pub fn span(&self, count: usize) -> u64 {
        (count.saturating_sub(1) as u64) * self.stride as u64 + self.end as u64
    }

    /// Decode one record from `bytes` (at least [`Layout::size`] long) found at `addr`.
    pub fn decode(&self, bytes: &[u8], addr: u64, hint: HintFn) -> Vec<Decoded> {
        self.fields
            .iter()
            .map(|f| {
                let raw = &bytes[f.offset..f.offset + f.size()];
                let mut hints = Vec::new();
                let (text, json) = decode_field(f, raw, addr + f.offset as u64, hint, &mut hints);
                Decoded {
                    name: f.name.clone(),
                    text,
                    json,
                    hints,
                }
            })
            .collect()
    }
}

/// One decoded field.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub name: String,
    /// As printed: `10`, `"hqx"`, `'m'`, `0x7f…`, `[1, 2]`.
    pub text: String,
    pub json: Value,
    /// Pointer hints found in this field.
    pub hints: Vec<String>,
}

fn decode_field(
    f: &Field,
    raw: &[u8],
    addr: u64,
    hint: HintFn,
    hints: &mut Vec<String>,
) -> (String, Value) {
    match &f.meaning {
        Meaning::Plain => decode_dims(f.scalar, f.order, &f.dims, raw, addr, hint, hints),
        Meaning::Enum(names) => {
            let (text, json) = decode_dims(f.scalar, f.order, &f.dims, raw, addr, hint, hints);
            match json.as_i64().and_then(|v| names.iter().find(|e| e.0 == v)) {
                Some((_, name)) => (name.clone(), json!(name)),
                None => (text, json),
            }
        }
        Meaning::Bits {
            shift,
            width,
            signed,
        } => {
            let mut v: u128 = 0;
            for (i, b) in raw.iter().take(16).enumerate() {
                v |= (*b as u128) << (8 * i);
            }
            let width = (*width).clamp(1, 64);
            let v = (v >> shift.min(&64)) as u64;
            let v = if width == 64 {
                v
            } else {
                v & ((1u64 << width) - 1)
            };
            if *signed && width < 64 && v >> (width - 1) & 1 == 1 {
                let s = (v | !((1u64 << width) - 1)) as i64;
                (s.to_string(), json!(s))
            } else if *signed {
                ((v as i64).to_string(), json!(v as i64))
            } else {
                (v.to_string(), json!(v))
            }
        }
        Meaning::Opaque(ty) => (
            format!("<{ty}, {} bytes>", raw.len()),
            json!({"type": ty, "hex": hex_string(raw)}),
        ),
        Meaning::HeapOwner(ty) => {
            hints.push(format!("{ty} {HEAP_WARNING}"));
            // Its words that point into a writer's private memory say where.
            for (i, w) in raw.chunks_exact(8).enumerate() {
                let v = u64::from_ne_bytes(w.try_into().unwrap_or_default());
                if v != 0 && (addr + 8 * i as u64).is_multiple_of(8) {
                    if let Some(h) = hint(v) {
                        hints.push(h);
                    }
                }
            }
            let first = raw
                .get(..8)
                .map(|w| u64::from_ne_bytes(w.try_into().unwrap_or_default()))
                .unwrap_or(0);
            (
                format!("<{ty}: heap {first:#x}>"),
                json!({"type": ty, "heap_owner": true, "hex": hex_string(raw)}),
            )
        }
    }
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn decode_dims(
    s: Scalar,
    order: Order,
    dims: &[usize],
    raw: &[u8],
    addr: u64,
    hint: HintFn,
    hints: &mut Vec<String>,
) -> (String, Value) {
    match dims {
        [] => decode_scalar(s, order, raw, addr, hint, hints),
        [_] if s == Scalar::Char => {
            let c = raw.split(|&b| b == 0).next().unwrap_or_default();
            (
                quote(c, '"'),
                Value::String(crate::text::bytes_to_string(c)),
            )
        }
        [n, rest @ ..] => {
            let each = raw.len() / n;
            let (texts, values): (Vec<String>, Vec<Value>) = raw
                .chunks_exact(each)
                .enumerate()
                .map(|(i, r)| decode_dims(s, order, rest, r, addr + (i * each) as u64, hint, hints))
                .unzip();
            (format!("[{}]", texts.join(", ")), Value::Array(values))
        }
    }
}

fn decode_scalar(
    s: Scalar,
    order: Order,
    raw: &[u8],
    addr: u64,
    hint: HintFn,
    hints: &mut Vec<String>,
) -> (String, Value) {
    macro_rules! num {
        ($t:ty) => {{
            let b = raw.try_into().unwrap_or_default();
            let v = match order {
                Order::Native => <$t>::from_ne_bytes(b),
                Order::Big => <$t>::from_be_bytes(b),
                Order::Little => <$t>::from_le_bytes(b),
            };
            (v.to_string(), json!(v))
        }};
    }
    let mut check = |v: u64| {
        if addr.is_multiple_of(8) && v != 0 {
            if let Some(h) = hint(v) {
                hints.push(h);
            }
        }
    };
    match s {
        Scalar::I8 => num!(i8),
        Scalar::I16 => num!(i16),
        Scalar::I32 => num!(i32),
        Scalar::U8 => num!(u8),
        Scalar::U16 => num!(u16),
        Scalar::U32 => num!(u32),
        Scalar::I64 => {
            if order == Order::Native {
                check(u64::from_ne_bytes(raw.try_into().unwrap_or_default()));
            }
            num!(i64)
        }
        Scalar::U64 => {
            if order == Order::Native {
                check(u64::from_ne_bytes(raw.try_into().unwrap_or_default()));
            }
            num!(u64)
        }
        Scalar::F32 => num!(f32),
        Scalar::F64 => num!(f64),
        Scalar::Bool => match raw[0] {
            0 => ("false".into(), json!(false)),
            1 => ("true".into(), json!(true)),
            v => (format!("invalid({v})"), json!(v)),
        },
        Scalar::Char => (
            quote(&raw[..1], '\''),
            Value::String(crate::text::bytes_to_string(&raw[..1])),
        ),
        Scalar::Ptr => {
            let v = u64::from_ne_bytes(raw.try_into().unwrap_or_default());
            check(v);
            (format!("{v:#x}"), json!(format!("{v:#x}")))
        }
    }
}

/// Bytes as a C literal: printable ASCII as is, everything else escaped.
pub fn quote(bytes: &[u8], q: char) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push(q);
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b if b as char == q => {
                s.push('\\');
                s.push(q);
            }
            0 => s.push_str("\\0"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push(q);
    s
}

/// `id=10 name="hqx" sex='m'`, with changed fields highlighted when `changed` says so.
pub fn format_record(fields: &[Decoded], changed: Option<&[bool]>, pal: Palette) -> String {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let v = if changed.is_some_and(|c| c.get(i).copied().unwrap_or(false)) {
                pal.changed(&f.text)
            } else {
                f.text.clone()
            };
            format!("{}={v}", f.name)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One record as a JSON value.
pub fn record_json(index: u64, addr: u64, fields: &[Decoded]) -> Value {
    let mut obj = serde_json::Map::new();
    for f in fields {
        obj.insert(f.name.clone(), f.json.clone());
    }
    let hints: Vec<&String> = fields.iter().flat_map(|f| &f.hints).collect();
    json!({"index": index, "address": format!("{addr:#x}"), "fields": obj, "hints": hints})
}

/// Pointer hints kept per record; more are counted.
const MAX_HINTS: usize = 64;

/// One record, decoded while it is written: arrays element by element, so that a record of
/// millions of elements (`x:u8[67108864]`) costs its bytes and one element at a time, not a
/// decoded copy of every element. Writes text ([`RecordView::write_text`]) or serialises as
/// the same JSON object as [`record_json`].
pub struct RecordView<'a> {
    layout: &'a Layout,
    /// The record's bytes (at least [`Layout::size`]).
    bytes: &'a [u8],
    addr: u64,
    index: u64,
    hint: HintFn<'a>,
    /// (field, hint) pairs found so far, and how many more were not kept.
    hints: std::cell::RefCell<(Vec<(usize, String)>, u64)>,
}

impl<'a> RecordView<'a> {
    pub fn new(
        layout: &'a Layout,
        bytes: &'a [u8],
        addr: u64,
        index: u64,
        hint: HintFn<'a>,
    ) -> RecordView<'a> {
        RecordView {
            layout,
            bytes,
            addr,
            index,
            hint,
            hints: Default::default(),
        }
    }

    /// Arrays of plain scalars are streamed; everything else is small and decoded whole.
    fn streamed(f: &Field) -> bool {
        f.meaning == Meaning::Plain
            && !f.dims.is_empty()
            && !(f.dims.len() == 1 && f.scalar == Scalar::Char)
    }

    fn keep_hints(&self, field: usize, found: Vec<String>) {
        let mut h = self.hints.borrow_mut();
        for x in found {
            if h.0.len() < MAX_HINTS {
                h.0.push((field, x));
            } else {
                h.1 += 1;
            }
        }
    }

    /// Decode field `i` whole (not streamed).
    fn whole(&self, i: usize) -> (String, Value) {
        let f = &self.layout.fields[i];
        let raw = &self.bytes[f.offset..f.offset + f.size()];
        let mut found = Vec::new();
        let d = decode_field(f, raw, self.addr + f.offset as u64, self.hint, &mut found);
        self.keep_hints(i, found);
        d
    }

    /// Each element of field `i`'s outermost dimension, decoded in turn.
    fn elements(&self, i: usize) -> impl Iterator<Item = (String, Value)> + '_ {
        let f = &self.layout.fields[i];
        let raw = &self.bytes[f.offset..f.offset + f.size()];
        let each = (raw.len() / f.dims[0].max(1)).max(1);
        raw.chunks_exact(each).enumerate().map(move |(k, r)| {
            let mut found = Vec::new();
            let at = self.addr + (f.offset + k * each) as u64;
            let d = decode_dims(
                f.scalar,
                f.order,
                &f.dims[1..],
                r,
                at,
                self.hint,
                &mut found,
            );
            self.keep_hints(i, found);
            d
        })
    }

    /// `id=10 name="hqx" sex='m'` (no newline), changed fields highlighted per `changed`.
    pub fn write_text(
        &self,
        out: &mut dyn Write,
        changed: Option<&[bool]>,
        pal: Palette,
    ) -> io::Result<()> {
        for (i, f) in self.layout.fields.iter().enumerate() {
            let hot = changed.is_some_and(|c| c.get(i).copied().unwrap_or(false));
            let paint = |t: &str| if hot { pal.changed(t) } else { t.to_string() };
            if i > 0 {
                out.write_all(b" ")?;
            }
            write!(out, "{}=", f.name)?;
            if Self::streamed(f) {
                out.write_all(b"[")?;
                for (k, (text, _)) in self.elements(i).enumerate() {
                    if k > 0 {
                        out.write_all(b", ")?;
                    }
                    out.write_all(paint(&text).as_bytes())?;
                }
                out.write_all(b"]")?;
            } else {
                out.write_all(paint(&self.whole(i).0).as_bytes())?;
            }
        }
        Ok(())
    }

    /// The hint lines found while writing (`  ^ field: hint`), at most [`MAX_HINTS`] and a
    /// count of the rest.
    pub fn hint_lines(&self) -> Vec<String> {
        let h = self.hints.borrow();
        let mut lines: Vec<String> =
            h.0.iter()
                .map(|(i, x)| format!("  ^ {}: {x}", self.layout.fields[*i].name))
                .collect();
        if h.1 > 0 {
            lines.push(format!("  ^ and {} more", h.1));
        }
        lines
    }
}

/// The `fields` object of a [`RecordView`], serialised field by field.
struct FieldsView<'r, 'a>(&'r RecordView<'a>);

/// One streamed array field, serialised element by element.
struct ElementsView<'r, 'a>(&'r RecordView<'a>, usize);

impl serde::Serialize for ElementsView<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(self.0.elements(self.1).map(|(_, v)| v))
    }
}

impl serde::Serialize for FieldsView<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let fields = &self.0.layout.fields;
        let mut m = ser.serialize_map(Some(fields.len()))?;
        for (i, f) in fields.iter().enumerate() {
            if RecordView::streamed(f) {
                m.serialize_entry(&f.name, &ElementsView(self.0, i))?;
            } else {
                m.serialize_entry(&f.name, &self.0.whole(i).1)?;
            }
        }
        m.end()
    }
}

impl serde::Serialize for RecordView<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(Some(4))?;
        m.serialize_entry("index", &self.index)?;
        m.serialize_entry("address", &format!("{:#x}", self.addr))?;
        // Fields first: decoding them finds the hints.
        m.serialize_entry("fields", &FieldsView(self))?;
        let h = self.hints.borrow();
        let mut hints: Vec<&str> = h.0.iter().map(|(_, x)| x.as_str()).collect();
        let more = format!("and {} more", h.1);
        if h.1 > 0 {
            hints.push(&more);
        }
        m.serialize_entry("hints", &hints)?;
        m.end()
    }
}

/// Streams records out of chunks: text lines, or JSON Lines.
pub struct LayoutWriter<'a> {
    layout: &'a Layout,
    base: u64,
    pal: Palette,
    hint: HintFn<'a>,
    json: bool,
    /// Show the record index (more than one record).
    numbered: bool,
    buf: Vec<u8>,
    index: u64,
    /// Records too large to gather are decoded as their bytes arrive ([`stream`]).
    streaming: bool,
    st: stream::Streamer,
}

impl<'a> LayoutWriter<'a> {
    pub fn new(
        layout: &'a Layout,
        base: u64,
        count: usize,
        pal: Palette,
        hint: HintFn<'a>,
        json: bool,
    ) -> LayoutWriter<'a> {
        LayoutWriter {
            layout,
            base,
            pal,
            hint,
            json,
            numbered: count > 1,
            buf: Vec::new(),
            index: 0,
            streaming: stream::fits(layout),
            st: stream::Streamer::default(),
        }
    }

    fn record(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let addr = self.base + self.index * self.layout.stride() as u64;
        let view = RecordView::new(self.layout, &self.buf, addr, self.index, self.hint);
        if self.json {
            super::write_json_compact(out, &view)?;
            writeln!(out)?;
        } else {
            if self.numbered {
                write!(out, "[{}] ", self.index)?;
            }
            view.write_text(out, None, self.pal)?;
            writeln!(out)?;
            for line in view.hint_lines() {
                writeln!(out, "{}", self.pal.warn(&line))?;
            }
        }
        self.buf.clear();
        self.index += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn count(&self) -> u64 {
        self.index
    }
}

impl Sink for LayoutWriter<'_> {
    fn write(&mut self, out: &mut dyn Write, mut bytes: &[u8]) -> io::Result<()> {
        if self.streaming {
            return self.stream(out, bytes);
        }
        let stride = self.layout.stride();
        while !bytes.is_empty() {
            let take = (stride - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == stride {
                self.record(out)?;
            }
        }
        Ok(())
    }

    /// Decode a last record that lacks only its tail padding.
    fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.streaming {
            return self.stream_finish(out);
        }
        if self.buf.len() >= self.layout.size() {
            self.buf.resize(self.layout.stride(), 0);
            self.record(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: u64) -> Option<String> {
        None
    }

    const OFF: Palette = Palette { on: false };

    #[test]
    fn c_alignment_like_gcc() {
        // struct STU { int id; char name[20]; char sex; } → offsets 0, 4, 24; sizeof 28.
        let l = Layout::parse("id:i32,name:char[20],sex:char").unwrap();
        let offs: Vec<usize> = l.fields.iter().map(|f| f.offset).collect();
        assert_eq!(offs, [0, 4, 24]);
        assert_eq!((l.size(), l.stride()), (25, 28));
        // struct { char c; double d; short s; } → 0, 8, 16; sizeof 24.
        let l = Layout::parse("c:char, d:f64, s:i16").unwrap();
        let offs: Vec<usize> = l.fields.iter().map(|f| f.offset).collect();
        assert_eq!(offs, [0, 8, 16]);
        assert_eq!(l.stride(), 24);
        // Arrays align as their element: { u8 a; u32 b[3]; ptr p; } → 0, 4, 16; sizeof 24.
        let l = Layout::parse("a:u8,b:u32[3],p:ptr").unwrap();
        let offs: Vec<usize> = l.fields.iter().map(|f| f.offset).collect();
        assert_eq!(offs, [0, 4, 16]);
        assert_eq!(l.stride(), 24);
        assert_eq!(l.span(3), 72);
    }

    #[test]
    fn decodes_the_seed_struct() {
        let l = Layout::parse("id:i32,name:char[20],sex:char").unwrap();
        let mut b = vec![0u8; 28];
        b[..4].copy_from_slice(&10i32.to_ne_bytes());
        b[4..7].copy_from_slice(b"hqx");
        b[24] = b'm';
        let d = l.decode(&b, 0, &none);
        assert_eq!(format_record(&d, None, OFF), "id=10 name=\"hqx\" sex='m'");
        let j = record_json(0, 0x1000, &d);
        assert_eq!(j["fields"]["name"], "hqx");
        assert_eq!(j["fields"]["id"], 10);
        assert_eq!(j["address"], "0x1000");
    }

    #[test]
    fn every_type_decodes() {
        let l = Layout::parse("a:i8,b:u16,c:f32,d:f64,e:bool,f:u8[3],g:char[2][3],p:ptr,q:i64")
            .unwrap();
        let mut b = vec![0u8; l.stride()];
        let put = |b: &mut Vec<u8>, name: &str, v: &[u8]| {
            let f = l.fields.iter().find(|f| f.name == name).unwrap();
            b[f.offset..f.offset + v.len()].copy_from_slice(v);
        };
        put(&mut b, "a", &(-5i8).to_ne_bytes());
        put(&mut b, "b", &65535u16.to_ne_bytes());
        put(&mut b, "c", &1.5f32.to_ne_bytes());
        put(&mut b, "d", &(-0.25f64).to_ne_bytes());
        put(&mut b, "e", &[1]);
        put(&mut b, "f", &[1, 2, 3]);
        put(&mut b, "g", b"ab\0c\x1b\0");
        put(&mut b, "p", &0xdead_beefu64.to_ne_bytes());
        put(&mut b, "q", &(-7i64).to_ne_bytes());
        let text = format_record(&l.decode(&b, 0, &none), None, OFF);
        assert_eq!(
            text,
            "a=-5 b=65535 c=1.5 d=-0.25 e=true f=[1, 2, 3] g=[\"ab\", \"c\\x1b\"] p=0xdeadbeef q=-7"
        );
    }

    #[test]
    fn pointer_fields_get_hints() {
        let l = Layout::parse("p:ptr").unwrap();
        let hint = |v: u64| (v == 0x5000).then(|| "pointer into pid 9 [heap]".to_string());
        let d = l.decode(&0x5000u64.to_ne_bytes(), 0x1000, &hint);
        assert_eq!(d[0].hints, ["pointer into pid 9 [heap]"]);
    }

    #[test]
    fn malformed_specs_are_clear_errors() {
        for (spec, want) in [
            ("", "empty layout"),
            ("id", "is not NAME:TYPE"),
            ("id:integer", "unknown type \"integer\""),
            ("id:long double", "unknown type"),
            ("9x:i32", "invalid field name"),
            ("a:i32,a:i8", "appears twice"),
            ("a:char[", "malformed array type"),
            ("a:char[x]", "is not a number"),
            ("a:char[0]", "array length 0"),
            ("a:u64[4294967296][4294967296]", "too large"),
            ("a:i32,", "is not NAME:TYPE"),
        ] {
            let e = Layout::parse(spec).unwrap_err().to_string();
            assert!(e.contains(want), "{spec:?}: {e}");
        }
    }

    #[test]
    fn c_spellings_are_lp64_types() {
        let ty = |t: &str| Layout::parse(&format!("x:{t}")).map(|l| l.fields[0].scalar);
        for (spelling, want) in [
            ("int", Scalar::I32),
            ("signed", Scalar::I32),
            ("unsigned", Scalar::U32),
            ("unsigned int", Scalar::U32),
            ("long", Scalar::I64),
            ("long int", Scalar::I64),
            ("long unsigned int", Scalar::U64),
            ("unsigned long long", Scalar::U64),
            ("short", Scalar::I16),
            ("short unsigned int", Scalar::U16),
            ("char", Scalar::Char),
            ("signed char", Scalar::I8),
            ("unsigned char", Scalar::U8),
            ("float", Scalar::F32),
            ("double", Scalar::F64),
            ("_Bool", Scalar::Bool),
            ("uint32_t", Scalar::U32),
            ("int64_t", Scalar::I64),
            ("size_t", Scalar::U64),
            ("char *", Scalar::Ptr),
            ("struct STU*", Scalar::Ptr),
        ] {
            assert_eq!(ty(spelling), Ok(want), "{spelling}");
        }
        for bad in [
            "long double",
            "unsigned signed",
            "short long",
            "char int",
            "long long long",
            "*",
            "u8be",
            "charle",
            "i33",
        ] {
            assert!(ty(bad).is_err(), "{bad} parsed");
        }
        // The seed struct in C spelling lays out as in fixed-width spelling.
        let c = Layout::parse("id:int,name:char[20],sex:char").unwrap();
        let w = Layout::parse("id:i32,name:char[20],sex:char").unwrap();
        assert_eq!(c, w);
    }

    #[test]
    fn byte_orders_decode() {
        let l = Layout::parse("a:u32be,b:i16le,c:u16be,d:f64be,e:u32").unwrap();
        assert_eq!(l.fields[0].order, Order::Big);
        let mut b = vec![0u8; l.stride()];
        b[0..4].copy_from_slice(&[0, 0, 1, 2]);
        b[4..6].copy_from_slice(&(-2i16).to_le_bytes());
        b[6..8].copy_from_slice(&[0x12, 0x34]);
        b[8..16].copy_from_slice(&1.5f64.to_be_bytes());
        b[16..20].copy_from_slice(&7u32.to_ne_bytes());
        let text = format_record(&l.decode(&b, 0, &none), None, OFF);
        assert_eq!(text, "a=258 b=-2 c=4660 d=1.5 e=7");
    }

    #[test]
    fn debuginfo_meanings_decode() {
        let names = std::sync::Arc::new(vec![(0, "RED".to_string()), (2, "BLUE".to_string())]);
        let fields = vec![
            Field {
                meaning: Meaning::Enum(names),
                ..Field::new("colour", Scalar::U32, vec![], 0)
            },
            // struct { unsigned a:3; int b:5; } → a at bits 0..3, b at bits 3..8 of byte 4.
            Field {
                meaning: Meaning::Bits {
                    shift: 0,
                    width: 3,
                    signed: false,
                },
                ..Field::new("a", Scalar::U8, vec![1], 4)
            },
            Field {
                meaning: Meaning::Bits {
                    shift: 3,
                    width: 5,
                    signed: true,
                },
                ..Field::new("b", Scalar::U8, vec![1], 4)
            },
            Field {
                meaning: Meaning::HeapOwner("std::string".into()),
                ..Field::new("s", Scalar::U8, vec![32], 8)
            },
        ];
        let l = Layout::from_fields(fields, 40);
        assert_eq!((l.size(), l.stride()), (40, 40));
        let mut b = vec![0u8; 40];
        b[0] = 2;
        b[4] = 0b1111_0101; // a = 5, b = 0b11110 = -2
        b[8..16].copy_from_slice(&0x5000u64.to_ne_bytes());
        let hint = |v: u64| (v == 0x5000).then(|| "pointer into pid 9 [heap]".to_string());
        let d = l.decode(&b, 0x1000, &hint);
        assert_eq!(
            format_record(&d, None, OFF),
            "colour=BLUE a=5 b=-2 s=<std::string: heap 0x5000>"
        );
        assert_eq!(
            d[3].hints,
            [
                format!("std::string {HEAP_WARNING}"),
                "pointer into pid 9 [heap]".to_string()
            ]
        );
        b[0] = 7;
        let d = l.decode(&b, 0x1000, &hint);
        assert_eq!(d[0].text, "7");
        // Fields claiming to lie past any sane size are dropped, not decoded out of bounds.
        let l = Layout::from_fields(
            vec![Field::new("x", Scalar::U64, vec![], usize::MAX - 2)],
            8,
        );
        assert!(l.fields.is_empty());
    }

    #[test]
    fn quotes_escape_controls() {
        assert_eq!(quote(b"a\"\x1b[31m\\", '"'), "\"a\\\"\\x1b[31m\\\\\"");
        assert_eq!(quote(b"'", '\''), "'\\''");
    }

    #[test]
    fn writer_streams_records_across_chunks() {
        let l = Layout::parse("id:i32,sex:char").unwrap();
        let mut data = Vec::new();
        for i in 0..3i32 {
            data.extend_from_slice(&i.to_ne_bytes());
            data.extend_from_slice(b"m\0\0\0");
        }
        data.truncate(data.len() - 3);
        let mut out = Vec::new();
        let mut w = LayoutWriter::new(&l, 0, 3, OFF, &none, false);
        for c in data.chunks(5) {
            w.write(&mut out, c).unwrap();
        }
        w.finish(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[0] id=0 sex='m'\n[1] id=1 sex='m'\n[2] id=2 sex='m'\n"
        );
    }

    /// Everything a writer prints for `data`, fed in chunks of `chunk` bytes.
    fn written(
        l: &Layout,
        data: &[u8],
        count: usize,
        json: bool,
        stream: bool,
        chunk: usize,
    ) -> String {
        let hint = |v: u64| (v & 0xff == 0x42).then(|| format!("hint {v:#x}"));
        let mut out = Vec::new();
        let mut w = LayoutWriter::new(l, 0x1000, count, OFF, &hint, json);
        w.streaming = stream;
        for c in data.chunks(chunk) {
            w.write(&mut out, c).unwrap();
        }
        w.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn streamed_records_print_as_gathered_ones() {
        let specs = [
            "x:u8[5]",
            "a:i32,b:u16[7],c:char[6],d:u8[3][2],e:u64,f:ptr[3]",
            "s:char[2][4],n:i16be[2][2][2]",
            "p:u64[9],b:bool",
        ];
        for spec in specs {
            let l = Layout::parse(spec).unwrap();
            let count = 3;
            let data: Vec<u8> = (0..l.span(count) as usize)
                .map(|i| (i * 37 % 251) as u8 | if i % 16 == 0 { 0x42 } else { 0 })
                .collect();
            for json in [false, true] {
                let gathered = written(&l, &data, count, json, false, 4096);
                for chunk in [1, 3, 7, 64, 4096] {
                    let streamed = written(&l, &data, count, json, true, chunk);
                    assert_eq!(streamed, gathered, "{spec} json={json} chunk={chunk}");
                }
            }
        }
    }

    #[test]
    fn a_streamed_record_cut_short_is_closed_and_says_so() {
        let l = Layout::parse("a:u8,x:u16[100]").unwrap();
        let data = vec![1u8; 51];
        let text = written(&l, &data, 1, false, true, 8);
        assert!(text.starts_with("a=1 x=[257, 257"), "{text}");
        assert!(
            text.ends_with("] (record cut short after 51 bytes)\n"),
            "{text}"
        );
        let json = written(&l, &data, 1, true, true, 8);
        let v: Value = serde_json::from_str(json.trim_end()).unwrap();
        assert_eq!(v["cut_short_at"], 51);
        assert_eq!(v["fields"]["x"].as_array().unwrap().len(), 24);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    const TYPES: [&str; 19] = [
        "i8",
        "i16",
        "i32",
        "i64",
        "u8",
        "u16",
        "u32",
        "u64",
        "f32",
        "f64",
        "bool",
        "char",
        "ptr",
        "u32be",
        "i16le",
        "f64be",
        "unsigned int",
        "double",
        "char *",
    ];

    fn arb_field() -> impl Strategy<Value = (String, Vec<usize>)> {
        (
            prop::sample::select(TYPES.to_vec()),
            prop::collection::vec(1usize..6, 0..3),
        )
            .prop_map(|(t, dims)| (t.to_string(), dims))
    }

    proptest! {
        #[test]
        fn parse_never_panics(spec in "\\PC{0,80}") {
            let _ = Layout::parse(&spec);
        }

        #[test]
        fn valid_specs_get_c_alignment(fields in prop::collection::vec(arb_field(), 1..8),
                                       bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let spec: Vec<String> = fields
                .iter()
                .enumerate()
                .map(|(i, (t, dims))| {
                    let d: String = dims.iter().map(|n| format!("[{n}]")).collect();
                    format!("f{i}:{t}{d}")
                })
                .collect();
            let layout = Layout::parse(&spec.join(",")).unwrap();
            let mut end = 0;
            let mut max_align = 1;
            for f in &layout.fields {
                let a = f.scalar.size();
                prop_assert_eq!(f.offset % a, 0, "misaligned {}", f.name);
                prop_assert!(f.offset >= end);
                prop_assert!(f.offset - end < a, "more padding than alignment needs");
                end = f.offset + f.size();
                max_align = max_align.max(a);
            }
            prop_assert_eq!(layout.size(), end);
            prop_assert_eq!(layout.stride() % max_align, 0);
            prop_assert!(layout.stride() >= layout.size());
            let mut rec = bytes;
            rec.resize(layout.size(), 0x5a);
            let decoded = layout.decode(&rec, 0x1000, &|_| None);
            prop_assert_eq!(decoded.len(), layout.fields.len());
        }
    }

    #[test]
    fn a_streamed_record_reads_as_the_whole_one() {
        let l = Layout::parse("id:i32,name:char[8],v:u16[3],m:i8[2][2],p:ptr").unwrap();
        let mut b = vec![0u8; l.stride()];
        for (i, x) in b.iter_mut().enumerate() {
            *x = (i * 37 % 251) as u8;
        }
        b[4..8].copy_from_slice(b"abc\0");
        let hint = |v: u64| v.is_multiple_of(3).then(|| format!("hint {v:#x}"));
        let whole = l.decode(&b, 0x1000, &hint);
        let view = RecordView::new(&l, &b, 0x1000, 7, &hint);
        let mut text = Vec::new();
        view.write_text(&mut text, None, Palette { on: false })
            .unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            format_record(&whole, None, Palette { on: false })
        );
        let view = RecordView::new(&l, &b, 0x1000, 7, &hint);
        assert_eq!(
            serde_json::to_value(&view).unwrap(),
            record_json(7, 0x1000, &whole)
        );
    }
}
