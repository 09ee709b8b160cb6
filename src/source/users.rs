//! User names for uids, looked up once each.

use std::cell::RefCell;
use std::collections::HashMap;

/// A cache of uid → name lookups (getpwuid). Unknown uids print as numbers.
#[derive(Debug, Default)]
pub struct Users {
    cache: RefCell<HashMap<u32, String>>,
}

impl Users {
    pub fn name(&self, uid: u32) -> String {
        self.cache
            .borrow_mut()
            .entry(uid)
            .or_insert_with(|| {
                nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                    .ok()
                    .flatten()
                    .map(|u| u.name)
                    .unwrap_or_else(|| uid.to_string())
            })
            .clone()
    }

    /// The uid's name, or None when it has none (JSON's `user`: the table prints the number).
    pub fn known_name(&self, uid: u32) -> Option<String> {
        Some(self.name(uid)).filter(|n| *n != uid.to_string())
    }

    /// A user given by name or number.
    pub fn resolve(spec: &str) -> Option<u32> {
        if let Ok(n) = spec.parse() {
            return Some(n);
        }
        nix::unistd::User::from_name(spec)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
    }
}
