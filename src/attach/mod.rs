//! Read-only access to live bytes: System V segments, files and other processes' memory.
//!
//! [`resolve`] turns a selector into a [`Target`] and picks the least disturbing way to read it;
//! [`reader`] does the reading; [`pointers`] knows which values point into private memory.

pub mod pointers;
pub mod reader;
pub mod resolve;

pub use reader::{Reader, Streamed, CHUNK};
pub use resolve::{resolve, AddrSpec, Liveness, Mappers, Selector, Target, Window};
