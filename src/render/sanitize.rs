//! Escaping untrusted text before it reaches a terminal: the functions live in the leaf
//! [`crate::text`] module, shared with the layers that must not import `render`.

pub use crate::text::{escape, is_unsafe};
