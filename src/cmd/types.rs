//! `shmtool types PID|FILE [PATTERN]`: the structs, classes and unions a program's debuginfo
//! defines; and `--type NAME` for dump and watch: that type, flattened into the same records
//! `--layout` decodes (one field per leaf member, named by its path: `addr.city`, `pts[1].x`).
//!
//! Where `--type` looks: `--debug-file FILE` if given; else the target process (`PID ADDR`), or
//! `--pid-for-types PID`; else the processes attached to the System V segment or mapping the
//! file (their executables first, then their own libraries: not those under /usr or /lib,
//! whose types a program uses are in its own DWARF anyway). A segment nobody maps needs
//! `--debug-file` or `--pid-for-types`.

use super::{note, Ctx, Run};
use crate::attach::Target;
use crate::cli::{TargetArgs, TypesArgs};
use crate::error::Error;
use crate::render::layout::{Field, Layout, Meaning, Scalar};
use crate::source::debuginfo::{self, ElfFile, Found};
use crate::source::dwarf::{CType, Encoding, TypeName, TypeSummary};
use std::io::Write;
use std::path::Path;

/// Fields one type may flatten into; the rest are left out (with a note).
const MAX_FIELDS: usize = 4096;
/// Elements of an array of structs shown one by one; the rest as one opaque field.
const MAX_ELEMENTS: u64 = 256;
/// Attached processes asked for types (many attachers are usually one program).
const MAX_PROGRAMS: usize = 8;

/// Class templates (namespace `std`, inline namespaces dropped) whose objects hold pointers to
/// memory they allocated: copied into shared memory, those pointers lead into the writer's heap.
const HEAP_OWNERS: &[&str] = &[
    "std::basic_string",
    "std::string",
    "std::wstring",
    "std::u8string",
    "std::u16string",
    "std::u32string",
    "std::vector",
    "std::map",
    "std::multimap",
    "std::set",
    "std::multiset",
    "std::unordered_map",
    "std::unordered_set",
    "std::unordered_multimap",
    "std::unordered_multiset",
    "std::list",
    "std::forward_list",
    "std::deque",
    "std::queue",
    "std::stack",
    "std::priority_queue",
    "std::unique_ptr",
    "std::shared_ptr",
    "std::weak_ptr",
    "std::function",
    "std::any",
    "std::valarray",
    "std::basic_stringstream",
    "std::basic_istringstream",
    "std::basic_ostringstream",
    "std::stringstream",
    "std::istringstream",
    "std::ostringstream",
];

/// The heap-owning library type `ty` is, by the name it carries (a typedef such as
/// `std::string`, or the class itself), shortened for display.
pub fn heap_owner(ty: &CType) -> Option<String> {
    let name = match ty {
        CType::Typedef { name, .. } => name,
        CType::Record { name, .. } => name,
        _ => return None,
    };
    let plain = name
        .replace("std::__cxx11::", "std::")
        .replace("std::__1::", "std::");
    let (base, args) = match plain.split_once('<') {
        Some((b, a)) => (b.trim(), Some(a)),
        None => (plain.as_str(), None),
    };
    if !HEAP_OWNERS.contains(&base) {
        return None;
    }
    Some(match args {
        Some(a) if base == "std::basic_string" && a.starts_with("char,") => "std::string".into(),
        Some(_) => format!("{base}<…>"),
        None => base.to_string(),
    })
}

/// A type flattened into fields; `sizeof` is the record stride.
pub fn flatten(ty: &CType) -> Layout {
    let mut flat = Flat {
        fields: Vec::new(),
        visits: 0,
    };
    flatten_into(ty, "", 0, &mut flat, 0);
    let mut fields = flat.fields;
    // A bare scalar or array (`--type int[3]`, `--type 'enum color'`) has no member name.
    for f in fields.iter_mut().filter(|f| f.name.is_empty()) {
        f.name = "value".into();
    }
    if fields.is_empty() && ty.size() > 0 {
        fields.push(opaque_field(&ty.name(), ty.name(), 0, ty.size()));
    }
    let size = usize::try_from(ty.size()).unwrap_or(usize::MAX);
    Layout::from_fields(fields, size)
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn opaque_field(path: &str, ty: String, off: u64, size: u64) -> Field {
    Field {
        meaning: Meaning::Opaque(ty),
        ..Field::new(path, Scalar::U8, vec![size as usize], off as usize)
    }
}

/// The scalar a base type, pointer or enum decodes as; None for what has none (`long double`).
fn scalar_of(ty: &CType) -> Option<(Scalar, Meaning)> {
    let int = |size: u64, signed: bool| {
        Some(match (size, signed) {
            (1, true) => Scalar::I8,
            (2, true) => Scalar::I16,
            (4, true) => Scalar::I32,
            (8, true) => Scalar::I64,
            (1, false) => Scalar::U8,
            (2, false) => Scalar::U16,
            (4, false) => Scalar::U32,
            (8, false) => Scalar::U64,
            _ => return None,
        })
    };
    match ty.resolved() {
        CType::Base {
            name,
            size,
            encoding,
        } => {
            let s = match (encoding, size) {
                (Encoding::Bool, 1) => Scalar::Bool,
                (Encoding::SignedChar, 1) if name == "char" => Scalar::Char,
                (Encoding::Signed | Encoding::SignedChar, n) => int(*n, true)?,
                (Encoding::Unsigned | Encoding::UnsignedChar, n) => int(*n, false)?,
                (Encoding::Float, 4) => Scalar::F32,
                (Encoding::Float, 8) => Scalar::F64,
                _ => return None,
            };
            Some((s, Meaning::Plain))
        }
        CType::Pointer { size: 8, .. } => Some((Scalar::Ptr, Meaning::Plain)),
        CType::Pointer { size, .. } => Some((int(*size, false)?, Meaning::Plain)),
        CType::Enum {
            size,
            signed,
            values,
            ..
        } => Some((
            int(*size, *signed)?,
            Meaning::Enum(std::sync::Arc::new(values.clone())),
        )),
        _ => None,
    }
}

fn is_signed(ty: &CType) -> bool {
    match ty.resolved() {
        CType::Base { encoding, .. } => {
            matches!(encoding, Encoding::Signed | Encoding::SignedChar)
        }
        CType::Enum { signed, .. } => *signed,
        _ => false,
    }
}

/// Fields gathered so far, and how many type nodes were visited.
struct Flat {
    fields: Vec<Field>,
    visits: usize,
}

/// Type nodes one flattening visits at most.
const MAX_VISITS: usize = 200_000;

fn flatten_into(ty: &CType, path: &str, off: u64, out: &mut Flat, depth: usize) {
    // Nested arrays of empty structs add no fields but could take forever: count visits too.
    out.visits += 1;
    if out.fields.len() >= MAX_FIELDS || depth > 64 || out.visits > MAX_VISITS {
        return;
    }
    if let Some(owner) = heap_owner(ty) {
        out.fields.push(Field {
            meaning: Meaning::HeapOwner(owner),
            ..Field::new(path, Scalar::U8, vec![ty.size() as usize], off as usize)
        });
        return;
    }
    if let Some((scalar, meaning)) = scalar_of(ty) {
        out.fields.push(Field {
            meaning,
            ..Field::new(path, scalar, vec![], off as usize)
        });
        return;
    }
    match ty {
        CType::Typedef { ty, .. } => flatten_into(ty, path, off, out, depth + 1),
        CType::Record { members, .. } => {
            for m in members {
                let mpath = match &m.name {
                    Some(n) if !m.inherited => join(path, n),
                    _ => path.to_string(),
                };
                let at = off.saturating_add(m.offset);
                match m.bits {
                    Some((shift, width)) => {
                        let bytes = (shift + width.max(1)).div_ceil(8) as usize;
                        out.fields.push(Field {
                            meaning: Meaning::Bits {
                                shift,
                                width,
                                signed: is_signed(&m.ty),
                            },
                            ..Field::new(&mpath, Scalar::U8, vec![bytes], at as usize)
                        });
                    }
                    None => flatten_into(&m.ty, &mpath, at, out, depth + 1),
                }
                if out.fields.len() >= MAX_FIELDS {
                    return;
                }
            }
        }
        CType::Array { .. } => flatten_array(ty, path, off, out, depth),
        other => {
            if other.size() > 0 {
                out.fields
                    .push(opaque_field(path, other.name(), off, other.size()));
            }
        }
    }
}

fn flatten_array(ty: &CType, path: &str, off: u64, out: &mut Flat, depth: usize) {
    // `int m[2][3]`: dims [2, 3] over the innermost element type.
    let mut dims = Vec::new();
    let mut elem = ty.resolved();
    while let CType::Array { elem: e, count } = elem {
        dims.push(*count as usize);
        elem = e.resolved();
        if dims.len() > 8 {
            break;
        }
    }
    if dims.contains(&0) {
        return; // A flexible array member takes no room.
    }
    if heap_owner(elem).is_none() {
        if let Some((scalar, meaning)) = scalar_of(elem) {
            out.fields.push(Field {
                meaning,
                ..Field::new(path, scalar, dims, off as usize)
            });
            return;
        }
    }
    let CType::Array { elem, count } = ty.resolved() else {
        return;
    };
    let each = elem.size();
    for i in 0..(*count).min(MAX_ELEMENTS) {
        let at = off.saturating_add(i.saturating_mul(each));
        flatten_into(elem, &format!("{path}[{i}]"), at, out, depth + 1);
        if out.fields.len() >= MAX_FIELDS {
            return;
        }
    }
    if *count > MAX_ELEMENTS {
        let at = off.saturating_add(MAX_ELEMENTS.saturating_mul(each));
        let rest = (*count - MAX_ELEMENTS).saturating_mul(each);
        out.fields.push(opaque_field(
            &format!("{path}[{MAX_ELEMENTS}..]"),
            format!("{} more {}", *count - MAX_ELEMENTS, elem.name()),
            at,
            rest,
        ));
    }
}

/// The program files to look in for a target's types, and whose they are.
fn programs_for(ctx: &Ctx, args: &TargetArgs, target: &Target) -> anyhow::Result<Vec<i32>> {
    if let Some(p) = args.pid_for_types {
        return Ok(vec![p]);
    }
    if let Some(p) = args.pid {
        return Ok(vec![p]);
    }
    let mappers = target.mappers.find(&ctx.sys);
    if mappers.is_empty() {
        return Err(Error::BadInput(format!(
            "no process maps {} to take --type from; give --debug-file FILE or --pid-for-types PID",
            target.label
        ))
        .into());
    }
    // One process per executable: attachers are often many copies of one program.
    let mut exes = Vec::new();
    let mut pids = Vec::new();
    for &p in &mappers {
        let exe = std::fs::read_link(ctx.sys.pid_path(p, "exe")).ok();
        if !exes.contains(&exe) {
            exes.push(exe);
            pids.push(p);
        }
        if pids.len() >= MAX_PROGRAMS {
            break;
        }
    }
    Ok(pids)
}

/// Look `want` up in these files' DWARF, in order (the executable first). Err: why the program
/// itself has no types to look in, when the type was not found elsewhere either.
fn find_in_files(files: &[ElfFile], want: &TypeName) -> Result<Option<(CType, String)>, String> {
    let mut exe_missing = None;
    for (i, f) in files.iter().enumerate() {
        match debuginfo::locate(f) {
            Ok(found) => {
                if let Some(t) = found.dwarf.find_type(want) {
                    return Ok(Some((t, found.source)));
                }
            }
            Err(why) if i == 0 => exe_missing = Some(why),
            Err(_) => {}
        }
    }
    match exe_missing {
        Some(why) => Err(why),
        None => Ok(None),
    }
}

/// `--type`: the named type, flattened, and how many records to decode. None without `--type`.
pub fn type_layout(
    ctx: &Ctx,
    args: &TargetArgs,
    target: &Target,
) -> anyhow::Result<Option<(Layout, usize)>> {
    let Some(spec) = &args.type_name else {
        return Ok(None);
    };
    let want = TypeName::parse(spec).map_err(|e| Error::BadInput(format!("--type: {e}")))?;
    if want.count.is_some() && args.layout_repeat != 1 {
        return Err(Error::BadInput(format!(
            "--type {spec:?} already gives a count; leave out --layout-repeat"
        ))
        .into());
    }
    let count = want
        .count
        .map_or(args.layout_repeat, |n| n.min(1 << 20) as usize);
    let (ty, source) = if let Some(path) = &args.debug_file {
        let binary = args
            .pid
            .or(args.pid_for_types)
            .and_then(|p| debuginfo::program_files(&ctx.sys, p).ok())
            .and_then(|mut f| (!f.is_empty()).then(|| f.swap_remove(0)));
        let (found, warn) = debuginfo::from_debug_file(path, binary.as_ref())?;
        if let Some(w) = warn {
            note(&w);
        }
        let t = found.dwarf.find_type(&want).ok_or_else(|| {
            Error::BadInput(format!(
                "no type '{want}' in the debug information of {} (see 'shmtool types {}')",
                found.source,
                path.display()
            ))
        })?;
        (t, found.source)
    } else {
        let pids = programs_for(ctx, args, target)?;
        let mut missing = None;
        let mut hit = None;
        for &pid in &pids {
            // The program and its own libraries: the system's do not define the user's types
            // (those the program uses from system headers are in its own DWARF).
            let files: Vec<ElfFile> = debuginfo::program_files(&ctx.sys, pid)?
                .into_iter()
                .enumerate()
                .filter(|(i, f)| *i == 0 || !is_system_file(&f.label))
                .map(|(_, f)| f)
                .collect();
            match find_in_files(&files, &want) {
                Ok(Some(found)) => {
                    hit = Some(found);
                    break;
                }
                Ok(None) => {}
                Err(why) => {
                    missing.get_or_insert(why);
                }
            }
        }
        match (hit, missing) {
            (Some(h), _) => h,
            (None, Some(why)) => return Err(Error::BadInput(why).into()),
            (None, None) => {
                let who: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
                return Err(Error::BadInput(format!(
                    "no type '{want}' in the debug information of pid {} (its program and \
                     libraries; 'shmtool types {}' lists what there is)",
                    who.join(", "),
                    who[0]
                ))
                .into());
            }
        }
    };
    if matches!(ty.resolved(), CType::Record { size: 0, .. }) || ty.size() == 0 {
        return Err(Error::BadInput(format!(
            "type '{want}' from {source} has no size (declared but not defined there?)"
        ))
        .into());
    }
    let layout = flatten(&ty);
    if layout.fields.len() >= MAX_FIELDS {
        note(&format!(
            "{want} has more than {MAX_FIELDS} members; the first {MAX_FIELDS} are shown"
        ));
    }
    Ok(Some((layout, count)))
}

/// Type names the standard libraries and the C runtime define, hidden without `--all`.
fn is_internal(name: &str) -> bool {
    name.starts_with('_')
        || name
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|w| w.starts_with("__"))
        || [
            "std::",
            "__gnu_cxx::",
            "__cxxabiv1::",
            "__gnu_debug::",
            "__pstl::",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

/// A library installed by the system (under /usr or /lib), not the user's own.
fn is_system_file(path: &str) -> bool {
    ["/usr/", "/lib/", "/lib64/", "/lib32/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// `*` and `?` glob when the pattern has them; otherwise a substring.
fn matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return name.contains(pattern);
    }
    fn glob(p: &[char], s: &[char]) -> bool {
        // Iterative with one backtrack point: linear enough for type names.
        let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
        while si < s.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
                pi += 1;
                si += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some(pi);
                mark = si;
                pi += 1;
            } else if let Some(st) = star {
                pi = st + 1;
                mark += 1;
                si = mark;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    glob(&p, &s)
}

/// One row of `types`.
#[derive(Debug, serde::Serialize)]
struct Row {
    #[serde(flatten)]
    ty: TypeSummary,
    /// The program or library that defines it.
    file: String,
}

impl Run for TypesArgs {
    fn run(&self, ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        let mut hidden_libs = 0usize;
        let founds: Vec<Found> = if let Some(df) = &self.debug_file {
            vec![debuginfo::from_debug_file(df, None)?.0]
        } else {
            let path = Path::new(&self.target);
            let files = match self.target.parse::<i32>() {
                Ok(pid) if !path.exists() || self.target.starts_with(|c: char| c != '.') => {
                    if !ctx.sys.pid_path(pid, "").exists() {
                        return Err(Error::NoSuchProcess(pid).into());
                    }
                    debuginfo::program_files(&ctx.sys, pid)?
                }
                _ => vec![debuginfo::open_file(path)?],
            };
            let mut founds = Vec::new();
            let mut missing = None;
            // A process's own program and its own libraries; not the system's (libc's debug
            // package defines hundreds of types, and reading them takes a while), unless asked.
            let total = files.len();
            let files: Vec<ElfFile> = files
                .into_iter()
                .enumerate()
                .filter(|(i, f)| *i == 0 || self.all || !is_system_file(&f.label))
                .map(|(_, f)| f)
                .collect();
            hidden_libs = total - files.len();
            for f in &files {
                match debuginfo::locate(f) {
                    Ok(found) => founds.push(found),
                    Err(why) => {
                        missing.get_or_insert(why);
                    }
                }
            }
            if founds.is_empty() {
                let why =
                    missing.unwrap_or_else(|| format!("no ELF files found for {}", self.target));
                return Err(Error::BadInput(why).into());
            }
            founds
        };
        let mut rows = Vec::new();
        let mut hidden = 0usize;
        for f in &founds {
            for t in f.dwarf.list_types() {
                if let Some(p) = &self.pattern {
                    if !matches(p, &t.name) {
                        continue;
                    }
                }
                if !self.all && is_internal(&t.name) {
                    hidden += 1;
                    continue;
                }
                rows.push(Row {
                    ty: t,
                    file: f.binary.clone(),
                });
            }
        }
        if self.json {
            crate::render::write_json(out, &rows)?;
        } else {
            crate::render::types::write_table(
                out,
                rows.iter()
                    .map(|r| {
                        (
                            r.ty.kind.as_str(),
                            r.ty.name.as_str(),
                            r.ty.size,
                            r.ty.members,
                            r.file.as_str(),
                        )
                    })
                    .collect(),
                ctx.color,
            )?;
        }
        let mut parts = Vec::new();
        if hidden > 0 {
            parts.push(format!("{hidden} type(s) of the standard and C libraries"));
        }
        if hidden_libs > 0 {
            parts.push(format!(
                "the types of {hidden_libs} system librar{}",
                if hidden_libs == 1 { "y" } else { "ies" }
            ));
        }
        if !parts.is_empty() {
            note(&format!(
                "{} hidden (--all shows them)",
                parts.join(" and ")
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::dwarf::{Member, RecordKind};

    fn base(name: &str, size: u64, encoding: Encoding) -> CType {
        CType::Base {
            name: name.into(),
            size,
            encoding,
        }
    }

    fn member(name: &str, offset: u64, ty: CType) -> Member {
        Member::named(name, offset, ty)
    }

    #[test]
    fn the_seed_struct_flattens_as_its_layout_spec() {
        let ch = base("char", 1, Encoding::SignedChar);
        let stu = CType::Record {
            kind: RecordKind::Struct,
            name: "STU".into(),
            size: 28,
            members: vec![
                member("id", 0, base("int", 4, Encoding::Signed)),
                member(
                    "name",
                    4,
                    CType::Array {
                        elem: Box::new(ch.clone()),
                        count: 20,
                    },
                ),
                member("sex", 24, ch),
            ],
        };
        let spec = Layout::parse("id:int,name:char[20],sex:char").unwrap();
        assert_eq!(flatten(&stu), spec);
    }

    #[test]
    fn nesting_arrays_and_heap_owners() {
        let int = base("int", 4, Encoding::Signed);
        let pt = CType::Record {
            kind: RecordKind::Struct,
            name: "pt".into(),
            size: 8,
            members: vec![member("x", 0, int.clone()), member("y", 4, int.clone())],
        };
        let string = CType::Typedef {
            name: "std::__cxx11::string".into(),
            ty: Box::new(CType::Record {
                kind: RecordKind::Class,
                name: "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >".into(),
                size: 32,
                members: vec![],
            }),
        };
        let rec = CType::Record {
            kind: RecordKind::Class,
            name: "testmap".into(),
            size: 56,
            members: vec![
                member(
                    "pts",
                    0,
                    CType::Array {
                        elem: Box::new(pt),
                        count: 2,
                    },
                ),
                member("name", 16, string),
                member(
                    "grid",
                    48,
                    CType::Array {
                        elem: Box::new(CType::Array {
                            elem: Box::new(base("unsigned char", 1, Encoding::UnsignedChar)),
                            count: 2,
                        }),
                        count: 2,
                    },
                ),
            ],
        };
        let l = flatten(&rec);
        let names: Vec<&str> = l.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["pts[0].x", "pts[0].y", "pts[1].x", "pts[1].y", "name", "grid"]
        );
        assert_eq!(l.fields[3].offset, 12);
        assert_eq!(
            l.fields[4].meaning,
            Meaning::HeapOwner("std::string".into())
        );
        assert_eq!(l.fields[5].dims, [2, 2]);
        assert_eq!(l.stride(), 56);
    }

    #[test]
    fn nested_arrays_of_empty_structs_end() {
        let mut t = CType::Record {
            kind: RecordKind::Struct,
            name: "E".into(),
            size: 0,
            members: vec![],
        };
        for _ in 0..40 {
            t = CType::Record {
                kind: RecordKind::Struct,
                name: "A".into(),
                size: 0,
                members: vec![member(
                    "a",
                    0,
                    CType::Array {
                        elem: Box::new(t),
                        count: 256,
                    },
                )],
            };
        }
        assert!(flatten(&t).fields.is_empty());
    }

    #[test]
    fn a_c_programs_record_flattens_to_every_member() {
        use crate::source::dwarf::Dwarf;
        let d = Dwarf::parse(include_bytes!("../source/testdata/rec-writer.elf")).unwrap();
        let rec = d
            .find_type(&TypeName::parse("struct REC").unwrap())
            .unwrap();
        let l = flatten(&rec);
        let names: Vec<&str> = l.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "stu.id", "stu.name", "stu.sex", "colour", "in[0].a", "in[0].d", "in[1].a",
                "in[1].d", "flags", "delta", "u.i", "u.f", "heap", "raw"
            ]
        );
        assert_eq!(l.stride(), 88);
        let stu = d.find_type(&TypeName::parse("STU").unwrap()).unwrap();
        assert_eq!(
            flatten(&stu),
            Layout::parse("id:int,name:char[20],sex:char").unwrap()
        );
    }

    #[test]
    fn heap_owners_by_name() {
        let rec = |name: &str| CType::Record {
            kind: RecordKind::Class,
            name: name.into(),
            size: 24,
            members: vec![],
        };
        assert_eq!(
            heap_owner(&rec("std::vector<int, std::allocator<int> >")).as_deref(),
            Some("std::vector<…>")
        );
        assert_eq!(
            heap_owner(&rec(
                "std::__1::unique_ptr<Node, std::default_delete<Node> >"
            ))
            .as_deref(),
            Some("std::unique_ptr<…>")
        );
        assert!(heap_owner(&rec("app::vector<int>")).is_none());
        assert!(heap_owner(&rec("std::array<int, 4>")).is_none());
    }

    #[test]
    fn patterns() {
        assert!(matches("STU", "STU"));
        assert!(matches("ST", "my_STUFF"));
        assert!(matches("test*", "testmap"));
        assert!(matches("*map", "testmap"));
        assert!(!matches("*map", "mapper"));
        assert!(matches("t?stmap", "testmap"));
        assert!(is_internal("_IO_FILE"));
        assert!(is_internal("std::vector<int>"));
        assert!(!is_internal("testmap"));
        assert!(is_internal("typedef __va_list_tag __va_list_tag"));
        assert!(!is_internal("app::Rec<int>"));
    }
}
